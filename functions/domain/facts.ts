import * as z from "zod";

/**
 * Domain facts: what the EHR told us, already mapped out of its vendor format. Every fact has a stable `id`
 * (the source resource's identity), a `version` (higher wins when the same id arrives twice, so a later status
 * or corrected time replaces the earlier one), and the `dedupeKey` of the delivery it came from.
 */

export const instant = z.iso.datetime({ offset: true });

/** ICD-10-CM code, e.g. `E11.9` or `M5450`: a letter, two alphanumerics, then up to four more after an optional dot. */
export const icd10Code = z
  .string()
  .regex(/^[A-Z][0-9][0-9A-Z](\.?[0-9A-Z]{1,4})?$/, "expected an ICD-10-CM code such as E11.9");

export const credentials = [
  "MD",
  "DO",
  "NP",
  "PA",
  "CNS",
  "CNM",
  "PT",
  "OT",
  "SLP",
  "LCSW",
  "PSYD",
  "RD",
  "LPC",
  "LMFT",
  "RN",
  "LPN",
  "MA",
  "STAFF",
] as const;
export const credential = z.enum(credentials);
export type Credential = z.infer<typeof credential>;

const factBase = {
  id: z.string().min(1).max(256),
  version: z.number().int().nonnegative().default(0),
  dedupeKey: z.string().min(1).max(512),
  patientId: z.string().min(1).max(256),
  /** A retracted fact (deleted at the source) is kept for audit but decides nothing. */
  retracted: z.boolean().default(false),
};

/** Reply-chain fields shared by every message-borne fact (R1 walks `inResponseTo`). */
const messageFields = {
  messageId: z.string().min(1).max(256).optional(),
  inResponseTo: z.string().min(1).max(256).optional(),
};

/** What a message carries (R21): recorded images or video a clinician can evaluate, or anything else. */
export const attachmentKinds = ["image", "video", "other"] as const;
export const attachmentSchema = z.object({
  kind: z.enum(attachmentKinds),
  /** The MIME type the source stated, e.g. `image/jpeg`; kept for audit. */
  contentType: z.string().min(1).max(128).optional(),
});
export type Attachment = z.infer<typeof attachmentSchema>;

export const inquirySchema = z.object({
  kind: z.literal("inquiry"),
  ...factBase,
  ...messageFields,
  at: instant,
  author: z.enum(["patient", "related-person"]),
  diagnosisCodes: z.array(icd10Code).max(50).default([]),
  /** R21: what the message carries. Absent (not empty) when the source says nothing, so older facts keep their digest. */
  attachments: z.array(attachmentSchema).max(50).optional(),
});

export const clinicianActivitySchema = z.object({
  kind: z.literal("clinician-activity"),
  ...factBase,
  ...messageFields,
  at: instant,
  practitionerId: z.string().min(1).max(256),
  /** Qualification stated by the payload; used only when the roster does not know the practitioner (R4). */
  qualification: credential.optional(),
  npi: z.string().optional(),
  seconds: z
    .number()
    .int()
    .nonnegative()
    .max(24 * 3600),
  diagnosisCodes: z.array(icd10Code).max(50).default([]),
  /**
   * R21: whom the message went to. A clinician's message in a patient's thread goes to the patient unless the
   * source says otherwise, so absent reads as `patient`.
   */
  recipient: z.enum(["patient", "practitioner", "other"]).optional(),
});

export const staffActivitySchema = z.object({
  kind: z.literal("staff-activity"),
  ...factBase,
  ...messageFields,
  at: instant,
  staffId: z.string().min(1).max(256),
  seconds: z
    .number()
    .int()
    .nonnegative()
    .max(24 * 3600),
});

/** Services whose time is billed elsewhere and must never count toward an episode (R13). */
export const otherServices = [
  "chronic-care-management",
  "principal-care-management",
  "remote-monitoring",
  "inr-management",
  "transitional-care",
  "behavioral-health-integration",
] as const;

export const timeEntrySchema = z.object({
  kind: z.literal("time-entry"),
  ...factBase,
  at: instant,
  practitionerId: z.string().min(1).max(256),
  qualification: credential.optional(),
  npi: z.string().optional(),
  seconds: z
    .number()
    .int()
    .nonnegative()
    .max(24 * 3600),
  countedBy: z.enum(otherServices).optional(),
  diagnosisCodes: z.array(icd10Code).max(50).default([]),
});

export const visitStatuses = [
  "scheduled",
  "arrived",
  "in-progress",
  "finished",
  "checked-out",
  "cancelled",
  "no-show",
  "entered-in-error",
] as const;
export const visitStatus = z.enum(visitStatuses);
export type VisitStatus = z.infer<typeof visitStatus>;

export const visitSchema = z.object({
  kind: z.literal("visit"),
  ...factBase,
  at: instant,
  status: visitStatus,
  modality: z.enum(["in-person", "virtual"]),
  source: z.enum(["encounter", "appointment"]),
  practitionerId: z.string().min(1).max(256).optional(),
  diagnosisCodes: z.array(icd10Code).max(50).default([]),
});

export const consentSchema = z.object({
  kind: z.literal("consent"),
  ...factBase,
  at: instant,
  status: z.enum(["active", "inactive", "rejected", "draft", "entered-in-error"]),
});

/**
 * R19: what a biller's resolution of a needs-review episode says, one action per attestation. An unknown
 * clinician's activity is named by its fact id (the `id` of the clinician activity or time entry: the id the
 * episode's evidence and the unattributed-time records list).
 */
/** R11: the patient's consent, dated on a practice-local date. */
export const recordConsentSchema = z.object({
  action: z.literal("record-consent"),
  consentDate: z.iso.date(),
});
/** The episode's problem codes when the messages carry none (diagnosis-missing, R8's relatedness). */
export const supplyDiagnosesSchema = z.object({
  action: z.literal("supply-diagnoses"),
  diagnosisCodes: z.array(icd10Code).min(1).max(50),
});
/** R8: whether the named visit addressed the same or a related problem. */
export const decideRelatednessSchema = z.object({
  action: z.literal("decide-relatedness"),
  priorVisitId: z.string().min(1).max(256),
  related: z.boolean(),
});
/** R4, R18: the roster entry that authored the named activities, honoured on the dates it is in force. */
export const mapClinicianSchema = z.object({
  action: z.literal("map-clinician"),
  practitionerId: z.string().min(1).max(256),
  activityIds: z.array(z.string().min(1).max(256)).min(1).max(100),
});
/** R19: never bill the episode (e.g. the patient was told the message would be free). */
export const doNotBillSchema = z.object({
  action: z.literal("do-not-bill"),
  reason: z.string().min(1).max(1000),
});

export const attestedActionSchema = z.discriminatedUnion("action", [
  recordConsentSchema,
  supplyDiagnosesSchema,
  decideRelatednessSchema,
  mapClinicianSchema,
  doNotBillSchema,
]);
export type AttestedAction = z.infer<typeof attestedActionSchema>;

/**
 * R19: a biller's resolution, decided like any fact. `at` is when it was attested and `by` who attested it; both
 * reach the audit. `episodeId` is the episode it resolves, as the engine names it; a clinician mapping may
 * resolve time that fell in no episode (unattributed), so there it may be absent.
 */
export const attestationSchema = z
  .object({
    kind: z.literal("attestation"),
    ...factBase,
    at: instant,
    by: z.string().min(1).max(256),
    episodeId: z.string().min(1).max(256).optional(),
    /**
     * The earliest instant the resolution concerns: its episode's window start, or the earliest activity it maps.
     * The patient is decided again from there (an attestation is recorded after what it resolves; from its own
     * time alone, the decision would start after the episode it resolves). Absent: from `at`.
     */
    concernsFrom: instant.optional(),
    resolution: attestedActionSchema,
  })
  .refine((fact) => fact.episodeId !== undefined || fact.resolution.action === "map-clinician", {
    path: ["episodeId"],
    message: "expected the episode the attestation resolves",
  });

/** R22: the care-management programs a patient can be enrolled in. */
export const programs = ["ccm", "ccm-complex", "pcm"] as const;
export type Program = (typeof programs)[number];

/**
 * R22: a patient's enrollment in a care-management program, as the EHR keeps it (FHIR `EpisodeOfCare` with its
 * `CarePlan`): the program, its chronic conditions, the billing practitioner, the practice-local dates it runs,
 * and when consent was documented and the care plan made. `at` is when the source recorded it.
 */
export const enrollmentSchema = z
  .object({
    kind: z.literal("enrollment"),
    ...factBase,
    at: instant,
    program: z.enum(programs),
    status: z.enum(["active", "finished", "cancelled", "entered-in-error"]),
    billingPractitionerId: z.string().min(1).max(256),
    conditions: z.array(icd10Code).max(50).default([]),
    startDate: z.iso.date(),
    endDate: z.iso.date().optional(),
    consentDate: z.iso.date().optional(),
    carePlanDate: z.iso.date().optional(),
  })
  .refine((fact) => fact.endDate === undefined || fact.endDate >= fact.startDate, {
    path: ["endDate"],
    message: "expected an end date on or after the start date",
  });

/**
 * R25: a treating clinician's request to a consultant about the patient (FHIR `ServiceRequest` or a
 * `Communication` between practitioners). `seconds` is the requester's own documented time (99452).
 */
export const consultRequestSchema = z.object({
  kind: z.literal("consult-request"),
  ...factBase,
  at: instant,
  requesterId: z.string().min(1).max(256),
  consultantId: z.string().min(1).max(256),
  seconds: z
    .number()
    .int()
    .nonnegative()
    .max(24 * 3600)
    .default(0),
  diagnosisCodes: z.array(icd10Code).max(50).default([]),
});

/** R25: the consultant's report on a request: its kind, the consultant's documented time, and whether care moved. */
export const consultReportSchema = z.object({
  kind: z.literal("consult-report"),
  ...factBase,
  at: instant,
  /** The request's fact id, as portaltime holds it. */
  requestId: z.string().min(1).max(256),
  consultantId: z.string().min(1).max(256),
  report: z.enum(["verbal-and-written", "written"]),
  seconds: z
    .number()
    .int()
    .nonnegative()
    .max(24 * 3600),
  /** The consult ended in a transfer of care to the consultant (R25: not billed as a consult). */
  transferOfCare: z.boolean().default(false),
  diagnosisCodes: z.array(icd10Code).max(50).default([]),
});

export const factSchema = z.discriminatedUnion("kind", [
  inquirySchema,
  clinicianActivitySchema,
  staffActivitySchema,
  timeEntrySchema,
  visitSchema,
  consentSchema,
  attestationSchema,
  enrollmentSchema,
  consultRequestSchema,
  consultReportSchema,
]);

export type Fact = z.infer<typeof factSchema>;

/**
 * R16: a deletion at the source that names only the resource (no patient, no content): the fact portaltime holds
 * under this id is retracted, in whichever patient's partition it lives.
 */
export const retractionSchema = z.object({
  factId: z.string().min(1).max(256),
  /**
   * The deletion's own version when the source gives one (ordered as the fact's versions); else portaltime
   * uses when the deletion was received, in epoch milliseconds: later than any content the source sent before.
   */
  version: z.number().int().nonnegative().optional(),
});
export type Retraction = z.infer<typeof retractionSchema>;
export type FactInput = z.input<typeof factSchema>;
export type Inquiry = z.infer<typeof inquirySchema>;
export type ClinicianActivity = z.infer<typeof clinicianActivitySchema>;
export type StaffActivity = z.infer<typeof staffActivitySchema>;
export type TimeEntry = z.infer<typeof timeEntrySchema>;
export type Visit = z.infer<typeof visitSchema>;
export type Consent = z.infer<typeof consentSchema>;
export type Attestation = z.infer<typeof attestationSchema>;
export type Enrollment = z.infer<typeof enrollmentSchema>;
export type ConsultRequest = z.infer<typeof consultRequestSchema>;
export type ConsultReport = z.infer<typeof consultReportSchema>;

/** Visits that took place (R10): only these count for R8, R9 and R12. */
export const visitTookPlace = (status: VisitStatus): boolean =>
  status === "arrived" || status === "in-progress" || status === "finished" || status === "checked-out";
