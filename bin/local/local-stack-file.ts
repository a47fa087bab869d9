import { readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as z from "zod";

/**
 * How other commands find a running `npm start` (e.g. `npm run ops -- ... --local`): once the stack is ready it
 * writes `<os.tmpdir()>/portaltime-local-<port>.json` with its DynamoDB endpoint and table name, its SQS endpoint and queue prefix, and removes it
 * when it stops. The file is keyed by the webhook port, which only one stack can hold at a time, so a second
 * stack (the integration test of `npm start`, say) never overwrites or removes the file of the first.
 */
export const localStackSchema = z.object({
  dynamodbEndpoint: z.url(),
  tableName: z.string().min(1),
  /** Where its queues are (`npm run ops -- redrive`, `resend-claims`): the SQS server and the queues' prefix. */
  sqsEndpoint: z.url().optional(),
  prefix: z.string().min(1).optional(),
});
export type LocalStack = z.infer<typeof localStackSchema>;

/** The port `npm start` serves webhooks on when PORT is not set. */
export const DEFAULT_LOCAL_PORT = 3000;

export const localStackFile = (port: number, directory: string = tmpdir()): string =>
  join(directory, `portaltime-local-${port}.json`);

/** Written whole and renamed into place, so a reader never sees half a file. */
export function writeLocalStackFile(file: string, stack: LocalStack): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(localStackSchema.parse(stack))}\n`);
  renameSync(partial, file);
}

/** The stack the file names; undefined when there is no file or it is not one of ours. */
export function readLocalStackFile(file: string): LocalStack | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  try {
    const parsed = localStackSchema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** Synchronous, so it can run in an 'exit' listener. */
export function removeLocalStackFile(file: string): void {
  rmSync(file, { force: true });
}
