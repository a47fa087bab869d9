import { describe, expect, it } from "vitest";
import { familyOfCode, isAddOnCode } from "../../functions/domain/code-table.js";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import {
  activity,
  attestation,
  consultReport,
  consultRequest,
  enrollment,
  inquiry,
  roster,
  staffActivity,
  tenant,
  visit,
} from "../support/domain-builders.js";

/**
 * More of R21-R25, worked out by hand: the cases at the edges of each rule (codes not yet in effect, fees a
 * practice's schedule leaves out, attestations, who may bill, renewals, ties). America/New_York (EST -05:00 in
 * January; EDT -04:00 from 2026-03-08). Decided as of `AS_OF`, when everything is due.
 */

const AS_OF = "2026-04-20T00:00:00-04:00";
const decide = (facts: readonly Fact[], config: TenantConfig = tenant(), asOf = AS_OF): Episode[] =>
  decideEpisodes(facts, config, asOf).episodes;
const ofFamily = (episodes: readonly Episode[], ...families: string[]) =>
  episodes.filter((e) => families.includes(e.family));

/** Staff minutes on consecutive days of a month from the 5th, ten at a time (`month` YYYY-MM, offset given). */
const staff = (month: string, minutes: number, offset = "-05:00", prefix = "s"): Fact[] =>
  Array.from({ length: Math.ceil(minutes / 10) }, (_, i) =>
    staffActivity({
      id: `${prefix}${month}-${i}`,
      at: `${month}-${String(5 + i).padStart(2, "0")}T11:00:00${offset}`,
      staffId: "ma-ford",
      minutes: Math.min(10, minutes - i * 10),
    }),
  );

const feesWithout = (...codes: string[]) => {
  const fees: Record<string, number> = {
    "99490": 6049,
    "99439": 4593,
    "99421": 1456,
    "99422": 2846,
    G2010: 1197,
  };
  for (const code of codes) delete fees[code];
  return [{ effectiveFrom: "2014-01-01", fees }];
};

describe("R22-R23 at the edges", () => {
  it("R23: a month before 99439 existed (2020) bills 99490 alone however long; before CCM codes (2014) nothing bills", () => {
    // Prepare: 65 minutes in January 2020 (99490 from 2015, 99439 from 2021), and in January 2014.
    const in2020 = [
      enrollment({
        id: "e20",
        at: "2020-01-01T08:00:00-05:00",
        startDate: "2020-01-01",
        carePlanDate: "2020-01-01",
      }),
      ...staff("2020-01", 65),
    ];
    const in2014 = [
      enrollment({
        id: "e14",
        at: "2014-01-01T08:00:00-05:00",
        startDate: "2014-01-01",
        carePlanDate: "2014-01-01",
      }),
      ...staff("2014-01", 65),
    ];

    // Act
    const months2020 = ofFamily(decide(in2020), "ccm");
    const months2014 = ofFamily(decide(in2014), "ccm");

    // Assess
    expect(months2020.map((e) => [e.procedureCode, e.units, e.outcome])).toEqual([["99490", 1, "billable"]]);
    expect(months2014.map((e) => [e.procedureCode ?? null, e.outcome])).toEqual([[null, "unsupported-date"]]);
  });

  it("R23, R18: a practice schedule without 99439 leaves the add-on fee-missing and the base billable; without 99490 both", () => {
    // Prepare: 45 minutes: 99490 + 99439 x1.
    const facts = [enrollment({ id: "e1", at: "2026-01-01T08:00:00-05:00" }), ...staff("2026-01", 45)];

    // Act
    const noAddOnFee = ofFamily(decide(facts, tenant({ feeSchedules: feesWithout("99439") })), "ccm");
    const noBaseFee = ofFamily(decide(facts, tenant({ feeSchedules: feesWithout("99490") })), "ccm");

    // Assess
    const summary = (episodes: Episode[]) =>
      episodes.map((e) => [e.procedureCode, e.outcome, e.chargeCents ?? null]).sort();
    expect(summary(noAddOnFee)).toEqual([
      ["99439", "needs-review", null],
      ["99490", "billable", 6049],
    ]);
    expect(summary(noBaseFee)).toEqual([
      ["99439", "needs-review", 4593],
      ["99490", "needs-review", null],
    ]);
  });

  it("R19, R22: a biller's consent date and diagnoses resolve a care-management month", () => {
    // Prepare: an enrollment without a consent date or conditions: consent-missing, diagnosis-missing and
    // enrollment-incomplete (no conditions).
    const facts = [
      enrollment({ id: "e1", at: "2026-01-01T08:00:00-05:00", consentDate: undefined, conditions: [] }),
      ...staff("2026-01", 25),
    ];
    const config = tenant({ consent: "required" });
    const [month] = ofFamily(decide(facts, config), "ccm") as [Episode];
    const resolutions = [
      attestation({
        id: "att-c",
        at: "2026-02-05T09:00:00-05:00",
        episodeId: month.episodeId,
        resolution: { action: "record-consent", consentDate: "2026-01-02" },
      }),
      attestation({
        id: "att-d",
        at: "2026-02-05T09:01:00-05:00",
        episodeId: month.episodeId,
        resolution: { action: "supply-diagnoses", diagnosisCodes: ["E11.9", "I10"] },
      }),
    ];

    // Act
    const [resolved] = ofFamily(decide([...facts, ...resolutions], config), "ccm") as [Episode];

    // Assess: the consent (01-02, on or before the first minute on 01-05) and the codes are used; the enrollment
    // itself still names no conditions (R22 needs two), so it stays enrollment-incomplete.
    expect(month.reasons).toEqual(["consent-missing", "diagnosis-missing", "enrollment-incomplete"]);
    expect(resolved.reasons).toEqual(["enrollment-incomplete"]);
    expect(resolved.diagnosisCodes).toEqual(["E11.9", "I10"]);
    expect(resolved.evidence.attestations).toEqual(["att-c", "att-d"]);
  });

  it("R22, R4: a billing practitioner off the roster is unknown-clinician; an RN named as one cannot bill (enrollment-incomplete)", () => {
    // Act
    const off = ofFamily(
      decide([
        enrollment({ id: "e1", at: "2026-01-01T08:00:00-05:00", billingPractitionerId: "dr-nobody" }),
        ...staff("2026-01", 25),
      ]),
      "ccm",
    );
    const nurse = ofFamily(
      decide([
        enrollment({ id: "e1", at: "2026-01-01T08:00:00-05:00", billingPractitionerId: "rn-diaz" }),
        ...staff("2026-01", 25),
      ]),
      "ccm",
    );

    // Assess
    expect(off.map((e) => [e.outcome, e.reasons, e.billingGroup])).toEqual([
      ["needs-review", ["unknown-clinician"], "default"],
    ]);
    expect(nurse.map((e) => [e.outcome, e.reasons])).toEqual([["needs-review", ["enrollment-incomplete"]]]);
  });

  it("R22: a renewal mid-month counts the time under both enrollments; a cancelled enrollment counts none", () => {
    // Prepare: e1 ends 2026-01-14, e2 starts 01-15 (same practitioner); 15 minutes on 01-05, 10 on 01-20.
    const facts = [
      enrollment({
        id: "e1",
        at: "2025-01-15T08:00:00-05:00",
        startDate: "2025-01-15",
        endDate: "2026-01-14",
        status: "finished",
      }),
      enrollment({ id: "e2", at: "2026-01-15T08:00:00-05:00", startDate: "2026-01-15" }),
      staffActivity({ id: "s1", at: "2026-01-05T11:00:00-05:00", staffId: "ma-ford", minutes: 15 }),
      staffActivity({ id: "s2", at: "2026-01-20T11:00:00-05:00", staffId: "ma-ford", minutes: 10 }),
    ];
    const cancelled = [
      enrollment({ id: "e3", at: "2026-01-01T08:00:00-05:00", status: "cancelled" }),
      ...staff("2026-01", 25),
    ];

    // Act
    const [month] = ofFamily(decide(facts), "ccm") as [Episode];

    // Assess: 25 minutes, 99490, billed under the enrollment that started last.
    expect([month.procedureCode, month.totalMinutes, month.evidence.enrollments]).toEqual([
      "99490",
      25,
      ["e2"],
    ]);
    expect(ofFamily(decide(cancelled), "ccm")).toEqual([]);
  });

  it("R22: time on a day no enrollment covers is seen and not counted", () => {
    // Prepare: enrolled from 01-15; 10 minutes on 01-05 and 25 on 01-20.
    const facts = [
      enrollment({ id: "e1", at: "2026-01-15T08:00:00-05:00", startDate: "2026-01-15" }),
      staffActivity({ id: "s-before", at: "2026-01-05T11:00:00-05:00", staffId: "ma-ford", minutes: 10 }),
      staffActivity({ id: "s-after", at: "2026-01-20T11:00:00-05:00", staffId: "ma-ford", minutes: 25 }),
    ];

    // Act
    const [month] = ofFamily(decide(facts), "ccm") as [Episode];

    // Assess
    expect([month.totalMinutes, month.evidence.counted, month.evidence.uncounted]).toEqual([
      25,
      ["s-after"],
      ["s-before"],
    ]);
  });

  it("R23: people with equal time are listed by their first minute, then by id", () => {
    // Prepare: ma-ford and ma-gray 10 minutes each, ma-gray first; then ma-hill and ma-ives 10 each at one instant.
    const facts = [
      enrollment({ id: "e1", at: "2026-01-01T08:00:00-05:00" }),
      staffActivity({ id: "s1", at: "2026-01-06T11:00:00-05:00", staffId: "ma-ford", minutes: 10 }),
      staffActivity({ id: "s2", at: "2026-01-05T11:00:00-05:00", staffId: "ma-gray", minutes: 10 }),
      staffActivity({ id: "s3", at: "2026-01-07T11:00:00-05:00", staffId: "ma-ives", minutes: 10 }),
      staffActivity({ id: "s4", at: "2026-01-07T11:00:00-05:00", staffId: "ma-hill", minutes: 10 }),
    ];

    // Act
    const [month] = ofFamily(decide(facts), "ccm") as [Episode];

    // Assess
    expect(month.minutesByClinician.map((c) => c.practitionerId)).toEqual([
      "ma-gray",
      "ma-ford",
      "ma-hill",
      "ma-ives",
    ]);
  });
});

describe("R21 at the edges", () => {
  const ON = (overrides = {}) => tenant({ imageReview: "when-digital-em-does-not-bill", ...overrides });
  const photo = (id: string, at: string) =>
    inquiry({ id, at, attachments: [{ kind: "image", contentType: "image/png" }] });

  it("R21: before G2250 existed (2020) a therapist's evaluation is unsupported-date; a schedule without G2010 is fee-missing", () => {
    // Prepare: a photo on Monday 2020-03-02 answered by pt-chen 3 minutes later that day; one in 2026 by dr-adams.
    const therapist = [
      photo("q1", "2020-03-02T09:00:00-05:00"),
      activity({
        id: "a1",
        at: "2020-03-02T10:00:00-05:00",
        practitionerId: "pt-chen",
        minutes: 3,
        inResponseTo: "q1",
      }),
    ];
    const physician = [
      photo("q2", "2026-01-12T09:00:00-05:00"),
      activity({
        id: "a2",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 3,
        inResponseTo: "q2",
      }),
    ];

    // Act
    const [old] = ofFamily(decide(therapist, ON()), "image-review") as [Episode];
    const [unpriced] = ofFamily(
      decide(physician, ON({ feeSchedules: feesWithout("G2010") })),
      "image-review",
    ) as [Episode];

    // Assess
    expect([old.procedureCode ?? null, old.outcome]).toEqual([null, "unsupported-date"]);
    expect([unpriced.procedureCode, unpriced.outcome, unpriced.reasons]).toEqual([
      "G2010",
      "needs-review",
      ["fee-missing"],
    ]);
  });

  it("R21, R19: do-not-bill and supplied diagnoses apply to a photo review", () => {
    // Prepare: a photo with no diagnosis codes answered 3 minutes by dr-adams.
    const facts = [
      inquiry({
        id: "q1",
        at: "2026-01-12T09:00:00-05:00",
        diagnosisCodes: [],
        attachments: [{ kind: "video" }],
      }),
      activity({
        id: "a1",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 3,
        inResponseTo: "q1",
        diagnosisCodes: [],
      }),
    ];
    const [image] = ofFamily(decide(facts, ON()), "image-review") as [Episode];
    const codes = attestation({
      id: "att-d",
      at: "2026-01-20T09:00:00-05:00",
      episodeId: image.episodeId,
      resolution: { action: "supply-diagnoses", diagnosisCodes: ["L30.9"] },
    });
    const dnb = attestation({
      id: "att-n",
      at: "2026-01-21T09:00:00-05:00",
      episodeId: image.episodeId,
      resolution: { action: "do-not-bill", reason: "told the patient photos are free" },
    });

    // Act
    const [supplied] = ofFamily(decide([...facts, codes], ON()), "image-review") as [Episode];
    const [stopped] = ofFamily(decide([...facts, codes, dnb], ON()), "image-review") as [Episode];

    // Assess
    expect(image.reasons).toEqual(["diagnosis-missing"]);
    expect([supplied.outcome, supplied.diagnosisCodes]).toEqual(["billable", ["L30.9"]]);
    expect([stopped.outcome, stopped.claimLine]).toEqual(["do-not-bill", undefined]);
  });

  it("R21, R4: an evaluation by a clinician known only by the payload's qualification and no NPI is unknown-clinician", () => {
    // Prepare: dr-visiting is on no roster; the payload says MD and gives no NPI.
    const facts = [
      photo("q1", "2026-01-12T09:00:00-05:00"),
      activity({
        id: "a1",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-visiting",
        qualification: "MD",
        minutes: 3,
        inResponseTo: "q1",
      }),
    ];

    // Act
    const [image] = ofFamily(decide(facts, ON()), "image-review") as [Episode];

    // Assess
    expect([image.procedureCode, image.outcome, image.reasons]).toEqual([
      "G2010",
      "needs-review",
      ["unknown-clinician"],
    ]);
  });

  it("R21: of two replies at the same instant the evaluation is the one with the smaller id", () => {
    // Prepare: np-baker (a2) and dr-adams (a1) answer at 10:00 exactly.
    const facts = [
      photo("q1", "2026-01-12T09:00:00-05:00"),
      activity({
        id: "a2",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "np-baker",
        minutes: 2,
        inResponseTo: "q1",
      }),
      activity({
        id: "a1",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 2,
        inResponseTo: "q1",
      }),
    ];

    // Act
    const [image] = ofFamily(decide(facts, ON()), "image-review") as [Episode];

    // Assess
    expect(image.renderingPractitionerId).toBe("dr-adams");
  });
});

describe("R25 at the edges", () => {
  const request = (id: string, at: string) =>
    consultRequest({ id, at, requesterId: "dr-adams", consultantId: "np-baker", minutes: 20 });
  const report = (id: string, requestId: string, at: string) =>
    consultReport({ id, requestId, at, consultantId: "np-baker", minutes: 8, report: "written" });

  it("R25, R19: a visit without a named practitioner in the consult's days needs review; the biller decides whose it was", () => {
    // Prepare: request 01-12, report 01-13, a visit on 01-20 naming no practitioner.
    const facts = [
      request("cr1", "2026-01-12T09:00:00-05:00"),
      report("rp1", "cr1", "2026-01-13T09:00:00-05:00"),
      visit({ id: "v1", at: "2026-01-20T09:00:00-05:00" }),
    ];
    const before = ofFamily(decide(facts), "interprofessional");
    const consultant = before.find((e) => e.procedureCode === "99451") as Episode;
    const decided = (related: boolean) =>
      attestation({
        id: `att-${related}`,
        at: "2026-02-10T09:00:00-05:00",
        episodeId: consultant.episodeId,
        resolution: { action: "decide-relatedness", priorVisitId: "v1", related },
      });

    // Act
    const [notTheirs] = ofFamily(decide([...facts, decided(false)]), "interprofessional").filter(
      (e) => e.procedureCode === "99451",
    );
    const [theirs] = ofFamily(decide([...facts, decided(true)]), "interprofessional").filter(
      (e) => e.procedureCode === "99451",
    );

    // Assess
    expect([consultant.outcome, consultant.reasons, consultant.evidence.visits]).toEqual([
      "needs-review",
      ["relatedness-unknown"],
      ["v1"],
    ]);
    expect(notTheirs?.outcome).toBe("billable");
    expect([theirs?.outcome, theirs?.evidence.attestations]).toEqual(["bundled-into-visit", ["att-true"]]);
  });

  it("R25, R19: do-not-bill and supplied diagnoses on a consult line", () => {
    // Prepare: a consult with no diagnosis codes anywhere.
    const facts = [
      consultRequest({
        id: "cr1",
        at: "2026-01-12T09:00:00-05:00",
        requesterId: "dr-adams",
        consultantId: "np-baker",
        minutes: 20,
        diagnosisCodes: [],
      }),
      report("rp1", "cr1", "2026-01-13T09:00:00-05:00"),
    ];
    const requester = ofFamily(decide(facts), "interprofessional").find(
      (e) => e.procedureCode === "99452",
    ) as Episode;
    const codes = attestation({
      id: "att-d",
      at: "2026-02-10T09:00:00-05:00",
      episodeId: requester.episodeId,
      resolution: { action: "supply-diagnoses", diagnosisCodes: ["M54.50"] },
    });
    const dnb = attestation({
      id: "att-n",
      at: "2026-02-11T09:00:00-05:00",
      episodeId: requester.episodeId,
      resolution: { action: "do-not-bill", reason: "the practice does not bill referrals" },
    });

    // Act
    const supplied = ofFamily(decide([...facts, codes]), "interprofessional").find(
      (e) => e.procedureCode === "99452",
    );
    const stopped = ofFamily(decide([...facts, codes, dnb]), "interprofessional").find(
      (e) => e.procedureCode === "99452",
    );

    // Assess
    expect(requester.reasons).toEqual(["diagnosis-missing"]);
    expect([supplied?.outcome, supplied?.diagnosisCodes]).toEqual(["billable", ["M54.50"]]);
    expect(stopped?.outcome).toBe("do-not-bill");
  });

  it("R25: before 99451/99452 existed (2018) the written report and the requester's time are unsupported-date", () => {
    // Prepare
    const facts = [
      request("cr1", "2018-03-12T09:00:00-04:00"),
      report("rp1", "cr1", "2018-03-13T09:00:00-04:00"),
    ];

    // Act
    const lines = ofFamily(decide(facts), "interprofessional");

    // Assess
    expect(lines.map((e) => [e.procedureCode ?? null, e.outcome]).sort()).toEqual([
      [null, "unsupported-date"],
      [null, "unsupported-date"],
    ]);
  });

  it("R25: two requests at the same instant are decided in id order, the same whatever order they came in", () => {
    // Prepare: cr-b and cr-a at 09:00, each answered the next day by np-baker (so the later report is frequency-limited).
    const facts = [
      request("cr-b", "2026-01-12T09:00:00-05:00"),
      request("cr-a", "2026-01-12T09:00:00-05:00"),
      report("rp-a", "cr-a", "2026-01-13T09:00:00-05:00"),
      report("rp-b", "cr-b", "2026-01-13T10:00:00-05:00"),
    ];

    // Act
    const forward = ofFamily(decide(facts), "interprofessional");
    const backward = ofFamily(decide([...facts].reverse()), "interprofessional");

    // Assess
    expect(JSON.stringify(backward)).toBe(JSON.stringify(forward));
    const consultants = forward
      .filter((e) => e.procedureCode === "99451")
      .map((e) => [e.evidence.consults, e.outcome]);
    expect(consultants).toEqual([
      [["cr-a", "rp-a"], "billable"],
      [["cr-b", "rp-b"], "frequency-limit"],
    ]);
  });
});

describe("code table for the families after the e-visits", () => {
  it("R23: add-on codes are known as such (their minutes are their base line's); every billed code has a family", () => {
    // Assess
    expect(["99439", "99437", "99489", "99425", "99427"].every(isAddOnCode)).toBe(true);
    expect(["99490", "99491", "99487", "99424", "99426", "99422", "G2010", "99451"].some(isAddOnCode)).toBe(
      false,
    );
    expect(familyOfCode("99439")).toBe("ccm");
    expect(familyOfCode("G2250")).toBe("image-review");
    expect(() => familyOfCode("98016")).toThrow(RangeError);
    expect(() => familyOfCode("00000")).toThrow(RangeError);
    expect(roster.length).toBeGreaterThan(0);
  });
});
