import * as z from "zod";
import {
  clinicianActivitySchema,
  consentSchema,
  consultReportSchema,
  consultRequestSchema,
  enrollmentSchema,
  inquirySchema,
  retractionSchema,
  staffActivitySchema,
  timeEntrySchema,
  visitSchema,
} from "../../domain/facts.js";

/**
 * 1.1 added `retraction`; 1.2 added `enrollment` (R22), `consult-request` and `consult-report` (R25), an inquiry's
 * `attachments` and a clinician message's `recipient` (R21). A 1.0 or 1.1 event is still accepted as it was, and
 * refused when it carries what only 1.2 defines (the sender says which contract it writes to; a field its version
 * does not have is a sender's mistake, not something to guess at).
 */
export const bridgeEventSchemaVersion = "1.2" as const;
export const bridgeEventSchemaVersions = ["1.0", "1.1", "1.2"] as const;
type BridgeEventSchemaVersion = (typeof bridgeEventSchemaVersions)[number];

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

const inquiry = inquirySchema.omit(filledByPortaltime).extend({
  attachments: inquirySchema.shape.attachments.describe(
    "What the message carries (schema 1.2, R21): recorded images or video, or anything else. Leave it out when " +
      "the source does not say; an empty list says the message carries nothing.",
  ),
});

const clinicianActivity = clinicianActivitySchema.omit(timed).extend({
  minutes,
  recipient: clinicianActivitySchema.shape.recipient.describe(
    "Whom the message went to (schema 1.2, R21); absent reads as the patient.",
  ),
});

/** The domain's enrollment refines its dates, so its shape is taken and the same refinement stated again. */
const enrollment = z
  .object(enrollmentSchema.shape)
  .omit(filledByPortaltime)
  .extend({
    billingPractitionerId: enrollmentSchema.shape.billingPractitionerId.describe(
      "The billing practitioner, by the id the tenant roster knows them under (not prefixed).",
    ),
  })
  .refine((fact) => fact.endDate === undefined || fact.endDate >= fact.startDate, {
    path: ["endDate"],
    message: "expected an end date on or after the start date",
  })
  .describe(
    "A patient's enrollment in a care-management program (schema 1.2, R22); dates are practice-local.",
  );

const consultRequest = consultRequestSchema
  .omit(timed)
  .extend({
    minutes: minutes
      .optional()
      .describe("The requester's own documented time, in minutes (99452); absent: 0."),
  })
  .describe(
    "A treating clinician's request to a consultant about the patient (schema 1.2, R25); practitioner ids as " +
      "the roster knows them.",
  );

const consultReport = consultReportSchema
  .omit(timed)
  .extend({
    minutes,
    requestId: consultReportSchema.shape.requestId.describe(
      "The request's id as sent in its `consult-request` fact (portaltime prefixes it like every bridge id).",
    ),
  })
  .describe("The consultant's report on a request (schema 1.2, R25).");

export const bridgeFactSchema = z.discriminatedUnion("kind", [
  inquiry,
  clinicianActivity,
  staffActivitySchema.omit(timed).extend({ minutes }),
  timeEntrySchema.omit(timed).extend({ minutes }),
  visitSchema.omit(filledByPortaltime),
  consentSchema.omit(filledByPortaltime),
  retraction,
  enrollment,
  consultRequest,
  consultReport,
]);

/** The fact kinds and fields 1.2 introduced: an event of an earlier version carrying one is refused. */
const since12 = {
  kinds: new Set(["enrollment", "consult-request", "consult-report"]),
  fields: ["attachments", "recipient"] as const,
};

function checkVersion(
  event: { schemaVersion: BridgeEventSchemaVersion; facts: readonly Record<string, unknown>[] },
  context: z.RefinementCtx,
): void {
  if (event.schemaVersion === "1.2") return;
  const refuse = (path: (string | number)[], what: string) =>
    context.addIssue({
      code: "custom",
      path,
      message: `${what} is defined from schemaVersion 1.2; this event declares ${event.schemaVersion}`,
    });
  event.facts.forEach((fact, index) => {
    if (since12.kinds.has(String(fact.kind))) refuse(["facts", index, "kind"], `fact kind ${fact.kind}`);
    for (const field of since12.fields) {
      if (fact[field] !== undefined) refuse(["facts", index, field], `field ${field}`);
    }
  });
}

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
  .superRefine(checkVersion)
  .meta({
    $id: "https://portaltime.dev/schemas/bridge-event/1.2",
    title: "portaltime bridge event",
    description:
      "Facts about one patient, sent to /webhooks/bridge as a Standard Webhooks delivery: inquiries, " +
      "clinician and staff activity and standalone time entries (in minutes), visits and consents. Ids are " +
      "the sender's; a fact sent again with the same id replaces the earlier one when its version is higher. A " +
      "retraction (1.1) names any fact portaltime holds, whichever format brought it. 1.2 adds care-management " +
      "enrollments, consult requests and reports, an inquiry's attachments and a clinician message's " +
      "recipient; an event of an earlier version carrying any of them is refused.",
  });

export type BridgeEvent = z.infer<typeof bridgeEventSchema>;
export type BridgeFact = z.infer<typeof bridgeFactSchema>;
