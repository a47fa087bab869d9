import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import type { Fact, VisitStatus } from "../../functions/domain/facts.js";
import { activity, consent, inquiry, tenant, visit } from "../support/domain-builders.js";

/**
 * R9-R12: visits in the window, which visits count, consent and established patients.
 *
 * Common timeline (America/New_York, EDT -04:00 since 2026-03-08): the patient writes on Monday 2026-03-16 at
 * 09:00, Dr Adams (MD) reviews at 10:00 for 12 minutes (99422). Calendar-days window:
 * [2026-03-16T00:00-04:00, 2026-03-23T00:00-04:00). With settleHours 48 the episode is due at
 * 2026-03-25T00:00-04:00; every test decides as of 2026-04-01 unless it says otherwise.
 */

const AS_OF = "2026-04-01T00:00:00-04:00";
const WINDOW_START = "2026-03-16T00:00:00-04:00";
const WINDOW_END = "2026-03-23T00:00:00-04:00";
const FIRST_ACTIVITY = "2026-03-16T10:00:00-04:00";

const opening = (minutes = 12): Fact[] => [
  inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00" }),
  activity({ id: "a1", at: FIRST_ACTIVITY, practitionerId: "dr-adams", minutes }),
];

function decideOne(facts: readonly Fact[], config: TenantConfig = tenant(), asOf = AS_OF) {
  const result = decideEpisodes(facts, config, asOf);
  expect(result.episodes).toHaveLength(1);
  return { ...result, episode: result.episodes[0] as Episode };
}

/** Asserts the episode is billable as the common timeline's 12-minute 99422 line. */
function expectBillable99422(episode: Episode, owedCount: number) {
  expect(episode.outcome).toBe("billable");
  expect(episode.reasons).toEqual([]);
  expect(episode.procedureCode).toBe("99422");
  expect(episode.chargeCents).toBe(2846);
  expect(episode.claimLine?.procedureCode).toBe("99422");
  expect(owedCount).toBe(1);
}

describe("R9 visit during the window", () => {
  it("R9: a visit that took place inside the window bundles the work, naming the visit and the minutes", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", status: "finished" })];

    // Act
    const { episode, owed } = decideOne(facts);

    // Assess
    expect(episode.windowStart).toBe(WINDOW_START);
    expect(episode.windowEnd).toBe(WINDOW_END);
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.reasons).toEqual(["bundled-into-visit"]);
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
    expect(episode.evidence.visits).toEqual(["v1"]);
    expect(episode.claimLine).toBeUndefined();
    expect(owed).toEqual([]);
  });

  it("R9: the bundled minutes are the pooled, floored minutes of every counting clinician", () => {
    // Prepare: 12 min (720 s) + 7.5 min (450 s) = 1170 s = 19.5 min, floored to 19.
    const facts = [
      ...opening(12),
      activity({ id: "a2", at: "2026-03-17T11:00:00-04:00", practitionerId: "np-baker", seconds: 450 }),
      visit({ id: "v1", at: "2026-03-19T09:00:00-04:00" }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(19);
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 19 });
  });

  it("R9: a visit at local midnight starting the first day is in the window, even before the first activity", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-16T00:00:00-04:00" })];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
  });

  it("R9: a visit in the last second of day 7 is in the window", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-22T23:59:59-04:00" })];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.bundledVisit?.visitId).toBe("v1");
  });

  it("R9: a visit at the window end (local midnight after day 7) is not in the window", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: WINDOW_END })];

    // Act
    const { episode, owed } = decideOne(facts);

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.bundledVisit).toBeUndefined();
    expect(episode.evidence.visits).toEqual([]);
  });

  it("R9: with rolling-168h the window starts at the first activity, so a visit earlier that day is outside", () => {
    // Prepare: the visit's problem (J06.9) is unrelated, so R8 does not apply either.
    const facts = [
      ...opening(12),
      visit({ id: "v1", at: "2026-03-16T09:30:00-04:00", diagnosisCodes: ["J06.9"] }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, tenant({ windowMode: "rolling-168h" }));

    // Assess
    expect(episode.windowStart).toBe(FIRST_ACTIVITY);
    expect(episode.windowEnd).toBe("2026-03-23T10:00:00-04:00");
    expectBillable99422(episode, owed.length);
  });

  it("R9: with rolling-168h a visit 1 second before first activity + 168 h is in, one at +168 h is out", () => {
    // Prepare
    const config = tenant({ windowMode: "rolling-168h" });
    const inside = [...opening(12), visit({ id: "v1", at: "2026-03-23T09:59:59-04:00" })];
    const outside = [...opening(12), visit({ id: "v1", at: "2026-03-23T10:00:00-04:00" })];

    // Act
    const insideEpisode = decideOne(inside, config).episode;
    const outsideResult = decideOne(outside, config);

    // Assess
    expect(insideEpisode.outcome).toBe("bundled-into-visit");
    expect(insideEpisode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
    expectBillable99422(outsideResult.episode, outsideResult.owed.length);
  });

  it("R9: laterVisit any-visit (the default) bundles a visit about an unrelated problem", () => {
    // Prepare
    const facts = [
      ...opening(12),
      visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", diagnosisCodes: ["J06.9"] }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
  });

  it("R9: laterVisit same-problem bundles a visit sharing an ICD-10-CM category (E11.65 ~ E11.9)", () => {
    // Prepare
    const facts = [
      ...opening(12),
      visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", diagnosisCodes: ["E11.65"] }),
    ];

    // Act
    const { episode } = decideOne(facts, tenant({ laterVisit: "same-problem" }));

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.reasons).toEqual(["bundled-into-visit"]);
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
    expect(episode.evidence.visits).toEqual(["v1"]);
  });

  it("R9: laterVisit same-problem leaves the episode billable when the visit is about another problem", () => {
    // Prepare
    const facts = [
      ...opening(12),
      visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", diagnosisCodes: ["J06.9"] }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, tenant({ laterVisit: "same-problem" }));

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.bundledVisit).toBeUndefined();
  });

  it("R9: laterVisit same-problem bundles into the related visit when an unrelated one came first", () => {
    // Prepare
    const facts = [
      ...opening(12),
      visit({ id: "v-cold", at: "2026-03-17T14:00:00-04:00", diagnosisCodes: ["J06.9"] }),
      visit({ id: "v-diabetes", at: "2026-03-19T14:00:00-04:00", diagnosisCodes: ["E11.9"] }),
    ];

    // Act
    const { episode } = decideOne(facts, tenant({ laterVisit: "same-problem" }));

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.bundledVisit).toEqual({ visitId: "v-diabetes", minutes: 12 });
    expect(episode.evidence.visits).toEqual(["v-diabetes"]);
  });

  it("R9: laterVisit same-problem with a visit that has no diagnoses cannot show relatedness: needs-review", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", diagnosisCodes: [] })];

    // Act
    const { episode, owed } = decideOne(facts, tenant({ laterVisit: "same-problem" }));

    // Assess
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["relatedness-unknown"]);
    expect(episode.bundledVisit).toBeUndefined();
    expect(episode.claimLine).toBeUndefined();
    expect(owed).toEqual([]);
  });

  it("R9: a visit of another patient in the window does not bundle this patient's episode", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", patientId: "pat-2" })];

    // Act
    const result = decideEpisodes(facts, tenant(), AS_OF);

    // Assess
    expect(result.episodes).toHaveLength(1);
    expectBillable99422(result.episodes[0] as Episode, result.owed.length);
  });
});

describe("R10 visits that count", () => {
  const tookPlace: VisitStatus[] = ["arrived", "in-progress", "finished", "checked-out"];
  const didNot: VisitStatus[] = ["scheduled", "cancelled", "no-show", "entered-in-error"];

  it.each(tookPlace)("R10: a visit with status %s took place and bundles the episode (R9)", (status) => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", status })];

    // Act
    const { episode, owed } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
    expect(owed).toEqual([]);
  });

  it.each(didNot)("R10: a visit with status %s did not take place and changes nothing (R9)", (status) => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", status })];

    // Act
    const { episode, owed } = decideOne(facts);

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.bundledVisit).toBeUndefined();
    expect(episode.evidence.visits).toEqual([]);
  });

  it.each(didNot)("R10: a related visit with status %s in the prior 7 days does not trigger R8", (status) => {
    // Prepare: 2026-03-12 lies in the 7 calendar days before the start day [03-09, 03-16).
    const facts = [...opening(12), visit({ id: "v0", at: "2026-03-12T10:00:00-04:00", status })];

    // Act
    const { episode, owed } = decideOne(facts);

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.priorVisitId).toBeUndefined();
  });

  it("R10: the same related prior visit, finished, does trigger R8 (control for the case above)", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v0", at: "2026-03-12T10:00:00-04:00", status: "finished" })];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.priorVisitId).toBe("v0");
  });

  it("R10: a virtual appointment that arrived counts like an in-person encounter", () => {
    // Prepare
    const facts = [
      ...opening(12),
      visit({
        id: "appt-1",
        at: "2026-03-20T15:00:00-04:00",
        status: "arrived",
        source: "appointment",
        modality: "virtual",
      }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.bundledVisit).toEqual({ visitId: "appt-1", minutes: 12 });
  });

  it("R10: the latest status wins: version 2 cancelled overrides version 1 finished, in either arrival order", () => {
    // Prepare
    const finished = visit({ id: "v1", version: 1, at: "2026-03-18T14:00:00-04:00", status: "finished" });
    const cancelled = visit({ id: "v1", version: 2, at: "2026-03-18T14:00:00-04:00", status: "cancelled" });

    // Act
    const inOrder = decideOne([...opening(12), finished, cancelled]);
    const reversed = decideOne([cancelled, ...opening(12), finished]);

    // Assess
    expectBillable99422(inOrder.episode, inOrder.owed.length);
    expectBillable99422(reversed.episode, reversed.owed.length);
    expect(inOrder.episode.bundledVisit).toBeUndefined();
    expect(reversed.episode.bundledVisit).toBeUndefined();
  });

  it("R10: the latest status wins: version 2 finished overrides version 1 cancelled, in either arrival order", () => {
    // Prepare
    const cancelled = visit({ id: "v1", version: 1, at: "2026-03-18T14:00:00-04:00", status: "cancelled" });
    const finished = visit({ id: "v1", version: 2, at: "2026-03-18T14:00:00-04:00", status: "finished" });

    // Act
    const inOrder = decideOne([...opening(12), cancelled, finished]);
    const reversed = decideOne([finished, ...opening(12), cancelled]);

    // Assess
    for (const { episode, owed } of [inOrder, reversed]) {
      expect(episode.outcome).toBe("bundled-into-visit");
      expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
      expect(owed).toEqual([]);
    }
  });

  it("R10: a later version may also move the visit out of the window (version 2 rescheduled after it)", () => {
    // Prepare
    const first = visit({ id: "v1", version: 1, at: "2026-03-18T14:00:00-04:00", status: "finished" });
    const moved = visit({ id: "v1", version: 2, at: "2026-03-24T14:00:00-04:00", status: "finished" });

    // Act
    const { episode, owed } = decideOne([...opening(12), moved, first]);

    // Assess
    expectBillable99422(episode, owed.length);
  });
});

describe("R11 consent", () => {
  const required = (overrides: Parameters<typeof tenant>[0] = {}) =>
    tenant({ consent: "required", ...overrides });

  it("R11: consent required and none on file: needs-review with consent-missing, no claim line", () => {
    // Prepare
    const facts = opening(12);

    // Act
    const { episode, owed } = decideOne(facts, required());

    // Assess
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["consent-missing"]);
    expect(episode.evidence.consents).toEqual([]);
    expect(episode.claimLine).toBeUndefined();
    expect(owed).toEqual([]);
  });

  it("R11: consent not-tracked bills without any consent on file", () => {
    // Prepare
    const facts = opening(12);

    // Act
    const { episode, owed } = decideOne(facts, tenant({ consent: "not-tracked" }));

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.evidence.consents).toEqual([]);
  });

  it("R11: an active consent a year before is evidence and the episode is billable", () => {
    // Prepare
    const facts = [...opening(12), consent({ id: "c1", at: "2025-06-01T12:00:00-04:00" })];

    // Act
    const { episode, owed } = decideOne(facts, required());

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.evidence.consents).toEqual(["c1"]);
  });

  it("R11: a consent dated exactly window start - 365 x 24 h counts; one second earlier does not", () => {
    // Prepare: 2026-03-16T00:00-04:00 minus 365 days (no 29 Feb in between) is 2025-03-16T00:00-04:00 (EDT).
    const atBoundary = [...opening(12), consent({ id: "c1", at: "2025-03-16T00:00:00-04:00" })];
    const justBefore = [...opening(12), consent({ id: "c1", at: "2025-03-15T23:59:59-04:00" })];

    // Act
    const valid = decideOne(atBoundary, required());
    const expired = decideOne(justBefore, required());

    // Assess
    expectBillable99422(valid.episode, valid.owed.length);
    expect(valid.episode.evidence.consents).toEqual(["c1"]);
    expect(expired.episode.outcome).toBe("needs-review");
    expect(expired.episode.reasons).toEqual(["consent-missing"]);
  });

  it("R11: consentValidityDays counts local calendar days back from the window start, across a DST change", () => {
    // Prepare: 30 calendar days before the start day 2026-03-16 (EDT) is 2026-02-14, which starts at 00:00-05:00 (EST).
    const config = required({ consentValidityDays: 30 });
    const atBoundary = [...opening(12), consent({ id: "c1", at: "2026-02-14T00:00:00-05:00" })];
    const justBefore = [...opening(12), consent({ id: "c1", at: "2026-02-13T23:59:59-05:00" })];

    // Act
    const valid = decideOne(atBoundary, config);
    const expired = decideOne(justBefore, config);

    // Assess
    expect(valid.episode.outcome).toBe("billable");
    expect(valid.episode.evidence.consents).toEqual(["c1"]);
    expect(expired.episode.outcome).toBe("needs-review");
    expect(expired.episode.reasons).toEqual(["consent-missing"]);
  });

  it("R11: a consent signed by the first counted activity counts; one signed after it does not", () => {
    // Prepare: the first counted activity is 2026-03-16T10:00-04:00 (inside the window that began at midnight).
    const atOpening = [...opening(12), consent({ id: "c1", at: FIRST_ACTIVITY })];
    const afterOpening = [...opening(12), consent({ id: "c1", at: "2026-03-16T10:00:01-04:00" })];

    // Act
    const valid = decideOne(atOpening, required());
    const late = decideOne(afterOpening, required());

    // Assess
    expect(valid.episode.outcome).toBe("billable");
    expect(valid.episode.evidence.consents).toEqual(["c1"]);
    expect(late.episode.outcome).toBe("needs-review");
    expect(late.episode.reasons).toEqual(["consent-missing"]);
  });

  it("R11: with windowStart inquiry-sent, a consent signed between the inquiry and the first counted activity counts", () => {
    // Prepare: the consent bound is the first counted clinician activity (10:00), not the inquiry (09:00).
    const config = required({ windowStart: "inquiry-sent" });
    const facts = [...opening(12), consent({ id: "c1", at: "2026-03-16T09:30:00-04:00" })];

    // Act
    const { episode, owed } = decideOne(facts, config);

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.evidence.consents).toEqual(["c1"]);
  });

  it.each(["inactive", "rejected", "draft", "entered-in-error"] as const)(
    "R11: a consent with status %s does not count",
    (status) => {
      // Prepare
      const facts = [...opening(12), consent({ id: "c1", at: "2025-06-01T12:00:00-04:00", status })];

      // Act
      const { episode } = decideOne(facts, required());

      // Assess
      expect(episode.outcome).toBe("needs-review");
      expect(episode.reasons).toEqual(["consent-missing"]);
      expect(episode.evidence.consents).toEqual([]);
    },
  );

  it("R11: a consent made inactive by a later version no longer counts (either arrival order)", () => {
    // Prepare
    const active = consent({ id: "c1", version: 1, at: "2025-06-01T12:00:00-04:00", status: "active" });
    const revoked = consent({ id: "c1", version: 2, at: "2025-06-01T12:00:00-04:00", status: "inactive" });

    // Act
    const inOrder = decideOne([...opening(12), active, revoked], required());
    const reversed = decideOne([revoked, ...opening(12), active], required());

    // Assess
    for (const { episode } of [inOrder, reversed]) {
      expect(episode.outcome).toBe("needs-review");
      expect(episode.reasons).toEqual(["consent-missing"]);
    }
  });

  it("R11: a consent reactivated by a later version counts", () => {
    // Prepare
    const inactive = consent({ id: "c1", version: 1, at: "2025-06-01T12:00:00-04:00", status: "inactive" });
    const active = consent({ id: "c1", version: 2, at: "2025-06-01T12:00:00-04:00", status: "active" });

    // Act
    const { episode } = decideOne([...opening(12), active, inactive], required());

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.consents).toEqual(["c1"]);
  });

  it("R11: an expired consent does not hide a valid one; the valid one is the evidence", () => {
    // Prepare
    const facts = [
      ...opening(12),
      consent({ id: "c-old", at: "2024-01-10T12:00:00-05:00" }),
      consent({ id: "c-new", at: "2025-12-01T12:00:00-05:00" }),
    ];

    // Act
    const { episode } = decideOne(facts, required());

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.consents).toEqual(["c-new"]);
  });

  it("R11: another patient's consent does not count", () => {
    // Prepare
    const facts = [
      ...opening(12),
      consent({ id: "c1", at: "2025-06-01T12:00:00-04:00", patientId: "pat-2" }),
    ];

    // Act
    const result = decideEpisodes(facts, required(), AS_OF);

    // Assess
    expect(result.episodes).toHaveLength(1);
    expect(result.episodes[0]?.outcome).toBe("needs-review");
    expect(result.episodes[0]?.reasons).toEqual(["consent-missing"]);
  });
});

describe("R12 established patient", () => {
  const requireKnown = tenant({ establishedPatient: "require-known-visit" });

  it("R12: establishedPatient assume (the default) bills a patient with no visit on file", () => {
    // Prepare
    const facts = opening(12);

    // Act
    const { episode, owed } = decideOne(facts, tenant());

    // Assess
    expectBillable99422(episode, owed.length);
  });

  it("R12: require-known-visit with no visit on file: needs-review with not-established", () => {
    // Prepare
    const facts = opening(12);

    // Act
    const { episode, owed } = decideOne(facts, requireKnown);

    // Assess
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["not-established"]);
    expect(episode.claimLine).toBeUndefined();
    expect(owed).toEqual([]);
  });

  it("R12: require-known-visit with a visit a year before: billable, the visit is evidence", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v-old", at: "2025-03-10T10:00:00-04:00" })];

    // Act
    const { episode, owed } = decideOne(facts, requireKnown);

    // Assess
    expectBillable99422(episode, owed.length);
    expect(episode.evidence.visits).toEqual(["v-old"]);
  });

  it("R12: a visit exactly 3 calendar years before the window start counts; one second earlier does not", () => {
    // Prepare: the window starts 2026-03-16T00:00-04:00; 3 years before in the zone is 2023-03-16T00:00-04:00.
    const atBoundary = [...opening(12), visit({ id: "v-old", at: "2023-03-16T00:00:00-04:00" })];
    const justBefore = [...opening(12), visit({ id: "v-old", at: "2023-03-15T23:59:59-04:00" })];

    // Act
    const established = decideOne(atBoundary, requireKnown);
    const notEstablished = decideOne(justBefore, requireKnown);

    // Assess
    expect(established.episode.outcome).toBe("billable");
    expect(established.episode.evidence.visits).toEqual(["v-old"]);
    expect(notEstablished.episode.outcome).toBe("needs-review");
    expect(notEstablished.episode.reasons).toEqual(["not-established"]);
    expect(notEstablished.episode.evidence.visits).toEqual([]);
  });

  it("R12: the 3 years are calendar years in the zone, not 3 x 365 days (2024 is a leap year)", () => {
    // Prepare: 3 x 365 x 24 h before 2026-03-16T04:00Z is 2023-03-17T04:00Z; a visit on 2023-03-16 at noon is
    // inside 3 calendar years but outside 3 x 365 days.
    const facts = [...opening(12), visit({ id: "v-old", at: "2023-03-16T12:00:00-04:00" })];

    // Act
    const { episode } = decideOne(facts, requireKnown);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.visits).toEqual(["v-old"]);
  });

  it("R12: a visit that did not take place (no-show) does not make the patient established (R10)", () => {
    // Prepare
    const facts = [
      ...opening(12),
      visit({ id: "v-old", at: "2025-03-10T10:00:00-04:00", status: "no-show" }),
    ];

    // Act
    const { episode } = decideOne(facts, requireKnown);

    // Assess
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["not-established"]);
  });

  it("R12: a visit during the window is not before its start: bundled, and not-established is listed too", () => {
    // Prepare
    const facts = [...opening(12), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00" })];

    // Act
    const { episode } = decideOne(facts, requireKnown);

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.reasons).toEqual(["bundled-into-visit", "not-established"]);
  });
});
