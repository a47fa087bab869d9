import { type Family, familyRules, isEVisitFamily } from "./code-table.js";
import type { TenantConfig } from "./config.js";
import { CONSULT_EXCLUSION_DAYS, CONSULT_REPORT_DAYS } from "./consults.js";
import { type ThreadContext, windowOf } from "./episodes.js";
import type { Fact } from "./facts.js";
import { type BilledEpisode, PRIOR_E_VISIT_DAYS } from "./outcome.js";
import { DAY, END_OF_TIME, localMidnight, toMillis } from "./time.js";

/**
 * Deciding one patient from a point in time on, with only the facts that can change what is decided there
 * (ARCHITECTURE.md invariant 9, docs/STORE.md "Bounded reads"). Windows are assembled forward in time (R2, R3,
 * R7): a window that starts before a change is the same window after it. So after a change at instant T, the
 * episodes to decide are those from `decisionStart(T)` on, and what came before enters only as the windows
 * already decided (where R7's claim on inquiries ends) and the reply chains R1 walks.
 */

/** A window an earlier decision produced, as the store keeps it: enough to continue the R7 walk after it. */
export interface DecidedWindow {
  group: string;
  family: Family;
  /** Epoch ms, [start, end). */
  start: number;
  end: number;
  patientInitiated: boolean;
  /** R20: set when the episode billed, what a later episode compares itself to. */
  billed?: BilledEpisode;
  /** R24: an e-visit folded into a visit (R9): its minutes may count toward the visit, so no other family counts them. */
  holdsTime?: boolean;
}

export interface DecisionScope {
  /** Episodes are decided from this instant (epoch ms) on; facts before it shape nothing but R1's chains. */
  from: number;
  /** The windows decided earlier that end at or before `from` (those after are decided again). */
  earlier: readonly DecidedWindow[];
  /** Reply chains reaching back before the facts in scope (R1). */
  thread?: ThreadContext;
}

/**
 * Where a decision starts after a change at `changedAt` (epoch ms): the start of the window a fact there could
 * open (R3: the local day in calendar mode), moved back to the start of any decided window open across it until
 * none is. Deciding from there gives exactly the episodes a decision over the whole history gives.
 */
export function decisionStart(
  changedAt: number,
  decided: readonly DecidedWindow[],
  config: TenantConfig,
): number {
  let from = windowOf(changedAt, config).start;
  // Only the e-visits' walk (R7) carries from one window to the next; the other families' windows are fixed by
  // their own facts and are decided again whenever they reach into the scope (`decidedAgain`).
  const walked = decided.filter((window) => isEVisitFamily(window.family));
  for (;;) {
    const open = walked.filter((window) => window.start < from && from < window.end);
    if (open.length === 0) return from;
    from = Math.min(...open.map((window) => window.start));
  }
}

/**
 * Whether a decision from `from` decides an episode with this window again. The e-visits' windows from `from` on
 * (R7's walk; none is open across it); the windows of the other families (a month, an inquiry's follow-up time,
 * a consult) whenever they end after it, since a change inside one changes it whole.
 */
export const decidedAgain = (family: Family, start: number, end: number, from: number): boolean =>
  familyRules[family].window === "7-day" ? start >= from : end > from;

/**
 * The earliest `reach` (see `factReach`) a fact or decided window may have and still matter to a decision
 * from `from`: R1's inquiry look-back before it, and R20's week before it for episodes billed. Facts rules look back to further reach further themselves.
 */
export const scopeReach = (from: number, config: TenantConfig): number =>
  Math.min(
    from - config.inquiryLookbackDays * DAY,
    // R20: episodes billed with a date of service on or after the local day 7 days before the start. A record's
    // reach is its window end less a millisecond, and a window ending at that midnight has its date of service
    // before it: so exactly that midnight, whatever the window mode or a DST change in between.
    config.priorEVisit === "needs-review"
      ? localMidnight(from, config.timezone, -PRIOR_E_VISIT_DAYS)
      : Number.POSITIVE_INFINITY,
    // R21: a photo inquiry's window (24 business hours across a weekend, and a day) can reach into the scope from
    // up to four days before it; its inquiry decides which work is its evaluation.
    config.imageReview === "off" ? Number.POSITIVE_INFINITY : from - IMAGE_WINDOW_REACH,
  );

/** R21: the longest image-review window (Friday's 24 business hours end on Monday, then a day), and a day for DST. */
const IMAGE_WINDOW_REACH = 5 * DAY;

/** R8: visits in the 7 local days before a window start, plus a day for a DST-lengthened week. */
const VISIT_REACH = 8 * DAY;
/** R11 with the default validity (365 days), plus a day. A longer validity reads further (`lookbackSince`). */
export const DEFAULT_CONSENT_REACH_DAYS = 366;
const CONSENT_REACH = DEFAULT_CONSENT_REACH_DAYS * DAY;
/** R22: a month and a day after an enrollment's last date: the month it ends in is decided whole. */
const ENROLLMENT_AFTER_END = 33 * DAY;
/** R12: a known visit within three calendar years before a window start. */
const KNOWN_VISIT_LOOKBACK = (3 * 366 + 1) * DAY;

/**
 * The last instant up to which a decision may need this fact under the default policies: its own time for
 * messages, activity and time entries (they matter to the window they fall in, and to R1's look-back after
 * them, which `scopeReach` covers), a week more for visits (R8) and a year more for consents (R11); attestations
 * (R19) their own time, when attested, which is never before the episode or activity they resolve. The store
 * reads a patient's facts by reach, so a decision never reads a fact it cannot need, and never misses one it
 * can; policies that look back further (R12's known visit, a consent valid for longer) add `lookbackSince`.
 */
export function factReach(fact: Fact): number {
  const at = toMillis(fact.at);
  if (fact.kind === "visit") return at + VISIT_REACH;
  if (fact.kind === "consent") return at + CONSENT_REACH;
  // R22: an enrollment matters to every month it runs; an open one always (a month past its end date needs it
  // no more: the local date's instant plus a month and a day, whatever the zone).
  if (fact.kind === "enrollment")
    return fact.endDate === undefined ? END_OF_TIME : Date.parse(fact.endDate) + ENROLLMENT_AFTER_END;
  // R25: a request matters until its consult's window ends (a report up to 30 days later, the 14 local days after
  // it, and a day for the local day's end and DST).
  if (fact.kind === "consult-request") return at + (CONSULT_REPORT_DAYS + CONSULT_EXCLUSION_DAYS + 2) * DAY;
  if (fact.kind === "consult-report") return at + (CONSULT_EXCLUSION_DAYS + 2) * DAY;
  return at;
}

/** Facts a rule looks back to beyond their reach: visits (R12) and consents (R11), by their own time. */
export const looksBack = (fact: Fact): boolean => fact.kind === "visit" || fact.kind === "consent";

/**
 * With policies that look back further than `factReach` covers, the instant from which visits and consents are
 * needed as well (R12 `require-known-visit`: three years; R11 with a validity over 365 days: that validity);
 * undefined under the defaults. The store reads those from a sparse index of visits and consents by time.
 */
export function lookbackSince(from: number, config: TenantConfig): number | undefined {
  const since: number[] = [];
  if (config.establishedPatient === "require-known-visit") since.push(from - KNOWN_VISIT_LOOKBACK);
  if (config.consent === "required" && config.consentValidityDays + 1 > DEFAULT_CONSENT_REACH_DAYS)
    since.push(from - (config.consentValidityDays + 1) * DAY);
  return since.length === 0 ? undefined : Math.min(...since);
}

/** Whether a decision from `from` needs this fact: by its reach, or by a policy that looks back further. */
export function inScope(fact: Fact, from: number, config: TenantConfig): boolean {
  if (factReach(fact) >= scopeReach(from, config)) return true;
  const since = lookbackSince(from, config);
  return since !== undefined && looksBack(fact) && toMillis(fact.at) >= since;
}
