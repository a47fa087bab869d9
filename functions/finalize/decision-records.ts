import { createHash } from "node:crypto";
import { DateTime } from "luxon";
import type { ClaimLine } from "../domain/claim-line.js";
import type { TenantConfig } from "../domain/config.js";
import { type DecidedWindow, decidedAgain, inScope } from "../domain/decision-scope.js";
import type { EngineResult, Episode, UnknownClinicianTime } from "../domain/engine.js";
import { canonicalJson } from "../domain/fact-digest.js";
import { DAY, HOUR, toMillis } from "../domain/time.js";
import type {
  Commit,
  EpisodeHead,
  EpisodeRecordWrite,
  FactUpdate,
  FigureWrite,
  PatientState,
  PatientView,
  ReviewWrite,
  UnattributedWrite,
} from "../store/episode-store.js";
import { reviewSubject } from "../store/table-design.js";

/**
 * What one bounded decision writes (docs/STORE.md): a new record for every episode whose decision is new or
 * changed or that owes a line, a record for every episode decided earlier that no longer exists, the fact
 * markers it accounted for, the R1 roots it resolved, and the patient's next settle. Pure: the finalizer
 * commits it.
 */
export interface DecisionContext {
  tenant: TenantConfig;
  /** The version of the tenant configuration `tenant` is (config-store.ts): every record names it. */
  configVersion: number;
  now: number;
  /** R16: lines whose window ended longer ago are settled history, never adjusted. */
  adjustmentHorizonDays: number;
  retentionDays: number;
}

/** The decision's digest: what is compared to tell a changed decision (the status moves with time alone). */
export const decisionDigest = (episode: Episode): string =>
  createHash("sha256")
    .update(canonicalJson({ ...episode, status: undefined }))
    .digest("hex")
    .slice(0, 32);

export const decidedWindow = (head: EpisodeHead): DecidedWindow => ({
  group: head.group,
  family: head.family,
  start: head.start,
  end: head.end,
  patientInitiated: head.patientInitiated,
  ...(billedOf(head) !== undefined && { billed: billedOf(head) }),
  ...(head.counted?.outcome === "bundled-into-visit" && { holdsTime: true }),
});

/**
 * R20: what a later episode compares itself to. A head written before heads kept it has none: its latest line
 * sent (not a void) says the same of a due episode that billed.
 */
function billedOf(head: EpisodeHead): EpisodeHead["billed"] {
  if (head.billed !== undefined || head.counted !== undefined) return head.billed;
  const line = head.line;
  if (line === undefined || line.action === "void") return undefined;
  return {
    episodeId: line.episodeId,
    start: toMillis(line.windowStart),
    serviceDate: line.serviceDate,
    diagnosisCodes: line.diagnosisCodes,
  };
}

/** The lines already sent for the episodes decided again from `from` (R16 compares against them). */
export function sentLines(view: PatientView, from: number, context: DecisionContext): ClaimLine[] {
  const horizon = context.now - context.adjustmentHorizonDays * DAY;
  return view.episodes
    .filter(
      (head) =>
        decidedAgain(head.family, head.start, head.end, from) &&
        head.line !== undefined &&
        head.end >= horizon,
    )
    .map((head) => head.line as ClaimLine);
}

/** What a decision changes in the capture metrics: net counts, negative where an earlier decision is undone. */
export interface CaptureDelta {
  outcomes: Record<string, number>;
  notBilled: Record<string, number>;
  withTime: number;
  minutes: Record<string, number>;
}

export const emptyCapture = (): CaptureDelta => ({ outcomes: {}, notBilled: {}, withTime: 0, minutes: {} });

/** Adds (sign 1) or takes away (sign -1) one decision's count. */
export function addCounted(delta: CaptureDelta, counted: EpisodeHead["counted"], sign: 1 | -1): void {
  if (counted === undefined) return;
  const add = (into: Record<string, number>, key: string, by: number) => {
    const next = (into[key] ?? 0) + by;
    if (next === 0) delete into[key];
    else into[key] = next;
  };
  add(delta.outcomes, counted.outcome, sign);
  if (counted.outcome !== "billable")
    for (const reason of counted.reasons) add(delta.notBilled, reason, sign);
  if (counted.withTime) delta.withTime += sign;
  for (const [practitionerId, minutes] of Object.entries(counted.minutes))
    add(delta.minutes, practitionerId, sign * minutes);
}

const countedOf = (episode: Episode): NonNullable<EpisodeHead["counted"]> => ({
  outcome: episode.outcome,
  reasons: [...episode.reasons],
  withTime: episode.totalSeconds > 0,
  minutes: Object.fromEntries(
    episode.minutesByClinician.map((clinician) => [clinician.practitionerId, clinician.minutes]),
  ),
});

export interface PlannedDecision {
  /** Undefined when the decision changes nothing stored (a marker already accounted for, read again). */
  commit?: Commit;
  /** Due episodes whose decision is new or changed, for the business metrics. */
  finalized: Episode[];
  /** Unknown clinicians' time this decision accounts for the first time (R4, R18), for the metric. */
  unknownTime: UnknownClinicianTime[];
  /** What the records it writes change in the capture metrics (only what is committed counts). */
  capture: CaptureDelta;
}

export function planDecision(
  view: PatientView,
  result: EngineResult,
  from: number,
  context: DecisionContext,
): PlannedDecision {
  const { now } = context;
  const decidedAt = new Date(now).toISOString();
  const horizon = now - context.adjustmentHorizonDays * DAY;
  const owed = new Map(
    result.owed.filter((line) => toMillis(line.windowEnd) >= horizon).map((line) => [line.claimLineId, line]),
  );
  const stored = new Map(view.episodes.map((head) => [head.episodeId, head]));
  const expiresAt = (end: number) => Math.floor(end / 1000) + context.retentionDays * 86_400;
  const { roster: _roster, ...policies } = context.tenant;

  const records: EpisodeRecordWrite[] = [];
  const reviews: ReviewWrite[] = [];
  const figures: FigureWrite[] = [];
  const capture = emptyCapture();
  const finalized: Episode[] = [];
  const produced = new Set<string>();
  for (const episode of result.episodes) {
    produced.add(episode.episodeId);
    const previous = stored.get(episode.episodeId);
    const line = owed.get(episode.claimLineId);
    const head: EpisodeHead = {
      episodeId: episode.episodeId,
      claimLineId: episode.claimLineId,
      group: episode.billingGroup,
      family: episode.family,
      start: toMillis(episode.windowStart),
      end: toMillis(episode.windowEnd),
      patientInitiated: !episode.reasons.includes("not-patient-initiated"),
      current: true,
      digest: decisionDigest(episode),
      line: line ?? previous?.line,
      ...(episode.outcome === "needs-review" && { review: true as const }),
      ...(episode.outcome === "billable" && {
        billed: {
          episodeId: episode.episodeId,
          start: toMillis(episode.windowStart),
          serviceDate: episode.serviceDate,
          diagnosisCodes: episode.diagnosisCodes,
        },
      }),
      counted: countedOf(episode),
    };
    const changed = previous === undefined || !previous.current || previous.digest !== head.digest;
    if (!changed && line === undefined) continue;
    addCounted(capture, previous?.current ? previous.counted : undefined, -1);
    addCounted(capture, head.counted, 1);
    if (changed && episode.status === "due") finalized.push(episode);
    if (head.review || previous?.review)
      reviews.push({
        patientId: episode.patientId,
        subject: reviewSubject.episode(episode.episodeId),
        status: head.review ? "open" : "resolved",
        item: reviewItemOf(episode, unknownActivityIds(result, head), context.configVersion),
        decidedAt: now,
        expiresAt: expiresAt(head.end),
      });
    figures.push({
      week: isoWeekOf(episode.windowStart),
      patientId: episode.patientId,
      episodeId: episode.episodeId,
      figures: {
        outcome: episode.outcome,
        reasons: [...episode.reasons],
        totalMinutes: episode.totalMinutes,
        minutesByClinician: Object.fromEntries(
          episode.minutesByClinician.map((clinician) => [clinician.practitionerId, clinician.minutes]),
        ),
        ...(episode.chargeCents !== undefined && { chargeCents: episode.chargeCents }),
      },
      expiresAt: expiresAt(head.end),
    });
    records.push({
      head,
      record: {
        decision: "decided",
        decidedAt,
        configVersion: context.configVersion,
        ...episode,
        policies,
        line,
      },
      line,
      expiresAt: expiresAt(head.end),
    });
  }
  // R7, R16: an episode decided earlier that the facts no longer give (its window moved, its facts were retracted
  // or moved to another patient) gets a record saying so, with the void of its line when one is owed.
  for (const previous of view.episodes) {
    if (
      !previous.current ||
      !decidedAgain(previous.family, previous.start, previous.end, from) ||
      produced.has(previous.episodeId)
    )
      continue;
    const line = owed.get(previous.claimLineId);
    // Its review, if open, is resolved: there is no such episode left to review.
    if (previous.review)
      reviews.push({
        patientId: view.patientId,
        subject: reviewSubject.episode(previous.episodeId),
        status: "resolved",
        item: {
          kind: "episode",
          episodeId: previous.episodeId,
          family: previous.family,
          windowStart: new Date(previous.start).toISOString(),
          windowEnd: new Date(previous.end).toISOString(),
          reasons: [],
          superseded: true,
          configVersion: context.configVersion,
        },
        decidedAt: now,
        expiresAt: expiresAt(previous.end),
      });
    figures.push({
      week: isoWeekOf(new Date(previous.start).toISOString(), context.tenant.timezone),
      patientId: view.patientId,
      episodeId: previous.episodeId,
      expiresAt: expiresAt(previous.end),
    });
    addCounted(capture, previous.counted, -1);
    records.push({
      head: {
        ...previous,
        current: false,
        review: undefined,
        counted: undefined,
        billed: undefined,
        line: line ?? previous.line,
      },
      record: {
        decision: "superseded",
        decidedAt,
        configVersion: context.configVersion,
        episodeId: previous.episodeId,
        claimLineId: previous.claimLineId,
        windowStart: new Date(previous.start).toISOString(),
        windowEnd: new Date(previous.end).toISOString(),
        reason: "the facts no longer give this episode: they were retracted, moved, or fall in other windows",
        line,
      },
      line,
      expiresAt: expiresAt(previous.end),
    });
  }
  // R16: for one patient, a void leaves before the original or replacement that follows it.
  records.sort((a, b) => order(a) - order(b) || a.head.start - b.head.start);

  const facts = factUpdates(view, result, from, context);
  const pending = nextSettle(view.state, result.episodes, from, context.tenant);
  // R18: unknown clinicians' time accounted for the first time, counted once (the metric); a configuration that
  // adds them finds it through the clinician index.
  const accounted = new Set(facts.filter((update) => update.clearMarker).map((update) => update.factId));
  const unknownTime = result.unknownClinicianTime.filter((time) => accounted.has(time.factId));
  // Time of theirs outside every window has no episode to name it: it gets an audit record of its own.
  const outside = new Set(result.unattributed.map((time) => time.factId));
  const unattributed: UnattributedWrite[] = unknownTime
    .filter((time) => outside.has(time.factId))
    .map((time) => ({
      factId: time.factId,
      record: {
        decision: "unattributed",
        decidedAt,
        configVersion: context.configVersion,
        reason: "unknown-clinician",
        factId: time.factId,
        practitionerId: time.practitionerId,
        at: new Date(time.at).toISOString(),
        seconds: time.seconds,
        note: "no roster entry holds this practitioner on this date; a version that does decides it again (R18)",
      },
      expiresAt: expiresAt(time.at),
    }));
  // ... and a worklist item, open until a biller maps it (R19) or a roster version covers it (R18).
  for (const time of unknownTime.filter((time) => outside.has(time.factId)))
    reviews.push({
      patientId: view.patientId,
      subject: reviewSubject.unattributedTime(time.factId),
      status: "open",
      item: {
        kind: "unattributed-time",
        factId: time.factId,
        practitionerId: time.practitionerId,
        at: new Date(time.at).toISOString(),
        totalMinutes: Math.floor(time.seconds / 60),
        seconds: time.seconds,
        reasons: ["unknown-clinician"],
        unknownActivityIds: [time.factId],
        configVersion: context.configVersion,
      },
      decidedAt: now,
      expiresAt: expiresAt(time.at),
    });
  // Re-check asks this decision answers: it decides everything from `from` on.
  const rechecks = view.rechecks.filter((recheck) => recheck.changedAt >= from).map((recheck) => recheck.key);
  const unchanged =
    records.length === 0 &&
    reviews.length === 0 &&
    facts.length === 0 &&
    rechecks.length === 0 &&
    view.state !== undefined &&
    view.state.pending?.dueAt === pending?.dueAt &&
    view.state.pending?.changedAt === pending?.changedAt;
  if (unchanged) return { finalized, unknownTime, capture: emptyCapture() };
  return {
    commit: {
      patientId: view.patientId,
      expected: view.state,
      decidedAt: now,
      pending,
      records,
      facts,
      rechecks,
      unattributed,
      ...(reviews.length > 0 && { reviews }),
      ...(figures.length > 0 && { figures }),
    },
    finalized,
    unknownTime,
    capture,
  };
}

/**
 * The ISO week (`2026-W47`) of a window start, on the practice's calendar: the start's own offset, or the zone
 * given for an instant in UTC.
 */
export const isoWeekOf = (windowStart: string, zone?: string): string => {
  const start =
    zone === undefined
      ? DateTime.fromISO(windowStart, { setZone: true })
      : DateTime.fromISO(windowStart, { zone });
  return (start.toISOWeekDate() ?? "").slice(0, 8);
};

/** What the worklist shows of a decided episode (issue 15): enough to act on, the rest is in its record. */
const reviewItemOf = (episode: Episode, unknownActivityIds: string[], configVersion: number) => ({
  kind: "episode",
  episodeId: episode.episodeId,
  family: episode.family,
  windowStart: episode.windowStart,
  windowEnd: episode.windowEnd,
  totalMinutes: episode.totalMinutes,
  outcome: episode.outcome,
  reasons: episode.reasons,
  evidence: episode.evidence,
  ...(episode.priorVisitId !== undefined && { priorVisitId: episode.priorVisitId }),
  /** R20: the billed episode a relatedness decision about it names (as `priorVisitId`). */
  ...(episode.priorEpisodeId !== undefined && { priorEpisodeId: episode.priorEpisodeId }),
  /** R4: the activity an unknown clinician authored in the window, what a clinician mapping maps (R19). */
  unknownActivityIds,
  configVersion,
});

/** The result is one patient's (a decision decides one patient). */
const unknownActivityIds = (result: EngineResult, head: EpisodeHead): string[] =>
  result.unknownClinicianTime
    .filter((time) => time.at >= head.start && time.at < head.end)
    .map((time) => time.factId);

const order = (record: EpisodeRecordWrite): number =>
  record.line === undefined ? 2 : record.line.action === "void" ? 0 : 1;

/**
 * The facts this decision accounted for (their markers are cleared, conditional on the version read) and the
 * R1 roots that changed for messages in scope (kept so a later decision can stop there).
 */
function factUpdates(
  view: PatientView,
  result: EngineResult,
  from: number,
  context: DecisionContext,
): FactUpdate[] {
  const roots = new Map(result.threads.map((thread) => [thread.messageId, thread.root]));
  const updates: FactUpdate[] = [];
  for (const stored of view.facts) {
    if (!inScope(stored.fact, from, context.tenant)) continue;
    // A marker whose change starts before this decision's scope is left for a decision that starts there.
    const clearMarker = stored.marker !== undefined && stored.marker.changedAt >= from;
    const messageId = "messageId" in stored.fact ? stored.fact.messageId : undefined;
    const root = messageId === undefined ? undefined : roots.get(messageId);
    const threadRoot = root === stored.threadRoot ? undefined : (root ?? null);
    if (!clearMarker && threadRoot === undefined) continue;
    updates.push({
      factId: stored.fact.id,
      version: stored.fact.version,
      digest: stored.digest,
      clearMarker,
      threadRoot,
    });
  }
  return updates;
}

/**
 * R16: the earliest episode not yet due: when it settles and where it starts. The state's earlier marker stands
 * when it names an episode before this decision's scope (that episode was not decided again).
 */
function nextSettle(
  state: PatientState | undefined,
  episodes: readonly Episode[],
  from: number,
  tenant: TenantConfig,
): PatientState["pending"] {
  const waiting = episodes
    .filter((episode) => episode.status !== "due")
    .map((episode) => ({
      dueAt: toMillis(episode.settlesAfter ?? episode.windowEnd) + tenant.settleHours * HOUR,
      changedAt: toMillis(episode.windowStart),
    }));
  if (state?.pending !== undefined && state.pending.changedAt < from) waiting.push(state.pending);
  if (waiting.length === 0) return undefined;
  return {
    dueAt: Math.min(...waiting.map((w) => w.dueAt)),
    changedAt: Math.min(...waiting.map((w) => w.changedAt)),
  };
}
