/** Errors of the operator commands: each is one line for the operator and says how the command exits. */

/** The command could not do what was asked: exit 1 with the message, never a stack trace. */
export class OpsError extends Error {
  readonly exitCode: number = 1;
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OpsError";
  }
}

/** The command line is not one the commands know: exit 2 with the message and the usage. */
export class UsageError extends OpsError {
  override readonly exitCode = 2;
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** An error's message on one line: SDK and system messages may span several. */
export const oneLine = (error: unknown): string =>
  (error instanceof Error ? error.message : String(error)).replace(/\s+/g, " ").trim();

/** parseArgs' own words, less its advice on positionals starting with '-', which no command here takes. */
export function argumentProblem(error: unknown): string {
  const unknown = /^Unknown option '([^']+)'/.exec(oneLine(error));
  return unknown === null ? oneLine(error) : `unknown option ${unknown[1]}`;
}
