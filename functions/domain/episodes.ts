import type { ClinicianMapping } from "./attestations.js";
import { credentialRole, type EVisitFamily } from "./code-table.js";
import { type RosterEntry, rosterEntryOn, type TenantConfig } from "./config.js";
import type { ClinicianActivity, Credential, Fact, Inquiry, TimeEntry } from "./facts.js";
import { DAY, HOUR, localDate, localMidnight, toMillis } from "./time.js";

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
  role: EVisitFamily | "staff" | "unknown";
  credential?: Credential;
  npi?: string;
  group: string;
  /** R19: the attestation that mapped an unknown author's activity to this roster entry. */
  mappedBy?: string;
}

export interface DatedInquiry {
  fact: Inquiry;
  at: number;
}

/** A window of counted activity for one patient, billing group and family, before its outcome is decided. */
export interface EpisodeDraft {
  patientId: string;
  group: string;
  family: EVisitFamily;
  /** False for time that no inquiry opened: kept as an episode so its outcome (R1) is explained too. */
  patientInitiated: boolean;
  start: number;
  end: number;
  /** The first counted activity (or, with `windowStart: inquiry-sent`, the opening inquiry). */
  openedAt: number;
  activities: ClassifiedActivity[];
  inquiries: DatedInquiry[];
}

export const byTimeThenId = <T extends { at: number; fact: { id: string } }>(a: T, b: T): number =>
  a.at - b.at || compareStrings(a.fact.id, b.fact.id);

export const compareStrings = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Facts in time order, ties by id (R17: never arrival order). */
export const factsByTime = <T extends { at: string; id: string }>(a: T, b: T): number =>
  toMillis(a.at) - toMillis(b.at) || compareStrings(a.id, b.id);

/** The roster as the rules read it: each practitioner's dated entries, and the practice's zone for the dates. */
export interface Roster {
  entries: ReadonlyMap<string, readonly RosterEntry[]>;
  timezone: string;
}

/**
 * R4: the roster entry in force on the activity's local date (R18) first, else the qualification stated by the
 * payload, else the roster entry a biller mapped the activity to (R19), when in force on that date (R18); else
 * unknown. A mapping never re-attributes time the roster or payload attributes.
 */
export function classifyActivity(
  fact: Activity,
  roster: Roster,
  mapping?: ClinicianMapping,
): ClassifiedActivity {
  const at = toMillis(fact.at);
  const date = localDate(at, roster.timezone);
  const entry = rosterEntryOn(roster.entries, fact.practitionerId, date);
  const credential = entry?.credential ?? fact.qualification;
  if (credential === undefined) {
    const mapped = mapping && rosterEntryOn(roster.entries, mapping.practitionerId, date);
    if (mapped === undefined)
      return { fact, at, practitionerId: fact.practitionerId, role: "unknown", group: "default" };
    return {
      fact,
      at,
      practitionerId: mapped.practitionerId,
      role: credentialRole[mapped.credential],
      credential: mapped.credential,
      npi: mapped.npi,
      group: mapped.group,
      mappedBy: mapping?.attestationId,
    };
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

/** What R1 needs of a reply chain's first message: whether a patient sent it. */
export type ThreadRoot = "patient" | "other";

/** One message of a reply chain, as R1 reads it: whether a patient sent it, and what it replies to. */
interface ThreadMessage {
  role: ThreadRoot;
  inResponseTo?: string;
}

/** Reply chains that reach back before the facts in scope (docs/STORE.md, "Reply chains"). */
export interface ThreadContext {
  /** Earlier messages a chain in scope replies to, fetched by message id; they only extend chains. */
  messages?: readonly Fact[];
  /** Roots resolved by earlier decisions, by message id: the root of the chain through that message. */
  roots?: ReadonlyMap<string, ThreadRoot>;
}

export interface Threads {
  /** R1: the patient messages whose chain starts with a patient's message, in time order. */
  inquiries: DatedInquiry[];
  /** The resolved root of every message in scope (a later decision may need it when its parent is out of scope). */
  roots: Map<string, ThreadRoot>;
  /** Messages an inquiry's chain replies to that neither the facts nor the context hold. */
  missing: string[];
}

type MessageFact = Extract<Fact, { kind: "inquiry" | "clinician-activity" | "staff-activity" }>;
const isMessageFact = (fact: Fact): fact is MessageFact =>
  fact.kind === "inquiry" || fact.kind === "clinician-activity" || fact.kind === "staff-activity";

/**
 * The messages of a set of facts by message id. Several facts may name one message (R17): a message is the
 * patient's when any of its facts is an inquiry; it replies to the first parent its facts name in time order
 * (then by id). Retracted facts take their message out. Who else sent it (clinician, staff, unknown) does not
 * matter to R1, so no roster is needed and a cached root never depends on one.
 */
function messagesOf(facts: readonly Fact[]) {
  const byMessage = new Map<string, MessageFact[]>();
  for (const fact of facts) {
    if (!isMessageFact(fact) || fact.messageId === undefined) continue;
    byMessage.set(fact.messageId, [...(byMessage.get(fact.messageId) ?? []), fact]);
  }
  const messages = new Map<string, ThreadMessage>();
  for (const [messageId, all] of byMessage) {
    const held = all
      .filter((fact) => !fact.retracted)
      .sort((a, b) => toMillis(a.at) - toMillis(b.at) || compareStrings(a.id, b.id));
    if (held.length === 0) continue;
    messages.set(messageId, {
      role: held.some((fact) => fact.kind === "inquiry") ? "patient" : "other",
      inResponseTo: held.find((fact) => fact.inResponseTo !== undefined)?.inResponseTo,
    });
  }
  return { messages, named: new Set(byMessage.keys()) };
}

/**
 * R1: a patient message is an inquiry only if its reply chain starts with a patient's message. A reply into a
 * thread a clinician or staff member started is not, and neither is a reply whose thread start is unknown:
 * patient initiation must be shown, not assumed (the outcome follows once the missing message arrives).
 *
 * `facts` are the latest versions in scope (retracted ones included, so a deleted message is known to be gone).
 * A chain that leaves them continues through `context`: fetched earlier messages, or the root an earlier
 * decision resolved for the last message in scope. Either way the answer is the one the whole history gives.
 */
export function threadsOf(facts: readonly Fact[], context: ThreadContext = {}): Threads {
  const inScope = messagesOf(facts);
  const earlier = messagesOf(context.messages ?? []);
  const cached = context.roots ?? new Map<string, ThreadRoot>();
  const message = (id: string) => inScope.messages.get(id) ?? earlier.messages.get(id);
  /** Named by a fact that is held but retracted: gone, whatever an earlier decision cached. */
  const gone = (id: string) =>
    (inScope.named.has(id) && !inScope.messages.has(id)) ||
    (earlier.named.has(id) && !earlier.messages.has(id));

  const missing = new Set<string>();
  const rootOf = (messageId: string, report: boolean): ThreadRoot | undefined => {
    const visited = new Set<string>();
    let id = messageId;
    for (;;) {
      const current = message(id) as ThreadMessage;
      visited.add(id);
      const parent = current.inResponseTo;
      if (parent === undefined) return current.role;
      if (visited.has(parent) || gone(parent)) return undefined;
      if (message(parent) === undefined) {
        const known = cached.get(id);
        if (known === undefined && report) missing.add(parent);
        return known;
      }
      id = parent;
    }
  };

  const roots = new Map<string, ThreadRoot>();
  for (const messageId of inScope.messages.keys()) {
    const root = rootOf(messageId, false);
    if (root !== undefined) roots.set(messageId, root);
  }
  const inquiries = facts
    .filter((fact): fact is Inquiry => fact.kind === "inquiry" && !fact.retracted)
    .filter((fact) => {
      // A message without an id cannot be replied to, and its own chain starts with itself.
      if (fact.messageId === undefined)
        return fact.inResponseTo === undefined || startsWith(fact.inResponseTo);
      return rootOf(fact.messageId, true) === "patient";
    })
    .map((fact) => ({ fact, at: toMillis(fact.at) }))
    .sort(byTimeThenId);
  return { inquiries, roots, missing: [...missing].sort(compareStrings) };

  function startsWith(parent: string): boolean {
    if (gone(parent)) return false;
    if (message(parent) === undefined) {
      missing.add(parent);
      return false;
    }
    return rootOf(parent, true) === "patient";
  }
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
 * the lookback, else it is time no patient initiated. `claimedBefore` continues a walk decided earlier: the end
 * of its last patient-initiated window (inquiries before it are that window's).
 */
export function assembleEpisodes(
  patientId: string,
  group: string,
  family: EVisitFamily,
  activities: readonly ClassifiedActivity[],
  inquiries: readonly DatedInquiry[],
  config: TenantConfig,
  claimedBefore = Number.NEGATIVE_INFINITY,
): EpisodeDraft[] {
  const lookback = config.inquiryLookbackDays * DAY;
  const drafts: EpisodeDraft[] = [];
  let current: EpisodeDraft | undefined;
  let orphan: EpisodeDraft | undefined;
  /** Inquiries sent before this instant belong to an earlier episode of this family (R7). */
  let claimedUntil = claimedBefore;

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
  let previousEnd = claimedBefore;
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
