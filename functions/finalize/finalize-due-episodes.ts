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
    for (const marker of page.markers) {
      if (seen.has(marker.patientId)) continue;
      if (deps.clock() - started > deps.budgetMs) {
        report.stoppedEarly = true;
        return report;
      }
      seen.add(marker.patientId);
      await finalizePatient(marker.patientId, started, deps, report);
    }
  } while (cursor !== undefined);
  return report;
}

async function finalizePatient(
  patientId: string,
  now: number,
  deps: FinalizeDependencies,
  report: FinalizeReport,
) {
  const record = await deps.store.loadPatient(patientId);
  let state = record.state;

  // A previous run recorded lines but may have crashed before sending them: send them first, same dedup ids.
  if (state.outbox.length > 0) {
    await deps.claims.send(state.outbox);
    tally(state.outbox, report);
    const flushed: PatientState = { ...state, version: state.version + 1, outbox: [] };
    if (!(await deps.store.saveState(patientId, flushed, state.version))) {
      report.conflicts += 1;
      return;
    }
    state = flushed;
  }

  // Lines whose window ended before the adjustment horizon are settled history: the engine neither adjusts them
  // nor, once their record is gone, bills their episodes again.
  const horizon = now - deps.adjustmentHorizonDays * DAY_MS;
  const withinHorizon = (line: ClaimLine) => Date.parse(line.windowEnd) >= horizon;
  const facts = record.facts.map(({ fact }) => fact);
  const asOf = new Date(now).toISOString();
  const decided = decideEpisodes(
    facts,
    deps.tenant,
    asOf,
    state.sent.map(({ line }) => line).filter(withinHorizon),
  );
  const owed = decided.owed.filter(withinHorizon);
  const episodes = decided.episodes;
  report.patientsDecided += 1;

  const retainedFrom = now - deps.retentionDays * DAY_MS;
  const changed = changedDecisions(episodes, state);
  const next: PatientState = {
    version: state.version + 1,
    sent: [
      ...state.sent.filter(({ line }) => Date.parse(line.windowEnd) >= retainedFrom),
      ...owed.map((line) => ({ line, sentAt: asOf })),
    ],
    outbox: owed,
    dueAt: nextDueAt(episodes, deps.tenant),
    decided: {
      ...state.decided,
      ...Object.fromEntries(changed.map((episode) => [episode.episodeId, decisionDigest(episode)])),
    },
  };
  // Audit records first: the state only records a decision's digest once its audit record exists, so a crash
  // in between rewrites the audit on the next run instead of losing it.
  for (const episode of changed) {
    await deps.store.putAudit({
      episodeId: episode.episodeId,
      patientId,
      decidedAt: asOf,
      expiresAt: Math.floor(Date.parse(episode.windowEnd) / 1000) + deps.retentionDays * 86_400,
      record: auditRecord(episode, deps.tenant, next.sent),
    });
  }
  if (!(await deps.store.saveState(patientId, next, state.version))) {
    report.conflicts += 1;
    return;
  }
  for (const episode of changed) {
    report.episodesFinalized[episode.outcome] = (report.episodesFinalized[episode.outcome] ?? 0) + 1;
  }

  if (owed.length > 0) {
    await deps.claims.send(owed);
    tally(owed, report);
    const done: PatientState = { ...next, version: next.version + 1, outbox: [] };
    if (!(await deps.store.saveState(patientId, done, next.version))) {
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
  for (const { fact, dueAt } of record.facts) {
    if (dueAt !== undefined) await deps.store.clearFactMarker(record.patientId, fact.id, dueAt);
  }
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
