import { userInfo } from "node:os";
import { parseArgs } from "node:util";
import * as z from "zod";
import { DynamoTenantConfigStore } from "../../functions/store/config-store.js";
import type { OpsOutput } from "../ops/command-output.js";
import { argumentProblem, OpsError, oneLine, UsageError } from "../ops/errors.js";
import {
  namesTableTarget,
  type OpenTable,
  openTable,
  type TableTarget,
  tableTarget,
  tableTargetOptions,
  tableTargetUsage,
} from "../ops/table-target.js";
import {
  diffConfig,
  importRoster,
  latestAsBase,
  pushConfig,
  type ShowAt,
  showConfig,
  validateConfig,
} from "./config-commands.js";
import { type ConfigFile, readConfigFile } from "./config-file.js";
import { InvalidInputError } from "./errors.js";

export const usage = [
  "usage: npm run config -- validate FILE",
  "       npm run config -- diff FILE <stack>",
  "       npm run config -- push FILE [--by NAME] <stack>",
  "       npm run config -- show [--at DATE|INSTANT] [--json] <stack>",
  "       npm run config -- roster import CSV (--base FILE | <stack>) [--out FILE]",
  tableTargetUsage,
].join("\n");

export interface ConfigEnvironment extends OpsOutput {
  /** The instant a push is recorded at; now by default. */
  now?: () => Date;
  /** Who pushes when --by is not given; the operating system's user name by default. */
  operator?: string;
  /** Where `npm start` leaves its local-stack file (bin/local/local-stack-file.ts); the OS temp dir by default. */
  localStackDir?: string;
}

type Command =
  | { name: "validate"; file: string }
  | { name: "diff"; file: string; target: TableTarget }
  | { name: "push"; file: string; by?: string; target: TableTarget }
  | { name: "show"; at?: ShowAt; json: boolean; target: TableTarget }
  | { name: "roster import"; csv: string; base?: string; out?: string; target?: TableTarget };

type Values = ReturnType<typeof parseCommandLine>["values"];

/** Which command each of the options that belong to one command goes with. */
const optionOwners = {
  by: "push",
  at: "show",
  json: "show",
  base: "roster import",
  out: "roster import",
} as const;

/**
 * `npm run config -- <command>`: the tenant configuration, versioned in the episode table. Returns the exit
 * code: 0 done, 1 failed, 2 a command line it does not know (with the usage) or a file that is not valid (one
 * line naming the field, or the CSV row and column). Every failure is one line on `err`, never a stack trace.
 */
export async function runConfig(args: readonly string[], env: ConfigEnvironment): Promise<number> {
  let command: Command;
  try {
    const { values, positionals } = parseCommandLine(args);
    if (values.help) {
      env.out(usage);
      return 0;
    }
    command = commandOf(positionals, values);
  } catch (error) {
    env.err(`config: ${error instanceof UsageError ? error.message : argumentProblem(error)}`);
    env.err(usage);
    return 2;
  }

  let table: OpenTable | undefined;
  try {
    if (command.name === "validate") return await validateConfig(await readConfigFile(command.file), env);
    if (command.name === "roster import" && command.base !== undefined) {
      const base = await readConfigFile(command.base);
      return await importRoster(command.csv, { describe: base.file, config: base.input }, env, command);
    }
    // A file is read and validated before the table is opened: a bad one never reaches it.
    const file =
      command.name === "diff" || command.name === "push" ? await readConfigFile(command.file) : undefined;
    table = await openTable(command.target as TableTarget, env.localStackDir);
    env.err(`config: ${table.where}`);
    const store = new DynamoTenantConfigStore(table.documents, table.tableName);
    if (command.name === "show") return await showConfig(store, env, command);
    if (command.name === "roster import")
      return await importRoster(command.csv, await latestAsBase(store), env, command);
    if (command.name === "diff") return await diffConfig(store, file as ConfigFile, env);
    return await pushConfig(store, file as ConfigFile, env, {
      at: (env.now ?? (() => new Date()))(),
      by: command.by ?? env.operator ?? operatorName(),
    });
  } catch (error) {
    if (error instanceof InvalidInputError) {
      env.err(error.message);
      return error.exitCode;
    }
    const failure = error instanceof OpsError ? error : table?.explain(error);
    env.err(`config: ${failure?.message ?? oneLine(error)}`);
    return failure?.exitCode ?? 1;
  } finally {
    table?.close();
  }
}

function parseCommandLine(args: readonly string[]) {
  return parseArgs({
    args: [...args],
    allowPositionals: true,
    options: {
      ...tableTargetOptions,
      by: { type: "string" },
      at: { type: "string" },
      json: { type: "boolean" },
      base: { type: "string" },
      out: { type: "string" },
      help: { type: "boolean", short: "h", default: false },
    },
  });
}

function commandOf(positionals: readonly string[], values: Values): Command {
  const [first, ...rest] = positionals;
  const name = first === "roster" && rest[0] === "import" ? "roster import" : first;
  const operands = name === "roster import" ? rest.slice(1) : rest;
  if (name === undefined) throw new UsageError("no command");
  if (!["validate", "diff", "push", "show", "roster import"].includes(name))
    throw new UsageError(`unknown command: ${positionals.slice(0, 2).join(" ")}`);
  for (const [option, owner] of Object.entries(optionOwners))
    if (values[option as keyof typeof optionOwners] !== undefined && owner !== name)
      throw new UsageError(`--${option} goes with ${owner}`);

  if (name === "show") {
    if (operands.length > 0) throw new UsageError(`show takes no file: ${operands.join(" ")}`);
    return { name, at: showAt(values.at), json: values.json ?? false, target: tableTarget(values) };
  }
  const noun = name === "roster import" ? "CSV" : "FILE";
  if (operands.length === 0) throw new UsageError(`${name} needs ${noun}`);
  if (operands.length > 1) throw new UsageError(`${name} takes one ${noun}: ${operands.join(" ")}`);
  const file = operands[0] as string;
  if (name === "validate") {
    if (namesTableTarget(values)) throw new UsageError("validate reads only FILE: it takes no stack");
    return { name, file };
  }
  if (name === "roster import") {
    if (values.base !== undefined && namesTableTarget(values))
      throw new UsageError("roster import takes --base FILE or a stack, not both");
    return {
      name,
      csv: file,
      base: values.base,
      out: values.out,
      target: values.base === undefined ? tableTarget(values) : undefined,
    };
  }
  return name === "push"
    ? { name, file, by: byName(values.by), target: tableTarget(values) }
    : { name: "diff", file, target: tableTarget(values) };
}

const dateOrInstant = z.union([z.iso.date(), z.iso.datetime({ offset: true })]);

function showAt(text: string | undefined): ShowAt | undefined {
  if (text === undefined) return undefined;
  if (!dateOrInstant.safeParse(text).success)
    throw new UsageError(`--at is not a date (YYYY-MM-DD) or an instant with its zone (ISO 8601): ${text}`);
  return /^\d{4}-\d{2}-\d{2}$/.test(text) ? { date: text } : { instant: text };
}

function byName(text: string | undefined): string | undefined {
  if (text !== undefined && text.trim() === "") throw new UsageError("--by needs a name");
  return text?.trim();
}

/** The operating system's user name: who pushed, when --by does not say. */
function operatorName(): string {
  try {
    return userInfo().username;
  } catch {
    return "operator";
  }
}
