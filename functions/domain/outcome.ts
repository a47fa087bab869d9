import { DateTime } from "luxon";
import type { EpisodeAttestations } from "./attestations.js";
import { familyHasTimedCodes, timedCodeFor } from "./code-table.js";
import { feesOn, type TenantConfig } from "./config.js";
import { compareStrings, type EpisodeDraft } from "./episodes.js";
import type { Consent, Visit } from "./facts.js";
import { HOUR, localDate, localMidnight, minusYears, toMillis } from "./time.js";

/**
 * Why an episode ended as it did. The needs-review reasons are the last nine. The reasons of the families after
 * e-visits (R21-R25): `counted-elsewhere` (the work is another family's billed line, R24, or another program
 * bills the month, R22), `transfer-of-care` and `frequency-limit` (R25), `no-follow-up` (R21), and
 * `enrollment-incomplete` (R22: too few chronic conditions for the program, or no care plan by the month's end).
 */
export const reasons = [
  "not-patient-initiated",
  "unsupported-date",
  "do-not-bill",
  "counted-elsewhere",
  "transfer-of-care",
  "frequency-limit",
  "no-follow-up",
  "bundled-into-visit",
  "related-prior-visit",
  "below-threshold",
  "relatedness-unknown",
  "consent-missing",
  "not-established",
  "unknown-clinician",
  "diagnosis-missing",
  "prior-e-visit",
  "enrollment-incomplete",
  "invalid-claim-line",
  "fee-missing",
] as const;
export type Reason = (typeof reasons)[number];

export const outcomes = [
  "not-patient-initiated",
  "unsupported-date",
  "do-not-bill",
  "counted-elsewhere",
  "transfer-of-care",
  "frequency-limit",
  "no-follow-up",
  "bundled-into-visit",
  "related-prior-visit",
  "below-threshold",
  "needs-review",
  "billable",
] as const;
export type Outcome = (typeof outcomes)[number];

const needsReview: ReadonlySet<Reason> = new Set([
  "relatedness-unknown",
  "consent-missing",
  "not-established",
  "unknown-clinician",
  "diagnosis-missing",
  "prior-e-visit",
  "enrollment-incomplete",
  "invalid-claim-line",
  "fee-missing",
]);

/** Outcome precedence (DOMAIN.md "Outcomes"): the first applicable reason decides, all are listed. */
export function primaryOutcome(applicable: ReadonlySet<Reason>): { outcome: Outcome; reasons: Reason[] } {
  const listed = reasons.filter((reason) => applicable.has(reason));
  const first = listed[0];
  if (first === undefined) return { outcome: "billable", reasons: [] };
  return { outcome: needsReview.has(first) ? "needs-review" : (first as Outcome), reasons: listed };
}

export interface ClinicianTime {
  practitionerId: string;
  credential: string;
  npi?: string;
  seconds: number;
  minutes: number;
  firstActivityAt: number;
}

export interface Decision {
  totalSeconds: number;
  /** R6: the sum of seconds, floored to whole minutes. */
  totalMinutes: number;
  clinicians: ClinicianTime[];
  rendering?: ClinicianTime;
  serviceDate: string;
  codeSetYear: number;
  diagnosisCodes: string[];
  procedureCode?: string;
  chargeCents?: number;
  outcome: Outcome;
  reasons: Reason[];
  bundledVisit?: { visitId: string; minutes: number };
  priorVisitId?: string;
  /** R20: the billed episode this one follows within 7 days for a related problem (or one not known to differ). */
  priorEpisodeId?: string;
  /** `attestations`: the R19 attestations this decision used. */
  evidence: { visits: string[]; consents: string[]; attestations: string[] };
}

const MAX_DIAGNOSES = 12;

export const icdCategory = (code: string): string => code.replace(".", "").slice(0, 3).toUpperCase();

/** R20: an episode that billed, as a later episode of the same patient sees it. */
export interface BilledEpisode {
  episodeId: string;
  /** Its window's start (epoch ms): only an episode that started before this one can be its prior e-visit. */
  start: number;
  /** Practice-local YYYY-MM-DD. */
  serviceDate: string;
  diagnosisCodes: readonly string[];
}

const laterBilled = (a: BilledEpisode, b: BilledEpisode): boolean =>
  a.serviceDate !== b.serviceDate
    ? a.serviceDate > b.serviceDate
    : a.start !== b.start
      ? a.start > b.start
      : compareStrings(a.episodeId, b.episodeId) > 0;

/** R20: how many days after a billed episode's date of service a window start is a prior e-visit's. */
export const PRIOR_E_VISIT_DAYS = 7;

/**
 * R8's relatedness: any shared ICD-10-CM category; unknown when either side has no codes. A biller's decision
 * about the visit (R19) settles it whatever the codes show: a person can see a relation the categories miss.
 */
export function relatedness(
  visit: Pick<Visit, "id" | "diagnosisCodes">,
  diagnosisCodes: readonly string[],
  attested: EpisodeAttestations | undefined,
  used: Set<string>,
): "related" | "unrelated" | "unknown" {
  const decided = attested?.relatedness.get(visit.id);
  if (decided !== undefined) {
    used.add(decided.attestationId);
    return decided.related ? "related" : "unrelated";
  }
  if (visit.diagnosisCodes.length === 0 || diagnosisCodes.length === 0) return "unknown";
  const categories = new Set(diagnosisCodes.map(icdCategory));
  return visit.diagnosisCodes.some((code) => categories.has(icdCategory(code))) ? "related" : "unrelated";
}

/**
 * Decides one episode, rule by rule. `visits` are the patient's visits that took place (R10, latest version
 * already chosen), `consents` the patient's latest consents, both sorted by time; `attested` what the
 * attestations in force say about this episode (R19).
 */
export function decideEpisode(
  draft: EpisodeDraft,
  visits: readonly Visit[],
  consents: readonly Consent[],
  unknownClinicianActivity: boolean,
  config: TenantConfig,
  attested?: EpisodeAttestations,
  billedBefore: readonly BilledEpisode[] = [],
): Decision {
  const zone = config.timezone;
  const clinicians = clinicianTimes(draft);
  const totalSeconds = clinicians.reduce((sum, clinician) => sum + clinician.seconds, 0);
  const totalMinutes = Math.floor(totalSeconds / 60);
  const rendering = renderingClinician(draft, clinicians, config);
  const serviceDate = serviceDateOf(draft, config);
  const used = new Set<string>();
  // R19: codes a biller supplied follow those the messages carry.
  if (attested?.diagnoses !== undefined) used.add(attested.diagnoses.attestationId);
  // R8: relatedness looks at every diagnosis of the episode; the claim line carries the first 12.
  const allDiagnoses = diagnosesOf(draft, attested?.diagnoses?.diagnosisCodes ?? []);
  const diagnosisCodes = allDiagnoses.slice(0, MAX_DIAGNOSES);
  const applicable = new Set<Reason>();
  const evidenceVisits: string[] = [];

  if (!draft.patientInitiated) applicable.add("not-patient-initiated"); // R1
  if (!familyHasTimedCodes(draft.family, serviceDate)) applicable.add("unsupported-date");
  if (attested?.doNotBill !== undefined) {
    used.add(attested.doNotBill.attestationId);
    applicable.add("do-not-bill"); // R19
  }

  // R9: a visit that took place within the window absorbs the online work (the earliest such visit).
  // Every visit in range is examined so the listed reasons never depend on the order of the facts (R17).
  let bundledVisit: Decision["bundledVisit"];
  for (const visit of visits) {
    const at = toMillis(visit.at);
    if (at < draft.start || at >= draft.end) continue;
    const related =
      config.laterVisit === "any-visit" ? "related" : relatedness(visit, allDiagnoses, attested, used);
    // A visit whose relatedness is unknown is evidence too: the biller decides it (R19) by its id.
    if (related === "unknown") {
      applicable.add("relatedness-unknown");
      evidenceVisits.push(visit.id);
    }
    if (related === "related" && bundledVisit === undefined) {
      bundledVisit = { visitId: visit.id, minutes: totalMinutes };
      evidenceVisits.push(visit.id);
      applicable.add("bundled-into-visit");
    }
  }

  // R8: a related visit in the 7 days before the window start (the latest such visit is named).
  const priorVisitId = priorRelatedVisit(
    draft.start,
    visits,
    allDiagnoses,
    config,
    attested,
    used,
    applicable,
    evidenceVisits,
  );

  // R20: a billed episode (any group or family) whose date of service is at most 7 local days before this window
  // starts, for a related problem (R8's relatedness; a biller's decision about that episode settles it). Not known
  // to differ is treated as related: paying twice for one problem is what the edit exists to stop.
  let priorEpisodeId: string | undefined;
  if (config.priorEVisit === "needs-review") {
    const startDate = localDate(draft.start, zone);
    const earliest = DateTime.fromISO(startDate, { zone })
      .minus({ days: PRIOR_E_VISIT_DAYS })
      .toISODate() as string;
    // Of several, the one named is fixed by its own fields (latest date of service, then window start, then id),
    // never by the order the episodes came in (R17).
    let named: BilledEpisode | undefined;
    for (const prior of billedBefore) {
      // Episodes opened the same instant (two families answering one inquiry, R5) follow neither one another.
      if (prior.start >= draft.start) continue;
      if (prior.serviceDate > startDate || prior.serviceDate < earliest) continue;
      const related = relatedness(
        { id: prior.episodeId, diagnosisCodes: [...prior.diagnosisCodes] },
        allDiagnoses,
        attested,
        used,
      );
      if (related === "unrelated") continue;
      if (named === undefined || laterBilled(prior, named)) named = prior;
    }
    if (named !== undefined) {
      priorEpisodeId = named.episodeId;
      applicable.add("prior-e-visit");
    }
  }

  if (totalMinutes < 5) applicable.add("below-threshold"); // R6

  // R11: an active consent dated within the validity period (local calendar days) before the window start, and
  // at the latest by the first counted clinician activity.
  const firstActivity = Math.min(...draft.activities.map((activity) => activity.at));
  const evidenceConsents = consentFor(
    draft.start,
    firstActivity,
    consents,
    config,
    attested,
    used,
    applicable,
  );

  // R12: with `require-known-visit`, a visit that took place in the 3 years before the window start.
  if (config.establishedPatient === "require-known-visit") {
    const since = minusYears(draft.start, zone, 3);
    const known = visits.find((visit) => {
      const at = toMillis(visit.at);
      return at >= since && at < draft.start;
    });
    if (known === undefined) applicable.add("not-established");
    else evidenceVisits.push(known.id);
  }

  // R4: an unknown author's time in the window, or a rendering clinician the claim cannot name.
  if (unknownClinicianActivity || rendering?.npi === undefined) applicable.add("unknown-clinician");
  if (diagnosisCodes.length === 0) applicable.add("diagnosis-missing");

  const code = timedCodeFor(draft.family, totalMinutes, serviceDate);
  // R18: priced with the schedule in force on the date of service; a code it has no fee for cannot be billed.
  const fee = code === undefined ? undefined : feesOn(config, serviceDate)[code.code];
  if (code !== undefined && fee === undefined) applicable.add("fee-missing");
  const { outcome, reasons: listed } = primaryOutcome(applicable);
  return {
    totalSeconds,
    totalMinutes,
    clinicians,
    rendering,
    serviceDate,
    codeSetYear: Number(serviceDate.slice(0, 4)),
    diagnosisCodes,
    procedureCode: code?.code,
    chargeCents: fee,
    outcome,
    reasons: listed,
    bundledVisit,
    priorVisitId,
    ...(priorEpisodeId !== undefined && { priorEpisodeId }),
    evidence: {
      visits: [...new Set(evidenceVisits)],
      consents: evidenceConsents,
      attestations: [...used].sort(compareStrings),
    },
  };
}

/**
 * R8: the latest visit in the 7 days before `before` (the seven local days in calendar-days mode, 168 hours in
 * rolling mode) that addressed a related problem: its id, with `related-prior-visit` added; a visit whose
 * relatedness is unknown adds `relatedness-unknown`. Every visit looked at is pushed to `evidenceVisits`.
 */
export function priorRelatedVisit(
  before: number,
  visits: readonly Visit[],
  diagnosisCodes: readonly string[],
  config: TenantConfig,
  attested: EpisodeAttestations | undefined,
  used: Set<string>,
  applicable: Set<Reason>,
  evidenceVisits: string[],
): string | undefined {
  const priorFrom =
    config.windowMode === "calendar-days" ? localMidnight(before, config.timezone, -7) : before - 168 * HOUR;
  let priorVisitId: string | undefined;
  for (const visit of [...visits].reverse()) {
    const at = toMillis(visit.at);
    if (at < priorFrom || at >= before) continue;
    const related = relatedness(visit, diagnosisCodes, attested, used);
    if (related === "unknown") {
      applicable.add("relatedness-unknown");
      evidenceVisits.push(visit.id);
    }
    if (related === "related" && priorVisitId === undefined) {
      priorVisitId = visit.id;
      evidenceVisits.push(visit.id);
      applicable.add("related-prior-visit");
    }
  }
  return priorVisitId;
}

/**
 * R11: an active consent dated within the validity period (local calendar days) before `windowStart`, and at the
 * latest by `by` (the first counted work); else one a biller recorded (R19) on a local day R11 accepts; else
 * `consent-missing` is added. Returns the consent facts used.
 */
export function consentFor(
  windowStart: number,
  by: number,
  consents: readonly Consent[],
  config: TenantConfig,
  attested: EpisodeAttestations | undefined,
  used: Set<string>,
  applicable: Set<Reason>,
): string[] {
  if (config.consent !== "required") return [];
  const zone = config.timezone;
  const validFrom = localMidnight(windowStart, zone, -config.consentValidityDays);
  const consent = consents.find((c) => {
    const at = toMillis(c.at);
    return c.status === "active" && at >= validFrom && at <= by;
  });
  if (consent !== undefined) return [consent.id];
  const recorded = attested?.consent;
  const recordedAt = recorded && DateTime.fromISO(recorded.consentDate, { zone }).startOf("day").toMillis();
  if (recorded && recordedAt !== undefined && recordedAt >= validFrom && recordedAt <= by)
    used.add(recorded.attestationId);
  else applicable.add("consent-missing");
  return [];
}

/** R5: minutes per counting clinician, most first (ties: the earliest activity, then the id). */
function clinicianTimes(draft: EpisodeDraft): ClinicianTime[] {
  const byClinician = new Map<string, ClinicianTime>();
  for (const activity of draft.activities) {
    const time = byClinician.get(activity.practitionerId) ?? {
      practitionerId: activity.practitionerId,
      credential: activity.credential as string,
      npi: activity.npi,
      seconds: 0,
      minutes: 0,
      firstActivityAt: activity.at,
    };
    time.seconds += activity.fact.seconds;
    time.minutes = Math.floor(time.seconds / 60);
    byClinician.set(activity.practitionerId, time);
  }
  return [...byClinician.values()].sort(
    (a, b) =>
      b.seconds - a.seconds ||
      a.firstActivityAt - b.firstActivityAt ||
      (a.practitionerId < b.practitionerId ? -1 : 1),
  );
}

function renderingClinician(
  draft: EpisodeDraft,
  clinicians: readonly ClinicianTime[],
  config: TenantConfig,
): ClinicianTime | undefined {
  if (config.renderingProvider === "most-minutes") return clinicians[0];
  const first = draft.activities[0];
  return clinicians.find((clinician) => clinician.practitionerId === first?.practitionerId);
}

/** R15: the local date of service the policy names. */
function serviceDateOf(draft: EpisodeDraft, config: TenantConfig): string {
  const zone = config.timezone;
  switch (config.dateOfService) {
    case "window-start":
      return localDate(draft.start, zone);
    case "window-end":
      return localDate(draft.end - 1, zone);
    case "last-activity": {
      const last = Math.max(...draft.activities.map((activity) => activity.at));
      return localDate(last, zone);
    }
  }
}

/** Diagnosis codes of the inquiries and counted activity, in order of first appearance, then `supplied`. */
function diagnosesOf(draft: EpisodeDraft, supplied: readonly string[]): string[] {
  const sources = [
    ...draft.inquiries.map(({ fact, at }) => ({ at, id: fact.id, codes: fact.diagnosisCodes })),
    ...draft.activities.map(({ fact, at }) => ({ at, id: fact.id, codes: fact.diagnosisCodes })),
  ].sort((a, b) => a.at - b.at || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const codes = new Set<string>();
  for (const source of sources) for (const code of source.codes) codes.add(code.toUpperCase());
  for (const code of supplied) codes.add(code.toUpperCase());
  return [...codes];
}
