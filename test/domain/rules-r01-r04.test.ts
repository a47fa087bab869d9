import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type EngineResult, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import { activity, inquiry, PATIENT, staffActivity, tenant, timeEntry } from "../support/domain-builders.js";

/**
 * Rules R1-R4 (DOMAIN.md): patient initiation, window start, window length and who counts.
 * Every expected date, minute and code below is worked out by hand from the rules, not copied from the engine.
 * Calendar used: 2026-05-04 is a Monday (EDT, UTC-4); DST starts 2026-03-08 and ends 2026-11-01 in New York.
 */

/** Long after every window here has closed and settled, so billable episodes carry their claim line. */
const AS_OF = "2027-01-01T00:00:00Z";

const ADAMS_NPI = "1003000126";

const run = (facts: Fact[], config: TenantConfig = tenant()): EngineResult =>
  decideEpisodes(facts, config, AS_OF);

const onlyEpisode = (result: EngineResult): Episode => {
  expect(result.episodes).toHaveLength(1);
  return result.episodes[0] as Episode;
};

const episodeAt = (result: EngineResult, index: number): Episode => result.episodes[index] as Episode;

const ofFamily = (result: EngineResult, family: Episode["family"]): Episode => {
  const found = result.episodes.filter((episode) => episode.family === family);
  expect(found).toHaveLength(1);
  return found[0] as Episode;
};

const hours = (from: string, to: string): number => (Date.parse(to) - Date.parse(from)) / 3_600_000;

describe("R1 patient-initiated", () => {
  it("R1: a patient inquiry before the first clinician activity opens a billable episode", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.reasons).toEqual([]);
    expect(episode.evidence.inquiries).toEqual(["q1"]);
    expect(episode.evidence.counted).toEqual(["a1"]);
    expect(episode.procedureCode).toBe("99421");
    expect(episode.claimLine?.procedureCode).toBe("99421");
  });

  it("R1: an inquiry written by a related person (parent, guardian, caregiver) opens the episode", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00", author: "related-person" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 12 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.inquiries).toEqual(["q1"]);
    expect(episode.procedureCode).toBe("99422");
  });

  it("R1: a patient reply in a thread the patient started (via a clinician reply) is an inquiry", () => {
    // Prepare: q1 (patient, root) <- r1 (clinician, no time) <- q2 (patient); q1 is far outside the lookback.
    const facts = [
      inquiry({ id: "q1", at: "2026-04-01T09:00:00-04:00" }),
      activity({
        id: "r1",
        at: "2026-04-01T12:00:00-04:00",
        practitionerId: "dr-adams",
        seconds: 0,
        inResponseTo: "q1",
      }),
      inquiry({ id: "q2", at: "2026-05-04T09:00:00-04:00", inResponseTo: "r1" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.inquiries).toEqual(["q2"]);
    expect(episode.windowStart).toBe("2026-05-04T00:00:00-04:00");
  });

  it("R1: a patient reply in a thread a clinician started is not an inquiry", () => {
    // Prepare: c1 (clinician outreach, no time) <- q1 (patient reply); then clinician time.
    const facts = [
      activity({ id: "c1", at: "2026-05-04T08:00:00-04:00", practitionerId: "dr-adams", seconds: 0 }),
      inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00", inResponseTo: "c1" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 8 }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.reasons).toEqual(["not-patient-initiated"]);
    expect(episode.evidence.inquiries).toEqual([]);
    expect(episode.evidence.counted).toEqual(["a1"]);
    expect(episode.evidence.uncounted).toEqual(["c1"]);
    expect(episode.claimLine).toBeUndefined();
    expect(result.owed).toEqual([]);
  });

  it("R1: a patient reply in a thread a staff member started is not an inquiry, however deep the chain", () => {
    // Prepare: s1 (RN) <- q1 (patient) <- c1 (clinician, no time) <- q2 (patient); then clinician time.
    const facts = [
      staffActivity({
        id: "s1",
        at: "2026-05-04T08:00:00-04:00",
        staffId: "rn-diaz",
        minutes: 2,
        messageId: "s1",
      }),
      inquiry({ id: "q1", at: "2026-05-04T08:30:00-04:00", inResponseTo: "s1" }),
      activity({
        id: "c1",
        at: "2026-05-04T08:45:00-04:00",
        practitionerId: "dr-adams",
        seconds: 0,
        inResponseTo: "q1",
      }),
      inquiry({ id: "q2", at: "2026-05-04T09:00:00-04:00", inResponseTo: "c1" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 8 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.reasons).toEqual(["not-patient-initiated"]);
    expect(episode.evidence.inquiries).toEqual([]);
    expect([...episode.evidence.uncounted].sort()).toEqual(["c1", "s1"]);
  });

  it("R1: a patient reply whose chain reaches an unknown message is not an inquiry", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00", inResponseTo: "msg-missing" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 8 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.evidence.inquiries).toEqual([]);
  });

  it("R1: once the missing thread root arrives as a patient message, the reply becomes an inquiry", () => {
    // Prepare: the root q0 (patient) is a month old, outside the lookback; only the reply q1 can open.
    const facts = [
      inquiry({ id: "q0", at: "2026-04-01T09:00:00-04:00", messageId: "msg-missing" }),
      inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00", inResponseTo: "msg-missing" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 8 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.inquiries).toEqual(["q1"]);
  });

  it("R1: clinician time with no inquiry at all is not-patient-initiated, grouped in its own window", () => {
    // Prepare
    const facts = [
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "a2", at: "2026-05-06T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.reasons).toEqual(["not-patient-initiated"]);
    expect(episode.windowStart).toBe("2026-05-04T00:00:00-04:00");
    expect(episode.windowEnd).toBe("2026-05-11T00:00:00-04:00");
    expect(episode.evidence.counted).toEqual(["a1", "a2"]);
    expect(episode.totalMinutes).toBe(12);
    expect(episode.claimLine).toBeUndefined();
    expect(result.owed).toEqual([]);
  });

  it("R1: clinician time before the inquiry is not-patient-initiated and lists every reason", () => {
    // Prepare: the inquiry comes an hour after the only clinician activity (3 min).
    const facts = [
      activity({ id: "a1", at: "2026-05-04T09:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      inquiry({ id: "q1", at: "2026-05-04T10:00:00-04:00" }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.reasons).toEqual(["not-patient-initiated", "below-threshold"]);
    expect(episode.evidence.inquiries).toEqual([]);
  });

  it("R1: an inquiry at the same instant as the first clinician activity counts", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T10:00:00-04:00" }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.inquiries).toEqual(["q1"]);
  });

  it("R1: an inquiry exactly 7 x 24 h before the activity is within the default lookback", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T10:00:00-04:00" }),
      activity({ id: "a1", at: "2026-05-11T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.inquiries).toEqual(["q1"]);
    expect(episode.windowStart).toBe("2026-05-11T00:00:00-04:00");
  });

  it("R1: an inquiry 7 x 24 h + 1 s before the activity is outside the default lookback", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T09:59:59-04:00" }),
      activity({ id: "a1", at: "2026-05-11T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.reasons).toEqual(["not-patient-initiated"]);
    expect(episode.evidence.inquiries).toEqual([]);
  });

  it("R1: across spring forward the lookback is 168 h, so an inquiry 167.5 h back counts", () => {
    // Prepare: 2026-03-03 11:30 EST = 16:30Z; 2026-03-10 12:00 EDT = 16:00Z: 167.5 h apart, although the
    // local clock reads more than 7 days (11:30 vs 12:00 a week later).
    const facts = [
      inquiry({ id: "q1", at: "2026-03-03T11:30:00-05:00" }),
      activity({ id: "a1", at: "2026-03-10T12:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(hours("2026-03-03T11:30:00-05:00", "2026-03-10T12:00:00-04:00")).toBe(167.5);
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.inquiries).toEqual(["q1"]);
  });

  it("R1: across fall back the lookback is 168 h, so an inquiry 168.5 h back does not count", () => {
    // Prepare: 2026-10-28 12:30 EDT = 16:30Z; 2026-11-04 12:00 EST = 17:00Z: 168.5 h apart, although the
    // local clock reads less than 7 days.
    const facts = [
      inquiry({ id: "q1", at: "2026-10-28T12:30:00-04:00" }),
      activity({ id: "a1", at: "2026-11-04T12:00:00-05:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(hours("2026-10-28T12:30:00-04:00", "2026-11-04T12:00:00-05:00")).toBe(168.5);
    expect(episode.outcome).toBe("not-patient-initiated");
  });

  it("R1: policy inquiryLookbackDays 3 accepts an inquiry exactly 72 h back", () => {
    // Prepare
    const config = tenant({ inquiryLookbackDays: 3 });
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T10:00:00-04:00" }),
      activity({ id: "a1", at: "2026-05-07T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts, config));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.inquiries).toEqual(["q1"]);
  });

  it("R1: policy inquiryLookbackDays 3 rejects an inquiry 72 h + 1 s back (the default 7 would accept it)", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T09:59:59-04:00" }),
      activity({ id: "a1", at: "2026-05-07T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const withPolicy = onlyEpisode(run(facts, tenant({ inquiryLookbackDays: 3 })));
    const withDefault = onlyEpisode(run(facts));

    // Assess
    expect(withPolicy.outcome).toBe("not-patient-initiated");
    expect(withPolicy.evidence.inquiries).toEqual([]);
    expect(withDefault.outcome).toBe("billable");
  });
});

describe("R2 window start", () => {
  const inquiryFriday = inquiry({ id: "q1", at: "2026-05-01T10:00:00-04:00" });
  const monday = activity({
    id: "a1",
    at: "2026-05-04T09:00:00-04:00",
    practitionerId: "dr-adams",
    minutes: 6,
  });
  const saturday = activity({
    id: "a2",
    at: "2026-05-09T15:00:00-04:00",
    practitionerId: "dr-adams",
    minutes: 6,
  });

  it("R2: by default the window starts on the day of the first clinician activity, not of the inquiry", () => {
    // Prepare
    const facts = [inquiryFriday, monday, saturday];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess: Monday 2026-05-04 to Monday 2026-05-11; Saturday's 6 minutes join (12 min -> 99422).
    expect(episode.windowStart).toBe("2026-05-04T00:00:00-04:00");
    expect(episode.windowEnd).toBe("2026-05-11T00:00:00-04:00");
    expect(episode.openedAt).toBe("2026-05-04T09:00:00-04:00");
    expect(episode.evidence.counted).toEqual(["a1", "a2"]);
    expect(episode.totalMinutes).toBe(12);
    expect(episode.procedureCode).toBe("99422");
    expect(episode.outcome).toBe("billable");
  });

  it("R2: policy windowStart inquiry-sent starts the window on the day the inquiry was sent", () => {
    // Prepare
    const facts = [inquiryFriday, monday, saturday];

    // Act
    const result = run(facts, tenant({ windowStart: "inquiry-sent" }));

    // Assess: Friday 2026-05-01 to Friday 2026-05-08; Saturday 05-09 is after the close, with no new inquiry.
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-05-01T00:00:00-04:00");
    expect(first.windowEnd).toBe("2026-05-08T00:00:00-04:00");
    expect(first.openedAt).toBe("2026-05-01T10:00:00-04:00");
    expect(first.evidence.counted).toEqual(["a1"]);
    expect(first.totalMinutes).toBe(6);
    expect(first.procedureCode).toBe("99421");
    expect(first.outcome).toBe("billable");
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-05-09T00:00:00-04:00");
    expect(second.windowEnd).toBe("2026-05-16T00:00:00-04:00");
    expect(second.evidence.counted).toEqual(["a2"]);
    expect(second.outcome).toBe("not-patient-initiated");
  });

  it("R2: policy windowStart inquiry-sent with rolling-168h starts at the inquiry's instant", () => {
    // Prepare
    const config = tenant({ windowStart: "inquiry-sent", windowMode: "rolling-168h" });
    const facts = [inquiry({ id: "q1", at: "2026-05-01T10:15:00-04:00" }), monday];

    // Act
    const episode = onlyEpisode(run(facts, config));

    // Assess
    expect(episode.windowStart).toBe("2026-05-01T10:15:00-04:00");
    expect(episode.windowEnd).toBe("2026-05-08T10:15:00-04:00");
    expect(episode.outcome).toBe("billable");
  });

  it("R2: staff activity and zero-minute clinician messages do not start the window", () => {
    // Prepare
    const facts = [
      inquiryFriday,
      staffActivity({ id: "s1", at: "2026-05-02T09:00:00-04:00", staffId: "rn-diaz", minutes: 5 }),
      activity({ id: "z1", at: "2026-05-03T09:00:00-04:00", practitionerId: "dr-adams", seconds: 0 }),
      monday,
      activity({ id: "z2", at: "2026-05-05T09:00:00-04:00", practitionerId: "dr-adams", seconds: 0 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess: the first counted clinician activity is Monday's; z2 is seen in the window but not counted.
    expect(episode.windowStart).toBe("2026-05-04T00:00:00-04:00");
    expect(episode.openedAt).toBe("2026-05-04T09:00:00-04:00");
    expect(episode.evidence.counted).toEqual(["a1"]);
    expect(episode.evidence.uncounted).toEqual(["z2"]);
    expect(episode.evidence.inquiries).toEqual(["q1"]);
  });
});

describe("R3 window length", () => {
  it("R3: calendar-days: the window runs from local midnight of the start day to local midnight 7 days on", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T08:00:00-04:00" }),
      activity({ id: "a1", at: "2026-05-04T09:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-05-10T23:59:59-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a3", at: "2026-05-11T00:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const result = run(facts);

    // Assess: a2 (one second before the end) joins, a3 (exactly at the end) does not.
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-05-04T00:00:00-04:00");
    expect(first.windowEnd).toBe("2026-05-11T00:00:00-04:00");
    expect(first.evidence.counted).toEqual(["a1", "a2"]);
    expect(first.totalMinutes).toBe(6);
    expect(first.outcome).toBe("billable");
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-05-11T00:00:00-04:00");
    expect(second.windowEnd).toBe("2026-05-18T00:00:00-04:00");
    expect(second.evidence.counted).toEqual(["a3"]);
    // R20 listed too: it starts a day after the billed first episode's date of service (2026-05-10).
    expect(second.reasons).toEqual(["not-patient-initiated", "below-threshold", "prior-e-visit"]);
  });

  it("R3: calendar-days: the start day is the practice's local day, not the UTC day", () => {
    // Prepare: 2026-05-05T03:30Z is 2026-05-04 23:30 in New York; 2026-05-11T03:59:59Z is 05-10 23:59:59.
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T20:00:00-04:00" }),
      activity({ id: "a1", at: "2026-05-05T03:30:00Z", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-05-11T03:59:59Z", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.windowStart).toBe("2026-05-04T00:00:00-04:00");
    expect(episode.windowEnd).toBe("2026-05-11T00:00:00-04:00");
    expect(episode.evidence.counted).toEqual(["a1", "a2"]);
  });

  it("R3: calendar-days: an activity at exactly local midnight starts its window that day", () => {
    // Prepare: two patients, one first activity a second before midnight, one exactly at midnight.
    const facts = [
      inquiry({ id: "q1", at: "2026-05-03T20:00:00-04:00", patientId: "pat-before" }),
      activity({
        id: "a1",
        at: "2026-05-03T23:59:59-04:00",
        practitionerId: "dr-adams",
        minutes: 6,
        patientId: "pat-before",
      }),
      inquiry({ id: "q2", at: "2026-05-03T20:00:00-04:00", patientId: "pat-midnight" }),
      activity({
        id: "a2",
        at: "2026-05-04T00:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 6,
        patientId: "pat-midnight",
      }),
    ];

    // Act
    const result = run(facts);

    // Assess (episodes are ordered by patient id: pat-before, pat-midnight)
    expect(result.episodes).toHaveLength(2);
    expect(episodeAt(result, 0).patientId).toBe("pat-before");
    expect(episodeAt(result, 0).windowStart).toBe("2026-05-03T00:00:00-04:00");
    expect(episodeAt(result, 0).windowEnd).toBe("2026-05-10T00:00:00-04:00");
    expect(episodeAt(result, 1).patientId).toBe("pat-midnight");
    expect(episodeAt(result, 1).windowStart).toBe("2026-05-04T00:00:00-04:00");
    expect(episodeAt(result, 1).windowEnd).toBe("2026-05-11T00:00:00-04:00");
  });

  it("R3: calendar-days across spring forward (2026-03-08): the window is 167 h and ends at EDT midnight", () => {
    // Prepare: start Thursday 2026-03-05 (EST); 7 local days later is Thursday 2026-03-12 00:00 EDT.
    const facts = [
      inquiry({ id: "q1", at: "2026-03-05T08:00:00-05:00" }),
      activity({ id: "a1", at: "2026-03-05T09:00:00-05:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-03-11T23:59:59-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a3", at: "2026-03-12T00:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-03-05T00:00:00-05:00");
    expect(first.windowEnd).toBe("2026-03-12T00:00:00-04:00");
    expect(hours(first.windowStart, first.windowEnd)).toBe(167);
    expect(first.evidence.counted).toEqual(["a1", "a2"]);
    expect(first.outcome).toBe("billable");
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-03-12T00:00:00-04:00");
    expect(second.evidence.counted).toEqual(["a3"]);
    expect(second.outcome).toBe("not-patient-initiated");
  });

  it("R3: calendar-days across spring forward: an activity 167.5 h after the start is already outside", () => {
    // Prepare: 2026-03-12 00:30 EDT is within a flat 168 h of 2026-03-05 00:00 EST, but after the local end.
    const facts = [
      inquiry({ id: "q1", at: "2026-03-05T08:00:00-05:00" }),
      activity({ id: "a1", at: "2026-03-05T09:00:00-05:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "a2", at: "2026-03-12T00:30:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(hours("2026-03-05T00:00:00-05:00", "2026-03-12T00:30:00-04:00")).toBe(167.5);
    expect(result.episodes).toHaveLength(2);
    expect(episodeAt(result, 0).evidence.counted).toEqual(["a1"]);
    expect(episodeAt(result, 0).totalMinutes).toBe(6);
    expect(episodeAt(result, 1).evidence.counted).toEqual(["a2"]);
    expect(episodeAt(result, 1).outcome).toBe("not-patient-initiated");
  });

  it("R3: calendar-days: a window starting on the spring-forward day begins at EST midnight", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-03-08T09:00:00-04:00" }),
      activity({ id: "a1", at: "2026-03-08T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.windowStart).toBe("2026-03-08T00:00:00-05:00");
    expect(episode.windowEnd).toBe("2026-03-15T00:00:00-04:00");
  });

  it("R3: calendar-days across fall back (2026-11-01): the window is 169 h and ends at EST midnight", () => {
    // Prepare: start Thursday 2026-10-29 (EDT); end Thursday 2026-11-05 00:00 EST. a2 at 23:30 EST on 11-04
    // is 168.5 h after the start: outside a flat 168 h, inside the local 7 days.
    const facts = [
      inquiry({ id: "q1", at: "2026-10-29T08:00:00-04:00" }),
      activity({ id: "a1", at: "2026-10-29T09:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-11-04T23:30:00-05:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a3", at: "2026-11-05T00:00:00-05:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-10-29T00:00:00-04:00");
    expect(first.windowEnd).toBe("2026-11-05T00:00:00-05:00");
    expect(hours(first.windowStart, first.windowEnd)).toBe(169);
    expect(first.evidence.counted).toEqual(["a1", "a2"]);
    expect(first.totalMinutes).toBe(6);
    expect(first.procedureCode).toBe("99421");
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-11-05T00:00:00-05:00");
    expect(second.windowEnd).toBe("2026-11-12T00:00:00-05:00");
    expect(second.evidence.counted).toEqual(["a3"]);
    expect(second.outcome).toBe("not-patient-initiated");
  });

  it("R3: calendar-days: a window starting on the fall-back day begins at EDT midnight", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-11-01T09:00:00-05:00" }),
      activity({ id: "a1", at: "2026-11-01T10:00:00-05:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.windowStart).toBe("2026-11-01T00:00:00-04:00");
    expect(episode.windowEnd).toBe("2026-11-08T00:00:00-05:00");
  });

  it("R3: calendar-days where local midnight is skipped (Santiago, 2026-09-06): the window before ends at 01:00", () => {
    // Prepare: Chile springs forward at 00:00 on Sunday 2026-09-06, so that day starts at 01:00 -03:00.
    // A window starting Sunday 2026-08-30 closes at the first instant of 2026-09-06.
    const config = tenant({ timezone: "America/Santiago" });
    const facts = [
      inquiry({ id: "q1", at: "2026-08-30T09:00:00-04:00" }),
      activity({ id: "a1", at: "2026-08-30T10:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-09-05T23:59:59-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a3", at: "2026-09-06T01:00:00-03:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const result = run(facts, config);

    // Assess: the skipped hour belongs to 2026-09-06, so the seven days 08-30..09-05 are 24 h each: 168 h.
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-08-30T00:00:00-04:00");
    expect(first.windowEnd).toBe("2026-09-06T01:00:00-03:00");
    expect(hours(first.windowStart, first.windowEnd)).toBe(168);
    expect(first.evidence.counted).toEqual(["a1", "a2"]);
    expect(episodeAt(result, 1).evidence.counted).toEqual(["a3"]);
  });

  it("R3: calendar-days where local midnight is skipped (Santiago): a window starting that day ends at midnight", () => {
    // Prepare: a window starting Sunday 2026-09-06 (first instant 01:00 -03:00) closes at local midnight
    // Sunday 2026-09-13 00:00 -03:00 (a 167 h window), not at 01:00 like its first day.
    const config = tenant({ timezone: "America/Santiago" });
    const facts = [
      inquiry({ id: "q1", at: "2026-09-06T09:00:00-03:00" }),
      activity({ id: "a1", at: "2026-09-06T10:00:00-03:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "a2", at: "2026-09-13T00:30:00-03:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const result = run(facts, config);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-09-06T01:00:00-03:00");
    expect(first.windowEnd).toBe("2026-09-13T00:00:00-03:00");
    expect(hours(first.windowStart, first.windowEnd)).toBe(167);
    expect(first.evidence.counted).toEqual(["a1"]);
    expect(first.totalMinutes).toBe(6);
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-09-13T00:00:00-03:00");
    expect(second.evidence.counted).toEqual(["a2"]);
    expect(second.outcome).toBe("not-patient-initiated");
  });

  it("R3: rolling-168h: the window is exactly 168 h from the first activity, across spring forward", () => {
    // Prepare: 2026-03-05 10:00 EST + 168 h = 2026-03-12 11:00 EDT.
    const config = tenant({ windowMode: "rolling-168h" });
    const facts = [
      inquiry({ id: "q1", at: "2026-03-05T09:00:00-05:00" }),
      activity({ id: "a1", at: "2026-03-05T10:00:00-05:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-03-12T10:59:59-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a3", at: "2026-03-12T11:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const result = run(facts, config);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-03-05T10:00:00-05:00");
    expect(first.windowEnd).toBe("2026-03-12T11:00:00-04:00");
    expect(first.evidence.counted).toEqual(["a1", "a2"]);
    expect(first.totalMinutes).toBe(6);
    expect(first.outcome).toBe("billable");
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-03-12T11:00:00-04:00");
    expect(second.windowEnd).toBe("2026-03-19T11:00:00-04:00");
    expect(second.evidence.counted).toEqual(["a3"]);
    expect(second.outcome).toBe("not-patient-initiated");
  });

  it("R3: rolling-168h: the window is exactly 168 h from the first activity, across fall back", () => {
    // Prepare: 2026-10-29 10:00 EDT + 168 h = 2026-11-05 09:00 EST.
    const config = tenant({ windowMode: "rolling-168h" });
    const facts = [
      inquiry({ id: "q1", at: "2026-10-29T09:00:00-04:00" }),
      activity({ id: "a1", at: "2026-10-29T10:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-11-05T08:59:59-05:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a3", at: "2026-11-05T09:00:00-05:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const result = run(facts, config);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowStart).toBe("2026-10-29T10:00:00-04:00");
    expect(first.windowEnd).toBe("2026-11-05T09:00:00-05:00");
    expect(first.evidence.counted).toEqual(["a1", "a2"]);
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-11-05T09:00:00-05:00");
    expect(second.evidence.counted).toEqual(["a3"]);
    expect(second.outcome).toBe("not-patient-initiated");
  });
});

describe("R4 who counts", () => {
  const q1 = inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00" });

  it("R4: staff (RN) time never counts, whether sent as staff activity or as a clinician message", () => {
    // Prepare: 4 counted minutes; 10 + 10 RN minutes would lift it over the threshold if they counted.
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 4 }),
      staffActivity({ id: "s1", at: "2026-05-04T11:00:00-04:00", staffId: "rn-diaz", minutes: 10 }),
      activity({ id: "s2", at: "2026-05-05T11:00:00-04:00", practitionerId: "rn-diaz", minutes: 10 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.totalMinutes).toBe(4);
    expect(episode.outcome).toBe("below-threshold");
    expect(episode.reasons).toEqual(["below-threshold"]);
    expect(episode.minutesByClinician).toEqual([
      { practitionerId: "dr-adams", credential: "MD", npi: ADAMS_NPI, seconds: 240, minutes: 4 },
    ]);
    expect(episode.evidence.counted).toEqual(["a1"]);
    expect([...episode.evidence.uncounted].sort()).toEqual(["s1", "s2"]);
  });

  it("R4: staff time alone opens no episode and needs no review", () => {
    // Prepare
    const facts = [
      q1,
      staffActivity({ id: "s1", at: "2026-05-04T10:00:00-04:00", staffId: "rn-diaz", minutes: 15 }),
      timeEntry({ id: "s2", at: "2026-05-04T11:00:00-04:00", practitionerId: "rn-diaz", minutes: 15 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toEqual([]);
    expect(result.unattributed).toEqual([]);
    expect(result.owed).toEqual([]);
  });

  it("R4: an unknown clinician's time is not counted and flags the episode needs-review unknown-clinician", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "u1", at: "2026-05-05T10:00:00-04:00", practitionerId: "dr-stranger", minutes: 10 }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.totalMinutes).toBe(6);
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["unknown-clinician"]);
    expect(episode.evidence.counted).toEqual(["a1"]);
    expect(episode.evidence.uncounted).toEqual(["u1"]);
    expect(episode.minutesByClinician.map((clinician) => clinician.practitionerId)).toEqual(["dr-adams"]);
    expect(episode.claimLine).toBeUndefined();
    expect(result.unattributed).toEqual([]);
    expect(result.owed).toEqual([]);
  });

  it("R4: unknown-clinician time flags every episode whose window contains it, in each family", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "p1", at: "2026-05-04T11:00:00-04:00", practitionerId: "pt-chen", minutes: 6 }),
      timeEntry({ id: "u1", at: "2026-05-06T10:00:00-04:00", practitionerId: "dr-stranger", minutes: 10 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    for (const family of ["digital-em", "digital-assessment"] as const) {
      const episode = ofFamily(result, family);
      expect(episode.outcome).toBe("needs-review");
      expect(episode.reasons).toEqual(["unknown-clinician"]);
      expect(episode.totalMinutes).toBe(6);
      expect(episode.evidence.uncounted).toEqual(["u1"]);
    }
    expect(result.unattributed).toEqual([]);
  });

  it("R4: unknown-clinician time also flags a not-patient-initiated episode whose window contains it", () => {
    // Prepare: no inquiry at all.
    const facts = [
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "u1", at: "2026-05-05T10:00:00-04:00", practitionerId: "dr-stranger", minutes: 10 }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.reasons).toEqual(["not-patient-initiated", "unknown-clinician"]);
    expect(result.unattributed).toEqual([]);
  });

  it("R4: unknown-clinician time outside every window is returned unattributed", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "u1", at: "2026-05-20T10:00:00-04:00", practitionerId: "dr-stranger", minutes: 10 }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.reasons).toEqual([]);
    expect(result.unattributed).toEqual([{ factId: "u1", patientId: PATIENT, reason: "unknown-clinician" }]);
  });

  it("R4: a zero-second message by an unknown clinician is not counted and does not flag", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "u1", at: "2026-05-05T10:00:00-04:00", practitionerId: "dr-stranger", seconds: 0 }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.uncounted).toEqual(["u1"]);
    expect(result.unattributed).toEqual([]);
  });

  it("R4: the payload qualification counts a practitioner the roster lacks, toward that credential's family", () => {
    // Prepare: a PA (digital-em) and an OT (digital-assessment) known only from the payload.
    const facts = [
      q1,
      activity({
        id: "f1",
        at: "2026-05-04T10:00:00-04:00",
        practitionerId: "pa-fox",
        qualification: "PA",
        npi: "1003000175",
        minutes: 6,
      }),
      timeEntry({
        id: "g1",
        at: "2026-05-04T11:00:00-04:00",
        practitionerId: "ot-gray",
        qualification: "OT",
        npi: "1003000183",
        minutes: 12,
      }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const em = ofFamily(result, "digital-em");
    expect(em.outcome).toBe("billable");
    expect(em.procedureCode).toBe("99421");
    expect(em.renderingPractitionerId).toBe("pa-fox");
    expect(em.minutesByClinician).toEqual([
      { practitionerId: "pa-fox", credential: "PA", npi: "1003000175", seconds: 360, minutes: 6 },
    ]);
    expect(em.claimLine?.renderingProviderNpi).toBe("1003000175");
    const assessment = ofFamily(result, "digital-assessment");
    expect(assessment.outcome).toBe("billable");
    expect(assessment.procedureCode).toBe("98971");
    expect(assessment.claimLine?.renderingProviderNpi).toBe("1003000183");
  });

  it("R4: the roster wins over the payload qualification", () => {
    // Prepare: pt-chen claims MD and dr-adams claims RN in the payload; the roster says PT and MD.
    const facts = [
      q1,
      activity({
        id: "p1",
        at: "2026-05-04T10:00:00-04:00",
        practitionerId: "pt-chen",
        qualification: "MD",
        minutes: 6,
      }),
      activity({
        id: "a1",
        at: "2026-05-04T11:00:00-04:00",
        practitionerId: "dr-adams",
        qualification: "RN",
        minutes: 7,
      }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const assessment = ofFamily(result, "digital-assessment");
    expect(assessment.evidence.counted).toEqual(["p1"]);
    expect(assessment.procedureCode).toBe("98970");
    expect(assessment.minutesByClinician[0]?.credential).toBe("PT");
    const em = ofFamily(result, "digital-em");
    expect(em.evidence.counted).toEqual(["a1"]);
    expect(em.totalMinutes).toBe(7);
    expect(em.procedureCode).toBe("99421");
    expect(em.minutesByClinician[0]?.credential).toBe("MD");
  });

  it("R4: a payload-qualified rendering clinician without an NPI counts but flags unknown-clinician", () => {
    // Prepare
    const facts = [
      q1,
      activity({
        id: "f1",
        at: "2026-05-04T10:00:00-04:00",
        practitionerId: "pa-fox",
        qualification: "PA",
        minutes: 12,
      }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.totalMinutes).toBe(12);
    expect(episode.procedureCode).toBe("99422");
    expect(episode.renderingPractitionerId).toBe("pa-fox");
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["unknown-clinician"]);
    expect(episode.claimLine).toBeUndefined();
  });

  it("R4: a payload qualification of staff (MA) is not counted and does not flag", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({
        id: "m1",
        at: "2026-05-04T11:00:00-04:00",
        practitionerId: "ma-hill",
        qualification: "MA",
        minutes: 10,
      }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.totalMinutes).toBe(6);
    expect(episode.evidence.uncounted).toEqual(["m1"]);
    expect(result.unattributed).toEqual([]);
  });

  it("R4: only clinicians of the episode's family count (PT minutes never join an MD episode)", () => {
    // Prepare: 4 MD minutes + 4 PT minutes would be 8 if pooled across families.
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 4 }),
      activity({ id: "p1", at: "2026-05-04T11:00:00-04:00", practitionerId: "pt-chen", minutes: 4 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const em = ofFamily(result, "digital-em");
    expect(em.totalMinutes).toBe(4);
    expect(em.evidence.counted).toEqual(["a1"]);
    expect(em.outcome).toBe("below-threshold");
    const assessment = ofFamily(result, "digital-assessment");
    expect(assessment.totalMinutes).toBe(4);
    expect(assessment.evidence.counted).toEqual(["p1"]);
    expect(assessment.outcome).toBe("below-threshold");
  });
});
