import type { ClaimLine } from "../domain/claim-line.js";
import type { TenantConfig } from "../domain/config.js";
import { decideEpisodes, type Episode } from "../domain/engine.js";
import { canonicalJson } from "../domain/fact-digest.js";
import type { Outcome } from "../domain/outcome.js";
import type { ClaimSink } from "../queue/claims-sender.js";
import type { EpisodeStore, PatientRecord, PatientState, SentLine } from "../store/episode-store.js";

export interface FinalizeDependencies {
  store: EpisodeStore;
  claims: ClaimSink;
  tenant: TenantConfig;
  /** Audit records are kept this long after the episode's window end. */
  retentionDays: number;
  /** Lines older than this (by window end) are settled history: never voided or replaced again. */
  adjustmentHorizonDays: number;
  /** The current time in epoch ms; read again to keep within the time budget. */
  clock: () => number;
  /** Stop taking new patients once this much time has passed, leaving the rest for the next run. */
  budgetMs: number;
  pageSize?: number;
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
  /** Patients another run changed concurrently: left for the next run. */
  conflicts: number;
}

const DAY_MS = 86_400_000;

/**
 * The scheduled finalizer: reads only due work from the sparse index, decides each patient with the engine and
 * sends what is owed. Lines are committed to the patient's outbox (a conditional write) before they are sent and
 * cleared after, so a crash at any point ends, on the next run, with every line sent and none sent twice beyond
 * the FIFO dedup id (ARCHITECTURE.md invariant 4).
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
  };
  const seen = new Set<string>();
  let cursor: Record<string, unknown> | undefined;
  let first = true;
  do {
    const page = await deps.store.dueMarkers(started, deps.pageSize ?? 100, cursor);
    cursor = page.cursor;
    if (first && page.markers[0] !== undefined) report.lagMs = started - page.markers[0].dueAt;
    first = false;
    const patients = [...new Set(page.markers.map((marker) => marker.patientId))].filter(
      (id) => !seen.has(id),
    );
    for (let start = 0; start < patients.length; start += PATIENTS_PER_CHUNK) {
      if (deps.clock() - started > deps.budgetMs) {
        report.stoppedEarly = true;
        return report;
      }
      const chunk = patients.slice(start, start + PATIENTS_PER_CHUNK);
      for (const patientId of chunk) seen.add(patientId);
      await finalizeChunk(chunk, started, deps, report);
    }
  } while (cursor !== undefined);
  return report;
}

/** Patients decided together: their lines share SQS batches of 10, their DynamoDB calls run side by side. */
const PATIENTS_PER_CHUNK = 10;

/**
 * Three phases, each safe to crash after: (1) decide each patient and commit its owed lines to its outbox,
 * (2) send every outbox line of the chunk, (3) empty the outboxes and clear the accounted markers.
 */
async function finalizeChunk(
  patientIds: readonly string[],
  now: number,
  deps: FinalizeDependencies,
  report: FinalizeReport,
) {
  const prepared = (await Promise.all(patientIds.map((id) => preparePatient(id, now, deps, report)))).filter(
    (patient): patient is PreparedPatient => patient !== undefined,
  );
  const lines = prepared.flatMap((patient) => patient.state.outbox);
  if (lines.length > 0) {
    await deps.claims.send(lines);
    tally(lines, report);
  }
  await Promise.all(prepared.map((patient) => completePatient(patient, deps, report)));
}

interface PreparedPatient {
  record: PatientRecord;
  /** The state as committed, its outbox holding every line to send (including any a crashed run left). */
  state: PatientState;
  /** When the patient is next due once its outbox is empty. */
  dueAt: number | undefined;
}

async function preparePatient(
  patientId: string,
  now: number,
  deps: FinalizeDependencies,
  report: FinalizeReport,
): Promise<PreparedPatient | undefined> {
  const record = await deps.store.loadPatient(patientId);
  const state = record.state;

  // Lines whose window ended before the adjustment horizon are settled history: the engine neither adjusts them
  // nor, once their record is gone, bills their episodes again. Lines left in the outbox by a crashed run are
  // already in `sent`: the engine owes nothing new for them, and they are sent again below with the same ids.
  const horizon = now - deps.adjustmentHorizonDays * DAY_MS;
  const withinHorizon = (line: ClaimLine) => Date.parse(line.windowEnd) >= horizon;
  const asOf = new Date(now).toISOString();
  const decided = decideEpisodes(
    record.facts.map(({ fact }) => fact),
    deps.tenant,
    asOf,
    state.sent.map(({ line }) => line).filter(withinHorizon),
  );
  const owed = decided.owed.filter(withinHorizon);
  report.patientsDecided += 1;

  const retainedFrom = now - deps.retentionDays * DAY_MS;
  const changed = changedDecisions(decided.episodes, state);
  const dueAt = nextDueAt(decided.episodes, deps.tenant);
  const outbox = [...state.outbox, ...owed];
  const next: PatientState = {
    version: state.version + 1,
    sent: [
      ...state.sent.filter(({ line }) => Date.parse(line.windowEnd) >= retainedFrom),
      ...owed.map((line) => ({ line, sentAt: asOf })),
    ],
    outbox,
    // While lines wait in the outbox the patient stays due: a run that crashes before sending them must be finished
    // by the next one even when no fact marker is left to wake it.
    dueAt: outbox.length > 0 ? now : dueAt,
    decided: {
      ...state.decided,
      ...Object.fromEntries(changed.map((episode) => [episode.episodeId, decisionDigest(episode)])),
    },
  };
  // Audit records first: the state only records a decision's digest once its audit record exists, so a crash
  // in between rewrites the audit on the next run instead of losing it.
  await Promise.all(
    changed.map((episode) =>
      deps.store.putAudit({
        episodeId: episode.episodeId,
        patientId,
        decidedAt: asOf,
        expiresAt: Math.floor(Date.parse(episode.windowEnd) / 1000) + deps.retentionDays * 86_400,
        record: auditRecord(episode, deps.tenant, next.sent),
      }),
    ),
  );
  if (!(await deps.store.saveState(patientId, next, state.version))) {
    report.conflicts += 1;
    return undefined;
  }
  for (const episode of changed) {
    report.episodesFinalized[episode.outcome] = (report.episodesFinalized[episode.outcome] ?? 0) + 1;
  }
  return { record, state: next, dueAt };
}

async function completePatient(patient: PreparedPatient, deps: FinalizeDependencies, report: FinalizeReport) {
  const { record, state } = patient;
  if (state.outbox.length > 0) {
    const done: PatientState = { ...state, version: state.version + 1, outbox: [], dueAt: patient.dueAt };
    if (!(await deps.store.saveState(record.patientId, done, state.version))) {
      report.conflicts += 1;
      return;
    }
  }
  await clearAccountedMarkers(record, deps);
}

/** R16: the earliest settle time of an episode not yet due; the patient's state carries it as its due marker. */
function nextDueAt(episodes: readonly Episode[], tenant: TenantConfig): number | undefined {
  const pending = episodes
    .filter((episode) => episode.status !== "due")
    .map((episode) => Date.parse(episode.windowEnd) + tenant.settleHours * 3_600_000);
  return pending.length === 0 ? undefined : Math.min(...pending);
}

/** Due episodes whose decision is new or differs from the one recorded: they get a fresh audit record. */
function changedDecisions(episodes: readonly Episode[], state: PatientState): Episode[] {
  return episodes.filter(
    (episode) => episode.status === "due" && state.decided?.[episode.episodeId] !== decisionDigest(episode),
  );
}

const decisionDigest = (episode: Episode): string => canonicalJson({ ...episode, status: undefined });

/** Every fact the decision accounted for: its episodes are now decided or covered by the state's due marker. */
async function clearAccountedMarkers(record: PatientRecord, deps: FinalizeDependencies): Promise<void> {
  await Promise.all(
    record.facts.flatMap(({ fact, dueAt }) =>
      dueAt === undefined ? [] : [deps.store.clearFactMarker(record.patientId, fact.id, dueAt)],
    ),
  );
}

function auditRecord(episode: Episode, tenant: TenantConfig, sent: readonly SentLine[]) {
  const { roster: _roster, ...policies } = tenant;
  return {
    ...episode,
    policies,
    sent: sent.filter(({ line }) => line.episodeId === episode.episodeId),
  };
}

function tally(lines: readonly ClaimLine[], report: FinalizeReport): void {
  for (const line of lines) {
    report.linesSent[line.action] += 1;
    const sign = line.action === "void" ? -1 : 1;
    report.billableMinutes += sign * line.totalMinutes;
    report.chargeCents += sign * line.chargeCents;
  }
}
