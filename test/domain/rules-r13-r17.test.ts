import { describe, expect, it } from "vitest";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { claimLineSchema } from "../../functions/domain/claim-line.js";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import { ConfigurationError } from "../../functions/domain/errors.js";
import { type Fact, otherServices } from "../../functions/domain/facts.js";
import {
  activity,
  consent,
  inquiry,
  staffActivity,
  tenant,
  timeEntry,
  visit,
} from "../support/domain-builders.js";

/**
 * R13-R17, unsupported dates and outcome precedence.
 *
 * Common timeline (America/New_York, EDT -04:00 since 2026-03-08): the patient writes on Monday 2026-03-16 at
 * 09:00, Dr Adams (MD, NPI 1003000126) reviews at 10:00. Calendar-days window:
 * [2026-03-16T00:00-04:00, 2026-03-23T00:00-04:00); with settleHours 48 it is due at 2026-03-25T00:00-04:00.
 */

const AS_OF = "2026-04-01T00:00:00-04:00";
const WINDOW_START = "2026-03-16T00:00:00-04:00";
const WINDOW_END = "2026-03-23T00:00:00-04:00";
const DUE_AT = "2026-03-25T00:00:00-04:00";
const ADAMS_NPI = "1003000126";

const opening = (minutes: number, inquiryAt = "2026-03-16T09:00:00-04:00"): Fact[] => [
  inquiry({ id: "q1", at: inquiryAt }),
  activity({ id: "a1", at: "2026-03-16T10:00:00-04:00", practitionerId: "dr-adams", minutes }),
];

function decideOne(facts: readonly Fact[], config: TenantConfig = tenant(), asOf = AS_OF) {
  const result = decideEpisodes(facts, config, asOf);
  expect(result.episodes).toHaveLength(1);
  return { ...result, episode: result.episodes[0] as Episode };
}

/** The line the common timeline owes with 8 minutes by Dr Adams, worked out by hand (ids are digests). */
const expected99421 = (episode: Episode): ClaimLine => ({
  schemaVersion: "1.0",
  claimLineId: episode.claimLineId,
  revision: 0,
  action: "original",
  episodeId: episode.episodeId,
  patientId: "pat-1",
  billingGroup: "default",
  procedureCode: "99421",
  modifiers: [],
  units: 1,
  serviceDate: "2026-03-16",
  placeOfService: "11",
  renderingProviderNpi: ADAMS_NPI,
  diagnosisCodes: ["E11.9"],
  totalMinutes: 8,
  windowStart: WINDOW_START,
  windowEnd: WINDOW_END,
  chargeCents: 1456,
  codeSetYear: 2026,
});

describe("R13 no double counting", () => {
  it.each(otherServices)("R13: a time entry counted by %s never counts toward the episode", (service) => {
    // Prepare: 6 counted minutes; the 10-minute entry belongs to another billed service.
    const facts = [
      ...opening(6),
      timeEntry({
        id: "te1",
        at: "2026-03-17T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 10,
        countedBy: service,
      }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(6);
    expect(episode.procedureCode).toBe("99421");
    expect(episode.evidence.counted).toEqual(["a1"]);
    expect(episode.evidence.uncounted).toEqual(["te1"]);
    expect(episode.serviceDate).toBe("2026-03-16");
  });

  it("R13: a time entry that no other service counts does count (control): 6 + 10 = 16 min, 99422", () => {
    // Prepare
    const facts = [
      ...opening(6),
      timeEntry({ id: "te1", at: "2026-03-17T10:00:00-04:00", practitionerId: "dr-adams", minutes: 10 }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(16);
    expect(episode.procedureCode).toBe("99422");
    expect(episode.evidence.counted).toEqual(["a1", "te1"]);
  });

  it("R13: time that only another service counts opens no episode at all", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00" }),
      timeEntry({
        id: "te1",
        at: "2026-03-16T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 25,
        countedBy: "chronic-care-management",
      }),
    ];

    // Act
    const result = decideEpisodes(facts, tenant(), AS_OF);

    // Assess
    expect(result.episodes).toEqual([]);
    expect(result.owed).toEqual([]);
  });

  it("R13: the same time entry delivered three times counts once (6 + 10 = 16, not 36)", () => {
    // Prepare
    const entry = timeEntry({
      id: "te1",
      at: "2026-03-17T10:00:00-04:00",
      practitionerId: "dr-adams",
      minutes: 10,
    });
    const facts = [...opening(6), entry, entry, entry];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(16);
    expect(episode.procedureCode).toBe("99422");
    expect(episode.evidence.counted).toEqual(["a1", "te1"]);
  });

  it("R13: a redelivery of one entry under another delivery key still counts once", () => {
    // Prepare
    const entry = timeEntry({
      id: "te1",
      at: "2026-03-17T10:00:00-04:00",
      practitionerId: "dr-adams",
      minutes: 10,
    });
    const redelivered = { ...entry, dedupeKey: "webhook:retry-2" } as Fact;
    const facts = [...opening(6), entry, redelivered];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(16);
  });

  it("R13: a corrected entry (higher version) replaces the earlier one instead of adding to it", () => {
    // Prepare: version 0 said 10 minutes, version 1 corrects it to 4: 6 + 4 = 10 min, 99421.
    const facts = [
      ...opening(6),
      timeEntry({
        id: "te1",
        version: 1,
        at: "2026-03-17T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 4,
      }),
      timeEntry({
        id: "te1",
        version: 0,
        at: "2026-03-17T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 10,
      }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(10);
    expect(episode.procedureCode).toBe("99421");
  });

  it("R13: a duplicated clinician message counts once", () => {
    // Prepare
    const reply = activity({
      id: "a2",
      at: "2026-03-17T10:00:00-04:00",
      practitionerId: "np-baker",
      minutes: 5,
    });
    const facts = [...opening(6), reply, reply];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.totalMinutes).toBe(11);
    expect(episode.procedureCode).toBe("99422");
  });
});

describe("R14 not telehealth", () => {
  it("R14: the line carries place of service 11 by default, no modifiers, 1 unit", () => {
    // Prepare
    const facts = opening(8);

    // Act
    const { owed } = decideOne(facts);

    // Assess
    expect(owed).toHaveLength(1);
    expect(owed[0]?.placeOfService).toBe("11");
    expect(owed[0]?.modifiers).toEqual([]);
    expect(owed[0]?.units).toBe(1);
  });

  it("R14: the place of service comes from the tenant configuration", () => {
    // Prepare
    const config = tenant({ placeOfService: "22" });

    // Act
    const { owed } = decideOne(opening(8), config);

    // Assess
    expect(owed[0]?.placeOfService).toBe("22");
    expect(owed[0]?.modifiers).toEqual([]);
  });

  it("R14: even after a virtual visit elsewhere, the line has no 95/GT modifier", () => {
    // Prepare: a virtual visit in the prior week about another problem changes nothing (R8 unrelated).
    const facts = [
      ...opening(8),
      visit({ id: "v0", at: "2026-03-10T10:00:00-04:00", modality: "virtual", diagnosisCodes: ["J06.9"] }),
    ];

    // Act
    const { owed } = decideOne(facts);

    // Assess
    expect(owed).toHaveLength(1);
    expect(owed[0]?.modifiers).toEqual([]);
    expect(owed[0]?.placeOfService).toBe("11");
  });

  it.each(["02", "10"])(
    "R14: a tenant with telehealth place of service %s is rejected, naming placeOfService",
    (pos) => {
      // Prepare
      const build = () => tenant({ placeOfService: pos });

      // Act
      let error: unknown;
      try {
        build();
      } catch (caught) {
        error = caught;
      }

      // Assess
      expect(error).toBeInstanceOf(ConfigurationError);
      expect((error as ConfigurationError).field).toBe("placeOfService");
      expect((error as ConfigurationError).message).toContain("placeOfService");
    },
  );

  it("R14: a place of service that is not two digits is rejected, naming placeOfService", () => {
    // Act / Assess
    expect(() => tenant({ placeOfService: "1" })).toThrow(ConfigurationError);
    expect(() => tenant({ placeOfService: "1" })).toThrow(/placeOfService/);
  });
});

describe("R15 date of service", () => {
  const lateEvening = (): Fact[] => [
    ...opening(6),
    // 23:30 EDT on Friday 03-20 is 03:30Z on Saturday 03-21: the local date is the 20th.
    activity({ id: "a2", at: "2026-03-20T23:30:00-04:00", practitionerId: "np-baker", minutes: 6 }),
  ];

  it("R15: last-activity (the default) is the local date of the last counted activity, not its UTC date", () => {
    // Act
    const { episode, owed } = decideOne(lateEvening());

    // Assess
    expect(episode.serviceDate).toBe("2026-03-20");
    expect(owed[0]?.serviceDate).toBe("2026-03-20");
  });

  it("R15: last-activity ignores later uncounted activity (staff time, time counted by another service)", () => {
    // Prepare
    const facts = [
      ...opening(8),
      staffActivity({ id: "s1", at: "2026-03-21T10:00:00-04:00", staffId: "ma-1", minutes: 5 }),
      activity({ id: "rn1", at: "2026-03-21T11:00:00-04:00", practitionerId: "rn-diaz", minutes: 5 }),
      timeEntry({
        id: "te1",
        at: "2026-03-22T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 5,
        countedBy: "remote-monitoring",
      }),
    ];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.serviceDate).toBe("2026-03-16");
    expect(episode.totalMinutes).toBe(8);
  });

  it("R15: window-start is the local start date even when the first activity is already the next UTC day", () => {
    // Prepare: 21:00 EDT on 03-16 is 01:00Z on 03-17.
    const facts = [
      inquiry({ id: "q1", at: "2026-03-16T20:00:00-04:00" }),
      activity({ id: "a1", at: "2026-03-16T21:00:00-04:00", practitionerId: "dr-adams", minutes: 8 }),
      activity({ id: "a2", at: "2026-03-19T10:00:00-04:00", practitionerId: "dr-adams", minutes: 2 }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, tenant({ dateOfService: "window-start" }));

    // Assess
    expect(episode.windowStart).toBe(WINDOW_START);
    expect(episode.serviceDate).toBe("2026-03-16");
    expect(owed[0]?.serviceDate).toBe("2026-03-16");
  });

  it("R15: window-end is the last local day of the calendar-days window (day 7)", () => {
    // Act
    const { episode } = decideOne(lateEvening(), tenant({ dateOfService: "window-end" }));

    // Assess
    expect(episode.windowEnd).toBe(WINDOW_END);
    expect(episode.serviceDate).toBe("2026-03-22");
  });

  it("R15: window-end in rolling-168h mode is the local date of the window's last instant", () => {
    // Prepare: 10:00 EDT 03-16 + 168 h = 10:00 EDT 03-23 (no DST change in between).
    const config = tenant({ dateOfService: "window-end", windowMode: "rolling-168h" });

    // Act
    const { episode } = decideOne(opening(8), config);

    // Assess
    expect(episode.windowEnd).toBe("2026-03-23T10:00:00-04:00");
    expect(episode.serviceDate).toBe("2026-03-23");
  });

  it("R15: local dates follow the practice zone (America/Los_Angeles)", () => {
    // Prepare: 02:00Z on 03-17 is 19:00 PDT on 03-16.
    const config = tenant({ timezone: "America/Los_Angeles" });
    const facts = [
      inquiry({ id: "q1", at: "2026-03-17T01:00:00Z" }),
      activity({ id: "a1", at: "2026-03-17T02:00:00Z", practitionerId: "dr-adams", minutes: 8 }),
    ];

    // Act
    const { episode } = decideOne(facts, config);

    // Assess
    expect(episode.windowStart).toBe("2026-03-16T00:00:00-07:00");
    expect(episode.windowEnd).toBe("2026-03-23T00:00:00-07:00");
    expect(episode.serviceDate).toBe("2026-03-16");
  });
});

describe("R16 settling and adjustments", () => {
  it.each([
    ["2026-03-16T12:00:00-04:00", "open"],
    ["2026-03-22T23:59:59-04:00", "open"],
    [WINDOW_END, "settling"],
    ["2026-03-24T23:59:59-04:00", "settling"],
    [DUE_AT, "due"],
  ] as const)("R16: as of %s the episode is %s, and it owes a line only when due", (asOf, status) => {
    // Act
    const { episode, owed } = decideOne(opening(8), tenant(), asOf);

    // Assess
    expect(episode.status).toBe(status);
    expect(episode.outcome).toBe("billable");
    expect(owed).toEqual(status === "due" ? [expected99421(episode)] : []);
  });

  it("R16: the original line is exactly the contract, worked out by hand", () => {
    // Act
    const { episode, owed } = decideOne(opening(8), tenant(), DUE_AT);

    // Assess
    expect(episode.claimLineId).toMatch(/^cl_[0-9a-f]{32}$/);
    expect(episode.episodeId).toMatch(/^ep_[0-9a-f]{32}$/);
    expect(owed).toEqual([expected99421(episode)]);
    expect(owed[0]).not.toHaveProperty("adjusts");
    expect(claimLineSchema.parse(owed[0])).toEqual(owed[0]);
  });

  it("R16: a line that fails the claim line contract is never owed: needs-review, invalid-claim-line, the failing path", () => {
    // Prepare: a clinician the roster does not know, whose payload states a qualification and an NPI whose check
    // digit is wrong (1003000127, not 1003000126): the line would carry it.
    const facts = [
      inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00" }),
      activity({
        id: "a1",
        at: "2026-03-16T10:00:00-04:00",
        practitionerId: "dr-visiting",
        qualification: "MD",
        npi: "1003000127",
        minutes: 8,
      }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, tenant(), DUE_AT);
    const sent = decideEpisodes(opening(8), tenant(), DUE_AT).owed;

    // Assess: nothing owed, the episode says why and where; a valid line sent before for it would be voided.
    expect(owed).toEqual([]);
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual(["invalid-claim-line"]);
    expect(episode.invalidClaimLine).toEqual({
      path: "renderingProviderNpi",
      reason: "NPI check digit does not match",
    });
    expect(episode.claimLine).toBeUndefined();
    const withSent = decideEpisodes(
      facts,
      tenant(),
      DUE_AT,
      sent.map((line) => ({ ...line, episodeId: episode.episodeId, claimLineId: episode.claimLineId })),
    );
    expect(withSent.owed.map((line) => line.action)).toEqual(["void"]);
  });

  it("R16: settleHours 0 makes the episode due at the window end; 72 makes it due 72 h later", () => {
    // Act
    const immediate = decideOne(opening(8), tenant({ settleHours: 0 }), WINDOW_END);
    const stillSettling = decideOne(opening(8), tenant({ settleHours: 72 }), DUE_AT);
    const dueAfter72 = decideOne(opening(8), tenant({ settleHours: 72 }), "2026-03-26T00:00:00-04:00");

    // Assess
    expect(immediate.episode.status).toBe("due");
    expect(immediate.owed).toHaveLength(1);
    expect(stillSettling.episode.status).toBe("settling");
    expect(stillSettling.owed).toEqual([]);
    expect(dueAfter72.episode.status).toBe("due");
    expect(dueAfter72.owed).toHaveLength(1);
  });

  it("R16: running again with the lines already sent owes nothing new", () => {
    // Prepare
    const first = decideEpisodes(opening(8), tenant(), DUE_AT);

    // Act
    const again = decideEpisodes(opening(8), tenant(), AS_OF, first.owed);

    // Assess
    expect(first.owed).toHaveLength(1);
    expect(again.owed).toEqual([]);
  });

  it("R16: a late fact that changes nothing billed (staff time, a consent) owes nothing", () => {
    // Prepare
    const sent = decideEpisodes(opening(8), tenant(), DUE_AT).owed;
    const late = [
      ...opening(8),
      staffActivity({ id: "s1", at: "2026-03-17T10:00:00-04:00", staffId: "ma-1", minutes: 9 }),
      consent({ id: "c1", at: "2026-01-05T10:00:00-05:00" }),
    ];

    // Act
    const { owed } = decideEpisodes(late, tenant(), AS_OF, sent);

    // Assess
    expect(owed).toEqual([]);
  });

  it("R16: a late visit in the window after the line was sent owes a void, revision 1, adjusting 0", () => {
    // Prepare
    const sent = decideEpisodes(opening(8), tenant(), DUE_AT).owed;
    const original = sent[0] as ClaimLine;
    const late = [...opening(8), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00" })];

    // Act
    const { episodes, owed } = decideEpisodes(late, tenant(), AS_OF, sent);

    // Assess
    expect(episodes[0]?.outcome).toBe("bundled-into-visit");
    expect(owed).toEqual([{ ...original, action: "void", revision: 1, adjusts: 0 }]);
    expect(owed[0]?.claimLineId).toBe(original.claimLineId);
    expect(owed[0]?.procedureCode).toBe("99421");
  });

  it("R16: a line already voided is not voided again", () => {
    // Prepare
    const sentOriginal = decideEpisodes(opening(8), tenant(), DUE_AT).owed;
    const late = [...opening(8), visit({ id: "v1", at: "2026-03-18T14:00:00-04:00" })];
    const sentVoid = decideEpisodes(late, tenant(), AS_OF, sentOriginal).owed;

    // Act
    const { owed } = decideEpisodes(late, tenant(), AS_OF, [...sentOriginal, ...sentVoid]);

    // Assess
    expect(sentVoid).toHaveLength(1);
    expect(owed).toEqual([]);
  });

  it("R16: an episode billable again after its void owes an original with the next revision (2), adjusting nothing", () => {
    // Prepare: the visit is cancelled (version 2) after the void went out.
    const sentOriginal = decideEpisodes(opening(8), tenant(), DUE_AT).owed;
    const withVisit = [...opening(8), visit({ id: "v1", version: 1, at: "2026-03-18T14:00:00-04:00" })];
    const sentVoid = decideEpisodes(withVisit, tenant(), AS_OF, sentOriginal).owed;
    const cancelled = [
      ...withVisit,
      visit({ id: "v1", version: 2, at: "2026-03-18T14:00:00-04:00", status: "cancelled" }),
    ];

    // Act
    const { episodes, owed } = decideEpisodes(cancelled, tenant(), AS_OF, [...sentOriginal, ...sentVoid]);

    // Assess
    const episode = episodes[0] as Episode;
    expect(owed).toEqual([{ ...expected99421(episode), revision: 2 }]);
    expect(owed[0]?.action).toBe("original");
    expect(owed[0]?.adjusts).toBeUndefined();
  });

  it("R16: a late activity by a second clinician that changes the tier owes a replacement, revision 1, adjusting 0", () => {
    // Prepare: 8 + 5 = 13 min -> 99422; Dr Adams keeps the most minutes; the last activity is now 03-19.
    const sent = decideEpisodes(opening(8), tenant(), DUE_AT).owed;
    const original = sent[0] as ClaimLine;
    const late = [
      ...opening(8),
      activity({ id: "a2", at: "2026-03-19T11:00:00-04:00", practitionerId: "np-baker", minutes: 5 }),
    ];

    // Act
    const { owed } = decideEpisodes(late, tenant(), AS_OF, sent);

    // Assess
    expect(owed).toEqual([
      {
        ...original,
        action: "replacement",
        revision: 1,
        adjusts: 0,
        procedureCode: "99422",
        chargeCents: 2846,
        totalMinutes: 13,
        serviceDate: "2026-03-19",
        renderingProviderNpi: ADAMS_NPI,
      },
    ]);
  });

  it("R16: the latest sent revision is the reference even when sent lines are given out of order", () => {
    // Prepare
    const sentOriginal = decideEpisodes(opening(8), tenant(), DUE_AT).owed;
    const late = [
      ...opening(8),
      activity({ id: "a2", at: "2026-03-19T11:00:00-04:00", practitionerId: "np-baker", minutes: 5 }),
    ];
    const sentReplacement = decideEpisodes(late, tenant(), AS_OF, sentOriginal).owed;

    // Act
    const { owed } = decideEpisodes(late, tenant(), AS_OF, [...sentReplacement, ...sentOriginal]);

    // Assess
    expect(sentReplacement).toHaveLength(1);
    expect(owed).toEqual([]);
  });

  it("R16: a late earlier activity that moves the window voids the old line and owes a new original", () => {
    // Prepare: inquiry on 03-12; the line sent was for the window opened by the 03-16 review. A 3-minute review
    // on 03-13 arrives late: the window becomes [03-13, 03-20), 3 + 8 = 11 min -> 99422, last activity 03-16.
    const before = opening(8, "2026-03-12T09:00:00-04:00");
    const sent = decideEpisodes(before, tenant(), AS_OF).owed;
    const original = sent[0] as ClaimLine;
    const late = [
      ...before,
      activity({ id: "a0", at: "2026-03-13T10:00:00-04:00", practitionerId: "dr-adams", minutes: 3 }),
    ];

    // Act
    const { episodes, owed } = decideEpisodes(late, tenant(), AS_OF, sent);

    // Assess
    expect(original.windowStart).toBe(WINDOW_START);
    expect(episodes).toHaveLength(1);
    const moved = episodes[0] as Episode;
    expect(moved.claimLineId).not.toBe(original.claimLineId);
    expect(owed).toHaveLength(2);
    expect(owed).toContainEqual({ ...original, action: "void", revision: 1, adjusts: 0 });
    expect(owed).toContainEqual({
      ...original,
      claimLineId: moved.claimLineId,
      episodeId: moved.episodeId,
      procedureCode: "99422",
      chargeCents: 2846,
      totalMinutes: 11,
      serviceDate: "2026-03-16",
      windowStart: "2026-03-13T00:00:00-04:00",
      windowEnd: "2026-03-20T00:00:00-04:00",
    });
  });

  it("R16: lines sent for patients absent from the facts are left alone", () => {
    // Prepare
    const other = opening(8).map((fact) => ({ ...fact, patientId: "pat-2" }) as Fact);
    const sentOther = decideEpisodes(other, tenant(), AS_OF).owed;
    const sentMine = decideEpisodes(opening(8), tenant(), AS_OF).owed;

    // Act
    const { owed } = decideEpisodes(opening(8), tenant(), AS_OF, [...sentMine, ...sentOther]);

    // Assess
    expect(sentOther).toHaveLength(1);
    expect(sentOther[0]?.patientId).toBe("pat-2");
    expect(owed).toEqual([]);
  });

  it("R16: a sent line whose patient is in the facts but whose episode is gone is voided", () => {
    // Prepare: the only clinician activity is retracted at the source (version 1).
    const sent = decideEpisodes(opening(8), tenant(), AS_OF).owed;
    const retracted = [
      ...opening(8),
      activity({
        id: "a1",
        version: 1,
        retracted: true,
        at: "2026-03-16T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 8,
      }),
    ];

    // Act
    const { episodes, owed } = decideEpisodes(retracted, tenant(), AS_OF, sent);

    // Assess
    expect(episodes).toEqual([]);
    expect(owed).toEqual([{ ...(sent[0] as ClaimLine), action: "void", revision: 1, adjusts: 0 }]);
  });
});

describe("R17 determinism", () => {
  const richFacts = (): Fact[] => [
    inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00", diagnosisCodes: ["E11.9"] }),
    activity({ id: "a1", at: "2026-03-16T10:00:00-04:00", practitionerId: "dr-adams", minutes: 6 }),
    activity({
      id: "a2",
      at: "2026-03-17T10:00:00-04:00",
      practitionerId: "np-baker",
      minutes: 6,
      diagnosisCodes: ["I10"],
    }),
    activity({ id: "a3", at: "2026-03-17T11:00:00-04:00", practitionerId: "pt-chen", minutes: 7 }),
    inquiry({ id: "q2", at: "2026-03-30T09:00:00-04:00", patientId: "pat-2" }),
    activity({
      id: "b1",
      at: "2026-03-30T10:00:00-04:00",
      practitionerId: "dr-evans",
      patientId: "pat-2",
      minutes: 25,
    }),
    visit({ id: "v1", at: "2026-02-01T10:00:00-05:00", diagnosisCodes: ["J06.9"] }),
    consent({ id: "c1", at: "2026-01-01T10:00:00-05:00" }),
  ];

  it("R17: the same facts in reversed order give an identical result", () => {
    // Prepare
    const facts = richFacts();

    // Act
    const forward = decideEpisodes(facts, tenant(), AS_OF);
    const reversed = decideEpisodes([...facts].reverse(), tenant(), AS_OF);

    // Assess
    const summary = forward.episodes.map((e) => [
      e.patientId,
      e.family,
      e.outcome,
      e.procedureCode,
      e.status,
    ]);
    expect(summary.map((row) => row.join(" ")).sort()).toEqual([
      // R20: the PT's window opens on 2026-03-17, the date of service of the MD's billed episode (same problem).
      "pat-1 digital-assessment needs-review 98970 due",
      "pat-1 digital-em billable 99422 due",
      "pat-2 digital-em billable 99423 open",
    ]);
    const em = forward.episodes.find((e) => e.patientId === "pat-1" && e.family === "digital-em");
    expect(em?.diagnosisCodes).toEqual(["E11.9", "I10"]);
    expect(reversed).toEqual(forward);
  });

  it("R17: every fact delivered twice gives an identical result", () => {
    // Prepare
    const facts = richFacts();
    const doubled = [...facts, ...[...facts].reverse()];

    // Act
    const once = decideEpisodes(facts, tenant(), AS_OF);
    const twice = decideEpisodes(doubled, tenant(), AS_OF);

    // Assess
    expect(twice).toEqual(once);
  });

  it("R17: two deliveries of one id and version that disagree resolve the same way in either order", () => {
    // Prepare
    const finished = visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", status: "finished" });
    const noShow = visit({ id: "v1", at: "2026-03-18T14:00:00-04:00", status: "no-show" });

    // Act
    const ab = decideEpisodes([...opening(8), finished, noShow], tenant(), AS_OF);
    const ba = decideEpisodes([noShow, ...opening(8), finished], tenant(), AS_OF);

    // Assess
    expect(ba).toEqual(ab);
  });

  it("R17: facts at the same instant (diagnoses, tied clinicians) resolve the same way in either order", () => {
    // Prepare: the inquiry and two 6-minute reviews all at 10:00, each with its own diagnosis.
    const facts = [
      inquiry({ id: "q1", at: "2026-03-16T10:00:00-04:00", diagnosisCodes: ["I10"] }),
      activity({
        id: "a1",
        at: "2026-03-16T10:00:00-04:00",
        practitionerId: "dr-evans",
        minutes: 6,
        diagnosisCodes: ["E11.9"],
      }),
      activity({
        id: "a2",
        at: "2026-03-16T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 6,
        diagnosisCodes: ["J06.9"],
      }),
    ];

    // Act
    const forward = decideEpisodes(facts, tenant(), AS_OF);
    const reversed = decideEpisodes([...facts].reverse(), tenant(), AS_OF);

    // Assess
    expect(forward.episodes).toHaveLength(1);
    expect(forward.episodes[0]?.totalMinutes).toBe(12);
    expect([...(forward.episodes[0]?.diagnosisCodes ?? [])].sort()).toEqual(["E11.9", "I10", "J06.9"]);
    expect(reversed).toEqual(forward);
  });

  it("R17: an episode's uncounted evidence comes out in the same order whatever the arrival order", () => {
    // Prepare: time in the window that does not count (an RN, clinical staff, another service's entry).
    const facts = [
      ...opening(8),
      activity({ id: "rn1", at: "2026-03-17T10:00:00-04:00", practitionerId: "rn-diaz", minutes: 4 }),
      staffActivity({ id: "s1", at: "2026-03-17T11:00:00-04:00", staffId: "ma-1", minutes: 3 }),
      timeEntry({
        id: "te1",
        at: "2026-03-18T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 9,
        countedBy: "transitional-care",
      }),
    ];

    // Act
    const forward = decideEpisodes(facts, tenant(), AS_OF);
    const reversed = decideEpisodes([...facts].reverse(), tenant(), AS_OF);

    // Assess
    expect([...(forward.episodes[0]?.evidence.uncounted ?? [])].sort()).toEqual(["rn1", "s1", "te1"]);
    expect(reversed.episodes[0]?.evidence.uncounted).toEqual(forward.episodes[0]?.evidence.uncounted);
    expect(reversed).toEqual(forward);
  });

  it("R17: unattributed facts come out in the same order whatever the arrival order", () => {
    // Prepare: outside any window, two messages by a clinician the roster does not know.
    const facts = [
      ...opening(8),
      activity({ id: "u1", at: "2026-03-27T10:00:00-04:00", practitionerId: "dr-unknown", minutes: 4 }),
      activity({ id: "u2", at: "2026-03-28T10:00:00-04:00", practitionerId: "dr-unknown", minutes: 4 }),
    ];

    // Act
    const forward = decideEpisodes(facts, tenant(), AS_OF);
    const reversed = decideEpisodes([...facts].reverse(), tenant(), AS_OF);

    // Assess
    expect(forward.unattributed.map(({ factId }) => factId).sort()).toEqual(["u1", "u2"]);
    expect(reversed.unattributed).toEqual(forward.unattributed);
  });
});

describe("unsupported dates of service", () => {
  const in2019 = (): Fact[] => [
    inquiry({ id: "q1", at: "2019-12-16T09:00:00-05:00" }),
    activity({ id: "a1", at: "2019-12-16T10:00:00-05:00", practitionerId: "dr-adams", minutes: 12 }),
  ];

  it("unsupported-date: a date of service before 2020-01-01 has no timed code and owes nothing", () => {
    // Act
    const { episode, owed } = decideOne(in2019(), tenant(), "2020-02-01T00:00:00-05:00");

    // Assess
    expect(episode.serviceDate).toBe("2019-12-16");
    expect(episode.outcome).toBe("unsupported-date");
    expect(episode.reasons).toEqual(["unsupported-date"]);
    expect(episode.procedureCode).toBeUndefined();
    expect(episode.chargeCents).toBeUndefined();
    expect(episode.codeSetYear).toBe(2019);
    expect(episode.claimLine).toBeUndefined();
    expect(owed).toEqual([]);
  });

  it("unsupported-date: the digital-assessment family is unsupported before 2020 too", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2019-12-16T09:00:00-05:00" }),
      activity({ id: "a1", at: "2019-12-16T10:00:00-05:00", practitionerId: "pt-chen", minutes: 12 }),
    ];

    // Act
    const { episode } = decideOne(facts, tenant(), "2020-02-01T00:00:00-05:00");

    // Assess
    expect(episode.family).toBe("digital-assessment");
    expect(episode.outcome).toBe("unsupported-date");
  });

  it("unsupported-date: 23:30 on 2019-12-31 in New York is already 2020 in UTC but still unsupported", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2019-12-31T23:00:00-05:00" }),
      activity({ id: "a1", at: "2019-12-31T23:30:00-05:00", practitionerId: "dr-adams", minutes: 12 }),
    ];

    // Act
    const { episode } = decideOne(facts, tenant(), "2020-02-01T00:00:00-05:00");

    // Assess
    expect(episode.serviceDate).toBe("2019-12-31");
    expect(episode.outcome).toBe("unsupported-date");
  });

  it("unsupported-date: a date of service of 2020-01-01 is supported (99422, code set 2020)", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2020-01-01T00:10:00-05:00" }),
      activity({ id: "a1", at: "2020-01-01T00:30:00-05:00", practitionerId: "dr-adams", minutes: 12 }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, tenant(), "2020-02-01T00:00:00-05:00");

    // Assess
    expect(episode.outcome).toBe("billable");
    expect(episode.procedureCode).toBe("99422");
    expect(owed[0]?.codeSetYear).toBe(2020);
    expect(owed[0]?.serviceDate).toBe("2020-01-01");
  });

  it("unsupported-date: the date of service policy decides a window spanning the new year", () => {
    // Prepare: window [2019-12-30, 2020-01-06); last counted activity on 2020-01-02.
    const facts = [
      inquiry({ id: "q1", at: "2019-12-30T09:00:00-05:00" }),
      activity({ id: "a1", at: "2019-12-30T10:00:00-05:00", practitionerId: "dr-adams", minutes: 6 }),
      activity({ id: "a2", at: "2020-01-02T10:00:00-05:00", practitionerId: "dr-adams", minutes: 6 }),
    ];

    // Act
    const lastActivity = decideOne(facts, tenant(), "2020-02-01T00:00:00-05:00").episode;
    const windowStart = decideOne(
      facts,
      tenant({ dateOfService: "window-start" }),
      "2020-02-01T00:00:00-05:00",
    ).episode;

    // Assess
    expect(lastActivity.serviceDate).toBe("2020-01-02");
    expect(lastActivity.outcome).toBe("billable");
    expect(lastActivity.procedureCode).toBe("99422");
    expect(windowStart.serviceDate).toBe("2019-12-30");
    expect(windowStart.outcome).toBe("unsupported-date");
  });
});

describe("outcome precedence", () => {
  it("precedence: not-patient-initiated first, then unsupported-date, bundled-into-visit, below-threshold", () => {
    // Prepare: 3 minutes in 2019 without any inquiry, and a visit in the same window.
    const facts = [
      activity({ id: "a1", at: "2019-12-18T10:00:00-05:00", practitionerId: "dr-adams", minutes: 3 }),
      visit({ id: "v1", at: "2019-12-19T10:00:00-05:00" }),
    ];

    // Act
    const { episode } = decideOne(facts, tenant(), "2020-02-01T00:00:00-05:00");

    // Assess
    expect(episode.outcome).toBe("not-patient-initiated");
    expect(episode.reasons).toEqual([
      "not-patient-initiated",
      "unsupported-date",
      "bundled-into-visit",
      "below-threshold",
    ]);
  });

  it("precedence: unsupported-date beats bundled-into-visit", () => {
    // Prepare
    const facts = [
      inquiry({ id: "q1", at: "2019-12-16T09:00:00-05:00" }),
      activity({ id: "a1", at: "2019-12-16T10:00:00-05:00", practitionerId: "dr-adams", minutes: 12 }),
      visit({ id: "v1", at: "2019-12-18T10:00:00-05:00" }),
    ];

    // Act
    const { episode } = decideOne(facts, tenant(), "2020-02-01T00:00:00-05:00");

    // Assess
    expect(episode.outcome).toBe("unsupported-date");
    expect(episode.reasons).toEqual(["unsupported-date", "bundled-into-visit"]);
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 12 });
  });

  it("precedence: bundled-into-visit, then related-prior-visit, below-threshold, consent-missing", () => {
    // Prepare: 4 minutes; a related visit on 03-12 (prior 7 days) and one on 03-18 (in the window).
    const facts = [
      ...opening(4),
      visit({ id: "v0", at: "2026-03-12T10:00:00-04:00" }),
      visit({ id: "v1", at: "2026-03-18T10:00:00-04:00" }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, tenant({ consent: "required" }));

    // Assess
    expect(episode.outcome).toBe("bundled-into-visit");
    expect(episode.reasons).toEqual([
      "bundled-into-visit",
      "related-prior-visit",
      "below-threshold",
      "consent-missing",
    ]);
    expect(episode.bundledVisit).toEqual({ visitId: "v1", minutes: 4 });
    expect(episode.priorVisitId).toBe("v0");
    expect([...episode.evidence.visits].sort()).toEqual(["v0", "v1"]);
    expect(owed).toEqual([]);
  });

  it("precedence: related-prior-visit beats below-threshold", () => {
    // Prepare
    const facts = [...opening(4), visit({ id: "v0", at: "2026-03-12T10:00:00-04:00" })];

    // Act
    const { episode } = decideOne(facts);

    // Assess
    expect(episode.outcome).toBe("related-prior-visit");
    expect(episode.reasons).toEqual(["related-prior-visit", "below-threshold"]);
  });

  it("precedence: below-threshold beats needs-review reasons", () => {
    // Act
    const { episode } = decideOne(opening(4), tenant({ consent: "required" }));

    // Assess
    expect(episode.outcome).toBe("below-threshold");
    expect(episode.reasons).toEqual(["below-threshold", "consent-missing"]);
  });

  it("precedence: every needs-review reason is listed, in the documented order", () => {
    // Prepare: no diagnosis anywhere; a visit without diagnoses in the window under same-problem; no consent;
    // no earlier visit; 3 minutes by a clinician nobody knows inside the window.
    const config = tenant({
      consent: "required",
      establishedPatient: "require-known-visit",
      laterVisit: "same-problem",
    });
    const facts = [
      inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00", diagnosisCodes: [] }),
      activity({
        id: "a1",
        at: "2026-03-16T10:00:00-04:00",
        practitionerId: "dr-adams",
        minutes: 12,
        diagnosisCodes: [],
      }),
      activity({
        id: "u1",
        at: "2026-03-17T10:00:00-04:00",
        practitionerId: "dr-unknown",
        minutes: 3,
        diagnosisCodes: [],
      }),
      visit({ id: "v1", at: "2026-03-18T10:00:00-04:00", diagnosisCodes: [] }),
    ];

    // Act
    const { episode, owed } = decideOne(facts, config);

    // Assess
    expect(episode.outcome).toBe("needs-review");
    expect(episode.reasons).toEqual([
      "relatedness-unknown",
      "consent-missing",
      "not-established",
      "unknown-clinician",
      "diagnosis-missing",
    ]);
    expect(episode.totalMinutes).toBe(12);
    expect(episode.claimLine).toBeUndefined();
    expect(owed).toEqual([]);
  });
});
