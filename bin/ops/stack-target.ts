import { GetQueueAttributesCommand, GetQueueUrlCommand, SQSClient } from "@aws-sdk/client-sqs";
import { claimsQueue, dlqName, fifoName, inboxQueue } from "../../functions/queue/queue-design.js";
import { episodeTableName } from "../../functions/store/table-design.js";
import { DEFAULT_LOCAL_PORT, localStackFile, readLocalStackFile } from "../local/local-stack-file.js";
import { localSqsClient } from "../local/resources.js";
import { OpsError, oneLine, UsageError } from "./errors.js";
import { type OpenTable, openTable, type TableTarget } from "./table-target.js";

/**
 * Which stack a command that uses the queues works on (redrive, resend-claims): the running local stack, local
 * servers named by their endpoints with the prefix the queues were made under, or a deployed stack by its prefix
 * (the queues are named `<prefix>-<name>.fifo`, functions/queue/queue-design.ts) through the default AWS
 * credential chain.
 */
export type StackTarget =
  | { kind: "local"; port: number }
  | { kind: "endpoints"; sqsEndpoint: string; prefix: string; dynamodbEndpoint?: string; tableName?: string }
  | { kind: "deployed"; prefix: string; region?: string; tableName?: string };

export interface StackTargetOptions {
  local?: boolean;
  port?: string;
  prefix?: string;
  region?: string;
  table?: string;
  endpoint?: string;
  "sqs-endpoint"?: string;
}

export const stackTargetUsage = [
  "stack: --local [--port <port>] | --prefix <prefix> [--region <region>] [--table <name>]",
  "       | --sqs-endpoint <url> --prefix <prefix> [--endpoint <url> --table <name>]",
].join("\n");

export type QueueName = "inbox" | "claims";
const designs = { inbox: inboxQueue, claims: claimsQueue } as const;

export function stackTarget(options: StackTargetOptions): StackTarget {
  const { local, port, prefix, region, table, endpoint } = options;
  const sqsEndpoint = options["sqs-endpoint"];
  if (local) {
    if ([prefix, region, table, endpoint, sqsEndpoint].some((value) => value !== undefined))
      throw new UsageError("--local takes no --prefix, --region, --table, --endpoint or --sqs-endpoint");
    const number = Number(port ?? DEFAULT_LOCAL_PORT);
    if (!Number.isInteger(number) || number < 1 || number > 65_535)
      throw new UsageError(`--port is not a port: ${port}`);
    return { kind: "local", port: number };
  }
  if (port !== undefined) throw new UsageError("--port goes with --local");
  if (sqsEndpoint !== undefined) {
    if (region !== undefined) throw new UsageError("--sqs-endpoint takes no --region");
    if (prefix === undefined)
      throw new UsageError("--sqs-endpoint needs --prefix <prefix> (of the queue names)");
    if (!isHttpUrl(sqsEndpoint)) throw new UsageError(`--sqs-endpoint is not an http(s) URL: ${sqsEndpoint}`);
    if (endpoint !== undefined && !isHttpUrl(endpoint))
      throw new UsageError(`--endpoint is not an http(s) URL: ${endpoint}`);
    return { kind: "endpoints", sqsEndpoint, prefix, dynamodbEndpoint: endpoint, tableName: table };
  }
  if (endpoint !== undefined) throw new UsageError("--endpoint goes with --sqs-endpoint for this command");
  if (prefix !== undefined) return { kind: "deployed", prefix, region, tableName: table };
  throw new UsageError(
    "say which stack: --local, --prefix <prefix> [--region <region>] or --sqs-endpoint <url> --prefix <prefix>",
  );
}

const isHttpUrl = (text: string): boolean => URL.canParse(text) && /^https?:$/.test(new URL(text).protocol);

/** A queue and its dead-letter queue, by URL and ARN. */
export interface QueuePair {
  name: QueueName;
  url: string;
  arn: string;
  dlqUrl: string;
  dlqArn: string;
}

/** An open stack: its SQS client and queues, its table on demand, and how to say where it is. */
export interface OpenStack {
  sqs: SQSClient;
  /** Whether SQS's own message move task is there (a deployed stack; the local SQS server has none). */
  hasMoveTasks: boolean;
  where: string;
  queues(name: QueueName): Promise<QueuePair>;
  table(): Promise<OpenTable>;
  explain(error: unknown): OpsError;
  close(): void;
}

export async function openStack(target: StackTarget, localStackDir?: string): Promise<OpenStack> {
  let sqs: SQSClient;
  let prefix: string;
  let tableTarget: TableTarget | undefined;
  let where: string;
  if (target.kind === "local") {
    const stack = readLocalStackFile(localStackFile(target.port, localStackDir));
    if (stack === undefined)
      throw new OpsError(
        target.port === DEFAULT_LOCAL_PORT
          ? "no local stack is running: start it with npm start"
          : `no local stack is running on port ${target.port}: start it with PORT=${target.port} npm start`,
      );
    if (stack.sqsEndpoint === undefined || stack.prefix === undefined)
      throw new OpsError("the local stack did not say where its queues are: restart it with npm start");
    sqs = localSqsClient(stack.sqsEndpoint);
    prefix = stack.prefix;
    tableTarget = { kind: "local", port: target.port };
    where = "the local stack";
  } else if (target.kind === "endpoints") {
    sqs = localSqsClient(target.sqsEndpoint);
    prefix = target.prefix;
    const tableName = target.tableName ?? episodeTableName(prefix);
    tableTarget =
      target.dynamodbEndpoint === undefined
        ? undefined
        : { kind: "endpoint", endpoint: target.dynamodbEndpoint, tableName };
    where = `queues ${prefix}-* at ${target.sqsEndpoint}`;
  } else {
    sqs = new SQSClient(target.region === undefined ? {} : { region: target.region });
    prefix = target.prefix;
    tableTarget = {
      kind: "deployed",
      tableName: target.tableName ?? episodeTableName(prefix),
      region: target.region,
      fromPrefix: target.tableName === undefined,
    };
    where = `stack ${prefix} in ${target.region ?? "the default region"}`;
  }
  const opened: OpenTable[] = [];
  const urlOf = async (queueName: string): Promise<{ url: string; arn: string }> => {
    try {
      const { QueueUrl: url } = await sqs.send(new GetQueueUrlCommand({ QueueName: queueName }));
      if (url === undefined) throw new OpsError(`SQS gave no URL for ${queueName}`);
      const attributes = await sqs.send(
        new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ["QueueArn"] }),
      );
      return { url, arn: attributes.Attributes?.QueueArn ?? "" };
    } catch (error) {
      if (error instanceof Error && /NonExistentQueue|QueueDoesNotExist/.test(error.name))
        throw new OpsError(`no queue ${queueName} in ${where}`, { cause: error });
      throw error;
    }
  };
  return {
    sqs,
    hasMoveTasks: target.kind === "deployed",
    where,
    async queues(name) {
      const design = designs[name];
      const [queue, dlq] = await Promise.all([
        urlOf(fifoName(prefix, design.name)),
        urlOf(dlqName(prefix, design.name)),
      ]);
      return { name, url: queue.url, arn: queue.arn, dlqUrl: dlq.url, dlqArn: dlq.arn };
    },
    async table() {
      if (tableTarget === undefined)
        throw new UsageError("this command reads the table: name its server with --endpoint <url>");
      const table = await openTable(tableTarget, localStackDir);
      opened.push(table);
      return table;
    },
    explain(error) {
      if (error instanceof OpsError) return error;
      const name = error instanceof Error ? error.name : "Error";
      if (name === "CredentialsProviderError")
        return new OpsError(
          "no AWS credentials: the default chain (environment, profile, SSO, instance role) found none",
          { cause: error },
        );
      if (/region is missing/i.test(oneLine(error)))
        return new OpsError("no AWS region: pass --region <region> or set AWS_REGION", { cause: error });
      return new OpsError(`${where}: ${name}: ${oneLine(error)}`, { cause: error });
    },
    close() {
      sqs.destroy();
      for (const table of opened) table.close();
    },
  };
}
