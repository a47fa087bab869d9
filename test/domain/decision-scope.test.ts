import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { TenantConfig } from "../../functions/domain/config.js";
import {
  type DecidedWindow,
  decidedAgain,
  decisionStart,
  factReach,
  lookbackSince,
  inScope as needed,
  scopeReach,
} from "../../functions/domain/decision-scope.js";
import { decideEpisodes, type EngineResult, type Episode } from "../../functions/domain/engine.js";
import type { ThreadRoot } from "../../functions/domain/episodes.js";
import type { Fact } from "../../functions/domain/facts.js";
import { DAY, HOUR } from "../../functions/domain/time.js";
import { changedFrom } from "../../functions/store/fact-store.js";
import {
  activity,
  consent,
  consultReport,
  consultRequest,
  enrollment,
  inquiry,
  staffActivity,
  tenant,
  timeEntry,
  visit,
} from "../support/domain-builders.js";

/**
 * Bounded decisions (ARCHITECTURE.md invariant 9): the finalizer decides a patient from `decisionStart` on, with
 * the facts whose reach covers the scope, the windows decided earlier and the reply-chain roots it cached. These
 * properties check the domain's half of that promise against the whole history: a patient's facts arrive in
 * batches over five weeks (new facts, later versions, retractions, moved times), each batch is decided the
 * bounded way as the finalizer does, and every decision must equal the one a full-history decision gives.
 */

const RUNS = 1500;
const PATIENT = "p1";
const START = Date.parse("2026-02-23T00:00:00Z");
const MINUTES = 35 * 24 * 60;
const PRACTITIONERS = [
  "dr-adams",
  "dr-adams",
  "np-baker",
  "pt-chen",
  "pt-chen",
  "rn-diaz",
  "dr-unknown",
] as const;
const DIAGNOSES = ["E11.9", "I10", "J06.9"] as const;
const iso = (ms: number) => new Date(ms).toISOString().replace(".000Z", "Z");

/** When a fact (or its later version) arrives: the decision step after which it is there. */
const arrival = fc.record({
  arrives: fc.nat({ max: 5 }),
  /** A later version: arriving at a later step, retracted, or (visits and consents) moved in time. */
  change: fc.option(
    fc.record({
      after: fc.nat({ max: 5 }),
      retract: fc.boolean(),
      moveMinutes: fc.integer({ min: -3000, max: 3000 }),
    }),
    { nil: undefined, freq: 3 },
  ),
});

const message = fc.record({
  kind: fc.constantFrom("inquiry", "clinician-activity", "clinician-activity", "staff"),
  /** Minutes after the previous message of the thread. */
  delay: fc.integer({ min: 5, max: 2 * 24 * 60 }),
  practitionerId: fc.constantFrom(...PRACTITIONERS),
  seconds: fc.oneof(fc.constant(0), fc.integer({ min: 120, max: 900 })),
  diagnoses: fc.subarray([...DIAGNOSES], { minLength: 1, maxLength: 2 }),
  /** Replies to the previous message, or to the one before it; or starts nothing new. */
  replyTo: fc.constantFrom(1, 1, 2),
  /** R21: an inquiry carrying a photo. */
  image: fc.boolean(),
  when: arrival,
});

/** A conversation: its first message (a patient's, usually) and replies, each later than what it replies to. */
const thread = fc.record({
  minute: fc.integer({ min: 0, max: MINUTES }),
  opener: fc.tuple(message, fc.boolean(), fc.boolean()).map(([m, patient, again]) => ({
    ...m,
    kind: patient || again ? "inquiry" : m.kind,
  })),
  replies: fc.array(message, { maxLength: 4 }),
});

const other = fc.record({
  kind: fc.constantFrom("visit", "consent"),
  // Mostly near the episodes; some years before, where only R12's known visit or a long consent validity reach.
  minute: fc.oneof(
    fc.integer({ min: -60 * 24 * 30, max: MINUTES }),
    fc.integer({ min: -60 * 24 * 1200, max: -60 * 24 * 30 }),
  ),
  diagnoses: fc.subarray([...DIAGNOSES], { maxLength: 2 }),
  when: arrival,
});

/** The facts of the families after the e-visits (R21-R25): enrollments, consults, the consultant's visits. */
const familyFact = fc.record({
  kind: fc.constantFrom("visit", "enrollment", "enrollment", "consult", "consult", "care-time", "care-time"),
  // From a month before the messages to their end: a month decided whole reaches back to its start.
  minute: fc.integer({ min: -60 * 24 * 40, max: MINUTES }),
  diagnoses: fc.subarray([...DIAGNOSES], { maxLength: 2 }),
  program: fc.constantFrom("ccm", "pcm", "ccm-complex"),
  /** Enrollment length in days (open-ended when 0); a consult's report delay in hours; care time minutes. */
  length: fc.integer({ min: 0, max: 60 }),
  when: arrival,
});

type Thread = typeof thread extends fc.Arbitrary<infer T> ? T : never;
type Other = typeof other extends fc.Arbitrary<infer T> ? T : never;
type FamilyFact = typeof familyFact extends fc.Arbitrary<infer T> ? T : never;
type Arrival = Thread["opener"]["when"];

/** A fact's versions and the step each arrives at. Reply chains are causal: a reply is later than its parent. */
interface History {
  versions: Array<{ fact: Fact; arrives: number }>;
}

function buildHistory(
  threads: readonly Thread[],
  others: readonly Other[],
  familyFacts: readonly FamilyFact[] = [],
): History {
  const versions: History["versions"] = [];
  let next = 0;
  const add = (
    when: Arrival,
    make: (fields: { at: string; version: number; retracted: boolean }) => Fact,
    at: number,
    movable: boolean,
  ) => {
    versions.push({ fact: make({ at: iso(at), version: 0, retracted: false }), arrives: when.arrives });
    if (when.change === undefined) return;
    const moved = movable ? at + when.change.moveMinutes * 60_000 : at;
    versions.push({
      fact: make({ at: iso(moved), version: 1, retracted: when.change.retract }),
      arrives: Math.max(when.arrives, when.change.after),
    });
  };
  for (const t of threads) {
    const ids: string[] = [];
    let minute = t.minute;
    for (const [index, m] of [t.opener, ...t.replies].entries()) {
      if (index > 0) minute += m.delay;
      const id = `f${next++}`;
      const parent = index === 0 ? undefined : ids[ids.length - Math.min(m.replyTo, ids.length)];
      ids.push(id);
      const make = (fields: { at: string; version: number; retracted: boolean }): Fact => {
        const common = { id, patientId: PATIENT, messageId: id, inResponseTo: parent, ...fields };
        if (m.kind === "inquiry")
          return inquiry({
            ...common,
            diagnosisCodes: m.diagnoses,
            ...(m.image && { attachments: [{ kind: "image", contentType: "image/jpeg" }] }),
          });
        if (m.kind === "staff") return staffActivity({ ...common, staffId: "ma-1", minutes: 3 });
        return activity({
          ...common,
          practitionerId: m.practitionerId,
          seconds: m.seconds,
          diagnosisCodes: m.diagnoses,
        });
      };
      add(m.when, make, START + minute * 60_000, false);
    }
  }
  for (const o of others) {
    const id = `f${next++}`;
    const make = (fields: { at: string; version: number; retracted: boolean }): Fact =>
      o.kind === "visit"
        ? visit({ id, patientId: PATIENT, ...fields, diagnosisCodes: o.diagnoses })
        : consent({ id, patientId: PATIENT, ...fields });
    add(o.when, make, START + o.minute * 60_000, true);
  }
  for (const o of familyFacts) {
    const id = `f${next++}`;
    const at = START + o.minute * 60_000;
    const date = (ms: number) => iso(ms).slice(0, 10);
    if (o.kind === "consult") {
      // A request by dr-adams to np-baker and, `length` hours later, np-baker's report.
      const reportId = `f${next++}`;
      add(
        o.when,
        (fields) =>
          consultRequest({
            id,
            patientId: PATIENT,
            ...fields,
            requesterId: "dr-adams",
            consultantId: "np-baker",
            minutes: 20,
            diagnosisCodes: o.diagnoses,
          }),
        at,
        false,
      );
      add(
        o.when,
        (fields) =>
          consultReport({
            id: reportId,
            patientId: PATIENT,
            ...fields,
            requestId: id,
            consultantId: "np-baker",
            minutes: 12,
          }),
        at + o.length * HOUR,
        true,
      );
      continue;
    }
    const make = (fields: { at: string; version: number; retracted: boolean }): Fact => {
      const common = { id, patientId: PATIENT, ...fields };
      if (o.kind === "visit")
        return visit({ ...common, practitionerId: "np-baker", diagnosisCodes: o.diagnoses });
      if (o.kind === "care-time")
        return timeEntry({
          ...common,
          practitionerId: "rn-diaz",
          minutes: o.length,
          countedBy: "chronic-care-management",
        });
      return enrollment({
        ...common,
        program: o.program as "ccm" | "pcm" | "ccm-complex",
        conditions: o.diagnoses,
        startDate: date(at),
        ...(o.length > 0 && { endDate: date(at + o.length * DAY) }),
        consentDate: date(at),
        carePlanDate: date(at),
      });
    };
    add(o.when, make, at, o.kind !== "enrollment");
  }
  return { versions };
}

const config: fc.Arbitrary<TenantConfig> = fc
  .record({
    windowStart: fc.constantFrom("first-clinician-activity", "inquiry-sent"),
    windowMode: fc.constantFrom("calendar-days", "rolling-168h"),
    consent: fc.constantFrom("required", "not-tracked", "not-tracked"),
    establishedPatient: fc.constantFrom("assume", "require-known-visit"),
    inquiryLookbackDays: fc.constantFrom(2, 7),
    consentValidityDays: fc.constantFrom(365, 30, 900),
  } as const)
  .map((policies) => tenant(policies));

/** Decision instants: weekly, then long after everything (every episode due). */
const STEPS = [
  Date.parse("2026-03-04T12:00:00Z"),
  Date.parse("2026-03-09T12:00:00Z"),
  Date.parse("2026-03-16T12:00:00Z"),
  Date.parse("2026-03-23T12:00:00Z"),
  Date.parse("2026-03-30T12:00:00Z"),
  Date.parse("2026-05-01T00:00:00Z"),
];

/** What the store keeps between decisions, as the finalizer keeps it (docs/STORE.md). */
interface Kept {
  windows: Array<DecidedWindow & { episode: Episode }>;
  roots: Map<string, ThreadRoot>;
  sent: ClaimLine[];
  /** The patient state's due marker: when the earliest episode not yet due settles, and where it starts. */
  pending?: { dueAt: number; changedAt: number };
}

const windowOf = (episode: Episode): DecidedWindow & { episode: Episode } => ({
  group: episode.billingGroup,
  family: episode.family,
  start: Date.parse(episode.windowStart),
  end: Date.parse(episode.windowEnd),
  patientInitiated: !episode.reasons.includes("not-patient-initiated"),
  // R20: what the finalizer keeps of a billed episode in its head.
  ...(episode.outcome === "billable" && {
    billed: {
      episodeId: episode.episodeId,
      start: Date.parse(episode.windowStart),
      serviceDate: episode.serviceDate,
      diagnosisCodes: episode.diagnosisCodes,
    },
  }),
  ...(episode.outcome === "bundled-into-visit" && { holdsTime: true }),
  episode,
});

const withoutStatus = (episode: Episode) => ({ ...episode, status: undefined });

/**
 * One bounded decision the way the finalizer makes it: start from the earliest change, read by reach, follow
 * chains out of scope by fetching messages, restart when the engine says the scope was not closed.
 */
function boundedDecision(
  all: readonly Fact[],
  changedAt: number,
  kept: Kept,
  cfg: TenantConfig,
  asOf: number,
) {
  let from = decisionStart(changedAt, kept.windows, cfg);
  const fetched = new Map<string, Fact[]>();
  let readBack = Number.POSITIVE_INFINITY;
  for (let attempt = 0; attempt < 50; attempt++) {
    const reach = Math.min(scopeReach(from, cfg), readBack);
    const inScope = all.filter((fact) => needed(fact, from, cfg) || factReach(fact) >= readBack);
    const earlier = kept.windows.filter(
      (w) => w.end >= reach && !decidedAgain(w.family, w.start, w.end, from),
    );
    const result: EngineResult = decideEpisodes(inScope, cfg, iso(asOf), kept.sent, {
      from,
      earlier,
      thread: { roots: kept.roots, messages: [...fetched.values()].flat() },
    });
    if (result.restartFrom !== undefined) {
      from = decisionStart(result.restartFrom, kept.windows, cfg);
      continue;
    }
    if (result.readFrom !== undefined && result.readFrom < readBack) {
      readBack = result.readFrom;
      continue;
    }
    const toFetch = result.missingMessages.filter(({ messageId }) => !fetched.has(messageId));
    if (toFetch.length > 0) {
      for (const { messageId } of toFetch) {
        fetched.set(
          messageId,
          all.filter((fact) => "messageId" in fact && fact.messageId === messageId),
        );
      }
      continue;
    }
    return { from, result, inScope };
  }
  throw new Error("the bounded decision did not settle");
}

/**
 * Facts arrive in batches (STEPS); each batch is decided the bounded way, as the finalizer does, and must equal
 * the decision over the whole history (the episodes it decides again, the lines owed, nothing before changed).
 */
function decidedBoundedAsWhole(history: History, cfg: TenantConfig): void {
  const kept: Kept = { windows: [], roots: new Map(), sent: [] };
  const held = new Map<string, Fact>();

  STEPS.forEach((asOf, step) => {
    const arriving = history.versions.filter((v) => v.arrives === step).map((v) => v.fact);
    // The earliest instant a change touches: a new version's own time and the time it replaces.
    const changes = arriving.flatMap((fact) => {
      const before = held.get(fact.id);
      return before === undefined ? [changedFrom(fact)] : [changedFrom(fact), changedFrom(before)];
    });
    for (const fact of arriving) {
      const before = held.get(fact.id);
      if (before === undefined || fact.version >= before.version) held.set(fact.id, fact);
    }
    // The state's marker wakes the patient when an episode decided earlier settles (R16).
    if (kept.pending !== undefined && kept.pending.dueAt <= asOf) changes.push(kept.pending.changedAt);
    const all = [...held.values()];
    const full = decideEpisodes(all, cfg, iso(asOf), kept.sent);
    if (changes.length === 0) return;

    // Act
    const { from, result, inScope } = boundedDecision(all, Math.min(...changes), kept, cfg, asOf);

    // Assess: the same episodes from the scope's start, the same lines owed, and nothing before it changed.
    const again = (e: Episode) =>
      decidedAgain(e.family, Date.parse(e.windowStart), Date.parse(e.windowEnd), from);
    expect(result.episodes).toEqual(full.episodes.filter(again));
    expect(result.owed).toEqual(full.owed);
    const before = full.episodes.filter((e) => !again(e)).map(withoutStatus);
    const keptBefore = kept.windows
      .filter((w) => !again(w.episode))
      // In the engine's order (window start, then id): a month kept from an earlier pass may follow a consult.
      .sort((a, b) => a.start - b.start || (a.episode.episodeId < b.episode.episodeId ? -1 : 1))
      .map((w) => withoutStatus(w.episode));
    expect(before).toEqual(keptBefore);

    // Keep what the finalizer keeps: the windows, the roots of the messages in scope, the lines sent.
    kept.windows = [...kept.windows.filter((w) => !again(w.episode)), ...result.episodes.map(windowOf)];
    for (const fact of inScope) {
      if (!("messageId" in fact) || fact.messageId === undefined) continue;
      const root = result.threads.find((t) => t.messageId === fact.messageId)?.root;
      if (root === undefined) kept.roots.delete(fact.messageId);
      else kept.roots.set(fact.messageId, root);
    }
    kept.sent = [...kept.sent, ...result.owed];
    const waiting = result.episodes
      .filter((e) => e.status !== "due")
      .map((e) => ({
        dueAt: Date.parse(e.settlesAfter ?? e.windowEnd) + cfg.settleHours * HOUR,
        changedAt: Date.parse(e.windowStart),
      }));
    if (kept.pending !== undefined && kept.pending.changedAt < from) waiting.push(kept.pending);
    kept.pending =
      waiting.length === 0
        ? undefined
        : {
            dueAt: Math.min(...waiting.map((w) => w.dueAt)),
            changedAt: Math.min(...waiting.map((w) => w.changedAt)),
          };
  });
}

describe("bounded decisions (decision-scope.ts) equal decisions over the whole history", () => {
  it("R16, R17: facts, later versions and retractions arriving in batches, each decided from its earliest change", () => {
    fc.assert(
      fc.property(
        fc.array(thread, { minLength: 1, maxLength: 8 }),
        fc.array(other, { maxLength: 5 }),
        config,
        (threads, others, cfg) => decidedBoundedAsWhole(buildHistory(threads, others), cfg),
      ),
      { numRuns: RUNS },
    );
  }, 60_000);

  it("R21-R25: with every family on, a month or consult reaching into the scope is decided whole, as the whole history decides it", () => {
    fc.assert(
      fc.property(
        fc.array(thread, { minLength: 1, maxLength: 6 }),
        fc.array(familyFact, { minLength: 1, maxLength: 6 }),
        config,
        fc.constantFrom("digital-em-first", "care-management-first"),
        (threads, familyFacts, cfg, sharedTime) =>
          decidedBoundedAsWhole(buildHistory(threads, [], familyFacts), {
            ...cfg,
            imageReview: "when-digital-em-does-not-bill",
            sharedTime,
          }),
      ),
      { numRuns: RUNS / 3 },
    );
  }, 60_000);

  it("R7: decisionStart moves back to the start of a decided window open across the change, then stops", () => {
    // Prepare: windows of two families overlapping (Mon 2 Mar - Mon 9 Mar, Thu 5 Mar - Thu 12 Mar), New York.
    const cfg = tenant();
    const w = (family: "digital-em" | "digital-assessment", start: string, end: string): DecidedWindow => ({
      group: "default",
      family,
      start: Date.parse(start),
      end: Date.parse(end),
      patientInitiated: true,
    });
    const decided = [
      w("digital-em", "2026-03-02T05:00:00Z", "2026-03-09T04:00:00Z"),
      w("digital-assessment", "2026-03-05T05:00:00Z", "2026-03-12T04:00:00Z"),
    ];

    // Act / Assess: a change on 10 Mar is inside the second window, whose start is inside the first.
    expect(decisionStart(Date.parse("2026-03-10T15:00:00Z"), decided, cfg)).toBe(
      Date.parse("2026-03-02T05:00:00Z"),
    );
    // A change after both: its own local day (R3, calendar days).
    expect(decisionStart(Date.parse("2026-03-13T15:00:00Z"), decided, cfg)).toBe(
      Date.parse("2026-03-13T04:00:00Z"),
    );
    // Rolling windows start at the instant itself.
    const rolling = tenant({ windowMode: "rolling-168h" });
    expect(decisionStart(Date.parse("2026-03-13T15:00:00Z"), [], rolling)).toBe(
      Date.parse("2026-03-13T15:00:00Z"),
    );
  });

  it("R8, R11, R12: visits and consents reach further than messages; longer policies look back further", () => {
    // Prepare: facts of Monday 2 March 2026, and a decision from the same instant.
    const at = "2026-03-02T15:00:00Z";
    const from = Date.parse(at);
    const defaults = tenant({ inquiryLookbackDays: 7, consent: "required" });
    const longer = tenant({
      consent: "required",
      consentValidityDays: 730,
      establishedPatient: "require-known-visit",
    });
    const old = (days: number) => new Date(from - days * DAY).toISOString();

    // Act / Assess: by reach, R1's look-back for messages (to the local midnight 7 days before under R20's default:
    // billed episodes of the week before), R8's week for visits, R11's year for consents.
    expect(factReach(inquiry({ id: "q", at }))).toBe(from);
    expect(factReach(activity({ id: "a", at, practitionerId: "dr-adams", minutes: 5 }))).toBe(from);
    expect(factReach(visit({ id: "v", at }))).toBe(from + 8 * DAY);
    expect(factReach(consent({ id: "c", at }))).toBe(from + 366 * DAY);
    // 2026-03-02T15:00Z is 10:00 EST: R20 reads back to the local midnight 7 days before, 2026-02-23T05:00Z,
    // 10 hours more than the 7-day look-back; from a local midnight, nothing more (below).
    expect(scopeReach(from, defaults)).toBe(Date.parse("2026-02-23T05:00:00Z"));
    expect(scopeReach(Date.parse("2026-03-02T05:00:00Z"), defaults)).toBe(Date.parse("2026-02-23T05:00:00Z"));
    expect(scopeReach(from, tenant({ inquiryLookbackDays: 7, priorEVisit: "allow" }))).toBe(from - 7 * DAY);
    expect(scopeReach(from, tenant({ inquiryLookbackDays: 14 }))).toBe(from - 14 * DAY);
    expect(lookbackSince(from, defaults)).toBeUndefined();
    expect(needed(visit({ id: "v", at: old(15) }), from, defaults)).toBe(true);
    expect(needed(visit({ id: "v", at: old(16) }), from, defaults)).toBe(false);
    expect(needed(consent({ id: "c", at: old(373) }), from, defaults)).toBe(true);
    expect(needed(consent({ id: "c", at: old(374) }), from, defaults)).toBe(false);
    // R12 required, R11 for two years: visits of three years, consents of two.
    expect(needed(visit({ id: "v", at: old(3 * 365) }), from, longer)).toBe(true);
    expect(needed(visit({ id: "v", at: old(3 * 366 + 2) }), from, longer)).toBe(false);
    expect(needed(consent({ id: "c", at: old(730) }), from, longer)).toBe(true);
    expect(needed(inquiry({ id: "q", at: old(400) }), from, longer)).toBe(false);
  });
  it("R20: a rolling window billed on the day 7 days before a late start across the fall DST change is still read", () => {
    // Prepare: A rolls 2026-10-18 00:15 -> 10-25 00:15 EDT, its date of service 10-25; C starts 2026-11-01 23:30
    // EST, a week after that date, across the change back to EST (a 25-hour day).
    const config = tenant({ windowMode: "rolling-168h" });
    const aEnd = Date.parse("2026-10-25T00:15:00-04:00");
    const cStart = Date.parse("2026-11-01T23:30:00-05:00");

    // Act / Assess: A's record (reach = its end less a millisecond) is within what a decision from C reads.
    expect(scopeReach(cStart, config)).toBe(Date.parse("2026-10-25T00:00:00-04:00"));
    expect(aEnd - 1).toBeGreaterThanOrEqual(scopeReach(cStart, config));
  });
});
