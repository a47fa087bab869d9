import { describe, expect, it } from "vitest";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { decidedWindow } from "../../functions/finalize/decision-records.js";
import type { EpisodeHead } from "../../functions/store/episode-store.js";

/**
 * R20 across the upgrade: heads the finalizer wrote before it kept `billed` still tell a later episode what they
 * billed, from the latest line they sent (not a void).
 */

const line: ClaimLine = {
  schemaVersion: "1.0",
  claimLineId: `cl_${"a".repeat(32)}`,
  revision: 0,
  action: "original",
  episodeId: `ep_${"b".repeat(32)}`,
  patientId: "pat-1",
  billingGroup: "default",
  procedureCode: "99422",
  modifiers: [],
  units: 1,
  serviceDate: "2026-03-04",
  placeOfService: "11",
  renderingProviderNpi: "1003000126",
  diagnosisCodes: ["E11.9"],
  totalMinutes: 12,
  windowStart: "2026-03-02T00:00:00-05:00",
  windowEnd: "2026-03-09T00:00:00-04:00",
  chargeCents: 2846,
  codeSetYear: 2026,
};

const earlierHead: EpisodeHead = {
  episodeId: line.episodeId,
  claimLineId: line.claimLineId,
  group: "default",
  family: "digital-em",
  start: Date.parse(line.windowStart),
  end: Date.parse(line.windowEnd),
  patientInitiated: true,
  current: true,
  digest: "d".repeat(32),
  line,
};

describe("decidedWindow (R20 across the upgrade)", () => {
  it("R20: a head written before heads kept `billed` bills what its latest line (not a void) says", () => {
    expect(decidedWindow(earlierHead).billed).toEqual({
      episodeId: line.episodeId,
      start: Date.parse("2026-03-02T05:00:00Z"),
      serviceDate: "2026-03-04",
      diagnosisCodes: ["E11.9"],
    });
    expect(
      decidedWindow({ ...earlierHead, line: { ...line, action: "void", revision: 1, adjusts: 0 } }).billed,
    ).toBeUndefined();
    expect(decidedWindow({ ...earlierHead, line: undefined }).billed).toBeUndefined();
  });

  it("R20: a head written since says so itself: no `billed` with its capture count means it did not bill", () => {
    const counted = {
      outcome: "needs-review",
      reasons: ["consent-missing"],
      withTime: true,
      minutes: { "dr-adams": 12 },
    };
    expect(decidedWindow({ ...earlierHead, counted }).billed).toBeUndefined();
  });
});
