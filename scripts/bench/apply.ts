import { DynamoDBDocumentClient, GetCommand, PutCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSEvent } from "aws-lambda";
import { DateTime } from "luxon";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { LocalPipeline, sqsRecordOf } from "../../bin/local/pipeline.js";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { localDynamodbClient } from "../../bin/local/resources.js";
import type { Fact } from "../../functions/domain/facts.js";
import type { InboxMessage } from "../../functions/queue/inbox-message.js";
import { factSortKey, patientKey } from "../../functions/store/table-design.js";
import { groupKeyOf } from "../../functions/vendors/envelope.js";
import { type BenchContext, markdownTable, type SectionResult } from "./context.js";
import { scaled } from "./scale.js";
import { fixed, median, ratio } from "./stats.js";
import { countingClinicians, type SyntheticDelivery, syntheticEpisode } from "./synthetic.js";

const RECORDS_PER_BATCH = 10;
const WARM_UP_BATCHES = scaled(5, 2);
const REPETITIONS = 5;
const BATCHES_PER_REPETITION = scaled(12, 3);
const TARGET_REQUESTS_PER_FACT = 2;

interface Batch {
  event: SQSEvent;
  /** The domain facts of each record, in record order (what the bare side reads and writes). */
  facts: Fact[][];
}

/**
 * Section 3: facts applied per second by the real apply handler (SQS batches of 10 records of 3 facts each, as
 * the event source delivers them) against a bare GetItem + conditional PutItem per fact on the same DynamoDB
 * Local, with the same shape of concurrency: records one after another (the FIFO batch processor's order),
 * the facts of a record side by side. Batches alternate between the sides (ABBA); every fact is new.
 */
export async function measureApply(context: BenchContext): Promise<SectionResult> {
  context.progress(
    `apply throughput: ${WARM_UP_BATCHES} warm-up batches per side, then ${REPETITIONS} x ${BATCHES_PER_REPETITION} batches per side`,
  );
  const resources = await context.freshResources("apply");
  const dynamodb = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const counter = new RequestCounter().attach(dynamodb, "DynamoDB");
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const pipeline = new LocalPipeline({
    endpoints: context.endpoints,
    resources,
    tenant: demoPractice,
    clients: { dynamodb },
    configMaxAgeMs: 60_000,
  });

  let sequence = 0;
  const nextBatch = (): Batch => {
    const deliveries: SyntheticDelivery[] = Array.from({ length: RECORDS_PER_BATCH }, () => {
      sequence += 1;
      const episode = syntheticEpisode({
        patientId: `apply-${sequence}`,
        activityAt: DateTime.fromISO("2026-03-03T15:00:00Z").plus({ minutes: sequence }),
        practitionerId: countingClinicians[sequence % countingClinicians.length] as string,
        minutes: 5 + (sequence % 30),
        diagnosisCode: "E11.9",
        consent: true,
        nurseReply: false,
        split: false,
      });
      return episode.deliveries[0] as SyntheticDelivery;
    });
    const records = deliveries.map((delivery, index) => {
      const message: InboxMessage = {
        v: 1,
        format: "bridge",
        kind: "event",
        dedupeKey: delivery.webhookId,
        groupKey: groupKeyOf(delivery.body.patientId),
        receivedAt: new Date().toISOString(),
        payload: delivery.body,
      };
      return sqsRecordOf(
        {
          MessageId: `${delivery.webhookId}-${index}`,
          ReceiptHandle: delivery.webhookId,
          Body: JSON.stringify(message),
          Attributes: { MessageGroupId: message.groupKey },
        },
        resources.inboxUrl,
      );
    });
    return { event: { Records: records }, facts: deliveries.map((delivery) => delivery.facts) };
  };
  const factCount = (batch: Batch) => batch.facts.reduce((sum, facts) => sum + facts.length, 0);

  const viaHandler = async (batch: Batch) => {
    const response = await pipeline.invokeApply(batch.event);
    if (response.batchItemFailures.length > 0) throw new Error("apply failed a record");
  };
  /** A read and a conditional write per fact, nothing else: the floor the target's 2 requests allow. */
  const bare = async (batch: Batch) => {
    for (const facts of batch.facts) {
      await Promise.all(
        facts.map(async (fact) => {
          const key = { pk: patientKey(fact.patientId), sk: factSortKey(fact.id) };
          await documents.send(new GetCommand({ TableName: resources.tableName, Key: key }));
          await documents.send(
            new PutCommand({
              TableName: resources.tableName,
              Item: { ...key, type: "fact", fact: JSON.stringify(fact), version: fact.version },
              ConditionExpression: "attribute_not_exists(pk)",
            }),
          );
        }),
      );
    }
  };

  try {
    for (let i = 0; i < WARM_UP_BATCHES; i++) {
      await viaHandler(nextBatch());
      await bare(nextBatch());
    }
    const rates: Array<{ handler: number; bare: number }> = [];
    const applied: Batch[] = [];
    let handlerRequests = 0;
    for (let r = 0; r < REPETITIONS; r++) {
      const time = { handler: 0, bare: 0 };
      let facts = 0;
      for (let i = 0; i < BATCHES_PER_REPETITION; i++) {
        // ABBA: handler first on even batches, the bare side first on odd ones.
        const order = i % 2 === 0 ? (["handler", "bare"] as const) : (["bare", "handler"] as const);
        for (const side of order) {
          const batch = nextBatch();
          if (side === "handler") {
            facts += factCount(batch);
            applied.push(batch);
            counter.reset();
          }
          const started = performance.now();
          await (side === "handler" ? viaHandler(batch) : bare(batch));
          time[side] += performance.now() - started;
          if (side === "handler") handlerRequests += counter.total("DynamoDB");
        }
      }
      rates.push({ handler: facts / (time.handler / 1000), bare: facts / (time.bare / 1000) });
      context.progress(`  apply repetition ${r + 1}/${REPETITIONS}`);
    }
    // Every timed batch again: SQS redeliveries of facts already applied.
    counter.reset();
    for (const batch of applied) await viaHandler(batch);
    const redeliveredRequests = counter.total("DynamoDB");
    const appliedFacts = applied.reduce((sum, batch) => sum + factCount(batch), 0);
    return report(rates, handlerRequests / appliedFacts, redeliveredRequests / appliedFacts, appliedFacts);
  } finally {
    dynamodb.destroy();
  }
}

function report(
  rates: ReadonlyArray<{ handler: number; bare: number }>,
  requestsPerFact: number,
  redeliveredPerFact: number,
  facts: number,
): SectionResult {
  const handler = median(rates.map((rate) => rate.handler));
  const bare = median(rates.map((rate) => rate.bare));
  const throughputRatio = median(rates.map((rate) => rate.handler / rate.bare));
  const worst = Math.max(requestsPerFact, redeliveredPerFact);
  const details = [
    `Batches of ${RECORDS_PER_BATCH} SQS records, each a \`bridge\` delivery of 3 new facts (inquiry, reply, ` +
      `consent) for its own patient, invoked on the real apply handler; the bare side reads and conditionally ` +
      `writes the same facts with the same concurrency (records in sequence, facts of a record in parallel). ` +
      `${WARM_UP_BATCHES} warm-up batches per side, then ${REPETITIONS} repetitions of ${BATCHES_PER_REPETITION} ` +
      "batches per side in ABBA order; medians over the repetitions. Then every timed handler batch is invoked " +
      `again (${facts} facts already applied) to count the requests of redeliveries.`,
    "",
    "The handler writes each fact as one TransactWriteItems of two items (the fact and its location, R16: a " +
      "move or deletion at the source can never leave a fact in two patients), and a clinician's fact also " +
      "enters the sparse `clinician` index (R18); the bare side makes two single-item requests. DynamoDB Local " +
      "charges a transaction several times a single write (section 4 measures that floor); on DynamoDB a " +
      "transactional write costs twice the write capacity of a plain one.",
    "",
    markdownTable(
      ["side", "facts/s (median)", "per repetition", "DynamoDB requests per fact"],
      [
        [
          "apply handler",
          fixed(handler, 0),
          rates.map((rate) => fixed(rate.handler, 0)).join(", "),
          `${fixed(requestsPerFact)} new, ${fixed(redeliveredPerFact)} redelivered`,
        ],
        [
          "bare GetItem + conditional PutItem",
          fixed(bare, 0),
          rates.map((rate) => fixed(rate.bare, 0)).join(", "),
          "2.00",
        ],
      ],
    ),
  ].join("\n");
  return {
    title: "3. Apply throughput",
    findings: [
      {
        measure: "Apply throughput / bare read + conditional write pair",
        value: `${ratio(throughputRatio)} (${fixed(handler, 0)} vs ${fixed(bare, 0)} facts/s)`,
        target: "(no target; higher is better)",
      },
      {
        measure: "Apply: DynamoDB requests per fact over the timed batches, redeliveries included",
        value: `${fixed(requestsPerFact)} new, ${fixed(redeliveredPerFact)} redelivered`,
        target: `<= ${TARGET_REQUESTS_PER_FACT}`,
        met: worst <= TARGET_REQUESTS_PER_FACT,
      },
    ],
    details,
  };
}
