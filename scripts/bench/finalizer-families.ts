import { PurgeQueueCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { DateTime } from "luxon";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { type LocalResources, localDynamodbClient, localSqsClient } from "../../bin/local/resources.js";
import { parseTenantConfig, type TenantConfig } from "../../functions/domain/config.js";
import { decisionStart, scopeReach } from "../../functions/domain/decision-scope.js";
import type { Fact } from "../../functions/domain/facts.js";
import { localMonthStart } from "../../functions/domain/time.js";
import { finalizeDueEpisodes } from "../../functions/finalize/finalize-due-episodes.js";
import { type ClaimSink, SqsClaimSink } from "../../functions/queue/claims-sender.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import { DynamoEpisodeStore } from "../../functions/store/episode-store.js";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import { patientKey, tableDesign } from "../../functions/store/table-design.js";
import { weeklyHistory } from "../scenarios/weekly-history.js";
import { type BenchContext, markdownTable, type SectionResult } from "./context.js";
import { seedFacts } from "./fact-seeding.js";
import { itemBytes, kindOf } from "./finalizer-history.js";
import { ReadCapacityMeter, type ReadTally } from "./read-capacity.js";
import { scaled } from "./scale.js";
import { fixed, median, ratio } from "./stats.js";
import { familyFacts, weeklyFacts } from "./synthetic.js";

/** Due patients per group and run: every patient of a group has the same history, so a dozen say it. */
const PATIENTS = scaled(12, 4);
const HISTORY_WEEKS = 2 * 52;
const REPETITIONS = 3;
const RETENTION_DAYS = 2190;
const ADJUSTMENT_HORIZON_DAYS = 365;
const TARGET_REQUESTS_PER_PATIENT = 3;
/**
 * The first Monday of the history (the enrollment's start). The weeks decided are those of June 2026: the warm-up
 * round decides the month's first week, the timed ones its second to fourth, which read back to the month's start.
 */
const FIRST_MONDAY = "2024-06-03";
/**
 * Consults stop 8 weeks before the decided weeks: a consult decided again reads back to 15 days before its request
 * (R25's 14 days of the consultant's visits), a bound of its own that this section does not measure.
 */
const CONSULTS_BEFORE = HISTORY_WEEKS - 8;

/** The weekly scenario's practice (America/New_York, consent required), as section 5 runs it. */
const practice = { ...demoPractice, ...weeklyHistory({ weeks: 1 }).scenario.config };
/** Image review is the one family a policy turns on (R21); months and consults follow from their facts. */
const everyFamily = parseTenantConfig({ ...practice, imageReview: "when-digital-em-does-not-bill" });
const eVisitsOnly = parseTenantConfig(practice);
const zone = everyFamily.timezone;

/**
 * (a) as section 5: weekly e-visits, image review off. (b) the same facts with every family on. (b') the other
 * families' facts as well (photos, staff time, consults), without an enrollment. (c) those with an open CCM
 * enrollment: a decision reads back to its month's start.
 */
const groups = ["eVisits", "notEnrolled", "familiesNotEnrolled", "enrolled"] as const;
type Group = (typeof groups)[number];
const label: Record<Group, string> = {
  eVisits: "(a) weekly e-visits, image review off",
  notEnrolled: "(b) the same e-visits, every family on, not enrolled",
  familiesNotEnrolled: "(b') with photos, staff time and consults, not enrolled",
  enrolled: "(c) with photos, staff time and consults, enrolled in CCM",
};
const groupTag = (group: Group): string => label[group].slice(0, label[group].indexOf(")") + 1);
const tenantOf: Record<Group, TenantConfig> = {
  eVisits: eVisitsOnly,
  notEnrolled: everyFamily,
  familiesNotEnrolled: everyFamily,
  enrolled: everyFamily,
};

const monday = (week: number): DateTime => DateTime.fromISO(FIRST_MONDAY, { zone }).plus({ weeks: week });
/** When a week is decided: the Thursday after it at noon, once its window (to the next Monday) has settled. */
const decidedAt = (week: number): number => monday(week).plus({ days: 10 }).set({ hour: 12 }).toMillis();
/** The lowest reach a decision of a week's change reads from: the week's scope and R1's look-back before it. */
const scopeOf = (week: number): number =>
  scopeReach(decisionStart(monday(week).toMillis(), [], everyFamily), everyFamily);
/** The lowest reach a month's decision needs (the engine's `readFrom`): its month's start and R1's look-back. */
const monthOf = (week: number): number =>
  scopeReach(localMonthStart(monday(week).toMillis(), zone), everyFamily);

/** The reads of one patient's items (reach, R1's parents, looked-back visits and consents); not the due index. */
const PATIENT_READS = ["Query reach", "Query message", "Query lookback"];

const discardingSink: ClaimSink = { send: async () => {} };

interface GroupRun {
  ms: number;
  patientsDecided: number;
  requests: number;
  operations: Record<string, number>;
  reads: Record<string, ReadTally>;
  units: number;
  lines: { original: number; void: number; replacement: number };
  /** The decided patients' items with reach from the week's scope on, and from the month's start on. */
  neededScope: number;
  neededMonth: number;
}

interface Seeding {
  facts: number;
  seedMs: number;
  decideMs: number;
  linesDiscarded: number;
}

/** What the first patient's items from a reach on are, by kind. */
interface Composition {
  items: Record<string, number>;
  bytes: number;
}

/**
 * Section 6: the finalizer with history and every family on. The same decision of one new week, for patients with
 * two years of weekly history each, in four groups side by side: (a) e-visits only, (b) the same facts with every
 * family on, (b') and (c) with the other families' facts too, without and with a CCM enrollment. Counted per
 * decision: requests, read capacity and items read, against the items the decision's look-back needs.
 */
export async function measureFinalizerFamilies(context: BenchContext): Promise<SectionResult> {
  const dynamodb = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const sqs = localSqsClient(context.endpoints.sqsEndpoint);
  const seeder = localDynamodbClient(context.endpoints.dynamodbEndpoint);
  const counter = new RequestCounter().attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  const meter = new ReadCapacityMeter().attach(dynamodb);
  const translation = { marshallOptions: { removeUndefinedValues: true } };
  const documents = DynamoDBDocumentClient.from(dynamodb, translation);
  const seedDocuments = DynamoDBDocumentClient.from(seeder, translation);
  try {
    const tables = {} as Record<Group, LocalResources>;
    for (const group of groups) tables[group] = await context.freshResources(`families-${group}`);
    const factOptions = (group: Group) => ({
      tableName: tables[group].tableName,
      retentionDays: RETENTION_DAYS,
      settleHours: tenantOf[group].settleHours,
    });
    const patientIds = Array.from({ length: PATIENTS }, (_, i) => `family-${i}`);
    const weeks = HISTORY_WEEKS + 1 + REPETITIONS;
    const families = (enrolled: boolean) =>
      Promise.all(
        patientIds.map((patientId) =>
          familyFacts({ patientId, from: FIRST_MONDAY, weeks, consultsBefore: CONSULTS_BEFORE, enrolled }),
        ),
      );
    const eVisits = await Promise.all(
      patientIds.map((patientId) => weeklyFacts({ patientId, from: FIRST_MONDAY, weeks })),
    );
    const factsOf: Record<Group, Fact[][][]> = {
      eVisits,
      notEnrolled: eVisits,
      familiesNotEnrolled: await families(false),
      enrolled: await families(true),
    };
    const weekOf = (group: Group, week: number): Fact[] =>
      factsOf[group].flatMap((patient) => patient[week] ?? []);

    const seeding = {} as Record<Group, Seeding>;
    for (const group of groups) {
      const history = factsOf[group].flatMap((patient) => patient.slice(0, HISTORY_WEEKS).flat());
      context.progress(
        `finalizer with every family on, ${label[group]}: ${PATIENTS} patients, ${history.length} facts of ` +
          `${HISTORY_WEEKS} weeks; seeding and deciding them once`,
      );
      let started = performance.now();
      await seedFacts(seedDocuments, factOptions(group), history);
      const seedMs = performance.now() - started;
      started = performance.now();
      const once = await finalizeDueEpisodes({
        store: new DynamoEpisodeStore(seedDocuments, tables[group].tableName),
        quarantine: new DynamoQuarantine(seedDocuments, tables[group].tableName),
        claims: discardingSink,
        tenant: fixedTenantConfig(tenantOf[group]),
        retentionDays: RETENTION_DAYS,
        adjustmentHorizonDays: ADJUSTMENT_HORIZON_DAYS,
        clock: () => decidedAt(HISTORY_WEEKS - 1) + (performance.now() - started),
        budgetMs: 3_600_000,
      });
      const decideMs = performance.now() - started;
      if (once.patientsDecided !== PATIENTS || once.conflicts > 0 || once.patientsQuarantined > 0)
        throw new Error(
          `finalizer with every family on: the ${group} history was not decided for every patient`,
        );
      seeding[group] = {
        facts: history.length,
        seedMs,
        decideMs,
        linesDiscarded: once.linesSent.original + once.linesSent.void + once.linesSent.replacement,
      };
      context.progress(`  seeded in ${fixed(seedMs / 1000, 1)} s, decided in ${fixed(decideMs / 1000, 1)} s`);
    }

    const finalize = async (group: Group, week: number): Promise<GroupRun> => {
      const needed = async (from: number) =>
        (
          await Promise.all(
            patientIds.map((patientId) => countFrom(seedDocuments, tables[group].tableName, patientId, from)),
          )
        ).reduce((sum, count) => sum + count, 0);
      const neededScope = await needed(scopeOf(week));
      const neededMonth = await needed(monthOf(week));
      counter.reset();
      meter.reset();
      const started = performance.now();
      const report = await finalizeDueEpisodes({
        store: new DynamoEpisodeStore(documents, tables[group].tableName),
        quarantine: new DynamoQuarantine(documents, tables[group].tableName),
        claims: new SqsClaimSink(sqs, tables[group].claimsUrl),
        tenant: fixedTenantConfig(tenantOf[group]),
        retentionDays: RETENTION_DAYS,
        adjustmentHorizonDays: ADJUSTMENT_HORIZON_DAYS,
        clock: () => decidedAt(week) + (performance.now() - started),
        budgetMs: 600_000,
      });
      const ms = performance.now() - started;
      const operations = counter.snapshot();
      if (
        report.stoppedEarly ||
        report.conflicts > 0 ||
        report.patientsQuarantined > 0 ||
        report.patientsDecided !== PATIENTS
      )
        throw new Error(`finalizer with every family on: the ${group} run did not decide every patient`);
      await sqs.send(new PurgeQueueCommand({ QueueUrl: tables[group].claimsUrl }));
      return {
        ms,
        patientsDecided: report.patientsDecided,
        requests: counter.total("DynamoDB"),
        operations,
        reads: meter.snapshot(),
        units: meter.units(),
        lines: report.linesSent,
        neededScope,
        neededMonth,
      };
    };

    // The first week after the history (the month's first) is a warm-up round; each repetition decides one more.
    const repetitions: Array<Record<Group, GroupRun>> = [];
    let composition: Record<"scope" | "month", Composition> | undefined;
    for (let round = 0; round <= REPETITIONS; round++) {
      const week = HISTORY_WEEKS + round;
      for (const group of groups) await seedFacts(seedDocuments, factOptions(group), weekOf(group, week));
      if (round === REPETITIONS) {
        const [first] = patientIds;
        const probe = (from: number) =>
          compositionFrom(seedDocuments, tables.enrolled.tableName, first as string, from);
        composition = { scope: await probe(scopeOf(week)), month: await probe(monthOf(week)) };
      }
      const measured = {} as Record<Group, GroupRun>;
      for (const group of round % 2 === 0 ? groups : [...groups].reverse()) {
        measured[group] = await finalize(group, week);
        const { lines } = measured[group];
        const eVisitsOnlyFacts = group === "eVisits" || group === "notEnrolled";
        if (eVisitsOnlyFacts && (lines.original !== PATIENTS || lines.void + lines.replacement > 0))
          throw new Error(
            `finalizer with every family on: the ${group} run did not give one line per patient`,
          );
      }
      context.progress(
        `  ${round === 0 ? "warm-up" : `repetition ${round}/${REPETITIONS}`}: items read per decision ` +
          groups.map((group) => `${group} ${fixed(perDecision(itemsRead)(measured[group]), 1)}`).join(", "),
      );
      if (round > 0) repetitions.push(measured);
    }
    return report(repetitions, seeding, composition as Record<"scope" | "month", Composition>);
  } finally {
    for (const client of [dynamodb, sqs, seeder]) client.destroy();
  }
}

const itemsRead = (run: GroupRun): number =>
  PATIENT_READS.reduce((sum, kind) => sum + (run.reads[kind]?.items ?? 0), 0);
const perDecision = (pick: (run: GroupRun) => number) => (run: GroupRun) =>
  pick(run) / Math.max(run.patientsDecided, 1);

/** How many of a patient's items have a reach from `from` on: what a read from there returns. */
async function countFrom(
  documents: DynamoDBDocumentClient,
  tableName: string,
  patientId: string,
  from: number,
): Promise<number> {
  let count = 0;
  let cursor: Record<string, unknown> | undefined;
  do {
    const page = await documents.send(
      new QueryCommand({
        TableName: tableName,
        IndexName: tableDesign.reachIndex.name,
        KeyConditionExpression: "#pk = :pk AND #reach >= :from",
        ExpressionAttributeNames: {
          "#pk": tableDesign.partitionKey,
          "#reach": tableDesign.reachIndex.sortKey,
        },
        ExpressionAttributeValues: { ":pk": patientKey(patientId), ":from": from },
        Select: "COUNT",
        ConsistentRead: true,
        ExclusiveStartKey: cursor,
      }),
    );
    count += page.Count ?? 0;
    cursor = page.LastEvaluatedKey;
  } while (cursor !== undefined);
  return count;
}

/** A patient's items with a reach from `from` on, by kind. */
async function compositionFrom(
  documents: DynamoDBDocumentClient,
  tableName: string,
  patientId: string,
  from: number,
): Promise<Composition> {
  const page = await documents.send(
    new QueryCommand({
      TableName: tableName,
      IndexName: tableDesign.reachIndex.name,
      KeyConditionExpression: "#pk = :pk AND #reach >= :from",
      ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#reach": tableDesign.reachIndex.sortKey },
      ExpressionAttributeValues: { ":pk": patientKey(patientId), ":from": from },
      Select: "ALL_PROJECTED_ATTRIBUTES",
      ConsistentRead: true,
    }),
  );
  const items: Record<string, number> = {};
  let bytes = 0;
  for (const item of page.Items ?? []) {
    items[kindOf(item)] = (items[kindOf(item)] ?? 0) + 1;
    bytes += itemBytes(item);
  }
  return { items, bytes };
}

function report(
  repetitions: ReadonlyArray<Record<Group, GroupRun>>,
  seeding: Record<Group, Seeding>,
  composition: Record<"scope" | "month", Composition>,
): SectionResult {
  const med = (group: Group, pick: (run: GroupRun) => number) =>
    median(repetitions.map((r) => pick(r[group])));
  /** Median over the repetitions of one group's figure over another's, each pair from the same week. */
  const paired = (group: Group, base: Group, pick: (run: GroupRun) => number) =>
    median(repetitions.map((r) => pick(r[group]) / pick(r[base])));
  const items = perDecision(itemsRead);
  const units = perDecision((run) => run.units);
  const requests = perDecision((run) => run.requests);
  const patientQueries = perDecision((run) =>
    PATIENT_READS.reduce((sum, kind) => sum + (run.reads[kind]?.requests ?? 0), 0),
  );
  /** A decision's own requests: its patient reads, its commit and its share of the outbox deletes. */
  const ownRequests = perDecision(
    (run) =>
      PATIENT_READS.reduce((sum, kind) => sum + (run.reads[kind]?.requests ?? 0), 0) +
      (run.operations["DynamoDB.TransactWriteItems"] ?? 0) +
      (run.operations["DynamoDB.BatchWriteItem"] ?? 0),
  );
  const neededScope = perDecision((run) => run.neededScope);
  const neededMonth = perDecision((run) => run.neededMonth);
  /** Items read over the items the group's bound says a decision needs: the week's scope, or the month's. */
  const bound: Record<Group, (run: GroupRun) => number> = {
    eVisits: neededScope,
    notEnrolled: neededScope,
    familiesNotEnrolled: neededScope,
    enrolled: neededMonth,
  };
  const overNeeded = (group: Group) =>
    median(repetitions.map((r) => items(r[group]) / bound[group](r[group])));
  const sameAsEVisits = repetitions.every(
    (r) =>
      itemsRead(r.notEnrolled) === itemsRead(r.eVisits) &&
      r.notEnrolled.units === r.eVisits.units &&
      r.notEnrolled.requests === r.eVisits.requests,
  );
  const exact = (group: Group) =>
    repetitions.every(
      (r) => itemsRead(r[group]) === r[group][group === "enrolled" ? "neededMonth" : "neededScope"],
    );
  /** Against the target, a decision's own requests: the run's shared Queries depend on how many are due. */
  const requestsMet = (group: Group) =>
    repetitions.every((r) => ownRequests(r[group]) <= TARGET_REQUESTS_PER_PATIENT);
  const operations = [
    ...new Set(repetitions.flatMap((r) => groups.flatMap((g) => Object.keys(r[g].operations)))),
  ];
  const readKinds = [...new Set(repetitions.flatMap((r) => groups.flatMap((g) => Object.keys(r[g].reads))))];
  const all = (pick: (run: GroupRun) => number, digits = 2) =>
    groups.map((group) => fixed(med(group, pick), digits)).join(" / ");
  const compositionCell = (which: "scope" | "month") =>
    Object.entries(composition[which].items)
      .map(([kind, count]) => `${kind} x${count}`)
      .join(", ");
  const sharedQueries = fixed(
    med(
      "eVisits",
      (run) => (run.reads["Query due"]?.requests ?? 0) + (run.reads["Query table"]?.requests ?? 0),
    ),
    0,
  );
  const extraQueries = med("enrolled", patientQueries) - med("eVisits", patientQueries);

  const details = [
    `N = ${PATIENTS} due patients per group and run, in the weekly scenario's practice (America/New_York, consent ` +
      `required), each group in its own table. Every patient has ${HISTORY_WEEKS} weeks (two years from ` +
      `${FIRST_MONDAY}) of the weekly e-visits of section 5 (an inquiry every Monday at 09:00, Dr. Adams's ` +
      "6-minute reply at 14:00, the year's consent). (a) has image review off (section 5's practice); (b), (b') " +
      'and (c) have every family on (`imageReview: "when-digital-em-does-not-bill"`; care-management months and ' +
      "consults follow from their facts). (a) and (b) hold the same facts. (b') and (c) add, every week, 5-10 " +
      "minutes of a medical assistant's time on Tuesday and Thursday (about 65 minutes a month: 99490 " +
      "and two units of 99439 when enrolled), every fourth week a photo with the inquiry (`attachments: [{kind: " +
      '"image", contentType: "image/jpeg"}]`) answered in 3 minutes (G2010, no e-visit), and every eighth week a ' +
      "consult request from Dr. Adams to Dr. Evans on Tuesday and his report on Thursday (99446, 99452), the last " +
      `in week ${CONSULTS_BEFORE - 1} (a consult decided again reads back 15 days before its request, R25, a bound ` +
      "not measured here); (c) also has an open-ended CCM enrollment of Dr. Adams from the first Monday. The " +
      "history was seeded with BatchWriteItem of the items the fact store writes and decided once by the real " +
      "finalizer core as of the Thursday after its last week (lines to a sink that discards them). Each round " +
      "then adds one more week of the same facts for every patient and runs the finalizer core (real DynamoDB " +
      "store and SQS claim sink) on each group as of the Thursday after. The first round decides June's first " +
      `week and is a warm-up; the ${REPETITIONS} repetitions decide its second to fourth weeks, where an ` +
      "enrolled patient's decision reads back to the month's start (the engine's `readFrom`, docs/STORE.md " +
      '"Where a decision starts"). Figures are medians over the repetitions, per decided patient. Items read are ' +
      "those the patient's reads return (reach index, and the message and look-back indexes when used; not the " +
      "due index); items needed are the patient's items whose reach is at or after the decision's bound, counted " +
      "just before the run: R1's 7-day look-back before the week's Monday for (a), (b), (b'), before the month's " +
      "start for (c). Read capacity as in section 5 (every read of the run, due index included).",
    "",
    markdownTable(
      ["history seeding", "facts", "seeded", "decided once", "lines discarded"],
      groups.map((group) => [
        label[group],
        String(seeding[group].facts),
        `${fixed(seeding[group].seedMs / 1000, 1)} s`,
        `${fixed(seeding[group].decideMs / 1000, 1)} s`,
        String(seeding[group].linesDiscarded),
      ]),
    ),
    "",
    markdownTable(
      [
        "per decided patient (median)",
        "items read",
        "items needed: reach >= week's Monday - 7 d",
        "items needed: reach >= month's start - 7 d",
        "items read / needed",
        "read units",
        "patient reads (Query)",
        "DynamoDB requests (its own: reads, commit, outbox share)",
        "run time",
        "lines (original / void / replacement)",
      ],
      groups.map((group) => [
        label[group],
        fixed(med(group, items), 1),
        fixed(med(group, neededScope), 1),
        fixed(med(group, neededMonth), 1),
        ratio(overNeeded(group)),
        fixed(med(group, units)),
        fixed(med(group, patientQueries)),
        `${fixed(med(group, requests))} (${fixed(med(group, ownRequests))})`,
        `${fixed(
          med(group, (run) => run.ms),
          0,
        )} ms`,
        `${fixed(
          med(group, (run) => run.lines.original),
          0,
        )} / ${fixed(
          med(group, (run) => run.lines.void),
          0,
        )} / ${fixed(
          med(group, (run) => run.lines.replacement),
          0,
        )}`,
      ]),
    ),
    "",
    markdownTable(
      ["what (c)'s first patient holds, last round (probed)", "items", "size"],
      (["scope", "month"] as const).map((which) => [
        which === "scope" ? "reach >= the week's Monday - 7 d" : "reach >= the month's start - 7 d",
        compositionCell(which),
        `${fixed(composition[which].bytes / 1024, 1)} KB`,
      ]),
    ),
    "",
    markdownTable(
      [`reads of a run (${groups.map(groupTag).join(" / ")})`, "requests", "read units", "items"],
      readKinds.map((kind) => [
        kind,
        all((run) => run.reads[kind]?.requests ?? 0, 0),
        all((run) => run.reads[kind]?.units ?? 0, 1),
        all((run) => run.reads[kind]?.items ?? 0, 0),
      ]),
    ),
    "",
    markdownTable(
      [`requests of a run (${groups.map(groupTag).join(" / ")})`, "calls"],
      operations.map((operation) => [operation, all((run) => run.operations[operation] ?? 0, 0)]),
    ),
  ].join("\n");

  const limits: string[] = [];
  if (!groups.every(requestsMet))
    limits.push(
      `Finalize with every family on, DynamoDB requests of a decision's own (its reads, one TransactWriteItems, ` +
        `its share of the outbox deletes) ${groups
          .map((group) => `${groupTag(group)} ${fixed(med(group, ownRequests))}`)
          .join(", ")}: an enrolled patient's decision of a week after the month's first reads the patient ` +
        `${fixed(med("enrolled", patientQueries))} times instead of ${fixed(med("eVisits", patientQueries))} ` +
        `(${fixed(extraQueries)} more Query per decision). The finalizer (finalize-due-episodes.ts \`decideBounded\`) ` +
        "first reads from the week's scope (R1's look-back before the Monday); only the engine, once it holds the " +
        "enrollment, says to read back to the month's start (`readFrom`), and the second Query reads just the " +
        `missing range (the items read are exactly the items needed, no item twice). The run's ${sharedQueries} ` +
        `Queries of the due index and the quarantine list come on top, shared by the run's patients (${PATIENTS} ` +
        `here: ${all(requests)} requests per decided patient in all; section 5 spreads them over its 200). ` +
        "Reading from the month's start at once needs the finalizer to know before its first read that the patient is enrolled (in functions/, not changed here).",
    );

  return {
    title: "6. Finalizer with history, every family on",
    findings: [
      {
        measure:
          "Finalize with every family on, not enrolled (b) / the same histories with e-visits only (a): items, " +
          "read units, requests per decision",
        value:
          `${ratio(paired("notEnrolled", "eVisits", itemsRead))} items (${fixed(med("notEnrolled", items), 1)} vs ` +
          `${fixed(med("eVisits", items), 1)}), ${ratio(paired("notEnrolled", "eVisits", (run) => run.units))} ` +
          `units (${fixed(med("notEnrolled", units))} vs ${fixed(med("eVisits", units))}), ` +
          `${ratio(paired("notEnrolled", "eVisits", (run) => run.requests))} requests`,
        target: "1.00x (reads what it read before)",
        met: sameAsEVisits,
      },
      {
        measure:
          "Finalize with every family on, not enrolled, with photos, staff time and consults (b'): items read / " +
          "items with reach >= the week's Monday - 7 d",
        value: `${ratio(overNeeded("familiesNotEnrolled"))} (${fixed(med("familiesNotEnrolled", items), 1)} vs ${fixed(
          med("familiesNotEnrolled", neededScope),
          1,
        )} per decision)`,
        target: "1.00x (the week's scope and R1's look-back)",
        met: exact("familiesNotEnrolled"),
      },
      {
        measure:
          "Finalize with every family on, enrolled in CCM (c): items read / items with reach >= the month's start - 7 d",
        value:
          `${ratio(overNeeded("enrolled"))} (${fixed(med("enrolled", items), 1)} vs ` +
          `${fixed(med("enrolled", neededMonth), 1)} per decision)`,
        target: "1.00x (one month's items and R1's look-back)",
        met: exact("enrolled"),
      },
      {
        measure:
          "Finalize with every family on, enrolled (c) / e-visits only (a): read units, items, requests per decision",
        value:
          `${ratio(paired("enrolled", "eVisits", (run) => run.units))} units (${fixed(med("enrolled", units))} vs ` +
          `${fixed(med("eVisits", units))}), ${ratio(paired("enrolled", "eVisits", itemsRead))} items ` +
          `(${fixed(med("enrolled", items), 1)} vs ${fixed(med("eVisits", items), 1)}), ` +
          `${ratio(paired("enrolled", "eVisits", (run) => run.requests))} requests`,
        target: "none: bounded by one month plus R1's look-back (row above)",
      },
      {
        measure:
          "Finalize DynamoDB requests per decision with every family on, its own (patient reads, commit, outbox " +
          `share), ${groups.map(groupTag).join(" / ")}`,
        value: `${all(ownRequests)} (${all(requests)} with the run's ${sharedQueries} shared Queries over ${PATIENTS} patients)`,
        target: `<= ${TARGET_REQUESTS_PER_PATIENT}`,
        met: groups.every(requestsMet),
      },
    ],
    details,
    limits: limits.length === 0 ? undefined : limits.join("\n\n"),
  };
}
