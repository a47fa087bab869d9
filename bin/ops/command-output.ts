/** Where a command writes: `out` for its answer (stdout), `err` for what went wrong (stderr); one line each. */
export interface OpsOutput {
  out(line: string): void;
  err(line: string): void;
}
