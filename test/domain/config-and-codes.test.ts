import { describe, expect, it } from "vitest";
import {
  type CodeRow,
  codeTable,
  credentialRole,
  eVisitFamilies,
  familyHasTimedCodes,
  timedCodeFor,
} from "../../functions/domain/code-table.js";
import { defaultFeeSchedule, feesOn, parseTenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes } from "../../functions/domain/engine.js";
import { ConfigurationError } from "../../functions/domain/errors.js";
import { credentials } from "../../functions/domain/facts.js";
import { activity, inquiry, roster } from "../support/domain-builders.js";

/** Tenant configuration (DOMAIN.md "Policies") and the code table (DOMAIN.md "Code families"). */

const rosterInput = () => roster.map((entry) => ({ ...entry }));

/** Runs `parseTenantConfig` and returns the ConfigurationError it throws (fails the test if none). */
function configError(input: unknown): ConfigurationError {
  try {
    parseTenantConfig(input);
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigurationError);
    return error as ConfigurationError;
  }
  throw new Error("expected parseTenantConfig to throw");
}

describe("tenant configuration", () => {
  it("policies: only the timezone is required; every other policy has the DOMAIN.md default", () => {
    // Act
    const config = parseTenantConfig({ timezone: "America/Chicago" });

    // Assess
    expect(config).toEqual({
      timezone: "America/Chicago",
      windowStart: "first-clinician-activity",
      windowMode: "calendar-days",
      laterVisit: "any-visit",
      consent: "required",
      consentValidityDays: 365,
      establishedPatient: "assume",
      dateOfService: "last-activity",
      renderingProvider: "most-minutes",
      settleHours: 48,
      placeOfService: "11",
      inquiryLookbackDays: 7,
      priorEVisit: "needs-review",
      imageReview: "off",
      ccmAddOnMax: 2,
      ccmPreference: "practitioner",
      careManagementDateOfService: "month-end",
      sharedTime: "digital-em-first",
      roster: [],
      feeSchedules: [],
    });
  });

  it("policies: every non-default choice of DOMAIN.md is accepted as given", () => {
    // Prepare
    const input = {
      timezone: "Europe/Berlin",
      windowStart: "inquiry-sent",
      windowMode: "rolling-168h",
      laterVisit: "same-problem",
      consent: "not-tracked",
      consentValidityDays: 180,
      establishedPatient: "require-known-visit",
      dateOfService: "window-end",
      renderingProvider: "first-activity",
      settleHours: 72,
      placeOfService: "22",
      inquiryLookbackDays: 14,
    };

    // Act
    const config = parseTenantConfig(input);

    // Assess
    expect(config).toMatchObject(input);
  });

  it("roster: an entry without a group is in the default billing group; name and group are kept", () => {
    // Act
    const config = parseTenantConfig({
      timezone: "America/New_York",
      roster: [
        { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" },
        {
          practitionerId: "np-baker",
          npi: "1003000134",
          credential: "NP",
          name: "Baker",
          group: "cardiology",
        },
      ],
    });

    // Assess
    expect(config.roster).toEqual([
      { practitionerId: "dr-adams", npi: "1003000126", credential: "MD", group: "default" },
      { practitionerId: "np-baker", npi: "1003000134", credential: "NP", name: "Baker", group: "cardiology" },
    ]);
  });

  it("roster: the CMS example NPI 1234567893 passes the Luhn check over the 80840 prefix", () => {
    // Act
    const config = parseTenantConfig({
      timezone: "America/New_York",
      roster: [{ practitionerId: "x", npi: "1234567893", credential: "PA" }],
    });

    // Assess
    expect(config.roster[0]?.npi).toBe("1234567893");
  });

  it("R18: fee schedules: the default (2025) before the practice's first, then each from its date on", () => {
    // Act
    const config = parseTenantConfig({
      timezone: "America/New_York",
      feeSchedules: [
        { effectiveFrom: "2027-01-01", fees: { "99421": 1500, "99422": 2900 } },
        { effectiveFrom: "2026-01-01", fees: { "99421": 2000, "98972": 0, G2252: 1500 } },
      ],
    });

    // Assess: sorted; each replaces the default whole from its date (a code it lacks has no fee then).
    expect(config.feeSchedules.map((schedule) => schedule.effectiveFrom)).toEqual([
      "2026-01-01",
      "2027-01-01",
    ]);
    expect(feesOn(config, "2025-12-31")).toEqual(defaultFeeSchedule);
    expect(feesOn(config, "2026-01-01")).toEqual({ "99421": 2000, "98972": 0, G2252: 1500 });
    expect(feesOn(config, "2026-12-31")["99422"]).toBeUndefined();
    expect(feesOn(config, "2027-06-01")).toEqual({ "99421": 1500, "99422": 2900 });
    expect(defaultFeeSchedule["99421"]).toBe(1456);
    // DOMAIN.md's table for the other families (issue "More code families"); none given for 99447-99449.
    expect(defaultFeeSchedule).toMatchObject({
      G2010: 1197,
      G2250: 1197,
      "99490": 6049,
      "99439": 4593,
      "99491": 8216,
      "99437": 5758,
      "99487": 13165,
      "99489": 7052,
      "99424": 8087,
      "99425": 5887,
      "99426": 6178,
      "99427": 5046,
      "99446": 1714,
      "99451": 3299,
      "99452": 3364,
    });
    for (const code of ["99447", "99448", "99449"]) expect(defaultFeeSchedule[code]).toBeUndefined();
  });

  it("R18: two fee schedules taking effect on the same date are refused", () => {
    const error = configError({
      timezone: "America/New_York",
      feeSchedules: [
        { effectiveFrom: "2026-01-01", fees: { "99421": 2000 } },
        { effectiveFrom: "2026-01-01", fees: { "99421": 2100 } },
      ],
    });
    expect(error.field).toBe("feeSchedules");
  });

  it("R18: a practitioner's roster entries may follow each other, never overlap; effectiveTo after effectiveFrom", () => {
    const entry = { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" };
    expect(() =>
      parseTenantConfig({
        timezone: "America/New_York",
        roster: [
          { ...entry, credential: "NP", effectiveTo: "2025-12-31" },
          { ...entry, effectiveFrom: "2026-01-01" },
        ],
      }),
    ).not.toThrow();
    const overlap = configError({
      timezone: "America/New_York",
      roster: [
        { ...entry, effectiveTo: "2026-01-01" },
        { ...entry, effectiveFrom: "2026-01-01" },
      ],
    });
    expect(overlap.field).toBe("roster.1.practitionerId");
    const backwards = configError({
      timezone: "America/New_York",
      roster: [{ ...entry, effectiveFrom: "2026-02-01", effectiveTo: "2026-01-01" }],
    });
    expect(backwards.field).toBe("roster.0.effectiveTo");
  });

  it("fee schedule: the engine charges the tenant's fee for the chosen code", () => {
    // Prepare: 8 minutes by Dr Adams -> 99421, which the tenant prices at 2000 cents.
    const config = parseTenantConfig({
      timezone: "America/New_York",
      consent: "not-tracked",
      roster: rosterInput(),
      feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { "99421": 2000 } }],
    });
    const facts = [
      inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00" }),
      activity({ id: "a1", at: "2026-03-16T10:00:00-04:00", practitionerId: "dr-adams", minutes: 8 }),
    ];

    // Act
    const { owed } = decideEpisodes(facts, config, "2026-04-01T00:00:00-04:00");

    // Assess
    expect(owed).toHaveLength(1);
    expect(owed[0]?.procedureCode).toBe("99421");
    expect(owed[0]?.chargeCents).toBe(2000);
  });

  it.each([
    { label: "a missing timezone", overrides: { timezone: undefined }, field: "timezone" },
    { label: "timezone Mars/Olympus", overrides: { timezone: "Mars/Olympus" }, field: "timezone" },
    { label: "an unknown windowMode", overrides: { windowMode: "weekly" }, field: "windowMode" },
    { label: "an unknown windowStart", overrides: { windowStart: "first-reply" }, field: "windowStart" },
    { label: "an unknown laterVisit", overrides: { laterVisit: "never" }, field: "laterVisit" },
    { label: "an unknown consent policy", overrides: { consent: "optional" }, field: "consent" },
    { label: "consentValidityDays 0", overrides: { consentValidityDays: 0 }, field: "consentValidityDays" },
    {
      label: "an unknown establishedPatient",
      overrides: { establishedPatient: "verify" },
      field: "establishedPatient",
    },
    {
      label: "an unknown dateOfService",
      overrides: { dateOfService: "inquiry-date" },
      field: "dateOfService",
    },
    {
      label: "an unknown renderingProvider",
      overrides: { renderingProvider: "random" },
      field: "renderingProvider",
    },
    { label: "negative settleHours", overrides: { settleHours: -1 }, field: "settleHours" },
    { label: "fractional settleHours", overrides: { settleHours: 1.5 }, field: "settleHours" },
    { label: "inquiryLookbackDays 32", overrides: { inquiryLookbackDays: 32 }, field: "inquiryLookbackDays" },
    {
      label: "a negative fee",
      overrides: { feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { "99421": -1 } }] },
      field: "feeSchedules.0.fees.99421",
    },
  ])("config: $label fails fast naming $field", ({ overrides, field }) => {
    // Act
    const error = configError({ timezone: "America/New_York", ...overrides });

    // Assess
    expect(error.field).toBe(field);
    expect(error.message).toContain(field);
    expect(error.retryable).toBe(false);
    expect(error.name).toBe("ConfigurationError");
  });

  it("config: a fee schedule key that is not a 5-character procedure code is rejected under feeSchedules", () => {
    // Act
    const error = configError({
      timezone: "America/New_York",
      feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { "9942": 100 } }],
    });

    // Assess
    expect(error.field.startsWith("feeSchedules.0.fees")).toBe(true);
  });

  it("config: a roster NPI with a bad check digit fails naming roster.<index>.npi", () => {
    // Prepare: 1003000126 is valid; changing its check digit to 7 breaks the Luhn sum.
    const input = {
      timezone: "America/New_York",
      roster: [
        { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" },
        { practitionerId: "np-baker", npi: "1003000127", credential: "NP" },
      ],
    };

    // Act
    const error = configError(input);

    // Assess
    expect(error.field).toBe("roster.1.npi");
    expect(error.reason).toBe("NPI check digit does not match");
  });

  it("config: a roster NPI that is not 10 digits fails naming roster.<index>.npi", () => {
    // Act
    const error = configError({
      timezone: "America/New_York",
      roster: [{ practitionerId: "dr-adams", npi: "100300012", credential: "MD" }],
    });

    // Assess
    expect(error.field).toBe("roster.0.npi");
  });

  it("config: a credential outside the DOMAIN.md list fails naming roster.<index>.credential", () => {
    // Act
    const error = configError({
      timezone: "America/New_York",
      roster: [{ practitionerId: "dds-1", npi: "1003000126", credential: "DDS" }],
    });

    // Assess
    expect(error.field).toBe("roster.0.credential");
  });

  it("config: a practitionerId listed twice with no dates (both always in force) fails naming the second entry", () => {
    // Act
    const error = configError({
      timezone: "America/New_York",
      roster: [
        { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" },
        { practitionerId: "np-baker", npi: "1003000134", credential: "NP" },
        { practitionerId: "dr-adams", npi: "1003000167", credential: "DO" },
      ],
    });

    // Assess
    expect(error.field).toBe("roster.2.practitionerId");
    expect(error.reason).toBe("practitionerId has another roster entry in force on some of the same days");
  });

  it("config: something that is not an object fails at the root", () => {
    // Act
    const error = configError(null);

    // Assess
    expect(error.field).toBe("(root)");
  });
});

describe("code table", () => {
  const row = (code: string): CodeRow => {
    const found = codeTable.find((candidate) => candidate.code === code);
    if (found === undefined) throw new Error(`no row for ${code}`);
    return found;
  };
  const everyTier = (serviceDate: string) =>
    eVisitFamilies.flatMap((family) =>
      Array.from({ length: 61 }, (_, minutes) => timedCodeFor(family, minutes, serviceDate)?.code),
    );
  const sampleDates = [
    "2019-06-15",
    "2019-12-31",
    "2020-01-01",
    "2020-06-15",
    "2020-12-31",
    "2021-01-01",
    "2024-12-31",
    "2025-01-01",
    "2026-03-16",
    "2030-01-01",
  ];

  it("code table: 99444 and 98969 were deleted at the end of 2019 and are untimed", () => {
    // Assess
    expect(row("99444")).toMatchObject({ family: "digital-em", effectiveTo: "2019-12-31" });
    expect(row("98969")).toMatchObject({ family: "digital-assessment", effectiveTo: "2019-12-31" });
    expect(row("99444").minMinutes).toBeUndefined();
    expect(row("98969").minMinutes).toBeUndefined();
  });

  it("code table: no family has a timed code before 2020-01-01, both have one from 2020-01-01", () => {
    // Act / Assess
    for (const family of eVisitFamilies) {
      expect(familyHasTimedCodes(family, "2019-12-31")).toBe(false);
      expect(familyHasTimedCodes(family, "2020-01-01")).toBe(true);
      expect(familyHasTimedCodes(family, "2026-03-16")).toBe(true);
    }
    expect(everyTier("2019-12-31").every((code) => code === undefined)).toBe(true);
  });

  it("code table: G2061-G2063 are Medicare-only rows for 2020 and are never chosen", () => {
    // Assess
    for (const code of ["G2061", "G2062", "G2063"]) {
      expect(row(code)).toMatchObject({
        payer: "medicare",
        family: "digital-assessment",
        effectiveFrom: "2020-01-01",
        effectiveTo: "2020-12-31",
      });
    }
    for (const date of sampleDates) {
      expect(everyTier(date).filter((code) => code?.startsWith("G206"))).toEqual([]);
    }
    expect(timedCodeFor("digital-assessment", 8, "2020-06-15")?.code).toBe("98970");
    expect(timedCodeFor("digital-assessment", 15, "2020-06-15")?.code).toBe("98971");
    expect(timedCodeFor("digital-assessment", 30, "2020-06-15")?.code).toBe("98972");
  });

  it("code table: virtual check-ins (G2012 to 2024, then 98016; G2252) are carried but never chosen", () => {
    // Assess
    expect(row("G2012")).toMatchObject({ family: "virtual-check-in", effectiveTo: "2024-12-31" });
    expect(row("98016")).toMatchObject({ family: "virtual-check-in", effectiveFrom: "2025-01-01" });
    expect(row("G2252")).toMatchObject({ family: "virtual-check-in" });
    for (const date of sampleDates) {
      expect(everyTier(date).filter((code) => ["G2012", "98016", "G2252"].includes(code ?? ""))).toEqual([]);
    }
  });

  it("code table: a virtual check-in row is never chosen even if the data gave it minutes", () => {
    // Prepare
    const table: CodeRow[] = [
      {
        code: "G2012",
        family: "virtual-check-in",
        minMinutes: 5,
        maxMinutes: 10,
        effectiveFrom: "2019-01-01",
        payer: "all",
        description: "mis-entered row",
      },
    ];

    // Act / Assess
    expect(timedCodeFor("digital-em", 8, "2021-01-01", table)).toBeUndefined();
    expect(familyHasTimedCodes("digital-em", "2021-01-01", table)).toBe(false);
  });

  it.each([
    ["digital-em", 0, undefined],
    ["digital-em", 4, undefined],
    ["digital-em", 5, "99421"],
    ["digital-em", 10, "99421"],
    ["digital-em", 11, "99422"],
    ["digital-em", 20, "99422"],
    ["digital-em", 21, "99423"],
    ["digital-em", 600, "99423"],
    ["digital-assessment", 4, undefined],
    ["digital-assessment", 5, "98970"],
    ["digital-assessment", 10, "98970"],
    ["digital-assessment", 11, "98971"],
    ["digital-assessment", 20, "98971"],
    ["digital-assessment", 21, "98972"],
  ] as const)("code table: %s with %i minutes on 2026-03-16 is %s", (family, minutes, code) => {
    // Act
    const found = timedCodeFor(family, minutes, "2026-03-16");

    // Assess
    expect(found?.code).toBe(code);
  });

  it("code table: a new CPT year is a data change (a row ending one code and starting another)", () => {
    // Prepare: a hypothetical table where 99421 ends in 2026 and a successor starts in 2027.
    const table: CodeRow[] = [
      { ...row("99421"), effectiveTo: "2026-12-31" },
      { ...row("99421"), code: "99X21", effectiveFrom: "2027-01-01" },
    ];

    // Act / Assess
    expect(timedCodeFor("digital-em", 8, "2026-12-31", table)?.code).toBe("99421");
    expect(timedCodeFor("digital-em", 8, "2027-01-01", table)?.code).toBe("99X21");
  });

  it("code table: credentials map to their family, clinical staff never count (R4)", () => {
    // Assess
    const byRole = (role: string) => credentials.filter((credential) => credentialRole[credential] === role);
    expect(byRole("digital-em")).toEqual(["MD", "DO", "NP", "PA", "CNS", "CNM"]);
    expect(byRole("digital-assessment")).toEqual(["PT", "OT", "SLP", "LCSW", "PSYD", "RD", "LPC", "LMFT"]);
    expect(byRole("staff")).toEqual(["RN", "LPN", "MA", "STAFF"]);
  });
});
