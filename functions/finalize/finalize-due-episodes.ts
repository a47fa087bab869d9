import { createHash } from "node:crypto";
import type { ClaimLine } from "../domain/claim-line.js";
import { isAddOnCode } from "../domain/code-table.js";
import { rosterByPractitioner, rosterEntryOn, type TenantConfig } from "../domain/config.js";
import { type DateRange, redecisions } from "../domain/config-changes.js";
import {
  decidedAgain,
  decisionStart,
  factReach,
  lookbackSince,
  inScope as needed,
  scopeReach,
} from "../domain/decision-scope.js";
import { decideEpisodes, type EngineResult } from "../domain/engine.js";
import type { ThreadRoot } from "../domain/episodes.js";
import type { Outcome } from "../domain/outcome.js";
import { DAY, localDate } from "../domain/time.js";
import type { ClaimSink } from "../queue/claims-sender.js";
import type { TenantConfigSource, TenantConfigStore } from "../store/config-store.js";
import type {
  DueMarker,
  EpisodeStore,
  OutboxEntry,
  PatientView,
  StoredFact,
} from "../store/episode-store.js";
import { CorruptItemError } from "../store/errors.js";
import type { DynamoFiguresStore } from "../store/figures-store.js";
import type { Quarantine, QuarantinedPatient } from "../store/quarantine-store.js";
import { ALWAYS_READ, allDueShards } from "../store/table-design.js";
import {
  type CaptureDelta,
  type DecisionContext,
  decidedWindow,
  emptyCapture,
  planDecision,
  sentLines,
} from "./decision-records.js";

export interface FinalizeDependencies {
  store: EpisodeStore;
  quarantine: Quarantine;
  claims: ClaimSink;
  /** The tenant configuration in force: read once per run, its version named in every decision record. */
  tenant: TenantConfigSource;
  /** Earlier versions, to act on what a new one changes (R18); without it, no change is acted on. */
  configVersions?: Pick<TenantConfigStore, "version">;
  /** Audit records are kept this long after the episode's window end. */
  retentionDays: number;
  /** Lines older than this (by window end) are settled history: never voided or replaced again. */
  adjustmentHorizonDays: number;
  /** The current time in epoch ms; read again to keep within the time budget. */
  clock: () => number;
  /** Stop taking new patients once this much time has passed, leaving the rest for the next run. */
  budgetMs: number;
  /** Due markers read per shard and page. */
  pageSize?: number;
  /** The worklist's open items, counted after each run for the capture figures (issue 15); absent: not counted. */
  worklist?: Pick<DynamoFiguresStore, "openItems">;
  /** Told of each patient set aside (no PHI: a hash of the patient id and the reason). */
  onQuarantine?: (event: { patient: string; reason: string; error: string; automaticRetry: boolean }) => void;
}

export interface FinalizeReport {
  patientsDecided: number;
  /** Due episodes whose decision was recorded for the first time or changed, by outcome. */
  episodesFinalized: Partial<Record<Outcome, number>>;
  linesSent: { original: number; void: number; replacement: number };
  /** Net minutes and charges of the lines sent: voids subtract what they cancel. */
  billableMinutes: number;
  chargeCents: number;
  /** Age of the oldest due work when the run started (finalizer lag), 0 when nothing was due. */
  lagMs: number;
  /** Patients left for the next run because the time budget ran out. */
  stoppedEarly: boolean;
  /** Patients another run (or a newer fact version) changed concurrently: left for the next run. */
  conflicts: number;
  /** Patients set aside in this run because deciding or saving them failed. */
  patientsQuarantined: number;
  /** Patients waiting in quarantine for an operator when the run started. */
  quarantinedPatients: number;
  /** Patients in quarantine that the finalizer retries by itself (a failure that may pass). */
  patientsRetrying: number;
  /** Minutes of clinicians the roster did not hold on their dates, first seen in this run (R4, R18). */
  unknownClinicianMinutes: number;
  /** Patients made due again because a new configuration version put a clinician in force on their dates (R18). */
  patientsRechecked: number;
  /**
   * What this run's decisions changed in the capture figures (issue 15), net: an episode decided again takes back
   * what its earlier decision counted, so summed over time each episode counts once, as last decided. Episodes by
   * outcome, those with clinician time, the reasons of those that do not bill, and minutes by practitioner id (no
   * PHI: logged, not a metric, one per clinician).
   */
  capture: CaptureDelta;
  /** Open worklist items after the run, by kind, with the oldest one's age in hours (when counted). */
  openReviewItems?: Array<{ kind: string; open: number; oldestAgeHours: number | null }>;
}

/** Patients decided together: their lines share SQS batches of 10, their DynamoDB calls run side by side. */
const PATIENTS_PER_CHUNK = 10;
/** Reads and engine passes one decision may take (restarts, chains leaving the scope) before it gives up. */
const MAX_DECISION_ROUNDS = 100;
/** First automatic retry of a patient whose failure may pass by itself; doubled per attempt, at most a day. */
const RETRY_AFTER_MS = 15 * 60_000;
const MAX_RETRY_AFTER_MS = 24 * 3_600_000;

/**
 * The scheduled finalizer: reads only due work from the sharded index, decides each patient from its earliest
 * change with only the items that can change the decision, commits the decision records and owed lines in one
 * transaction, then sends the lines and deletes their outbox entries. A crash at any point ends, on the next
 * run, with every line sent and none sent twice beyond the FIFO dedup id (ARCHITECTURE.md invariant 4). A patient
 * that cannot be decided or saved is quarantined and the run goes on (invariant 10).
 */
export async function finalizeDueEpisodes(deps: FinalizeDependencies): Promise<FinalizeReport> {
  const started = deps.clock();
  const report: FinalizeReport = {
    patientsDecided: 0,
    episodesFinalized: {},
    linesSent: { original: 0, void: 0, replacement: 0 },
    billableMinutes: 0,
    chargeCents: 0,
    lagMs: 0,
    stoppedEarly: false,
    conflicts: 0,
    patientsQuarantined: 0,
    quarantinedPatients: 0,
    patientsRetrying: 0,
    unknownClinicianMinutes: 0,
    patientsRechecked: 0,
    capture: emptyCapture(),
  };
  const tenant = await deps.tenant.get();
  const context: DecisionContext = {
    tenant: tenant.config,
    configVersion: tenant.version,
    now: started,
    adjustmentHorizonDays: deps.adjustmentHorizonDays,
    retentionDays: deps.retentionDays,
  };
  report.patientsRechecked = await actOnConfigChanges(tenant, context, deps);
  const quarantined = new Map<string, QuarantinedPatient>();
  for (const patient of await deps.quarantine.list()) quarantined.set(patient.patientId, patient);
  report.quarantinedPatients = [...quarantined.values()].filter((p) => p.retryAt === undefined).length;
  report.patientsRetrying = quarantined.size - report.quarantinedPatients;
  const skipped = (patientId: string) => {
    const entry = quarantined.get(patientId);
    return entry !== undefined && (entry.retryAt === undefined || entry.retryAt > started);
  };

  const seen = new Set<string>();
  let shards = allDueShards().map((shard) => ({
    shard,
    cursor: undefined as Record<string, unknown> | undefined,
  }));
  let first = true;
  /** Patients read and not yet decided: a short chunk waits for the next page, so SQS batches stay full. */
  let waiting: DueWork[] = [];
  while (shards.length > 0 || waiting.length > 0) {
    if (shards.length > 0) {
      // One page of every shard with work left, merged oldest first.
      const pages = await Promise.all(
        shards.map(({ shard, cursor }) =>
          deps.store.dueMarkers(shard, started, deps.pageSize ?? 100, cursor),
        ),
      );
      shards = shards
        .map((shard, index) => ({ ...shard, cursor: pages[index]?.cursor }))
        .filter((shard) => shard.cursor !== undefined);
      const markers = pages
        .flatMap((page) => page.markers)
        .filter((marker) => !skipped(marker.patientId))
        .sort((a, b) => a.dueAt - b.dueAt);
      if (first && markers[0] !== undefined) report.lagMs = started - markers[0].dueAt;
      first = false;
      for (const patient of dueWork(markers)) {
        const held = waiting.find((work) => work.patientId === patient.patientId);
        // More of a waiting patient's markers: its decision starts at the earliest change among them.
        if (held !== undefined && patient.changedAt !== undefined)
          held.changedAt = Math.min(held.changedAt ?? patient.changedAt, patient.changedAt);
        if (seen.has(patient.patientId)) continue;
        seen.add(patient.patientId);
        waiting.push(patient);
      }
    }
    while (waiting.length >= PATIENTS_PER_CHUNK || (shards.length === 0 && waiting.length > 0)) {
      if (deps.clock() - started > deps.budgetMs) {
        report.stoppedEarly = true;
        return report;
      }
      const chunk = waiting.slice(0, PATIENTS_PER_CHUNK);
      waiting = waiting.slice(PATIENTS_PER_CHUNK);
      await finalizeChunk(chunk, context, deps, report, quarantined);
    }
  }
  return report;
}

/**
 * R18: when the configuration in force is newer than the last one the finalizer acted on, each version in
 * between may change how time counts on some dates: a practitioner newly in force, no longer in force or with a
 * changed credential, NPI or group, and fees changed for some dates of service (functions/domain/config-changes.ts,
 * the same dates `npm run config -- diff` prints). The patients with clinicians' time on those dates, within the
 * adjustment horizon, are made due again from that time, and this run decides them; the decisions send whatever
 * adjustments follow (R16), and nothing else changes. Returns how many patients.
 */
async function actOnConfigChanges(
  tenant: { version: number; config: TenantConfig },
  context: DecisionContext,
  deps: FinalizeDependencies,
): Promise<number> {
  if (deps.configVersions === undefined) return 0;
  const acted = await deps.store.configProgress();
  if (acted === tenant.version) return 0;
  const horizon = context.now - deps.adjustmentHorizonDays * DAY;
  const due = new Map<string, number>();
  const lookUp = async (practitionerId: string, range: DateRange, slackDays: number) => {
    // Dates are practice-local: a day of slack on each side covers any zone (and a zone changed in between).
    const from = Math.max(
      horizon,
      range.from === undefined ? horizon : startOf(range.from) - slackDays * DAY,
    );
    const below = range.to === undefined ? context.now + DAY : startOf(range.to) + (1 + slackDays) * DAY;
    if (below <= from) return;
    for (const time of await deps.store.clinicianTime(practitionerId, from, below))
      due.set(time.patientId, Math.min(due.get(time.patientId) ?? time.at, time.at));
  };
  let previous: { config: TenantConfig } | undefined =
    acted === undefined ? undefined : await deps.configVersions.version(acted);
  for (let version = (acted ?? tenant.version - 1) + 1; version <= tenant.version; version++) {
    const next = version === tenant.version ? tenant : await deps.configVersions.version(version);
    if (next === undefined) continue;
    if (previous !== undefined) {
      const changed = redecisions(previous.config, next.config);
      for (const { practitionerId, range } of changed.clinicians) await lookUp(practitionerId, range, 1);
      if (changed.fees.length > 0) {
        // A fee is in force on the date of service; the window's time lies up to a week either side of it.
        const practitioners = new Set(
          [...previous.config.roster, ...next.config.roster].map((e) => e.practitionerId),
        );
        for (const practitionerId of practitioners)
          for (const range of changed.fees) await lookUp(practitionerId, range, 8);
      }
    }
    previous = next;
  }
  const patients = [...due].map(([patientId, changedAt]) => ({ patientId, changedAt }));
  await deps.store.recheck(patients, tenant.version, context.now);
  // Unattributed time a version now covers is decided again by the re-check; its worklist item is resolved here,
  // since no decision names time it attributes.
  const roster = rosterByPractitioner(tenant.config);
  await deps.store.resolveCoveredTime?.(
    patients.map((patient) => patient.patientId),
    (practitionerId, at) =>
      rosterEntryOn(roster, practitionerId, localDate(at, tenant.config.timezone)) !== undefined,
    tenant.version,
  );
  // Another run that acted on the same versions wrote the same re-checks: either one's progress will do.
  await deps.store.recordConfigProgress(tenant.version, acted);
  return patients.length;
}

function mergeCapture(into: CaptureDelta, delta: CaptureDelta): void {
  const merge = (a: Record<string, number>, b: Record<string, number>) => {
    for (const [key, value] of Object.entries(b)) a[key] = (a[key] ?? 0) + value;
  };
  merge(into.outcomes, delta.outcomes);
  merge(into.notBilled, delta.notBilled);
  merge(into.minutes, delta.minutes);
  into.withTime += delta.withTime;
}

/** The UTC midnight starting a practice-local date's calendar day (within a day of its local start). */
const startOf = (date: string): number => Date.parse(`${date}T00:00:00Z`);

/** What woke a patient: the earliest change its markers name, if any (else only lines wait to be sent). */
interface DueWork {
  patientId: string;
  changedAt?: number;
}

function dueWork(markers: readonly DueMarker[]): DueWork[] {
  const byPatient = new Map<string, DueWork>();
  for (const marker of markers) {
    const work = byPatient.get(marker.patientId) ?? { patientId: marker.patientId };
    if (marker.kind !== "outbox" && marker.changedAt !== undefined)
      work.changedAt = Math.min(work.changedAt ?? marker.changedAt, marker.changedAt);
    byPatient.set(marker.patientId, work);
  }
  return [...byPatient.values()];
}

interface PreparedPatient {
  patientId: string;
  /** Every line waiting for this patient, in commit and send order (a crashed run's first). */
  outbox: OutboxEntry[];
}

/**
 * Decide and commit each patient of the chunk side by side, send every line waiting in their outboxes in one
 * ordered stream (SQS batches of 10, each patient's lines in order), then delete the outbox entries sent.
 */
async function finalizeChunk(
  chunk: readonly DueWork[],
  context: DecisionContext,
  deps: FinalizeDependencies,
  report: FinalizeReport,
  quarantined: ReadonlyMap<string, QuarantinedPatient>,
) {
  const now = context.now;
  const settled = await Promise.allSettled(chunk.map((work) => preparePatient(work, context, deps, report)));
  const failures = settled.flatMap((result, index) =>
    result.status === "rejected" ? [{ work: chunk[index] as DueWork, error: result.reason as unknown }] : [],
  );
  // A whole chunk failing with errors that may pass (throttling, a service outage) is the table's trouble, not
  // these patients': the run stops and the next one retries them.
  if (failures.length === chunk.length && failures.every(({ error }) => retryable(error)))
    throw failures[0]?.error;
  for (const { work, error } of failures)
    await quarantinePatient(work.patientId, error, now, deps, report, quarantined);
  const prepared = settled.flatMap((result) =>
    result.status === "fulfilled" && result.value !== undefined ? [result.value] : [],
  );
  for (const patient of prepared) {
    if (quarantined.has(patient.patientId)) await deps.quarantine.release(patient.patientId);
  }

  const outbox = prepared.flatMap((patient) => patient.outbox);
  if (outbox.length === 0) return;
  await deps.claims.send(outbox.map((entry) => entry.line));
  tally(
    outbox.map((entry) => entry.line),
    report,
  );
  await deps.store.confirmSent(outbox);
}

async function preparePatient(
  work: DueWork,
  context: DecisionContext,
  deps: FinalizeDependencies,
  report: FinalizeReport,
): Promise<PreparedPatient | undefined> {
  if (work.changedAt === undefined) {
    // Only lines a crashed run committed: send them, nothing to decide.
    const view = await deps.store.readPatient(work.patientId, ALWAYS_READ);
    return { patientId: work.patientId, outbox: view.outbox };
  }
  const { view, result, from } = await decideBounded(work.patientId, work.changedAt, context, deps.store);
  const plan = planDecision(view, result, from, context);
  report.patientsDecided += 1;
  if (plan.commit === undefined) return { patientId: work.patientId, outbox: view.outbox };

  const committed = await deps.store.commit(plan.commit);
  if (committed.status === "conflict") {
    report.conflicts += 1;
    return undefined;
  }
  for (const episode of plan.finalized)
    report.episodesFinalized[episode.outcome] = (report.episodesFinalized[episode.outcome] ?? 0) + 1;
  mergeCapture(report.capture, plan.capture);
  report.unknownClinicianMinutes += Math.floor(
    plan.unknownTime.reduce((seconds, time) => seconds + time.seconds, 0) / 60,
  );
  return { patientId: work.patientId, outbox: [...view.outbox, ...committed.outbox] };
}

/**
 * One patient's decision from its earliest change (decision-scope.ts): read by reach from where the decision
 * starts, move the start back while a decided window is open across it or the engine says a window starts
 * earlier, and fetch the messages R1's chains reach before the scope. Every pass reads only what is missing.
 */
async function decideBounded(
  patientId: string,
  changedAt: number,
  context: DecisionContext,
  store: EpisodeStore,
): Promise<{ view: PatientView; result: EngineResult; from: number }> {
  const { tenant } = context;
  let start = changedAt;
  let from = decisionStart(start, [], tenant);
  let view = await store.readPatient(patientId, scopeReach(from, tenant));
  const fetched = new Map<string, StoredFact[]>();
  /** How far back visits and consents were read for a policy that looks back further than their reach. */
  let lookedBackTo: number | undefined;
  /** Where the families decided by month or consult asked for every fact from (the engine's `readFrom`). */
  let readBack = Number.POSITIVE_INFINITY;
  for (let round = 0; round < MAX_DECISION_ROUNDS; round++) {
    const windows = view.episodes.filter((head) => head.current).map(decidedWindow);
    from = decisionStart(start, windows, tenant);
    const reach = Math.min(scopeReach(from, tenant), readBack);
    if (reach < view.reachFrom) {
      view = merge(view, await store.readPatient(patientId, reach, view.reachFrom));
      continue;
    }
    const since = lookbackSince(from, tenant);
    if (since !== undefined && (lookedBackTo === undefined || since < lookedBackTo)) {
      const held = new Set(view.facts.map((stored) => stored.fact.id));
      const older = await store.readLookback(patientId, since, lookedBackTo ?? reach);
      view = { ...view, facts: [...view.facts, ...older.filter((stored) => !held.has(stored.fact.id))] };
      lookedBackTo = since;
      continue;
    }
    const inScope = view.facts.filter(
      (stored) => needed(stored.fact, from, tenant) || factReach(stored.fact) >= readBack,
    );
    const earlier = [...fetched.values()].flat();
    const roots = new Map<string, ThreadRoot>();
    for (const stored of [...inScope, ...earlier]) {
      const messageId = "messageId" in stored.fact ? stored.fact.messageId : undefined;
      if (messageId !== undefined && stored.threadRoot !== undefined) roots.set(messageId, stored.threadRoot);
    }
    const result = decideEpisodes(
      inScope.map((stored) => stored.fact),
      tenant,
      new Date(context.now).toISOString(),
      sentLines(view, from, context),
      {
        from,
        earlier: windows.filter((window) => !decidedAgain(window.family, window.start, window.end, from)),
        thread: { roots, messages: earlier.map((stored) => stored.fact) },
      },
    );
    if (result.restartFrom !== undefined && result.restartFrom < from) {
      start = result.restartFrom;
      continue;
    }
    if (result.readFrom !== undefined && result.readFrom < readBack) {
      readBack = result.readFrom;
      continue;
    }
    const missing = result.missingMessages.map((m) => m.messageId).filter((id) => !fetched.has(id));
    if (missing.length > 0) {
      const found = await store.readMessages(patientId, missing);
      for (const id of missing)
        fetched.set(
          id,
          found.filter((stored) => "messageId" in stored.fact && stored.fact.messageId === id),
        );
      continue;
    }
    return { view, result, from };
  }
  throw new DecisionDidNotSettleError();
}

/** A view extended by a read of lower reaches (the two ranges do not overlap). */
const merge = (view: PatientView, lower: PatientView): PatientView => ({
  ...view,
  facts: [...view.facts, ...lower.facts],
  episodes: [...view.episodes, ...lower.episodes],
  reachFrom: lower.reachFrom,
});

/** The engine kept asking for earlier facts or messages: a loop in the data, for a person to look at. */
export class DecisionDidNotSettleError extends Error {
  readonly retryable = false;
  constructor() {
    super(`the decision did not settle after ${MAX_DECISION_ROUNDS} reads`);
    this.name = "DecisionDidNotSettleError";
  }
}

async function quarantinePatient(
  patientId: string,
  error: unknown,
  now: number,
  deps: FinalizeDependencies,
  report: FinalizeReport,
  quarantined: ReadonlyMap<string, QuarantinedPatient>,
) {
  const again = retryable(error);
  const attempts = (quarantined.get(patientId)?.attempts ?? 0) + 1;
  const retryAt = again
    ? now + Math.min(MAX_RETRY_AFTER_MS, RETRY_AFTER_MS * 2 ** (attempts - 1))
    : undefined;
  const name = error instanceof Error ? error.name : "UnknownError";
  const reason = reasonOf(error);
  report.patientsQuarantined += 1;
  deps.onQuarantine?.({ patient: hashed(patientId), reason, error: name, automaticRetry: again });
  await deps.quarantine.add(patientId, {
    reason,
    error: name,
    item: error instanceof CorruptItemError ? error.key : undefined,
    at: now,
    retryAt,
  });
}

/** Errors that may pass by themselves: the AWS SDK's throttling and server faults, ours marked retryable. */
function retryable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const candidate = error as { retryable?: unknown; $retryable?: unknown; $fault?: unknown; name?: unknown };
  if (candidate.retryable === true || candidate.$retryable !== undefined) return true;
  if (candidate.$fault === "server") return true;
  return (
    candidate.name === "ProvisionedThroughputExceededException" || candidate.name === "ThrottlingException"
  );
}

/** A reason a person can act on, without PHI: our errors say what failed; AWS errors by their name only. */
function reasonOf(error: unknown): string {
  if (error instanceof CorruptItemError || error instanceof DecisionDidNotSettleError) return error.message;
  if (error instanceof Error && "$metadata" in error) {
    if (error.name === "ValidationException")
      return "DynamoDB refused a write (ValidationException), e.g. an item too large";
    return `DynamoDB failed after retries (${error.name})`;
  }
  return `deciding the patient failed (${error instanceof Error ? error.name : "unknown error"})`;
}

/** A patient id as logs may show it: a hash, never the id. */
const hashed = (patientId: string): string =>
  createHash("sha256").update(patientId).digest("hex").slice(0, 16);

function tally(lines: readonly ClaimLine[], report: FinalizeReport): void {
  for (const line of lines) {
    report.linesSent[line.action] += 1;
    const sign = line.action === "void" ? -1 : 1;
    // R23: an add-on line repeats its base line's minutes; they are counted once, with the base.
    if (!isAddOnCode(line.procedureCode)) report.billableMinutes += sign * line.totalMinutes;
    report.chargeCents += sign * line.chargeCents;
  }
}
