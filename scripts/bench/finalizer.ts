import { availableParallelism } from "node:os";
import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { DateTime } from "luxon";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { type LocalResources, localDynamodbClient, localSqsClient } from "../../bin/local/resources.js";
import { parseTenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import { finalizeDueEpisodes } from "../../functions/finalize/finalize-due-episodes.js";
import { SqsClaimSink } from "../../functions/queue/claims-sender.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import { DynamoEpisodeStore, type EpisodeStore } from "../../functions/store/episode-store.js";
import { DynamoFactStore } from "../../functions/store/fact-store.js";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import { factSortKey, patientKey } from "../../functions/store/table-design.js";
import { type BenchContext, markdownTable, type SectionResult } from "./context.js";
import { cpuMeter } from "./cpu.js";
import { seedFacts } from "./fact-seeding.js";
import { scaled } from "./scale.js";
import { fixed, inPool, median, ratio } from "./stats.js";
import { countingClinicians, factsOf, syntheticEpisode } from "./synthetic.js";

const DUE = scaled(1_000, 20);
const NOT_DUE_PER_DUE = 20;
const REPETITIONS = 3;
const WARM_UP_DUE = scaled(100, 10);
const PROBES = scaled(100, 20);
const SEED_CONCURRENCY = 32;
const TARGET_RATIO = 1.2;
const TARGET_REQUESTS_PER_PATIENT = 3;
const RETENTION_DAYS = 2190;
/** The finalizer's as-of instant: due episodes closed on 2026-03-10 and settled 48 h later. */
const AS_OF = DateTime.fromISO("2026-03-12T12:00:00Z");
/** The demo practice without consent tracking: a due episode is an inquiry and a reply. */
const tenant = parseTenantConfig({ ...demoPractice, consent: "not-tracked" });

const sides = ["alone", "crowded"] as const;
type Side = (typeof sides)[number];
const inOrder = (first: boolean): readonly Side[] => (first ? sides : [sides[1], sides[0]]);

/** Time and calls per store operation during one finalizer run. */
export type StoreProfile = Record<string, { calls: number; ms: number }>;

interface Run {
  ms: number;
  /** CPU milliseconds during the run: the bench process (finalizer, SDK, SQS server) and DynamoDB Local. */
  benchCpuMs: number;
  dynamodbCpuMs?: number;
  dynamodbRequests: number;
  patientsDecided: number;
  sendBatches: number;
  lines: number;
  expectedLines: number;
  profile: StoreProfile;
}

type Repetition = Record<Side, Run> & { probe: Probe };

/** Median time of the same point requests on each table, interleaved, with no finalizer running. */
interface Probe {
  getMs: Record<Side, number>;
  queryMs: Record<Side, number>;
}

/** `count` billable, due episodes (an inquiry and a reply) for new patients. */
const dueFacts = (label: string, count = DUE): Fact[] =>
  Array.from({ length: count }, (_, i) =>
    factsOf(
      syntheticEpisode({
        patientId: `${label}-${i}`,
        activityAt: AS_OF.minus({ days: 9 }).plus({ minutes: i }),
        practitionerId: countingClinicians[i % countingClinicians.length] as string,
        minutes: 5 + (i % 30),
        diagnosisCode: "E11.9",
        consent: false,
        nurseReply: false,
        split: false,
      }),
    ),
  ).flat();

/** Episodes still open at the as-of instant: one clinician reply each, its marker due two days later. */
const notDueFacts = (count: number): Fact[] =>
  Array.from({ length: count }, (_, i) =>
    factsOf(
      syntheticEpisode({
        patientId: `open-${i}`,
        activityAt: AS_OF.minus({ hours: 20 }).plus({ seconds: i }),
        practitionerId: countingClinicians[i % countingClinicians.length] as string,
        minutes: 5 + (i % 30),
        diagnosisCode: "E11.9",
        consent: false,
        nurseReply: false,
        split: false,
      }),
    ).filter((fact) => fact.kind === "clinician-activity"),
  ).flat();

/**
 * Section 4: the finalizer core (functions/finalize/finalize-due-episodes.ts) on N due episodes alone and on
 * N due episodes among 20N that are not due, each side in its own table on the same DynamoDB Local. Each
 * repetition seeds N new due episodes into both tables through the real fact store, then runs the finalizer
 * on both, one after the other in alternating order, so each ratio compares runs minutes apart.
 */
export async function measureFinalizer(context: BenchContext): Promise<SectionResult> {
  const dynamodb = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const sqs = localSqsClient(context.endpoints.sqsEndpoint);
  const seeder = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const counter = new RequestCounter().attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const seedDocuments = DynamoDBDocumentClient.from(seeder, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const cpu = cpuMeter();
  try {
    const tables: Record<Side, LocalResources> = {
      alone: await context.freshResources("finalize-alone"),
      crowded: await context.freshResources("finalize-crowded"),
    };
    const factOptions = (side: Side) => ({
      tableName: tables[side].tableName,
      retentionDays: RETENTION_DAYS,
      settleHours: tenant.settleHours,
    });
    const seed = async (side: Side, facts: readonly Fact[]) => {
      const store = new DynamoFactStore(seedDocuments, factOptions(side));
      await inPool(facts, SEED_CONCURRENCY, async (fact) => void (await store.put(fact)));
    };
    const finalize = async (side: Side, due: readonly Fact[]): Promise<Run> => {
      const profile: StoreProfile = {};
      const store = profiled(new DynamoEpisodeStore(documents, tables[side].tableName), profile);
      counter.reset();
      const cpuBefore = cpu.read();
      const started = performance.now();
      const report = await finalizeDueEpisodes({
        store,
        quarantine: new DynamoQuarantine(documents, tables[side].tableName),
        claims: new SqsClaimSink(sqs, tables[side].claimsUrl),
        tenant: fixedTenantConfig(tenant),
        retentionDays: RETENTION_DAYS,
        adjustmentHorizonDays: 365,
        clock: () => AS_OF.toMillis() + (performance.now() - started),
        budgetMs: 600_000,
      });
      const ms = performance.now() - started;
      const cpuAfter = cpu.read();
      if (report.stoppedEarly || report.conflicts > 0) throw new Error(`finalizer run on ${side} incomplete`);
      await sqs.send(new PurgeQueueCommand({ QueueUrl: tables[side].claimsUrl }));
      return {
        ms,
        benchCpuMs: cpuAfter.bench - cpuBefore.bench,
        dynamodbCpuMs:
          cpuAfter.dynamodb === undefined || cpuBefore.dynamodb === undefined
            ? undefined
            : cpuAfter.dynamodb - cpuBefore.dynamodb,
        dynamodbRequests: counter.total("DynamoDB"),
        patientsDecided: report.patientsDecided,
        sendBatches: counter.snapshot()["SQS.SendMessageBatch"] ?? 0,
        lines: report.linesSent.original + report.linesSent.void + report.linesSent.replacement,
        expectedLines: decideEpisodes(due, tenant, AS_OF.toISO() as string).owed.length,
        profile,
      };
    };

    const notDue = notDueFacts(DUE * NOT_DUE_PER_DUE);
    context.progress(`finalizer scaling: seeding ${notDue.length} not-due episodes into the crowded table`);
    const seeding = performance.now();
    // The crowd only has to be there: the fact store's exact items, 25 to a BatchWriteItem.
    await seedFacts(seedDocuments, factOptions("crowded"), notDue);
    context.progress(`  seeded in ${fixed((performance.now() - seeding) / 1000, 1)} s`);
    // Warm-up: DynamoDB Local's JVM compiles the finalizer's request paths (queries, updates) on first use.
    for (const side of sides) {
      const due = dueFacts(`warm-${side}`, WARM_UP_DUE);
      await seed(side, due);
      await finalize(side, due);
    }
    const repetitions: Repetition[] = [];
    for (let r = 0; r < REPETITIONS; r++) {
      const due: Record<Side, Fact[]> = {
        alone: dueFacts(`due-alone-${r}`),
        crowded: dueFacts(`due-crowded-${r}`),
      };
      await Promise.all(sides.map((side) => seed(side, due[side])));
      const runs: Partial<Record<Side, Run>> = {};
      for (const side of inOrder(r % 2 === 0)) runs[side] = await finalize(side, due[side]);
      const { alone, crowded } = runs as Record<Side, Run>;
      repetitions.push({ alone, crowded, probe: await probe(documents, tables, due) });
      context.progress(
        `  repetition ${r + 1}/${REPETITIONS}: alone ${fixed(alone.ms, 0)} ms, crowded ${fixed(crowded.ms, 0)} ms`,
      );
    }
    return report(repetitions);
  } finally {
    for (const client of [dynamodb, sqs, seeder]) client.destroy();
  }
}

/** The store with each operation's calls and time recorded into `profile`. */
export function profiled(store: EpisodeStore, profile: StoreProfile): EpisodeStore {
  const timed =
    <A extends unknown[], R>(name: string, operation: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      const started = performance.now();
      try {
        return await operation(...args);
      } finally {
        const entry = profile[name] ?? { calls: 0, ms: 0 };
        entry.calls += 1;
        entry.ms += performance.now() - started;
        profile[name] = entry;
      }
    };
  return {
    dueMarkers: timed("dueMarkers (due-index Query per shard)", store.dueMarkers.bind(store)),
    readPatient: timed("readPatient (reach-index Query)", store.readPatient.bind(store)),
    readMessages: timed("readMessages (message-index Query)", store.readMessages.bind(store)),
    readLookback: timed("readLookback (lookback-index Query)", store.readLookback.bind(store)),
    commit: timed("commit (TransactWriteItems)", store.commit.bind(store)),
    confirmSent: timed("confirmSent (BatchWriteItem delete)", store.confirmSent.bind(store)),
    clinicianTime: timed("clinicianTime (clinician-index Query)", store.clinicianTime.bind(store)),
    recheck: timed("recheck (BatchWriteItem)", store.recheck.bind(store)),
    configProgress: timed("configProgress (GetItem)", store.configProgress.bind(store)),
    recordConfigProgress: timed("recordConfigProgress (PutItem)", store.recordConfigProgress.bind(store)),
  };
}

/**
 * The same consistent GetItem and one-patient Query on both tables, alternating: whether DynamoDB Local's cost
 * per request depends on how many items the table holds, apart from anything the finalizer does.
 */
async function probe(
  documents: DynamoDBDocumentClient,
  tables: Record<Side, LocalResources>,
  due: Record<Side, readonly Fact[]>,
): Promise<Probe> {
  const gets: Record<Side, number[]> = { alone: [], crowded: [] };
  const queries: Record<Side, number[]> = { alone: [], crowded: [] };
  for (let i = 0; i < PROBES; i++) {
    for (const side of inOrder(i % 2 === 0)) {
      const fact = due[side][(i * 7) % due[side].length] as Fact;
      let started = performance.now();
      await documents.send(
        new GetCommand({
          TableName: tables[side].tableName,
          Key: { pk: patientKey(fact.patientId), sk: factSortKey(fact.id) },
          ConsistentRead: true,
        }),
      );
      gets[side].push(performance.now() - started);
      started = performance.now();
      await documents.send(
        new QueryCommand({
          TableName: tables[side].tableName,
          KeyConditionExpression: "pk = :pk",
          ExpressionAttributeValues: { ":pk": patientKey(fact.patientId) },
          ConsistentRead: true,
        }),
      );
      queries[side].push(performance.now() - started);
    }
  }
  const medians = (by: Record<Side, number[]>) => ({ alone: median(by.alone), crowded: median(by.crowded) });
  return { getMs: medians(gets), queryMs: medians(queries) };
}

function report(repetitions: readonly Repetition[]): SectionResult {
  const runs = (side: Side) => repetitions.map((repetition) => repetition[side]);
  const med = (side: Side, pick: (run: Run) => number) => median(runs(side).map(pick));
  const whole = (side: Side, pick: (run: Run) => number) => fixed(med(side, pick), 0);
  /** Median over the repetitions of crowded / alone, each pair measured minutes apart. */
  const paired = (pick: (run: Run) => number) =>
    median(repetitions.map((repetition) => pick(repetition.crowded) / pick(repetition.alone)));
  const time = (run: Run) => run.ms;
  const requests = (run: Run) => run.dynamodbRequests;
  const requestsPerPatient = (run: Run) => run.dynamodbRequests / Math.max(run.patientsDecided, 1);
  const benchCpu = (run: Run) => run.benchCpuMs;
  const engineCpu = (run: Run) => run.dynamodbCpuMs ?? Number.NaN;
  const hasEngineCpu = repetitions.every((r) => r.alone.dynamodbCpuMs !== undefined);
  const timeRatio = paired(time);
  const requestRatio = paired(requests);
  const all = repetitions.flatMap((repetition) => [repetition.alone, repetition.crowded]);
  const linesExact = all.every((run) => run.lines === run.expectedLines);
  const batchesPerLine = Math.max(...all.map((run) => run.sendBatches / Math.max(run.lines, 1)));
  const batchedBy10 = all.every((run) => run.sendBatches === Math.ceil(run.lines / 10));
  const operations = [...new Set(all.flatMap((run) => Object.keys(run.profile)))];
  const perCall = (operation: string) => (run: Run) =>
    (run.profile[operation]?.ms ?? 0) / Math.max(run.profile[operation]?.calls ?? 0, 1);
  const callsOf = (operation: string) => (run: Run) => run.profile[operation]?.calls ?? 0;
  const probeRatio = (pick: (probe: Probe) => Record<Side, number>) =>
    median(repetitions.map(({ probe: p }) => pick(p).crowded / pick(p).alone));
  const timeMet = timeRatio <= TARGET_RATIO;
  const crowdedLabel = `${DUE} due among ${DUE * NOT_DUE_PER_DUE} not due`;
  const perRepetition = (label: string, pick: (run: Run) => number) => [
    label,
    ...repetitions.map((r) => ratio(pick(r.crowded) / pick(r.alone))),
  ];

  const details = [
    `N = ${DUE} new due, billable episodes (an inquiry and a reply each) per repetition and side; the crowded ` +
      `table also holds ${DUE * NOT_DUE_PER_DUE} episodes whose window is still open (a clinician reply each, its ` +
      "due marker in the same sparse index, two days after the as-of instant; written once, by BatchWriteItem of " +
      `the items the fact store writes). After an untimed warm-up run per side (${WARM_UP_DUE} episodes), ` +
      `${REPETITIONS} repetitions, each seeding both tables through the fact store's conditional PutItem and then ` +
      "running the finalizer core on each (real DynamoDB store and SQS claim sink) in alternating order. Ratios " +
      "are medians of the per-repetition ratios. Calls are counted by the SDK middleware; each store operation is " +
      "timed by a wrapper; CPU time is that of the bench process (finalizer, SDK, in-process SQS server) and of " +
      "DynamoDB Local's JVM (from /proc). After each repetition a probe times the same point reads on both tables.",
    "",
    markdownTable(
      [
        "side",
        "time (median)",
        "per repetition",
        `CPU: bench${hasEngineCpu ? " + DynamoDB Local" : ""}`,
        "DynamoDB requests (per decided patient)",
        "SendMessageBatch calls",
        "claim lines (expected)",
      ],
      sides.map((side) => [
        side === "alone" ? `${DUE} due alone` : crowdedLabel,
        `${whole(side, time)} ms`,
        runs(side)
          .map((run) => fixed(run.ms, 0))
          .join(", "),
        `${whole(side, benchCpu)}${hasEngineCpu ? ` + ${whole(side, engineCpu)}` : ""} ms`,
        `${whole(side, requests)} (${fixed(med(side, requestsPerPatient))})`,
        whole(side, (run) => run.sendBatches),
        `${whole(side, (run) => run.lines)} (${whole(side, (run) => run.expectedLines)})`,
      ]),
    ),
    "",
    markdownTable(
      ["crowded / alone", ...repetitions.map((_, index) => `repetition ${index + 1}`)],
      [
        perRepetition("time", time),
        perRepetition("bench CPU", benchCpu),
        ...(hasEngineCpu ? [perRepetition("DynamoDB Local CPU", engineCpu)] : []),
        ["probe GetItem", ...repetitions.map((r) => ratio(r.probe.getMs.crowded / r.probe.getMs.alone))],
        ["probe Query", ...repetitions.map((r) => ratio(r.probe.queryMs.crowded / r.probe.queryMs.alone))],
      ],
    ),
    "",
    markdownTable(
      ["store operation", "calls per run (alone / crowded)", "ms per call, median (alone / crowded)"],
      operations.map((operation) => [
        operation,
        `${whole("alone", callsOf(operation))} / ${whole("crowded", callsOf(operation))}`,
        `${fixed(med("alone", perCall(operation)))} / ${fixed(med("crowded", perCall(operation)))}`,
      ]),
    ),
  ].join("\n");

  /** What the measurements say about a missed time target: more work, or the same work taking longer. */
  const limits = (): string => {
    const benchCpuRatio = paired(benchCpu);
    const engineCpuRatio = hasEngineCpu ? paired(engineCpu) : undefined;
    const spread = Math.max(
      ...sides.map((side) => Math.max(...runs(side).map(time)) / Math.min(...runs(side).map(time))),
    );
    const measured =
      `Finalizer: crowded / alone (median of the per-repetition ratios): time ${ratio(timeRatio)}, DynamoDB ` +
      `requests ${ratio(requestRatio)}, bench CPU ${ratio(benchCpuRatio)}` +
      `${engineCpuRatio === undefined ? "" : `, DynamoDB Local CPU ${ratio(engineCpuRatio)}`}; the probe's point ` +
      `reads GetItem ${ratio(probeRatio((p) => p.getMs))}, Query ${ratio(probeRatio((p) => p.queryMs))}. One ` +
      `side's time alone varies by up to ${ratio(spread)} between repetitions.`;
    const sameWork = [benchCpuRatio, engineCpuRatio].every(
      (value) => value === undefined || Math.abs(value - 1) <= 0.1,
    );
    return sameWork
      ? `${measured} The same requests cost the same CPU on both sides: the crowded runs did no more work and ` +
          `waited longer, on a machine of ${availableParallelism()} cores shared by DynamoDB Local, the bench and ` +
          "anything else running; run-to-run variation of that size hides a 20% bound."
      : `${measured} The same requests cost more CPU on the crowded side, while the probe's point reads cost the ` +
          "same on both tables.";
  };
  return {
    title: "4. Finalizer scaling",
    findings: [
      {
        measure: `Finalize time, ${crowdedLabel} / ${DUE} due alone`,
        value: `${ratio(timeRatio)} (${whole("crowded", time)} vs ${whole("alone", time)} ms)`,
        target: `<= ${TARGET_RATIO}x`,
        met: timeMet,
      },
      {
        measure: "Finalize DynamoDB requests, crowded / alone",
        value: `${ratio(requestRatio)} (${whole("crowded", requests)} vs ${whole("alone", requests)})`,
        target: "1.00x (reads only due work)",
        met: requestRatio === 1,
      },
      {
        measure: `Finalize DynamoDB requests per decided patient, ${DUE} due alone / crowded`,
        value: `${fixed(med("alone", requestsPerPatient))} / ${fixed(med("crowded", requestsPerPatient))}`,
        target: `<= ${TARGET_REQUESTS_PER_PATIENT}`,
        met: all.every((run) => requestsPerPatient(run) <= TARGET_REQUESTS_PER_PATIENT),
      },
      {
        measure: "Finalize SQS SendMessageBatch calls per claim line",
        value: `${fixed(batchesPerLine, 3)} (${linesExact ? "every expected line sent once" : "lines differ from the expected"})`,
        target: "0.100 (batches of 10)",
        met: batchedBy10 && linesExact,
      },
    ],
    details,
    limits: timeMet ? undefined : limits(),
  };
}
