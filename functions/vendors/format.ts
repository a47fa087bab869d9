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

export interface MappedDelivery {
  facts: Fact[];
  /** Deletions that name only the resource: the facts held under these ids are retracted (R16). */
  retractions?: Retraction[];
  /** References a mapping could not use, with why: they reach the DLQ reason when nothing else maps. */
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
