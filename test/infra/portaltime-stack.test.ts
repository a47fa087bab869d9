import { gunzipSync } from "node:zlib";
import { Match, type Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { initialConfigProperties } from "../../functions/initial-config/initial-config.js";
import { claimsQueue, inboxQueue } from "../../functions/queue/queue-design.js";
import {
  applyConfigSchema,
  configFromEnv,
  finalizeConfigSchema,
  ingestConfigSchema,
  initialConfigSchema,
  RuntimeConfigError,
  reviewConfigSchema,
} from "../../functions/runtime-config.js";
import { platformVariables, type Setting, settingVariables } from "../../functions/settings.js";
import { episodeTableName, TENANT_CONFIG_KEY, tableDesign } from "../../functions/store/table-design.js";
import { parseDeploymentConfig } from "../../lib/deployment-config.js";
import { demoConfig, syntheticRoster, synthTemplate } from "./synth.js";

// Tests that synthesize the stack take seconds, more on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

/**
 * The stack synthesized from the demo configuration (functions bundled by esbuild, as `cdk synth` does),
 * asserted on what keeps it safe and observable.
 */
let template: Template;
beforeAll(() => {
  template = synthTemplate(demoConfig(), { bundle: true });
}, 60_000);

/** The logical id of the one resource of `type` whose properties match `props`. */
function logicalId(type: string, props: Record<string, unknown>): string {
  const ids = Object.keys(template.findResources(type, { Properties: props }));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
}

const functionId = (name: string) =>
  logicalId("AWS::Lambda::Function", { FunctionName: `portaltime-${name}` });

/** The logical id of the key behind `alias/portaltime/<alias>`. */
function keyId(alias: string): string {
  const [found] = Object.values(
    template.findResources("AWS::KMS::Alias", { Properties: { AliasName: `alias/portaltime/${alias}` } }),
  );
  return found?.Properties.TargetKeyId["Fn::GetAtt"][0];
}

const arnOf = (id: string) => ({ "Fn::GetAtt": [id, "Arn"] });
/** The initial tenant configuration a custom resource carries (gzipped JSON in base64). */
const decoded = (encoded: string) => JSON.parse(gunzipSync(Buffer.from(encoded, "base64")).toString("utf8"));
/** Each function's runtime configuration, as its entry point reads it (functions/runtime-config.ts). */
const functionSchemas = {
  ingest: ingestConfigSchema,
  apply: applyConfigSchema,
  finalize: finalizeConfigSchema,
  "initial-config": initialConfigSchema,
  review: reviewConfigSchema,
};
const environmentOf = (name: string): Record<string, unknown> =>
  template.findResources("AWS::Lambda::Function")[functionId(name)]?.Properties.Environment.Variables;

describe("encryption everywhere", () => {
  it("has four customer-managed keys, all rotated", () => {
    template.resourceCountIs("AWS::KMS::Key", 4);
    for (const key of Object.values(template.findResources("AWS::KMS::Key"))) {
      expect(key.Properties.EnableKeyRotation).toBe(true);
    }
    expect(["data", "queues", "logs", "alarms"].map(keyId).every(Boolean)).toBe(true);
  });

  it("encrypts the table with the data key", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      SSESpecification: { SSEEnabled: true, SSEType: "KMS", KMSMasterKeyId: arnOf(keyId("data")) },
    });
  });

  it("encrypts every queue with the queue key and denies every request without TLS", () => {
    const queues = template.findResources("AWS::SQS::Queue");
    expect(Object.keys(queues)).toHaveLength(4);
    for (const queue of Object.values(queues)) {
      expect(queue.Properties.KmsMasterKeyId).toEqual(arnOf(keyId("queues")));
    }
    const policies = Object.values(template.findResources("AWS::SQS::QueuePolicy"));
    expect(policies).toHaveLength(4);
    for (const policy of policies) {
      expect(policy.Properties.PolicyDocument.Statement).toContainEqual(
        expect.objectContaining({
          Effect: "Deny",
          Principal: { AWS: "*" },
          Action: "sqs:*",
          Condition: { Bool: { "aws:SecureTransport": "false" } },
        }),
      );
    }
  });

  it("declares every log group with the logs key and the configured retention", () => {
    const groups = Object.values(template.findResources("AWS::Logs::LogGroup"));
    // Five functions (the deploy-time one included), API access and execution logs, the firewall's blocked requests.
    expect(groups).toHaveLength(8);
    for (const group of groups) {
      expect(group.Properties.KmsKeyId).toEqual(arnOf(keyId("logs")));
      expect(group.Properties.RetentionInDays).toBe(365);
    }
    template.hasResourceProperties("AWS::Logs::LogGroup", {
      LogGroupName: { "Fn::Join": ["", ["API-Gateway-Execution-Logs_", Match.anyValue(), "/v1"]] },
    });
  });

  it("lets CloudWatch Logs use the logs key only for this account's log groups", () => {
    template.hasResourceProperties("AWS::KMS::Key", {
      KeyPolicy: {
        Statement: Match.arrayWith([
          Match.objectLike({
            Principal: { Service: { "Fn::Join": ["", ["logs.", { Ref: "AWS::Region" }, ".amazonaws.com"]] } },
            Condition: { ArnLike: { "kms:EncryptionContext:aws:logs:arn": Match.anyValue() } },
          }),
        ]),
      },
    });
  });

  it("encrypts every secret with the data key and the alarm topic with the alarm key", () => {
    const secrets = Object.values(template.findResources("AWS::SecretsManager::Secret"));
    // One per enabled format, the FHIR client key, the Healthie API key and the Elation client secret.
    expect(secrets).toHaveLength(8);
    for (const secret of secrets) expect(secret.Properties.KmsKeyId).toEqual(arnOf(keyId("data")));
    template.hasResourceProperties("AWS::SecretsManager::Secret", { Name: "portaltime/webhooks/healthie" });
    template.hasResourceProperties("AWS::SNS::Topic", { KmsMasterKeyId: arnOf(keyId("alarms")) });
  });
});

describe("episode table", () => {
  it("is on demand, with the shared keys, TTL, PITR and deletion protection, and retained", () => {
    template.hasResource("AWS::DynamoDB::Table", {
      DeletionPolicy: "Retain",
      UpdateReplacePolicy: "Retain",
      Properties: {
        BillingMode: "PAY_PER_REQUEST",
        KeySchema: [
          { AttributeName: tableDesign.partitionKey, KeyType: "HASH" },
          { AttributeName: tableDesign.sortKey, KeyType: "RANGE" },
        ],
        TimeToLiveSpecification: { AttributeName: tableDesign.ttlAttribute, Enabled: true },
        PointInTimeRecoverySpecification: { PointInTimeRecoveryEnabled: true },
        DeletionProtectionEnabled: true,
      },
    });
  });

  it("is named after the deployment's prefix, as npm run ops and the local stack expect", () => {
    template.hasResourceProperties("AWS::DynamoDB::Table", { TableName: episodeTableName("portaltime") });
  });

  it("has the sparse global indexes the finalizer and the audit packet query: due work with where each change starts, clinicians' time and claim lines' senders (keys only)", () => {
    const { dueIndex, clinicianIndex, claimLineIndex } = tableDesign;
    template.hasResourceProperties("AWS::DynamoDB::Table", {
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: dueIndex.partitionKey, AttributeType: "S" },
        { AttributeName: dueIndex.sortKey, AttributeType: "N" },
        { AttributeName: clinicianIndex.partitionKey, AttributeType: "S" },
        { AttributeName: clinicianIndex.sortKey, AttributeType: "N" },
        { AttributeName: claimLineIndex.partitionKey, AttributeType: "S" },
      ]),
      GlobalSecondaryIndexes: [
        {
          IndexName: dueIndex.name,
          KeySchema: [
            { AttributeName: dueIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: dueIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...dueIndex.projected] },
        },
        {
          IndexName: clinicianIndex.name,
          KeySchema: [
            { AttributeName: clinicianIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: clinicianIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "KEYS_ONLY" },
        },
        {
          IndexName: claimLineIndex.name,
          KeySchema: [
            { AttributeName: claimLineIndex.partitionKey, KeyType: "HASH" },
            { AttributeName: claimLineIndex.sortKey, KeyType: "RANGE" },
          ],
          Projection: { ProjectionType: "KEYS_ONLY" },
        },
      ],
    });
  });

  it("has the patient's local indexes by reach, by message id and (visits, consents) by time, created with the table", () => {
    const { partitionKey, reachIndex, messageIndex, lookbackIndex } = tableDesign;
    const local = (index: typeof reachIndex | typeof messageIndex | typeof lookbackIndex) => ({
      IndexName: index.name,
      KeySchema: [
        { AttributeName: partitionKey, KeyType: "HASH" },
        { AttributeName: index.sortKey, KeyType: "RANGE" },
      ],
      Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...index.projected] },
    });

    template.hasResourceProperties("AWS::DynamoDB::Table", {
      AttributeDefinitions: Match.arrayWith([
        { AttributeName: reachIndex.sortKey, AttributeType: "N" },
        { AttributeName: messageIndex.sortKey, AttributeType: "S" },
        { AttributeName: lookbackIndex.sortKey, AttributeType: "N" },
      ]),
      LocalSecondaryIndexes: [local(reachIndex), local(messageIndex), local(lookbackIndex)],
    });
  });
});

describe("queues", () => {
  it.each([
    ["inbox", inboxQueue],
    ["claims", claimsQueue],
  ])("%s: FIFO, redriven to its FIFO DLQ after the shared design's receive count", (name, design) => {
    const dlq = logicalId("AWS::SQS::Queue", { QueueName: `portaltime-${name}-dlq.fifo` });
    template.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: `portaltime-${name}-dlq.fifo`,
      FifoQueue: true,
    });
    template.hasResourceProperties("AWS::SQS::Queue", {
      QueueName: `portaltime-${name}.fifo`,
      FifoQueue: true,
      VisibilityTimeout: design.visibilityTimeoutSeconds,
      MessageRetentionPeriod: design.retentionSeconds,
      RedrivePolicy: { deadLetterTargetArn: arnOf(dlq), maxReceiveCount: design.maxReceiveCount },
    });
  });

  it("feeds the apply function in FIFO batches with partial failures and a concurrency cap", () => {
    template.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      FunctionName: { Ref: functionId("apply") },
      EventSourceArn: arnOf(logicalId("AWS::SQS::Queue", { QueueName: "portaltime-inbox.fifo" })),
      BatchSize: 10,
      FunctionResponseTypes: ["ReportBatchItemFailures"],
      ScalingConfig: { MaximumConcurrency: 5 },
    });
  });

  it("keeps the inbox visibility timeout at least six times the apply function's timeout", () => {
    const apply = template.findResources("AWS::Lambda::Function")[functionId("apply")];
    expect(inboxQueue.visibilityTimeoutSeconds).toBeGreaterThanOrEqual(6 * apply?.Properties.Timeout);
  });
});

describe("functions", () => {
  it("are Node.js 24 on arm64, traced, logging to their own group, bundled as minified ESM", () => {
    const functions = Object.values(template.findResources("AWS::Lambda::Function"));
    // Ingest, apply, finalize, review, and the deploy-time function storing the initial tenant configuration.
    expect(functions).toHaveLength(5);
    for (const fn of functions) {
      expect(fn.Properties).toMatchObject({
        Runtime: "nodejs24.x",
        Architectures: ["arm64"],
        Handler: "index.handler",
        TracingConfig: { Mode: "Active" },
        LoggingConfig: { LogGroup: { Ref: expect.any(String) } },
      });
      expect(fn.Properties.Environment.Variables).toMatchObject({
        POWERTOOLS_METRICS_NAMESPACE: "portaltime",
        POWERTOOLS_LOG_LEVEL: "INFO",
        NODE_OPTIONS: "--enable-source-maps",
      });
    }
  });

  it("give each function only the settings it reads", () => {
    // In the order functions/settings.ts declares them. The tenant configuration is in no environment: it is data
    // in the table (functions/store/config-store.ts).
    const present = (name: string) =>
      Object.values(settingVariables).filter((variable) => variable in environmentOf(name));

    expect(present("ingest")).toEqual([
      "INBOX_QUEUE_URL",
      "ENABLED_FORMATS",
      "SECRET_PREFIX",
      "FHIR_SECRET_HEADERS",
      "MAX_BODY_BYTES",
    ]);
    expect(present("apply")).toEqual([
      "TABLE_NAME",
      "INBOX_DLQ_URL",
      "ENABLED_FORMATS",
      "RETENTION_DAYS",
      "HYDRATION",
    ]);
    expect(present("finalize")).toEqual([
      "TABLE_NAME",
      "CLAIMS_QUEUE_URL",
      "RETENTION_DAYS",
      "ADJUSTMENT_HORIZON_DAYS",
      "FINALIZE_BUDGET_MS",
    ]);
    expect(present("review")).toEqual(["TABLE_NAME", "RETENTION_DAYS"]);
    // The deploy-time function is told its table with each request (functions/initial-config).
    expect(present("initial-config")).toEqual([]);
    // Nothing else but what the runtime and Powertools read themselves.
    const known = new Set<string>([...Object.values(settingVariables), ...Object.values(platformVariables)]);
    for (const name of Object.keys(functionSchemas)) {
      expect(
        Object.keys(environmentOf(name)).filter((variable) => !known.has(variable)),
        name,
      ).toEqual([]);
    }
    expect(environmentOf("ingest")).toMatchObject({
      ENABLED_FORMATS: "fhir,medplum,elation,healthie,bridge",
      SECRET_PREFIX: "portaltime/webhooks",
      MAX_BODY_BYTES: String(240 * 1024),
      FHIR_SECRET_HEADERS: "authorization",
    });
  });

  it("give each function an environment the runtime configuration accepts, with every setting its entry point requires", () => {
    // Deploy-time references (Ref, Fn::GetAtt) stand in as URLs: the shapes are what this checks.
    const resolved = (name: string) =>
      Object.fromEntries(
        Object.entries(environmentOf(name)).map(([key, value]) => [
          key,
          typeof value === "string" ? value : `https://resolved.example/${key}`,
        ]),
      );
    // Set only by the local stack, never by this one.
    const localOnly = new Set(["localSecrets", "endpoints"]);

    for (const [name, schema] of Object.entries(functionSchemas)) {
      // The schema requires what the entry point needs: parsing fails at cold start naming a missing variable.
      expect(() => configFromEnv(schema, resolved(name)), name).not.toThrow();
      // ...and the stack sets every setting the schema reads.
      const read = Object.keys(schema.shape)
        .filter((field) => !localOnly.has(field))
        .map((field): string => settingVariables[field as Setting]);
      expect(
        Object.keys(resolved(name))
          .filter((variable) => read.includes(variable))
          .sort(),
        name,
      ).toEqual(read.sort());
    }
    expect(configFromEnv(applyConfigSchema, resolved("apply")).hydration).toEqual({
      fhir: expect.objectContaining({ keySecretName: "portaltime/fhir-client-key" }),
      healthie: expect.objectContaining({ apiKeySecretName: "portaltime/healthie-api-key" }),
      elation: expect.objectContaining({ clientSecretName: "portaltime/elation-client-secret" }),
    });
  });

  it("fail a cold start naming each variable the function requires and lacks", () => {
    const cold = () => configFromEnv(finalizeConfigSchema, { TABLE_NAME: "t", FINALIZE_BUDGET_MS: "soon" });

    expect(cold).toThrow(RuntimeConfigError);
    expect(cold).toThrow(/CLAIMS_QUEUE_URL is required by this function and not set/);
    expect(cold).toThrow(/FINALIZE_BUDGET_MS: /);
  });

  it("stops the finalizer 30 s before its timeout, which fits in one schedule interval", () => {
    const finalize = template.findResources("AWS::Lambda::Function")[functionId("finalize")];

    expect(finalize?.Properties.Timeout).toBe(300);
    expect(environmentOf("finalize").FINALIZE_BUDGET_MS).toBe("270000");
    template.hasResourceProperties("AWS::Lambda::EventInvokeConfig", {
      FunctionName: { Ref: functionId("finalize") },
      MaximumRetryAttempts: 0,
    });
  });
});

describe("least privilege", () => {
  /** Every statement of the stack's identity policies, with the roles it is attached to. */
  interface Statement {
    Action: string[];
    Resource: unknown;
    Condition?: unknown;
    /** The roles the statement's policy is attached to. */
    roles: unknown[];
  }
  const statements = (): Statement[] =>
    Object.values(template.findResources("AWS::IAM::Policy")).flatMap((policy) =>
      policy.Properties.PolicyDocument.Statement.map((statement: Omit<Statement, "roles">) => ({
        ...statement,
        Action: [statement.Action].flat(),
        roles: policy.Properties.Roles,
      })),
    );
  const actionsOf = (name: string) => {
    const role = logicalId("AWS::IAM::Role", { Description: `portaltime ${name} function` });
    return new Set(
      statements()
        .filter((statement) => expect.arrayContaining([{ Ref: role }]).asymmetricMatch(statement.roles))
        .flatMap((statement) => statement.Action),
    );
  };

  /** The table and index ARNs each DynamoDB action of a function's role names, in the order granted. */
  const tableGrantsOf = (name: string) => {
    const role = logicalId("AWS::IAM::Role", { Description: `portaltime ${name} function` });
    const grants = new Map<string, unknown[]>();
    for (const statement of statements()) {
      if (!expect.arrayContaining([{ Ref: role }]).asymmetricMatch(statement.roles)) continue;
      for (const action of statement.Action.filter((a) => a.startsWith("dynamodb:")))
        grants.set(action, [...(grants.get(action) ?? []), ...[statement.Resource].flat()]);
    }
    return grants;
  };
  const indexArn = (indexName: string) => ({
    "Fn::Join": ["", [arnOf(logicalId("AWS::DynamoDB::Table", {})), `/index/${indexName}`]],
  });

  it("grants no wildcard action, and Resource * only for X-Ray", () => {
    const all = statements();
    expect(all.length).toBeGreaterThan(0);
    for (const statement of all) {
      for (const action of statement.Action) expect(action).not.toContain("*");
      if (statement.Resource === "*") {
        expect(statement.Action).toEqual(["xray:PutTraceSegments", "xray:PutTelemetryRecords"]);
      }
    }
  });

  it("gives each function exactly the actions it uses", () => {
    const withLogsAndTraces = (...actions: string[]) =>
      new Set([
        "logs:CreateLogStream",
        "logs:PutLogEvents",
        "xray:PutTelemetryRecords",
        "xray:PutTraceSegments",
        ...actions,
      ]);
    const tableKey = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"];
    const secretRead = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"];

    expect(actionsOf("ingest")).toEqual(
      withLogsAndTraces("sqs:SendMessage", "kms:GenerateDataKey", "kms:Decrypt", ...secretRead),
    );
    expect(actionsOf("apply")).toEqual(
      withLogsAndTraces(
        "sqs:ReceiveMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueUrl",
        "sqs:DeleteMessage",
        "sqs:GetQueueAttributes",
        "sqs:SendMessage",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:Query",
        ...tableKey,
        ...secretRead,
      ),
    );
    expect(actionsOf("finalize")).toEqual(
      withLogsAndTraces(
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:PutItem",
        "dynamodb:UpdateItem",
        "dynamodb:DeleteItem",
        "dynamodb:BatchWriteItem",
        "sqs:SendMessage",
        ...tableKey,
      ),
    );
    expect(actionsOf("initial-config")).toEqual(withLogsAndTraces("dynamodb:PutItem", ...tableKey));
    // No queue, no secret: the worklist, audit packets and attestations are all in the table.
    expect(actionsOf("review")).toEqual(
      withLogsAndTraces(
        "dynamodb:Query",
        "dynamodb:GetItem",
        "dynamodb:BatchGetItem",
        "dynamodb:PutItem",
        "dynamodb:DeleteItem",
        ...tableKey,
      ),
    );
  });

  it("lets the initial configuration function put items only into the tenant configuration's partition", () => {
    const role = logicalId("AWS::IAM::Role", { Description: "portaltime initial-config function" });
    const puts = statements().filter(
      (statement) =>
        statement.Action.includes("dynamodb:PutItem") &&
        expect.arrayContaining([{ Ref: role }]).asymmetricMatch(statement.roles),
    );

    expect(puts).toEqual([
      expect.objectContaining({
        Action: ["dynamodb:PutItem"],
        Resource: arnOf(logicalId("AWS::DynamoDB::Table", {})),
        Condition: { "ForAllValues:StringEquals": { "dynamodb:LeadingKeys": [TENANT_CONFIG_KEY] } },
      }),
    ]);
  });

  it("lets the finalizer query the table and its five indexes by name, and write only to the table", () => {
    const table = arnOf(logicalId("AWS::DynamoDB::Table", {}));
    const { dueIndex, clinicianIndex, reachIndex, messageIndex, lookbackIndex } = tableDesign;

    expect(tableGrantsOf("finalize")).toEqual(
      new Map([
        [
          "dynamodb:Query",
          [
            table,
            ...[dueIndex, clinicianIndex, reachIndex, messageIndex, lookbackIndex].map(({ name }) =>
              indexArn(name),
            ),
          ],
        ],
        // A configuration version and the finalizer's progress through them (R18).
        ["dynamodb:GetItem", [table]],
        // Transactions (puts, conditional updates), quarantine add and release, outbox deletes.
        ["dynamodb:PutItem", [table]],
        ["dynamodb:UpdateItem", [table]],
        ["dynamodb:DeleteItem", [table]],
        ["dynamodb:BatchWriteItem", [table]],
      ]),
    );
    expect(tableGrantsOf("apply")).toEqual(
      new Map([
        ["dynamodb:PutItem", [table]],
        ["dynamodb:UpdateItem", [table]],
        // The tenant configuration's latest version (config-store.ts).
        ["dynamodb:Query", [table]],
      ]),
    );
  });

  it("lets the review function query the table and the claim line index, read items, and write only by put and delete", () => {
    const table = arnOf(logicalId("AWS::DynamoDB::Table", {}));

    expect(tableGrantsOf("review")).toEqual(
      new Map([
        // The worklist, quarantine, tenant configuration and patient partitions; a line's senders (audit packet).
        ["dynamodb:Query", [table, indexArn(tableDesign.claimLineIndex.name)]],
        // A review item, a configuration version; a patient's facts by id.
        ["dynamodb:GetItem", [table]],
        ["dynamodb:BatchGetItem", [table]],
        // An attestation (transaction of conditional puts); an unattributed item moved to resolved (delete, put).
        ["dynamodb:PutItem", [table]],
        ["dynamodb:DeleteItem", [table]],
      ]),
    );
  });

  it("grants each index of the table, by name, to exactly the functions that query it", () => {
    const table = template.findResources("AWS::DynamoDB::Table")[logicalId("AWS::DynamoDB::Table", {})];
    const indexes = [
      ...(table?.Properties.GlobalSecondaryIndexes ?? []),
      ...(table?.Properties.LocalSecondaryIndexes ?? []),
    ].map((index: { IndexName: string }) => index.IndexName);
    // Who queries which index (functions/store/episode-store.ts): the finalizer reads due work and patients.
    const { dueIndex, clinicianIndex, reachIndex, messageIndex, lookbackIndex, claimLineIndex } = tableDesign;
    const queries: Record<string, string[]> = {
      ingest: [],
      apply: [],
      finalize: [dueIndex.name, clinicianIndex.name, reachIndex.name, messageIndex.name, lookbackIndex.name],
      // The audit packet finds a line's senders through it (functions/store/audit-store.ts).
      review: [claimLineIndex.name],
    };

    expect(Object.values(queries).flat().sort()).toEqual([...indexes].sort());
    for (const [name, queried] of Object.entries(queries)) {
      const granted = [...tableGrantsOf(name)].flatMap(([action, resources]) =>
        resources.filter((resource) => JSON.stringify(resource).includes("/index/")).map((r) => [action, r]),
      );
      expect(granted, name).toEqual(queried.map((index) => ["dynamodb:Query", indexArn(index)]));
    }
    for (const statement of statements().filter((s) => s.Action.some((a) => a.startsWith("dynamodb:")))) {
      expect(JSON.stringify(statement.Resource)).not.toContain("*");
    }
  });

  it("uses the data and queue keys only through DynamoDB and SQS", () => {
    for (const statement of statements().filter((s) => s.Action.some((a) => a.startsWith("kms:")))) {
      if (statement.Condition === undefined) {
        // The SQS event source's decrypt of received messages, on the queue key.
        expect(statement).toMatchObject({ Action: ["kms:Decrypt"], Resource: arnOf(keyId("queues")) });
      } else {
        expect(JSON.stringify(statement.Condition)).toMatch(/kms:ViaService/);
      }
    }
  });
});

describe("schedule and API", () => {
  it("runs the finalizer on the configured rate", () => {
    template.hasResourceProperties("AWS::Events::Rule", {
      ScheduleExpression: "rate(5 minutes)",
      State: "ENABLED",
      Targets: [Match.objectLike({ Arn: arnOf(functionId("finalize")), RetryPolicy: Match.anyValue() })],
    });
  });

  it("throttles the stage, logs access as JSON, execution errors only without data, and traces", () => {
    template.hasResourceProperties("AWS::ApiGateway::Stage", {
      StageName: "v1",
      TracingEnabled: true,
      AccessLogSetting: { DestinationArn: Match.anyValue(), Format: Match.stringLikeRegexp('"requestId"') },
      MethodSettings: [
        Match.objectLike({
          LoggingLevel: "ERROR",
          DataTraceEnabled: false,
          ThrottlingRateLimit: 50,
          ThrottlingBurstLimit: 100,
        }),
      ],
    });
    template.hasResourceProperties("AWS::ApiGateway::RestApi", {
      EndpointConfiguration: { Types: ["REGIONAL"] },
      BinaryMediaTypes: ["*/*"],
    });
    template.hasResourceProperties("AWS::ApiGateway::Resource", { PathPart: "{format}" });
    template.hasResourceProperties("AWS::ApiGateway::Method", {
      HttpMethod: "POST",
      Integration: { Type: "AWS_PROXY" },
      RequestParameters: { "method.request.path.format": true },
    });
  });

  it("refuses a declared body over the limit at the firewall, with 413, and logs what it blocks", () => {
    template.hasResourceProperties("AWS::WAFv2::WebACL", {
      Scope: "REGIONAL",
      DefaultAction: { Allow: {} },
      Rules: Match.arrayWith([
        Match.objectLike({
          Priority: 0,
          Action: {
            Block: { CustomResponse: { ResponseCode: 413, CustomResponseBodyKey: "payloadTooLarge" } },
          },
          Statement: {
            RegexMatchStatement: Match.objectLike({
              FieldToMatch: { SingleHeader: { Name: "content-length" } },
            }),
          },
        }),
      ]),
    });
    template.resourceCountIs("AWS::WAFv2::WebACLAssociation", 1);
    template.hasResourceProperties("AWS::WAFv2::LoggingConfiguration", {
      RedactedFields: Match.arrayWith([{ SingleHeader: { Name: "authorization" } }]),
    });
  });
});

describe("initial tenant configuration", () => {
  const customResources = (of: Template) => of.findResources("Custom::PortaltimeInitialTenantConfig");

  it("is stored by a custom resource of the deploy-time function, which carries it gzipped", () => {
    const resources = Object.values(customResources(template));

    expect(resources).toHaveLength(1);
    expect(resources[0]?.Properties).toEqual({
      ServiceToken: arnOf(functionId("initial-config")),
      // A function that cannot answer fails the deploy in five minutes, not CloudFormation's default hour.
      ServiceTimeout: "300",
      // The table goes with the request: a deploy that replaces the table stores the version in the new one.
      [initialConfigProperties.tableName]: { Ref: logicalId("AWS::DynamoDB::Table", {}) },
      [initialConfigProperties.config]: expect.any(String),
    });
    expect(decoded(resources[0]?.Properties[initialConfigProperties.config])).toEqual(
      parseDeploymentConfig(demoConfig(), "demo").tenant,
    );
  });

  it("is in place before the finalizer's first scheduled run", () => {
    const [resource] = Object.keys(customResources(template));
    const [rule] = Object.values(template.findResources("AWS::Events::Rule"));

    expect(rule?.DependsOn).toContain(resource);
  });

  it("is left out, function and all, when the deployment carries no tenant: it is pushed after the deploy", () => {
    const { tenant: _initialVersion, ...config } = demoConfig();
    const variant = synthTemplate(config);

    expect(customResources(variant)).toEqual({});
    variant.resourcePropertiesCountIs(
      "AWS::Lambda::Function",
      { FunctionName: "portaltime-initial-config" },
      0,
    );
  });
});

describe("configuration", () => {
  it("follows the configuration: schedule, throttling, concurrency, formats, no hydration", () => {
    const config = demoConfig();
    delete config.fhir;
    delete config.healthie;
    delete config.elation;
    const variant = synthTemplate({
      ...config,
      prefix: "acme",
      enabledFormats: ["healthie"],
      finalizeScheduleMinutes: 2,
      finalizerLagAlarmMinutes: 10,
      applyMaxConcurrency: 3,
      apiThrottle: { rateLimit: 5, burstLimit: 10 },
    });

    variant.hasResourceProperties("AWS::Events::Rule", { ScheduleExpression: "rate(2 minutes)" });
    variant.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "acme-finalize",
      Timeout: 120,
      Environment: { Variables: Match.objectLike({ FINALIZE_BUDGET_MS: "90000" }) },
    });
    variant.hasResourceProperties("AWS::Lambda::EventSourceMapping", {
      ScalingConfig: { MaximumConcurrency: 3 },
    });
    variant.hasResourceProperties("AWS::ApiGateway::Stage", {
      MethodSettings: [Match.objectLike({ ThrottlingRateLimit: 5, ThrottlingBurstLimit: 10 })],
    });
    variant.resourceCountIs("AWS::SecretsManager::Secret", 1);
    variant.hasResourceProperties("AWS::SecretsManager::Secret", { Name: "acme/webhooks/healthie" });
    variant.hasResourceProperties("AWS::SQS::Queue", { QueueName: "acme-inbox.fifo" });
    variant.hasResourceProperties("AWS::Lambda::Function", {
      FunctionName: "acme-apply",
      Environment: { Variables: Match.objectLike({ HYDRATION: Match.absent() }) },
    });
  });

  it("R11: gives the apply function the Healthie form templates that are the practice's consent forms", () => {
    // Prepare
    const config = demoConfig();
    if (config.healthie === undefined) throw new Error("the demo configuration hydrates Healthie");

    // Act
    const variant = synthTemplate({ ...config, healthie: { ...config.healthie, consentFormIds: ["811"] } });

    // Assess: as the apply function reads its settings at cold start.
    const [apply] = Object.values(
      variant.findResources("AWS::Lambda::Function", { Properties: { FunctionName: "portaltime-apply" } }),
    );
    const env = apply?.Properties.Environment.Variables as Record<string, string>;
    expect(configFromEnv(applyConfigSchema.pick({ hydration: true }), env).hydration.healthie).toMatchObject({
      consentFormIds: ["811"],
    });
  }, 60_000);

  it("deploys a 2,000-clinician roster: small environments, a small custom resource, a template within limits", () => {
    const config = demoConfig();
    const roster = syntheticRoster(2000);
    const tenant = { ...config.tenant, timezone: "America/New_York", roster };

    const large = synthTemplate({ ...config, tenant });

    // Names and values; a deploy-time reference (a queue URL, the table name) counts as 128 bytes.
    const environmentBytes = (variables: Record<string, unknown>) =>
      Object.entries(variables).reduce(
        (sum, [name, value]) =>
          sum + Buffer.byteLength(name) + (typeof value === "string" ? Buffer.byteLength(value) : 128),
        0,
      );
    const functions = Object.values(large.findResources("AWS::Lambda::Function"));
    expect(functions).toHaveLength(5);
    for (const fn of functions) {
      expect(environmentBytes(fn.Properties.Environment.Variables), fn.Properties.FunctionName).toBeLessThan(
        3000,
      );
    }
    const [resource] = Object.values(large.findResources("Custom::PortaltimeInitialTenantConfig"));
    const encoded: string = resource?.Properties[initialConfigProperties.config];
    expect(JSON.stringify(roster).length).toBeGreaterThan(240_000);
    expect(encoded.length).toBeLessThan(64 * 1024);
    expect(decoded(encoded).roster).toHaveLength(2000);
    // CloudFormation takes templates up to 1 MB from S3, where `cdk deploy` puts any over 50 KB.
    expect(JSON.stringify(large.toJSON()).length).toBeLessThan(1_000_000);
  }, 60_000);
});
