import { OpsError } from "../ops/errors.js";

/**
 * A file given to a config command is not what it should be (not JSON, a tenant configuration that fails the
 * schema, a malformed roster CSV): exit 2 with the one line that names the field, row or line, as `validate`
 * does. Nothing was written.
 */
export class InvalidInputError extends OpsError {
  override readonly exitCode = 2;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "InvalidInputError";
  }
}
