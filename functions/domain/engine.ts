import { createHash } from "node:crypto";
import { type Billing, owedLines } from "./adjustments.js";
import { type ClaimLine, claimLineSchemaVersion } from "./claim-line.js";
import { type Family, families } from "./code-table.js";
import type { RosterEntry, TenantConfig } from "./config.js";
import {
  assembleEpisodes,
  type ClassifiedActivity,
  classifyActivity,
  compareStrings,
  type EpisodeDraft,
  patientInitiatedInquiries,
} from "./episodes.js";
import { supersedes } from "./fact-digest.js";
import { type Consent, type Fact, type Visit, visitTookPlace } from "./facts.js";
import { type ClinicianTime, decideEpisode, type Outcome, type Reason } from "./outcome.js";
import { HOUR, toIso, toMillis } from "./time.js";

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
  chargeCents?: number;
  outcome: Outcome;
  reasons: Reason[];
  bundledVisit?: { visitId: string; minutes: number };
  priorVisitId?: string;
  /** The fact ids the decision used: inquiries, counted activity, activity seen but not counted, visits, consents. */
  evidence: {
    inquiries: string[];
    counted: string[];
    uncounted: string[];
    visits: string[];
    consents: string[];
  };
  /** The line this episode owes as an original when billable. */
  claimLine?: ClaimLine;
}

/** Facts that fall in no episode but need a person: time by an unknown clinician outside any window (R4). */
export interface Unattributed {
  factId: string;
  patientId: string;
  reason: "unknown-clinician";
}

export interface EngineResult {
  episodes: Episode[];
  /** The claim lines owed now: originals of due billable episodes and R16 adjustments of what was sent. */
  owed: ClaimLine[];
  unattributed: Unattributed[];
}

/**
 * The rules engine: a pure function of the facts, the tenant configuration and the as-of instant (R17).
 * Pass the lines already sent (for the same patients) to get the voids and replacements they now need (R16).
 */
export function decideEpisodes(
  facts: readonly Fact[],
  config: TenantConfig,
  asOf: string,
  sent: readonly ClaimLine[] = [],
): EngineResult {
  const asOfMillis = toMillis(asOf);
  const roster = new Map(config.roster.map((entry) => [entry.practitionerId, entry]));
  const byPatient = new Map<string, Fact[]>();
  for (const fact of latestVersions(facts)) {
    const patientFacts = byPatient.get(fact.patientId) ?? [];
    patientFacts.push(fact);
    byPatient.set(fact.patientId, patientFacts);
  }

  const episodes: Episode[] = [];
  const unattributed: Unattributed[] = [];
  for (const [patientId, patientFacts] of [...byPatient].sort(([a], [b]) => compareStrings(a, b))) {
    const decided = decidePatient(patientId, patientFacts, roster, config, asOfMillis);
    episodes.push(...decided.episodes);
    unattributed.push(...decided.unattributed);
  }

  const billings: Billing[] = episodes.map((episode) => ({
    claimLineId: episode.claimLineId,
    patientId: episode.patientId,
    due: episode.status === "due",
    line: episode.claimLine,
  }));
  const patientIds = new Set(facts.map((fact) => fact.patientId));
  return { episodes, owed: owedLines(billings, sent, patientIds), unattributed };
}

/** Duplicates collapse to one fact per id: the highest version, ties broken by digest (R17). */
export function latestVersions(facts: readonly Fact[]): Fact[] {
  const latest = new Map<string, Fact>();
  for (const fact of facts) {
    const held = latest.get(fact.id);
    if (held === undefined || supersedes(fact, held)) latest.set(fact.id, fact);
  }
  return [...latest.values()].filter((fact) => !fact.retracted);
}

function decidePatient(
  patientId: string,
  facts: readonly Fact[],
  roster: ReadonlyMap<string, RosterEntry>,
  config: TenantConfig,
  asOf: number,
): { episodes: Episode[]; unattributed: Unattributed[] } {
  const inquiries = patientInitiatedInquiries(facts, roster);
  const classified = facts
    .filter((fact) => fact.kind === "clinician-activity" || fact.kind === "time-entry")
    .map((fact) => classifyActivity(fact, roster));
  // R4, R13: only a known counting clinician's time counts, never time another service bills, never zero time.
  const counts = (activity: ClassifiedActivity): boolean =>
    activity.role !== "staff" &&
    activity.role !== "unknown" &&
    activity.fact.seconds > 0 &&
    !(activity.fact.kind === "time-entry" && activity.fact.countedBy !== undefined);
  const counted = classified.filter(counts);
  // Evidence lists in time order (ties by id), never arrival order (R17).
  const uncounted = [
    ...classified.filter((activity) => !counts(activity)).map(({ fact, at }) => ({ id: fact.id, at })),
    ...facts
      .filter((fact) => fact.kind === "staff-activity")
      .map((fact) => ({ id: fact.id, at: toMillis(fact.at) })),
  ].sort((a, b) => a.at - b.at || compareStrings(a.id, b.id));
  const unknownTime = classified
    .filter((activity) => activity.role === "unknown" && activity.fact.seconds > 0)
    .sort((a, b) => a.at - b.at || compareStrings(a.fact.id, b.fact.id));

  const drafts: EpisodeDraft[] = [];
  const groups = [...new Set(counted.map((activity) => activity.group))].sort(compareStrings);
  for (const group of groups) {
    for (const family of families) {
      const activities = counted.filter((activity) => activity.group === group && activity.role === family);
      if (activities.length > 0)
        drafts.push(...assembleEpisodes(patientId, group, family, activities, inquiries, config));
    }
  }

  const byTime = <T extends { at: string; id: string }>(a: T, b: T): number =>
    toMillis(a.at) - toMillis(b.at) || compareStrings(a.id, b.id);
  // R10: only visits that took place count; the latest version of each already won in latestVersions.
  const visits = facts
    .filter((fact): fact is Visit => fact.kind === "visit" && visitTookPlace(fact.status))
    .sort(byTime);
  const consents = facts.filter((fact): fact is Consent => fact.kind === "consent").sort(byTime);

  const contains = (draft: EpisodeDraft, at: number): boolean => at >= draft.start && at < draft.end;
  const episodes = drafts.map((draft) => {
    const unknownInWindow = unknownTime.filter((activity) => contains(draft, activity.at));
    const decision = decideEpisode(draft, visits, consents, unknownInWindow.length > 0, config);
    const episodeId = `ep_${digest([patientId, draft.group, draft.family, draft.start, draft.patientInitiated])}`;
    const claimLineId = `cl_${digest(["claim-line", episodeId])}`;
    const settledAt = draft.end + config.settleHours * HOUR;
    const status: EpisodeStatus = asOf < draft.end ? "open" : asOf < settledAt ? "settling" : "due";
    const zone = config.timezone;
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
      evidence: {
        inquiries: draft.inquiries.map(({ fact }) => fact.id),
        counted: draft.activities.map(({ fact }) => fact.id),
        uncounted: uncounted.filter(({ at }) => contains(draft, at)).map(({ id }) => id),
        visits: decision.evidence.visits,
        consents: decision.evidence.consents,
      },
    };
    if (decision.outcome === "billable") {
      episode.claimLine = {
        schemaVersion: claimLineSchemaVersion,
        claimLineId,
        revision: 0,
        action: "original",
        episodeId,
        patientId,
        billingGroup: draft.group,
        procedureCode: decision.procedureCode as string,
        modifiers: [], // R14: never 95/GT; these are not telehealth services.
        units: 1,
        serviceDate: decision.serviceDate,
        placeOfService: config.placeOfService,
        renderingProviderNpi: rendering.npi as string,
        diagnosisCodes: decision.diagnosisCodes,
        totalMinutes: decision.totalMinutes,
        windowStart: episode.windowStart,
        windowEnd: episode.windowEnd,
        chargeCents: decision.chargeCents as number,
        codeSetYear: decision.codeSetYear,
      };
    }
    return episode;
  });

  const unattributed = unknownTime
    .filter((activity) => !drafts.some((draft) => contains(draft, activity.at)))
    .map((activity) => ({ factId: activity.fact.id, patientId, reason: "unknown-clinician" as const }));
  episodes.sort(
    (a, b) => toMillis(a.windowStart) - toMillis(b.windowStart) || compareStrings(a.episodeId, b.episodeId),
  );
  return { episodes, unattributed };
}

const digest = (parts: readonly unknown[]): string =>
  createHash("sha256").update(JSON.stringify(parts)).digest("hex").slice(0, 32);
