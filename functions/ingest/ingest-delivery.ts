import { createHash } from "node:crypto";
import type { InboxMessage } from "../queue/inbox-message.js";
import { InvalidEnvelopeError, UnauthorizedDeliveryError } from "../vendors/errors.js";
import type { AcceptedDelivery, FormatName, InboundRequest, VendorFormat } from "../vendors/format.js";
import { type Problem, problemFor, type RejectionReason } from "./problem.js";

/** Sends an accepted delivery (its serialized inbox message) to the FIFO inbox. Throws when the queue is unavailable. */
export interface InboxSender {
  send(body: string, groupId: string, deduplicationId: string): Promise<void>;
}

/** SQS's message size limit: a message over it can never be queued, however often the vendor retries. */
export const MAX_INBOX_MESSAGE_BYTES = 256 * 1024;

/** The active secrets of a format (several during a rotation). Throws when they cannot be read. */
export type SecretSource = (format: FormatName) => Promise<readonly string[]>;

export interface IngestDependencies {
  /** The enabled formats; a format not here answers 404. */
  formats: ReadonlyMap<string, VendorFormat>;
  secrets: SecretSource;
  inbox: InboxSender;
  now: () => Date;
  maxBodyBytes: number;
}

export type IngestResult =
  | { result: "accepted"; format: FormatName; kind: AcceptedDelivery["kind"] }
  | { result: "rejected"; format: string; reason: RejectionReason };

export interface IngestAnswer {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** What happened, for metrics and logs: never PHI. */
  outcome: IngestResult;
}

/**
 * Everything that must happen before a vendor hears "yes": authenticate over the raw bytes, check the envelope,
 * enqueue. Nothing slow or fallible beyond the queue send happens here (ARCHITECTURE.md "Data flow").
 */
export async function ingestDelivery(
  formatName: string,
  request: InboundRequest,
  deps: IngestDependencies,
): Promise<IngestAnswer> {
  const format = deps.formats.get(formatName);
  if (format === undefined) return reject(formatName, "unknown-format");
  if (request.body.byteLength > deps.maxBodyBytes) {
    return reject(format.name, "payload-too-large", { detail: `the limit is ${deps.maxBodyBytes} bytes` });
  }
  const mediaType = (request.headers["content-type"] ?? "").split(";")[0]?.trim().toLowerCase() ?? "";
  if (!format.contentTypes.includes(mediaType)) {
    return reject(format.name, "unsupported-content-type", {
      detail: `expected ${format.contentTypes.join(" or ")}`,
    });
  }

  let secrets: readonly string[];
  try {
    secrets = await deps.secrets(format.name);
  } catch {
    return reject(format.name, "secrets-unavailable");
  }
  if (secrets.length === 0) return reject(format.name, "no-active-secret");
  let accepted: AcceptedDelivery;
  try {
    format.authenticate(request, secrets, deps.now());
    accepted = format.accept(request);
  } catch (error) {
    if (error instanceof UnauthorizedDeliveryError) {
      return reject(format.name, error.reason, error.header ? { path: `headers.${error.header}` } : {});
    }
    if (error instanceof InvalidEnvelopeError) {
      return reject(format.name, "invalid-envelope", { path: error.path, detail: error.reason });
    }
    throw error;
  }

  const message: InboxMessage = {
    v: 1,
    format: accepted.format,
    kind: accepted.kind,
    dedupeKey: accepted.dedupeKey,
    groupKey: accepted.groupKey,
    subscription: accepted.subscription,
    eventNumber: accepted.eventNumber,
    receivedAt: deps.now().toISOString(),
    payload: accepted.payload,
  };
  // Serialized once, here: JSON can grow on the way (invalid UTF-8 becomes U+FFFD, `1e20` twenty-one digits), so
  // the limit is checked on what would be sent, not on the body that arrived.
  const body = JSON.stringify(message);
  if (Buffer.byteLength(body) > MAX_INBOX_MESSAGE_BYTES) {
    return reject(format.name, "payload-too-large", {
      detail: "the delivery does not fit in a queue message",
    });
  }
  try {
    await deps.inbox.send(body, accepted.groupKey, inboxDeduplicationId(accepted));
  } catch {
    return reject(format.name, "queue-unavailable");
  }
  return {
    status: format.acceptedStatus,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ status: "accepted" }),
    outcome: { result: "accepted", format: format.name, kind: accepted.kind },
  };
}

/** The FIFO dedup id: the source's dedupe key, hashed to SQS's 128-character limit and alphabet. */
export const inboxDeduplicationId = (delivery: Pick<AcceptedDelivery, "format" | "dedupeKey">): string =>
  createHash("sha256").update(`${delivery.format}\n${delivery.dedupeKey}`).digest("hex");

function reject(
  format: string,
  reason: RejectionReason,
  extra: { detail?: string; path?: string } = {},
): IngestAnswer {
  const problem: Problem = problemFor(reason, extra);
  const headers: Record<string, string> = { "content-type": "application/problem+json" };
  if (problem.status === 503) headers["retry-after"] = "30";
  return {
    status: problem.status,
    headers,
    body: JSON.stringify(problem),
    outcome: { result: "rejected", format, reason },
  };
}
