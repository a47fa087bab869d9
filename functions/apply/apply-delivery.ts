import type { InboxMessage } from "../queue/inbox-message.js";
import type { FactWriter } from "../store/fact-store.js";
import type { SubscriptionRecord, SubscriptionRecorder } from "../store/subscription-store.js";
import { UnmappableDeliveryError } from "../vendors/errors.js";
import {
  type FormatName,
  type IgnoredReason,
  ignoredReasons,
  type MappedDelivery,
  type ResourceFetcher,
  type VendorFormat,
} from "../vendors/format.js";

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
  /**
   * Set when the delivery held nothing billable (VENDORS.md "Answers"): why, for the metric and the log. It was
   * recorded (subscription bookkeeping, the parts' reasons) and is never dead-lettered.
   */
  ignored?: IgnoredReason;
  /** How many parts of the delivery held nothing billable, by reason (a delivery with facts has some too). */
  ignoredParts: Partial<Record<IgnoredReason, number>>;
  subscription?: SubscriptionRecord;
}

/**
 * Applies one accepted delivery: records subscription bookkeeping, maps the payload to facts (fetching thin
 * payloads), and writes each fact once. Retryable failures (fetches, throttling) throw and SQS retries the
 * message; a delivery someone must act on (parts that cannot be read, and nothing else) throws
 * `UnmappableDeliveryError` and goes to the DLQ with its reason; one with nothing billable in it is reported
 * `ignored` with why.
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
    ignoredParts: {},
    subscription,
  };
  if (message.kind !== "event") return { ...report, ignored: message.kind };

  const mapped = await format.toFacts(message, deps.fetcherFor(format.name));
  const retractions = mapped.retractions ?? [];
  report.skipped = mapped.skipped.length;
  report.ignoredParts = countByReason(mapped.ignored ?? []);
  if (mapped.facts.length === 0 && retractions.length === 0) {
    if (mapped.skipped.length > 0) {
      throw new UnmappableDeliveryError(mapped.skipped.map((skip) => skip.reason).join("; "));
    }
    return { ...report, ignored: deliveryReason(mapped.ignored ?? []) };
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

function countByReason(
  parts: NonNullable<MappedDelivery["ignored"]>,
): Partial<Record<IgnoredReason, number>> {
  const counts: Partial<Record<IgnoredReason, number>> = {};
  for (const { reason } of parts) counts[reason] = (counts[reason] ?? 0) + 1;
  return counts;
}

/**
 * One reason per delivery, for its metric: the one saying most about the billing question (`ignoredReasons` is
 * in that order), so an athenahealth Patient notification counts as `context-only`, not as the AuditEvent beside
 * it. A delivery with no parts at all (an `empty` notification) is `empty`.
 */
function deliveryReason(parts: NonNullable<MappedDelivery["ignored"]>): IgnoredReason {
  const given = new Set(parts.map((part) => part.reason));
  return ignoredReasons.find((reason) => given.has(reason)) ?? "empty";
}
