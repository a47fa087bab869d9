import { DescribeTableCommand, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { episodeTableName } from "../../functions/store/table-design.js";
import { DEFAULT_LOCAL_PORT, localStackFile, readLocalStackFile } from "../local/local-stack-file.js";
import { localDynamodbClient } from "../local/resources.js";
import { OpsError, oneLine, UsageError } from "./errors.js";

/**
 * Which episode table an operator command works on: the running local stack, a DynamoDB-compatible server named
 * by its endpoint (DynamoDB Local), or a deployed stack's table through the default AWS credential chain.
 */
export type TableTarget =
  | { kind: "local"; port: number }
  | { kind: "endpoint"; endpoint: string; tableName: string }
  | { kind: "deployed"; tableName: string; region?: string; fromPrefix: boolean };

export interface TargetOptions {
  local?: boolean;
  port?: string;
  prefix?: string;
  region?: string;
  table?: string;
  endpoint?: string;
}

/** The command-line options that name a table, as `node:util` parseArgs declares them. */
export const tableTargetOptions = {
  local: { type: "boolean" },
  port: { type: "string" },
  prefix: { type: "string" },
  region: { type: "string" },
  table: { type: "string" },
  endpoint: { type: "string" },
} as const;

/** The usage lines of those options, for a command's usage that says `<stack>`. */
export const tableTargetUsage = [
  "stack: --local [--port <port>] | --prefix <prefix> [--region <region>] [--table <name>]",
  "       | --endpoint <url> --table <name>",
].join("\n");

/** Whether the command line names a table at all (for a command that can do without one). */
export const namesTableTarget = (options: TargetOptions): boolean =>
  Object.keys(tableTargetOptions).some((name) => options[name as keyof TargetOptions] !== undefined);

/** An open table: its document client, its name, and how to say where it is. */
export interface OpenTable {
  documents: DynamoDBDocumentClient;
  tableName: string;
  where: string;
  /** The error as one line an operator can act on. */
  explain(error: unknown): OpsError;
  close(): void;
}

/** How long a local stack has to answer before its file counts as left behind by a stack that is gone. */
const LOCAL_ANSWER_MS = 3_000;

export function tableTarget(options: TargetOptions): TableTarget {
  const { local, port, prefix, region, table, endpoint } = options;
  if (local) {
    if (prefix !== undefined || region !== undefined || table !== undefined || endpoint !== undefined)
      throw new UsageError("--local takes no --prefix, --region, --table or --endpoint");
    return { kind: "local", port: portNumber(port ?? String(DEFAULT_LOCAL_PORT)) };
  }
  if (port !== undefined) throw new UsageError("--port goes with --local");
  if (endpoint !== undefined) {
    if (prefix !== undefined || region !== undefined)
      throw new UsageError("--endpoint takes --table, not --prefix or --region");
    if (table === undefined) throw new UsageError("--endpoint needs --table <name>");
    if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol))
      throw new UsageError(`--endpoint is not an http(s) URL: ${endpoint}`);
    return { kind: "endpoint", endpoint, tableName: table };
  }
  // --table names the table of a stack whose name is generated; the prefix alone assumes `<prefix>-episodes`.
  if (table !== undefined) return { kind: "deployed", tableName: table, region, fromPrefix: false };
  if (prefix !== undefined)
    return { kind: "deployed", tableName: episodeTableName(prefix), region, fromPrefix: true };
  throw new UsageError("say which stack: --local, --prefix <prefix> or --endpoint <url> --table <name>");
}

function portNumber(text: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535)
    throw new UsageError(`--port is not a port: ${text}`);
  return port;
}

/**
 * Opens the target's table. A local target is looked up in the file `npm start` writes, and must answer: a file
 * whose endpoint does not (a stack killed outright) is treated as no stack at all.
 */
export async function openTable(target: TableTarget, localStackDir?: string): Promise<OpenTable> {
  if (target.kind === "deployed") {
    const client = new DynamoDBClient(target.region === undefined ? {} : { region: target.region });
    const where = `table ${target.tableName} in ${target.region ?? "the default region"}`;
    return open(client, target.tableName, where, (error) => explainDeployed(error, target, where));
  }
  if (target.kind === "endpoint") {
    const where = `table ${target.tableName} at ${target.endpoint}`;
    return open(localDynamodbClient(target.endpoint), target.tableName, where, (error) =>
      explainAt(error, where),
    );
  }
  const stack = readLocalStackFile(localStackFile(target.port, localStackDir));
  const gone = new OpsError(
    target.port === DEFAULT_LOCAL_PORT
      ? "no local stack is running: start it with npm start"
      : `no local stack is running on port ${target.port}: start it with PORT=${target.port} npm start`,
  );
  if (stack === undefined) throw gone;
  const client = localDynamodbClient(stack.dynamodbEndpoint);
  try {
    await client.send(new DescribeTableCommand({ TableName: stack.tableName }), {
      abortSignal: AbortSignal.timeout(LOCAL_ANSWER_MS),
    });
  } catch {
    client.destroy();
    throw gone;
  }
  const where = `the local stack's table ${stack.tableName}`;
  return open(client, stack.tableName, where, (error) => explainAt(error, where));
}

function open(
  client: DynamoDBClient,
  name: string,
  where: string,
  explain: (error: unknown) => OpsError,
): OpenTable {
  return {
    documents: DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } }),
    tableName: name,
    where,
    explain,
    close: () => client.destroy(),
  };
}

const nameOf = (error: unknown): string => (error instanceof Error ? error.name : "Error");
const networkCode = (error: unknown): string | undefined => {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" && /^E[A-Z]+$/.test(code) ? code : undefined;
};

function explainAt(error: unknown, where: string): OpsError {
  if (error instanceof OpsError) return error;
  if (nameOf(error) === "ResourceNotFoundException") return new OpsError(`no ${where}`, { cause: error });
  if (networkCode(error) !== undefined)
    return new OpsError(`cannot reach ${where}: ${oneLine(error)}`, { cause: error });
  return new OpsError(`${where}: ${nameOf(error)}: ${oneLine(error)}`, { cause: error });
}

/** Deployed: what the default credential chain and region resolution say, as a next step. Never a credential. */
function explainDeployed(
  error: unknown,
  target: Extract<TableTarget, { kind: "deployed" }>,
  where: string,
): OpsError {
  const name = nameOf(error);
  if (name === "ResourceNotFoundException" && target.fromPrefix)
    return new OpsError(
      `no ${where}: a stack whose table has a generated name needs --table <name> (its episode table)`,
      { cause: error },
    );
  if (name === "CredentialsProviderError")
    return new OpsError(
      "no AWS credentials: the default chain (environment, profile, SSO, instance role) found none",
      { cause: error },
    );
  if (/region is missing/i.test(oneLine(error)))
    return new OpsError("no AWS region: pass --region <region> or set AWS_REGION", { cause: error });
  return explainAt(error, where);
}
