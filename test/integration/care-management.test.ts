import { describe, expect, it } from "vitest";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { Fact } from "../../functions/domain/facts.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import { DynamoFactStore } from "../../functions/store/fact-store.js";
import { activity, enrollment, inquiry, staffActivity } from "../support/domain-builders.js";
import { finalizerWorld, reviewServiceOf, TENANT } from "../support/finalizer-world.js";

/**
 * R22-R24 through the real finalizer on DynamoDB Local and the SQS-compatible server: a care-management month is
 * decided whole after it settles, late time in it replaces its add-on line, and time a billed e-visit counted is
 * not counted again.
 *
 * America/New_York (the test tenant's zone, EST -05:00): January 2026 is [2026-01-01T05:00Z, 2026-02-01T05:00Z);
 * it settles 48 hours after, at 2026-02-03T05:00Z. Enrollment in CCM from 2026-01-01 (dr-adams, E11.9 and I10,
 * consent and care plan 2026-01-01). Fees: 99490 6049, 99439 4593, 99422 2846 cents.
 */

const enrolled = (patientId: string): Fact =>
  enrollment({ id: `${patientId}-enr`, patientId, at: "2026-01-01T13:00:00Z" });

/** Staff minutes on consecutive January days from the 5th, ten at a time. */
const staff = (patientId: string, minutes: number, firstDay = 5): Fact[] =>
  Array.from({ length: Math.ceil(minutes / 10) }, (_, index) =>
    staffActivity({
      id: `${patientId}-s${firstDay + index}`,
      patientId,
      at: `2026-01-${String(firstDay + index).padStart(2, "0")}T16:00:00Z`,
      staffId: "ma-ford",
      minutes: Math.min(10, minutes - index * 10),
    }),
  );

const lineSummary = (lines: readonly ClaimLine[]) =>
  lines
    .map(
      (l) =>
        `${l.patientId} ${l.action} r${l.revision} ${l.procedureCode} x${l.units} ${l.chargeCents} ${l.serviceDate}`,
    )
    .sort();

describe("care management through the finalizer (R22-R24)", () => {
  it("R23: a month is sent once it settles, base and add-on; late time in it replaces the add-on line", async () => {
    // Prepare: 45 staff minutes (99490 + 99439 x1: 45 - 20 = 25, one full block); a patient without enrollment.
    const world = await finalizerWorld();
    await world.seed([enrolled("p-ccm"), ...staff("p-ccm", 45), ...staff("p-none", 45)]);

    // Act: mid-month nothing is due; after January settles, the month is decided.
    const midMonth = await world.run(Date.parse("2026-01-20T12:00:00Z"));
    const early = await world.takeClaims();
    await world.run(Date.parse("2026-02-03T06:00:00Z"));
    const first = await world.takeClaims();

    // Assess
    expect(midMonth.linesSent).toEqual({ original: 0, void: 0, replacement: 0 });
    expect(early).toEqual([]);
    expect(lineSummary(first)).toEqual([
      "p-ccm original r0 99439 x1 4593 2026-01-31",
      "p-ccm original r0 99490 x1 6049 2026-01-31",
    ]);
    const addOn = first.find((line) => line.procedureCode === "99439") as ClaimLine;
    // One unit and timed minutes: contract 1.0 carries it (the lowest version that can).
    expect(addOn).toMatchObject({ schemaVersion: "1.0", totalMinutes: 45, diagnosisCodes: ["E11.9", "I10"] });

    // Act: 20 more minutes dated 2026-01-28 arrive on 2026-02-10: 65 minutes, 99439 x2.
    await world.seed(staff("p-ccm", 20, 28));
    const late = await world.run(Date.parse("2026-02-10T12:00:00Z"));
    const second = await world.takeClaims();

    // Assess: both lines are replaced, never changed silently: the add-on's units and charge (2 x 4593 = 9186),
    // and the base line's minutes, a billed field (45 -> 65); its code and charge stay.
    expect(lineSummary(second)).toEqual([
      "p-ccm replacement r1 99439 x2 9186 2026-01-31",
      "p-ccm replacement r1 99490 x1 6049 2026-01-31",
    ]);
    expect(late.linesSent).toEqual({ original: 0, void: 0, replacement: 2 });
    // Two units need contract 1.1.
    expect(second.find((line) => line.procedureCode === "99439")).toMatchObject({
      schemaVersion: "1.1",
      units: 2,
    });
    // Minutes count once across a base and its add-on.
    expect(late.billableMinutes).toBe(65);

    // The add-on's audit packet reads the month rule by rule: its three decisions (mid-month while open, when it
    // settled, after the late time), with R22-R24's findings.
    const review = reviewServiceOf(world, fixedTenantConfig(TENANT), () =>
      Date.parse("2026-02-11T00:00:00Z"),
    );
    const packet = await review.auditPacket(addOn.claimLineId);
    expect(packet.decisions).toHaveLength(3);
    const rules = Object.fromEntries((packet.decisions.at(-1)?.rules ?? []).map((r) => [r.rule, r.finding]));
    expect(rules.R22).toContain("p-ccm-enr");
    expect(rules.R23).toContain("65 min counted from 7 entries → 99439 x2");
    expect(rules.R1).toBeUndefined();
  });

  it("R24: a billed e-visit's minutes are not counted again for the month, through the bounded decision", async () => {
    // Prepare: an e-visit on 2026-01-12 (dr-adams 12 min: 99422) and 15 staff minutes. CCM would have 27 minutes
    // with the e-visit's and bills nothing with 15.
    const world = await finalizerWorld();
    await world.seed([
      enrolled("p-both"),
      inquiry({ id: "p-both-q", patientId: "p-both", at: "2026-01-12T14:00:00Z" }),
      activity({
        id: "p-both-a",
        patientId: "p-both",
        at: "2026-01-12T15:00:00Z",
        practitionerId: "dr-adams",
        minutes: 12,
        inResponseTo: "p-both-q",
      }),
      ...staff("p-both", 15),
    ]);

    // Act
    await world.run(Date.parse("2026-02-03T06:00:00Z"));
    const lines = await world.takeClaims();
    const records = await world.audits("p-both");

    // Assess
    expect(lineSummary(lines)).toEqual(["p-both original r0 99422 x1 2846 2026-01-12"]);
    const month = records.find((record) => record.family === "ccm");
    expect(month).toMatchObject({ outcome: "below-threshold", totalMinutes: 15 });
    expect(month.evidence.uncounted).toContain("p-both-a");
  });

  it("R16, R22: an enrollment deleted at the source months after it was recorded voids the months it billed", async () => {
    // Prepare: enrolled from 2026-01-01 but recorded (its version's time) on 2026-03-10; 25 staff minutes in
    // January: 99490 sent after January settles. The EpisodeOfCare is deleted on 2026-03-20.
    const world = await finalizerWorld();
    const recorded = enrollment({
      id: "p-del-enr",
      patientId: "p-del",
      at: "2026-03-10T13:00:00Z",
      startDate: "2026-01-01",
    });
    await world.seed([recorded, ...staff("p-del", 25)]);
    await world.run(Date.parse("2026-03-11T12:00:00Z"));
    const sent = await world.takeClaims();
    const facts = new DynamoFactStore(world.documents, {
      tableName: world.resources.tableName,
      retentionDays: 2190,
      settleHours: 48,
    });

    // Act: the deletion is due from the enrollment's start (its change), not from when it was last recorded.
    await facts.retract({ factId: "p-del-enr", version: Date.parse("2026-03-20T12:00:00Z") });
    await world.run(Date.parse("2026-03-23T12:00:00Z"));
    const after = await world.takeClaims();

    // Assess
    expect(lineSummary(sent)).toEqual(["p-del original r0 99490 x1 6049 2026-01-31"]);
    expect(lineSummary(after)).toEqual(["p-del void r1 99490 x1 6049 2026-01-31"]);
  });
});
