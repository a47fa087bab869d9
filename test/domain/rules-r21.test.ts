import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import {
  activity,
  consent,
  enrollment,
  inquiry,
  staffActivity,
  tenant,
  visit,
} from "../support/domain-builders.js";

/**
 * R21: remote evaluation of patient-submitted images or video (G2010 for E/M clinicians, G2250 for the others).
 *
 * Timeline (America/New_York, EST -05:00 in January 2026; 2026-01-09 is a Friday, 2026-01-12 a Monday): the
 * patient writes on Monday 2026-01-12 at 09:00 with a photo (inquiry q1, problem E11.9); clinicians reply into
 * q1's thread (message ids are the fact ids). 24 business hours (Monday-Friday, practice-local, every hour of a
 * weekday) after Monday 09:00 is Tuesday 2026-01-13 09:00: the follow-up's deadline. Policy `imageReview:
 * when-digital-em-does-not-bill` unless a test says otherwise; consent `not-tracked` unless said. Fees: DOMAIN's
 * 2025 defaults (G2010 1197, G2250 1197). Decided as of 2026-02-15, when every window here is due.
 */

const AS_OF = "2026-02-15T00:00:00-05:00";
const ON = (overrides: Parameters<typeof tenant>[0] = {}) =>
  tenant({ imageReview: "when-digital-em-does-not-bill", ...overrides });
const PHOTO = [{ kind: "image" as const, contentType: "image/jpeg" }];

function decide(facts: readonly Fact[], config: TenantConfig = ON()): Episode[] {
  return decideEpisodes(facts, config, AS_OF).episodes;
}

const images = (episodes: readonly Episode[]) => episodes.filter((e) => e.family === "image-review");

/** The one image-review episode of a decision (fails when there is not exactly one). */
function imageOf(facts: readonly Fact[], config: TenantConfig = ON()): Episode {
  const found = images(decide(facts, config));
  expect(found).toHaveLength(1);
  return found[0] as Episode;
}

const q1 = (fields: Partial<Parameters<typeof inquiry>[0]> = {}) =>
  inquiry({ id: "q1", at: "2026-01-12T09:00:00-05:00", attachments: PHOTO, ...fields });

/** A clinician's message into q1's thread. */
const reply = (
  id: string,
  at: string,
  fields: {
    practitionerId?: string;
    minutes?: number;
    recipient?: "patient" | "practitioner" | "other";
  } = {},
) =>
  activity({
    id,
    at,
    practitionerId: fields.practitionerId ?? "dr-adams",
    minutes: fields.minutes ?? 3,
    inResponseTo: "q1",
    ...(fields.recipient !== undefined && { recipient: fields.recipient }),
  });

/** Monday 10:00: dr-adams's 3-minute evaluation, which is also the follow-up (addressed to the patient). */
const evaluatedAndAnswered = () => [q1(), reply("a1", "2026-01-12T10:00:00-05:00")];

describe("R21 image review", () => {
  it("R21: policy off (the default) gives no image-review episode", () => {
    // Act
    const episodes = decide(evaluatedAndAnswered(), tenant());

    // Assess: the e-visit is decided as ever (3 minutes: below-threshold), and there is no image review.
    expect(images(episodes)).toEqual([]);
    expect(episodes.map((e) => [e.family, e.outcome])).toEqual([["digital-em", "below-threshold"]]);
  });

  it("R21: an MD's evaluation with a follow-up bills G2010 (1197), dated on the follow-up's local date, in contract 1.1 (3 untimed minutes)", () => {
    // Prepare: dr-adams evaluates on Monday 16:00 in a message to a colleague (3 min), and follows up with the
    // patient on Tuesday 08:30 (1 min), before the deadline Tuesday 09:00 (Monday 09:00 + 24 weekday hours).
    // The e-visit holds 3 + 1 = 4 minutes: below-threshold (R6), so it does not bill and G2010 may.
    const facts = [
      q1(),
      reply("a1", "2026-01-12T16:00:00-05:00", { recipient: "practitioner" }),
      reply("a2", "2026-01-13T08:30:00-05:00", { minutes: 1 }),
    ];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(episodes.find((e) => e.family === "digital-em")).toMatchObject({
      totalMinutes: 4,
      outcome: "below-threshold",
    });
    const image = images(episodes)[0] as Episode;
    expect(image).toMatchObject({
      family: "image-review",
      procedureCode: "G2010",
      outcome: "billable",
      reasons: [],
      renderingPractitionerId: "dr-adams",
      serviceDate: "2026-01-13",
      chargeCents: 1197,
    });
    expect(image.evidence.inquiries).toEqual(["q1"]);
    expect(image.evidence.counted).toContain("a1");
    // Untimed: the evaluation's 3 minutes are below 1.0's floor of 5, so the line is written in contract 1.1.
    expect(image.claimLine).toMatchObject({
      schemaVersion: "1.1",
      action: "original",
      procedureCode: "G2010",
      units: 1,
      serviceDate: "2026-01-13",
      renderingProviderNpi: "1003000126",
      diagnosisCodes: ["E11.9"],
      totalMinutes: 3,
      chargeCents: 1197,
      modifiers: [],
      placeOfService: "11",
    });
  });

  it("R21: a PT's evaluation bills G2250 (1197)", () => {
    // Prepare: pt-chen (PT, digital-assessment: not E/M) evaluates and answers the patient on Monday 10:00, 3 min
    // (the 98970 e-visit is below-threshold at 3 minutes).
    const facts = [q1(), reply("a1", "2026-01-12T10:00:00-05:00", { practitionerId: "pt-chen" })];

    // Act
    const image = imageOf(facts);

    // Assess
    expect(image).toMatchObject({
      procedureCode: "G2250",
      outcome: "billable",
      renderingPractitionerId: "pt-chen",
      serviceDate: "2026-01-12",
      chargeCents: 1197,
    });
    expect(image.claimLine?.renderingProviderNpi).toBe("1003000142");
  });

  it("R21: an inquiry with only an `other` attachment opens no image review; a video does", () => {
    // Prepare
    const pdf = [inquiry({ id: "q1", at: "2026-01-12T09:00:00-05:00", attachments: [{ kind: "other" }] })];
    const film = [q1({ attachments: [{ kind: "video", contentType: "video/mp4" }] })];
    const answer = reply("a1", "2026-01-12T10:00:00-05:00");

    // Act
    const withPdf = images(decide([...pdf, answer]));
    const withFilm = images(decide([...film, answer]));

    // Assess
    expect(withPdf).toEqual([]);
    expect(withFilm.map((e) => [e.procedureCode, e.outcome])).toEqual([["G2010", "billable"]]);
  });

  it.each([
    // Monday 09:00 + 24 weekday hours = Tuesday 09:00: on the deadline is within it; half an hour later is not.
    { followUpAt: "2026-01-13T09:00:00-05:00", outcome: "billable" },
    { followUpAt: "2026-01-13T09:30:00-05:00", outcome: "no-follow-up" },
  ])("R21: a follow-up at $followUpAt after a Monday 09:00 inquiry: $outcome", ({ followUpAt, outcome }) => {
    // Prepare: the evaluation on Monday 10:00 goes to a colleague; the follow-up to the patient comes later.
    const facts = [
      q1(),
      reply("a1", "2026-01-12T10:00:00-05:00", { recipient: "practitioner" }),
      reply("a2", followUpAt, { minutes: 1 }),
    ];

    // Act
    const image = imageOf(facts);

    // Assess
    expect(image.outcome).toBe(outcome);
    expect(image.claimLine === undefined).toBe(outcome !== "billable");
  });

  it.each([
    // Friday 15:00 to Saturday 00:00 is 9 business hours; the weekend adds none; 15 more from Monday 00:00 is the
    // deadline Monday 15:00.
    { answeredAt: "2026-01-12T14:00:00-05:00", outcome: "billable" },
    { answeredAt: "2026-01-12T15:30:00-05:00", outcome: "no-follow-up" },
  ])(
    "R21: the weekend does not count: Friday 15:00 inquiry, answered Monday $answeredAt: $outcome",
    ({ answeredAt, outcome }) => {
      // Prepare: the evaluation is also the follow-up (one message to the patient).
      const facts = [q1({ at: "2026-01-09T15:00:00-05:00" }), reply("a1", answeredAt)];

      // Act
      const image = imageOf(facts);

      // Assess
      expect(image.outcome).toBe(outcome);
      if (outcome === "billable") expect(image.serviceDate).toBe("2026-01-12");
    },
  );

  it("R21: G2010 never bills for work the digital E/M episode billed: 12 minutes bill 99422 and the image review is counted-elsewhere; 3 minutes bill G2010", () => {
    // Prepare: the same one-message evaluation (Monday 10:00, to the patient) of 12 and of 3 minutes.
    const twelve = [q1(), reply("a1", "2026-01-12T10:00:00-05:00", { minutes: 12 })];
    const three = [q1(), reply("a1", "2026-01-12T10:00:00-05:00", { minutes: 3 })];

    // Act
    const billedEVisit = decide(twelve);
    const belowThreshold = decide(three);

    // Assess: 12 minutes is 99422 (11-20); the evaluation is that billed episode's work (R24).
    expect(billedEVisit.map((e) => [e.family, e.procedureCode ?? null, e.outcome])).toEqual(
      expect.arrayContaining([
        ["digital-em", "99422", "billable"],
        ["image-review", "G2010", "counted-elsewhere"],
      ]),
    );
    expect(images(billedEVisit)[0]?.claimLine).toBeUndefined();
    // 3 minutes: the e-visit is below-threshold (under 5), so the evaluation bills G2010.
    expect(belowThreshold.map((e) => [e.family, e.outcome])).toEqual(
      expect.arrayContaining([
        ["digital-em", "below-threshold"],
        ["image-review", "billable"],
      ]),
    );
  });

  it("R21: a related visit in the 7 days before the evaluation: related-prior-visit; an unrelated one does not stop it", () => {
    // Prepare: a visit on Thursday 2026-01-08, within the 7 calendar days before Monday 2026-01-12
    // (2026-01-05..2026-01-11), for E11.65 (related to q1's E11.9: category E11) or J06.9 (unrelated).
    const related = visit({ id: "v1", at: "2026-01-08T10:00:00-05:00", diagnosisCodes: ["E11.65"] });
    const unrelated = visit({ id: "v1", at: "2026-01-08T10:00:00-05:00", diagnosisCodes: ["J06.9"] });

    // Act
    const stopped = imageOf([...evaluatedAndAnswered(), related]);
    const billed = imageOf([...evaluatedAndAnswered(), unrelated]);

    // Assess
    expect(stopped).toMatchObject({ outcome: "related-prior-visit", priorVisitId: "v1" });
    expect(stopped.claimLine).toBeUndefined();
    expect(billed.outcome).toBe("billable");
  });

  it.each([
    // The evaluation is Monday 10:00: 23.5 hours after it is within 24 hours; 24.5 hours is not.
    { visitAt: "2026-01-13T09:30:00-05:00", outcome: "bundled-into-visit" },
    { visitAt: "2026-01-13T10:30:00-05:00", outcome: "billable" },
  ])("R21: a visit at $visitAt after a Monday 10:00 evaluation: $outcome", ({ visitAt, outcome }) => {
    // Prepare
    const facts = [...evaluatedAndAnswered(), visit({ id: "v1", at: visitAt })];

    // Act
    const image = imageOf(facts);

    // Assess
    expect(image.outcome).toBe(outcome);
    if (outcome === "bundled-into-visit") expect(image.bundledVisit?.visitId).toBe("v1");
  });

  it.each(["practitioner", "other"] as const)(
    "R21: a reply with recipient `%s` is not a follow-up: no-follow-up",
    (recipient) => {
      // Prepare: dr-adams's only message in the thread (Monday 10:00) goes to someone other than the patient.
      const facts = [q1(), reply("a1", "2026-01-12T10:00:00-05:00", { recipient })];

      // Act
      const image = imageOf(facts);

      // Assess
      expect(image.outcome).toBe("no-follow-up");
      expect(image.claimLine).toBeUndefined();
    },
  );

  it("R21: R11 consent applies: required and missing is needs-review consent-missing; an active consent in the year before bills", () => {
    // Prepare: consent dated 2025-06-01, within 365 days before the inquiry.
    const config = ON({ consent: "required" });
    const signed = consent({ id: "c1", at: "2025-06-01T12:00:00-04:00" });

    // Act
    const missing = imageOf(evaluatedAndAnswered(), config);
    const present = imageOf([...evaluatedAndAnswered(), signed], config);

    // Assess
    expect(missing).toMatchObject({ outcome: "needs-review", reasons: ["consent-missing"] });
    expect(missing.claimLine).toBeUndefined();
    expect(present).toMatchObject({ outcome: "billable", procedureCode: "G2010" });
  });

  it("R21: an unknown clinician (not on the roster, no qualification) is not an evaluation; the next counted clinician's is", () => {
    // Prepare: dr-unknown answers on Monday 10:00; np-baker (NP, E/M) answers the patient at 11:00.
    const unknownOnly = [q1(), reply("a1", "2026-01-12T10:00:00-05:00", { practitionerId: "dr-unknown" })];
    const thenBaker = [
      ...unknownOnly,
      reply("a2", "2026-01-12T11:00:00-05:00", { practitionerId: "np-baker" }),
    ];

    // Act
    const none = images(decide(unknownOnly));
    const baker = imageOf(thenBaker);

    // Assess
    expect(none).toEqual([]);
    expect(baker).toMatchObject({
      procedureCode: "G2010",
      outcome: "billable",
      renderingPractitionerId: "np-baker",
    });
    expect(baker.evidence.counted).not.toContain("a1");
  });

  it("R24: a billed G2010's evaluation is not counted again toward CCM", () => {
    // Prepare: enrolled in CCM (dr-adams bills it); the photo q1 evaluated and answered by dr-adams on Monday
    // 2026-01-12 10:00 (3 min: the e-visit is below-threshold, so G2010 bills) and 18 staff minutes in January.
    // Without R24, January would hold 18 + 3 = 21 minutes (99490 at 20); with it, 18: below-threshold.
    const facts = [
      ...evaluatedAndAnswered(),
      enrollment({ id: "enr-ccm", at: "2026-01-01T08:00:00-05:00" }),
      staffActivity({ id: "s1", at: "2026-01-20T11:00:00-05:00", staffId: "ma-ford", minutes: 18 }),
    ];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(images(episodes).map((e) => [e.procedureCode, e.outcome])).toEqual([["G2010", "billable"]]);
    const month = episodes.find((e) => e.family === "ccm");
    expect(month).toMatchObject({ totalMinutes: 18, outcome: "below-threshold" });
    expect(month?.evidence.counted).toEqual(["s1"]);
  });

  it("R21 (R1): a photo in a clinician-started thread, or a clinician message outside the inquiry's thread, is no image review", () => {
    // Prepare: dr-adams starts a thread (c0, Monday 08:00); the patient's photo replies to it (not an inquiry,
    // R1) and dr-adams answers that. Separately: a photo inquiry and a 3-minute message not replying into it.
    const clinicianStarted = [
      activity({ id: "c0", at: "2026-01-12T08:00:00-05:00", practitionerId: "dr-adams", minutes: 0 }),
      q1({ inResponseTo: "c0" }),
      reply("a1", "2026-01-12T10:00:00-05:00"),
    ];
    const outsideThread = [
      q1(),
      activity({ id: "a1", at: "2026-01-12T10:00:00-05:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act / Assess
    expect(images(decide(clinicianStarted))).toEqual([]);
    expect(images(decide(outsideThread))).toEqual([]);
  });
});

/**
 * Cases a second reader worked out by hand from DOMAIN and docs/RULES.md that the engine first decided otherwise
 * (fixed in the engine since). Each states the facts, what the rules say, and why.
 */
describe("R21, R24: the same work is never billed twice", () => {
  it("R21 (R24): the follow-up is the image review's work too: when a billed e-visit counts it, G2010 does not bill", () => {
    // Prepare: an e-visit A opens on Monday 2026-01-05 (q0, a0 2 min); its window is 2026-01-05..2026-01-11. The
    // photo q2 comes on Friday 2026-01-09 15:00, while A is open (R7: it joins A); dr-adams evaluates it at
    // 16:00 in a note to a colleague (a1, 1 min, in A: A holds 2 + 1 = 3 minutes, below-threshold). On Monday
    // 2026-01-12 13:00 the patient asks something new (q3, no earlier episode: it opens B), and at 14:00 dr-adams
    // follows up on the photo with the patient (a2, 12 min, in q2's thread, before the deadline Monday 15:00).
    // B counts a2: 12 minutes, 99422, billable. a2 is also the G2010's follow-up: billing both bills a2's work
    // twice ("never both for the same work"; R24: e-visits first, so the image review is counted-elsewhere).
    const facts = [
      inquiry({ id: "q0", at: "2026-01-05T09:00:00-05:00" }),
      activity({
        id: "a0",
        at: "2026-01-05T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 2,
        inResponseTo: "q0",
      }),
      inquiry({ id: "q2", at: "2026-01-09T15:00:00-05:00", attachments: PHOTO }),
      activity({
        id: "a1",
        at: "2026-01-09T16:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 1,
        inResponseTo: "q2",
        recipient: "practitioner",
      }),
      inquiry({ id: "q3", at: "2026-01-12T13:00:00-05:00" }),
      activity({
        id: "a2",
        at: "2026-01-12T14:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 12,
        inResponseTo: "q2",
      }),
    ];

    // Act
    const episodes = decide(facts);

    // Assess: B bills 99422 with a2; the image review does not bill a2 again.
    const billed = episodes.filter((e) => e.outcome === "billable");
    expect(billed.map((e) => [e.family, e.procedureCode, e.evidence.counted])).toEqual([
      ["digital-em", "99422", ["a2"]],
    ]);
    expect(images(episodes).map((e) => e.outcome)).toEqual(["counted-elsewhere"]);
  });

  it("R21 (R24): a first reply without documented time does not let G2010 bill beside the billed e-visit of the same inquiry", () => {
    // Prepare: the photo q1 (Monday 09:00); dr-adams's first message in the thread at 10:00 carries no time (a1,
    // 0 min: kept for audit, DOMAIN "Facts from FHIR payloads"); the 12-minute answer follows at 11:00 (a2). The
    // e-visit opened by q1 holds both (a1 uncounted, a2 counted) and bills 99422. Either a1 is not an evaluation
    // (no counted time, so the evaluation is a2, which the e-visit bills), or it is and "the e-visit episode
    // holding the evaluation" (RULES R21) is that billing episode: counted-elsewhere either way.
    const facts = [
      q1(),
      reply("a1", "2026-01-12T10:00:00-05:00", { minutes: 0 }),
      reply("a2", "2026-01-12T11:00:00-05:00", { minutes: 12 }),
    ];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(episodes.filter((e) => e.outcome === "billable").map((e) => [e.family, e.procedureCode])).toEqual([
      ["digital-em", "99422"],
    ]);
    expect(images(episodes).map((e) => e.outcome)).toEqual(["counted-elsewhere"]);
  });

  it("R21 (R24): one reply to two photos in one thread is one evaluation: at most one G2010", () => {
    // Prepare: the patient sends a photo (q1, Monday 09:00) and a second photo replying to it (q2, 09:30: still a
    // patient-started thread, so an inquiry, R1); dr-adams answers q2 at 10:00 (a1, 3 min, to the patient). a1
    // is in both q1's and q2's threads, but it is one message and one evaluation: the same work may bill once.
    const facts = [
      q1(),
      inquiry({ id: "q2", at: "2026-01-12T09:30:00-05:00", attachments: PHOTO, inResponseTo: "q1" }),
      activity({
        id: "a1",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 3,
        inResponseTo: "q2",
      }),
    ];

    // Act
    const billed = images(decide(facts)).filter((e) => e.outcome === "billable");

    // Assess
    expect(billed).toHaveLength(1);
    expect(billed[0]?.evidence.counted).toContain("a1");
  });
});
