import { availableParallelism } from "node:os";
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import {
  DynamoDBDocumentClient,
  PutCommand,
  QueryCommand,
  TransactWriteCommand,
} from "@aws-sdk/lib-dynamodb";
import { DateTime } from "luxon";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { type LocalResources, localDynamodbClient, localSqsClient } from "../../bin/local/resources.js";
import { parseTenantConfig } from "../../functions/domain/config.js";
import { decisionStart, scopeReach } from "../../functions/domain/decision-scope.js";
import type { Fact } from "../../functions/domain/facts.js";
import { finalizeDueEpisodes } from "../../functions/finalize/finalize-due-episodes.js";
import { type ClaimSink, SqsClaimSink } from "../../functions/queue/claims-sender.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import { DynamoEpisodeStore } from "../../functions/store/episode-store.js";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import { patientKey, tableDesign } from "../../functions/store/table-design.js";
import { weeklyHistory } from "../scenarios/weekly-history.js";
import { type BenchContext, markdownTable, type SectionResult } from "./context.js";
import { cpuMeter } from "./cpu.js";
import { seedFacts } from "./fact-seeding.js";
import { profiled, type StoreProfile } from "./finalizer.js";
import { ReadCapacityMeter, type ReadTally } from "./read-capacity.js";
import { scaled } from "./scale.js";
import { fixed, median, ratio } from "./stats.js";
import { weeklyFacts } from "./synthetic.js";

/** Due patients per side and run. */
const PATIENTS = scaled(200, 10);
const HISTORY_WEEKS = 5 * 52;
const REPETITIONS = 3;
const RETENTION_DAYS = 2190;
const ADJUSTMENT_HORIZON_DAYS = 365;
/** Patients the finalizer decides side by side (finalize-due-episodes.ts): the bare loop keeps the same pace. */
const SIDE_BY_SIDE = 10;
const TARGET_HISTORY_RATIO = 1.3;
const TARGET_BARE_RATIO = 1.5;
const TARGET_REQUESTS_PER_PATIENT = 3;
/** A strongly consistent read of an item up to 16 KB consumes at most 4 read capacity units. */
const LARGEST_ITEM_BYTES = 16 * 1024;
/**
 * The first Monday of the history. The weeks decided in the timed runs (June 2026) fall in the year of the last
 * consent, so a history patient's new week is an inquiry and its reply, and every item's TTL lies ahead.
 */
const FIRST_MONDAY = "2021-06-07";
/** The weekly scenario's practice (America/New_York, consent required), as `npm run replay` runs it. */
const tenant = parseTenantConfig({ ...demoPractice, ...weeklyHistory({ weeks: 1 }).scenario.config });

const sides = ["history", "new"] as const;
type Side = (typeof sides)[number];
const inOrder = (first: boolean): readonly Side[] => (first ? sides : [sides[1], sides[0]]);

const monday = (week: number): DateTime =>
  DateTime.fromISO(FIRST_MONDAY, { zone: tenant.timezone }).plus({ weeks: week });
/** When a week is decided: the Thursday after it at noon, once its window (to the next Monday) has settled. */
const decidedAt = (week: number): number => monday(week).plus({ days: 10 }).set({ hour: 12 }).toMillis();
/** The lowest reach a decision of a week's episode reads from (decision-scope.ts). */
const scopeOf = (week: number): number =>
  scopeReach(decisionStart(monday(week).toMillis(), [], tenant), tenant);

/** The store operations (as `profiled` names them) the bare loop's Query and PutItem stand for. */
const READ_PATIENT = "readPatient";
const COMMIT = "commit";

/** The reads the meter tallies, as the finalizer makes them. */
const READ_KINDS: Readonly<Record<string, string>> = {
  "Query due": "Query of the due index (one per shard and page)",
  "Query reach": "Query of the reach index (one per patient)",
  "Query message": "Query of the message index (R1 chains out of scope)",
  "Query table": "Query of the table (the quarantine list; DynamoDB Local counts 0 units when empty)",
};

/** Lines of the one decision of the seeded history go nowhere: only the records and state it stores matter. */
const discardingSink: ClaimSink = { send: async () => {} };

interface FinalizeRun {
  ms: number;
  benchCpuMs: number;
  dynamodbCpuMs?: number;
  patientsDecided: number;
  dynamodbRequests: number;
  operations: Record<string, number>;
  reads: Record<string, ReadTally>;
  readUnits: number;
  sendBatches: number;
  /** Lines sent: every patient's new week owes one original line, and nothing else may go out. */
  originals: number;
  adjustments: number;
  profile: StoreProfile;
}

interface BareRun {
  ms: number;
  benchCpuMs: number;
  dynamodbCpuMs?: number;
  dynamodbRequests: number;
  readUnits: number;
  /** Milliseconds per call, as the store operations are timed. */
  queryMs: number;
  putMs: number;
}

type Repetition = Record<Side, { run: FinalizeRun; bare: BareRun; transactional: BareRun }>;

/**
 * Actions of the transactional floor's TransactWriteItems: what the finalizer's commit holds for a week's decision
 * (state, decision record, outbox entry, the marker clears of the week's inquiry and reply).
 */
const FLOOR_ACTIONS = 5;

/** What a week's decision reads of one patient, by kind of item (probed before the last timed run). */
interface ReadComposition {
  /** Items and their bytes by kind. */
  items: Record<string, { count: number; bytes: number }>;
  bytes: number;
  units: number;
}

interface Seeding {
  facts: number;
  seedMs: number;
  decideMs: number;
  decideCpu: { bench: number; dynamodb?: number };
  transactions: number;
  linesDiscarded: number;
  largestItem: { bytes: number; kind: string; items: number };
}

/**
 * Section 5: the finalizer deciding one new week for N patients who each have five years of weekly e-visits
 * already decided and sent, against N new patients with only that week; on each side's table, the same patients
 * read and written by a bare loop (one Query, one conditional PutItem per patient, 10 side by side) as the floor
 * of what deciding a patient can cost. Read capacity is what DynamoDB Local reports for every read of the run.
 */
export async function measureFinalizerHistory(context: BenchContext): Promise<SectionResult> {
  const dynamodb = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const sqs = localSqsClient(context.endpoints.sqsEndpoint);
  const seeder = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const counter = new RequestCounter().attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  const meter = new ReadCapacityMeter().attach(dynamodb);
  const seedCounter = new RequestCounter().attach(seeder, "DynamoDB");
  const translation = { marshallOptions: { removeUndefinedValues: true } };
  const documents = DynamoDBDocumentClient.from(dynamodb, translation);
  const seedDocuments = DynamoDBDocumentClient.from(seeder, translation);
  const cpu = cpuMeter();
  try {
    const tables: Record<Side, LocalResources> = {
      history: await context.freshResources("finalize-history"),
      new: await context.freshResources("finalize-new"),
    };
    const factOptions = (side: Side) => ({
      tableName: tables[side].tableName,
      retentionDays: RETENTION_DAYS,
      settleHours: tenant.settleHours,
    });
    const historyIds = Array.from({ length: PATIENTS }, (_, i) => `history-${i}`);
    const newIds = (week: number) => Array.from({ length: PATIENTS }, (_, i) => `new-${week}-${i}`);

    context.progress(
      `finalizer with history: ${PATIENTS} patients with ${HISTORY_WEEKS} weeks of weekly e-visits each; seeding`,
    );
    const weeks = await Promise.all(
      historyIds.map((patientId) =>
        weeklyFacts({ patientId, from: FIRST_MONDAY, weeks: HISTORY_WEEKS + 1 + REPETITIONS }),
      ),
    );
    const history = weeks.flatMap((patient) => patient.slice(0, HISTORY_WEEKS).flat());
    let started = performance.now();
    await seedFacts(seedDocuments, factOptions("history"), history);
    const seedMs = performance.now() - started;
    context.progress(
      `  ${history.length} facts seeded in ${fixed(seedMs / 1000, 1)} s; deciding them once (lines discarded)`,
    );
    seedCounter.reset();
    const decideCpuBefore = cpu.read();
    started = performance.now();
    const once = await finalizeDueEpisodes({
      store: new DynamoEpisodeStore(seedDocuments, tables.history.tableName),
      quarantine: new DynamoQuarantine(seedDocuments, tables.history.tableName),
      claims: discardingSink,
      tenant: fixedTenantConfig(tenant),
      retentionDays: RETENTION_DAYS,
      adjustmentHorizonDays: ADJUSTMENT_HORIZON_DAYS,
      clock: () => decidedAt(HISTORY_WEEKS - 1) + (performance.now() - started),
      budgetMs: 3_600_000,
    });
    const decideMs = performance.now() - started;
    const decideCpuAfter = cpu.read();
    if (once.patientsDecided !== PATIENTS || once.conflicts > 0 || once.patientsQuarantined > 0)
      throw new Error("finalizer with history: the seeded history was not decided for every patient");
    context.progress(`  decided in ${fixed(decideMs / 1000, 1)} s`);
    const seeding: Seeding = {
      facts: history.length,
      seedMs,
      decideMs,
      decideCpu: cpuSpent(decideCpuBefore, decideCpuAfter),
      transactions: seedCounter.snapshot()["DynamoDB.TransactWriteItems"] ?? 0,
      linesDiscarded: once.linesSent.original + once.linesSent.void + once.linesSent.replacement,
      largestItem: await largestItem(seedDocuments, tables.history.tableName, historyIds[0] as string),
    };

    const finalize = async (side: Side, week: number): Promise<FinalizeRun> => {
      const profile: StoreProfile = {};
      const store = profiled(new DynamoEpisodeStore(documents, tables[side].tableName), profile);
      counter.reset();
      meter.reset();
      const cpuBefore = cpu.read();
      const runStarted = performance.now();
      const report = await finalizeDueEpisodes({
        store,
        quarantine: new DynamoQuarantine(documents, tables[side].tableName),
        claims: new SqsClaimSink(sqs, tables[side].claimsUrl),
        tenant: fixedTenantConfig(tenant),
        retentionDays: RETENTION_DAYS,
        adjustmentHorizonDays: ADJUSTMENT_HORIZON_DAYS,
        clock: () => decidedAt(week) + (performance.now() - runStarted),
        budgetMs: 600_000,
      });
      const ms = performance.now() - runStarted;
      const spent = cpuSpent(cpuBefore, cpu.read());
      const operations = counter.snapshot();
      if (report.stoppedEarly || report.conflicts > 0 || report.patientsQuarantined > 0)
        throw new Error(`finalizer run on the ${side} side incomplete`);
      await sqs.send(new PurgeQueueCommand({ QueueUrl: tables[side].claimsUrl }));
      return {
        ms,
        benchCpuMs: spent.bench,
        dynamodbCpuMs: spent.dynamodb,
        patientsDecided: report.patientsDecided,
        dynamodbRequests: counter.total("DynamoDB"),
        operations,
        reads: meter.snapshot(),
        readUnits: meter.units(),
        sendBatches: operations["SQS.SendMessageBatch"] ?? 0,
        originals: report.linesSent.original,
        adjustments: report.linesSent.void + report.linesSent.replacement,
        profile,
      };
    };

    /**
     * One Query of each patient's partition from the decision's scope and one conditional PutItem, 10 at once; or,
     * as the floor of a transactional commit, one TransactWriteItems of `FLOOR_ACTIONS` conditional puts.
     */
    const bare = async (
      side: Side,
      patients: readonly string[],
      week: number,
      write: "put" | "transaction" = "put",
    ): Promise<BareRun> => {
      const { partitionKey, sortKey, reachIndex } = tableDesign;
      counter.reset();
      meter.reset();
      const calls = { queryMs: 0, putMs: 0 };
      const cpuBefore = cpu.read();
      const runStarted = performance.now();
      for (let start = 0; start < patients.length; start += SIDE_BY_SIDE) {
        await Promise.all(
          patients.slice(start, start + SIDE_BY_SIDE).map(async (patientId) => {
            let callStarted = performance.now();
            await documents.send(
              new QueryCommand({
                TableName: tables[side].tableName,
                IndexName: reachIndex.name,
                KeyConditionExpression: "#pk = :pk AND #reach >= :from",
                ExpressionAttributeNames: { "#pk": partitionKey, "#reach": reachIndex.sortKey },
                ExpressionAttributeValues: { ":pk": patientKey(patientId), ":from": scopeOf(week) },
                Select: "ALL_PROJECTED_ATTRIBUTES",
                ConsistentRead: true,
              }),
            );
            calls.queryMs += performance.now() - callStarted;
            callStarted = performance.now();
            // In no index: the finalizer never sees them.
            const put = (n: number) => ({
              TableName: tables[side].tableName,
              Item: { [partitionKey]: patientKey(patientId), [sortKey]: `BENCH#${write}#${week}#${n}`, week },
              ConditionExpression: "attribute_not_exists(#pk)",
              ExpressionAttributeNames: { "#pk": partitionKey },
            });
            if (write === "put") await documents.send(new PutCommand(put(0)));
            else
              await documents.send(
                new TransactWriteCommand({
                  TransactItems: Array.from({ length: FLOOR_ACTIONS }, (_, n) => ({ Put: put(n) })),
                }),
              );
            calls.putMs += performance.now() - callStarted;
          }),
        );
      }
      const ms = performance.now() - runStarted;
      const spent = cpuSpent(cpuBefore, cpu.read());
      return {
        ms,
        benchCpuMs: spent.bench,
        dynamodbCpuMs: spent.dynamodb,
        dynamodbRequests: counter.total("DynamoDB"),
        readUnits: meter.units(),
        queryMs: calls.queryMs / patients.length,
        putMs: calls.putMs / patients.length,
      };
    };

    // The first week after the history is a warm-up round on both sides; each repetition then decides one more.
    const repetitions: Repetition[] = [];
    let composition: Record<Side, ReadComposition> | undefined;
    for (let round = 0; round <= REPETITIONS; round++) {
      const week = HISTORY_WEEKS + round;
      const patients: Record<Side, string[]> = { history: historyIds, new: newIds(week) };
      const fresh = await Promise.all(
        patients.new.map(async (patientId) => {
          const [first] = await weeklyFacts({
            patientId,
            from: monday(week).toISODate() as string,
            weeks: 1,
          });
          return first as Fact[];
        }),
      );
      const due: Record<Side, Fact[]> = {
        history: weeks.flatMap((patient) => patient[week] ?? []),
        new: fresh.flat(),
      };
      await Promise.all(sides.map((side) => seedFacts(seedDocuments, factOptions(side), due[side])));
      if (round === REPETITIONS)
        composition = {
          history: await readComposition(seedDocuments, tables.history.tableName, patients.history[0], week),
          new: await readComposition(seedDocuments, tables.new.tableName, patients.new[0], week),
        };
      const bareFirst = round % 2 === 0;
      const measured: Partial<Repetition> = {};
      for (const side of inOrder(round % 2 === 0)) {
        let bareRun = bareFirst ? await bare(side, patients[side], week) : undefined;
        const run = await finalize(side, week);
        bareRun ??= await bare(side, patients[side], week);
        const transactional = await bare(side, patients[side], week, "transaction");
        if (run.patientsDecided !== PATIENTS || run.originals !== PATIENTS || run.adjustments > 0)
          throw new Error(`finalizer with history: the ${side} side did not give one line per patient`);
        measured[side] = { run, bare: bareRun, transactional };
      }
      const { history: h, new: n } = measured as Repetition;
      context.progress(
        `  ${round === 0 ? "warm-up" : `repetition ${round}/${REPETITIONS}`}: history ${fixed(h.run.ms, 0)} ms ` +
          `(bare ${fixed(h.bare.ms, 0)}), new ${fixed(n.run.ms, 0)} ms (bare ${fixed(n.bare.ms, 0)})`,
      );
      if (round > 0) repetitions.push(measured as Repetition);
    }
    return report(repetitions, seeding, composition as Record<Side, ReadComposition>);
  } finally {
    for (const client of [dynamodb, sqs, seeder]) client.destroy();
  }
}

/** CPU milliseconds spent between two readings: the bench process's and DynamoDB Local's, when known. */
function cpuSpent(
  before: { bench: number; dynamodb?: number },
  after: { bench: number; dynamodb?: number },
): { bench: number; dynamodb?: number } {
  return {
    bench: after.bench - before.bench,
    dynamodb:
      after.dynamodb === undefined || before.dynamodb === undefined
        ? undefined
        : after.dynamodb - before.dynamodb,
  };
}

/** DynamoDB's size of an item: attribute names plus values (numbers at most 21 bytes). */
export function itemBytes(item: Record<string, unknown>): number {
  const valueBytes = (value: unknown): number => {
    if (typeof value === "string") return Buffer.byteLength(value);
    if (typeof value === "number")
      return Math.min(21, Math.ceil(String(value).replace(/[-.]/g, "").length / 2) + 1);
    if (typeof value === "boolean" || value === null) return 1;
    if (Array.isArray(value)) return 3 + value.reduce((sum: number, each) => sum + 1 + valueBytes(each), 0);
    if (typeof value === "object")
      return (
        3 +
        Object.entries(value as object).reduce(
          (sum, [k, v]) => sum + Buffer.byteLength(k) + 1 + valueBytes(v),
          0,
        )
      );
    return 0;
  };
  return Object.entries(item).reduce(
    (sum, [name, value]) => sum + Buffer.byteLength(name) + valueBytes(value),
    0,
  );
}

/** The kind of a stored item, by its sort key (and a fact's kind). */
export function kindOf(item: Record<string, unknown>): string {
  const sk = String(item[tableDesign.sortKey]);
  if (sk.startsWith("FACT#"))
    return `fact: ${String((JSON.parse(String(item.fact)) as { kind: string }).kind)}`;
  if (sk.startsWith("EPISODE#")) return "decision record";
  if (sk.startsWith("OUTBOX#")) return "outbox entry";
  return sk === "STATE" ? "state" : (sk.split("#")[0] ?? sk);
}

/** The largest item of one patient's whole partition, after five years of history were decided. */
async function largestItem(
  documents: DynamoDBDocumentClient,
  tableName: string,
  patientId: string,
): Promise<Seeding["largestItem"]> {
  let largest = { bytes: 0, kind: "", items: 0 };
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
        ExpressionAttributeValues: { ":pk": patientKey(patientId) },
        ExclusiveStartKey: cursor,
      }),
    );
    for (const item of page.Items ?? []) {
      const bytes = itemBytes(item);
      largest = {
        ...(bytes > largest.bytes ? { bytes, kind: kindOf(item) } : largest),
        items: largest.items + 1,
      };
    }
    cursor = page.LastEvaluatedKey;
  } while (cursor !== undefined);
  return largest;
}

/** The finalizer's first read of a patient for a week's decision, made here to say what it holds. */
async function readComposition(
  documents: DynamoDBDocumentClient,
  tableName: string,
  patientId: string | undefined,
  week: number,
): Promise<ReadComposition> {
  const { reachIndex, partitionKey } = tableDesign;
  const page = await documents.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: reachIndex.name,
      KeyConditionExpression: "#pk = :pk AND #reach >= :from",
      ExpressionAttributeNames: { "#pk": partitionKey, "#reach": reachIndex.sortKey },
      ExpressionAttributeValues: { ":pk": patientKey(patientId ?? ""), ":from": scopeOf(week) },
      Select: "ALL_PROJECTED_ATTRIBUTES",
      ConsistentRead: true,
      ReturnConsumedCapacity: "TOTAL",
    }),
  );
  const items: ReadComposition["items"] = {};
  let bytes = 0;
  for (const item of page.Items ?? []) {
    const kind = items[kindOf(item)] ?? { count: 0, bytes: 0 };
    kind.count += 1;
    kind.bytes += itemBytes(item);
    items[kindOf(item)] = kind;
    bytes += itemBytes(item);
  }
  return { items, bytes, units: page.ConsumedCapacity?.CapacityUnits ?? Number.NaN };
}

function report(
  repetitions: readonly Repetition[],
  seeding: Seeding,
  composition: Record<Side, ReadComposition>,
): SectionResult {
  const runs = (side: Side) => repetitions.map((repetition) => repetition[side].run);
  const med = (side: Side, pick: (run: FinalizeRun) => number) => median(runs(side).map(pick));
  /** Median over the repetitions of history / new, each pair measured seconds apart. */
  const paired = (pick: (run: FinalizeRun) => number) =>
    median(repetitions.map((repetition) => pick(repetition.history.run) / pick(repetition.new.run)));
  const time = (run: FinalizeRun) => run.ms;
  const units = (run: FinalizeRun) => run.readUnits;
  const perPatient = (pick: (run: FinalizeRun) => number) => (run: FinalizeRun) =>
    pick(run) / Math.max(run.patientsDecided, 1);
  const requestsPerPatient = perPatient((run) => run.dynamodbRequests);
  const reachReads = (run: FinalizeRun) => run.reads["Query reach"] ?? { requests: 0, units: 0, items: 0 };
  const msPerPatient = perPatient(time);
  const bareMsPerPatient = (side: Side) => (repetition: Repetition) => repetition[side].bare.ms / PATIENTS;
  const bareRatio = (side: Side) =>
    median(repetitions.map((r) => msPerPatient(r[side].run) / bareMsPerPatient(side)(r)));
  const floorRatio = (side: Side) =>
    median(repetitions.map((r) => msPerPatient(r[side].run) / (r[side].transactional.ms / PATIENTS)));
  const hasEngineCpu = repetitions.every((r) => r.history.run.dynamodbCpuMs !== undefined);
  const timeRatio = paired(time);
  const unitsRatio = paired(units);
  const requestsMet = sides.every((side) =>
    runs(side).every((run) => requestsPerPatient(run) <= TARGET_REQUESTS_PER_PATIENT),
  );
  const label: Record<Side, string> = {
    history: `${PATIENTS} patients with 5 years of weekly history`,
    new: `${PATIENTS} new patients`,
  };
  const readKinds = [
    ...new Set(repetitions.flatMap((r) => sides.flatMap((side) => Object.keys(r[side].run.reads)))),
  ];
  const operations = [
    ...new Set(repetitions.flatMap((r) => sides.flatMap((side) => Object.keys(r[side].run.operations)))),
  ];
  const profileOps = [
    ...new Set(repetitions.flatMap((r) => sides.flatMap((side) => Object.keys(r[side].run.profile)))),
  ];
  const perCall = (operation: string) => (run: FinalizeRun) => {
    const key = Object.keys(run.profile).find((name) => name.startsWith(operation)) ?? operation;
    return (run.profile[key]?.ms ?? 0) / Math.max(run.profile[key]?.calls ?? 0, 1);
  };
  const both = (pick: (run: FinalizeRun) => number, digits = 2) =>
    `${fixed(med("history", pick), digits)} / ${fixed(med("new", pick), digits)}`;
  const compositionCell = (side: Side) =>
    Object.entries(composition[side].items)
      .map(([kind, { count, bytes }]) => `${kind} x${count} (${fixed(bytes / 1024, 1)} KB)`)
      .join(", ");

  const details = [
    `N = ${PATIENTS} due patients per side and run, in the weekly scenario's practice (scripts/scenarios/` +
      "weekly-history.ts: America/New_York, consent required). History side: each patient has " +
      `${HISTORY_WEEKS} weeks (five years from ${FIRST_MONDAY}) of weekly e-visits (a patient's inquiry every ` +
      "Monday at 09:00, Dr. Adams's 6-minute reply at 14:00, the year's consent on its first Monday), generated by " +
      "the weekly scenario and mapped by the bridge format. The history was seeded with BatchWriteItem of exactly " +
      "the items the fact store writes (`DynamoFactStore.itemOf`), then decided once by the real finalizer core " +
      "as of the Thursday after its last week (decision records, state and outbox written as in production; " +
      "the lines of the last 365 days went to a sink that discards them and their outbox entries were deleted). " +
      "Each round then adds one more week (inquiry and reply) for every history patient, and gives as many new " +
      "patients just that week (the consent a new patient signs, the inquiry and the reply), each side in its own " +
      "table, and runs the finalizer core (real DynamoDB store and SQS claim sink) on both as of the Thursday " +
      `after, in alternating order; the first round is a warm-up, then ${REPETITIONS} repetitions. Every run ` +
      "must decide every patient and send exactly one original line per patient (no void, no replacement). " +
      "Requests are counted by the SDK middleware (bin/local/request-counter.ts); read capacity by a second " +
      'middleware (scripts/bench/read-capacity.ts) that asks every read for `ReturnConsumedCapacity: "INDEXES"` ' +
      "and sums the table's and the indexes' units DynamoDB Local reports (strongly consistent: 1 unit per 4 KB " +
      "a Query returns, rounded up once per request; the due index is read eventually consistent). The bare " +
      `loop, on the same table with the same concurrency (${SIDE_BY_SIDE} patients side by side, chunk after ` +
      "chunk), does per patient one Query of the patient's partition from the decision's scope on (the `reach` " +
      "index from a week before the week's Monday: every item the decision needs and nothing older) and one " +
      "conditional PutItem of an item in no index; it runs alternately after and before the finalizer on " +
      "the same patients. Ratios are medians of the per-repetition ratios.",
    "",
    markdownTable(
      ["history seeding", "value"],
      [
        [
          "facts seeded (BatchWriteItem, 25 a request)",
          `${seeding.facts} in ${fixed(seeding.seedMs / 1000, 1)} s`,
        ],
        [
          "decided once by the finalizer core",
          `${fixed(seeding.decideMs / 1000, 1)} s (CPU: bench ${fixed(seeding.decideCpu.bench / 1000, 1)} s` +
            `${seeding.decideCpu.dynamodb === undefined ? "" : `, DynamoDB Local ${fixed(seeding.decideCpu.dynamodb / 1000, 1)} s`}), ` +
            `${seeding.transactions} TransactWriteItems, ${seeding.linesDiscarded} lines discarded`,
        ],
        [
          "largest item of one history patient's partition",
          `${fixed(seeding.largestItem.bytes / 1024, 1)} KB (${seeding.largestItem.kind}) of ` +
            `${seeding.largestItem.items} items`,
        ],
      ],
    ),
    "",
    markdownTable(
      [
        "side",
        "time (median)",
        "per repetition",
        `CPU: bench${hasEngineCpu ? " + DynamoDB Local" : ""}`,
        "DynamoDB requests (per decided patient)",
        "read units (per patient)",
        "items read per patient (reach Query)",
        "SendMessageBatch calls",
        "original lines",
      ],
      sides.map((side) => [
        label[side],
        `${fixed(med(side, time), 0)} ms`,
        runs(side)
          .map((run) => fixed(run.ms, 0))
          .join(", "),
        `${fixed(
          med(side, (run) => run.benchCpuMs),
          0,
        )}${
          hasEngineCpu
            ? ` + ${fixed(
                med(side, (run) => run.dynamodbCpuMs ?? Number.NaN),
                0,
              )}`
            : ""
        } ms`,
        `${fixed(
          med(side, (run) => run.dynamodbRequests),
          0,
        )} (${fixed(med(side, requestsPerPatient))})`,
        `${fixed(med(side, units), 1)} (${fixed(med(side, perPatient(units)))})`,
        fixed(
          med(
            side,
            perPatient((run) => reachReads(run).items),
          ),
          1,
        ),
        fixed(
          med(side, (run) => run.sendBatches),
          0,
        ),
        fixed(
          med(side, (run) => run.originals),
          0,
        ),
      ]),
    ),
    "",
    markdownTable(
      ["what a week's decision reads of one patient (last round, probed)", "items", "size", "read units"],
      sides.map((side) => [
        label[side],
        compositionCell(side),
        `${fixed(composition[side].bytes / 1024, 1)} KB`,
        fixed(composition[side].units, 1),
      ]),
    ),
    "",
    markdownTable(
      ["reads of a run (history / new)", "requests", "read units", "items"],
      readKinds.map((kind) => [
        READ_KINDS[kind] ?? kind,
        both((run) => run.reads[kind]?.requests ?? 0, 0),
        both((run) => run.reads[kind]?.units ?? 0, 1),
        both((run) => run.reads[kind]?.items ?? 0, 0),
      ]),
    ),
    "",
    markdownTable(
      [
        "per decided patient",
        "finalizer (ms)",
        "bare Query + PutItem (ms)",
        "finalizer / bare",
        "per repetition",
        `CPU ms, finalizer / bare: bench${hasEngineCpu ? " + DynamoDB Local" : ""}`,
        "read ms per call: readPatient / bare Query",
        "write ms per call: commit / bare PutItem",
      ],
      sides.map((side) => {
        const bareMed = (pick: (bare: BareRun) => number) =>
          median(repetitions.map((r) => pick(r[side].bare)));
        const cpuCell = (bench: number, engine: number) =>
          `${fixed(bench)}${hasEngineCpu ? ` + ${fixed(engine)}` : ""}`;
        return [
          label[side],
          fixed(med(side, msPerPatient)),
          fixed(median(repetitions.map(bareMsPerPatient(side)))),
          ratio(bareRatio(side)),
          repetitions.map((r) => ratio(msPerPatient(r[side].run) / bareMsPerPatient(side)(r))).join(", "),
          `${cpuCell(
            med(
              side,
              perPatient((run) => run.benchCpuMs),
            ),
            med(
              side,
              perPatient((run) => run.dynamodbCpuMs ?? Number.NaN),
            ),
          )} / ${cpuCell(
            bareMed((bare) => bare.benchCpuMs / PATIENTS),
            bareMed((bare) => (bare.dynamodbCpuMs ?? Number.NaN) / PATIENTS),
          )}`,
          `${fixed(med(side, perCall(READ_PATIENT)))} / ${fixed(bareMed((bare) => bare.queryMs))}`,
          `${fixed(med(side, perCall(COMMIT)))} / ${fixed(bareMed((bare) => bare.putMs))}`,
        ];
      }),
    ),
    "",
    markdownTable(
      ["requests of a run (history / new)", "calls"],
      operations.map((operation) => [operation, both((run) => run.operations[operation] ?? 0, 0)]),
    ),
    "",
    markdownTable(
      ["store operation", "calls per run (history / new)", "ms per call, median (history / new)"],
      profileOps.map((operation) => [
        operation,
        both((run) => run.profile[operation]?.calls ?? 0, 0),
        both(perCall(operation)),
      ]),
    ),
  ].join("\n");

  const timeMet = timeRatio <= TARGET_HISTORY_RATIO;
  const unitsMet = unitsRatio <= TARGET_HISTORY_RATIO;
  const bareMet = sides.every((side) => bareRatio(side) <= TARGET_BARE_RATIO);
  const limits: string[] = [];
  if (!unitsMet) {
    limits.push(
      `Finalizer with history: read units history / new ${ratio(unitsRatio)} (${both(perPatient(units))} per ` +
        `patient). A week's decision of a history patient reads ${compositionCell("history")} ` +
        `(${fixed(composition.history.bytes / 1024, 1)} KB, ${fixed(composition.history.units, 1)} units); a new ` +
        `patient's, ${compositionCell("new")} (${fixed(composition.new.bytes / 1024, 1)} KB, ` +
        `${fixed(composition.new.units, 1)} units). A strongly consistent Query costs 1 unit per 4 KB it returns, ` +
        "so what the bounded read must hold (the R1 look-back week, the decision records ending in it, every " +
        "consent within the longest validity a practice may set, the state) decides the ratio; of the years " +
        "behind it only the consents are read, one a year up to that validity.",
    );
  }
  if (!timeMet) {
    const cpuRatio = paired((run) => run.benchCpuMs);
    const engineRatio = hasEngineCpu ? paired((run) => run.dynamodbCpuMs ?? Number.NaN) : undefined;
    limits.push(
      `Finalizer with history: time history / new ${ratio(timeRatio)}, bench CPU ${ratio(cpuRatio)}` +
        `${engineRatio === undefined ? "" : `, DynamoDB Local CPU ${ratio(engineRatio)}`}, items read per patient ` +
        `${both(
          perPatient((run) => reachReads(run).items),
          1,
        )}, on a machine of ${availableParallelism()} cores ` +
        "shared by DynamoDB Local, the bench and anything else running.",
    );
  }
  if (!bareMet) {
    const engineCpuPerPatient = (side: Side) => ({
      finalizer: med(
        side,
        perPatient((run) => run.dynamodbCpuMs ?? Number.NaN),
      ),
      bare: median(repetitions.map((r) => (r[side].bare.dynamodbCpuMs ?? Number.NaN) / PATIENTS)),
    });
    const floorOverBare = (side: Side) =>
      median(repetitions.map((r) => r[side].transactional.ms / r[side].bare.ms));
    limits.push(
      `Finalize cost per patient: finalizer / bare ${sides.map((side) => `${side} ${ratio(bareRatio(side))}`).join(", ")}. ` +
        `The same bare loop with one ${FLOOR_ACTIONS}-action TransactWriteItems instead of the PutItem takes ` +
        `${sides.map((side) => ratio(floorOverBare(side))).join(" / ")} the PutItem loop's time (history / new): ` +
        "DynamoDB Local charges a transaction far more than a single write whatever it holds, so no commit that " +
        "is one transaction can come within 1.5x of one PutItem here; the finalizer is " +
        `${sides.map((side) => ratio(floorRatio(side))).join(" / ")} that transactional floor. ` +
        "Per patient the finalizer makes the same Query as the bare loop and, instead of one PutItem, one " +
        "TransactWriteItems (state, decision record, outbox entry, the marker clears of the new facts), and " +
        "decides in between; per chunk of 10 it adds an SQS SendMessageBatch and a BatchWriteItem of the sent " +
        "outbox entries, and per run a Query of each of the 16 due-index shards and of the quarantine list. " +
        `ms per call (history / new): ${profileOps.map((operation) => `${operation} ${both(perCall(operation))}`).join("; ")}; ` +
        `the bare loop's Query ${sides.map((side) => fixed(median(repetitions.map((r) => r[side].bare.queryMs)))).join(" / ")}, ` +
        `PutItem ${sides.map((side) => fixed(median(repetitions.map((r) => r[side].bare.putMs)))).join(" / ")}.` +
        (hasEngineCpu
          ? ` DynamoDB Local's CPU per patient (history / new): finalizer ${sides
              .map((side) => fixed(engineCpuPerPatient(side).finalizer))
              .join(
                " / ",
              )} ms, bare ${sides.map((side) => fixed(engineCpuPerPatient(side).bare)).join(" / ")} ms: ` +
            `on ${availableParallelism()} cores that CPU is time, and the transaction's writes (each item and ` +
            "its index entries) are work the bare loop does not do."
          : ""),
    );
  }

  return {
    title: "5. Finalizer with history, cost per patient",
    findings: [
      {
        measure: `Finalize time, ${label.history} / ${label.new}`,
        value: `${ratio(timeRatio)} (${fixed(med("history", time), 0)} vs ${fixed(med("new", time), 0)} ms)`,
        target: `<= ${TARGET_HISTORY_RATIO}x`,
        met: timeMet,
      },
      {
        measure: "Finalize read capacity, history / new",
        value:
          `${ratio(unitsRatio)} (${fixed(med("history", units), 1)} vs ${fixed(med("new", units), 1)} units; ` +
          `${both(perPatient(units))} per patient, ${both(
            perPatient((run) => reachReads(run).items),
            1,
          )} items)`,
        target: `<= ${TARGET_HISTORY_RATIO}x`,
        met: unitsMet,
      },
      {
        measure: "Largest item of a patient with 5 years of history",
        value: `${fixed(seeding.largestItem.bytes / 1024, 1)} KB (${seeding.largestItem.kind})`,
        target: "< 16 KB",
        met: seeding.largestItem.bytes < LARGEST_ITEM_BYTES,
      },
      ...sides.map((side) => ({
        measure: `Finalize time per decided patient / bare Query + a ${FLOOR_ACTIONS}-action TransactWriteItems (the floor of a transactional commit), ${side === "new" ? "new patients" : "history patients"}`,
        value:
          `${ratio(floorRatio(side))} (${fixed(med(side, msPerPatient))} vs ` +
          `${fixed(median(repetitions.map((r) => r[side].transactional.ms / PATIENTS)))} ms)`,
        target: "none: what DynamoDB Local charges for any transaction",
      })),
      ...sides.map((side) => ({
        measure: `Finalize time per decided patient / bare Query + conditional PutItem, ${side === "new" ? "new patients" : "history patients"}`,
        value:
          `${ratio(bareRatio(side))} (${fixed(med(side, msPerPatient))} vs ` +
          `${fixed(median(repetitions.map(bareMsPerPatient(side))))} ms)`,
        target: `<= ${TARGET_BARE_RATIO}x`,
        met: bareRatio(side) <= TARGET_BARE_RATIO,
      })),
      {
        measure: "Finalize DynamoDB requests per decided patient, history / new",
        value: both(requestsPerPatient),
        target: `<= ${TARGET_REQUESTS_PER_PATIENT}`,
        met: requestsMet,
      },
    ],
    details,
    limits: limits.length === 0 ? undefined : limits.join("\n\n"),
  };
}
