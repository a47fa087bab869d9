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

/** Statuses worth retrying soon: timeout, throttling, server errors. */
export const isTransientStatus = (status: number): boolean =>
  status === 408 || status === 429 || status >= 500;

/**
 * A vendor API request failed: the one error of the vendor API clients (functions/vendors/http/), for resource
 * requests and token requests alike. Always `retryable` through SQS, since the delivery itself is sound.
 * `transient` failures (network, timeout, 408, 429, 5xx) are worth retrying within the invocation; `credential`
 * failures say portaltime's own credentials were refused or cannot be used (an operator must act). `reason` is
 * an RFC 6749 error code or what was wrong, never a body.
 */
export class ResourceFetchError extends Error {
  readonly retryable = true;
  readonly transient: boolean;
  readonly credential: boolean;
  readonly reason: string | undefined;
  constructor(
    readonly reference: string,
    readonly status: number | undefined,
    details: { transient?: boolean; credential?: boolean; reason?: string } = {},
  ) {
    const { reason } = details;
    const what = status === undefined ? (reason ?? "network") : `${status}${reason ? `: ${reason}` : ""}`;
    super(`resource fetch failed (${what})`);
    this.name = "ResourceFetchError";
    this.transient = details.transient ?? (status === undefined || isTransientStatus(status));
    this.credential = details.credential ?? (status === 401 || status === 403);
    this.reason = reason;
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

/**
 * True when a vendor API refused portaltime's credentials or they cannot be used: an unusable key, a token
 * endpoint refusing the client (not a network fault or a 5xx), or a resource request answered 401 or 403. The
 * message stays in the inbox to be retried, and an operator must fix the credential (alarm
 * `vendor-credential-failures`).
 */
export const isCredentialFailure = (error: unknown): boolean =>
  error instanceof ResourceFetchError && error.credential;
