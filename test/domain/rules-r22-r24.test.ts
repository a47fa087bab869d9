import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import {
  activity,
  attestation,
  enrollment,
  inquiry,
  staffActivity,
  tenant,
  timeEntry,
} from "../support/domain-builders.js";

/**
 * R22-R24: care management per practice-local calendar month.
 *
 * Timeline (America/New_York, EST -05:00 in January and February 2026): the patient is enrolled in CCM from
 * 2026-01-01 (billing practitioner dr-adams, MD; conditions E11.9 and I10; consent and care plan dated
 * 2026-01-01) unless a test says otherwise. Staff time is rn-diaz's (RN, roster) or a staff member's portal
 * activity (`staff-activity`). January's window is [2026-01-01T00:00-05:00, 2026-02-01T00:00-05:00); decided as of
 * 2026-03-15, when January and February are due (month end + 48 h). Fees: DOMAIN's 2025 defaults (99490 6049,
 * 99439 4593, 99491 8216, 99437 5758, 99487 13165, 99489 7052, 99424 8087, 99425 5887, 99426 6178, 99427 5046).
 */

const AS_OF = "2026-03-15T00:00:00-04:00";

function decide(facts: readonly Fact[], config: TenantConfig = tenant()): Episode[] {
  return decideEpisodes(facts, config, AS_OF).episodes;
}

const careLines = (episodes: readonly Episode[]) =>
  episodes
    .filter((e) => ["ccm", "ccm-complex", "pcm"].includes(e.family))
    .map((e) => ({
      family: e.family,
      month: e.windowStart.slice(0, 7),
      code: e.procedureCode ?? null,
      units: e.units,
      minutes: e.totalMinutes,
      outcome: e.outcome,
      reasons: e.reasons,
      charge: e.claimLine?.chargeCents ?? null,
      serviceDate: e.claimLine?.serviceDate ?? null,
    }));

/** Staff time on January days: `minutes` split into pieces of at most 10 minutes, one a day from 2026-01-05. */
function staffMinutes(minutes: number, prefix = "s"): Fact[] {
  const facts: Fact[] = [];
  let day = 5;
  for (let left = minutes; left > 0; left -= 10, day += 1) {
    facts.push(
      staffActivity({
        id: `${prefix}${day}`,
        at: `2026-01-${String(day).padStart(2, "0")}T11:00:00-05:00`,
        staffId: "ma-ford",
        minutes: Math.min(10, left),
      }),
    );
  }
  return facts;
}

const CCM = () => enrollment({ id: "enr-ccm", at: "2026-01-01T08:00:00-05:00" });

describe("R22-R24 care management", () => {
  it("R23: 19 staff minutes in a month bill nothing (below-threshold)", () => {
    // Act
    const lines = careLines(decide([CCM(), ...staffMinutes(19)]));

    // Assess
    expect(lines).toEqual([
      expect.objectContaining({
        family: "ccm",
        month: "2026-01",
        code: null,
        minutes: 19,
        outcome: "below-threshold",
      }),
    ]);
  });

  it("R23: 20 staff minutes bill 99490, one unit, dated on the month's last day", () => {
    // Act
    const lines = careLines(decide([CCM(), ...staffMinutes(20)]));

    // Assess: 99490 at 6049 cents, 2026-01-31 (careManagementDateOfService month-end).
    expect(lines).toEqual([
      {
        family: "ccm",
        month: "2026-01",
        code: "99490",
        units: 1,
        minutes: 20,
        outcome: "billable",
        reasons: [],
        charge: 6049,
        serviceDate: "2026-01-31",
      },
    ]);
  });

  it("R23: 65 minutes bill 99490 + 99439 x2 (not x3): two further full 20-minute blocks", () => {
    // Act
    const lines = careLines(decide([CCM(), ...staffMinutes(65)]));

    // Assess: 65 - 20 = 45 further minutes = 2 full blocks of 20; 99439 at 4593 x 2 = 9186.
    expect(lines.map(({ code, units, minutes, charge }) => ({ code, units, minutes, charge }))).toEqual([
      { code: "99490", units: 1, minutes: 65, charge: 6049 },
      { code: "99439", units: 2, minutes: 65, charge: 9186 },
    ]);
  });

  it("R23: 85 minutes would be three further blocks; ccmAddOnMax 2 caps 99439 at 2 units, 3 allows 3", () => {
    // Act
    const capped = careLines(decide([CCM(), ...staffMinutes(85)]));
    const three = careLines(decide([CCM(), ...staffMinutes(85)], tenant({ ccmAddOnMax: 3 })));

    // Assess
    expect(capped.map((l) => [l.code, l.units])).toEqual([
      ["99490", 1],
      ["99439", 2],
    ]);
    expect(three.map((l) => [l.code, l.units])).toEqual([
      ["99490", 1],
      ["99439", 3],
    ]);
  });

  it("R24: a minute counted in a billed digital E/M episode is not counted again for CCM", () => {
    // Prepare: an e-visit (inquiry, dr-adams 12 min, billed 99422) and 15 staff minutes. Without R24 the month
    // would hold 27 minutes (99490); with it, 15 (below-threshold).
    const facts = [
      CCM(),
      inquiry({ id: "q1", at: "2026-01-12T09:00:00-05:00" }),
      activity({
        id: "a1",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 12,
        inResponseTo: "q1",
      }),
      ...staffMinutes(15),
    ];

    // Act
    const episodes = decide(facts);

    // Assess
    const eVisit = episodes.find((e) => e.family === "digital-em");
    expect(eVisit).toMatchObject({ procedureCode: "99422", outcome: "billable" });
    expect(careLines(episodes)).toEqual([
      expect.objectContaining({ code: null, minutes: 15, outcome: "below-threshold" }),
    ]);
    const month = episodes.find((e) => e.family === "ccm");
    expect(month?.evidence.counted).not.toContain("a1");
    expect(month?.evidence.uncounted).toContain("a1");
  });

  it("R24: a clinician's minutes in an e-visit episode that does not bill count toward CCM (digital-em-first)", () => {
    // Prepare: dr-adams replies 4 minutes (e-visit below threshold) and 16 staff minutes: 20 for CCM.
    const facts = [
      CCM(),
      inquiry({ id: "q1", at: "2026-01-12T09:00:00-05:00" }),
      activity({
        id: "a1",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 4,
        inResponseTo: "q1",
      }),
      ...staffMinutes(16),
    ];

    // Act
    const lines = careLines(decide(facts));

    // Assess
    expect(lines.map((l) => [l.code, l.minutes, l.outcome])).toEqual([["99490", 20, "billable"]]);
  });

  it("R24: sharedTime care-management-first gives the billing practitioner's minutes to CCM, not the e-visit", () => {
    // Prepare: as the R24 e-visit test, under care-management-first: dr-adams's 12 minutes go to CCM (27 min).
    const facts = [
      CCM(),
      inquiry({ id: "q1", at: "2026-01-12T09:00:00-05:00" }),
      activity({
        id: "a1",
        at: "2026-01-12T10:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 12,
        inResponseTo: "q1",
      }),
      ...staffMinutes(15),
    ];

    // Act
    const episodes = decide(facts, tenant({ sharedTime: "care-management-first" }));

    // Assess: no e-visit episode holds a1; CCM bills 99490 with 27 minutes.
    expect(episodes.filter((e) => e.family === "digital-em")).toEqual([]);
    expect(careLines(episodes).map((l) => [l.code, l.minutes, l.outcome])).toEqual([
      ["99490", 27, "billable"],
    ]);
  });

  it("R23: 99491 when the practitioner's own time reaches 30 minutes (ccmPreference practitioner), 99490 under clinical-staff", () => {
    // Prepare: dr-adams's time entries marked as CCM's, 35 minutes; 10 staff minutes.
    const facts = [
      CCM(),
      timeEntry({
        id: "t1",
        at: "2026-01-20T15:00:00-05:00",
        practitionerId: "dr-adams",
        minutes: 35,
        countedBy: "chronic-care-management",
      }),
      ...staffMinutes(10),
    ];

    // Act
    const practitioner = careLines(decide(facts));
    const staff = careLines(decide(facts, tenant({ ccmPreference: "clinical-staff" })));

    // Assess: 99491 with the 35 personal minutes (no 99437: 5 further minutes is no full block of 30);
    // under clinical-staff, 99490 with all 45 minutes and 99439 x1 (45 - 20 = 25: one full block).
    expect(practitioner.map((l) => [l.code, l.units, l.minutes])).toEqual([["99491", 1, 35]]);
    expect(staff.map((l) => [l.code, l.units, l.minutes])).toEqual([
      ["99490", 1, 45],
      ["99439", 1, 45],
    ]);
  });

  it("R22: no consent dated by the month's first counted minute, or no care plan: needs review", () => {
    // Prepare
    const late = enrollment({ id: "enr-1", at: "2026-01-01T08:00:00-05:00", consentDate: "2026-01-20" });
    const noPlan = enrollment({ id: "enr-2", at: "2026-01-01T08:00:00-05:00", carePlanDate: undefined });

    // Act
    const consent = careLines(decide([late, ...staffMinutes(30)], tenant({ consent: "required" })));
    const plan = careLines(decide([noPlan, ...staffMinutes(30)]));

    // Assess
    // Assess: 30 minutes is 99490 with no add-on (10 further minutes is no full block).
    expect(consent.map((l) => [l.code, l.outcome, l.reasons])).toEqual([
      ["99490", "needs-review", ["consent-missing"]],
    ]);
    expect(plan.map((l) => [l.code, l.outcome, l.reasons])).toEqual([
      ["99490", "needs-review", ["enrollment-incomplete"]],
    ]);
  });

  it("R22: a patient with no enrollment has no care-management month, whatever the staff time", () => {
    // Act / Assess
    expect(careLines(decide(staffMinutes(60)))).toEqual([]);
  });

  it("R22: CCM and PCM are not billed for the same month: PCM is counted-elsewhere when CCM bills", () => {
    // Prepare: enrolled in both; 40 staff minutes (to CCM, the first program) and a 35-minute PCM time entry.
    const pcm = enrollment({
      id: "enr-pcm",
      at: "2026-01-01T08:00:00-05:00",
      program: "pcm",
      conditions: ["I10"],
    });
    const facts = [
      CCM(),
      pcm,
      ...staffMinutes(40),
      timeEntry({
        id: "t1",
        at: "2026-01-20T15:00:00-05:00",
        practitionerId: "rn-diaz",
        minutes: 35,
        countedBy: "principal-care-management",
      }),
    ];

    // Act
    const lines = careLines(decide(facts));

    // Assess
    expect(lines.map((l) => [l.family, l.code, l.outcome]).sort()).toEqual([
      ["ccm", "99439", "billable"],
      ["ccm", "99490", "billable"],
      ["pcm", "99426", "counted-elsewhere"],
    ]);
  });

  it("R23: careManagementDateOfService threshold-met dates the line on the day the 20th minute was reached", () => {
    // Act: 10 minutes on 01-05, 10 on 01-06, 10 on 01-07.
    const lines = careLines(
      decide([CCM(), ...staffMinutes(30)], tenant({ careManagementDateOfService: "threshold-met" })),
    );

    // Assess
    expect(lines.map((l) => l.serviceDate)).toEqual(["2026-01-06"]);
  });

  it("R19: do-not-bill on a care-management month stops its line", () => {
    // Prepare: first decide to learn the month's episode id.
    const facts = [CCM(), ...staffMinutes(25)];
    const month = decide(facts).find((e) => e.family === "ccm") as Episode;
    const dnb = attestation({
      id: "att-1",
      at: "2026-02-05T09:00:00-05:00",
      episodeId: month.episodeId,
      resolution: { action: "do-not-bill", reason: "patient declined the program this month" },
    });

    // Act
    const lines = careLines(decide([...facts, dnb]));

    // Assess
    expect(lines.map((l) => [l.outcome, l.code])).toEqual([["do-not-bill", "99490"]]);
  });
});
