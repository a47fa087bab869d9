import type { Fact, Retraction } from "../domain/facts.js";

/** The five webhook formats portaltime accepts, selected by `/webhooks/{format}` (VENDORS.md). */
export const formatNames = ["fhir", "medplum", "elation", "healthie", "bridge"] as const;
export type FormatName = (typeof formatNames)[number];

/** A delivery as it reached us: raw bytes (never re-serialised before verification), lower-case header names. */
export interface InboundRequest {
  method: string;
  /** The public path the vendor called, e.g. `/webhooks/healthie`. */
  path: string;
  /** The raw query string without `?`, empty when there is none. */
  rawQuery: string;
  headers: Readonly<Record<string, string>>;
  body: Buffer;
}

/** What the ingest handler enqueues for an authenticated, well-formed delivery. Carries no secrets. */
export interface AcceptedDelivery {
  format: FormatName;
  /** `event` carries work; the others are subscription bookkeeping the apply side records. */
  kind: "event" | "handshake" | "heartbeat" | "query";
  /** The source's dedupe key (VENDORS.md, per format); the inbox dedup id and the durable dedupe record use it. */
  dedupeKey: string;
  /** Orders deliveries about one patient (or, when the payload names none, one resource) in the FIFO inbox. */
  groupKey: string;
  subscription?: string;
  /** FHIR subscription event number, for gap detection. */
  eventNumber?: number;
  /** The parsed envelope, carried to the apply side as JSON. */
  payload: unknown;
}

/**
 * Fetches a resource the payload names only by id (FHIR `id-only`, Healthie), e.g. `Communication/m1`. Throws
 * `ResourceGoneError` when the source says it no longer exists (a deletion), `ResourceFetchError` to retry.
 */
export type ResourceFetcher = (reference: string) => Promise<unknown>;

/**
 * Why an authenticated delivery, or a part of one, holds nothing billable (VENDORS.md "Answers"). Each value is a
 * metric dimension, so the list is closed. Ordered from what says most about the billing question to what says
 * least: a delivery whose parts give several reasons is counted under the first of them in this order.
 */
export const ignoredReasons = [
  /** A visit, message or consent that names no patient (a calendar slot, a group appointment, a message blast). */
  "no-patient",
  /** A visit or message with no time to place it at (the HL7 Backport IG's Encounter has no `period`). */
  "no-time",
  /** A status that says nothing about the visit or agreement (`unknown`, a status the vendor added since). */
  "unknown-status",
  /** An encounter of a class that is no E/M visit (pre-admission, for one). */
  "not-a-visit",
  /** An enrollment or a consult request not (or not yet) in effect: planned, waitlisted or on hold; a draft. */
  "not-in-effect",
  /** An EpisodeOfCare of no care-management program (R22): home care, a pregnancy, a hospital stay. */
  "not-a-program",
  /** A ServiceRequest that is no practitioner-to-practitioner consultation (R25): a lab order, a referral. */
  "not-a-consult",
  /** A message sent by neither a patient, a related person nor a clinician (an organisation, a device). */
  "unmapped-sender",
  /** A resource or event type that maps to no fact (an Observation, an athenahealth Order). */
  "unmapped-type",
  /** Only resources that inform other resources' facts (a Patient, a Practitioner, a Condition). */
  "context-only",
  /** Only the vendor's record of the event (athenahealth's AuditEvents). */
  "audit-only",
  /** Nothing in it to map: an `empty` notification, a thread without messages. */
  "empty",
  /** Subscription bookkeeping, recorded by the apply side (FHIR handshakes, heartbeats and status queries). */
  "handshake",
  "heartbeat",
  "query",
] as const;
export type IgnoredReason = (typeof ignoredReasons)[number];

export interface MappedDelivery {
  facts: Fact[];
  /** Deletions that name only the resource: the facts held under these ids are retracted (R16). */
  retractions?: Retraction[];
  /** Parts with nothing billable in them, with why: recorded and counted by reason, never dead-lettered. */
  ignored?: Array<{ reference: string; reason: IgnoredReason }>;
  /**
   * Parts that could not be read or fetched, with why (no PHI): someone must act on them, so a delivery with
   * nothing else in it goes to the DLQ with these reasons.
   */
  skipped: Array<{ reference: string; reason: string }>;
}

export interface VendorFormat {
  readonly name: FormatName;
  /** Content types accepted (compared on the media type, parameters ignored). */
  readonly contentTypes: readonly string[];
  /** Status code for an accepted delivery (Elation requires exactly 200). */
  readonly acceptedStatus: 200 | 202;
  /**
   * Verifies the delivery against any of the active secrets (rotation) in constant time.
   * Throws `UnauthorizedDeliveryError`.
   */
  authenticate(request: InboundRequest, secrets: readonly string[], now: Date): void;
  /** Checks the envelope with zod and derives dedupe and group keys. Throws `InvalidEnvelopeError`. */
  accept(request: InboundRequest): AcceptedDelivery;
  /** Maps an accepted delivery's payload to domain facts, fetching thin payloads' resources. */
  toFacts(delivery: AcceptedDelivery, fetchResource: ResourceFetcher): Promise<MappedDelivery>;
}
