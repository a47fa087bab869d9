import { type DynamoDBClient, QueryCommand } from "@aws-sdk/client-dynamodb";
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from "@aws-sdk/client-sqs";
import { describe, expect, inject, it } from "vitest";
import { type Delivery, LocalPipeline, sqsRecordOf } from "../../bin/local/pipeline.js";
import { type LocalResources, localDynamodbClient, localSqsClient } from "../../bin/local/resources.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { isolatedResources } from "../support/integration.js";

/**
 * Exactly-once effect under load (ARCHITECTURE.md invariant 1): 1,000 bridge deliveries for 100 patients, posted
 * twice by two concurrent passes through the ingest handler (32 requests in flight each, in opposite orders),
 * applied by four concurrent pollers that each "crash" once per message after applying it (so SQS delivers every
 * message twice), then finalized, leave exactly the facts, decided episodes and claim lines of the same
 * deliveries posted once and applied once.
 */

const PATIENTS = 100;
const DELIVERIES_PER_PATIENT = 10;
const CONCURRENCY = 32;
const POSTED_AT = new Date("2026-03-06T12:00:00Z");
const FINALIZE_AT = new Date("2026-03-14T12:00:00Z");
const ROSTER = [
  { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" },
  { practitionerId: "np-baker", npi: "1003000134", credential: "NP" },
  { practitionerId: "pt-chen", npi: "1003000142", credential: "PT" },
  { practitionerId: "dr-evans", npi: "1003000167", credential: "DO" },
];
const TENANT = { timezone: "America/New_York", consent: "not-tracked", roster: ROSTER };

const patientId = (patient: number) => `load-${String(patient).padStart(3, "0")}`;

/**
 * Per patient: an inquiry, then nine replies of one to three minutes each (a therapist's for every fifth
 * patient), each its own delivery with its own webhook id.
 */
function deliveries(): Delivery[] {
  const all: Delivery[] = [];
  for (let patient = 0; patient < PATIENTS; patient++) {
    const day = 2 + (patient % 3);
    const opened = Date.parse(`2026-03-0${day}T13:00:00Z`) + (patient % 7) * 60_000;
    const dx = patient % 5 === 0 ? ["M54.50"] : ["E11.9"];
    for (let index = 0; index < DELIVERIES_PER_PATIENT; index++) {
      const at = new Date(opened + index * 20 * 60_000).toISOString();
      const fact =
        index === 0
          ? {
              kind: "inquiry",
              id: `${patientId(patient)}-q`,
              messageId: `${patientId(patient)}-q`,
              at,
              author: "patient",
              diagnosisCodes: dx,
            }
          : {
              kind: "clinician-activity",
              // Bridge ids are the sender's, unique across its patients (a repeated id moves the fact, R16).
              id: `${patientId(patient)}-a${index}`,
              messageId: `${patientId(patient)}-a${index}`,
              inResponseTo: `${patientId(patient)}-q`,
              at,
              practitionerId:
                patient % 5 === 0 ? "pt-chen" : (["dr-adams", "np-baker", "dr-evans"][index % 3] ?? ""),
              minutes: 1 + ((patient + index) % 3),
              diagnosisCodes: dx,
            };
      all.push({
        format: "bridge",
        headers: { "webhook-id": `msg_${patientId(patient)}_${index}` },
        body: { schemaVersion: "1.0", patientId: patientId(patient), facts: [fact] },
      });
    }
  }
  return all;
}

/** Posts every delivery with at most `CONCURRENCY` requests in flight; each must be accepted. */
async function post(pipeline: LocalPipeline, all: readonly Delivery[]): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < all.length) {
      const delivery = all[next++] as Delivery;
      const answer = await pipeline.post(delivery);
      expect(answer.statusCode, answer.body).toBe(202);
    }
  };
  await Promise.all(Array.from({ length: CONCURRENCY }, worker));
}

interface ApplyCount {
  applied: number;
  failed: number;
}
const sum = (runs: ApplyCount[]): ApplyCount =>
  runs.reduce((total, run) => ({ applied: total.applied + run.applied, failed: total.failed + run.failed }), {
    applied: 0,
    failed: 0,
  });

/**
 * An apply poller whose invocation dies after applying a message for the first time, before deleting it, so SQS
 * delivers it again: every message is applied twice (at-least-once delivery).
 */
async function applyTwice(pipeline: LocalPipeline, sqs: SQSClient, queueUrl: string): Promise<ApplyCount> {
  const count: ApplyCount = { applied: 0, failed: 0 };
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 0,
        VisibilityTimeout: 60,
        MessageSystemAttributeNames: ["All"],
      }),
    );
    if (messages.length === 0) return count;
    const { batchItemFailures } = await pipeline.invokeApply({
      Records: messages.map((message) => sqsRecordOf(message, queueUrl)),
    });
    const failed = new Set(batchItemFailures.map((failure) => failure.itemIdentifier));
    count.applied += messages.length - failed.size;
    count.failed += failed.size;
    const entries = (list: typeof messages) =>
      list.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle }));
    const firstTime = (message: (typeof messages)[number]) =>
      message.Attributes?.ApproximateReceiveCount === "1" || failed.has(message.MessageId ?? "");
    const again = messages.filter(firstTime);
    const done = messages.filter((message) => !firstTime(message));
    if (again.length > 0) {
      await sqs.send(
        new ChangeMessageVisibilityBatchCommand({
          QueueUrl: queueUrl,
          Entries: entries(again).map((entry) => ({ ...entry, VisibilityTimeout: 0 })),
        }),
      );
    }
    if (done.length > 0)
      await sqs.send(new DeleteMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries(done) }));
  }
}

/**
 * Four pollers at once, as concurrent apply invocations would be (each message applied twice when `redeliver`),
 * then one more to drain what they left.
 */
async function applyAll(pipeline: LocalPipeline, resources: LocalResources, redeliver: boolean) {
  const sqs = localSqsClient(inject("localAws").sqsEndpoint);
  const pollers = [1, 2, 3, 4].map(() =>
    redeliver ? applyTwice(pipeline, sqs, resources.inboxUrl) : pipeline.applyInbox(),
  );
  return sum([...(await Promise.all(pollers)), await pipeline.applyInbox()]);
}

/** Every fact item of each patient's partition, as stored (a Query per seeded patient). */
async function factItems(dynamodb: DynamoDBClient, resources: LocalResources) {
  const byPatient = new Map<string, string[]>();
  await Promise.all(
    Array.from({ length: PATIENTS }, async (_, patient) => {
      const { Items = [] } = await dynamodb.send(
        new QueryCommand({
          TableName: resources.tableName,
          KeyConditionExpression: "pk = :pk AND begins_with(sk, :fact)",
          ExpressionAttributeValues: { ":pk": { S: `PAT#${patientId(patient)}` }, ":fact": { S: "FACT#" } },
          ConsistentRead: true,
        }),
      );
      byPatient.set(
        patientId(patient),
        Items.map((item) => `${item.sk?.S} v${item.version?.N} ${item.digest?.S} ${item.fact?.S}`).sort(),
      );
    }),
  );
  return byPatient;
}

/** Posts each delivery `times` times (concurrent passes), applies, finalizes; returns what was stored and sent. */
async function run(times: 1 | 2) {
  const endpoints = inject("localAws");
  const resources = await isolatedResources();
  const pipeline = new LocalPipeline({ endpoints, resources, tenant: TENANT });
  const all = deliveries();
  pipeline.setClock(POSTED_AT);
  await Promise.all(
    Array.from({ length: times }, (_, pass) => post(pipeline, pass % 2 === 0 ? all : [...all].reverse())),
  );
  const applied = await applyAll(pipeline, resources, times === 2);
  pipeline.setClock(FINALIZE_AT);
  await pipeline.finalize();
  const lines = await pipeline.takeClaims();
  const dynamodb = localDynamodbClient(endpoints.dynamodbEndpoint);
  return {
    applied,
    lines,
    facts: await factItems(dynamodb, resources),
    episodes: await pipeline.decidedEpisodes(),
  };
}

const lineOrder = (a: ClaimLine, b: ClaimLine) =>
  a.claimLineId < b.claimLineId ? -1 : a.claimLineId > b.claimLineId ? 1 : a.revision - b.revision;

describe("idempotency under load", () => {
  it("the same 1,000 deliveries posted twice concurrently give one set of facts and the single pass's claim lines", {
    timeout: 90_000,
  }, async () => {
    // Act
    const [once, twice] = await Promise.all([run(1), run(2)]);

    // Assess: nothing failed; the single pass applied each delivery once, the double one each at least twice.
    expect(once.applied).toEqual({ applied: PATIENTS * DELIVERIES_PER_PATIENT, failed: 0 });
    expect(twice.applied.failed).toBe(0);
    expect(twice.applied.applied).toBeGreaterThanOrEqual(2 * PATIENTS * DELIVERIES_PER_PATIENT);

    // Assess: one fact per delivery in every patient's partition, identical to the single pass's.
    for (const [patient, items] of twice.facts) {
      expect(items, patient).toHaveLength(DELIVERIES_PER_PATIENT);
      expect(items, patient).toEqual(once.facts.get(patient));
    }

    // Assess: one line per patient, the same lines and the same decided episodes.
    expect(once.lines).toHaveLength(PATIENTS);
    expect(new Set(once.lines.map((line) => line.patientId)).size).toBe(PATIENTS);
    expect([...twice.lines].sort(lineOrder)).toEqual([...once.lines].sort(lineOrder));
    expect(twice.episodes).toEqual(once.episodes);
  });
});
