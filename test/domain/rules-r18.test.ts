import { describe, expect, it } from "vitest";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { parseTenantConfig, type TenantConfigInput } from "../../functions/domain/config.js";
import { newlyInForce } from "../../functions/domain/config-changes.js";
import { decideEpisodes } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import { activity, inquiry, roster } from "../support/domain-builders.js";

/**
 * R18 configuration in force: roster entries and fee schedules are dated, so a new version of the configuration
 * changes a line already sent only when its dates cover that line. Each case decides a March episode with one
 * version, sends its line, then decides again with the next version, as the finalizer would after a push.
 * Expected lines are worked out from DOMAIN.md: 8 minutes is 99421, 12 minutes 99422 (R6), the date of
 * service is the last activity's local date (R15), the charge is the fee in force on that date.
 */

const AS_OF = "2026-06-01T00:00:00-04:00";
const base: TenantConfigInput = {
  timezone: "America/New_York",
  consent: "not-tracked",
  roster: roster.map((entry) => ({ ...entry })),
};
const version = (overrides: Partial<TenantConfigInput>) => parseTenantConfig({ ...base, ...overrides });

/** An inquiry and one reply of `minutes` by `practitionerId` on a day of 2026 (New York). */
const episodeOn = (patientId: string, day: string, practitionerId: string, minutes: number): Fact[] => [
  inquiry({ id: `${patientId}-q-${day}`, patientId, at: `${day}T09:00:00-04:00` }),
  activity({
    id: `${patientId}-a-${day}`,
    patientId,
    at: `${day}T10:00:00-04:00`,
    practitionerId,
    minutes,
    inResponseTo: `${patientId}-q-${day}`,
  }),
];

const billed = (lines: readonly ClaimLine[]) =>
  lines.map(
    (line) =>
      `${line.action} r${line.revision} ${line.procedureCode} ${line.serviceDate} ${line.chargeCents}`,
  );

describe("R18 configuration in force", () => {
  it("R18: a new fee schedule prices new dates of service and reprices nothing already sent", () => {
    // Prepare: a March line at the default 2025 price (99421: 1456), then a schedule from 1 April (99421: 1600).
    const march = episodeOn("fees", "2026-03-16", "dr-adams", 8);
    const v1 = version({});
    const sent = decideEpisodes(march, v1, AS_OF).owed;
    const v2 = version({
      feeSchedules: [{ effectiveFrom: "2026-04-01", fees: { "99421": 1600, "99422": 3000 } }],
    });

    // Act: decided again with v2, and an April episode with v2.
    const again = decideEpisodes(march, v2, AS_OF, sent);
    const april = decideEpisodes(
      [...march, ...episodeOn("fees", "2026-04-13", "dr-adams", 8)],
      v2,
      AS_OF,
      sent,
    );

    // Assess
    expect(billed(sent)).toEqual(["original r0 99421 2026-03-16 1456"]);
    expect(again.owed).toEqual([]);
    expect(billed(april.owed)).toEqual(["original r0 99421 2026-04-13 1600"]);
  });

  it("R18: a clinician whose roster entry ends keeps the lines of their earlier work; later work is unknown", () => {
    // Prepare: Dr Evans (DO) bills in March; the next version ends the entry on 31 March.
    const march = episodeOn("left", "2026-03-16", "dr-evans", 12);
    const sent = decideEpisodes(march, version({}), AS_OF).owed;
    const v2 = version({
      roster: base.roster?.map((entry) =>
        entry.practitionerId === "dr-evans" ? { ...entry, effectiveTo: "2026-03-31" } : entry,
      ),
    });

    // Act
    const again = decideEpisodes(
      [...march, ...episodeOn("left", "2026-04-13", "dr-evans", 12)],
      v2,
      AS_OF,
      sent,
    );

    // Assess: the March line stands; April's time is by a clinician the roster no longer holds (R4).
    expect(billed(sent)).toEqual(["original r0 99422 2026-03-16 2846"]);
    expect(again.owed).toEqual([]);
    const april = again.episodes.find((episode) => episode.windowStart.startsWith("2026-04-13"));
    expect(april).toBeUndefined();
    expect(again.unattributed).toEqual([
      { factId: "left-a-2026-04-13", patientId: "left", reason: "unknown-clinician" },
    ]);
  });

  it("R18: a clinician added with dates covering earlier unattributed time gets that time decided and billed", () => {
    // Prepare: a locum's 12 minutes in March, before the roster knew them: time no episode could count.
    const locum = {
      practitionerId: "dr-locum",
      npi: "1003000183",
      credential: "MD" as const,
      name: "Synthetic Locum",
    };
    const march = episodeOn("locum", "2026-03-16", "dr-locum", 12);
    const before = decideEpisodes(march, version({}), AS_OF);
    const v2 = version({ roster: [...(base.roster ?? []), { ...locum, effectiveFrom: "2026-03-01" }] });

    // Act
    const after = decideEpisodes(march, v2, AS_OF, before.owed);

    // Assess
    expect(before.owed).toEqual([]);
    expect(before.unattributed).toEqual([
      { factId: "locum-a-2026-03-16", patientId: "locum", reason: "unknown-clinician" },
    ]);
    expect(billed(after.owed)).toEqual(["original r0 99422 2026-03-16 2846"]);
    expect(after.owed[0]?.renderingProviderNpi).toBe("1003000183");
    // Dated from 1 April instead, the entry would not cover the March work.
    const tooLate = version({ roster: [...(base.roster ?? []), { ...locum, effectiveFrom: "2026-04-01" }] });
    expect(decideEpisodes(march, tooLate, AS_OF).owed).toEqual([]);
  });

  it("R18: a correction dated back (a fee and an NPI) replaces the lines it covers, and only those", () => {
    // Prepare: lines in February and March; then a fee schedule from 1 March (99422: 3000) and Dr Adams's NPI
    // corrected from 1 March.
    const facts = [
      ...episodeOn("back", "2026-02-16", "dr-adams", 12),
      ...episodeOn("back", "2026-03-16", "dr-adams", 12),
    ];
    const sent = decideEpisodes(facts, version({}), AS_OF).owed;
    const adams = roster[0];
    const v2 = version({
      feeSchedules: [{ effectiveFrom: "2026-03-01", fees: { "99421": 1456, "99422": 3000, "99423": 4496 } }],
      roster: [
        { ...adams, effectiveTo: "2026-02-28" },
        { ...adams, npi: "1003000191", effectiveFrom: "2026-03-01" },
        ...roster.slice(1).map((entry) => ({ ...entry })),
      ],
    });

    // Act
    const again = decideEpisodes(facts, v2, AS_OF, sent);

    // Assess: February stands; March is replaced with the new charge and NPI.
    expect(billed(sent)).toEqual(["original r0 99422 2026-02-16 2846", "original r0 99422 2026-03-16 2846"]);
    expect(billed(again.owed)).toEqual(["replacement r1 99422 2026-03-16 3000"]);
    expect(again.owed[0]).toMatchObject({ renderingProviderNpi: "1003000191", adjusts: 0 });
  });

  it("R18: a line whose code has no fee in force on its date of service is needs-review, fee-missing", () => {
    // Prepare: the practice's schedule from 1 March prices 99422 only.
    const march = episodeOn("nofee", "2026-03-16", "dr-adams", 8);
    const v = version({ feeSchedules: [{ effectiveFrom: "2026-03-01", fees: { "99422": 2846 } }] });

    // Act
    const { episodes, owed } = decideEpisodes(march, v, AS_OF);

    // Assess
    expect(owed).toEqual([]);
    expect(episodes[0]).toMatchObject({
      outcome: "needs-review",
      reasons: ["fee-missing"],
      procedureCode: "99421",
    });
  });
});

describe("R18: what a new version puts in force", () => {
  const entry = { practitionerId: "dr-locum", npi: "1003000183", credential: "MD" as const };

  it("R18: a clinician added, or dates extended, is newly in force on exactly the added dates", () => {
    // Prepare
    const v1 = version({ roster: [{ ...entry, effectiveFrom: "2026-03-10", effectiveTo: "2026-03-20" }] });
    const extended = version({
      roster: [{ ...entry, effectiveFrom: "2026-03-01", effectiveTo: "2026-03-31" }],
    });
    const unchanged = version({
      roster: [{ ...entry, effectiveFrom: "2026-03-10", effectiveTo: "2026-03-20" }],
    });

    // Act / Assess
    expect(newlyInForce(version({ roster: [] }), v1)).toEqual([
      { practitionerId: "dr-locum", from: "2026-03-10", to: "2026-03-20" },
    ]);
    expect(newlyInForce(v1, extended)).toEqual([
      { practitionerId: "dr-locum", from: "2026-03-01", to: "2026-03-09" },
      { practitionerId: "dr-locum", from: "2026-03-21", to: "2026-03-31" },
    ]);
    expect(newlyInForce(v1, unchanged)).toEqual([]);
    // An open-ended entry: from its date on.
    expect(
      newlyInForce(version({ roster: [] }), version({ roster: [{ ...entry, effectiveFrom: "2026-03-01" }] })),
    ).toEqual([{ practitionerId: "dr-locum", from: "2026-03-01", to: "9999-12-31" }]);
  });
});
