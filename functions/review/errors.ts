/** Errors of the review area (issue 15). Each carries the HTTP status a caller answers with; none carries PHI. */

export class ReviewError extends Error {
  readonly retryable: boolean = false;
  constructor(
    message: string,
    readonly statusCode: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "ReviewError";
  }
}

/** The resolution does not apply to the item it names (e.g. a clinician mapping on an item with no unknown time). */
export class ResolutionConflictError extends ReviewError {
  constructor(
    readonly action: string,
    readonly reason: string,
  ) {
    super(`${action} does not apply: ${reason}`, 409);
    this.name = "ResolutionConflictError";
  }
}

/** The resolution names something the item does not hold (a visit, a practitioner): 400 with the field's path. */
export class InvalidResolutionError extends ReviewError {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`, 400);
    this.name = "InvalidResolutionError";
  }
}
