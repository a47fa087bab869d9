import { readFileSync } from "node:fs";
import { join } from "node:path";
import { DeleteMessageCommand, ReceiveMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { type Delivery, LocalPipeline, sqsRecordOf } from "../../bin/local/pipeline.js";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { localDynamodbClient, localSqsClient } from "../../bin/local/resources.js";
import { inboxMessageSchema } from "../../functions/queue/inbox-message.js";
import type { FormatName, ResourceFetcher } from "../../functions/vendors/format.js";
import { allFormats } from "../../functions/vendors/registry.js";
import { PROJECT_ROOT } from "../../lib/lambda-bundling.js";
import { type BenchContext, markdownTable, type SectionResult } from "./context.js";

/** One event delivery per format, from the vendor fixtures the tests use, with the vendor's own headers. */
const samples: ReadonlyArray<{ format: FormatName; fixture: string; headers?: Record<string, string> }> = [
  { format: "fhir", fixture: "fhir/r4-inquiry.json" },
  {
    format: "medplum",
    fixture: "medplum/communication-reply.json",
    headers: {
      "content-type": "application/fhir+json",
      "x-medplum-subscription": "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f",
      "x-medplum-interaction": "update",
    },
  },
  { format: "elation", fixture: "elation/message-thread.json" },
  { format: "healthie", fixture: "healthie/message-created.json" },
  { format: "bridge", fixture: "bridge/event-episode.json" },
];
/** What the vendor APIs answer: thin payloads (Healthie sends only an id), and Elation's chart lists. */
const vendorApi: Readonly<Record<string, string | object>> = {
  "message/88120456": "healthie/note-from-patient.json",
  // The client's chart as the Healthie fetcher composes it (healthie/chart.ts): no diagnoses, no consent forms.
  "client_chart/131391": { id: "131391", diagnoses: [], consent_forms: [] },
  "problems?patient=64058687489": "elation/problems.json",
  "reports?patient=64058687489": "elation/reports.json",
};

const fixture = (path: string): unknown =>
  JSON.parse(readFileSync(join(PROJECT_ROOT, "test/fixtures/vendors", path), "utf8"));

interface Calls {
  dynamodb: number;
  sqs: number;
  /** By operation, e.g. `DynamoDB.PutItem`. */
  operations: Record<string, number>;
}

interface FormatCounts {
  format: FormatName;
  facts: number;
  vendorFetches: number;
  accepted: Calls;
  duplicate: Calls;
  /** Messages the duplicate added to the inbox (the FIFO dedup id should drop it). */
  duplicateQueued: number;
  apply: Calls;
  redelivered: Calls;
}

/**
 * Section 1: AWS calls per accepted delivery, per duplicate delivery and per fact, counted by an SDK middleware
 * on the clients the real handlers use. The Lambda event source's own receive and delete are not the
 * functions' calls and go through a separate, uncounted client.
 */
export async function measureRequests(context: BenchContext): Promise<SectionResult> {
  context.progress("requests per delivery: one event delivery per format, sent twice, applied, redelivered");
  const counter = new RequestCounter();
  const dynamodb = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const sqs = localSqsClient(context.endpoints.sqsEndpoint);
  const eventSource = localSqsClient(context.endpoints.sqsEndpoint);
  counter.attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  const resources = await context.freshResources("requests");
  let vendorFetches = 0;
  const fetcher: ResourceFetcher = async (reference) => {
    const path = vendorApi[reference];
    if (path === undefined) throw new Error(`the benchmark's vendor API has no ${reference}`);
    vendorFetches += 1;
    return typeof path === "string" ? fixture(path) : structuredClone(path);
  };
  const pipeline = new LocalPipeline({
    endpoints: context.endpoints,
    resources,
    tenant: demoPractice,
    fetcherFor: () => fetcher,
    clients: { dynamodb, sqs },
    // Held as a deployed function holds it (a minute per container): a per-delivery count, not a first read.
    configMaxAgeMs: 60_000,
  });
  const calls = (): Calls => ({
    dynamodb: counter.total("DynamoDB"),
    sqs: counter.total("SQS"),
    operations: counter.snapshot(),
  });
  const measured = async <T>(work: () => Promise<T>): Promise<{ calls: Calls; result: T }> => {
    counter.reset();
    const result = await work();
    return { calls: calls(), result };
  };

  try {
    await pipeline.currentConfig();
    const rows: FormatCounts[] = [];
    for (const sample of samples) {
      const delivery: Delivery = {
        format: sample.format,
        headers: sample.headers,
        body: fixture(sample.fixture),
      };
      const accepted = await measured(() => pipeline.post(delivery));
      const duplicate = await measured(() => pipeline.post(delivery));
      for (const answer of [accepted.result, duplicate.result]) {
        if (answer.statusCode >= 300)
          throw new Error(`${sample.format}: ${answer.statusCode} ${answer.body}`);
      }
      const [message, ...others] = await receiveAll(eventSource, resources.inboxUrl);
      if (message === undefined || others.length > 0)
        throw new Error(`${sample.format}: expected one message`);
      const inboxMessage = inboxMessageSchema.parse(JSON.parse(message.Body ?? ""));
      const facts = (await allFormats[sample.format].toFacts(inboxMessage, fetcher)).facts.length;
      vendorFetches = 0;
      const event = { Records: [sqsRecordOf(message, resources.inboxUrl)] };
      const apply = await measured(() => pipeline.invokeApply(event));
      const fetchesPerApply = vendorFetches;
      // An SQS redelivery (at-least-once, or the same delivery after the 5-minute dedup window) reaches apply.
      const redelivered = await measured(() => pipeline.invokeApply(event));
      for (const response of [apply.result, redelivered.result]) {
        if (response.batchItemFailures.length > 0) throw new Error(`${sample.format}: apply failed`);
      }
      await eventSource.send(
        new DeleteMessageCommand({ QueueUrl: resources.inboxUrl, ReceiptHandle: message.ReceiptHandle }),
      );
      const duplicateQueued = (await receiveAll(eventSource, resources.inboxUrl)).length;
      rows.push({
        format: sample.format,
        facts,
        vendorFetches: fetchesPerApply,
        accepted: accepted.calls,
        duplicate: duplicate.calls,
        duplicateQueued,
        apply: apply.calls,
        redelivered: redelivered.calls,
      });
    }
    return report(rows);
  } finally {
    for (const client of [dynamodb, sqs, eventSource]) client.destroy();
  }
}

async function receiveAll(client: SQSClient, queueUrl: string) {
  const received = await client.send(
    new ReceiveMessageCommand({
      QueueUrl: queueUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
      VisibilityTimeout: 60,
      MessageSystemAttributeNames: ["All"],
    }),
  );
  return received.Messages ?? [];
}

const perFact = (calls: number, facts: number): number => calls / Math.max(facts, 1);
const pair = (calls: Calls): string => `${calls.dynamodb} / ${calls.sqs}`;

function report(rows: readonly FormatCounts[]): SectionResult {
  const oneSendOnly = (calls: Calls) => calls.dynamodb === 0 && calls.sqs === 1;
  const acceptedMet = rows.every((row) => oneSendOnly(row.accepted));
  const duplicateMet = rows.every((row) => oneSendOnly(row.duplicate) && row.duplicateQueued === 0);
  const worstApply = Math.max(
    ...rows.flatMap((row) => [
      perFact(row.apply.dynamodb, row.facts),
      perFact(row.redelivered.dynamodb, row.facts),
    ]),
  );
  const details = [
    "Each format's event fixture (test/fixtures/vendors) is posted through the real ingest handler, posted again " +
      "(same bytes: a vendor retry), received from the inbox, applied by the real apply handler, and applied once " +
      "more (an SQS redelivery, or the same delivery after the 5-minute FIFO dedup window). Calls are counted by " +
      "an SDK middleware (bin/local/request-counter.ts) on the clients the handlers use. Healthie sends only an " +
      "id: its note is fetched from a stand-in vendor API (not an AWS call).",
    "",
    markdownTable(
      [
        "format",
        "facts",
        "ingest, accepted: DynamoDB / SQS",
        "ingest, duplicate: DynamoDB / SQS",
        "duplicate reached the inbox",
        "apply: DynamoDB / SQS (per fact)",
        "apply, redelivered: DynamoDB / SQS (per fact)",
        "apply operations",
        "vendor API fetches",
      ],
      rows.map((row) => [
        row.format,
        String(row.facts),
        pair(row.accepted),
        pair(row.duplicate),
        row.duplicateQueued === 0 ? "no (FIFO dedup)" : `yes (${row.duplicateQueued})`,
        `${pair(row.apply)} (${perFact(row.apply.dynamodb, row.facts).toFixed(2)})`,
        `${pair(row.redelivered)} (${perFact(row.redelivered.dynamodb, row.facts).toFixed(2)})`,
        Object.entries(row.apply.operations)
          .map(([operation, count]) => `${operation} ${count}`)
          .join(", "),
        String(row.vendorFetches),
      ]),
    ),
  ].join("\n");
  return {
    title: "1. Requests per delivery",
    findings: [
      {
        measure: "Ingest: AWS calls per accepted delivery (every format)",
        value: summarize(rows.map((row) => row.accepted)),
        target: "0 DynamoDB + 1 SQS",
        met: acceptedMet,
      },
      {
        measure: "Ingest: AWS calls per duplicate delivery",
        value: `${summarize(rows.map((row) => row.duplicate))}; reached apply: ${rows.some((row) => row.duplicateQueued > 0) ? "yes" : "never"}`,
        target: "0 DynamoDB + 1 SQS, dropped by the FIFO dedup id",
        met: duplicateMet,
      },
      {
        measure: "Apply: DynamoDB requests per fact, worst format, duplicates included",
        value: worstApply.toFixed(2),
        target: "<= 2",
        met: worstApply <= 2,
      },
    ],
    details,
    limits: limitsOf(rows, acceptedMet && duplicateMet, worstApply <= 2),
  };
}

/** For a missed target, the calls by operation of each format that misses it. */
function limitsOf(rows: readonly FormatCounts[], ingestMet: boolean, applyMet: boolean): string | undefined {
  const operations = (calls: Calls) =>
    Object.entries(calls.operations)
      .map(([operation, count]) => `${operation} ${count}`)
      .join(", ") || "none";
  const lines = [
    ...(ingestMet
      ? []
      : rows.map(
          (row) =>
            `${row.format} ingest: accepted ${operations(row.accepted)}; duplicate ${operations(row.duplicate)}` +
            `${row.duplicateQueued > 0 ? `, and the duplicate reached the inbox (${row.duplicateQueued})` : ""}`,
        )),
    ...(applyMet
      ? []
      : rows
          .filter((row) => perFact(Math.max(row.apply.dynamodb, row.redelivered.dynamodb), row.facts) > 2)
          .map(
            (row) =>
              `${row.format} apply, ${row.facts} facts: ${operations(row.apply)}; redelivered ${operations(row.redelivered)}`,
          )),
  ];
  return lines.length === 0
    ? undefined
    : `Requests per delivery, calls by operation:\n\n${lines.map((line) => `- ${line}`).join("\n")}`;
}

/** "0 DynamoDB + 1 SQS" when every format agrees, else the range. */
function summarize(calls: readonly Calls[]): string {
  const range = (values: number[]) => {
    const low = Math.min(...values);
    const high = Math.max(...values);
    return low === high ? String(low) : `${low}-${high}`;
  };
  return `${range(calls.map((c) => c.dynamodb))} DynamoDB + ${range(calls.map((c) => c.sqs))} SQS`;
}
