import { createHash, randomUUID } from "node:crypto";
import { type AttributeValue, type DynamoDBClient, ScanCommand } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityCommand,
  DeleteMessageBatchCommand,
  type Message,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { APIGatewayProxyEvent, APIGatewayProxyResult, Context, SQSEvent, SQSRecord } from "aws-lambda";
import { createApplyHandler } from "../../functions/apply/apply-handler.js";
import { type ClaimLine, claimLineSchema } from "../../functions/domain/claim-line.js";
import { parseTenantConfig, type TenantConfig } from "../../functions/domain/config.js";
import type { Episode } from "../../functions/domain/engine.js";
import type { FinalizeReport } from "../../functions/finalize/finalize-due-episodes.js";
import { createFinalizeHandler } from "../../functions/finalize/finalize-handler.js";
import { createIngestHandler, ingestDependencies } from "../../functions/ingest/ingest-handler.js";
import { SqsClaimSink } from "../../functions/queue/claims-sender.js";
import { SqsDeadLetterSink } from "../../functions/queue/dead-letter.js";
import { ReviewService } from "../../functions/review/review-service.js";
import { type RuntimeConfig, runtimeConfigSchema } from "../../functions/runtime-config.js";
import { DynamoAuditStore } from "../../functions/store/audit-store.js";
import {
  CurrentTenantConfig,
  DynamoTenantConfigStore,
  type PushResult,
} from "../../functions/store/config-store.js";
import { DynamoEpisodeStore } from "../../functions/store/episode-store.js";
import { DynamoFactStore } from "../../functions/store/fact-store.js";
import { DynamoFiguresStore } from "../../functions/store/figures-store.js";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import { DynamoReviewStore } from "../../functions/store/review-store.js";
import { DynamoSubscriptionStore } from "../../functions/store/subscription-store.js";
import { UNATTRIBUTED_PREFIX } from "../../functions/store/table-design.js";
import { type FormatName, formatNames, type ResourceFetcher } from "../../functions/vendors/format.js";
import { enabledFormats } from "../../functions/vendors/registry.js";
import { devFormatSecrets } from "./dev-secrets.js";
import {
  type LocalEndpoints,
  type LocalResources,
  localDynamodbClient,
  localSqsClient,
} from "./resources.js";
import { defaultContentType, isSigned, signWithDevSecret } from "./sign-delivery.js";

export interface PipelineOptions {
  endpoints: LocalEndpoints;
  resources: LocalResources;
  /**
   * Tenant configuration (policies, roster, fees), validated like the deployed one: pushed as the first version
   * when the table holds none (a table kept with `--data-dir` keeps its own versions).
   */
  tenant: unknown;
  enabledFormats?: FormatName[];
  retentionDays?: number;
  adjustmentHorizonDays?: number;
  /** Fetchers for thin payloads; by default no vendor API is reachable locally. */
  fetcherFor?: (format: FormatName) => ResourceFetcher;
  /** Clients to use instead of fresh ones (to count requests or inject faults through their middleware). */
  clients?: { dynamodb?: DynamoDBClient; sqs?: SQSClient };
  /**
   * How long the handlers hold the latest configuration before reading it again: a second by default (a push
   * from another process shows at once); the deployed functions hold it a minute.
   */
  configMaxAgeMs?: number;
}

/** An episode's decision record as the finalizer wrote it (functions/finalize/decision-records.ts). */
export type EpisodeRecord = Episode & {
  decision: "decided";
  decidedAt: string;
  policies: Record<string, unknown>;
  /** The line this decision sent, if any. */
  line?: ClaimLine;
};

export interface Delivery {
  format: string;
  headers?: Record<string, string>;
  /** A string is sent as its bytes; anything else as its JSON. */
  body: unknown;
}

/**
 * The whole of portaltime on one machine: the real ingest, apply and finalize handlers against DynamoDB Local
 * and the SQS-compatible server, driven step by step with a clock the caller sets. `npm start`, `npm run replay`
 * and the end-to-end tests all go through it, so nothing they show bypasses a handler.
 */
export class LocalPipeline {
  readonly config: RuntimeConfig;
  /** The tenant configuration's versions, in the table as deployed (functions/store/config-store.ts). */
  readonly configs: DynamoTenantConfigStore;
  private initialConfig?: Promise<unknown>;
  private tenant: CurrentTenantConfig;
  private readonly sqs: SQSClient;
  /** The Lambda service's side of the queues (receive, delete): its calls are not the functions' own. */
  private readonly eventSource: SQSClient;
  private readonly dynamodb: DynamoDBClient;
  /** What every handler sees as now: real time, or the instant a replay has set. */
  private clock: () => Date = () => new Date();
  private readonly ingest: ReturnType<typeof createIngestHandler>;
  private readonly apply: ReturnType<typeof createApplyHandler>;
  private readonly finalizeHandler: ReturnType<typeof createFinalizeHandler>;
  /** The biller's worklist and audit (issue 15), as the deployed review function serves it. */
  readonly review: ReviewService;

  constructor(private readonly options: PipelineOptions) {
    const { resources, endpoints } = options;
    // Validated now, so a bad configuration fails before any server is used.
    parseTenantConfig(options.tenant);
    const formats = options.enabledFormats ?? [...formatNames];
    const { tableName } = resources;
    this.config = runtimeConfigSchema.parse({
      tableName,
      inboxQueueUrl: resources.inboxUrl,
      inboxDlqUrl: resources.inboxDlqUrl,
      claimsQueueUrl: resources.claimsUrl,
      enabledFormats: formats,
      secretPrefix: "local",
      localSecrets: devFormatSecrets,
      retentionDays: options.retentionDays,
      adjustmentHorizonDays: options.adjustmentHorizonDays,
      endpoints: { dynamodb: endpoints.dynamodbEndpoint, sqs: endpoints.sqsEndpoint },
    });
    this.sqs = options.clients?.sqs ?? localSqsClient(endpoints.sqsEndpoint);
    this.eventSource = localSqsClient(endpoints.sqsEndpoint);
    this.dynamodb = options.clients?.dynamodb ?? localDynamodbClient(endpoints.dynamodbEndpoint);
    const documents = DynamoDBDocumentClient.from(this.dynamodb, {
      marshallOptions: { removeUndefinedValues: true },
    });
    const config = this.config;
    this.configs = new DynamoTenantConfigStore(documents, tableName);
    // The latest version, read again after a second (the deployed functions: a minute) and at once after a push
    // through this pipeline (replay's `configs`): a push changes the next run.
    this.tenant = new CurrentTenantConfig(
      {
        latest: async () => {
          await this.ensureConfig();
          return this.configs.latest();
        },
      },
      { maxAgeMs: options.configMaxAgeMs ?? 1000 },
    );
    const tenant = this.tenant;

    this.ingest = createIngestHandler(config, {
      ...ingestDependencies(config, this.sqs),
      now: () => this.clock(),
    });
    const notFetchable: ResourceFetcher = async () => {
      throw new Error("no vendor API is reachable from the local stack");
    };
    const facts = new DynamoFactStore(documents, {
      tableName,
      retentionDays: config.retentionDays,
      settleHours: async () => (await tenant.get()).config.settleHours,
    });
    this.review = new ReviewService({
      tenant,
      reviews: new DynamoReviewStore(documents, tableName),
      audit: new DynamoAuditStore(documents, tableName),
      figures: new DynamoFiguresStore(documents, tableName),
      facts,
      now: () => this.clock(),
    });
    this.apply = createApplyHandler({
      formats: enabledFormats(formats),
      fetcherFor: options.fetcherFor ?? (() => notFetchable),
      facts,
      subscriptions: new DynamoSubscriptionStore(documents, tableName),
      deadLetters: new SqsDeadLetterSink(this.sqs, resources.inboxDlqUrl),
    });
    this.finalizeHandler = createFinalizeHandler({
      store: new DynamoEpisodeStore(documents, tableName),
      quarantine: new DynamoQuarantine(documents, tableName),
      worklist: new DynamoFiguresStore(documents, tableName),
      claims: new SqsClaimSink(this.sqs, resources.claimsUrl),
      tenant,
      configVersions: this.configs,
      retentionDays: config.retentionDays,
      adjustmentHorizonDays: config.adjustmentHorizonDays,
      clock: () => this.clock().getTime(),
      maxBudgetMs: 240_000,
    });
  }

  /** The configuration version in force as the handlers hold it (the first is pushed on first use). */
  async currentConfig(): Promise<{ version: number; config: TenantConfig }> {
    return this.tenant.get();
  }

  /** The configuration the pipeline was started with: version 1, and what replay's `configs` amend. */
  get baseConfig(): Record<string, unknown> {
    return { ...(this.options.tenant as Record<string, unknown>) };
  }

  /** Pushes the options' configuration as the first version if the table holds none yet. */
  private async ensureConfig(): Promise<void> {
    this.initialConfig ??= this.configs.latest().then(async (latest) => {
      if (latest === undefined)
        await this.configs.push(this.options.tenant, { at: this.clock(), by: "local" });
    });
    await this.initialConfig;
  }

  /** Pushes a tenant configuration version at the clock's instant, as `npm run config -- push` does. */
  async pushConfig(config: unknown, by = "replay"): Promise<PushResult> {
    await this.ensureConfig();
    const result = await this.configs.push(config, { at: this.clock(), by });
    this.tenant.forget();
    return result;
  }

  /** Fixes the instant every handler sees as now (replay); `undefined` goes back to real time. */
  setClock(at: Date | undefined): void {
    this.clock = at === undefined ? () => new Date() : () => at;
  }

  /**
   * Posts a delivery to the ingest handler exactly as API Gateway would invoke it. A delivery without signature
   * headers is signed with its format's local development secret.
   */
  async post(delivery: Delivery): Promise<APIGatewayProxyResult> {
    const body = Buffer.from(
      typeof delivery.body === "string" ? delivery.body : JSON.stringify(delivery.body),
    );
    const path = `/webhooks/${delivery.format}`;
    let headers: Record<string, string> = { "content-type": defaultContentType(delivery.format) };
    for (const [name, value] of Object.entries(delivery.headers ?? {})) headers[name.toLowerCase()] = value;
    const format = delivery.format as FormatName;
    if (formatNames.includes(format) && !isSigned(format, headers)) {
      headers = signWithDevSecret(
        format,
        { method: "POST", path, rawQuery: "", body, headers },
        this.clock(),
      );
    }
    return this.invokeIngest({ format: delivery.format, headers, body });
  }

  /** Invokes the ingest handler with raw bytes and headers, as API Gateway's proxy integration does. */
  async invokeIngest(request: { format: string; headers: Record<string, string>; body: Buffer }) {
    const path = `/webhooks/${request.format}`;
    const event = {
      resource: "/webhooks/{format}",
      path,
      httpMethod: "POST",
      headers: request.headers,
      multiValueHeaders: {},
      queryStringParameters: null,
      multiValueQueryStringParameters: null,
      pathParameters: { format: request.format },
      stageVariables: null,
      requestContext: { path, httpMethod: "POST", requestId: randomUUID(), stage: "local" },
      body: request.body.toString("base64"),
      isBase64Encoded: true,
    } as unknown as APIGatewayProxyEvent;
    return (await this.ingest(event, lambdaContext("ingest"))) as APIGatewayProxyResult;
  }

  /**
   * Runs the apply handler over the inbox until it is empty, as the SQS event source would: batches of up to 10,
   * successful records deleted, failed ones made visible again (SQS moves them to the DLQ after maxReceiveCount).
   */
  async applyInbox(): Promise<{ applied: number; failed: number }> {
    let applied = 0;
    let failed = 0;
    for (;;) {
      const received = await this.eventSource.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.resources.inboxUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
          VisibilityTimeout: 60,
          MessageSystemAttributeNames: ["All"],
        }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) return { applied, failed };
      const event: SQSEvent = {
        Records: messages.map((message) => sqsRecordOf(message, this.options.resources.inboxUrl)),
      };
      const response = await this.invokeApply(event);
      const failedIds = new Set(response.batchItemFailures.map((failure) => failure.itemIdentifier));
      const done = messages.filter((message) => !failedIds.has(message.MessageId ?? ""));
      applied += done.length;
      failed += failedIds.size;
      if (done.length > 0) {
        await this.eventSource.send(
          new DeleteMessageBatchCommand({
            QueueUrl: this.options.resources.inboxUrl,
            Entries: done.map((message, index) => ({
              Id: String(index),
              ReceiptHandle: message.ReceiptHandle,
            })),
          }),
        );
      }
      for (const message of messages.filter((m) => failedIds.has(m.MessageId ?? ""))) {
        await this.eventSource.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: this.options.resources.inboxUrl,
            ReceiptHandle: message.ReceiptHandle,
            VisibilityTimeout: 0,
          }),
        );
      }
    }
  }

  /** Invokes the apply handler with an SQS event, as the event source would; returns the batch item failures. */
  async invokeApply(event: SQSEvent): Promise<{ batchItemFailures: { itemIdentifier: string }[] }> {
    return (await this.apply(event, lambdaContext("apply"))) as {
      batchItemFailures: { itemIdentifier: string }[];
    };
  }

  /** One scheduled finalizer run at the clock's instant. */
  async finalize(): Promise<FinalizeReport> {
    return (await this.finalizeHandler({}, lambdaContext("finalize"))) as FinalizeReport;
  }

  /**
   * Every episode the finalizer has decided and that has settled (R16), from the latest of its decision
   * records. A local tool's view: it scans the local table, which nothing in the deployed functions ever does.
   */
  async decidedEpisodes(): Promise<EpisodeRecord[]> {
    const latest = new Map<string, { sk: string; record: EpisodeRecord | { decision: "superseded" } }>();
    let cursor: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new ScanCommand({
          TableName: this.options.resources.tableName,
          FilterExpression: "begins_with(sk, :episode)",
          ExpressionAttributeValues: { ":episode": { S: "EPISODE#" } },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? []) {
        const sk = item.sk?.S ?? "";
        const episodeId = sk.split("#")[1] ?? "";
        const held = latest.get(episodeId);
        if (held === undefined || sk > held.sk)
          latest.set(episodeId, { sk, record: JSON.parse(item.record?.S ?? "{}") });
      }
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    await this.ensureConfig();
    const settleHours = (await this.configs.latest())?.config.settleHours ?? 48;
    const settledBy = this.clock().getTime() - settleHours * 3_600_000;
    return [...latest.values()]
      .flatMap(({ record }) => (record.decision === "decided" ? [record] : []))
      .filter((record) => Date.parse(record.windowEnd) <= settledBy)
      .map((record) => ({ ...record, status: "due" as const }))
      .sort(
        (a, b) =>
          Date.parse(a.windowStart) - Date.parse(b.windowStart) || (a.episodeId < b.episodeId ? -1 : 1),
      );
  }

  /** Every audit record of time no window held (R18), oldest decision first. A local tool's scan, as above. */
  async unattributedTime(): Promise<Array<Record<string, unknown>>> {
    const records: Array<{ sk: string; record: Record<string, unknown> }> = [];
    let cursor: Record<string, AttributeValue> | undefined;
    do {
      const page = await this.dynamodb.send(
        new ScanCommand({
          TableName: this.options.resources.tableName,
          FilterExpression: "begins_with(sk, :unattributed)",
          ExpressionAttributeValues: { ":unattributed": { S: UNATTRIBUTED_PREFIX } },
          ExclusiveStartKey: cursor,
        }),
      );
      for (const item of page.Items ?? [])
        records.push({ sk: item.sk?.S ?? "", record: JSON.parse(item.record?.S ?? "{}") });
      cursor = page.LastEvaluatedKey;
    } while (cursor !== undefined);
    return records.sort((a, b) => (a.sk < b.sk ? -1 : 1)).map(({ record }) => record);
  }

  /** Everything on the claims queue, as the clearinghouse connector would read it (and deleted, as it would). */
  async takeClaims(): Promise<ClaimLine[]> {
    const lines: ClaimLine[] = [];
    for (;;) {
      const received = await this.eventSource.send(
        new ReceiveMessageCommand({
          QueueUrl: this.options.resources.claimsUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) return lines;
      for (const message of messages) lines.push(claimLineSchema.parse(JSON.parse(message.Body ?? "")));
      await this.eventSource.send(
        new DeleteMessageBatchCommand({
          QueueUrl: this.options.resources.claimsUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
  }
}

export function sqsRecordOf(message: Message, queueUrl: string): SQSRecord {
  const attributes = message.Attributes ?? {};
  return {
    messageId: message.MessageId ?? "",
    receiptHandle: message.ReceiptHandle ?? "",
    body: message.Body ?? "",
    attributes: {
      ApproximateReceiveCount: attributes.ApproximateReceiveCount ?? "1",
      SentTimestamp: attributes.SentTimestamp ?? "0",
      SenderId: attributes.SenderId ?? "local",
      ApproximateFirstReceiveTimestamp: attributes.ApproximateFirstReceiveTimestamp ?? "0",
      MessageGroupId: attributes.MessageGroupId,
      MessageDeduplicationId: attributes.MessageDeduplicationId,
      SequenceNumber: attributes.SequenceNumber,
    },
    messageAttributes: {},
    md5OfBody:
      message.MD5OfBody ??
      createHash("md5")
        .update(message.Body ?? "")
        .digest("hex"),
    eventSource: "aws:sqs",
    eventSourceARN: `arn:aws:sqs:us-east-1:000000000000:${queueUrl.split("/").pop()}`,
    awsRegion: "us-east-1",
  };
}

/** The Lambda context the handlers' middleware reads, for a local invocation. */
export function lambdaContext(name: string): Context {
  return {
    functionName: `portaltime-${name}`,
    functionVersion: "$LATEST",
    invokedFunctionArn: `arn:aws:lambda:us-east-1:000000000000:function:portaltime-${name}`,
    memoryLimitInMB: "512",
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/portaltime-${name}`,
    logStreamName: "local",
    callbackWaitsForEmptyEventLoop: true,
    getRemainingTimeInMillis: () => 300_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}
