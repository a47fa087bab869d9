import { createHash } from "node:crypto";
import { type Billing, latestRevisions, owedLines } from "./adjustments.js";
import { attestationsInForce } from "./attestations.js";
import { type CareTime, decideCareManagement, enrolledFrom } from "./care-management.js";
import { type ClaimLine, claimLineSchema, claimLineVersionFor } from "./claim-line.js";
import {
  type EVisitFamily,
  eVisitFamilies,
  type Family,
  familyOfCode,
  isEVisitFamily,
} from "./code-table.js";
import { rosterByPractitioner, type TenantConfig } from "./config.js";
import { CONSULT_EXCLUSION_DAYS, decideConsults } from "./consults.js";
import { type DecisionScope, decidedAgain, scopeReach } from "./decision-scope.js";
import {
  assembleEpisodes,
  type ClassifiedActivity,
  classifyActivity,
  compareStrings,
  type EpisodeDraft,
  factsByTime,
  type Roster,
  type ThreadRoot,
  threadsOf,
} from "./episodes.js";
import { supersedes } from "./fact-digest.js";
import {
  type Consent,
  type ConsultReport,
  type ConsultRequest,
  type Enrollment,
  type Fact,
  type Visit,
  visitTookPlace,
} from "./facts.js";
import type { FamilyContext, FamilyOutcome } from "./family-outcome.js";
import { decideImageReviews } from "./image-review.js";
import {
  type BilledEpisode,
  type ClinicianTime,
  decideEpisode,
  type Outcome,
  primaryOutcome,
  type Reason,
} from "./outcome.js";
import { DAY, HOUR, localDate, localMonthStart, toIso, toMillis } from "./time.js";

export type EpisodeStatus = "open" | "settling" | "due";

/** One decided episode: everything a biller needs to trust or challenge the decision. */
export interface Episode {
  episodeId: string;
  claimLineId: string;
  patientId: string;
  billingGroup: string;
  family: Family;
  windowStart: string;
  windowEnd: string;
  openedAt: string;
  /** R16: `due` once `settleHours` have passed since the window end; only due episodes owe lines. */
  status: EpisodeStatus;
  /**
   * R16, R24: for the families after the e-visits, the end of the last e-visit window the episode's time can fall
   * in, when later than its own end: it settles `settleHours` after that (whether that e-visit bills decides
   * what the episode counts).
   */
  settlesAfter?: string;
  totalSeconds: number;
  totalMinutes: number;
  minutesByClinician: Array<
    Pick<ClinicianTime, "practitionerId" | "credential" | "npi" | "seconds" | "minutes">
  >;
  renderingPractitionerId: string;
  serviceDate: string;
  codeSetYear: number;
  diagnosisCodes: string[];
  procedureCode?: string;
  /** R23: an add-on code's count (the families after e-visits; an e-visit line is always one unit). */
  units?: number;
  chargeCents?: number;
  outcome: Outcome;
  reasons: Reason[];
  bundledVisit?: { visitId: string; minutes: number };
  priorVisitId?: string;
  /** R20: the billed episode this one follows within 7 days for a related problem (set only then). */
  priorEpisodeId?: string;
  /**
   * The fact ids the decision used: inquiries, counted activity, activity seen but not counted, visits, consents,
   * and the R19 attestations (present only when some were used, so earlier decisions keep their digest).
   */
  evidence: {
    inquiries: string[];
    counted: string[];
    uncounted: string[];
    visits: string[];
    consents: string[];
    attestations?: string[];
    /** R22: the enrollment a care-management month was decided under. */
    enrollments?: string[];
    /** R25: the consult request and report. */
    consults?: string[];
  };
  /** The line this episode owes as an original when billable. */
  claimLine?: ClaimLine;
  /** When its line failed the claim line contract: the failing field's path and why (no value). */
  invalidClaimLine?: { path: string; reason: string };
}

/** Facts that fall in no episode but need a person: time by an unknown clinician outside any window (R4). */
export interface Unattributed {
  factId: string;
  patientId: string;
  reason: "unknown-clinician";
}

/** The reply-chain root R1 resolved for one message in scope (the store keeps it for later decisions). */
export interface ResolvedThread {
  patientId: string;
  messageId: string;
  root: ThreadRoot;
}

/** Time of a clinician the roster does not hold on that day (R4, R18): counted nowhere until it does. */
export interface UnknownClinicianTime {
  factId: string;
  patientId: string;
  practitionerId: string;
  at: number;
  seconds: number;
}

export interface EngineResult {
  episodes: Episode[];
  /** The claim lines owed now: originals of due billable episodes and R16 adjustments of what was sent. */
  owed: ClaimLine[];
  unattributed: Unattributed[];
  /** Every activity in scope by a clinician the roster does not hold on its date, inside a window or not. */
  unknownClinicianTime: UnknownClinicianTime[];
  /** R1's root of every message in scope whose chain could be followed to its start. */
  threads: ResolvedThread[];
  /** Messages an inquiry's chain replies to that the facts do not hold: with a scope, fetch them and decide again. */
  missingMessages: Array<{ patientId: string; messageId: string }>;
  /** With a scope: set when the scope was not closed, i.e. a window would start before it; decide again from here. */
  restartFrom?: number;
  /**
   * With a scope: the families decided by month or consult need every fact from this instant on (their windows
   * start before the scope); read back to here and decide again with the same scope.
   */
  readFrom?: number;
}

/**
 * The rules engine: a pure function of the facts, the tenant configuration and the as-of instant (R17).
 * Pass the lines already sent (for the same patients) to get the voids and replacements they now need (R16).
 *
 * With a `scope` (one patient's), it decides only the episodes from `scope.from` on, from the facts that can
 * change them (decision-scope.ts): the result for those episodes is the one the whole history gives.
 */
export function decideEpisodes(
  facts: readonly Fact[],
  config: TenantConfig,
  asOf: string,
  sent: readonly ClaimLine[] = [],
  scope?: DecisionScope,
): EngineResult {
  const asOfMillis = toMillis(asOf);
  const roster: Roster = { entries: rosterByPractitioner(config), timezone: config.timezone };
  const byPatient = new Map<string, Fact[]>();
  for (const fact of currentVersions(facts)) {
    const patientFacts = byPatient.get(fact.patientId) ?? [];
    patientFacts.push(fact);
    byPatient.set(fact.patientId, patientFacts);
  }

  const result: EngineResult = {
    episodes: [],
    owed: [],
    unattributed: [],
    unknownClinicianTime: [],
    threads: [],
    missingMessages: [],
  };
  for (const [patientId, patientFacts] of [...byPatient].sort(([a], [b]) => compareStrings(a, b))) {
    const decided = decidePatient(patientId, patientFacts, roster, config, asOfMillis, scope);
    result.episodes.push(...decided.episodes);
    result.unattributed.push(...decided.unattributed);
    result.unknownClinicianTime.push(...decided.unknownClinicianTime);
    result.threads.push(...decided.threads);
    result.missingMessages.push(...decided.missing.map((messageId) => ({ patientId, messageId })));
    if (decided.restartFrom !== undefined)
      result.restartFrom = Math.min(result.restartFrom ?? decided.restartFrom, decided.restartFrom);
    if (decided.readFrom !== undefined)
      result.readFrom = Math.min(result.readFrom ?? decided.readFrom, decided.readFrom);
  }

  const billings: Billing[] = result.episodes.map((episode) => ({
    claimLineId: episode.claimLineId,
    patientId: episode.patientId,
    due: episode.status === "due",
    line: episode.claimLine,
  }));
  const patientIds = new Set(facts.map((fact) => fact.patientId));
  // With a scope, only the lines of episodes it decides again are compared; earlier lines stand.
  const from = scope?.from ?? Number.NEGATIVE_INFINITY;
  // An episode's window is its latest line's (a consult's or photo's window end moves with its facts).
  const latestSent = latestRevisions(sent);
  const inScope = sent.filter((line) => {
    const last = latestSent.get(line.claimLineId) as ClaimLine;
    return decidedAgain(
      familyOfCode(last.procedureCode),
      toMillis(last.windowStart),
      toMillis(last.windowEnd),
      from,
    );
  });
  result.owed = owedLines(billings, inScope, patientIds);
  return result;
}

/**
 * Duplicates collapse to one fact per id: the highest version, ties broken by digest (R17). Retracted versions
 * are kept (R1 must know a message is gone); they decide nothing else.
 */
function currentVersions(facts: readonly Fact[]): Fact[] {
  const latest = new Map<string, Fact>();
  for (const fact of facts) {
    const held = latest.get(fact.id);
    if (held === undefined || supersedes(fact, held)) latest.set(fact.id, fact);
  }
  return [...latest.values()];
}

function decidePatient(
  patientId: string,
  current: readonly Fact[],
  roster: Roster,
  config: TenantConfig,
  asOf: number,
  scope: DecisionScope | undefined,
): {
  episodes: Episode[];
  unattributed: Unattributed[];
  unknownClinicianTime: UnknownClinicianTime[];
  threads: ResolvedThread[];
  missing: string[];
  restartFrom?: number;
  readFrom?: number;
} {
  const from = scope?.from ?? Number.NEGATIVE_INFINITY;
  const facts = current.filter((fact) => !fact.retracted);
  const threads = threadsOf(current, scope?.thread);
  const inquiries = threads.inquiries;
  const attested = attestationsInForce(facts);
  const classified = facts
    .filter((fact) => fact.kind === "clinician-activity" || fact.kind === "time-entry")
    .map((fact) => classifyActivity(fact, roster, attested.mappings.get(fact.id)));
  // R4, R13: only a known counting clinician's time counts, never time another service bills, never zero time.
  const counts = (activity: ClassifiedActivity): boolean =>
    activity.role !== "staff" &&
    activity.role !== "unknown" &&
    activity.fact.seconds > 0 &&
    !(activity.fact.kind === "time-entry" && activity.fact.countedBy !== undefined);
  const zone = config.timezone;
  const enrollments = facts
    .filter((fact): fact is Enrollment => fact.kind === "enrollment")
    .sort((a, b) => compareStrings(a.id, b.id));
  // R24 `care-management-first`: the billing practitioner's own time on a date their enrollment covers goes to
  // care management, never to an e-visit.
  const careManagementFirst = (activity: ClassifiedActivity): boolean => {
    if (config.sharedTime !== "care-management-first") return false;
    const date = localDate(activity.at, zone);
    return enrollments.some(
      (enrollment) =>
        (enrollment.status === "active" || enrollment.status === "finished") &&
        enrollment.billingPractitionerId === activity.practitionerId &&
        enrollment.startDate <= date &&
        (enrollment.endDate === undefined || date <= enrollment.endDate),
    );
  };
  // Counted time before the scope belongs to the windows decided earlier.
  const counted = classified
    .filter(counts)
    .filter((activity) => activity.at >= from && !careManagementFirst(activity));
  // Evidence lists in time order (ties by id), never arrival order (R17).
  const uncounted = [
    ...classified
      .filter((activity) => !counts(activity))
      .map(({ fact, at, mappedBy }) => ({ id: fact.id, at, mappedBy })),
    ...facts
      .filter((fact) => fact.kind === "staff-activity")
      .map((fact) => ({ id: fact.id, at: toMillis(fact.at), mappedBy: undefined })),
  ].sort((a, b) => a.at - b.at || compareStrings(a.id, b.id));
  const unknownTime = classified
    .filter((activity) => activity.role === "unknown" && activity.fact.seconds > 0)
    .sort((a, b) => a.at - b.at || compareStrings(a.fact.id, b.fact.id));

  const earlier = scope?.earlier ?? [];
  /** R7 continued: where the walk's last patient-initiated window before the scope ended. */
  const claimedBefore = (group: string, family: EVisitFamily): number =>
    Math.max(
      Number.NEGATIVE_INFINITY,
      ...earlier
        .filter((w) => w.group === group && w.family === family && w.patientInitiated && w.end <= from)
        .map((w) => w.end),
    );
  const drafts: EpisodeDraft[] = [];
  const groups = [...new Set(counted.map((activity) => activity.group))].sort(compareStrings);
  for (const group of groups) {
    for (const family of eVisitFamilies) {
      const activities = counted.filter((activity) => activity.group === group && activity.role === family);
      if (activities.length > 0)
        drafts.push(
          ...assembleEpisodes(
            patientId,
            group,
            family,
            activities,
            inquiries,
            config,
            claimedBefore(group, family),
          ),
        );
    }
  }
  // The scope is closed when no earlier window is open across its start and no window starts before it.
  const starts = [
    ...earlier.filter((w) => isEVisitFamily(w.family) && w.start < from && from < w.end).map((w) => w.start),
    ...drafts.filter((draft) => draft.start < from).map((draft) => draft.start),
  ];
  const restartFrom = starts.length === 0 ? undefined : Math.min(...starts);

  // R10: only visits that took place count; the latest version of each already won in latestVersions.
  const visits = facts
    .filter((fact): fact is Visit => fact.kind === "visit" && visitTookPlace(fact.status))
    .sort(factsByTime);
  const consents = facts.filter((fact): fact is Consent => fact.kind === "consent").sort(factsByTime);

  const contains = (draft: EpisodeDraft, at: number): boolean => at >= draft.start && at < draft.end;
  // R20: episodes are decided in time order, each seeing those billed before it: decided earlier (the scope's
  // windows) or in this pass.
  const billed: BilledEpisode[] = earlier
    .filter((window) => isEVisitFamily(window.family) && window.start < from)
    .flatMap((window) => (window.billed === undefined ? [] : [window.billed]))
    .sort((a, b) => compareStrings(a.serviceDate, b.serviceDate) || compareStrings(a.episodeId, b.episodeId));
  const ordered = drafts
    .map((draft) => ({
      draft,
      episodeId: `ep_${digest([patientId, draft.group, draft.family, draft.start, draft.patientInitiated])}`,
    }))
    .sort((a, b) => a.draft.start - b.draft.start || compareStrings(a.episodeId, b.episodeId));
  const episodes = ordered.map(({ draft, episodeId }) => {
    const unknownInWindow = unknownTime.filter((activity) => contains(draft, activity.at));
    const decision = decideEpisode(
      draft,
      visits,
      consents,
      unknownInWindow.length > 0,
      config,
      attested.episodes.get(episodeId),
      billed,
    );
    const uncountedInWindow = uncounted.filter(({ at }) => contains(draft, at));
    // R19: the mappings behind the activity the episode holds, and the attestations its decision used.
    const attestations = [
      ...new Set([
        ...decision.evidence.attestations,
        ...[...draft.activities, ...uncountedInWindow].flatMap(({ mappedBy }) =>
          mappedBy === undefined ? [] : [mappedBy],
        ),
      ]),
    ].sort(compareStrings);
    const claimLineId = `cl_${digest(["claim-line", episodeId])}`;
    const status = statusOf(draft.end, asOf, config);
    const rendering = decision.rendering as ClinicianTime;
    const episode: Episode = {
      episodeId,
      claimLineId,
      patientId,
      billingGroup: draft.group,
      family: draft.family,
      windowStart: toIso(draft.start, zone),
      windowEnd: toIso(draft.end, zone),
      openedAt: toIso(draft.openedAt, zone),
      status,
      totalSeconds: decision.totalSeconds,
      totalMinutes: decision.totalMinutes,
      minutesByClinician: decision.clinicians.map(
        ({ practitionerId, credential, npi, seconds, minutes }) => ({
          practitionerId,
          credential,
          npi,
          seconds,
          minutes,
        }),
      ),
      renderingPractitionerId: rendering.practitionerId,
      serviceDate: decision.serviceDate,
      codeSetYear: decision.codeSetYear,
      diagnosisCodes: decision.diagnosisCodes,
      procedureCode: decision.procedureCode,
      chargeCents: decision.chargeCents,
      outcome: decision.outcome,
      reasons: decision.reasons,
      bundledVisit: decision.bundledVisit,
      priorVisitId: decision.priorVisitId,
      ...(decision.priorEpisodeId !== undefined && { priorEpisodeId: decision.priorEpisodeId }),
      evidence: {
        inquiries: draft.inquiries.map(({ fact }) => fact.id),
        counted: draft.activities.map(({ fact }) => fact.id),
        uncounted: uncountedInWindow.map(({ id }) => id),
        visits: decision.evidence.visits,
        consents: decision.evidence.consents,
        ...(attestations.length > 0 && { attestations }),
      },
    };
    if (decision.outcome === "billable") attachLine(episode, rendering.npi, 1, config);
    if (episode.outcome === "billable")
      billed.push({
        episodeId,
        start: draft.start,
        serviceDate: episode.serviceDate,
        diagnosisCodes: episode.diagnosisCodes,
      });
    return episode;
  });

  // The families after the e-visits (R21-R25), in R24's order: each sees what the ones before it billed.
  const familyContext: FamilyContext = {
    patientId,
    config,
    visits,
    consents,
    attestedFor: (family, key) => attested.episodes.get(familyEpisodeId(patientId, family, key)),
  };
  // R24: the e-visit windows decided earlier or in this pass (e-visits are decided first): which bill, and which
  // were folded into a visit (R9: their minutes may count toward the visit's own service).
  const eVisitWindows = [
    ...earlier
      .filter((w) => isEVisitFamily(w.family) && w.start < from)
      .map(({ family, group, start, end, patientInitiated, billed, holdsTime }) => ({
        family,
        group,
        start,
        end,
        bills: patientInitiated && billed !== undefined,
        bundled: patientInitiated && holdsTime === true,
      })),
    ...episodes.map((episode) => ({
      family: episode.family,
      group: episode.billingGroup,
      start: toMillis(episode.windowStart),
      end: toMillis(episode.windowEnd),
      bills: episode.outcome === "billable",
      bundled: episode.outcome === "bundled-into-visit",
    })),
  ];
  /**
   * R16, R24: a later family's episode settles only once every e-visit window its time can fall in has: until
   * then whether that e-visit bills (and so what the episode may count) can still change.
   */
  const settlesAfter = (start: number, end: number): number =>
    Math.max(end, ...eVisitWindows.filter((w) => w.start < end && w.end > start).map((w) => w.end));
  /**
   * R24: whether a clinician's work falls in an e-visit episode that bills (or, `orBundled`, that was folded into a
   * visit): a window of the clinician's family and group holds everything in it (R7), a message without documented
   * time included. Under `care-management-first` the billing practitioner's own time is care management's, never
   * an e-visit's.
   */
  const heldByEVisit = (activity: ClassifiedActivity, orBundled: boolean): boolean =>
    !careManagementFirst(activity) &&
    eVisitWindows.some(
      (w) =>
        (w.bills || (orBundled && w.bundled)) &&
        w.family === activity.role &&
        w.group === activity.group &&
        w.start <= activity.at &&
        activity.at < w.end,
    );
  // R21: never for work the e-visit holding it bills.
  const heldByBilledEVisit = (activity: ClassifiedActivity): boolean => heldByEVisit(activity, false);
  const clinicianWork = classified.filter(
    (activity) => isEVisitFamily(activity.role) && activity.fact.kind === "clinician-activity",
  );
  const images = decideImageReviews(
    { inquiries, activities: clinicianWork, messages: current, heldByBilledEVisit },
    familyContext,
  );
  const imageBilled = new Set(
    images
      .filter((image) => primaryOutcome(image.applicable).outcome === "billable")
      .flatMap((image) => image.evidence.counted),
  );
  // R24: what care management may count, and what it may not because another family's billed line holds it.
  const careTime: CareTime[] = [];
  const countedElsewhere: Array<{ factId: string; at: number }> = [];
  for (const fact of enrollments.length === 0 ? [] : facts) {
    if (fact.kind === "staff-activity" && fact.seconds > 0)
      careTime.push({
        factId: fact.id,
        at: toMillis(fact.at),
        personId: fact.staffId,
        credential: "STAFF",
        seconds: fact.seconds,
      });
  }
  // A patient without an enrollment has no care-management month: nothing to gather (most patients, every run).
  for (const activity of enrollments.length === 0 ? [] : classified) {
    if (activity.role === "unknown" || activity.fact.seconds <= 0) continue;
    const time = {
      factId: activity.fact.id,
      at: activity.at,
      personId: activity.practitionerId,
      credential: activity.credential as string,
      seconds: activity.fact.seconds,
    };
    if (activity.fact.kind === "time-entry" && activity.fact.countedBy !== undefined) {
      const service = careServices[activity.fact.countedBy];
      if (service !== undefined) careTime.push({ ...time, service });
      continue;
    }
    // R24: not what a billed e-visit or image review counts, nor an e-visit's minutes folded into a visit (R9).
    if (activity.role !== "staff" && (heldByEVisit(activity, true) || imageBilled.has(activity.fact.id)))
      countedElsewhere.push({ factId: time.factId, at: time.at });
    else careTime.push(time);
  }
  const careMonths = decideCareManagement(
    { enrollments, time: careTime, countedElsewhere, roster: roster.entries },
    familyContext,
  );
  const consults = decideConsults(
    {
      requests: facts.filter((fact): fact is ConsultRequest => fact.kind === "consult-request"),
      reports: facts.filter((fact): fact is ConsultReport => fact.kind === "consult-report"),
      roster: roster.entries,
    },
    familyContext,
  );
  // With a scope, only the episodes it reaches are decided again (decision-scope.ts `decidedAgain`).
  for (const outcome of [...images, ...careMonths, ...consults]) {
    if (!decidedAgain(outcome.family, outcome.start, outcome.end, from)) continue;
    episodes.push(familyEpisode(outcome, settlesAfter(outcome.start, outcome.end), patientId, asOf, config));
  }
  let readFrom: number | undefined;
  if (scope !== undefined) {
    // A month that starts before the scope is decided whole: its facts from its start (and R1's look-back).
    const monthStart = localMonthStart(from, zone);
    const needs = [
      ...(enrolledFrom(enrollments, localDate(monthStart, zone)) ? [scopeReach(monthStart, config)] : []),
      // R25: the consultant's visits in the 14 days before a request decided again.
      ...consults
        .filter((outcome) => decidedAgain(outcome.family, outcome.start, outcome.end, from))
        .map((outcome) => outcome.start - (CONSULT_EXCLUSION_DAYS + 2) * DAY),
    ];
    if (needs.length > 0) readFrom = Math.min(...needs);
  }

  const unattributed = unknownTime
    .filter((activity) => activity.at >= from && !drafts.some((draft) => contains(draft, activity.at)))
    .map((activity) => ({ factId: activity.fact.id, patientId, reason: "unknown-clinician" as const }));
  episodes.sort(
    (a, b) => toMillis(a.windowStart) - toMillis(b.windowStart) || compareStrings(a.episodeId, b.episodeId),
  );
  return {
    episodes,
    unattributed,
    unknownClinicianTime: unknownTime
      .filter((activity) => activity.at >= from)
      .map((activity) => ({
        factId: activity.fact.id,
        patientId,
        practitionerId: activity.practitionerId,
        at: activity.at,
        seconds: activity.fact.seconds,
      })),
    threads: [...threads.roots]
      .sort(([a], [b]) => compareStrings(a, b))
      .map(([messageId, root]) => ({ patientId, messageId, root })),
    missing: threads.missing,
    restartFrom,
    readFrom,
  };
}

/** R13, R24: the care-management program a time entry marked as another service's counts toward, if any. */
const careServices: Partial<Record<string, "ccm" | "pcm">> = {
  "chronic-care-management": "ccm",
  "principal-care-management": "pcm",
};

const statusOf = (end: number, asOf: number, config: TenantConfig): EpisodeStatus =>
  asOf < end ? "open" : asOf < end + config.settleHours * HOUR ? "settling" : "due";

const familyEpisodeId = (patientId: string, family: Family, key: readonly (string | number)[]): string =>
  `ep_${digest([patientId, family, ...key])}`;

/** An episode of the families after the e-visits, named and with its line, like an e-visit's. */
function familyEpisode(
  outcome: FamilyOutcome,
  settles: number,
  patientId: string,
  asOf: number,
  config: TenantConfig,
): Episode {
  const zone = config.timezone;
  const episodeId = familyEpisodeId(patientId, outcome.family, outcome.key);
  const { outcome: decided, reasons: listed } = primaryOutcome(outcome.applicable);
  const { attestations, ...evidence } = outcome.evidence;
  const episode: Episode = {
    episodeId,
    claimLineId: `cl_${digest(["claim-line", episodeId])}`,
    patientId,
    billingGroup: outcome.group,
    family: outcome.family,
    windowStart: toIso(outcome.start, zone),
    windowEnd: toIso(outcome.end, zone),
    openedAt: toIso(outcome.openedAt, zone),
    status: statusOf(settles, asOf, config),
    ...(settles > outcome.end && { settlesAfter: toIso(settles, zone) }),
    totalSeconds: outcome.totalSeconds,
    totalMinutes: outcome.totalMinutes,
    minutesByClinician: outcome.clinicians,
    renderingPractitionerId: outcome.renderingPractitionerId,
    serviceDate: outcome.serviceDate,
    codeSetYear: Number(outcome.serviceDate.slice(0, 4)),
    diagnosisCodes: outcome.diagnosisCodes,
    procedureCode: outcome.procedureCode,
    units: outcome.units,
    chargeCents: outcome.chargeCents,
    outcome: decided,
    reasons: listed,
    bundledVisit: outcome.bundledVisit,
    priorVisitId: outcome.priorVisitId,
    evidence: { ...evidence, ...(attestations.length > 0 && { attestations }) },
  };
  if (decided === "billable") attachLine(episode, outcome.renderingNpi, outcome.units, config);
  return episode;
}

/**
 * The original line a billable episode owes. DOMAIN "Claim line": a line that fails the published contract is
 * never sent; its episode is `needs-review` (`invalid-claim-line`) with the failing field's path.
 */
function attachLine(episode: Episode, npi: string | undefined, units: number, config: TenantConfig): void {
  const line = {
    // The lowest contract version that carries it: an e-visit line stays 1.0 (its resend is byte for byte).
    schemaVersion: claimLineVersionFor({ units, totalMinutes: episode.totalMinutes }),
    claimLineId: episode.claimLineId,
    revision: 0,
    action: "original",
    episodeId: episode.episodeId,
    patientId: episode.patientId,
    billingGroup: episode.billingGroup,
    procedureCode: episode.procedureCode as string,
    modifiers: [], // R14: never 95/GT; these are not telehealth services.
    units,
    serviceDate: episode.serviceDate,
    placeOfService: config.placeOfService,
    renderingProviderNpi: npi as string,
    diagnosisCodes: episode.diagnosisCodes,
    totalMinutes: episode.totalMinutes,
    windowStart: episode.windowStart,
    windowEnd: episode.windowEnd,
    chargeCents: episode.chargeCents as number,
    codeSetYear: episode.codeSetYear,
  } as ClaimLine;
  const checked = claimLineSchema.safeParse(line);
  if (checked.success) {
    episode.claimLine = line;
    return;
  }
  const issue = checked.error.issues[0];
  episode.outcome = "needs-review";
  episode.reasons = ["invalid-claim-line"];
  episode.invalidClaimLine = { path: issue?.path.join(".") || "(root)", reason: issue?.message ?? "invalid" };
}

const digest = (parts: readonly unknown[]): string =>
  createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
