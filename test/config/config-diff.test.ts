import { describe, expect, it } from "vitest";
import { diffConfigs } from "../../bin/config/config-diff.js";
import { diffReport } from "../../bin/config/diff-report.js";
import {
  defaultFeeSchedule as defaultFees,
  parseTenantConfig,
  type TenantConfigInput,
} from "../../functions/domain/config.js";
import { feeRedecisions, rosterRedecisions } from "../../functions/domain/config-changes.js";

const adams = { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" } as const;
const baker = { practitionerId: "dr-baker", npi: "1003000134", credential: "NP" } as const;
const chen = { practitionerId: "dr-chen", npi: "1003000142", credential: "PA" } as const;

const config = (overrides: Partial<TenantConfigInput> = {}) =>
  parseTenantConfig({ timezone: "America/New_York", ...overrides });

describe("config diff: what changes", () => {
  it("lists the policies that change, old -> new", () => {
    // Act
    const diff = diffConfigs(config(), config({ settleHours: 72, windowMode: "rolling-168h" }));

    // Assess
    expect(diff.policies).toEqual([
      { policy: "windowMode", before: "calendar-days", after: "rolling-168h" },
      { policy: "settleHours", before: 48, after: 72 },
    ]);
  });

  it("lists roster entries added, removed and changed, matched by practitionerId and dates", () => {
    // Prepare
    const before = config({ roster: [adams, baker, { ...chen, name: "Chen" }] });
    const after = config({
      roster: [
        { ...adams, effectiveTo: "2026-12-31" },
        { ...adams, npi: "1003000159", credential: "NP", effectiveFrom: "2027-01-01" },
        { ...chen, name: "Chen, Li" },
        { practitionerId: "dr-new", npi: "1003000167", credential: "DO", effectiveFrom: "2026-11-01" },
      ],
    });

    // Act
    const { changes } = diffReport(before, after);

    // Assess
    expect(changes).toEqual([
      "roster entry changed: dr-adams on any date: effectiveTo (none) -> 2026-12-31",
      "roster entry added: dr-adams from 2027-01-01 on (NP, NPI 1003000159, group default)",
      "roster entry removed: dr-baker on any date (NP, NPI 1003000134, group default)",
      "roster entry changed: dr-chen on any date: name Chen -> Chen, Li",
      "roster entry added: dr-new from 2026-11-01 on (DO, NPI 1003000167, group default)",
    ]);
  });

  it("lists fee schedules added, removed and changed, by effectiveFrom and code", () => {
    // Prepare
    const before = config({
      feeSchedules: [
        { effectiveFrom: "2025-01-01", fees: { "99421": 1456 } },
        { effectiveFrom: "2026-01-01", fees: { "99421": 1500, "99422": 2900, "98970": 1132 } },
      ],
    });
    const after = config({
      feeSchedules: [
        { effectiveFrom: "2026-01-01", fees: { "99421": 1510, "99422": 2900, "99423": 4600 } },
        { effectiveFrom: "2027-01-01", fees: { "99421": 1600, "99422": 3000 } },
      ],
    });

    // Act
    const { changes } = diffReport(before, after);

    // Assess
    expect(changes).toEqual([
      "fee schedule from 2025-01-01 removed: 1 code",
      "fee schedule from 2026-01-01 changed: 98970 removed (was 1132), 99421 1500 -> 1510, 99423 added 4600",
      "fee schedule from 2027-01-01 added: 2 codes",
    ]);
  });

  it("finds nothing between a file and the same configuration with its defaults written out", () => {
    // Act
    const report = diffReport(
      config({ roster: [adams] }),
      config({ roster: [{ ...adams, group: "default" }] }),
    );

    // Assess
    expect(report).toEqual({ changes: [], redecided: [] });
  });
});

describe("config diff: the dates a push decides again (R18)", () => {
  it("R18: a clinician added with dates: their time on those dates is decided again", () => {
    // Act
    const redecided = rosterRedecisions(
      config({ roster: [adams] }),
      config({
        roster: [adams, { ...baker, effectiveFrom: "2026-11-01", effectiveTo: "2026-12-31" }],
      }),
    );

    // Assess
    expect(redecided).toEqual([
      { practitionerId: "dr-baker", range: { from: "2026-11-01", to: "2026-12-31" }, kind: "newly-in-force" },
    ]);
  });

  it("R18: an entry's dates extended: the added days on each side, the finalizer's newlyInForce", () => {
    // Act
    const redecided = rosterRedecisions(
      config({ roster: [{ ...chen, effectiveFrom: "2026-03-10", effectiveTo: "2026-03-20" }] }),
      config({ roster: [{ ...chen, effectiveFrom: "2026-03-01", effectiveTo: "2026-03-31" }] }),
    );

    // Assess
    expect(redecided).toEqual([
      { practitionerId: "dr-chen", range: { from: "2026-03-01", to: "2026-03-09" }, kind: "newly-in-force" },
      { practitionerId: "dr-chen", range: { from: "2026-03-21", to: "2026-03-31" }, kind: "newly-in-force" },
    ]);
  });

  it("R18: a credential or NPI change from a date reaches only the dates from then on; a new name none", () => {
    // Act
    const redecided = rosterRedecisions(
      config({ roster: [adams, { ...baker, name: "Baker" }] }),
      config({
        roster: [
          { ...adams, effectiveTo: "2026-12-31" },
          { ...adams, npi: "1003000159", credential: "NP", effectiveFrom: "2027-01-01" },
          { ...baker, name: "Dr Baker" },
        ],
      }),
    );

    // Assess
    expect(redecided).toEqual([
      {
        practitionerId: "dr-adams",
        range: { from: "2027-01-01" },
        kind: "entry-changed",
        fields: [
          { field: "credential", before: "MD", after: "NP" },
          { field: "npi", before: "1003000126", after: "1003000159" },
        ],
      },
    ]);
  });

  it("R18: an entry ended early leaves its practitioner without one after the end; an entry removed, always", () => {
    // Act
    const redecided = rosterRedecisions(
      config({ roster: [adams, baker] }),
      config({ roster: [{ ...adams, effectiveTo: "2026-06-30" }] }),
    );

    // Assess
    expect(redecided).toEqual([
      { practitionerId: "dr-adams", range: { from: "2026-07-01" }, kind: "no-longer-in-force" },
      { practitionerId: "dr-baker", range: {}, kind: "no-longer-in-force" },
    ]);
  });

  it("R18: pieces with the same difference join; a gap between entries splits them", () => {
    // Act: dr-chen gets three dated entries where there were none; the middle and last touch, the first not.
    const redecided = rosterRedecisions(
      config(),
      config({
        roster: [
          { ...chen, effectiveFrom: "2026-01-01", effectiveTo: "2026-01-31" },
          { ...chen, effectiveFrom: "2026-03-01", effectiveTo: "2026-03-31" },
          { ...chen, npi: "1003000175", effectiveFrom: "2026-04-01", effectiveTo: "2026-04-30" },
        ],
      }),
    );

    // Assess
    expect(redecided.map(({ range }) => range)).toEqual([
      { from: "2026-01-01", to: "2026-01-31" },
      { from: "2026-03-01", to: "2026-04-30" },
    ]);
  });

  it("R18: fees reach the dates of service from the changed schedule to the next one, code by code", () => {
    // Act
    const redecided = feeRedecisions(
      config({ feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { "99421": 1500 } }] }),
      config({
        feeSchedules: [
          { effectiveFrom: "2026-01-01", fees: { "99421": 1500, "99422": 2900 } },
          { effectiveFrom: "2027-01-01", fees: { "99421": 1600, "99422": 2900 } },
        ],
      }),
    );

    // Assess
    expect(redecided).toEqual([
      { range: { from: "2026-01-01", to: "2026-12-31" }, codes: ["99422"], unpriced: [] },
      { range: { from: "2027-01-01" }, codes: ["99421", "99422"], unpriced: [] },
    ]);
  });

  it("R18: a schedule that leaves a code out takes its fee away from its date on (fee-missing)", () => {
    // Act
    const { redecided } = diffReport(
      config({ feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { "99421": 1500, "99422": 2900 } }] }),
      config({
        feeSchedules: [
          { effectiveFrom: "2026-01-01", fees: { "99421": 1500, "99422": 2900 } },
          { effectiveFrom: "2026-07-01", fees: { "99421": 1500 } },
        ],
      }),
    );

    // Assess
    expect(redecided).toEqual([
      "fees of 99422 differ for dates of service from 2026-07-01 on; 99422 has no fee then (needs-review, fee-missing)",
      "lines with dates of service from 2026-07-01 on (within the adjustment horizon) will be decided again (R18)",
    ]);
  });

  it("R18: a schedule equal to the shipped default it replaces decides nothing again", () => {
    // Act
    const redecided = feeRedecisions(
      config(),
      config({ feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { ...defaultFees } }] }),
    );

    // Assess
    expect(redecided).toEqual([]);
  });

  it("says which dates, in words, and the first date of service a line may be adjusted from", () => {
    // Prepare
    const before = config({
      roster: [adams],
      feeSchedules: [{ effectiveFrom: "2026-01-01", fees: defaultFees }],
    });
    const after = config({
      roster: [adams, { ...baker, effectiveFrom: "2026-11-01", effectiveTo: "2026-12-31" }],
      feeSchedules: [
        { effectiveFrom: "2026-01-01", fees: defaultFees },
        { effectiveFrom: "2027-01-01", fees: { ...defaultFees, "99421": 1600 } },
      ],
    });

    // Act
    const { redecided } = diffReport(before, after);

    // Assess
    expect(redecided).toEqual([
      "time of dr-baker from 2026-11-01 to 2026-12-31 that was unattributed or unknown-clinician will be decided again",
      "fees of 99421 differ for dates of service from 2027-01-01 on",
      "lines with dates of service from 2026-11-01 on (within the adjustment horizon) will be decided again (R18)",
    ]);
  });

  it("R15: with the date of service at the window start, a line may start up to 6 days before the time", () => {
    // Prepare
    const policies = { dateOfService: "window-start" } as const;

    // Act
    const { redecided } = diffReport(
      config({ ...policies, roster: [adams] }),
      config({ ...policies, roster: [{ ...adams, npi: "1003000159", effectiveFrom: "2026-11-01" }] }),
    );

    // Assess
    expect(redecided).toEqual([
      "time of dr-adams up to 2026-10-31 has no roster entry any more (unknown clinician, unless its payload " +
        "states a qualification): its patients will be decided again",
      "time of dr-adams from 2026-11-01 on counts with npi 1003000126 -> 1003000159: its patients will be decided again",
      "lines with any date of service within the adjustment horizon will be decided again (R18)",
    ]);
  });

  it("R15: a changed entry dated from a day under window-start dates of service reaches 6 days earlier", () => {
    // Prepare
    const policies = { dateOfService: "window-start" } as const;

    // Act
    const { redecided } = diffReport(
      config({ ...policies, roster: [{ ...adams, effectiveTo: "2026-10-31" }] }),
      config({ ...policies, roster: [adams] }),
    );

    // Assess
    expect(redecided.at(-1)).toBe(
      "lines with dates of service from 2026-10-26 on (within the adjustment horizon) will be decided again (R18)",
    );
  });

  it("policies are not dated: says so, and that no roster entry or fee in force changes", () => {
    // Act
    const { changes, redecided } = diffReport(config(), config({ consent: "not-tracked" }));

    // Assess
    expect(changes).toEqual(["policy consent: required -> not-tracked"]);
    expect(redecided).toEqual([
      "no roster entry or fee in force changes on any date: no line is decided again for them (R18)",
      "policies are not dated: a changed policy applies to what is decided from the push on; a line already " +
        "sent changes with it only when its patient is decided again (R16)",
    ]);
  });
});
