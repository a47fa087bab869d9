import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import { consent, consultReport, consultRequest, tenant, visit } from "../support/domain-builders.js";

/**
 * R25: interprofessional consultation.
 *
 * Timeline (America/New_York, EST -05:00 in January 2026): dr-adams (MD, NPI 1003000126) requests a consult from
 * np-baker (NP, NPI 1003000134) on Monday 2026-01-12 at 09:00 (cr1, the requester's 20 minutes); np-baker reports
 * on Tuesday 2026-01-13 at 14:00 (rp1, 15 minutes, verbal and written) unless a test says otherwise. The consult's
 * window runs to 14 days after the report (2026-01-27 14:00); decided as of 2026-03-15, when it is due. Fees:
 * DOMAIN's 2025 defaults (99446 1714, 99451 3299, 99452 3364; 99447-99449 have none). Consultant lines are dated
 * on the report's local date, the requester's on the request's. Consent `not-tracked` unless a test says so.
 */

const AS_OF = "2026-03-15T00:00:00-04:00";
const REQUESTED = "2026-01-12T09:00:00-05:00";
const REPORTED = "2026-01-13T14:00:00-05:00";

function decide(facts: readonly Fact[], config: TenantConfig = tenant()): Episode[] {
  return decideEpisodes(facts, config, AS_OF).episodes;
}

/** The consult lines, one per party, as [who, code, outcome, reasons, charge, date of service]. */
const consultLines = (episodes: readonly Episode[]) =>
  episodes
    .filter((e) => e.family === "interprofessional")
    .map((e) => ({
      who: e.renderingPractitionerId,
      code: e.procedureCode ?? null,
      outcome: e.outcome,
      reasons: e.reasons,
      charge: e.claimLine?.chargeCents ?? null,
      serviceDate: e.serviceDate,
    }))
    .sort((a, b) => a.who.localeCompare(b.who) || a.serviceDate.localeCompare(b.serviceDate));

const cr1 = (fields: Partial<Parameters<typeof consultRequest>[0]> = {}) =>
  consultRequest({
    id: "cr1",
    at: REQUESTED,
    requesterId: "dr-adams",
    consultantId: "np-baker",
    minutes: 20,
    ...fields,
  });
const rp1 = (fields: Partial<Parameters<typeof consultReport>[0]> = {}) =>
  consultReport({
    id: "rp1",
    at: REPORTED,
    requestId: "cr1",
    consultantId: "np-baker",
    minutes: 15,
    ...fields,
  });

/** The requester's line when nothing stops it: 20 minutes is 99452 (16-30), 3364, dated on the request. */
const requester99452 = {
  who: "dr-adams",
  code: "99452",
  outcome: "billable",
  reasons: [],
  charge: 3364,
  serviceDate: "2026-01-12",
};

describe("R25 interprofessional consultation", () => {
  it("R25: np-baker's 15 minutes verbal and written are 99447 (no default fee: fee-missing) and dr-adams's 20 minutes 99452 (3364)", () => {
    // Act
    const lines = consultLines(decide([cr1(), rp1()]));

    // Assess: 15 minutes is in 99447's 11-20; DOMAIN ships no fee for 99447, so the line needs the practice's.
    expect(lines).toEqual([
      requester99452,
      {
        who: "np-baker",
        code: "99447",
        outcome: "needs-review",
        reasons: ["fee-missing"],
        charge: null,
        serviceDate: "2026-01-13",
      },
    ]);
  });

  it("R25: with a practice fee schedule holding 99447, the consultant's line bills at that fee", () => {
    // Prepare: the practice's schedule replaces the default from 2025-01-01, so it must carry 99452 too.
    const config = tenant({
      feeSchedules: [{ effectiveFrom: "2025-01-01", fees: { "99447": 3050, "99452": 3364 } }],
    });

    // Act
    const episodes = decide([cr1(), rp1()], config);

    // Assess
    expect(consultLines(episodes)).toEqual([
      requester99452,
      {
        who: "np-baker",
        code: "99447",
        outcome: "billable",
        reasons: [],
        charge: 3050,
        serviceDate: "2026-01-13",
      },
    ]);
    const consultant = episodes.find((e) => e.renderingPractitionerId === "np-baker");
    expect(consultant?.claimLine).toMatchObject({
      procedureCode: "99447",
      units: 1,
      totalMinutes: 15,
      renderingProviderNpi: "1003000134",
      serviceDate: "2026-01-13",
      diagnosisCodes: ["E11.9"],
    });
    expect(consultant?.evidence.consults).toEqual(["cr1", "rp1"]);
  });

  it("R25: a written report of 8 minutes is 99451 (3299)", () => {
    // Act
    const lines = consultLines(decide([cr1(), rp1({ report: "written", minutes: 8 })]));

    // Assess
    expect(lines).toEqual([
      requester99452,
      {
        who: "np-baker",
        code: "99451",
        outcome: "billable",
        reasons: [],
        charge: 3299,
        serviceDate: "2026-01-13",
      },
    ]);
  });

  it.each([5, 10])(
    "R25: %i consultant minutes, verbal and written, are 99446 (5-10 min, 1714)",
    (minutes) => {
      // Act
      const lines = consultLines(decide([cr1(), rp1({ minutes })]));

      // Assess
      expect(lines.find((l) => l.who === "np-baker")).toEqual({
        who: "np-baker",
        code: "99446",
        outcome: "billable",
        reasons: [],
        charge: 1714,
        serviceDate: "2026-01-13",
      });
    },
  );

  it("R25: a consultant under 5 minutes is below-threshold; the requester still bills", () => {
    // Act
    const lines = consultLines(decide([cr1(), rp1({ minutes: 4 })]));

    // Assess
    expect(lines).toEqual([
      requester99452,
      {
        who: "np-baker",
        code: null,
        outcome: "below-threshold",
        reasons: ["below-threshold"],
        charge: null,
        serviceDate: "2026-01-13",
      },
    ]);
  });

  it("R25: a requester with 15 minutes gets no 99452 (16 minutes needed): below-threshold", () => {
    // Act
    const lines = consultLines(decide([cr1({ minutes: 15 }), rp1({ minutes: 10 })]));

    // Assess: the consultant's 10 minutes still bill 99446.
    expect(lines.map((l) => [l.who, l.code, l.outcome])).toEqual([
      ["dr-adams", null, "below-threshold"],
      ["np-baker", "99446", "billable"],
    ]);
  });

  describe("R25: a consult with a visit by the consultant within 14 days bills nothing", () => {
    it.each([
      // Report Tuesday 2026-01-13 14:00: a visit 6 days later is within the 14 days after it.
      { when: "after the report", at: "2026-01-19T10:00:00-05:00", outcome: "bundled-into-visit" },
      // Request Monday 2026-01-12: 2026-01-02 is 10 days before.
      { when: "before the request", at: "2026-01-02T10:00:00-05:00", outcome: "related-prior-visit" },
    ])("R25: np-baker's visit $when: $outcome on both lines", ({ at, outcome }) => {
      // Prepare: the consult with a 10-minute report (99446, a default fee), so only the visit can stop it.
      const facts = [cr1(), rp1({ minutes: 10 }), visit({ id: "v1", at, practitionerId: "np-baker" })];

      // Act
      const lines = consultLines(decide(facts));

      // Assess
      expect(lines.map((l) => [l.who, l.outcome, l.charge])).toEqual([
        ["dr-adams", outcome, null],
        ["np-baker", outcome, null],
      ]);
    });

    it("R25: a visit on the 15th day after the report does not exclude it, nor another clinician's visit", () => {
      // Prepare: 2026-01-13 + 15 days = 2026-01-28; and dr-evans sees the patient the day after the report.
      const facts = [
        cr1(),
        rp1({ minutes: 10 }),
        visit({ id: "v1", at: "2026-01-28T15:00:00-05:00", practitionerId: "np-baker" }),
        visit({ id: "v2", at: "2026-01-14T10:00:00-05:00", practitionerId: "dr-evans" }),
      ];

      // Act
      const lines = consultLines(decide(facts));

      // Assess
      expect(lines.map((l) => [l.who, l.code, l.outcome])).toEqual([
        ["dr-adams", "99452", "billable"],
        ["np-baker", "99446", "billable"],
      ]);
    });
  });

  it("R25: a consult that leads to a transfer of care bills neither party: transfer-of-care", () => {
    // Act
    const lines = consultLines(decide([cr1(), rp1({ minutes: 10, transferOfCare: true })]));

    // Assess
    expect(lines.map((l) => [l.who, l.outcome, l.charge])).toEqual([
      ["dr-adams", "transfer-of-care", null],
      ["np-baker", "transfer-of-care", null],
    ]);
  });

  it("R25: a second report by the same consultant within 7 days: frequency-limit on the later consultant line only", () => {
    // Prepare: a second consult, dr-evans to np-baker, requested Thursday 2026-01-15 09:00 (20 min) and reported
    // Friday 2026-01-16 10:00 (10 min), 2 days 20 hours after rp1: inside the 7 days.
    const facts = [
      cr1(),
      rp1({ minutes: 10 }),
      consultRequest({
        id: "cr2",
        at: "2026-01-15T09:00:00-05:00",
        requesterId: "dr-evans",
        consultantId: "np-baker",
        minutes: 20,
      }),
      consultReport({
        id: "rp2",
        at: "2026-01-16T10:00:00-05:00",
        requestId: "cr2",
        consultantId: "np-baker",
        minutes: 10,
      }),
    ];

    // Act
    const lines = consultLines(decide(facts));

    // Assess: the requesters' lines are not limited; np-baker's first (01-13) bills, the second (01-16) does not.
    expect(lines.map((l) => [l.who, l.serviceDate, l.code, l.outcome])).toEqual([
      ["dr-adams", "2026-01-12", "99452", "billable"],
      ["dr-evans", "2026-01-15", "99452", "billable"],
      ["np-baker", "2026-01-13", "99446", "billable"],
      ["np-baker", "2026-01-16", "99446", "frequency-limit"],
    ]);
  });

  it("R25: a consultant not on the roster gives no consultant line; the requester's still bills", () => {
    // Prepare: dr-outside is another practice's clinician.
    const facts = [cr1({ consultantId: "dr-outside" }), rp1({ consultantId: "dr-outside", minutes: 10 })];

    // Act
    const lines = consultLines(decide(facts));

    // Assess
    expect(lines).toEqual([requester99452]);
  });

  it("R25: a report more than 30 days after the request is not a consult; at 30 days it is", () => {
    // Prepare: 2026-01-12 09:00 + 30 days = 2026-02-11 09:00.
    const late = rp1({ at: "2026-02-12T10:00:00-05:00", minutes: 10 });
    const inTime = rp1({ at: "2026-02-11T09:00:00-05:00", minutes: 10 });

    // Act
    const none = consultLines(decide([cr1(), late]));
    const some = consultLines(decide([cr1(), inTime]));

    // Assess
    expect(none).toEqual([]);
    expect(some.map((l) => [l.who, l.code, l.outcome, l.serviceDate])).toEqual([
      ["dr-adams", "99452", "billable", "2026-01-12"],
      ["np-baker", "99446", "billable", "2026-02-11"],
    ]);
  });

  it("R25: consent required and missing is needs-review consent-missing on both lines; consent in the year before bills", () => {
    // Prepare
    const config = tenant({ consent: "required" });
    const facts = [cr1(), rp1({ minutes: 10 })];

    // Act
    const missing = consultLines(decide(facts, config));
    const present = consultLines(
      decide([...facts, consent({ id: "c1", at: "2025-06-01T12:00:00-04:00" })], config),
    );

    // Assess
    expect(missing.map((l) => [l.who, l.code, l.outcome, l.reasons])).toEqual([
      ["dr-adams", "99452", "needs-review", ["consent-missing"]],
      ["np-baker", "99446", "needs-review", ["consent-missing"]],
    ]);
    expect(present.map((l) => [l.who, l.outcome])).toEqual([
      ["dr-adams", "billable"],
      ["np-baker", "billable"],
    ]);
  });
});

/**
 * Cases a second reader worked out by hand from DOMAIN and docs/RULES.md that the engine first decided otherwise
 * (fixed in the engine since). Each states the facts, what the rules say, and why.
 */
describe("R25: which report, which visits, which earlier consults", () => {
  it("R25: a corrected report on the same request is the same consult, not a second one: no frequency-limit", () => {
    // Prepare: np-baker reports on cr1 on Tuesday 10:00 (rp1, 8 min) and corrects it at 16:00 (rp1b, 10 min).
    // RULES R25: the request is answered by "the latest" report (rp1b: 10 minutes, 99446, 1714). There is one
    // consult, so "at most once per consultant per patient in 7 days" (DOMAIN) is met: the superseded rp1 is not
    // another consult of theirs.
    const facts = [
      cr1(),
      rp1({ at: "2026-01-13T10:00:00-05:00", minutes: 8 }),
      consultReport({
        id: "rp1b",
        at: "2026-01-13T16:00:00-05:00",
        requestId: "cr1",
        consultantId: "np-baker",
        minutes: 10,
      }),
    ];

    // Act
    const lines = consultLines(decide(facts));

    // Assess
    expect(lines).toEqual([
      requester99452,
      {
        who: "np-baker",
        code: "99446",
        outcome: "billable",
        reasons: [],
        charge: 1714,
        serviceDate: "2026-01-13",
      },
    ]);
  });
  it("R25: a visit with the consultant between the request and the report stops the consult like one just before or after", () => {
    // Prepare: requested Monday 2026-01-12 09:00, np-baker sees the patient on Wednesday 2026-01-14 10:00 and
    // reports on Friday 2026-01-16 10:00 (10 min). DOMAIN R25: not when the consultant saw the patient in the 14
    // days before, nor when the consult leads to a visit with the consultant in the 14 days after; a visit in the
    // middle of the consult is within 14 days of both its ends (the consult led to it: bundled-into-visit).
    const facts = [
      cr1(),
      visit({ id: "v1", at: "2026-01-14T10:00:00-05:00", practitionerId: "np-baker" }),
      rp1({ at: "2026-01-16T10:00:00-05:00", minutes: 10 }),
    ];

    // Act
    const lines = consultLines(decide(facts));

    // Assess
    expect(lines.map((l) => [l.who, l.outcome, l.charge])).toEqual([
      ["dr-adams", "bundled-into-visit", null],
      ["np-baker", "bundled-into-visit", null],
    ]);
  });

  it("R25: an earlier consult of the same consultant that did not bill (transfer of care) does not use up the 7 days", () => {
    // Prepare: cr0 (2026-01-08) reported 2026-01-09 with a transfer of care: neither line bills. cr1 (dr-evans to
    // np-baker, 2026-01-12) reported 2026-01-13, 10 min. DOMAIN: the consultant bills "at most once per
    // consultant per patient in 7 days"; nothing was billed in the 7 days before, so rp1's 99446 bills (1714).
    const facts = [
      consultRequest({
        id: "cr0",
        at: "2026-01-08T09:00:00-05:00",
        requesterId: "dr-adams",
        consultantId: "np-baker",
        minutes: 20,
      }),
      consultReport({
        id: "rp0",
        at: "2026-01-09T10:00:00-05:00",
        requestId: "cr0",
        consultantId: "np-baker",
        minutes: 10,
        transferOfCare: true,
      }),
      cr1({ requesterId: "dr-evans" }),
      rp1({ minutes: 10 }),
    ];

    // Act
    const lines = consultLines(decide(facts));

    // Assess
    expect(lines.map((l) => [l.who, l.serviceDate, l.outcome])).toEqual([
      ["dr-adams", "2026-01-08", "transfer-of-care"],
      ["dr-evans", "2026-01-12", "billable"],
      ["np-baker", "2026-01-09", "transfer-of-care"],
      ["np-baker", "2026-01-13", "billable"],
    ]);
  });
});
