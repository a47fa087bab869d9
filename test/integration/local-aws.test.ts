import { setTimeout as sleep } from "node:timers/promises";
import { ConditionalCheckFailedException, DescribeTimeToLiveCommand } from "@aws-sdk/client-dynamodb";
import {
  DeleteMessageCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, PutCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { createFifoQueueWithDlq, type LocalResources, localClients } from "../../bin/local/resources.js";
import {
  dueShardOf,
  factSortKey,
  patientKey,
  STATE_SORT_KEY,
  tableDesign,
} from "../../functions/store/table-design.js";
import { isolatedResources } from "../support/integration.js";

/** Proves the local parts behave like DynamoDB and SQS where our invariants depend on them. */

const { partitionKey, sortKey, ttlAttribute, dueIndex } = tableDesign;
const clients = localClients(inject("localAws"));
const documents = DynamoDBDocumentClient.from(clients.dynamodb);
let resources: LocalResources & { prefix: string };

beforeAll(async () => {
  resources = await isolatedResources();
});

afterAll(() => {
  clients.dynamodb.destroy();
  clients.sqs.destroy();
});

describe("DynamoDB Local", () => {
  it("rejects a conditional put on an existing key", async () => {
    // Prepare
    const put = new PutCommand({
      TableName: resources.tableName,
      Item: { [partitionKey]: patientKey("cond"), [sortKey]: factSortKey("f1") },
      ConditionExpression: "attribute_not_exists(#pk)",
      ExpressionAttributeNames: { "#pk": partitionKey },
    });
    await documents.send(put);

    // Act
    const second = documents.send(put);

    // Assess
    await expect(second).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it("indexes in `due` only the items carrying dueAt", async () => {
    // Prepare
    const DUE_SHARD = dueShardOf("due");
    const dueAt = Date.now();
    await documents.send(
      new PutCommand({
        TableName: resources.tableName,
        Item: {
          [partitionKey]: patientKey("due"),
          [sortKey]: STATE_SORT_KEY,
          [dueIndex.partitionKey]: DUE_SHARD,
          [dueIndex.sortKey]: dueAt,
        },
      }),
    );
    await documents.send(
      new PutCommand({
        TableName: resources.tableName,
        Item: {
          [partitionKey]: patientKey("idle"),
          [sortKey]: STATE_SORT_KEY,
          [dueIndex.partitionKey]: DUE_SHARD,
        },
      }),
    );

    // Act
    const due = await documents.send(
      new QueryCommand({
        TableName: resources.tableName,
        IndexName: dueIndex.name,
        KeyConditionExpression: "#shard = :shard AND #dueAt <= :now",
        ExpressionAttributeNames: { "#shard": dueIndex.partitionKey, "#dueAt": dueIndex.sortKey },
        ExpressionAttributeValues: { ":shard": DUE_SHARD, ":now": dueAt },
      }),
    );

    // Assess
    expect(due.Items).toEqual([
      {
        [partitionKey]: patientKey("due"),
        [sortKey]: STATE_SORT_KEY,
        [dueIndex.partitionKey]: DUE_SHARD,
        [dueIndex.sortKey]: dueAt,
      },
    ]);
  });

  it("has TTL enabled on expiresAt", async () => {
    // Act
    const ttl = await clients.dynamodb.send(
      new DescribeTimeToLiveCommand({ TableName: resources.tableName }),
    );

    // Assess
    expect(ttl.TimeToLiveDescription).toEqual({ TimeToLiveStatus: "ENABLED", AttributeName: ttlAttribute });
  });
});

describe("fauxqs", () => {
  it("delivers once two FIFO sends with the same deduplication id", async () => {
    // Prepare
    const send = new SendMessageCommand({
      QueueUrl: resources.claimsUrl,
      MessageBody: "claim line",
      MessageGroupId: patientKey("dedup"),
      MessageDeduplicationId: "claim-line-1",
    });

    // Act
    await clients.sqs.send(send);
    await clients.sqs.send(send);

    // Assess
    const first = await receive(clients.sqs, resources.claimsUrl);
    expect(first.map((m) => m.Body)).toEqual(["claim line"]);
    await clients.sqs.send(
      new DeleteMessageCommand({ QueueUrl: resources.claimsUrl, ReceiptHandle: first[0]?.ReceiptHandle }),
    );
    expect(await receive(clients.sqs, resources.claimsUrl)).toEqual([]);
  });

  it("moves a message received more than maxReceiveCount times to the DLQ", async () => {
    // Prepare: the inbox's shape, with a visibility timeout short enough to wait out.
    const maxReceiveCount = 2;
    const visibilityTimeoutSeconds = 1;
    const probe = await createFifoQueueWithDlq(clients.sqs, resources.prefix, {
      name: "redrive-probe",
      maxReceiveCount,
      visibilityTimeoutSeconds,
      retentionSeconds: 60,
    });
    await clients.sqs.send(
      new SendMessageCommand({
        QueueUrl: probe.queueUrl,
        MessageBody: "poison",
        MessageGroupId: patientKey("poison"),
        MessageDeduplicationId: "poison-1",
      }),
    );

    // Act: a failing consumer receives it maxReceiveCount times and never deletes it; as in SQS, the next
    // receive after the visibility timeout is what moves it.
    const receiveCounts: string[] = [];
    while (receiveCounts.length < maxReceiveCount) {
      const [message] = await receive(clients.sqs, probe.queueUrl, 3);
      receiveCounts.push(message?.Attributes?.ApproximateReceiveCount ?? "none");
    }
    await sleep(visibilityTimeoutSeconds * 1_000 + 200);
    const beyondLimit = await receive(clients.sqs, probe.queueUrl);

    // Assess
    expect(receiveCounts).toEqual(["1", "2"]);
    expect(beyondLimit).toEqual([]);
    const dead = await receive(clients.sqs, probe.dlqUrl);
    expect(dead.map((m) => m.Body)).toEqual(["poison"]);
  });
});

async function receive(sqs: SQSClient, queueUrl: string, waitTimeSeconds = 0): Promise<Message[]> {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: waitTimeSeconds,
      MessageSystemAttributeNames: ["ApproximateReceiveCount"],
    }),
  );
  return received.Messages ?? [];
}
