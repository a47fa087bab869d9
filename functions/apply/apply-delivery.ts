import type { InboxMessage } from "../queue/inbox-message.js";
import type { FactWriter } from "../store/fact-store.js";
import type { SubscriptionRecord, SubscriptionRecorder } from "../store/subscription-store.js";
import { UnmappableDeliveryError } from "../vendors/errors.js";
import type { FormatName, ResourceFetcher, VendorFormat } from "../vendors/format.js";

export interface ApplyDependencies {
  formats: ReadonlyMap<string, VendorFormat>;
  /** The fetcher for a format's thin payloads (FHIR `id-only` through SMART Backend Services, Healthie). */
  fetcherFor(format: FormatName): ResourceFetcher;
  facts: FactWriter;
  subscriptions: SubscriptionRecorder;
}

/** What applying one delivery did: counts and ids only, never PHI. */
export interface ApplyReport {
  format: FormatName;
  kind: InboxMessage["kind"];
  applied: number;
  unchanged: number;
  skipped: number;
  /** Facts retracted by a deletion that named only the resource (R16). */
  retracted: number;
  /** Deletions of resources portaltime never held (or no longer does): nothing to retract. */
  unknownRetractions: number;
  subscription?: SubscriptionRecord;
}

/**
 * Applies one accepted delivery: records subscription bookkeeping, maps the payload to facts (fetching thin
 * payloads), and writes each fact once. Retryable failures (fetches, throttling) throw and SQS retries the
 * message; a delivery that can never apply throws `UnmappableDeliveryError` and goes to the DLQ with its reason.
 */
export async function applyDelivery(message: InboxMessage, deps: ApplyDependencies): Promise<ApplyReport> {
  const format = deps.formats.get(message.format);
  if (format === undefined) throw new UnmappableDeliveryError(`format ${message.format} is not enabled`);

  let subscription: SubscriptionRecord | undefined;
  if (message.subscription !== undefined) {
    subscription = await deps.subscriptions.record({
      format: message.format,
      subscription: message.subscription,
      kind: message.kind,
      // Only events move the high-water mark: a handshake or heartbeat is always recorded, whenever it arrives.
      eventNumber: message.kind === "event" ? message.eventNumber : undefined,
      at: message.receivedAt,
    });
  }
  const report: ApplyReport = {
    format: format.name,
    kind: message.kind,
    applied: 0,
    unchanged: 0,
    skipped: 0,
    retracted: 0,
    unknownRetractions: 0,
    subscription,
  };
  if (message.kind !== "event") return report;

  const mapped = await format.toFacts(message, deps.fetcherFor(format.name));
  const retractions = mapped.retractions ?? [];
  report.skipped = mapped.skipped.length;
  if (mapped.facts.length === 0 && retractions.length === 0 && mapped.skipped.length > 0) {
    throw new UnmappableDeliveryError(mapped.skipped.map((skip) => skip.reason).join("; "));
  }
  const results = await Promise.all(mapped.facts.map((fact) => deps.facts.put(fact)));
  for (const result of results) report[result] += 1;
  // R16: a deletion is a retraction, never a failure. Without a version of its own it is as new as its receipt,
  // so it supersedes any content sent before it whatever order they arrive in (R17).
  const received = Date.parse(message.receivedAt);
  const versioned = retractions.map((retraction) => ({
    ...retraction,
    version: retraction.version ?? received,
  }));
  for (const result of await Promise.all(versioned.map((retraction) => deps.facts.retract(retraction)))) {
    if (result === "retracted") report.retracted += 1;
    else if (result === "unknown") report.unknownRetractions += 1;
    else report.unchanged += 1;
  }
  return report;
}
