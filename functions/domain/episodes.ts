import { credentialRole, type Family } from "./code-table.js";
import type { RosterEntry, TenantConfig } from "./config.js";
import type { ClinicianActivity, Credential, Fact, Inquiry, TimeEntry } from "./facts.js";
import { DAY, HOUR, localMidnight, toMillis } from "./time.js";

/**
 * Assembly of episodes from one patient's facts: who counts (R4, R13), which patient messages are inquiries
 * (R1), and how counted activity falls into 7-day windows (R2, R3, R7). Deciding outcomes is outcome.ts's job.
 */

export type Activity = ClinicianActivity | TimeEntry;

/** An activity with what the roster (or the payload) says of its author. */
export interface ClassifiedActivity {
  fact: Activity;
  at: number;
  practitionerId: string;
  role: Family | "staff" | "unknown";
  credential?: Credential;
  npi?: string;
  group: string;
}

export interface DatedInquiry {
  fact: Inquiry;
  at: number;
}

/** A window of counted activity for one patient, billing group and family, before its outcome is decided. */
export interface EpisodeDraft {
  patientId: string;
  group: string;
  family: Family;
  /** False for time that no inquiry opened: kept as an episode so its outcome (R1) is explained too. */
  patientInitiated: boolean;
  start: number;
  end: number;
  /** The first counted activity (or, with `windowStart: inquiry-sent`, the opening inquiry). */
  openedAt: number;
  activities: ClassifiedActivity[];
  inquiries: DatedInquiry[];
}

const byTimeThenId = <T extends { at: number; fact: { id: string } }>(a: T, b: T): number =>
  a.at - b.at || compareStrings(a.fact.id, b.fact.id);

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** R4: the roster first, else the qualification stated by the payload, else unknown. */
export function classifyActivity(
  fact: Activity,
  roster: ReadonlyMap<string, RosterEntry>,
): ClassifiedActivity {
  const at = toMillis(fact.at);
  const entry = roster.get(fact.practitionerId);
  const credential = entry?.credential ?? fact.qualification;
  if (credential === undefined) {
    return { fact, at, practitionerId: fact.practitionerId, role: "unknown", group: "default" };
  }
  return {
    fact,
    at,
    practitionerId: fact.practitionerId,
    role: credentialRole[credential],
    credential,
    npi: entry?.npi ?? fact.npi,
    group: entry?.group ?? "default",
  };
}

type SenderRole = "patient" | "clinician" | "staff" | "unknown";

/**
 * R1: a patient message is an inquiry only if its reply chain starts with a patient's message. A reply into a
 * thread a clinician or staff member started is not, and neither is a reply whose thread start is unknown:
 * patient initiation must be shown, not assumed (the outcome follows once the missing message arrives).
 */
export function patientInitiatedInquiries(
  facts: readonly Fact[],
  roster: ReadonlyMap<string, RosterEntry>,
): DatedInquiry[] {
  const messages = new Map<string, { role: SenderRole; inResponseTo?: string }>();
  for (const fact of facts) {
    if (fact.kind === "time-entry" || fact.kind === "visit" || fact.kind === "consent") continue;
    if (fact.messageId === undefined) continue;
    messages.set(fact.messageId, { role: senderRole(fact, roster), inResponseTo: fact.inResponseTo });
  }
  const startsWithPatient = (inquiry: Inquiry): boolean => {
    const visited = new Set<string>();
    let parentId = inquiry.inResponseTo;
    let rootRole: SenderRole = "patient";
    while (parentId !== undefined) {
      const parent = messages.get(parentId);
      if (parent === undefined || visited.has(parentId)) return false;
      visited.add(parentId);
      rootRole = parent.role;
      parentId = parent.inResponseTo;
    }
    return rootRole === "patient";
  };
  return facts
    .filter((fact): fact is Inquiry => fact.kind === "inquiry")
    .filter(startsWithPatient)
    .map((fact) => ({ fact, at: toMillis(fact.at) }))
    .sort(byTimeThenId);
}

function senderRole(
  fact: Exclude<Fact, { kind: "time-entry" | "visit" | "consent" }>,
  roster: ReadonlyMap<string, RosterEntry>,
): SenderRole {
  if (fact.kind === "inquiry") return "patient";
  if (fact.kind === "staff-activity") return "staff";
  const role = classifyActivity(fact, roster).role;
  return role === "staff" || role === "unknown" ? role : "clinician";
}

/** R3: the window that a period starting at `start` covers, as [start, end) instants. */
export function windowOf(start: number, config: TenantConfig): { start: number; end: number } {
  if (config.windowMode === "rolling-168h") return { start, end: start + 168 * HOUR };
  const dayStart = localMidnight(start, config.timezone);
  return { start: dayStart, end: localMidnight(start, config.timezone, 7) };
}

/**
 * R2, R3, R7: walks one (group, family)'s counted activities in time order. An activity inside the open window
 * joins it; otherwise it opens the next episode if an inquiry that belongs to no earlier episode was sent within
 * the lookback, else it is time no patient initiated.
 */
export function assembleEpisodes(
  patientId: string,
  group: string,
  family: Family,
  activities: readonly ClassifiedActivity[],
  inquiries: readonly DatedInquiry[],
  config: TenantConfig,
): EpisodeDraft[] {
  const lookback = config.inquiryLookbackDays * DAY;
  const drafts: EpisodeDraft[] = [];
  let current: EpisodeDraft | undefined;
  let orphan: EpisodeDraft | undefined;
  /** Inquiries sent before this instant belong to an earlier episode of this family (R7). */
  let claimedUntil = Number.NEGATIVE_INFINITY;

  for (const activity of [...activities].sort(byTimeThenId)) {
    if (current !== undefined && activity.at < current.end) {
      current.activities.push(activity);
      continue;
    }
    const pending = inquiries.filter(
      (inquiry) =>
        inquiry.at >= claimedUntil && inquiry.at <= activity.at && inquiry.at >= activity.at - lookback,
    );
    const opening = openingOf(activity, pending, config);
    if (opening !== undefined) {
      current = {
        patientId,
        group,
        family,
        patientInitiated: true,
        ...opening.window,
        openedAt: opening.openedAt,
        activities: [activity],
        inquiries: [],
      };
      drafts.push(current);
      claimedUntil = current.end;
      continue;
    }
    if (orphan !== undefined && activity.at < orphan.end) {
      orphan.activities.push(activity);
      continue;
    }
    orphan = {
      patientId,
      group,
      family,
      patientInitiated: false,
      ...windowOf(activity.at, config),
      openedAt: activity.at,
      activities: [activity],
      inquiries: [],
    };
    drafts.push(orphan);
  }

  // R7: an episode holds the inquiries that opened it and every inquiry sent while it is open.
  let previousEnd = Number.NEGATIVE_INFINITY;
  for (const draft of drafts.filter((d) => d.patientInitiated)) {
    const firstActivity = draft.activities[0] as ClassifiedActivity;
    draft.inquiries = inquiries.filter(
      (inquiry) =>
        inquiry.at >= previousEnd && inquiry.at >= firstActivity.at - lookback && inquiry.at < draft.end,
    );
    previousEnd = draft.end;
  }
  return drafts;
}

function openingOf(
  activity: ClassifiedActivity,
  pending: readonly DatedInquiry[],
  config: TenantConfig,
): { window: { start: number; end: number }; openedAt: number } | undefined {
  if (config.windowStart === "first-clinician-activity") {
    return pending.length === 0
      ? undefined
      : { window: windowOf(activity.at, config), openedAt: activity.at };
  }
  // windowStart `inquiry-sent`: the earliest pending inquiry whose window still contains this activity.
  for (const inquiry of pending) {
    const window = windowOf(inquiry.at, config);
    if (activity.at < window.end) return { window, openedAt: inquiry.at };
  }
  return undefined;
}
