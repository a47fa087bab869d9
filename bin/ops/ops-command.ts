import { parseArgs } from "node:util";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import type { OpsOutput } from "./command-output.js";
import { argumentProblem, OpsError, oneLine, UsageError } from "./errors.js";
import { listQuarantine, type RetryRequest, retryQuarantine } from "./quarantine-commands.js";
import {
  openTable,
  type TableTarget,
  tableTarget,
  tableTargetOptions,
  tableTargetUsage,
} from "./table-target.js";

export const usage = [
  "usage: npm run ops -- quarantine list [--json] <stack>",
  "       npm run ops -- quarantine retry (<patientId>... | --all) <stack>",
  tableTargetUsage,
].join("\n");

export interface OpsEnvironment extends OpsOutput {
  /** The current time in epoch ms (when an automatic retry is due). */
  now?: () => number;
  /** Where `npm start` leaves its local-stack file (bin/local/local-stack-file.ts); the OS temp dir by default. */
  localStackDir?: string;
}

type Command = { name: "list"; json: boolean } | { name: "retry"; request: RetryRequest };

/**
 * `npm run ops -- <command>`: the operator's commands, on the local stack or a deployed one. Returns the exit
 * code: 0 done, 1 failed or not everything asked for was there, 2 a command line it does not know. Every
 * failure is one line on `err`, never a stack trace.
 */
export async function runOps(args: readonly string[], env: OpsEnvironment): Promise<number> {
  let command: Command;
  let target: TableTarget;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        ...tableTargetOptions,
        json: { type: "boolean", default: false },
        all: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      env.out(usage);
      return 0;
    }
    command = commandOf(positionals, values);
    target = tableTarget(values);
  } catch (error) {
    env.err(`ops: ${error instanceof UsageError ? error.message : argumentProblem(error)}`);
    env.err(usage);
    return 2;
  }

  let table: Awaited<ReturnType<typeof openTable>> | undefined;
  try {
    table = await openTable(target, env.localStackDir);
    const quarantine = new DynamoQuarantine(table.documents, table.tableName);
    env.err(`ops: ${table.where}`);
    if (command.name === "list")
      return await listQuarantine(quarantine, env, { json: command.json, now: (env.now ?? Date.now)() });
    return await retryQuarantine(quarantine, env, command.request);
  } catch (error) {
    const failure = error instanceof OpsError ? error : table?.explain(error);
    env.err(`ops: ${failure?.message ?? oneLine(error)}`);
    return failure?.exitCode ?? 1;
  } finally {
    table?.close();
  }
}

function commandOf(positionals: readonly string[], values: { json: boolean; all: boolean }): Command {
  const [area, name, ...rest] = positionals;
  if (area === "quarantine" && name === "list") {
    if (rest.length > 0) throw new UsageError(`quarantine list takes no patient ids: ${rest.join(" ")}`);
    if (values.all) throw new UsageError("--all goes with quarantine retry");
    return { name: "list", json: values.json };
  }
  if (area === "quarantine" && name === "retry") {
    if (values.json) throw new UsageError("--json goes with quarantine list");
    if (values.all && rest.length > 0)
      throw new UsageError("quarantine retry takes patient ids or --all, not both");
    if (!values.all && rest.length === 0) throw new UsageError("quarantine retry needs patient ids or --all");
    return { name: "retry", request: values.all ? { all: true } : { all: false, patientIds: rest } };
  }
  throw new UsageError(
    positionals.length === 0 ? "no command" : `unknown command: ${positionals.slice(0, 2).join(" ")}`,
  );
}
