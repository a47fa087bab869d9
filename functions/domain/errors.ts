/** Errors of the domain layer. Each carries what a caller needs to decide; none carries PHI. */

/** The tenant configuration failed validation; `field` is the dotted path of the first failing field. */
export class ConfigurationError extends Error {
  readonly retryable = false;
  constructor(
    readonly field: string,
    readonly reason: string,
  ) {
    super(`invalid tenant configuration at ${field}: ${reason}`);
    this.name = "ConfigurationError";
  }
}
