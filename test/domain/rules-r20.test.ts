import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import { activity, attestation, inquiry, roster, tenant } from "../support/domain-builders.js";

/**
 * R20: an episode whose window starts within 7 days after the date of service of a billed episode of the same
 * patient, in any billing group or family, for a related problem (R8's relatedness), is `needs-review` with reason
 * `prior-e-visit`; policy `priorEVisit: allow` bills it.
 *
 * Timeline (America/New_York, EST -05:00 until 2026-03-08, then EDT -04:00; calendar-days windows; date of
 * service = the last counted activity's local date, R15): each e-visit is a patient inquiry at 09:00 and one
 * clinician reply at 10:00 local, 12 minutes (99422 for MD/DO/NP/PA, 98971 for PT), problem E11.9 unless
 * said. Episode A's reply is on Monday 2026-03-02, so A is the window [2026-03-02, 2026-03-09) with date of
 * service 2026-03-02. A second e-visit on day D opens a window starting on D's local midnight. Everything is
 * decided as of 2026-04-15, when all are due.
 */

const AS_OF = "2026-04-15T00:00:00-04:00";

let seq = 0;
/** An e-visit on a local date: inquiry at 09:00, the reply at 10:00 (zone offset given with the date). */
function eVisit(
  date: string,
  offset: "-05:00" | "-04:00",
  fields: { practitionerId?: string; minutes?: number; diagnosisCodes?: string[] } = {},
): Fact[] {
  seq += 1;
  const codes = fields.diagnosisCodes === undefined ? {} : { diagnosisCodes: fields.diagnosisCodes };
  return [
    inquiry({ id: `q${seq}`, at: `${date}T09:00:00${offset}`, ...codes }),
    activity({
      id: `a${seq}`,
      at: `${date}T10:00:00${offset}`,
      practitionerId: fields.practitionerId ?? "dr-adams",
      minutes: fields.minutes ?? 12,
      inResponseTo: `q${seq}`,
      ...codes,
    }),
  ];
}

const A = () => eVisit("2026-03-02", "-05:00");

function decide(facts: readonly Fact[], config: TenantConfig = tenant()): Episode[] {
  return decideEpisodes(facts, config, AS_OF).episodes;
}

const summary = (episodes: readonly Episode[]) =>
  episodes.map((e) => [e.windowStart.slice(0, 10), e.procedureCode ?? null, e.outcome, e.reasons]);

describe("R20 prior e-visit", () => {
  it("R20: a related e-visit whose window starts 7 days after a billed episode's date of service needs review", () => {
    // Prepare: B on Monday 2026-03-09, 7 days after A's date of service 2026-03-02.
    const facts = [...A(), ...eVisit("2026-03-09", "-04:00")];

    // Act
    const [a, b] = decide(facts);

    // Assess
    expect(summary([a as Episode, b as Episode])).toEqual([
      ["2026-03-02", "99422", "billable", []],
      ["2026-03-09", "99422", "needs-review", ["prior-e-visit"]],
    ]);
    expect(b?.priorEpisodeId).toBe(a?.episodeId);
    expect(b?.claimLine).toBeUndefined();
  });

  it("R20: 8 days after the date of service is not a prior e-visit: both bill", () => {
    // Prepare: B on Tuesday 2026-03-10, 8 days after 2026-03-02.
    const facts = [...A(), ...eVisit("2026-03-10", "-04:00")];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(summary(episodes)).toEqual([
      ["2026-03-02", "99422", "billable", []],
      ["2026-03-10", "99422", "billable", []],
    ]);
    expect(episodes[1]?.priorEpisodeId).toBeUndefined();
  });

  it("R20: the 7 days count from the date of service (the last counted activity), not from the window start", () => {
    // Prepare: A's window opens on 2026-03-02 and a second reply on Thursday 2026-03-05 moves its date of service
    // there; B on 2026-03-12 is 7 days later, C on 2026-03-21 (after B's window) is 16 days later.
    const facts = [
      ...A(),
      activity({ id: "a-thu", at: "2026-03-05T10:00:00-05:00", practitionerId: "dr-adams", minutes: 2 }),
      ...eVisit("2026-03-12", "-04:00", { diagnosisCodes: ["E11.65"] }),
    ];

    // Act
    const episodes = decide(facts);

    // Assess: A is 14 minutes dated 2026-03-05; B (same E11 category) follows it by 7 days.
    expect(episodes.map((e) => [e.serviceDate, e.totalMinutes, e.outcome, e.reasons])).toEqual([
      ["2026-03-05", 14, "billable", []],
      ["2026-03-12", 12, "needs-review", ["prior-e-visit"]],
    ]);
  });

  it("R20: a related problem in another family needs review", () => {
    // Prepare: B on Monday 2026-03-09, 7 days after A, by the PT (digital assessment, 98971), about E11.9.
    const facts = [...A(), ...eVisit("2026-03-09", "-04:00", { practitionerId: "pt-chen" })];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(episodes.map((e) => [e.family, e.serviceDate, e.outcome, e.reasons])).toEqual([
      ["digital-em", "2026-03-02", "billable", []],
      ["digital-assessment", "2026-03-09", "needs-review", ["prior-e-visit"]],
    ]);
  });

  it("R20: an unrelated problem (no shared ICD-10 category) 7 days later bills", () => {
    // Prepare: B on 2026-03-09 about low back pain (M54.50); A was about diabetes (E11.9).
    const facts = [...A(), ...eVisit("2026-03-09", "-04:00", { diagnosisCodes: ["M54.50"] })];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(summary(episodes)).toEqual([
      ["2026-03-02", "99422", "billable", []],
      ["2026-03-09", "99422", "billable", []],
    ]);
  });

  it("R20: two families answering one inquiry open the same day: neither is the other's prior e-visit (R5)", () => {
    // Prepare: Dr Adams and the PT both answer A's inquiry on 2026-03-02.
    const facts = [
      ...A(),
      activity({ id: "pt-1", at: "2026-03-02T11:00:00-05:00", practitionerId: "pt-chen", minutes: 12 }),
    ];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(episodes.map((e) => [e.family, e.outcome, e.reasons]).sort()).toEqual([
      ["digital-assessment", "billable", []],
      ["digital-em", "billable", []],
    ]);
  });

  it("R20: in another billing group too", () => {
    // Prepare: Dr Evans is in group "north"; B by him on 2026-03-09.
    const config = tenant({
      roster: roster.map((entry) =>
        entry.practitionerId === "dr-evans" ? { ...entry, group: "north" } : { ...entry },
      ),
    });
    const facts = [...A(), ...eVisit("2026-03-09", "-04:00", { practitionerId: "dr-evans" })];

    // Act
    const episodes = decide(facts, config);

    // Assess
    expect(episodes.map((e) => [e.billingGroup, e.outcome, e.reasons])).toEqual([
      ["default", "billable", []],
      ["north", "needs-review", ["prior-e-visit"]],
    ]);
  });

  it("R20: only a billed episode counts: after a below-threshold one the next bills, and a chain needs a billed link", () => {
    // Prepare: A' is 3 minutes (below threshold) on 2026-03-02; B on 2026-03-09 bills. Then C on 2026-03-16 is
    // 7 days after B: needs review; D on 2026-03-23 is 7 days after C, which did not bill: D bills.
    const facts = [
      ...eVisit("2026-03-02", "-05:00", { minutes: 3 }),
      ...eVisit("2026-03-09", "-04:00"),
      ...eVisit("2026-03-16", "-04:00"),
      ...eVisit("2026-03-23", "-04:00"),
    ];

    // Act
    const episodes = decide(facts);

    // Assess
    expect(summary(episodes)).toEqual([
      ["2026-03-02", null, "below-threshold", ["below-threshold"]],
      ["2026-03-09", "99422", "billable", []],
      ["2026-03-16", "99422", "needs-review", ["prior-e-visit"]],
      ["2026-03-23", "99422", "billable", []],
    ]);
  });

  it("R20: policy priorEVisit allow bills both", () => {
    // Prepare
    const facts = [...A(), ...eVisit("2026-03-09", "-04:00")];

    // Act
    const episodes = decide(facts, tenant({ priorEVisit: "allow" }));

    // Assess
    expect(summary(episodes)).toEqual([
      ["2026-03-02", "99422", "billable", []],
      ["2026-03-09", "99422", "billable", []],
    ]);
  });

  it("R20, R19: a biller's decision that the prior episode is unrelated bills it; related keeps it from billing", () => {
    // Prepare: the biller names the prior episode as the visit whose relatedness they decide.
    const facts = [...A(), ...eVisit("2026-03-09", "-04:00")];
    const [prior, later] = decide(facts);
    const decided = (related: boolean) =>
      attestation({
        id: `att-${related}`,
        at: "2026-03-20T10:00:00-04:00",
        episodeId: later?.episodeId,
        resolution: { action: "decide-relatedness", priorVisitId: prior?.episodeId ?? "", related },
      });

    // Act
    const unrelated = decide([...facts, decided(false)])[1];
    const related = decide([...facts, decided(true)])[1];

    // Assess
    expect([unrelated?.outcome, unrelated?.evidence.attestations]).toEqual(["billable", ["att-false"]]);
    expect([related?.outcome, related?.reasons]).toEqual(["needs-review", ["prior-e-visit"]]);
  });

  it("R20, R17: the outcome does not depend on the order the facts arrive in", () => {
    // Prepare
    const facts = [
      ...A(),
      ...eVisit("2026-03-09", "-04:00", { practitionerId: "pt-chen" }),
      ...eVisit("2026-03-16", "-04:00"),
    ];
    const expected = summary(decide(facts));

    // Act + Assess
    fc.assert(
      fc.property(
        fc.shuffledSubarray(facts, { minLength: facts.length, maxLength: facts.length }),
        (shuffled) => {
          expect(summary(decide(shuffled))).toEqual(expected);
        },
      ),
      { numRuns: 50 },
    );
  });
  it("R20, R17: of several billed episodes, the one named is the latest by date of service, whatever the order they are seen in", () => {
    // Prepare: A (MD) opens 2026-03-02, a 1-minute reply on 03-08 dates it 03-08 (13 min: 99422); B (PT) opens
    // 03-03, dated 03-03 (98971); C (MD) opens 03-10, related to both: A's date of service is the latest.
    const facts = [
      ...A(),
      activity({ id: "a-sun", at: "2026-03-08T10:00:00-04:00", practitionerId: "dr-adams", minutes: 1 }),
      ...eVisit("2026-03-03", "-05:00", { practitionerId: "pt-chen" }),
      ...eVisit("2026-03-10", "-04:00"),
    ];

    // Act: over the whole history, and from C's start with A and B as windows decided earlier (as the finalizer
    // passes them, in either order).
    const whole = decide(facts);
    const [a, b, c] = [...whole].sort((x, y) => Date.parse(x.windowStart) - Date.parse(y.windowStart));
    const window = (e: Episode) => ({
      group: e.billingGroup,
      family: e.family,
      start: Date.parse(e.windowStart),
      end: Date.parse(e.windowEnd),
      patientInitiated: true,
      billed: {
        episodeId: e.episodeId,
        start: Date.parse(e.windowStart),
        serviceDate: e.serviceDate,
        diagnosisCodes: e.diagnosisCodes,
      },
    });
    const bounded = (earlier: Episode[]) =>
      decideEpisodes(facts, tenant(), AS_OF, [], {
        from: Date.parse(c?.windowStart ?? ""),
        earlier: earlier.map(window),
      }).episodes.find((e) => e.episodeId === c?.episodeId);

    // Assess
    expect([a?.serviceDate, b?.serviceDate, a?.outcome, b?.outcome]).toEqual([
      "2026-03-08",
      "2026-03-03",
      "billable",
      "billable",
    ]);
    expect(c?.priorEpisodeId).toBe(a?.episodeId);
    expect(bounded([a as Episode, b as Episode])?.priorEpisodeId).toBe(a?.episodeId);
    expect(bounded([b as Episode, a as Episode])?.priorEpisodeId).toBe(a?.episodeId);
  });
});
