import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decisionStart, inScope } from "../../functions/domain/decision-scope.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import { type AttestedAction, type Fact, factSchema } from "../../functions/domain/facts.js";
import { activity, attestation, consent, inquiry, tenant, visit } from "../support/domain-builders.js";

/**
 * R19: attestations, a biller's resolutions of needs-review episodes, decided like any fact.
 *
 * Common timeline (America/New_York, EDT -04:00 since 2026-03-08): the patient writes on Monday 2026-03-16 at
 * 09:00, Dr Adams (MD) reviews at 10:00 for 12 minutes (99422, 2846 cents). Calendar-days window:
 * [2026-03-16T00:00-04:00, 2026-03-23T00:00-04:00), due from 2026-03-25T00:00-04:00 (settleHours 48). The
 * biller attests after the episode is due, on 2026-03-26; every test decides as of 2026-04-01.
 */

const AS_OF = "2026-04-01T00:00:00-04:00";
const ATTESTED = "2026-03-26T10:00:00-04:00";
const LATER = "2026-03-27T10:00:00-04:00";

const opening = (fields: { minutes?: number; diagnosisCodes?: string[] } = {}): Fact[] => {
  const codes = fields.diagnosisCodes === undefined ? {} : { diagnosisCodes: fields.diagnosisCodes };
  return [
    inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00", ...codes }),
    activity({
      id: "a1",
      at: "2026-03-16T10:00:00-04:00",
      practitionerId: "dr-adams",
      minutes: fields.minutes ?? 12,
      ...codes,
    }),
  ];
};

const consentRequired = (): TenantConfig => tenant({ consent: "required" });

function decideOne(facts: readonly Fact[], config: TenantConfig = tenant()) {
  const result = decideEpisodes(facts, config, AS_OF);
  expect(result.episodes).toHaveLength(1);
  return { ...result, episode: result.episodes[0] as Episode };
}

/** The id of the one episode the facts give: the id the biller's worklist shows. */
const episodeIdOf = (facts: readonly Fact[], config: TenantConfig = tenant()): string =>
  decideOne(facts, config).episode.episodeId;

describe("R19 attestation facts", () => {
  it("R19: an attestation names the episode it resolves; only a clinician mapping may name none", () => {
    // Prepare
    const common = {
      kind: "attestation",
      id: "att-1",
      dedupeKey: "review:att-1",
      patientId: "pat-1",
      at: ATTESTED,
      by: "biller-1",
    };

    // Act
    const withoutEpisode = factSchema.safeParse({
      ...common,
      resolution: { action: "record-consent", consentDate: "2025-06-01" },
    });
    const mappingWithoutEpisode = factSchema.safeParse({
      ...common,
      resolution: { action: "map-clinician", practitionerId: "dr-evans", activityIds: ["a2"] },
    });
    const badCode = factSchema.safeParse({
      ...common,
      episodeId: "ep_1",
      resolution: { action: "supply-diagnoses", diagnosisCodes: ["not a code"] },
    });

    // Assess
    expect(withoutEpisode.success).toBe(false);
    expect(withoutEpisode.error?.issues[0]?.path).toEqual(["episodeId"]);
    expect(mappingWithoutEpisode.success).toBe(true);
    expect(badCode.error?.issues[0]?.path).toEqual(["resolution", "diagnosisCodes", 0]);
  });

  it("R19: an episode no attestation touches lists none in its evidence (its decision digest is unchanged)", () => {
    // Act
    const { episode } = decideOne(opening());

    // Assess
    expect(Object.keys(episode.evidence)).toEqual([
      "inquiries",
      "counted",
      "uncounted",
      "visits",
      "consents",
    ]);
  });

  it("R19: an attestation naming another episode changes nothing", () => {
    // Prepare
    const facts = [
      ...opening(),
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId: "ep_someone-else",
        resolution: { action: "do-not-bill", reason: "told free" },
      }),
    ];

    // Act
    const { episode, owed } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.attestations).toBeUndefined();
    expect(owed).toHaveLength(1);
  });
});

describe("R19 record-consent (R11)", () => {
  it("R19: a consent recorded a year back resolves consent-missing: billable 99422, the attestation in evidence", () => {
    // Prepare
    const config = consentRequired();
    const episodeId = episodeIdOf(opening(), config);
    const facts = [
      ...opening(),
      attestation({
        id: "att-1",
        at: ATTESTED,
        by: "biller-7",
        episodeId,
        resolution: { action: "record-consent", consentDate: "2025-06-01" },
      }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, config);

    // Assess
    expect(episode.episodeId).toBe(episodeId);
    expect(episode.outcome).toBe("billable");
    expect(episode.reasons).toEqual([]);
    expect(episode.procedureCode).toBe("99422");
    expect(episode.evidence.consents).toEqual([]);
    expect(episode.evidence.attestations).toEqual(["att-1"]);
    expect(owed.map((line) => [line.action, line.procedureCode, line.chargeCents])).toEqual([
      ["original", "99422", 2846],
    ]);
  });

  it.each([
    ["2025-03-16", "billable", ["att-1"]], // local day 365 days before the window start: in force
    ["2025-03-15", "needs-review", undefined], // a day older: R11 does not accept it
    ["2026-03-16", "billable", ["att-1"]], // the first activity's day
    ["2026-03-17", "needs-review", undefined], // after the first counted activity
  ] as const)(
    "R19: a consent recorded on %s gives %s (R11's validity applies to it)",
    (consentDate, outcome, used) => {
      // Prepare
      const config = consentRequired();
      const facts = [
        ...opening(),
        attestation({
          id: "att-1",
          at: ATTESTED,
          episodeId: episodeIdOf(opening(), config),
          resolution: { action: "record-consent", consentDate },
        }),
      ];

      // Act
      const { episode } = decideOne(facts, config);

      // Assess
      expect(episode.outcome).toBe(outcome);
      if (outcome === "needs-review") expect(episode.reasons).toEqual(["consent-missing"]);
      expect(episode.evidence.attestations).toEqual(used);
    },
  );

  it("R19, R17: a later consent attestation for the same episode supersedes an earlier one, in any order", () => {
    // Prepare: the earlier says 2025-06-01 (valid), the later 2024-01-01 (too old).
    const config = consentRequired();
    const episodeId = episodeIdOf(opening(), config);
    const valid = attestation({
      id: "att-z",
      at: ATTESTED,
      episodeId,
      resolution: { action: "record-consent", consentDate: "2025-06-01" },
    });
    const tooOld = attestation({
      id: "att-a",
      at: LATER,
      episodeId,
      resolution: { action: "record-consent", consentDate: "2024-01-01" },
    });

    // Act
    const forward = decideEpisodes([...opening(), valid, tooOld], config, AS_OF);
    const backward = decideEpisodes([tooOld, ...opening(), valid], config, AS_OF);

    // Assess
    expect(forward.episodes[0]?.outcome).toBe("needs-review");
    expect(forward.episodes[0]?.reasons).toEqual(["consent-missing"]);
    expect(backward).toEqual(forward);
  });

  it("R19, R17: attestations of one action attested at the same instant: the greater id wins", () => {
    // Prepare
    const config = consentRequired();
    const episodeId = episodeIdOf(opening(), config);
    const at = (id: string, consentDate: string) =>
      attestation({ id, at: ATTESTED, episodeId, resolution: { action: "record-consent", consentDate } });

    // Act
    const validWins = decideOne([...opening(), at("att-1", "2024-01-01"), at("att-2", "2025-06-01")], config);
    const oldWins = decideOne([...opening(), at("att-2", "2024-01-01"), at("att-1", "2025-06-01")], config);

    // Assess
    expect(validWins.episode.outcome).toBe("billable");
    expect(validWins.episode.evidence.attestations).toEqual(["att-2"]);
    expect(oldWins.episode.outcome).toBe("needs-review");
  });

  it("R19: a consent on file wins over a recorded one; the attestation is then not used", () => {
    // Prepare
    const config = consentRequired();
    const facts = [
      ...opening(),
      consent({ id: "c1", at: "2025-09-01T12:00:00-04:00" }),
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId: episodeIdOf(opening(), config),
        resolution: { action: "record-consent", consentDate: "2025-06-01" },
      }),
    ];

    // Act
    const { episode } = decideOne(facts, config);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.consents).toEqual(["c1"]);
    expect(episode.evidence.attestations).toBeUndefined();
  });
});

describe("R19 supply-diagnoses", () => {
  it("R19: supplied codes resolve diagnosis-missing and are the line's diagnosis codes", () => {
    // Prepare
    const bare = opening({ diagnosisCodes: [] });
    const facts = [
      ...bare,
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId: episodeIdOf(bare),
        resolution: { action: "supply-diagnoses", diagnosisCodes: ["J06.9", "R05.9"] },
      }),
    ];

    // Act
    const { episode, owed } = decideOne(facts);

    // Assess
    expect(decideOne(bare).episode.reasons).toEqual(["diagnosis-missing"]);
    expect(episode.outcome).toBe("billable");
    expect(episode.diagnosisCodes).toEqual(["J06.9", "R05.9"]);
    expect(owed[0]?.diagnosisCodes).toEqual(["J06.9", "R05.9"]);
    expect(episode.evidence.attestations).toEqual(["att-1"]);
  });

  it("R19: supplied codes follow the messages' own codes, without repeating one", () => {
    // Prepare
    const facts = [
      ...opening(),
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId: episodeIdOf(opening()),
        resolution: { action: "supply-diagnoses", diagnosisCodes: ["I10", "E11.9"] },
      }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.diagnosisCodes).toEqual(["E11.9", "I10"]);
  });

  it("R19, R17: a later supply replaces the earlier codes, it does not add to them", () => {
    // Prepare
    const bare = opening({ diagnosisCodes: [] });
    const episodeId = episodeIdOf(bare);
    const facts = [
      ...bare,
      attestation({
        id: "att-2",
        at: LATER,
        episodeId,
        resolution: { action: "supply-diagnoses", diagnosisCodes: ["I10"] },
      }),
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId,
        resolution: { action: "supply-diagnoses", diagnosisCodes: ["J06.9"] },
      }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.diagnosisCodes).toEqual(["I10"]);
    expect(episode.evidence.attestations).toEqual(["att-2"]);
  });

  it("R19, R8: supplied codes show the prior visit related: related-prior-visit", () => {
    // Prepare: a visit on Thursday 2026-03-12 (in the 7 days before the start) about J06.9.
    const bare = [
      ...opening({ diagnosisCodes: [] }),
      visit({ id: "v1", at: "2026-03-12T14:00:00-04:00", diagnosisCodes: ["J06.9"] }),
    ];
    const facts = [
      ...bare,
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId: episodeIdOf(bare),
        resolution: { action: "supply-diagnoses", diagnosisCodes: ["J06.0"] },
      }),
    ];

    // Act
    const before = decideOne(bare).episode;
    const { episode, owed } = decideOne(facts);

    // Assess
    expect(before.reasons).toEqual(["relatedness-unknown", "diagnosis-missing"]);
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.reasons).toEqual(["related-prior-visit"]);
    expect(episode.priorVisitId).toBe("v1");
    expect(owed).toEqual([]);
  });
});

describe("R19 decide-relatedness (R8)", () => {
  const withPriorVisit = (): Fact[] => [
    ...opening(),
    visit({ id: "v1", at: "2026-03-12T14:00:00-04:00", diagnosisCodes: [] }),
  ];

  it.each([
    [false, "billable", [], undefined, 1],
    [true, "related-prior-visit", ["related-prior-visit"], "v1", 0],
  ] as const)(
    "R19: the visit decided related: %s gives %s",
    (related, outcome, reasons, priorVisitId, lines) => {
      // Prepare
      const facts = [
        ...withPriorVisit(),
        attestation({
          id: "att-1",
          at: ATTESTED,
          episodeId: episodeIdOf(withPriorVisit()),
          resolution: { action: "decide-relatedness", priorVisitId: "v1", related },
        }),
      ];

      // Act
      const { episode, owed } = decideOne(facts);

      // Assess
      expect(decideOne(withPriorVisit()).episode.reasons).toEqual(["relatedness-unknown"]);
      expect(episode.outcome).toBe(outcome);
      expect(episode.reasons).toEqual(reasons);
      expect(episode.priorVisitId).toBe(priorVisitId);
      expect(episode.evidence.attestations).toEqual(["att-1"]);
      expect(owed).toHaveLength(lines);
    },
  );

  it("R19: a decision about another visit leaves relatedness-unknown and is not used", () => {
    // Prepare
    const facts = [
      ...withPriorVisit(),
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId: episodeIdOf(withPriorVisit()),
        resolution: { action: "decide-relatedness", priorVisitId: "v-elsewhere", related: false },
      }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.reasons).toEqual(["relatedness-unknown"]);
    expect(episode.evidence.attestations).toBeUndefined();
  });

  it("R19: decisions about two prior visits both stand; each visit's latest decision wins", () => {
    // Prepare: v1 (Thursday) and v2 (Friday) both without codes.
    const bare = [
      ...withPriorVisit(),
      visit({ id: "v2", at: "2026-03-13T14:00:00-04:00", diagnosisCodes: [] }),
    ];
    const episodeId = episodeIdOf(bare);
    const decide = (id: string, at: string, priorVisitId: string, related: boolean) =>
      attestation({ id, at, episodeId, resolution: { action: "decide-relatedness", priorVisitId, related } });
    const facts = [
      ...bare,
      decide("att-1", ATTESTED, "v1", true),
      decide("att-2", ATTESTED, "v2", false),
      decide("att-3", LATER, "v1", false),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.evidence.attestations).toEqual(["att-2", "att-3"]);
  });

  it("R19, R9: under laterVisit same-problem the decision settles a visit in the window too", () => {
    // Prepare: a visit on Wednesday 2026-03-18 without codes.
    const config = tenant({ laterVisit: "same-problem" });
    const bare = [...opening(), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", diagnosisCodes: [] })];
    const facts = [
      ...bare,
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId: episodeIdOf(bare, config),
        resolution: { action: "decide-relatedness", priorVisitId: "v1", related: true },
      }),
    ];

    // Act
    const { episode } = decideOne(facts, config);

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
  });
});

describe("R19 map-clinician (R4, R18)", () => {
  /** Dr Unknown (not in the roster) spends 10 minutes on Tuesday 2026-03-17. */
  const withUnknown = (): Fact[] => [
    ...opening(),
    activity({ id: "a2", at: "2026-03-17T11:00:00-04:00", practitionerId: "dr-unknown", minutes: 10 }),
  ];
  const mapping = (
    practitionerId: string,
    activityIds: string[],
    fields: { id?: string; at?: string } = {},
  ) =>
    attestation({
      id: fields.id ?? "att-1",
      at: fields.at ?? ATTESTED,
      episodeId: episodeIdOf(withUnknown()),
      resolution: { action: "map-clinician", practitionerId, activityIds },
    });

  it("R19: mapping the unknown author to Dr Evans (DO) counts the time: 22 minutes, 99423, Dr Adams renders", () => {
    // Act
    const before = decideOne(withUnknown()).episode;
    const { episode, owed } = decideOne([...withUnknown(), mapping("dr-evans", ["a2"])]);

    // Assess
    expect(before.reasons).toEqual(["unknown-clinician"]);
    expect(before.evidence.uncounted).toEqual(["a2"]);
    expect(episode.episodeId).toBe(before.episodeId);
    expect(episode.outcome).toBe("billable");
    expect(episode.totalMinutes).toBe(22);
    expect(episode.procedureCode).toBe("99423");
    expect(episode.chargeCents).toBe(4496);
    expect(
      episode.minutesByClinician.map(({ practitionerId, minutes }) => [practitionerId, minutes]),
    ).toEqual([
      ["dr-adams", 12],
      ["dr-evans", 10],
    ]);
    expect(episode.evidence.counted).toEqual(["a1", "a2"]);
    expect(episode.evidence.attestations).toEqual(["att-1"]);
    expect(owed[0]?.renderingProviderNpi).toBe("1003000126");
  });

  it("R19: mapping to a staff roster entry resolves the review; the time is recorded, never counted (R4)", () => {
    // Act
    const { episode } = decideOne([...withUnknown(), mapping("rn-diaz", ["a2"])]);

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.totalMinutes).toBe(12);
    expect(episode.evidence.uncounted).toEqual(["a2"]);
    expect(episode.evidence.attestations).toEqual(["att-1"]);
  });

  it.each([
    ["2026-03-17", "billable"],
    ["2026-03-18", "needs-review"],
  ] as const)("R19, R18: mapped to Dr Fox, on the roster from %s: %s", (effectiveFrom, outcome) => {
    // Prepare
    const config = tenant({
      roster: [
        { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" },
        { practitionerId: "dr-fox", npi: "1003000167", credential: "MD", effectiveFrom },
      ],
    });

    // Act
    const { episode } = decideOne([...withUnknown(), mapping("dr-fox", ["a2"])], config);

    // Assess
    expect(episode.outcome).toBe(outcome);
    expect(episode.evidence.attestations).toEqual(outcome === "billable" ? ["att-1"] : undefined);
  });

  it("R19: a mapping to someone not on the roster, or of an activity the roster attributes, changes nothing", () => {
    // Act
    const notOnRoster = decideOne([...withUnknown(), mapping("dr-nobody", ["a2"])]).episode;
    const known = decideOne([...withUnknown(), mapping("dr-evans", ["a1"])]).episode;

    // Assess
    expect(notOnRoster.reasons).toEqual(["unknown-clinician"]);
    expect(known.reasons).toEqual(["unknown-clinician"]);
    expect(known.minutesByClinician.map(({ practitionerId }) => practitionerId)).toEqual(["dr-adams"]);
    expect(known.evidence.attestations).toBeUndefined();
  });

  it("R19, R17: a later mapping of the same activity supersedes the earlier one", () => {
    // Prepare
    const facts = [
      ...withUnknown(),
      mapping("dr-evans", ["a2"], { id: "att-2", at: LATER }),
      mapping("rn-diaz", ["a2"], { id: "att-1", at: ATTESTED }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(22);
    expect(episode.evidence.attestations).toEqual(["att-2"]);
  });

  it("R19: mapped unattributed time leaves the unattributed list and is decided by R1 like any counted time", () => {
    // Prepare: Dr Unknown's 6 minutes on Friday 2026-04-10, with no inquiry before: unattributed (R4).
    const stray = activity({
      id: "a9",
      at: "2026-04-10T11:00:00-04:00",
      practitionerId: "dr-unknown",
      minutes: 6,
    });
    const mapped = attestation({
      id: "att-1",
      at: "2026-04-13T10:00:00-04:00",
      resolution: { action: "map-clinician", practitionerId: "dr-evans", activityIds: ["a9"] },
    });
    const asOf = "2026-05-01T00:00:00-04:00";

    // Act
    const before = decideEpisodes([stray], tenant(), asOf);
    const after = decideEpisodes([stray, mapped], tenant(), asOf);

    // Assess
    expect(before.unattributed).toEqual([{ factId: "a9", patientId: "pat-1", reason: "unknown-clinician" }]);
    expect(after.unattributed).toEqual([]);
    expect(after.episodes.map((episode) => [episode.outcome, episode.evidence.attestations])).toEqual([
      ["not-patient-initiated", ["att-1"]],
    ]);
  });
});

describe("R19 do-not-bill and R16 lines", () => {
  const doNotBill = (episodeId: string, fields: { retracted?: boolean; version?: number } = {}) =>
    attestation({
      id: "att-1",
      at: ATTESTED,
      episodeId,
      resolution: { action: "do-not-bill", reason: "patient was told messages are free" },
      ...fields,
    });

  it("R19: do-not-bill makes a billable episode do-not-bill, with no line owed", () => {
    // Act
    const { episode, owed } = decideOne([...opening(), doNotBill(episodeIdOf(opening()))]);

    // Assess
    expect(episode.outcome).toBe("do-not-bill");
    expect(episode.reasons).toEqual(["do-not-bill"]);
    expect(episode.claimLine).toBeUndefined();
    expect(episode.evidence.attestations).toEqual(["att-1"]);
    expect(owed).toEqual([]);
  });

  it("R19: do-not-bill comes before needs-review and after not-patient-initiated; all reasons are listed", () => {
    // Prepare
    const config = consentRequired();

    // Act
    const { episode } = decideOne([...opening(), doNotBill(episodeIdOf(opening(), config))], config);

    // Assess
    expect(episode.outcome).toBe("do-not-bill");
    expect(episode.reasons).toEqual(["do-not-bill", "consent-missing"]);
  });

  it("R19, R16: do-not-bill after the line was sent owes its void", () => {
    // Prepare
    const sent = decideEpisodes(opening(), tenant(), AS_OF).owed;
    const original = sent[0];

    // Act
    const { owed } = decideEpisodes(
      [...opening(), doNotBill(original?.episodeId as string)],
      tenant(),
      AS_OF,
      sent,
    );

    // Assess
    expect(owed).toEqual([{ ...original, action: "void", revision: 1, adjusts: 0 }]);
  });

  it("R19, R16: an episode a consent attestation makes billable after review owes its original", () => {
    // Prepare
    const config = consentRequired();
    const before = decideEpisodes(opening(), config, AS_OF);
    const recorded = attestation({
      id: "att-1",
      at: ATTESTED,
      episodeId: before.episodes[0]?.episodeId,
      resolution: { action: "record-consent", consentDate: "2025-06-01" },
    });

    // Act
    const after = decideEpisodes([...opening(), recorded], config, AS_OF, before.owed);

    // Assess
    expect(before.owed).toEqual([]);
    expect(after.owed.map((line) => [line.action, line.revision, line.procedureCode])).toEqual([
      ["original", 0, "99422"],
    ]);
  });

  it("R19, R16: a do-not-bill retracted at the source after its void owes the line again, as the next revision", () => {
    // Prepare
    const episodeId = episodeIdOf(opening());
    const sent = decideEpisodes(opening(), tenant(), AS_OF).owed;
    const voided = decideEpisodes([...opening(), doNotBill(episodeId)], tenant(), AS_OF, sent).owed;

    // Act
    const { owed } = decideEpisodes(
      [...opening(), doNotBill(episodeId), doNotBill(episodeId, { version: 1, retracted: true })],
      tenant(),
      AS_OF,
      [...sent, ...voided],
    );

    // Assess
    expect(owed.map((line) => [line.action, line.revision])).toEqual([["original", 2]]);
  });
});

describe("R19 attestations over random sets (R17)", () => {
  /**
   * Two episodes of one patient that each need review: the first (week of 2026-03-16) has no diagnosis codes, a
   * prior visit without codes and an unknown clinician's time; the second (week of 2026-03-30) is 6 minutes of
   * Dr Adams's. Random attestations of every action, about either episode or none, at few instants (so ties
   * occur), with ids and versions that may collide.
   */
  const base: Fact[] = [
    inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00", diagnosisCodes: [] }),
    activity({
      id: "a1",
      at: "2026-03-16T10:00:00-04:00",
      practitionerId: "dr-adams",
      minutes: 12,
      diagnosisCodes: [],
    }),
    activity({ id: "a2", at: "2026-03-17T11:00:00-04:00", practitionerId: "dr-unknown", minutes: 10 }),
    visit({ id: "v1", at: "2026-03-12T14:00:00-04:00", diagnosisCodes: [] }),
    visit({ id: "v2", at: "2026-03-18T14:00:00-04:00", diagnosisCodes: ["J06.9"] }),
    inquiry({ id: "q2", at: "2026-03-30T09:00:00-04:00" }),
    activity({ id: "a3", at: "2026-03-30T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    activity({ id: "a4", at: "2026-04-10T10:00:00-04:00", practitionerId: "dr-stranger", minutes: 7 }),
  ];
  const asOf = "2026-05-01T00:00:00-04:00";
  const config = fc
    .record({
      consent: fc.constantFrom("required", "not-tracked"),
      laterVisit: fc.constantFrom("any-visit", "same-problem"),
    } as const)
    .map((policies) => tenant(policies));
  const episodeIds = decideEpisodes(base, tenant(), asOf).episodes.map((episode) => episode.episodeId);

  const action: fc.Arbitrary<AttestedAction> = fc.oneof(
    fc.record({
      action: fc.constant("record-consent" as const),
      consentDate: fc.constantFrom("2024-01-01", "2025-06-01", "2026-03-16", "2026-03-31"),
    }),
    fc.record({
      action: fc.constant("supply-diagnoses" as const),
      diagnosisCodes: fc.subarray(["J06.9", "E11.9", "I10"], { minLength: 1 }),
    }),
    fc.record({
      action: fc.constant("decide-relatedness" as const),
      priorVisitId: fc.constantFrom("v1", "v2"),
      related: fc.boolean(),
    }),
    fc.record({
      action: fc.constant("map-clinician" as const),
      practitionerId: fc.constantFrom("dr-evans", "rn-diaz", "pt-chen", "dr-nobody"),
      activityIds: fc.subarray(["a1", "a2", "a3", "a4"], { minLength: 1 }),
    }),
    fc.record({ action: fc.constant("do-not-bill" as const), reason: fc.constant("told free") }),
  );
  const attestations = fc.array(
    fc.record({
      id: fc.nat({ max: 6 }),
      version: fc.nat({ max: 1 }),
      retracted: fc.nat({ max: 9 }).map((n) => n === 0),
      at: fc.constantFrom(ATTESTED, LATER, "2026-04-20T10:00:00-04:00"),
      episodeId: fc.constantFrom(...episodeIds, "ep_elsewhere"),
      resolution: action,
    }),
    { maxLength: 8 },
  );
  const world = attestations.map((specs) => [
    ...base,
    ...specs.map(({ id, ...spec }) => attestation({ id: `att-${id}`, ...spec })),
  ]);

  it("R17, R19: any permutation of facts and attestations gives an identical result", () => {
    fc.assert(
      fc.property(
        world.chain((facts) =>
          fc.tuple(fc.constant(facts), fc.shuffledSubarray(facts, { minLength: facts.length })),
        ),
        config,
        ([facts, permuted], tenantConfig) => {
          // Act
          const original = decideEpisodes(facts, tenantConfig, asOf);
          const shuffled = decideEpisodes(permuted, tenantConfig, asOf);
          // Assess
          expect(shuffled).toEqual(original);
        },
      ),
      { numRuns: 150 },
    );
  });

  it("R17, R19: attestations delivered again change nothing, and what was owed is owed once", () => {
    fc.assert(
      fc.property(
        world.chain((facts) =>
          fc.tuple(
            fc.constant(facts),
            fc.array(fc.nat({ max: facts.length - 1 }), { minLength: 1, maxLength: 6 }),
          ),
        ),
        config,
        ([facts, picks], tenantConfig) => {
          // Prepare
          const duplicated = [...facts, ...picks.map((pick) => facts[pick] as Fact)].reverse();
          // Act
          const once = decideEpisodes(facts, tenantConfig, asOf);
          const again = decideEpisodes(duplicated, tenantConfig, asOf);
          const resent = decideEpisodes(duplicated, tenantConfig, asOf, once.owed);
          // Assess
          expect(again).toEqual(once);
          expect(resent.owed).toEqual([]);
        },
      ),
      { numRuns: 150 },
    );
  });
});

describe("R19 attestations in bounded decisions (decision-scope.ts)", () => {
  it("R19: decided from the resolved episode's window start, an attestation is in scope and decides as the whole history", () => {
    // Prepare: an earlier episode (week of 2026-03-02) and the consent-missing one of 2026-03-16, resolved on 03-26.
    const config = consentRequired();
    const earlier = [
      inquiry({ id: "q0", at: "2026-03-02T09:00:00-05:00" }),
      activity({ id: "a0", at: "2026-03-02T10:00:00-05:00", practitionerId: "dr-adams", minutes: 8 }),
    ];
    const episodeId = decideEpisodes([...earlier, ...opening()], config, AS_OF).episodes[1]?.episodeId;
    const all = [
      ...earlier,
      ...opening(),
      attestation({
        id: "att-1",
        at: ATTESTED,
        episodeId,
        resolution: { action: "record-consent", consentDate: "2025-06-01" },
      }),
    ];
    const from = decisionStart(Date.parse("2026-03-16T00:00:00-04:00"), [], config);

    // Act
    const whole = decideEpisodes(all, config, AS_OF);
    const bounded = decideEpisodes(
      all.filter((fact) => inScope(fact, from, config)),
      config,
      AS_OF,
      [],
      { from, earlier: [] },
    );

    // Assess
    expect(all.filter((fact) => !inScope(fact, from, config)).map((fact) => fact.id)).toEqual(["q0", "a0"]);
    expect(bounded.episodes).toEqual(whole.episodes.slice(1));
    expect(bounded.episodes[0]?.outcome).toBe("billable");
    expect(whole.episodes[0]?.reasons).toEqual(["consent-missing"]); // the earlier episode owes nothing
    expect(bounded.owed).toEqual(whole.owed);
    expect(bounded.owed).toHaveLength(1);
  });
});
