import {
  CreateTableCommand,
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  ResourceInUseException,
  UpdateTableCommand,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from "@aws-sdk/client-dynamodb";
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from "@aws-sdk/client-sqs";
import {
  claimsQueue,
  dlqName,
  fifoName,
  inboxQueue,
  type QueueDesign,
} from "../../functions/queue/queue-design.js";
import {
  episodeTableName,
  type LocalIndex,
  localIndexes,
  tableDesign,
} from "../../functions/store/table-design.js";

/** The table and queues of the shared designs, created on local servers (aws-servers.ts). */

export interface LocalEndpoints {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
}

export interface LocalResources {
  tableName: string;
  inboxUrl: string;
  inboxDlqUrl: string;
  claimsUrl: string;
  claimsDlqUrl: string;
}

export interface FifoQueueWithDlq {
  queueUrl: string;
  dlqUrl: string;
}

const REGION = "us-east-1";
/** Local servers accept any credentials; static ones keep the SDK from searching the machine for real ones. */
const DUMMY_CREDENTIALS = { accessKeyId: "local", secretAccessKey: "local" };

export const localDynamodbClient = (endpoint: string): DynamoDBClient =>
  new DynamoDBClient({ region: REGION, endpoint, credentials: DUMMY_CREDENTIALS });

export const localSqsClient = (endpoint: string): SQSClient =>
  new SQSClient({ region: REGION, endpoint, credentials: DUMMY_CREDENTIALS });

export const localClients = (endpoints: LocalEndpoints): { dynamodb: DynamoDBClient; sqs: SQSClient } => ({
  dynamodb: localDynamodbClient(endpoints.dynamodbEndpoint),
  sqs: localSqsClient(endpoints.sqsEndpoint),
});

/** Creates what is missing and accepts what exists, so it can run against servers that already hold them. */
export async function createResources(options: LocalEndpoints & { prefix: string }): Promise<LocalResources> {
  const { dynamodb, sqs } = localClients(options);
  try {
    const [table, inbox, claims] = await Promise.all([
      createTable(dynamodb, episodeTableName(options.prefix)),
      createFifoQueueWithDlq(sqs, options.prefix, inboxQueue),
      createFifoQueueWithDlq(sqs, options.prefix, claimsQueue),
    ]);
    return {
      tableName: table,
      inboxUrl: inbox.queueUrl,
      inboxDlqUrl: inbox.dlqUrl,
      claimsUrl: claims.queueUrl,
      claimsDlqUrl: claims.dlqUrl,
    };
  } finally {
    dynamodb.destroy();
    sqs.destroy();
  }
}

const { clinicianIndex } = tableDesign;
const clinicianAttributes = [
  { AttributeName: clinicianIndex.partitionKey, AttributeType: "S" as const },
  { AttributeName: clinicianIndex.sortKey, AttributeType: "N" as const },
];
/** R18: whose patients had a clinician's time on some dates; the table key names the patient. */
const clinicianGsi = {
  IndexName: clinicianIndex.name,
  KeySchema: [
    { AttributeName: clinicianIndex.partitionKey, KeyType: "HASH" as const },
    { AttributeName: clinicianIndex.sortKey, KeyType: "RANGE" as const },
  ],
  Projection: { ProjectionType: "KEYS_ONLY" as const },
};

const { claimLineIndex } = tableDesign;
/** The audit packet's way from a claim line id to the records that sent it (issue 15). */
const claimLineGsi = {
  IndexName: claimLineIndex.name,
  KeySchema: [
    { AttributeName: claimLineIndex.partitionKey, KeyType: "HASH" as const },
    { AttributeName: claimLineIndex.sortKey, KeyType: "RANGE" as const },
  ],
  Projection: { ProjectionType: "KEYS_ONLY" as const },
};
const claimLineAttributes = [
  { AttributeName: claimLineIndex.partitionKey, AttributeType: "S" as const },
  { AttributeName: tableDesign.sortKey, AttributeType: "S" as const },
];

async function createTable(dynamodb: DynamoDBClient, name: string): Promise<string> {
  const { partitionKey, sortKey, ttlAttribute, dueIndex } = tableDesign;
  const local = (index: LocalIndex) => ({
    IndexName: index.name,
    KeySchema: [
      { AttributeName: partitionKey, KeyType: "HASH" as const },
      { AttributeName: index.sortKey, KeyType: "RANGE" as const },
    ],
    Projection: { ProjectionType: "INCLUDE" as const, NonKeyAttributes: [...index.projected] },
  });
  try {
    await dynamodb.send(
      new CreateTableCommand({
        TableName: name,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: partitionKey, AttributeType: "S" },
          { AttributeName: sortKey, AttributeType: "S" },
          { AttributeName: dueIndex.partitionKey, AttributeType: "S" },
          { AttributeName: dueIndex.sortKey, AttributeType: "N" },
          ...clinicianAttributes,
          { AttributeName: claimLineIndex.partitionKey, AttributeType: "S" },
          ...localIndexes.map((index) => ({
            AttributeName: index.sortKey,
            AttributeType: index.sortKeyType,
          })),
        ],
        KeySchema: [
          { AttributeName: partitionKey, KeyType: "HASH" },
          { AttributeName: sortKey, KeyType: "RANGE" },
        ],
        GlobalSecondaryIndexes: [
          {
            IndexName: dueIndex.name,
            KeySchema: [
              { AttributeName: dueIndex.partitionKey, KeyType: "HASH" },
              { AttributeName: dueIndex.sortKey, KeyType: "RANGE" },
            ],
            // The finalizer reads due keys and where each change starts, then the patient by its local index.
            Projection: { ProjectionType: "INCLUDE", NonKeyAttributes: [...dueIndex.projected] },
          },
          clinicianGsi,
          claimLineGsi,
        ],
        LocalSecondaryIndexes: localIndexes.map(local),
      }),
    );
  } catch (error) {
    if (!(error instanceof ResourceInUseException)) throw error;
  }
  await waitUntilTableExists({ client: dynamodb, maxWaitTime: 30 }, { TableName: name });
  // A table kept in a data directory from before an index gets it, as DynamoDB adds one (backfilled), one at a time.
  const added = [
    { index: clinicianGsi, attributes: clinicianAttributes },
    { index: claimLineGsi, attributes: claimLineAttributes },
  ];
  for (const { index, attributes } of added) {
    const described = await dynamodb.send(new DescribeTableCommand({ TableName: name }));
    if ((described.Table?.GlobalSecondaryIndexes ?? []).some((held) => held.IndexName === index.IndexName))
      continue;
    await dynamodb.send(
      new UpdateTableCommand({
        TableName: name,
        AttributeDefinitions: attributes,
        GlobalSecondaryIndexUpdates: [{ Create: index }],
      }),
    );
  }
  const ttl = await dynamodb.send(new DescribeTimeToLiveCommand({ TableName: name }));
  // Enabling it again is a ValidationException, so only a table without TTL gets it.
  if (ttl.TimeToLiveDescription?.TimeToLiveStatus !== "ENABLED") {
    await dynamodb.send(
      new UpdateTimeToLiveCommand({
        TableName: name,
        TimeToLiveSpecification: { AttributeName: ttlAttribute, Enabled: true },
      }),
    );
  }
  return name;
}

/**
 * A FIFO queue and its FIFO dead-letter queue (SQS requires a FIFO source to redrive to a FIFO DLQ). Exported
 * so tests can build a queue of the same shape with a short visibility timeout.
 */
export async function createFifoQueueWithDlq(
  sqs: SQSClient,
  prefix: string,
  design: QueueDesign,
): Promise<FifoQueueWithDlq> {
  const dlq = await sqs.send(
    new CreateQueueCommand({
      QueueName: dlqName(prefix, design.name),
      Attributes: { FifoQueue: "true", MessageRetentionPeriod: String(design.retentionSeconds) },
    }),
  );
  const dlqUrl = required(dlq.QueueUrl, "dead-letter queue URL");
  const dlqAttributes = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl: dlqUrl, AttributeNames: ["QueueArn"] }),
  );
  const queue = await sqs.send(
    new CreateQueueCommand({
      QueueName: fifoName(prefix, design.name),
      Attributes: {
        FifoQueue: "true",
        VisibilityTimeout: String(design.visibilityTimeoutSeconds),
        MessageRetentionPeriod: String(design.retentionSeconds),
        RedrivePolicy: JSON.stringify({
          deadLetterTargetArn: required(dlqAttributes.Attributes?.QueueArn, "dead-letter queue ARN"),
          maxReceiveCount: design.maxReceiveCount,
        }),
      },
    }),
  );
  return { queueUrl: required(queue.QueueUrl, "queue URL"), dlqUrl };
}

function required(value: string | undefined, what: string): string {
  if (value === undefined) throw new Error(`SQS answered without a ${what}`);
  return value;
}
