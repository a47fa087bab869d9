import * as z from "zod";
import { npi } from "./config.js";
import { icd10Code, instant } from "./facts.js";

export const claimLineSchemaVersion = "1.0" as const;

const localDay = z.iso.date();

/**
 * The claim line contract: exactly what the clearinghouse queue receives, one JSON object per message.
 * A line is identified by `claimLineId` (stable for its episode) and `revision` (0 for the first line sent,
 * one more for every adjustment), so a consumer can drop a resend and apply adjustments in order.
 */
export const claimLineSchema = z
  .object({
    schemaVersion: z.literal(claimLineSchemaVersion),
    claimLineId: z.string().regex(/^cl_[0-9a-f]{32}$/),
    revision: z.number().int().nonnegative(),
    action: z.enum(["original", "void", "replacement"]),
    episodeId: z.string().regex(/^ep_[0-9a-f]{32}$/),
    patientId: z.string().min(1),
    billingGroup: z.string().min(1),
    procedureCode: z.string().regex(/^[0-9A-Z]{5}$/),
    modifiers: z.array(z.string().regex(/^[0-9A-Z]{2}$/)).max(4),
    units: z.literal(1),
    serviceDate: localDay,
    placeOfService: z.string().regex(/^\d{2}$/),
    renderingProviderNpi: npi,
    diagnosisCodes: z.array(icd10Code).min(1).max(12),
    totalMinutes: z.number().int().min(5),
    windowStart: instant,
    windowEnd: instant,
    chargeCents: z.number().int().nonnegative(),
    codeSetYear: z.number().int().min(2020),
    /** For a void or replacement: the revision it adjusts. */
    adjusts: z.number().int().nonnegative().optional(),
  })
  .meta({
    $id: "https://portaltime.dev/schemas/claim-line/1.0",
    title: "portaltime claim line",
    description:
      "One digital E/M claim line as sent to the clearinghouse queue. Deduplicate by claimLineId + revision; " +
      "apply revisions of one claimLineId in increasing order.",
  });

export type ClaimLine = z.infer<typeof claimLineSchema>;
