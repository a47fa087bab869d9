import { readFileSync } from "node:fs";
import Ajv2020 from "ajv/dist/2020.js";
import addFormats from "ajv-formats";
import { describe, expect, it } from "vitest";
import { type ClaimLine, claimLineSchema, claimLineVersionFor } from "../../functions/domain/claim-line.js";

/**
 * The claim line contract's versions (docs/CLAIMS-QUEUE.md), checked both with the zod schema portaltime checks
 * every line against and with the published JSON Schema a connector validates with (schemas/claim-line.schema.json,
 * read through Ajv, a validator nobody here wrote).
 */

const published = JSON.parse(
  readFileSync(new URL("../../schemas/claim-line.schema.json", import.meta.url), "utf8"),
) as object;
const ajv = new Ajv2020.default({ strict: false, allErrors: true });
addFormats.default(ajv);
const validate = ajv.compile(published);

/** A digital E/M line as the engine writes it (99422, 12 minutes, 2846 cents). */
const v10: ClaimLine = {
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
  serviceDate: "2026-03-16",
  placeOfService: "11",
  renderingProviderNpi: "1003000126",
  diagnosisCodes: ["E11.9"],
  totalMinutes: 12,
  windowStart: "2026-03-16T00:00:00-04:00",
  windowEnd: "2026-03-23T00:00:00-04:00",
  chargeCents: 2846,
  codeSetYear: 2026,
};

/** An add-on code billed twice on one line (99439 x2, R23: 2 x 4593 cents) needs 1.1. */
const addOn = {
  ...v10,
  schemaVersion: "1.1",
  procedureCode: "99439",
  units: 2,
  totalMinutes: 40,
  chargeCents: 9186,
};

/** An untimed code (G2010, R21: 1197 cents) with 3 minutes of evaluation needs 1.1. */
const untimed = { ...v10, schemaVersion: "1.1", procedureCode: "G2010", totalMinutes: 3, chargeCents: 1197 };

const both = (line: unknown) => [claimLineSchema.safeParse(line).success, validate(line)];

describe("claim line contract versions", () => {
  it("1.0 carries one unit of a timed code of 5 minutes or more; zod and the published JSON Schema agree", () => {
    expect(both(v10)).toEqual([true, true]);
    expect(both({ ...v10, units: 2 })).toEqual([false, false]);
    expect(both({ ...v10, totalMinutes: 3 })).toEqual([false, false]);
  });

  it("1.1 carries units above 1 (an add-on code's count) and untimed codes below 5 minutes", () => {
    expect(both(addOn)).toEqual([true, true]);
    expect(both(untimed)).toEqual([true, true]);
    expect(both({ ...addOn, units: 0 })).toEqual([false, false]);
    expect(both({ ...addOn, schemaVersion: "2.0" })).toEqual([false, false]);
  });

  it("a line is written in the lowest version that carries it, so a digital E/M line stays 1.0", () => {
    expect(claimLineVersionFor(v10)).toBe("1.0");
    expect(claimLineVersionFor(addOn)).toBe("1.1");
    expect(claimLineVersionFor(untimed)).toBe("1.1");
  });
});
