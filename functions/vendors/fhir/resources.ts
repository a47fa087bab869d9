import * as z from "zod";
import {
  type Attachment,
  type Credential,
  credentials,
  type FactInput,
  factSchema,
  icd10Code,
  instant,
  type Program,
  programs,
  type VisitStatus,
} from "../../domain/facts.js";
import type { IgnoredReason, MappedDelivery } from "../format.js";

/**
 * FHIR R4 resources to domain facts (DOMAIN.md "Facts from FHIR payloads"), shared by the `fhir` and `medplum`
 * formats. Schemas name only the elements the mapping reads and let every other element through.
 */

const timeSpentUrl = "https://portaltime.dev/fhir/StructureDefinition/time-spent";
/** R22: the care-management program an EpisodeOfCare enrolls the patient in (`EpisodeOfCare.type`). */
const careProgramSystem = "https://portaltime.dev/fhir/CodeSystem/care-program";
/** R22: the EpisodeOfCare's links to the patient's consent to care management and to its care plan. */
const careManagementConsentUrl = "https://portaltime.dev/fhir/StructureDefinition/care-management-consent";
const carePlanUrl = "https://portaltime.dev/fhir/StructureDefinition/care-plan";
/** R25: a consultant's report (`Communication.category`), its kind as the code. */
const consultReportSystem = "https://portaltime.dev/fhir/CodeSystem/consult-report";
/** R25: the consult ended in a transfer of care to the consultant (`valueBoolean` on the report). */
const transferOfCareUrl = "https://portaltime.dev/fhir/StructureDefinition/transfer-of-care";
/** R25: SNOMED CT 11429006 "Consultation", in a ServiceRequest's `category` or `code`, marks a consult request. */
const snomedSystem = "http://snomed.info/sct";
const snomedConsultation = "11429006";
const icd10System = "http://hl7.org/fhir/sid/icd-10-cm";
const npiSystem = "http://hl7.org/fhir/sid/us-npi";
/** HL7 v2 table 0360 (degree/license), under its current and its pre-R4 canonical URL. */
const v2DegreeSystems = ["http://terminology.hl7.org/CodeSystem/v2-0360", "http://hl7.org/fhir/v2/0360"];

/** How a resource is named: `Type/id`, optionally `/_history/version`, relative or under a server base URL. */
interface ResourceReference {
  type: string;
  id: string;
  version?: string;
}

const referencePattern =
  /(?:^|\/)([A-Z][A-Za-z]+)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/([A-Za-z0-9\-.]{1,64}))?$/;

export function parseReference(reference: string | undefined): ResourceReference | undefined {
  const match = reference === undefined ? null : referencePattern.exec(reference);
  if (match === null) return undefined;
  const [, type = "", id = "", version] = match;
  return version === undefined ? { type, id } : { type, id, version };
}

export const logicalReference = (reference: ResourceReference): string => `${reference.type}/${reference.id}`;

const reference = z.looseObject({ reference: z.string().optional() });
const coding = z.looseObject({ system: z.string().optional(), code: z.string().optional() });
const codeableConcept = z.looseObject({ coding: z.array(coding).optional(), text: z.string().optional() });
const meta = z.looseObject({ versionId: z.string().optional(), lastUpdated: z.string().optional() });
const period = z.looseObject({ start: z.string().optional(), end: z.string().optional() });

/** Any resource as it arrives: the mapping picks its schema by `resourceType`. */
const identifiedResource = z.looseObject({
  resourceType: z.string().min(1),
  id: z.string().min(1),
  meta: meta.optional(),
});
type IdentifiedResource = z.infer<typeof identifiedResource>;

/** The extensions portaltime reads: time spent, a transfer of care, and an enrollment's links. */
const extensions = z
  .array(
    z.looseObject({
      url: z.string(),
      valueDuration: z
        .looseObject({
          value: z.number().optional(),
          code: z.string().optional(),
          unit: z.string().optional(),
        })
        .optional(),
      valueBoolean: z.boolean().optional(),
      valueReference: reference.optional(),
    }),
  )
  .optional();
type Extensions = z.infer<typeof extensions>;

const communication = z.looseObject({
  resourceType: z.literal("Communication"),
  status: z.string().optional(),
  basedOn: z.array(reference).optional(),
  category: z.array(codeableConcept).optional(),
  subject: reference.optional(),
  sender: reference.optional(),
  recipient: z.array(reference).optional(),
  sent: z.string().optional(),
  inResponseTo: z.array(reference).optional(),
  reasonCode: z.array(codeableConcept).optional(),
  payload: z
    .array(
      z.looseObject({ contentAttachment: z.looseObject({ contentType: z.string().optional() }).optional() }),
    )
    .optional(),
  extension: extensions,
});

const encounter = z.looseObject({
  resourceType: z.literal("Encounter"),
  status: z.string(),
  class: coding.optional(),
  subject: reference.optional(),
  participant: z.array(z.looseObject({ individual: reference.optional() })).optional(),
  period: period.optional(),
  reasonCode: z.array(codeableConcept).optional(),
  reasonReference: z.array(reference).optional(),
  diagnosis: z.array(z.looseObject({ condition: reference })).optional(),
});

const appointment = z.looseObject({
  resourceType: z.literal("Appointment"),
  status: z.string(),
  start: z.string().optional(),
  appointmentType: codeableConcept.optional(),
  serviceType: z.array(codeableConcept).optional(),
  participant: z.array(z.looseObject({ actor: reference.optional() })).optional(),
  reasonCode: z.array(codeableConcept).optional(),
  reasonReference: z.array(reference).optional(),
});

const consent = z.looseObject({
  resourceType: z.literal("Consent"),
  status: z.string(),
  patient: reference.optional(),
  dateTime: z.string().optional(),
});

const practitioner = z.looseObject({
  resourceType: z.literal("Practitioner"),
  identifier: z
    .array(z.looseObject({ system: z.string().optional(), value: z.string().optional() }))
    .optional(),
  qualification: z.array(z.looseObject({ code: codeableConcept, period: period.optional() })).optional(),
});
type Practitioner = z.infer<typeof practitioner>;

const practitionerRole = z.looseObject({
  resourceType: z.literal("PractitionerRole"),
  practitioner: reference.optional(),
});

const condition = z.looseObject({ resourceType: z.literal("Condition"), code: codeableConcept.optional() });

const episodeOfCare = z.looseObject({
  resourceType: z.literal("EpisodeOfCare"),
  meta: meta.optional(),
  status: z.string(),
  type: z.array(codeableConcept).optional(),
  diagnosis: z.array(z.looseObject({ condition: reference })).optional(),
  patient: reference.optional(),
  period: period.optional(),
  careManager: reference.optional(),
  extension: extensions,
});

const carePlan = z.looseObject({
  resourceType: z.literal("CarePlan"),
  status: z.string(),
  created: z.string().optional(),
});

const serviceRequest = z.looseObject({
  resourceType: z.literal("ServiceRequest"),
  status: z.string(),
  category: z.array(codeableConcept).optional(),
  code: codeableConcept.optional(),
  subject: reference.optional(),
  authoredOn: z.string().optional(),
  requester: reference.optional(),
  performer: z.array(reference).optional(),
  reasonCode: z.array(codeableConcept).optional(),
  reasonReference: z.array(reference).optional(),
  extension: extensions,
});

/** Resources that only inform other resources' facts (a CarePlan dates an enrollment, R22). */
const contextTypes = new Set([
  "Patient",
  "RelatedPerson",
  "Practitioner",
  "PractitionerRole",
  "Condition",
  "CarePlan",
]);

/** The resource types a fact is mapped from: a notification's focus of any other type is not worth fetching. */
export const factTypes: ReadonlySet<string> = new Set([
  "Communication",
  "Encounter",
  "Appointment",
  "Consent",
  "EpisodeOfCare",
  "ServiceRequest",
]);

/** Why a resource of a type no fact is mapped from holds nothing billable. */
export function ignoredTypeReason(resourceType: string): IgnoredReason {
  if (contextTypes.has(resourceType)) return "context-only";
  // athenahealth's record of each event, carried beside it in every notification.
  if (resourceType === "AuditEvent") return "audit-only";
  return "unmapped-type";
}

/** The resources of one delivery, found by `Type/id` or by the `fullUrl` a bundle entry gave them. */
class ResourceIndex {
  private readonly byKey = new Map<string, unknown>();

  add(resource: IdentifiedResource, fullUrl: string | undefined): void {
    this.byKey.set(`${resource.resourceType}/${resource.id}`, resource);
    if (fullUrl !== undefined) this.byKey.set(fullUrl, resource);
  }

  find<S extends z.ZodType>(referenceText: string | undefined, schema: S): z.output<S> | undefined {
    if (referenceText === undefined) return undefined;
    const parsed = parseReference(referenceText);
    const found = this.byKey.get(referenceText) ?? (parsed && this.byKey.get(logicalReference(parsed)));
    const result = schema.safeParse(found);
    return result.success ? result.data : undefined;
  }
}

/** What a mapping needs besides the resource. */
export interface MappingContext {
  dedupeKey: string;
  /** The source deleted the resource (Medplum `delete`): its facts are retracted. */
  deleted?: boolean;
}

export interface BundledResource {
  resource: unknown;
  fullUrl?: string;
}

/** A fact; or nothing billable (`ignore`); or a resource that cannot be read (`reason`, a path, never a value). */
type Mapping = { fact: FactInput } | { ignore: IgnoredReason } | { reason: string };
type FactBase = { id: string; version: number; dedupeKey: string; retracted: boolean };

/**
 * Maps every resource of a delivery; each one that yields no fact is listed with why: in `ignored` when it holds
 * nothing billable, in `skipped` when it cannot be read.
 */
export function factsFromResources(
  resources: readonly BundledResource[],
  context: MappingContext,
): MappedDelivery {
  const index = new ResourceIndex();
  const identified = resources.map(({ resource, fullUrl }) => {
    const result = identifiedResource.safeParse(resource);
    if (result.success) index.add(result.data, fullUrl);
    return { result, fullUrl };
  });

  const mapped: MappedDelivery = { facts: [], ignored: [], skipped: [] };
  for (const { result, fullUrl } of identified) {
    if (!result.success) {
      mapped.skipped.push({
        reference: fullUrl ?? "unidentified",
        reason: "resource has no resourceType and id",
      });
      continue;
    }
    const resource = result.data;
    const reference = `${resource.resourceType}/${resource.id}`;
    const outcome = mapResource(resource, index, factBase(resource, context));
    if ("ignore" in outcome) {
      mapped.ignored?.push({ reference, reason: outcome.ignore });
      continue;
    }
    if ("reason" in outcome) {
      mapped.skipped.push({ reference, reason: outcome.reason });
      continue;
    }
    const fact = factSchema.safeParse(outcome.fact);
    if (fact.success) mapped.facts.push(fact.data);
    else mapped.skipped.push({ reference, reason: `mapped fact is invalid at ${issuePath(fact.error)}` });
  }
  return mapped;
}

function mapResource(resource: IdentifiedResource, index: ResourceIndex, base: FactBase): Mapping {
  switch (resource.resourceType) {
    case "Communication":
      return withSchema(communication, resource, (parsed) => communicationFact(parsed, index, base));
    case "Encounter":
      return withSchema(encounter, resource, (parsed) => encounterFact(parsed, index, base));
    case "Appointment":
      return withSchema(appointment, resource, (parsed) => appointmentFact(parsed, index, base));
    case "Consent":
      return withSchema(consent, resource, (parsed) => consentFact(parsed, base));
    case "EpisodeOfCare":
      return withSchema(episodeOfCare, resource, (parsed) => enrollmentFact(parsed, index, base));
    case "ServiceRequest":
      return withSchema(serviceRequest, resource, (parsed) => consultRequestFact(parsed, index, base));
    default:
      return { ignore: ignoredTypeReason(resource.resourceType) };
  }
}

function withSchema<S extends z.ZodType>(
  schema: S,
  resource: unknown,
  map: (parsed: z.output<S>) => Mapping,
) {
  const result = schema.safeParse(resource);
  return result.success
    ? map(result.data)
    : { reason: `resource does not match its schema at ${issuePath(result.error)}` };
}

const issuePath = (error: z.ZodError): string => error.issues[0]?.path.join(".") || "(root)";

function factBase(resource: IdentifiedResource, context: MappingContext): FactBase {
  const version = versionOf(resource.meta);
  return {
    id: `${resource.resourceType}/${resource.id}`,
    // A deletion is newer than the last content the source sent, so the retraction wins (R17 keeps the highest).
    version: context.deleted ? version + 1 : version,
    dedupeKey: context.dedupeKey,
    retracted: context.deleted ?? false,
  };
}

/**
 * Numeric `versionId`s (HAPI, Epic, athenahealth) order versions directly. Servers with opaque ids (Medplum's
 * UUIDs) are ordered by `lastUpdated` in epoch milliseconds, so a later status still wins.
 */
function versionOf(resourceMeta: z.infer<typeof meta> | undefined): number {
  const versionId = resourceMeta?.versionId;
  if (versionId !== undefined && /^\d{1,15}$/.test(versionId)) return Number(versionId);
  const updated = resourceMeta?.lastUpdated === undefined ? Number.NaN : Date.parse(resourceMeta.lastUpdated);
  return Number.isNaN(updated) ? 0 : updated;
}

function communicationFact(
  message: z.infer<typeof communication>,
  index: ResourceIndex,
  base: FactBase,
): Mapping {
  const sender = parseReference(message.sender?.reference);
  const patientId = patientIdOf(message.subject) ?? (sender?.type === "Patient" ? sender.id : undefined);
  if (patientId === undefined) return { ignore: "no-patient" };
  const at = instantOf(message.sent);
  if (at === undefined) return { ignore: "no-time" };
  const replyTo = message.inResponseTo?.map((item) => parseReference(item.reference)).find(Boolean);
  const shared = {
    ...base,
    // A message marked entered-in-error never happened: it decides nothing.
    retracted: base.retracted || message.status === "entered-in-error",
    patientId,
    at,
    messageId: base.id,
    inResponseTo: replyTo && `Communication/${replyTo.id}`,
    diagnosisCodes: icd10Codes(message.reasonCode),
  };

  switch (sender?.type) {
    case "Patient":
      return { fact: { kind: "inquiry", ...shared, author: "patient", ...attachmentsOf(message) } };
    case "RelatedPerson":
      return { fact: { kind: "inquiry", ...shared, author: "related-person", ...attachmentsOf(message) } };
    case "Practitioner":
    case "PractitionerRole": {
      const spent = secondsSpent(message.extension);
      if ("reason" in spent) return spent;
      const practitionerId = practitionerIdOf(sender, index);
      const report = consultReportOf(message);
      if (report !== undefined) {
        const { messageId: _messageId, inResponseTo: _inResponseTo, ...reportBase } = shared;
        return {
          fact: {
            kind: "consult-report",
            ...reportBase,
            ...report,
            consultantId: practitionerId,
            seconds: spent.seconds,
            transferOfCare: booleanExtension(message.extension, transferOfCareUrl) ?? false,
          },
        };
      }
      const details = index.find(`Practitioner/${practitionerId}`, practitioner);
      const recipient = recipientOf(message.recipient);
      return {
        fact: {
          kind: "clinician-activity",
          ...shared,
          practitionerId,
          qualification: details && credentialOf(details, at),
          npi: details && npiOf(details),
          seconds: spent.seconds,
          ...(recipient === undefined ? {} : { recipient }),
        },
      };
    }
    default:
      return { ignore: "unmapped-sender" };
  }
}

/**
 * R21: what a patient's message carries, from each `payload[].contentAttachment`'s `contentType`. A message with
 * no attachment payload says nothing: the field stays absent (not empty), so facts mapped before it existed keep
 * their digest.
 */
function attachmentsOf(message: z.infer<typeof communication>): { attachments?: Attachment[] } {
  const attached = (message.payload ?? []).flatMap((part) =>
    part.contentAttachment === undefined ? [] : [part.contentAttachment],
  );
  if (attached.length === 0) return {};
  return {
    attachments: attached.slice(0, 50).map(({ contentType }) => {
      const type = contentType?.trim().toLowerCase();
      const kind = type?.startsWith("image/") ? "image" : type?.startsWith("video/") ? "video" : "other";
      return type === undefined || type === "" ? { kind } : { kind, contentType: type };
    }),
  };
}

/**
 * R21: whom a clinician's message went to, when that is not the patient: `practitioner` when every recipient is a
 * Practitioner or PractitionerRole. A message to the patient (or a related person), or to anyone else (no
 * recipient, a group, an organisation), leaves it absent, which the domain reads as the patient: a reply to the
 * patient maps exactly as it did before the field existed, and keeps its digest.
 */
function recipientOf(
  recipients: readonly z.infer<typeof reference>[] | undefined,
): "practitioner" | undefined {
  const types = (recipients ?? []).map((item) => parseReference(item.reference)?.type);
  const toPractitioners = types.every((type) => type === "Practitioner" || type === "PractitionerRole");
  return types.length > 0 && toPractitioners ? "practitioner" : undefined;
}

/**
 * R25: a practitioner's message is a consultant's report when it is based on a ServiceRequest (the consult
 * request, named as portaltime holds it) and its category, in portaltime's consult-report code system, gives the
 * report's kind. Anything else a practitioner sends stays clinician activity.
 */
function consultReportOf(
  message: z.infer<typeof communication>,
): { requestId: string; report: "verbal-and-written" | "written" } | undefined {
  const request = (message.basedOn ?? [])
    .map((item) => parseReference(item.reference))
    .find((parsed) => parsed?.type === "ServiceRequest");
  const report = (message.category ?? [])
    .flatMap((concept) => concept.coding ?? [])
    .filter((item) => item.system === consultReportSystem)
    .map((item) => item.code)
    .find((code) => code === "verbal-and-written" || code === "written");
  return request === undefined || report === undefined
    ? undefined
    : { requestId: logicalReference(request), report };
}

function booleanExtension(extension: Extensions, url: string): boolean | undefined {
  return extension?.find((item) => item.url === url)?.valueBoolean;
}

/** UCUM units the time-spent extension may use, in seconds. */
const secondsPerUnit: Readonly<Record<string, number>> = { min: 60, h: 3600, s: 1 };

function secondsSpent(extension: Extensions): { seconds: number } | { reason: string } {
  const timeSpent = extension?.find((item) => item.url === timeSpentUrl);
  // No extension: the message still happened; it is kept with zero time for audit (DOMAIN "Facts from FHIR").
  if (timeSpent === undefined) return { seconds: 0 };
  const duration = timeSpent.valueDuration;
  const perUnit = secondsPerUnit[duration?.code ?? duration?.unit ?? ""];
  if (duration?.value === undefined || perUnit === undefined) {
    return { reason: "time-spent extension has no valueDuration in min, h or s" };
  }
  return { seconds: Math.round(duration.value * perUnit) };
}

/** A PractitionerRole stands for its Practitioner when the delivery carries the role; else the role id is kept. */
function practitionerIdOf(sender: ResourceReference, index: ResourceIndex): string {
  if (sender.type === "Practitioner") return sender.id;
  const role = index.find(logicalReference(sender), practitionerRole);
  const rolePractitioner = parseReference(role?.practitioner?.reference);
  return rolePractitioner?.type === "Practitioner" ? rolePractitioner.id : sender.id;
}

/** HL7 v2-0360 codes; there `MA` is a Master of Arts, so medical assistants arrive as CMA or RMA. */
const v2DegreeCredentials: Readonly<Record<string, Credential>> = {
  MD: "MD",
  DO: "DO",
  NP: "NP",
  CNP: "NP",
  CANP: "NP",
  CPNP: "NP",
  FPNP: "NP",
  PA: "PA",
  CNS: "CNS",
  CNM: "CNM",
  RN: "RN",
  CRN: "RN",
  LPN: "LPN",
  PN: "LPN",
  CMA: "MA",
  RMA: "MA",
};

/** Credentials as practices write them outside v2-0360, beyond the domain's own abbreviations. */
const credentialAliases: Readonly<Record<string, Credential>> = {
  FNP: "NP",
  DPT: "PT",
  OTR: "OT",
  "OTR/L": "OT",
  "CCC-SLP": "SLP",
  LICSW: "LCSW",
  RDN: "RD",
  LMHC: "LPC",
  CMA: "MA",
  RMA: "MA",
};

const isCredential = (code: string): code is Credential => (credentials as readonly string[]).includes(code);

/**
 * The strongest credential among the qualifications valid at `at`. `credentials` is ordered from physicians
 * down to staff, so an NP who is also an RN counts as an NP.
 */
function credentialOf(details: Practitioner, at: string): Credential | undefined {
  const held = (details.qualification ?? [])
    .filter((qualification) => !expiredBefore(qualification.period?.end, at))
    .flatMap((qualification) => [
      ...(qualification.code.coding ?? []).map((item) => credentialOfCode(item.code, item.system)),
      credentialOfCode(qualification.code.text, undefined),
    ])
    .filter((found): found is Credential => found !== undefined);
  return held.sort((a, b) => credentials.indexOf(a) - credentials.indexOf(b))[0];
}

function credentialOfCode(code: string | undefined, system: string | undefined): Credential | undefined {
  if (code === undefined) return undefined;
  const normalized = code.toUpperCase().replace(/[.\s]/g, "");
  if (system !== undefined && v2DegreeSystems.some((known) => system.startsWith(known))) {
    return v2DegreeCredentials[normalized];
  }
  return isCredential(normalized) ? normalized : credentialAliases[normalized];
}

const expiredBefore = (end: string | undefined, at: string): boolean =>
  end !== undefined && Date.parse(end) < Date.parse(at);

function npiOf(details: Practitioner): string | undefined {
  return details.identifier
    ?.filter((identifier) => identifier.system === npiSystem)
    .map((identifier) => identifier.value?.trim())
    .find((value) => value !== undefined && /^\d{10}$/.test(value));
}

/** R10: Encounter.status (R4) to the domain's visit status; `unknown` says nothing and is skipped. */
const encounterStatuses: Readonly<Record<string, VisitStatus>> = {
  planned: "scheduled",
  arrived: "arrived",
  triaged: "arrived",
  "in-progress": "in-progress",
  onleave: "in-progress",
  finished: "finished",
  cancelled: "cancelled",
  "entered-in-error": "entered-in-error",
};

/** v3-ActCode encounter classes: `VR` is virtual; the others are E/M settings the patient attends. */
const encounterModalities: Readonly<Record<string, "in-person" | "virtual">> = {
  AMB: "in-person",
  EMER: "in-person",
  FLD: "in-person",
  HH: "in-person",
  IMP: "in-person",
  ACUTE: "in-person",
  NONAC: "in-person",
  OBSENC: "in-person",
  SS: "in-person",
  VR: "virtual",
};

function encounterFact(visit: z.infer<typeof encounter>, index: ResourceIndex, base: FactBase): Mapping {
  const patientId = patientIdOf(visit.subject);
  if (patientId === undefined) return { ignore: "no-patient" };
  const status = encounterStatuses[visit.status];
  if (status === undefined) return { ignore: "unknown-status" };
  const modality = encounterModalities[visit.class?.code ?? ""];
  if (modality === undefined) return { ignore: "not-a-visit" };
  // The HL7 Backport IG's example Encounter has none: a visit no one can place in time is no visit to bill.
  const at = instantOf(visit.period?.start);
  if (at === undefined) return { ignore: "no-time" };
  const conditions = [
    ...(visit.reasonReference ?? []),
    ...(visit.diagnosis ?? []).map((item) => item.condition),
  ];
  return {
    fact: {
      kind: "visit",
      ...base,
      patientId,
      at,
      status,
      modality,
      source: "encounter",
      practitionerId: firstPractitionerId((visit.participant ?? []).map((item) => item.individual)),
      diagnosisCodes: icd10Codes([...(visit.reasonCode ?? []), ...conditionCodes(conditions, index)]),
    },
  };
}

/** R10: Appointment.status (R4) to the domain's visit status. */
const appointmentStatuses: Readonly<Record<string, VisitStatus>> = {
  proposed: "scheduled",
  pending: "scheduled",
  booked: "scheduled",
  waitlist: "scheduled",
  arrived: "arrived",
  "checked-in": "arrived",
  fulfilled: "finished",
  cancelled: "cancelled",
  noshow: "no-show",
  "entered-in-error": "entered-in-error",
};

function appointmentFact(
  booking: z.infer<typeof appointment>,
  index: ResourceIndex,
  base: FactBase,
): Mapping {
  const actors = (booking.participant ?? []).map((item) => item.actor);
  const patientId = actors.map(patientIdOf).find((id) => id !== undefined);
  if (patientId === undefined) return { ignore: "no-patient" };
  const status = appointmentStatuses[booking.status];
  if (status === undefined) return { ignore: "unknown-status" };
  const at = instantOf(booking.start);
  if (at === undefined) return { ignore: "no-time" };
  // R4 Appointment has no modality element: a v3-ActCode `VR` type marks a virtual one.
  const virtual = [booking.appointmentType, ...(booking.serviceType ?? [])].some((concept) =>
    concept?.coding?.some((item) => item.code === "VR"),
  );
  return {
    fact: {
      kind: "visit",
      ...base,
      patientId,
      at,
      status,
      modality: virtual ? "virtual" : "in-person",
      source: "appointment",
      practitionerId: firstPractitionerId(actors),
      diagnosisCodes: icd10Codes([
        ...(booking.reasonCode ?? []),
        ...conditionCodes(booking.reasonReference ?? [], index),
      ]),
    },
  };
}

/** R4 Consent.status to the domain's; `proposed` is not yet agreed, like a draft. */
const consentStatuses = {
  draft: "draft",
  proposed: "draft",
  active: "active",
  rejected: "rejected",
  inactive: "inactive",
  "entered-in-error": "entered-in-error",
} as const;

function consentFact(agreement: z.infer<typeof consent>, base: FactBase): Mapping {
  const patientId = patientIdOf(agreement.patient);
  if (patientId === undefined) return { ignore: "no-patient" };
  const status = consentStatuses[agreement.status as keyof typeof consentStatuses];
  if (status === undefined) return { ignore: "unknown-status" };
  // Consent is valid for a year (R11): a date without a time is read as that day's start in UTC.
  const at = instantOf(agreement.dateTime) ?? dayStartOf(agreement.dateTime);
  if (at === undefined) return { ignore: "no-time" };
  return { fact: { kind: "consent", ...base, patientId, at, status } };
}

/** R22: EpisodeOfCare.status (R4) to the enrollment's; `null`: not (or not yet) in effect, so no enrollment. */
const enrollmentStatuses = {
  planned: null,
  waitlist: null,
  onhold: null,
  active: "active",
  finished: "finished",
  cancelled: "cancelled",
  "entered-in-error": "entered-in-error",
} as const;

/**
 * R22: an EpisodeOfCare typed with a portaltime care program is the patient's enrollment in it: its care manager
 * bills it, its period gives the practice-local dates as written, its diagnoses (bundled Conditions) the chronic
 * conditions, and its extensions name the Consent and the CarePlan that date the consent and the plan.
 */
function enrollmentFact(
  enrolled: z.infer<typeof episodeOfCare>,
  index: ResourceIndex,
  base: FactBase,
): Mapping {
  const patientId = patientIdOf(enrolled.patient);
  if (patientId === undefined) return { ignore: "no-patient" };
  const program = programOf(enrolled.type);
  if (program === undefined) return { ignore: "not-a-program" };
  if (!Object.hasOwn(enrollmentStatuses, enrolled.status)) return { ignore: "unknown-status" };
  const status = enrollmentStatuses[enrolled.status as keyof typeof enrollmentStatuses];
  if (status === null) return { ignore: "not-in-effect" };
  const startDate = dateOf(enrolled.period?.start);
  if (startDate === undefined) return { ignore: "no-time" };
  const manager = parseReference(enrolled.careManager?.reference);
  if (manager?.type !== "Practitioner" && manager?.type !== "PractitionerRole") {
    return { reason: "EpisodeOfCare names no careManager Practitioner to bill the program" };
  }
  const endDate = dateOf(enrolled.period?.end);
  const agreement = index.find(referenceExtension(enrolled.extension, careManagementConsentUrl), consent);
  const consentDate = agreement?.status === "active" ? dateOf(agreement.dateTime) : undefined;
  const plan = index.find(referenceExtension(enrolled.extension, carePlanUrl), carePlan);
  const carePlanDate = plan && carePlanMade(plan.status) ? dateOf(plan.created) : undefined;
  const conditions = conditionCodes(
    (enrolled.diagnosis ?? []).map((item) => item.condition),
    index,
  );
  return {
    fact: {
      kind: "enrollment",
      ...base,
      patientId,
      // When the source recorded it; a source that does not say is placed at the enrollment's start.
      at:
        instantOf(enrolled.meta?.lastUpdated) ??
        instantOf(enrolled.period?.start) ??
        `${startDate}T00:00:00Z`,
      program,
      status,
      billingPractitionerId: practitionerIdOf(manager, index),
      conditions: icd10Codes(conditions),
      startDate,
      ...(endDate === undefined ? {} : { endDate }),
      ...(consentDate === undefined ? {} : { consentDate }),
      ...(carePlanDate === undefined ? {} : { carePlanDate }),
    },
  };
}

const isProgram = (code: string | undefined): code is Program =>
  (programs as readonly (string | undefined)[]).includes(code);

function programOf(types: readonly z.infer<typeof codeableConcept>[] | undefined): Program | undefined {
  return (types ?? [])
    .flatMap((concept) => concept.coding ?? [])
    .filter((item) => item.system === careProgramSystem)
    .map((item) => item.code)
    .find(isProgram);
}

/** A care plan that was made: a draft is not yet one, and one entered in error never was. */
const carePlanMade = (status: string): boolean => !["draft", "entered-in-error", "unknown"].includes(status);

function referenceExtension(extension: Extensions, url: string): string | undefined {
  return extension?.find((item) => item.url === url)?.valueReference?.reference;
}

/** The practice-local date a FHIR date or dateTime was written on: its date part, never shifted by its offset. */
function dateOf(dateTime: string | undefined): string | undefined {
  const date = dateTime?.slice(0, 10);
  return date !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(date) ? date : undefined;
}

/**
 * R25: ServiceRequest.status (R4) to whether the request stands: an active, on-hold or completed request was
 * made; a revoked one, or one entered in error, decides nothing (retracted); a draft was never sent.
 */
const requestStatuses = {
  draft: "not-in-effect",
  active: "made",
  "on-hold": "made",
  completed: "made",
  revoked: "retracted",
  "entered-in-error": "retracted",
} as const;

/**
 * R25: a ServiceRequest coded as a consultation (SNOMED CT 11429006 in `category` or `code`) from a practitioner
 * (`requester`) to a practitioner (`performer`) about a patient is a consult request: at `authoredOn`, with the
 * requester's time spent (the portaltime extension) and the problem codes of `reasonCode` and `reasonReference`.
 */
function consultRequestFact(
  request: z.infer<typeof serviceRequest>,
  index: ResourceIndex,
  base: FactBase,
): Mapping {
  const patientId = patientIdOf(request.subject);
  if (patientId === undefined) return { ignore: "no-patient" };
  const consultation = [...(request.category ?? []), ...(request.code === undefined ? [] : [request.code])]
    .flatMap((concept) => concept.coding ?? [])
    .some((item) => item.system === snomedSystem && item.code === snomedConsultation);
  const requester = practitionerReference(request.requester);
  const consultant = (request.performer ?? []).map(practitionerReference).find(Boolean);
  if (!consultation || requester === undefined || consultant === undefined)
    return { ignore: "not-a-consult" };
  if (!Object.hasOwn(requestStatuses, request.status)) return { ignore: "unknown-status" };
  const standing = requestStatuses[request.status as keyof typeof requestStatuses];
  if (standing === "not-in-effect") return { ignore: "not-in-effect" };
  // Date-only, as R4's own example writes it: that day's start in UTC, as a Consent's date is read.
  const at = instantOf(request.authoredOn) ?? dayStartOf(request.authoredOn);
  if (at === undefined) return { ignore: "no-time" };
  const spent = secondsSpent(request.extension);
  if ("reason" in spent) return spent;
  return {
    fact: {
      kind: "consult-request",
      ...base,
      retracted: base.retracted || standing === "retracted",
      patientId,
      at,
      requesterId: practitionerIdOf(requester, index),
      consultantId: practitionerIdOf(consultant, index),
      seconds: spent.seconds,
      diagnosisCodes: icd10Codes([
        ...(request.reasonCode ?? []),
        ...conditionCodes(request.reasonReference ?? [], index),
      ]),
    },
  };
}

function practitionerReference(item: z.infer<typeof reference> | undefined): ResourceReference | undefined {
  const parsed = parseReference(item?.reference);
  return parsed?.type === "Practitioner" || parsed?.type === "PractitionerRole" ? parsed : undefined;
}

function conditionCodes(references: readonly z.infer<typeof reference>[], index: ResourceIndex) {
  return references
    .map((item) => index.find(item.reference, condition)?.code)
    .filter((code) => code !== undefined);
}

function icd10Codes(concepts: readonly z.infer<typeof codeableConcept>[] | undefined): string[] {
  const codes = (concepts ?? [])
    .flatMap((concept) => concept.coding ?? [])
    .filter((item) => item.system === icd10System)
    .map((item) => item.code?.trim().toUpperCase())
    .filter((code): code is string => code !== undefined && icd10Code.safeParse(code).success);
  return [...new Set(codes)].slice(0, 50);
}

function patientIdOf(subject: z.infer<typeof reference> | undefined): string | undefined {
  const parsed = parseReference(subject?.reference);
  return parsed?.type === "Patient" ? parsed.id : undefined;
}

function firstPractitionerId(
  references: readonly (z.infer<typeof reference> | undefined)[],
): string | undefined {
  return references
    .map((item) => parseReference(item?.reference))
    .find((parsed) => parsed?.type === "Practitioner")?.id;
}

const instantOf = (dateTime: string | undefined): string | undefined =>
  dateTime !== undefined && instant.safeParse(dateTime).success ? dateTime : undefined;

const dayStartOf = (date: string | undefined): string | undefined =>
  date !== undefined && /^\d{4}-\d{2}-\d{2}$/.test(date) ? `${date}T00:00:00Z` : undefined;

/** Where a resource names its patient: the patient itself, `subject`, `patient`, or a participant actor. */
const patientBearing = z.looseObject({
  resourceType: z.string(),
  id: z.string().optional(),
  subject: reference.optional(),
  patient: reference.optional(),
  participant: z.array(z.looseObject({ actor: reference.optional() })).optional(),
});

/** The patient a resource is about, as `Patient/<id>`, for ordering a patient's deliveries together. */
export function patientReferenceOf(resource: unknown): string | undefined {
  const result = patientBearing.safeParse(resource);
  if (!result.success) return undefined;
  const { resourceType, id, subject, patient, participant } = result.data;
  if (resourceType === "Patient" && id !== undefined) return `Patient/${id}`;
  const patientId = [subject, patient, ...(participant ?? []).map((item) => item.actor)]
    .map(patientIdOf)
    .find((found) => found !== undefined);
  return patientId === undefined ? undefined : `Patient/${patientId}`;
}
