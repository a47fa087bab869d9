import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { claimLineSchema } from "../../functions/domain/claim-line.js";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type EngineResult } from "../../functions/domain/engine.js";
import { type Fact, otherServices, type VisitStatus, visitStatuses } from "../../functions/domain/facts.js";
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
 * Properties of the whole engine over random fact sets (R17 and the claim line contract). Facts cover 1-3
 * patients over three weeks of March 2026 (across the 2026-03-08 DST change in New York): inquiries, possibly
 * replying into other messages, clinician activity by every kind of roster member and by an unknown
 * clinician, staff time, time entries another service may count, visits with every status and several
 * versions, consents. Policies vary too.
 */

const RUNS = 150;
const PATIENTS = ["p1", "p2", "p3"] as const;
const START = Date.parse("2026-03-02T00:00:00Z");
const MINUTES_IN_RANGE = 21 * 24 * 60;
const PRACTITIONERS = ["dr-adams", "np-baker", "pt-chen", "rn-diaz", "dr-evans", "dr-unknown"] as const;
const DIAGNOSES = ["E11.9", "E11.65", "I10", "J06.9", "M54.50"] as const;

const instant = fc
  .integer({ min: 0, max: MINUTES_IN_RANGE })
  .map((minute) => new Date(START + minute * 60_000).toISOString().replace(".000Z", "Z"));
const diagnoses = fc.subarray([...DIAGNOSES], { maxLength: 2 });
const replyTo = fc.option(fc.nat({ max: 11 }), { nil: undefined });

/** A fact without its identity: ids are given when a patient's facts are built, so they are unique. */
const factSpec = fc.oneof(
  fc.record({ kind: fc.constant("inquiry" as const), at: instant, diagnoses, replyTo }),
  fc.record({
    kind: fc.constant("clinician-activity" as const),
    at: instant,
    practitionerId: fc.constantFrom(...PRACTITIONERS),
    seconds: fc.integer({ min: 0, max: 1500 }),
    diagnoses,
    replyTo,
  }),
  fc.record({
    kind: fc.constant("staff-activity" as const),
    at: instant,
    minutes: fc.integer({ min: 0, max: 20 }),
  }),
  fc.record({
    kind: fc.constant("time-entry" as const),
    at: instant,
    practitionerId: fc.constantFrom(...PRACTITIONERS),
    minutes: fc.integer({ min: 0, max: 25 }),
    countedBy: fc.option(fc.constantFrom(...otherServices), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant("visit" as const),
    at: instant,
    slot: fc.nat({ max: 2 }),
    version: fc.nat({ max: 2 }),
    status: fc.constantFrom<VisitStatus>(...visitStatuses),
    diagnoses,
  }),
  fc.record({
    kind: fc.constant("consent" as const),
    at: fc.oneof(instant, fc.constant("2025-06-01T12:00:00Z")),
    slot: fc.nat({ max: 1 }),
    version: fc.nat({ max: 1 }),
    status: fc.constantFrom("active", "inactive", "rejected") as fc.Arbitrary<
      "active" | "inactive" | "rejected"
    >,
  }),
);
type FactSpec = typeof factSpec extends fc.Arbitrary<infer T> ? T : never;

function buildFact(patientId: string, spec: FactSpec, index: number): Fact {
  const id = `${patientId}-f${index}`;
  const messageId = `${patientId}-m${index}`;
  const inResponseTo = (n: number | undefined) => (n === undefined ? undefined : `${patientId}-m${n}`);
  switch (spec.kind) {
    case "inquiry":
      return inquiry({
        id,
        patientId,
        at: spec.at,
        messageId,
        inResponseTo: inResponseTo(spec.replyTo),
        diagnosisCodes: spec.diagnoses,
      });
    case "clinician-activity":
      return activity({
        id,
        patientId,
        at: spec.at,
        practitionerId: spec.practitionerId,
        seconds: spec.seconds,
        messageId,
        inResponseTo: inResponseTo(spec.replyTo),
        diagnosisCodes: spec.diagnoses,
      });
    case "staff-activity":
      return staffActivity({ id, patientId, at: spec.at, staffId: "ma-1", minutes: spec.minutes, messageId });
    case "time-entry":
      return timeEntry({
        id,
        patientId,
        at: spec.at,
        practitionerId: spec.practitionerId,
        minutes: spec.minutes,
        countedBy: spec.countedBy,
      });
    case "visit":
      return visit({
        id: `${patientId}-visit-${spec.slot}`,
        patientId,
        at: spec.at,
        version: spec.version,
        status: spec.status,
        diagnosisCodes: spec.diagnoses,
      });
    case "consent":
      return consent({
        id: `${patientId}-consent-${spec.slot}`,
        patientId,
        at: spec.at,
        version: spec.version,
        status: spec.status,
      });
  }
}

const patientFacts = (patientId: string) =>
  fc
    .array(factSpec, { maxLength: 12 })
    .map((specs) => specs.map((spec, index) => buildFact(patientId, spec, index)));

/** Facts for 1-3 distinct patients, concatenated. */
const world = fc
  .uniqueArray(fc.constantFrom(...PATIENTS), { minLength: 1, maxLength: 3 })
  .chain((patients) => fc.tuple(...patients.map(patientFacts)))
  .map((lists) => lists.flat());

const config: fc.Arbitrary<TenantConfig> = fc
  .record({
    windowStart: fc.constantFrom("first-clinician-activity", "inquiry-sent"),
    windowMode: fc.constantFrom("calendar-days", "rolling-168h"),
    laterVisit: fc.constantFrom("any-visit", "same-problem"),
    consent: fc.constantFrom("required", "not-tracked"),
    establishedPatient: fc.constantFrom("assume", "require-known-visit"),
    dateOfService: fc.constantFrom("last-activity", "window-start", "window-end"),
    renderingProvider: fc.constantFrom("most-minutes", "first-activity"),
  } as const)
  .map((policies) => tenant(policies));

/** Mid-range (some episodes open or settling) or well after every window (all due). */
const asOf = fc.constantFrom("2026-03-16T12:00:00Z", "2026-04-30T00:00:00Z");

const decide = (facts: readonly Fact[], tenantConfig: TenantConfig, at: string): EngineResult =>
  decideEpisodes(facts, tenantConfig, at);

/** Inserts copies of some of the facts at arbitrary positions. */
const withDuplicates = (facts: readonly Fact[]) =>
  fc
    .array(fc.record({ pick: fc.nat(), position: fc.nat() }), { minLength: 1, maxLength: 8 })
    .map((copies) => {
      const result = [...facts];
      if (facts.length === 0) return result;
      for (const { pick, position } of copies) {
        result.splice(position % (result.length + 1), 0, facts[pick % facts.length] as Fact);
      }
      return result;
    });

/** Interleaves two lists at random, keeping each list's own order. */
const interleaved = (a: readonly Fact[], b: readonly Fact[]) =>
  fc.array(fc.boolean(), { minLength: a.length + b.length, maxLength: a.length + b.length }).map((picks) => {
    const result: Fact[] = [];
    let i = 0;
    let j = 0;
    for (const takeA of picks) {
      if ((takeA && i < a.length) || j >= b.length) result.push(a[i++] as Fact);
      else result.push(b[j++] as Fact);
    }
    return result;
  });

const forPatient = (result: EngineResult, patientId: string) => ({
  episodes: result.episodes.filter((episode) => episode.patientId === patientId),
  owed: result.owed.filter((line) => line.patientId === patientId),
  unattributed: result.unattributed.filter((fact) => fact.patientId === patientId),
});

describe("engine properties over random facts", () => {
  it("R17: any permutation of the facts gives an identical result", () => {
    fc.assert(
      fc.property(
        world.chain((facts) =>
          fc.tuple(
            fc.constant(facts),
            fc.shuffledSubarray(facts, { minLength: facts.length, maxLength: facts.length }),
          ),
        ),
        config,
        asOf,
        ([facts, permuted], tenantConfig, at) => {
          // Prepare: facts and a permutation of them (generated).
          // Act
          const original = decide(facts, tenantConfig, at);
          const shuffled = decide(permuted, tenantConfig, at);
          // Assess
          expect(shuffled).toEqual(original);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("R17: duplicating random facts changes nothing", () => {
    fc.assert(
      fc.property(
        world.chain((facts) => fc.tuple(fc.constant(facts), withDuplicates(facts))),
        config,
        asOf,
        ([facts, duplicated], tenantConfig, at) => {
          // Prepare: facts and the same facts with some delivered again (generated).
          // Act
          const once = decide(facts, tenantConfig, at);
          const again = decide(duplicated, tenantConfig, at);
          // Assess
          expect(again).toEqual(once);
        },
      ),
      { numRuns: RUNS },
    );
  });

  it("R17: adding facts about other patients never changes a patient's episodes, lines or flags", () => {
    const mineAndOthers = fc
      .tuple(patientFacts("p1"), fc.tuple(patientFacts("p2"), patientFacts("p3")))
      .chain(([mine, [p2, p3]]) => fc.tuple(fc.constant(mine), interleaved(mine, [...p2, ...p3])));
    fc.assert(
      fc.property(mineAndOthers, config, asOf, ([mine, everything], tenantConfig, at) => {
        // Prepare: p1's facts alone, and p1's facts interleaved with p2's and p3's (generated).
        // Act
        const alone = decide(mine, tenantConfig, at);
        const together = decide(everything, tenantConfig, at);
        // Assess
        expect(forPatient(together, "p1")).toEqual(forPatient(alone, "p1"));
        expect(alone.episodes.every((episode) => episode.patientId === "p1")).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });

  it("claim lines: every owed line satisfies the published schema, and only due billable episodes owe one", () => {
    fc.assert(
      fc.property(world, config, asOf, (facts, tenantConfig, at) => {
        // Act
        const { episodes, owed } = decide(facts, tenantConfig, at);
        // Assess
        for (const line of owed) {
          expect(claimLineSchema.parse(line)).toEqual(line);
          expect(line.action).toBe("original");
          expect(line.revision).toBe(0);
          const episode = episodes.find((candidate) => candidate.claimLineId === line.claimLineId);
          expect(episode?.status).toBe("due");
          expect(episode?.outcome).toBe("billable");
          expect(episode?.claimLine).toEqual(line);
        }
        const dueBillable = episodes.filter((e) => e.status === "due" && e.outcome === "billable");
        expect(owed).toHaveLength(dueBillable.length);
      }),
      { numRuns: RUNS },
    );
  });

  it("R16: deciding again with the lines just owed as sent owes nothing", () => {
    fc.assert(
      fc.property(world, config, asOf, (facts, tenantConfig, at) => {
        // Prepare
        const first = decide(facts, tenantConfig, at);
        // Act
        const again = decideEpisodes(facts, tenantConfig, at, first.owed);
        // Assess
        expect(again.owed).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });
});
