import * as z from "zod";
import {
  clinicianActivitySchema,
  consentSchema,
  inquirySchema,
  retractionSchema,
  staffActivitySchema,
  timeEntrySchema,
  visitSchema,
} from "../../domain/facts.js";

/** 1.1 added `retraction`; a 1.0 event is still accepted as it was. */
export const bridgeEventSchemaVersion = "1.1" as const;
export const bridgeEventSchemaVersions = ["1.0", "1.1"] as const;

/** Senders record time in minutes (what clinicians document); portaltime stores whole seconds. */
const minutes = z
  .number()
  .nonnegative()
  .max(24 * 60)
  .describe("Time spent, in minutes; decimals allowed.");

/** What portaltime fills in itself: the delivery's dedupe key, and the patient, named once per event. */
const filledByPortaltime = { dedupeKey: true, patientId: true } as const;
const timed = { ...filledByPortaltime, seconds: true } as const;

/**
 * R16: a deletion at the source of any fact portaltime holds, by the id it holds it under (e.g. `bridge:q1` for
 * this format's own facts, `Communication/123` for a FHIR server's): it is retracted wherever it lives.
 */
const retraction = retractionSchema
  .extend({
    kind: z.literal("retraction"),
    factId: retractionSchema.shape.factId.describe(
      "The fact's id as portaltime holds it: `bridge:<id>` for facts sent through this format.",
    ),
  })
  .describe("A deletion at the source (schema 1.1).");

export const bridgeFactSchema = z.discriminatedUnion("kind", [
  inquirySchema.omit(filledByPortaltime),
  clinicianActivitySchema.omit(timed).extend({ minutes }),
  staffActivitySchema.omit(timed).extend({ minutes }),
  timeEntrySchema.omit(timed).extend({ minutes }),
  visitSchema.omit(filledByPortaltime),
  consentSchema.omit(filledByPortaltime),
  retraction,
]);

/**
 * The `bridge` body: portaltime's own facts about one patient, for senders behind an interface engine.
 * `version` orders revisions of one fact id (the highest wins: e.g. the source's last-modified epoch
 * milliseconds or an HL7 sequence number); only the sender knows it, and R10's "latest status wins" needs it.
 */
export const bridgeEventSchema = z
  .object({
    schemaVersion: z.enum(bridgeEventSchemaVersions),
    patientId: z.string().min(1).max(256).describe("The source system's patient id."),
    facts: z.array(bridgeFactSchema).min(1).max(500),
  })
  .meta({
    $id: "https://portaltime.dev/schemas/bridge-event/1.1",
    title: "portaltime bridge event",
    description:
      "Facts about one patient, sent to /webhooks/bridge as a Standard Webhooks delivery: inquiries, " +
      "clinician and staff activity and standalone time entries (in minutes), visits and consents. Ids are " +
      "the sender's; a fact sent again with the same id replaces the earlier one when its version is higher. A " +
      "retraction (1.1) names any fact portaltime holds, whichever format brought it.",
  });

export type BridgeEvent = z.infer<typeof bridgeEventSchema>;
export type BridgeFact = z.infer<typeof bridgeFactSchema>;
