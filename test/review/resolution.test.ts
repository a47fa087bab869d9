import { describe, expect, it } from "vitest";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import type { Fact } from "../../functions/domain/facts.js";
import { ResolutionConflictError } from "../../functions/review/errors.js";
import { attestationOf, resolutionRequestSchema } from "../../functions/review/resolution.js";
import { activity, inquiry, PATIENT, tenant } from "../support/domain-builders.js";

/**
 * A resolution from the review API becomes an attestation fact (R19) that the engine decides. Timeline: the
 * patient writes on Monday 2026-03-16 (America/New_York), Dr Adams spends 12 minutes at 10:00 and Dr Unknown 10
 * minutes on Tuesday; consent is required and none is on file.
 */

const AS_OF = "2026-04-01T00:00:00-04:00";
const RECORDING = { id: "att-1", at: "2026-03-26T10:00:00-04:00" };
const config = tenant({ consent: "required" });
const facts: Fact[] = [
  inquiry({ id: "q1", at: "2026-03-16T09:00:00-04:00" }),
  activity({ id: "a1", at: "2026-03-16T10:00:00-04:00", practitionerId: "dr-adams", minutes: 12 }),
  activity({ id: "a2", at: "2026-03-17T11:00:00-04:00", practitionerId: "dr-unknown", minutes: 10 }),
];
const before = decideEpisodes(facts, config, AS_OF).episodes[0] as Episode;
const subject = { patientId: PATIENT, episodeId: before.episodeId, unknownActivityIds: ["a2"] };

describe("review resolutions as attestations (R19)", () => {
  it("R19: recording consent and mapping the clinician make the episode billable, with who and when in the fact", () => {
    // Prepare
    const consent = resolutionRequestSchema.parse({
      action: "record-consent",
      consentDate: "2025-06-01",
      by: " biller-7 ",
    });
    const mapping = resolutionRequestSchema.parse({
      action: "map-clinician",
      practitionerId: "dr-evans",
      by: "biller-7",
    });

    // Act
    const recorded = attestationOf(consent, subject, RECORDING);
    const mapped = attestationOf(mapping, subject, { id: "att-2", at: RECORDING.at });
    const after = decideEpisodes([...facts, recorded, mapped], config, AS_OF);

    // Assess
    expect(before.reasons).toEqual(["consent-missing", "unknown-clinician"]);
    expect(recorded).toMatchObject({
      kind: "attestation",
      id: "att-1",
      dedupeKey: "review:att-1",
      by: "biller-7",
      at: RECORDING.at,
      episodeId: before.episodeId,
      resolution: { action: "record-consent", consentDate: "2025-06-01" },
    });
    expect(mapped.resolution).toEqual({
      action: "map-clinician",
      practitionerId: "dr-evans",
      activityIds: ["a2"],
    });
    expect(after.episodes[0]?.outcome).toBe("billable");
    expect(after.episodes[0]?.evidence.attestations).toEqual(["att-1", "att-2"]);
    expect(after.owed.map((line) => line.procedureCode)).toEqual(["99423"]);
  });

  it.each([
    [{ action: "record-consent", consentDate: "June 1", by: "b" }, ["consentDate"]],
    [{ action: "supply-diagnoses", diagnosisCodes: [], by: "b" }, ["diagnosisCodes"]],
    [{ action: "decide-relatedness", priorVisitId: "v1", by: "b" }, ["related"]],
    [{ action: "do-not-bill", reason: "told free", by: "  " }, ["by"]],
    [{ action: "bill-twice", by: "b" }, ["action"]],
  ])("a bad body names the failing field: %j", (body, path) => {
    // Act
    const parsed = resolutionRequestSchema.safeParse(body);

    // Assess
    expect(parsed.error?.issues[0]?.path).toEqual(path);
  });

  it("a resolution that does not apply to the item is a conflict (409)", () => {
    // Prepare
    const mapping = resolutionRequestSchema.parse({
      action: "map-clinician",
      practitionerId: "dr-evans",
      by: "b",
    });
    const doNotBill = resolutionRequestSchema.parse({ action: "do-not-bill", reason: "told free", by: "b" });

    // Act
    const noUnknownTime = () => attestationOf(mapping, { ...subject, unknownActivityIds: [] }, RECORDING);
    const noEpisode = () =>
      attestationOf(doNotBill, { patientId: PATIENT, unknownActivityIds: ["a9"] }, RECORDING);

    // Assess
    expect(noUnknownTime).toThrow(ResolutionConflictError);
    expect(noEpisode).toThrow(expect.objectContaining({ statusCode: 409, retryable: false }));
  });
});
