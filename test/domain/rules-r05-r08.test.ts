import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type EngineResult, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import { activity, inquiry, roster, tenant, visit } from "../support/domain-builders.js";

/**
 * Rules R5-R8 (DOMAIN.md): pooling, tiers, once per period and a related visit in the prior 7 days.
 * Every expected date, minute and code below is worked out by hand from the rules, not copied from the engine.
 * Calendar used: 2026-05-04 and 2026-05-11 are Mondays (EDT, UTC-4); DST starts 2026-03-08 and ends
 * 2026-11-01 in New York.
 */

/** Long after every window here has closed and settled, so billable episodes carry and owe their claim line. */
const AS_OF = "2027-01-01T00:00:00Z";

const NPI = {
  "dr-adams": "1003000126",
  "np-baker": "1003000134",
  "pt-chen": "1003000142",
  "dr-evans": "1003000167",
} as const;

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

describe("R5 pooling", () => {
  const q1 = inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00" });

  it("R5: time of every clinician of a family in the billing group is pooled into one episode and one line", () => {
    // Prepare: MD 4 + NP 3 + DO 2 = 9 minutes, none reaching 5 alone.
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 4 }),
      activity({ id: "b1", at: "2026-05-05T10:00:00-04:00", practitionerId: "np-baker", minutes: 3 }),
      activity({ id: "e1", at: "2026-05-06T10:00:00-04:00", practitionerId: "dr-evans", minutes: 2 }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.totalMinutes).toBe(9);
    expect(episode.outcome).toBe("billable");
    expect(episode.procedureCode).toBe("99421");
    expect(episode.minutesByClinician).toEqual([
      { practitionerId: "dr-adams", credential: "MD", npi: NPI["dr-adams"], seconds: 240, minutes: 4 },
      { practitionerId: "np-baker", credential: "NP", npi: NPI["np-baker"], seconds: 180, minutes: 3 },
      { practitionerId: "dr-evans", credential: "DO", npi: NPI["dr-evans"], seconds: 120, minutes: 2 },
    ]);
    expect(episode.renderingPractitionerId).toBe("dr-adams");
    expect(result.owed).toHaveLength(1);
    expect(result.owed[0]).toMatchObject({
      action: "original",
      procedureCode: "99421",
      units: 1,
      totalMinutes: 9,
      renderingProviderNpi: NPI["dr-adams"],
      serviceDate: "2026-05-06",
    });
  });

  it("R5: pooled seconds are summed before flooring (2.5 + 2.5 min is 5 min, not 2 + 2)", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", seconds: 150 }),
      activity({ id: "b1", at: "2026-05-04T11:00:00-04:00", practitionerId: "np-baker", seconds: 150 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.totalSeconds).toBe(300);
    expect(episode.totalMinutes).toBe(5);
    expect(episode.procedureCode).toBe("99421");
    expect(episode.outcome).toBe("billable");
  });

  it("R5: the rendering clinician is the one with the most time, not the first to act", () => {
    // Prepare: NP acts first with 5 min; MD adds 3 + 3 = 6 min later.
    const facts = [
      q1,
      activity({ id: "b1", at: "2026-05-04T10:00:00-04:00", practitionerId: "np-baker", minutes: 5 }),
      activity({ id: "a1", at: "2026-05-04T11:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a2", at: "2026-05-05T11:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.totalMinutes).toBe(11);
    expect(episode.procedureCode).toBe("99422");
    expect(episode.renderingPractitionerId).toBe("dr-adams");
    expect(episode.claimLine?.renderingProviderNpi).toBe(NPI["dr-adams"]);
  });

  it("R5: most time is measured in seconds (5 min 50 s beats 5 min 30 s though both floor to 5)", () => {
    // Prepare: the MD acts first with 330 s, the NP later with 350 s.
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", seconds: 330 }),
      activity({ id: "b1", at: "2026-05-04T11:00:00-04:00", practitionerId: "np-baker", seconds: 350 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess: 680 s = 11 min.
    expect(episode.totalMinutes).toBe(11);
    expect(episode.renderingPractitionerId).toBe("np-baker");
    expect(episode.claimLine?.renderingProviderNpi).toBe(NPI["np-baker"]);
  });

  it("R5: on a tie the clinician with the earliest activity renders", () => {
    // Prepare: 5 min each; the NP (alphabetically later, listed last) acted first.
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T11:00:00-04:00", practitionerId: "dr-adams", minutes: 5 }),
      activity({ id: "b1", at: "2026-05-04T10:00:00-04:00", practitionerId: "np-baker", minutes: 5 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.totalMinutes).toBe(10);
    expect(episode.renderingPractitionerId).toBe("np-baker");
    expect(episode.claimLine?.renderingProviderNpi).toBe(NPI["np-baker"]);
  });

  it("R5: on a tie in time and first activity the practitioner id decides", () => {
    // Prepare: 5 min each at the same instant; listed NP first.
    const facts = [
      q1,
      activity({ id: "b1", at: "2026-05-04T10:00:00-04:00", practitionerId: "np-baker", minutes: 5 }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 5 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.renderingPractitionerId).toBe("dr-adams");
    expect(episode.minutesByClinician.map((clinician) => clinician.practitionerId)).toEqual([
      "dr-adams",
      "np-baker",
    ]);
  });

  it("R5: policy renderingProvider first-activity picks the clinician of the first counted activity", () => {
    // Prepare: a zero-second message by the DO comes first but is not counted; then MD 2 min, NP 8 min.
    const facts = [
      q1,
      activity({ id: "z1", at: "2026-05-04T09:30:00-04:00", practitionerId: "dr-evans", seconds: 0 }),
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 2 }),
      activity({ id: "b1", at: "2026-05-04T11:00:00-04:00", practitionerId: "np-baker", minutes: 8 }),
    ];

    // Act
    const withPolicy = onlyEpisode(run(facts, tenant({ renderingProvider: "first-activity" })));
    const withDefault = onlyEpisode(run(facts));

    // Assess
    expect(withPolicy.renderingPractitionerId).toBe("dr-adams");
    expect(withPolicy.claimLine?.renderingProviderNpi).toBe(NPI["dr-adams"]);
    expect(withPolicy.procedureCode).toBe("99421");
    expect(withDefault.renderingPractitionerId).toBe("np-baker");
  });

  it("R5: each family is its own episode with its own line", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "p1", at: "2026-05-04T11:00:00-04:00", practitionerId: "pt-chen", minutes: 12 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    expect(ofFamily(result, "digital-em").procedureCode).toBe("99421");
    expect(ofFamily(result, "digital-em").renderingPractitionerId).toBe("dr-adams");
    expect(ofFamily(result, "digital-assessment").procedureCode).toBe("98971");
    expect(ofFamily(result, "digital-assessment").renderingPractitionerId).toBe("pt-chen");
    expect(result.owed.map((line) => line.procedureCode).sort()).toEqual(["98971", "99421"]);
  });

  it("R5: clinicians in different billing groups are not pooled", () => {
    // Prepare: MD in group north, NP in group south, 4 min each.
    const config = tenant({
      roster: roster.map((entry) => ({
        ...entry,
        group: entry.practitionerId === "np-baker" ? "south" : "north",
      })),
    });
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 4 }),
      activity({ id: "b1", at: "2026-05-04T11:00:00-04:00", practitionerId: "np-baker", minutes: 4 }),
    ];

    // Act
    const result = run(facts, config);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const byGroup = Object.fromEntries(result.episodes.map((episode) => [episode.billingGroup, episode]));
    expect(byGroup.north?.evidence.counted).toEqual(["a1"]);
    expect(byGroup.north?.totalMinutes).toBe(4);
    expect(byGroup.north?.outcome).toBe("below-threshold");
    expect(byGroup.north?.evidence.inquiries).toEqual(["q1"]);
    expect(byGroup.south?.evidence.counted).toEqual(["b1"]);
    expect(byGroup.south?.totalMinutes).toBe(4);
    expect(byGroup.south?.outcome).toBe("below-threshold");
    expect(byGroup.south?.evidence.inquiries).toEqual(["q1"]);
    expect(result.owed).toEqual([]);
  });
});

describe("R6 tiers", () => {
  const q1 = inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00" });

  const tiers = [
    { family: "digital-em", practitionerId: "dr-adams", codes: ["99421", "99422", "99423"] },
    { family: "digital-assessment", practitionerId: "pt-chen", codes: ["98970", "98971", "98972"] },
  ] as const;
  const fees: Record<string, number> = {
    "99421": 1456,
    "99422": 2846,
    "99423": 4496,
    "98970": 1132,
    "98971": 2135,
    "98972": 3235,
  };

  for (const { family, practitionerId, codes } of tiers) {
    const billableCases = [
      { label: "exactly 5 minutes", seconds: 300, minutes: 5, code: codes[0] },
      { label: "5 minutes 59 seconds", seconds: 359, minutes: 5, code: codes[0] },
      { label: "exactly 10 minutes", seconds: 600, minutes: 10, code: codes[0] },
      { label: "10 minutes 59 seconds", seconds: 659, minutes: 10, code: codes[0] },
      { label: "exactly 11 minutes", seconds: 660, minutes: 11, code: codes[1] },
      { label: "exactly 20 minutes", seconds: 1200, minutes: 20, code: codes[1] },
      { label: "20 minutes 59 seconds", seconds: 1259, minutes: 20, code: codes[1] },
      { label: "exactly 21 minutes", seconds: 1260, minutes: 21, code: codes[2] },
      { label: "90 minutes", seconds: 5400, minutes: 90, code: codes[2] },
    ];
    for (const { label, seconds, minutes, code } of billableCases) {
      it(`R6: ${family}: ${label} is ${minutes} min and bills ${code}`, () => {
        // Prepare
        const facts = [q1, activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId, seconds })];

        // Act
        const result = run(facts);
        const episode = onlyEpisode(result);

        // Assess
        expect(episode.family).toBe(family);
        expect(episode.totalSeconds).toBe(seconds);
        expect(episode.totalMinutes).toBe(minutes);
        expect(episode.outcome).toBe("billable");
        expect(episode.reasons).toEqual([]);
        expect(episode.procedureCode).toBe(code);
        expect(episode.chargeCents).toBe(fees[code]);
        expect(result.owed).toHaveLength(1);
        expect(result.owed[0]).toMatchObject({
          procedureCode: code,
          totalMinutes: minutes,
          chargeCents: fees[code],
        });
      });
    }

    const belowCases = [
      { label: "exactly 4 minutes", seconds: 240 },
      { label: "4 minutes 59 seconds", seconds: 299 },
      { label: "1 second", seconds: 1 },
    ];
    for (const { label, seconds } of belowCases) {
      it(`R6: ${family}: ${label} is below threshold`, () => {
        // Prepare
        const facts = [q1, activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId, seconds })];

        // Act
        const result = run(facts);
        const episode = onlyEpisode(result);

        // Assess
        expect(episode.family).toBe(family);
        expect(episode.totalMinutes).toBe(Math.floor(seconds / 60));
        expect(episode.outcome).toBe("below-threshold");
        expect(episode.reasons).toEqual(["below-threshold"]);
        expect(episode.procedureCode).toBeUndefined();
        expect(episode.claimLine).toBeUndefined();
        expect(result.owed).toEqual([]);
      });
    }

    it(`R6: ${family}: 2.5 min + 2.4 min = 294 s floors to 4 min, below threshold`, () => {
      // Prepare
      const facts = [
        q1,
        activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId, minutes: 2.5 }),
        activity({ id: "a2", at: "2026-05-05T10:00:00-04:00", practitionerId, minutes: 2.4 }),
      ];

      // Act
      const episode = onlyEpisode(run(facts));

      // Assess
      expect(episode.totalSeconds).toBe(294);
      expect(episode.totalMinutes).toBe(4);
      expect(episode.outcome).toBe("below-threshold");
      expect(episode.reasons).toEqual(["below-threshold"]);
      expect(episode.procedureCode).toBeUndefined();
    });
  }

  it("R6: 4 min 59 s + 1 s across two activities reaches exactly 5 min and bills 99421", () => {
    // Prepare
    const facts = [
      q1,
      activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", seconds: 299 }),
      activity({ id: "a2", at: "2026-05-05T10:00:00-04:00", practitionerId: "dr-adams", seconds: 1 }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.totalMinutes).toBe(5);
    expect(episode.procedureCode).toBe("99421");
    expect(episode.outcome).toBe("billable");
  });
});

describe("R7 once per period", () => {
  const q1 = inquiry({ id: "q1", at: "2026-05-04T09:00:00-04:00" });
  const a1 = activity({ id: "a1", at: "2026-05-04T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 });

  it("R7: activity about another problem and a second inquiry inside the open window join the episode", () => {
    // Prepare
    const facts = [
      q1,
      a1,
      inquiry({ id: "q2", at: "2026-05-06T09:00:00-04:00", diagnosisCodes: ["J06.9"] }),
      activity({
        id: "a2",
        at: "2026-05-06T10:00:00-04:00",
        practitionerId: "np-baker",
        minutes: 6,
        diagnosisCodes: ["J06.9"],
      }),
      activity({
        id: "a3",
        at: "2026-05-08T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 1,
        diagnosisCodes: ["M54.50"],
      }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess: 6 + 6 + 1 = 13 min -> 99422, one line.
    expect(episode.evidence.inquiries).toEqual(["q1", "q2"]);
    expect(episode.evidence.counted).toEqual(["a1", "a2", "a3"]);
    expect(episode.totalMinutes).toBe(13);
    expect(episode.procedureCode).toBe("99422");
    expect(episode.diagnosisCodes).toEqual(["E11.9", "J06.9", "M54.50"]);
    expect(result.owed).toHaveLength(1);
  });

  it("R7: time after the close is not-patient-initiated, even within the lookback of the opening inquiry", () => {
    // Prepare: a2 on Monday 2026-05-11 08:00 is 167 h after q1, but q1 already opened the first episode.
    const facts = [
      q1,
      a1,
      activity({ id: "a2", at: "2026-05-11T08:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.outcome).toBe("billable");
    expect(first.evidence.counted).toEqual(["a1"]);
    expect(first.evidence.inquiries).toEqual(["q1"]);
    const second = episodeAt(result, 1);
    expect(second.outcome).toBe("not-patient-initiated");
    // R20 listed too: it starts 7 days after the billed first episode's date of service.
    expect(second.reasons).toEqual(["not-patient-initiated", "prior-e-visit"]);
    expect(second.windowStart).toBe("2026-05-11T00:00:00-04:00");
    expect(second.windowEnd).toBe("2026-05-18T00:00:00-04:00");
    expect(second.evidence.counted).toEqual(["a2"]);
    expect(second.evidence.inquiries).toEqual([]);
    expect(result.owed).toHaveLength(1);
  });

  it("R7: an inquiry sent while the window is open belongs to it and cannot open the next episode", () => {
    // Prepare: q2 one second before the first window closes.
    const facts = [
      q1,
      a1,
      inquiry({ id: "q2", at: "2026-05-10T23:59:59-04:00" }),
      activity({ id: "a2", at: "2026-05-11T09:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(2);
    expect(episodeAt(result, 0).evidence.inquiries).toEqual(["q1", "q2"]);
    expect(episodeAt(result, 0).outcome).toBe("billable");
    expect(episodeAt(result, 1).evidence.counted).toEqual(["a2"]);
    expect(episodeAt(result, 1).outcome).toBe("not-patient-initiated");
  });

  it("R7: an inquiry sent at the window end opens the next episode", () => {
    // Prepare: q2 exactly at local midnight 2026-05-11, the first window's end.
    const facts = [
      q1,
      a1,
      inquiry({ id: "q2", at: "2026-05-11T00:00:00-04:00" }),
      activity({ id: "a2", at: "2026-05-11T09:00:00-04:00", practitionerId: "dr-adams", minutes: 12 }),
    ];

    // Act: R20 aside (the second starts 7 days after the first's date of service; rules-r20.test.ts).
    const result = run(facts, tenant({ priorEVisit: "allow" }));

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.evidence.inquiries).toEqual(["q1"]);
    expect(first.procedureCode).toBe("99421");
    const second = episodeAt(result, 1);
    expect(second.outcome).toBe("billable");
    expect(second.evidence.inquiries).toEqual(["q2"]);
    expect(second.windowStart).toBe("2026-05-11T00:00:00-04:00");
    expect(second.windowEnd).toBe("2026-05-18T00:00:00-04:00");
    expect(second.procedureCode).toBe("99422");
    expect(result.owed.map((line) => line.procedureCode)).toEqual(["99421", "99422"]);
  });

  it("R7: an inquiry opens at most one episode in each family (one per family, never two in one)", () => {
    // Prepare: q1 opens a digital-em and a digital-assessment episode; the MD's time after the close has none.
    const facts = [
      q1,
      a1,
      activity({ id: "p1", at: "2026-05-05T10:00:00-04:00", practitionerId: "pt-chen", minutes: 6 }),
      activity({ id: "a2", at: "2026-05-11T08:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act: R20 aside (the PT's episode starts a day after the MD's date of service; rules-r20.test.ts).
    const result = run(facts, tenant({ priorEVisit: "allow" }));

    // Assess
    expect(result.episodes).toHaveLength(3);
    const em = result.episodes.filter((episode) => episode.family === "digital-em");
    expect(em.map((episode) => episode.outcome)).toEqual(["billable", "not-patient-initiated"]);
    expect(em.map((episode) => episode.evidence.inquiries)).toEqual([["q1"], []]);
    const assessment = ofFamily(result, "digital-assessment");
    expect(assessment.outcome).toBe("billable");
    expect(assessment.evidence.inquiries).toEqual(["q1"]);
    expect(assessment.windowStart).toBe("2026-05-05T00:00:00-04:00");
    expect(assessment.procedureCode).toBe("98970");
  });

  it("R7: not-patient-initiated time after the close is grouped into its own 7-day windows", () => {
    // Prepare
    const facts = [
      q1,
      a1,
      activity({ id: "a2", at: "2026-05-11T09:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a3", at: "2026-05-17T23:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
      activity({ id: "a4", at: "2026-05-18T00:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const result = run(facts);

    // Assess
    expect(result.episodes).toHaveLength(3);
    expect(episodeAt(result, 1).windowStart).toBe("2026-05-11T00:00:00-04:00");
    expect(episodeAt(result, 1).evidence.counted).toEqual(["a2", "a3"]);
    expect(episodeAt(result, 1).totalMinutes).toBe(6);
    // R20 listed too (7 days after the first's date of service); the third is 14 days after it.
    expect(episodeAt(result, 1).reasons).toEqual(["not-patient-initiated", "prior-e-visit"]);
    expect(episodeAt(result, 2).windowStart).toBe("2026-05-18T00:00:00-04:00");
    expect(episodeAt(result, 2).evidence.counted).toEqual(["a4"]);
    expect(episodeAt(result, 2).reasons).toEqual(["not-patient-initiated", "below-threshold"]);
  });

  it("R7: rolling-168h: time at the window end is not-patient-initiated although the inquiry is 168 h back", () => {
    // Prepare: q1 and a1 at 2026-05-04 10:00; the window ends 2026-05-11 10:00, where a3 falls.
    const config = tenant({ windowMode: "rolling-168h" });
    const facts = [
      inquiry({ id: "q1", at: "2026-05-04T10:00:00-04:00" }),
      a1,
      activity({ id: "a2", at: "2026-05-11T09:59:59-04:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "a3", at: "2026-05-11T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const result = run(facts, config);

    // Assess
    expect(result.episodes).toHaveLength(2);
    const first = episodeAt(result, 0);
    expect(first.windowEnd).toBe("2026-05-11T10:00:00-04:00");
    expect(first.evidence.counted).toEqual(["a1", "a2"]);
    expect(first.procedureCode).toBe("99422");
    const second = episodeAt(result, 1);
    expect(second.windowStart).toBe("2026-05-11T10:00:00-04:00");
    expect(second.evidence.counted).toEqual(["a3"]);
    expect(second.outcome).toBe("not-patient-initiated");
  });
});

describe("R8 related visit in the prior 7 days", () => {
  /** A billable 6-minute episode (E11.9) whose first activity is Monday 2026-05-11 09:00 EDT. */
  const episodeFacts = (at = "2026-05-11T09:00:00-04:00", minutes = 6): Fact[] => [
    inquiry({ id: "q1", at: new Date(Date.parse(at) - 3_600_000).toISOString() }),
    activity({ id: "a1", at, practitionerId: "dr-adams", minutes }),
  ];

  it("R8: calendar-days: a related visit at local midnight 7 days before the start day blocks the claim", () => {
    // Prepare: window starts 2026-05-11 00:00; the prior range is [2026-05-04 00:00, 2026-05-11 00:00).
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-04T00:00:00-04:00", diagnosisCodes: ["E11.65"] }),
    ];

    // Act
    const result = run(facts);
    const episode = onlyEpisode(result);

    // Assess
    expect(episode.windowStart).toBe("2026-05-11T00:00:00-04:00");
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.reasons).toEqual(["related-prior-visit"]);
    expect(episode.priorVisitId).toBe("v1");
    expect(episode.evidence.visits).toEqual(["v1"]);
    expect(episode.claimLine).toBeUndefined();
    expect(result.owed).toEqual([]);
  });

  it("R8: calendar-days: a related visit one second before the 7 calendar days does not", () => {
    // Prepare
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-03T23:59:59-04:00", diagnosisCodes: ["E11.65"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.reasons).toEqual([]);
    expect(episode.priorVisitId).toBeUndefined();
    expect(episode.evidence.visits).toEqual([]);
  });

  it("R8: calendar-days: a related visit the evening before the start day, before the first activity, counts", () => {
    // Prepare
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-10T23:59:59-04:00", diagnosisCodes: ["E11.9"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.priorVisitId).toBe("v1");
  });

  it("R8: calendar-days vs rolling-168h: a visit early on the 7th day before counts only in calendar-days", () => {
    // Prepare: 2026-05-04 08:59:59 is inside [05-04 00:00, 05-11 00:00) but before 05-11 09:00 - 168 h.
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-04T08:59:59-04:00", diagnosisCodes: ["E11.9"] }),
    ];

    // Act
    const calendar = onlyEpisode(run(facts));
    const rolling = onlyEpisode(run(facts, tenant({ windowMode: "rolling-168h" })));

    // Assess
    expect(calendar.outcome).toBe("related-prior-visit");
    expect(rolling.windowStart).toBe("2026-05-11T09:00:00-04:00");
    expect(rolling.outcome).toBe("billable");
    expect(rolling.priorVisitId).toBeUndefined();
  });

  it("R8: rolling-168h: a related visit exactly 168 h before the start counts", () => {
    // Prepare
    const config = tenant({ windowMode: "rolling-168h" });
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-04T09:00:00-04:00", diagnosisCodes: ["E11.9"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts, config));

    // Assess
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.priorVisitId).toBe("v1");
  });

  it("R8: rolling-168h: a related visit one second before the start counts", () => {
    // Prepare: in calendar-days mode this visit would fall inside the window (R9), not before it.
    const config = tenant({ windowMode: "rolling-168h" });
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-11T08:59:59-04:00", diagnosisCodes: ["E11.9"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts, config));

    // Assess
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.reasons).toEqual(["related-prior-visit"]);
    expect(episode.priorVisitId).toBe("v1");
  });

  it("R8: rolling-168h: a visit at the window start is not a prior visit (it is inside the window)", () => {
    // Prepare
    const config = tenant({ windowMode: "rolling-168h" });
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-11T09:00:00-04:00", diagnosisCodes: ["E11.9"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts, config));

    // Assess
    expect(episode.priorVisitId).toBeUndefined();
    expect(episode.reasons).toEqual(["bundled-into-visit"]);
  });

  it("R8: calendar-days across spring forward: the range is 7 local days (167 h), not 168 h", () => {
    // Prepare: start day Thursday 2026-03-12 (EDT) -> range [2026-03-05 00:00 EST, 2026-03-12 00:00 EDT).
    // 2026-03-04 23:30 EST would be inside a flat 168 h range (from 23:00 EST) but is outside 7 calendar days.
    const start = "2026-03-12T09:00:00-04:00";
    const inside = [...episodeFacts(start), visit({ id: "v1", at: "2026-03-05T00:00:00-05:00" })];
    const outside = [...episodeFacts(start), visit({ id: "v2", at: "2026-03-04T23:30:00-05:00" })];

    // Act
    const withInside = onlyEpisode(run(inside));
    const withOutside = onlyEpisode(run(outside));

    // Assess
    expect(withInside.windowStart).toBe("2026-03-12T00:00:00-04:00");
    expect(withInside.outcome).toBe("related-prior-visit");
    expect(withInside.priorVisitId).toBe("v1");
    expect(withOutside.outcome).toBe("billable");
    expect(withOutside.priorVisitId).toBeUndefined();
  });

  it("R8: calendar-days across fall back: the range is 7 local days (169 h), not 168 h", () => {
    // Prepare: start day Thursday 2026-11-05 (EST) -> range [2026-10-29 00:00 EDT, 2026-11-05 00:00 EST).
    // 2026-10-29 00:30 EDT is outside a flat 168 h range (from 01:00 EDT) but inside 7 calendar days.
    const start = "2026-11-05T09:00:00-05:00";
    const inside = [...episodeFacts(start), visit({ id: "v1", at: "2026-10-29T00:30:00-04:00" })];
    const outside = [...episodeFacts(start), visit({ id: "v2", at: "2026-10-28T23:59:59-04:00" })];

    // Act
    const withInside = onlyEpisode(run(inside));
    const withOutside = onlyEpisode(run(outside));

    // Assess
    expect(withInside.windowStart).toBe("2026-11-05T00:00:00-05:00");
    expect(withInside.outcome).toBe("related-prior-visit");
    expect(withInside.priorVisitId).toBe("v1");
    expect(withOutside.outcome).toBe("billable");
  });

  it("R8: calendar-days where the start day's midnight is skipped (Santiago): the range starts at midnight", () => {
    // Prepare: Chile springs forward at 00:00 on 2026-09-06, so the window starts at its first instant,
    // 01:00 -03:00; the 7 calendar days before start at Sunday 2026-08-30 00:00 -04:00.
    const config = tenant({ timezone: "America/Santiago" });
    const start = "2026-09-06T10:00:00-03:00";
    const inside = [...episodeFacts(start), visit({ id: "v1", at: "2026-08-30T00:30:00-04:00" })];
    const outside = [...episodeFacts(start), visit({ id: "v2", at: "2026-08-29T23:59:59-04:00" })];

    // Act
    const withInside = onlyEpisode(run(inside, config));
    const withOutside = onlyEpisode(run(outside, config));

    // Assess
    expect(withInside.windowStart).toBe("2026-09-06T01:00:00-03:00");
    expect(withInside.outcome).toBe("related-prior-visit");
    expect(withInside.priorVisitId).toBe("v1");
    expect(withOutside.outcome).toBe("billable");
  });

  it("R8: rolling-168h across spring forward: the range is the 168 h before the first activity", () => {
    // Prepare: 2026-03-12 09:00 EDT - 168 h = 2026-03-05 08:00 EST.
    const config = tenant({ windowMode: "rolling-168h" });
    const start = "2026-03-12T09:00:00-04:00";
    const inside = [...episodeFacts(start), visit({ id: "v1", at: "2026-03-05T08:00:00-05:00" })];
    const outside = [...episodeFacts(start), visit({ id: "v2", at: "2026-03-05T07:59:59-05:00" })];

    // Act
    const withInside = onlyEpisode(run(inside, config));
    const withOutside = onlyEpisode(run(outside, config));

    // Assess
    expect(withInside.outcome).toBe("related-prior-visit");
    expect(withInside.priorVisitId).toBe("v1");
    expect(withOutside.outcome).toBe("billable");
  });

  it("R8: a visit with no shared 3-character ICD-10 category is unrelated (E10 is not E11)", () => {
    // Prepare
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-06T10:00:00-04:00", diagnosisCodes: ["E10.9", "J06.9"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.reasons).toEqual([]);
    expect(episode.priorVisitId).toBeUndefined();
    expect(episode.evidence.visits).toEqual([]);
  });

  it("R8: relatedness looks at every diagnosis of the episode, not only the 12 its claim line carries", () => {
    // Prepare: 13 distinct codes on the episode (12 on the inquiry, then I10 on the reply); the visit shares
    // only I10, the 13th.
    const twelve = [
      "A00.0",
      "B01.9",
      "C50.9",
      "D50.9",
      "E11.9",
      "F32.9",
      "G43.9",
      "H10.9",
      "J06.9",
      "K21.9",
      "L30.9",
      "M54.50",
    ];
    const facts = [
      inquiry({ id: "q1", at: "2026-05-11T08:00:00-04:00", diagnosisCodes: twelve }),
      activity({
        id: "a1",
        at: "2026-05-11T09:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 6,
        diagnosisCodes: ["I10"],
      }),
      visit({ id: "v1", at: "2026-05-06T10:00:00-04:00", diagnosisCodes: ["I10"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess: related through the 13th code, and the line would still have carried only the first 12.
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.priorVisitId).toBe("v1");
    expect(episode.diagnosisCodes).toEqual(twelve);
  });

  it("R8: any shared category relates them, written with or without the dot", () => {
    // Prepare: the episode has J06.9 (inquiry) and M54.50 (activity); the visit has I10 and M5416.
    const facts = [
      inquiry({ id: "q1", at: "2026-05-11T08:00:00-04:00", diagnosisCodes: ["J06.9"] }),
      activity({
        id: "a1",
        at: "2026-05-11T09:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 6,
        diagnosisCodes: ["M54.50"],
      }),
      visit({ id: "v1", at: "2026-05-06T10:00:00-04:00", diagnosisCodes: ["I10", "M5416"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.diagnosisCodes).toEqual(["J06.9", "M54.50"]);
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.priorVisitId).toBe("v1");
  });

  it("R8: a prior visit without diagnosis codes makes relatedness unknown: needs-review", () => {
    // Prepare
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-06T10:00:00-04:00", diagnosisCodes: [] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["relatedness-unknown"]);
    expect(episode.priorVisitId).toBeUndefined();
    expect(episode.claimLine).toBeUndefined();
    // The visit in question is evidence: a biller decides its relatedness by its id (R19).
    expect(episode.evidence.visits).toEqual(["v1"]);
  });

  it("R8: an episode without diagnosis codes makes relatedness unknown and is diagnosis-missing", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-05-11T08:00:00-04:00", diagnosisCodes: [] }),
      activity({
        id: "a1",
        at: "2026-05-11T09:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 6,
        diagnosisCodes: [],
      }),
      visit({ id: "v1", at: "2026-05-06T10:00:00-04:00", diagnosisCodes: ["E11.9"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.diagnosisCodes).toEqual([]);
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["relatedness-unknown", "diagnosis-missing"]);
  });

  it("R8: a visit without codes outside the prior range does not make relatedness unknown", () => {
    // Prepare
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-03T12:00:00-04:00", diagnosisCodes: [] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.reasons).toEqual([]);
  });

  it("R8: related-prior-visit outranks below-threshold, and both are listed", () => {
    // Prepare
    const facts = [
      ...episodeFacts("2026-05-11T09:00:00-04:00", 3),
      visit({ id: "v1", at: "2026-05-06T10:00:00-04:00", diagnosisCodes: ["E11.65"] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.reasons).toEqual(["related-prior-visit", "below-threshold"]);
  });

  it("R8: an unrelated and an uncoded prior visit give needs-review relatedness-unknown", () => {
    // Prepare
    const facts = [
      ...episodeFacts(),
      visit({ id: "v1", at: "2026-05-05T10:00:00-04:00", diagnosisCodes: ["J06.9"] }),
      visit({ id: "v2", at: "2026-05-07T10:00:00-04:00", diagnosisCodes: [] }),
    ];

    // Act
    const episode = onlyEpisode(run(facts));

    // Assess
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["relatedness-unknown"]);
    expect(episode.priorVisitId).toBeUndefined();
    // Only the uncoded one is in question (the J06.9 visit is unrelated, so it decides nothing).
    expect(episode.evidence.visits).toEqual(["v2"]);
  });

  for (const [relatedAt, uncodedAt] of [
    ["2026-05-05T10:00:00-04:00", "2026-05-07T10:00:00-04:00"],
    ["2026-05-07T10:00:00-04:00", "2026-05-05T10:00:00-04:00"],
  ] as const) {
    const order = relatedAt < uncodedAt ? "related visit first" : "uncoded visit first";
    it(`R8: a related and an uncoded prior visit list both reasons whatever their order (${order})`, () => {
      // Prepare
      const facts = [
        ...episodeFacts(),
        visit({ id: "v-related", at: relatedAt, diagnosisCodes: ["E11.65"] }),
        visit({ id: "v-uncoded", at: uncodedAt, diagnosisCodes: [] }),
      ];

      // Act
      const episode = onlyEpisode(run(facts));

      // Assess: decision 10, `reasons` lists every applicable reason; the uncoded visit's relatedness is
      // unknown however the visits are ordered.
      expect(episode.outcome).toBe("related-prior-visit");
      expect(episode.priorVisitId).toBe("v-related");
      expect(episode.reasons).toEqual(["related-prior-visit", "relatedness-unknown"]);
    });
  }
});
