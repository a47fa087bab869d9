import * as z from "zod";
import { npi } from "./config.js";
import { icd10Code, instant } from "./facts.js";

/**
 * The claim line contract versions (docs/CLAIMS-QUEUE.md). 1.0: one unit, timed codes of 5 minutes or more (the
 * digital E/M codes). 1.1 adds what the families after it need: `units` above 1 (an add-on code's count, R23,
 * one line per code) and `totalMinutes` below 5 (untimed codes, R21). A line is written in the lowest version
 * that can carry it, so lines of 1.0 codes never change version, and a version is never a reason to adjust a line.
 */
export const claimLineSchemaVersions = ["1.0", "1.1"] as const;
export const claimLineSchemaVersion = "1.0" as const;

const localDay = z.iso.date();

/**
 * A version's fields, in the order lines are written and sent: the schema's output order is the order a resend
 * serializes in, and a resend must be byte for byte the line first sent (docs/CLAIMS-QUEUE.md "Duplicates").
 */
function lineShape<V extends z.ZodLiteral<string>, U extends z.ZodType<number>, M extends z.ZodType<number>>(
  schemaVersion: V,
  units: U,
  totalMinutes: M,
) {
  return {
    schemaVersion,
    claimLineId: z.string().regex(/^cl_[0-9a-f]{32}$/),
    revision: z.number().int().nonnegative(),
    action: z.enum(["original", "void", "replacement"]),
    episodeId: z.string().regex(/^ep_[0-9a-f]{32}$/),
    patientId: z.string().min(1),
    billingGroup: z.string().min(1),
    procedureCode: z.string().regex(/^[0-9A-Z]{5}$/),
    modifiers: z.array(z.string().regex(/^[0-9A-Z]{2}$/)).max(4),
    units,
    serviceDate: localDay,
    placeOfService: z.string().regex(/^\d{2}$/),
    renderingProviderNpi: npi,
    diagnosisCodes: z.array(icd10Code).min(1).max(12),
    totalMinutes,
    windowStart: instant,
    windowEnd: instant,
    chargeCents: z.number().int().nonnegative(),
    codeSetYear: z.number().int().min(2020),
    /** For a void or replacement: the revision it adjusts. */
    adjusts: z.number().int().nonnegative().optional(),
  };
}

const claimLine10 = z.object(lineShape(z.literal("1.0"), z.literal(1), z.number().int().min(5)));

const claimLine11 = z.object(
  lineShape(
    z.literal("1.1"),
    /** The code's count: 1, or for an add-on code how many times it applies (one line per code). */
    z.number().int().min(1).max(99),
    /** The time the line accounts for; an untimed code may carry less than 5 minutes. */
    z.number().int().min(0),
  ),
);

/**
 * The claim line contract: exactly what the clearinghouse queue receives, one JSON object per message.
 * A line is identified by `claimLineId` (stable for its episode) and `revision` (0 for the first line sent,
 * one more for every adjustment), so a consumer can drop a resend and apply adjustments in order.
 */
export const claimLineSchema = z.discriminatedUnion("schemaVersion", [claimLine10, claimLine11]).meta({
  $id: "https://portaltime.dev/schemas/claim-line/1.1",
  title: "portaltime claim line",
  description:
    "One claim line as sent to the clearinghouse queue, in contract version 1.0 (one unit, timed codes) or 1.1 " +
    "(units above 1 for add-on codes, untimed codes). Deduplicate by claimLineId + revision; apply revisions of " +
    "one claimLineId in increasing order.",
});

export type ClaimLine = z.infer<typeof claimLineSchema>;

/** The lowest contract version that can carry a line with these units and minutes. */
export const claimLineVersionFor = (line: {
  units: number;
  totalMinutes: number;
}): ClaimLine["schemaVersion"] => (line.units === 1 && line.totalMinutes >= 5 ? "1.0" : "1.1");
