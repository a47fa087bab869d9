import {
  parseTenantConfig,
  type TenantConfig,
  type TenantConfigInput,
} from "../../functions/domain/config.js";
import {
  type AttestedAction,
  type ClinicianActivity,
  type Consent,
  type ConsultReport,
  type ConsultRequest,
  type Enrollment,
  type Fact,
  factSchema,
  type Inquiry,
  type StaffActivity,
  type TimeEntry,
  type Visit,
} from "../../functions/domain/facts.js";

/**
 * Builders for synthetic domain facts. Every builder returns a fact parsed by the real schema, so a test can
 * never build a fact the system would not accept. Ids are given by the test so evidence is easy to assert.
 */

export const PATIENT = "pat-1";

/** A roster with one clinician of each kind the rules distinguish. NPIs are synthetic but check-digit valid. */
export const roster = [
  { practitionerId: "dr-adams", npi: "1003000126", credential: "MD", name: "Synthetic Adams" },
  { practitionerId: "np-baker", npi: "1003000134", credential: "NP", name: "Synthetic Baker" },
  { practitionerId: "pt-chen", npi: "1003000142", credential: "PT", name: "Synthetic Chen" },
  { practitionerId: "rn-diaz", npi: "1003000159", credential: "RN", name: "Synthetic Diaz" },
  { practitionerId: "dr-evans", npi: "1003000167", credential: "DO", name: "Synthetic Evans" },
] as const;

export function tenant(overrides: Partial<TenantConfigInput> = {}): TenantConfig {
  return parseTenantConfig({
    timezone: "America/New_York",
    consent: "not-tracked",
    roster: roster.map((entry) => ({ ...entry })),
    ...overrides,
  });
}

type Common = { id: string; at: string; patientId?: string; version?: number; retracted?: boolean };

const base = (common: Common) => ({
  id: common.id,
  at: common.at,
  patientId: common.patientId ?? PATIENT,
  version: common.version ?? 0,
  retracted: common.retracted ?? false,
  dedupeKey: `test:${common.id}:${common.version ?? 0}`,
});

export const inquiry = (
  fields: Common &
    Partial<Pick<Inquiry, "author" | "messageId" | "inResponseTo" | "diagnosisCodes" | "attachments">>,
): Fact =>
  factSchema.parse({
    kind: "inquiry",
    author: "patient",
    messageId: fields.id,
    diagnosisCodes: ["E11.9"],
    ...fields,
    ...base(fields),
  });

export const activity = (
  fields: Common & { practitionerId: string; minutes?: number; seconds?: number } & Partial<
      Pick<
        ClinicianActivity,
        "messageId" | "inResponseTo" | "diagnosisCodes" | "qualification" | "npi" | "recipient"
      >
    >,
): Fact => {
  const { minutes, seconds, ...rest } = fields;
  return factSchema.parse({
    kind: "clinician-activity",
    messageId: fields.id,
    diagnosisCodes: ["E11.9"],
    ...rest,
    ...base(fields),
    seconds: seconds ?? Math.round((minutes ?? 0) * 60),
  });
};

export const staffActivity = (
  fields: Common & { staffId: string; minutes: number } & Partial<
      Pick<StaffActivity, "messageId" | "inResponseTo">
    >,
): Fact => {
  const { minutes, ...rest } = fields;
  return factSchema.parse({
    kind: "staff-activity",
    ...rest,
    ...base(fields),
    seconds: Math.round(minutes * 60),
  });
};

export const timeEntry = (
  fields: Common & { practitionerId: string; minutes: number } & Partial<
      Pick<TimeEntry, "countedBy" | "diagnosisCodes" | "qualification" | "npi">
    >,
): Fact => {
  const { minutes, ...rest } = fields;
  return factSchema.parse({
    kind: "time-entry",
    diagnosisCodes: ["E11.9"],
    ...rest,
    ...base(fields),
    seconds: Math.round(minutes * 60),
  });
};

export const visit = (
  fields: Common &
    Partial<Pick<Visit, "status" | "modality" | "source" | "diagnosisCodes" | "practitionerId">>,
): Fact =>
  factSchema.parse({
    kind: "visit",
    status: "finished",
    modality: "in-person",
    source: "encounter",
    diagnosisCodes: ["E11.9"],
    ...fields,
    ...base(fields),
  });

export const consent = (fields: Common & Partial<Pick<Consent, "status">>): Fact =>
  factSchema.parse({ kind: "consent", status: "active", ...fields, ...base(fields) });

/** R19: a biller's attestation; `at` is when it was attested. */
export const attestation = (
  fields: Common & { by?: string; episodeId?: string; resolution: AttestedAction },
): Fact => factSchema.parse({ kind: "attestation", by: "biller-1", ...fields, ...base(fields) });

/** R22: an enrollment; by default an active CCM enrollment of dr-adams with two conditions, consent and care plan. */
export const enrollment = (
  fields: Common &
    Partial<
      Pick<
        Enrollment,
        | "program"
        | "status"
        | "billingPractitionerId"
        | "conditions"
        | "startDate"
        | "endDate"
        | "consentDate"
        | "carePlanDate"
      >
    >,
): Fact =>
  factSchema.parse({
    kind: "enrollment",
    program: "ccm",
    status: "active",
    billingPractitionerId: "dr-adams",
    conditions: ["E11.9", "I10"],
    startDate: "2026-01-01",
    consentDate: "2026-01-01",
    carePlanDate: "2026-01-01",
    ...fields,
    ...base(fields),
  });

/** R25: a consult request from `requesterId` to `consultantId`, with the requester's minutes. */
export const consultRequest = (
  fields: Common & { requesterId: string; consultantId: string; minutes?: number } & Partial<
      Pick<ConsultRequest, "diagnosisCodes">
    >,
): Fact => {
  const { minutes, ...rest } = fields;
  return factSchema.parse({
    kind: "consult-request",
    diagnosisCodes: ["E11.9"],
    ...rest,
    ...base(fields),
    seconds: Math.round((minutes ?? 0) * 60),
  });
};

/** R25: the consultant's report on a request, with the consultant's minutes. */
export const consultReport = (
  fields: Common & { requestId: string; consultantId: string; minutes: number } & Partial<
      Pick<ConsultReport, "report" | "transferOfCare" | "diagnosisCodes">
    >,
): Fact => {
  const { minutes, ...rest } = fields;
  return factSchema.parse({
    kind: "consult-report",
    report: "verbal-and-written",
    diagnosisCodes: [],
    ...rest,
    ...base(fields),
    seconds: Math.round(minutes * 60),
  });
};
