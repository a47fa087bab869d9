import { parseArgs } from "node:util";
import { SqsClaimSink } from "../../functions/queue/claims-sender.js";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import type { OpsOutput } from "./command-output.js";
import { argumentProblem, OpsError, oneLine, UsageError } from "./errors.js";
import { listQuarantine, type RetryRequest, retryQuarantine } from "./quarantine-commands.js";
import { redrive } from "./redrive-command.js";
import { parseDate, type ResendRequest, resendClaims } from "./resend-claims-command.js";
import {
  openStack,
  type QueueName,
  type StackTarget,
  stackTarget,
  stackTargetUsage,
} from "./stack-target.js";
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
  "       npm run ops -- redrive (inbox | claims) [--dry-run] <queues>",
  "       npm run ops -- resend-claims --since <date> [--until <date>] [--patient <id>] [--dry-run] [--json] <queues>",
  `queues${stackTargetUsage.slice("stack".length)}`,
  "date: YYYY-MM-DD (a UTC day; --until includes it) or an ISO instant with its offset",
].join("\n");

export interface OpsEnvironment extends OpsOutput {
  /** The current time in epoch ms (when an automatic retry is due). */
  now?: () => number;
  /** Where `npm start` leaves its local-stack file (bin/local/local-stack-file.ts); the OS temp dir by default. */
  localStackDir?: string;
}

type TableCommand = { name: "list"; json: boolean } | { name: "retry"; request: RetryRequest };
type QueueCommand =
  | { name: "redrive"; queue: QueueName; dryRun: boolean }
  | { name: "resend-claims"; request: ResendRequest };
type Command = TableCommand | QueueCommand;

const isQueueCommand = (command: Command): command is QueueCommand =>
  command.name === "redrive" || command.name === "resend-claims";

/**
 * `npm run ops -- <command>`: the operator's commands, on the local stack or a deployed one. Returns the exit
 * code: 0 done, 1 failed or not everything asked for was there, 2 a command line it does not know. Every
 * failure is one line on `err`, never a stack trace.
 */
export async function runOps(args: readonly string[], env: OpsEnvironment): Promise<number> {
  let command: Command;
  let target: TableTarget | StackTarget;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: {
        ...tableTargetOptions,
        "sqs-endpoint": { type: "string" },
        json: { type: "boolean", default: false },
        all: { type: "boolean", default: false },
        "dry-run": { type: "boolean", default: false },
        since: { type: "string" },
        until: { type: "string" },
        patient: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    });
    if (values.help) {
      env.out(usage);
      return 0;
    }
    command = commandOf(positionals, values);
    if (isQueueCommand(command)) target = stackTarget(values);
    else if (values["sqs-endpoint"] !== undefined)
      throw new UsageError("--sqs-endpoint goes with redrive and resend-claims");
    else target = tableTarget(values);
  } catch (error) {
    env.err(`ops: ${error instanceof UsageError ? error.message : argumentProblem(error)}`);
    env.err(usage);
    return 2;
  }

  if (isQueueCommand(command)) return runQueueCommand(command, target as StackTarget, env);
  let table: Awaited<ReturnType<typeof openTable>> | undefined;
  try {
    table = await openTable(target as TableTarget, env.localStackDir);
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

/** redrive and resend-claims: the stack's queues (and for resend-claims its table). */
async function runQueueCommand(
  command: QueueCommand,
  target: StackTarget,
  env: OpsEnvironment,
): Promise<number> {
  let stack: Awaited<ReturnType<typeof openStack>> | undefined;
  try {
    stack = await openStack(target, env.localStackDir);
    env.err(`ops: ${stack.where}`);
    if (command.name === "redrive") {
      const queues = await stack.queues(command.queue);
      return await redrive(stack.sqs, queues, env, { dryRun: command.dryRun, moveTask: stack.hasMoveTasks });
    }
    const [table, claims] = await Promise.all([stack.table(), stack.queues("claims")]);
    return await resendClaims(
      table,
      { sink: new SqsClaimSink(stack.sqs, claims.url), name: claims.url.split("/").pop() ?? claims.url },
      env,
      { ...command.request, now: (env.now ?? Date.now)() },
    );
  } catch (error) {
    const failure = error instanceof OpsError ? error : stack?.explain(error);
    env.err(`ops: ${failure?.message ?? oneLine(error)}`);
    return failure?.exitCode ?? 1;
  } finally {
    stack?.close();
  }
}

interface CommandValues {
  json: boolean;
  all: boolean;
  "dry-run": boolean;
  since?: string;
  until?: string;
  patient?: string;
}

function commandOf(positionals: readonly string[], values: CommandValues): Command {
  const [area, name, ...rest] = positionals;
  if (area === "redrive" || area === "resend-claims") return queueCommandOf(positionals, values);
  if (
    values["dry-run"] ||
    values.since !== undefined ||
    values.until !== undefined ||
    values.patient !== undefined
  )
    throw new UsageError("--dry-run, --since, --until and --patient go with redrive and resend-claims");
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

function queueCommandOf(positionals: readonly string[], values: CommandValues): QueueCommand {
  const [area, ...rest] = positionals;
  if (values.all) throw new UsageError("--all goes with quarantine retry");
  if (area === "redrive") {
    const [queue, ...extra] = rest;
    if (queue !== "inbox" && queue !== "claims")
      throw new UsageError(
        queue === undefined ? "redrive needs inbox or claims" : `redrive inbox or claims, not ${queue}`,
      );
    if (extra.length > 0) throw new UsageError(`redrive takes one queue: ${extra.join(" ")}`);
    if (
      values.json ||
      values.since !== undefined ||
      values.until !== undefined ||
      values.patient !== undefined
    )
      throw new UsageError("--json, --since, --until and --patient go with resend-claims");
    return { name: "redrive", queue, dryRun: values["dry-run"] };
  }
  if (rest.length > 0) throw new UsageError(`resend-claims takes no arguments: ${rest.join(" ")}`);
  if (values.since === undefined) throw new UsageError("resend-claims needs --since <date>");
  const since = parseDate(values.since, "since");
  if (since === undefined) throw new UsageError(`--since is not a date: ${values.since}`);
  const until = values.until === undefined ? Number.POSITIVE_INFINITY : parseDate(values.until, "until");
  if (until === undefined) throw new UsageError(`--until is not a date: ${values.until}`);
  if (until <= since) throw new UsageError("--until is not after --since");
  if (values.patient === "") throw new UsageError("--patient needs a patient id");
  return {
    name: "resend-claims",
    request: { since, until, patientId: values.patient, dryRun: values["dry-run"], json: values.json },
  };
}
