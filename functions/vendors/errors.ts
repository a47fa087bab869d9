/** Errors of the vendor layer. Messages and fields never carry PHI: paths and reasons only. */

/** Signature, secret or timestamp check failed: answered 401. */
export class UnauthorizedDeliveryError extends Error {
  readonly status = 401;
  readonly retryable = false;
  constructor(
    readonly reason: "missing-signature" | "bad-signature" | "stale-timestamp" | "future-timestamp",
    /** The request header that is missing or fails, when the format can tell (a name, never its value). */
    readonly header?: string,
  ) {
    super(`delivery not authenticated: ${reason}${header === undefined ? "" : ` (${header})`}`);
    this.name = "UnauthorizedDeliveryError";
  }
}

/** The envelope failed its schema: answered 400 naming the failing path, never the offending value. */
export class InvalidEnvelopeError extends Error {
  readonly status = 400;
  readonly retryable = false;
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`invalid envelope at ${path}: ${reason}`);
    this.name = "InvalidEnvelopeError";
  }
}

/** An authenticated payload that can never become facts: the apply side sends it to the DLQ with this reason. */
export class UnmappableDeliveryError extends Error {
  readonly retryable = false;
  constructor(readonly reason: string) {
    super(`delivery cannot be mapped: ${reason}`);
    this.name = "UnmappableDeliveryError";
  }
}

/** A resource fetch failed in a way worth retrying later (429, 5xx, network): SQS retries the message. */
export class ResourceFetchError extends Error {
  readonly retryable = true;
  constructor(
    readonly reference: string,
    readonly status: number | undefined,
  ) {
    super(`resource fetch failed (${status ?? "network"})`);
    this.name = "ResourceFetchError";
  }
}

/** The source answered that the resource does not exist (404) or no longer does (410): it was deleted (R16). */
export class ResourceGoneError extends Error {
  readonly retryable = false;
  constructor(
    readonly reference: string,
    readonly status: 404 | 410,
  ) {
    super(`resource gone (${status})`);
    this.name = "ResourceGoneError";
  }
}

/** Errors of the vendor API clients that say portaltime's own credentials failed, not the request. */
const tokenErrors = new Set(["SmartTokenError", "ElationTokenError"]);

/**
 * True when a vendor API refused portaltime's credentials or they cannot be used: an unusable key, a token
 * endpoint refusing the client (not a network fault or a 5xx), or a resource request answered 401 or 403. The
 * message stays in the inbox to be retried, and an operator must fix the credential (alarm
 * `vendor-credential-failures`).
 */
export function isCredentialFailure(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  if (error.name === "SmartKeyError") return true;
  if (tokenErrors.has(error.name)) return (error as Error & { transient?: boolean }).transient === false;
  return error instanceof ResourceFetchError && (error.status === 401 || error.status === 403);
}
