import { readFileSync } from "node:fs";
import type {
  CarePlan,
  Communication,
  Condition,
  Consent,
  EpisodeOfCare,
  PractitionerRole,
  Resource,
  ServiceRequest,
} from "@medplum/fhirtypes";
import { describe, expect, it } from "vitest";
import { factSchema } from "../../../functions/domain/facts.js";
import { factsFromResources, factTypes } from "../../../functions/vendors/fhir/resources.js";

/**
 * R21, R22 and R25 facts from FHIR, starting from the HL7 FHIR R4 specification's own examples
 * (test/fixtures/upstream/SOURCES.md). Each test adapts its copy in code, in plain sight.
 */

const upstream = <T>(name: string): T =>
  JSON.parse(
    readFileSync(new URL(`../../fixtures/upstream/hl7-fhir-r4/${name}.json`, import.meta.url), "utf8"),
  );

const TIME_SPENT = "https://portaltime.dev/fhir/StructureDefinition/time-spent";
const ICD10 = "http://hl7.org/fhir/sid/icd-10-cm";
const CARE_PROGRAM = "https://portaltime.dev/fhir/CodeSystem/care-program";
const CONSENT_LINK = "https://portaltime.dev/fhir/StructureDefinition/care-management-consent";
const CARE_PLAN_LINK = "https://portaltime.dev/fhir/StructureDefinition/care-plan";
const CONSULT_REPORT = "https://portaltime.dev/fhir/CodeSystem/consult-report";
const TRANSFER_OF_CARE = "https://portaltime.dev/fhir/StructureDefinition/transfer-of-care";
const DEDUPE_KEY = "fhir:Subscription/sub-portal#41";

const minutesSpent = (value: number) => ({
  url: TIME_SPENT,
  valueDuration: { value, unit: "min", system: "http://unitsofmeasure.org", code: "min" },
});

const factsOf = (...resources: Resource[]) =>
  factsFromResources(
    resources.map((resource) => ({ resource })),
    { dedupeKey: DEDUPE_KEY },
  );

const housekeeping = { version: 0, dedupeKey: DEDUPE_KEY, retracted: false };

describe("R21: a patient's message and what it carries (Communication payload.contentAttachment)", () => {
  /** The spec's attachment example, sent by the patient it is about (its sender is an identifier only). */
  const patientMessage = (): Communication => ({
    ...upstream<Communication>("communication-example-fm-attachment"),
    sender: { reference: "Patient/1" },
  });

  it("image/* is an image, video/* a video, anything else other; the stated type is kept", () => {
    // Prepare
    const message = patientMessage();
    message.payload = [
      { contentAttachment: { ...message.payload?.[0]?.contentAttachment, contentType: "image/jpeg" } },
      { contentAttachment: { ...message.payload?.[1]?.contentAttachment, contentType: "Video/MP4" } },
      ...(message.payload ?? []),
      { contentAttachment: { title: "no type stated" } },
      { contentString: "text is no attachment" },
    ];

    // Act
    const mapped = factsOf(message);

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.facts).toEqual([
      factSchema.parse({
        kind: "inquiry",
        id: "Communication/fm-attachment",
        ...housekeeping,
        patientId: "1",
        messageId: "Communication/fm-attachment",
        at: "2016-06-12T18:01:10-08:00",
        author: "patient",
        attachments: [
          { kind: "image", contentType: "image/jpeg" },
          { kind: "video", contentType: "video/mp4" },
          { kind: "other", contentType: "application/pdf" },
          { kind: "other", contentType: "application/pdf" },
          { kind: "other" },
        ],
      }),
    ]);
  });

  it("a message with no attachment payload maps exactly as before R21: no attachments key, not an empty list", () => {
    // Prepare: the spec's first example, from its patient, carries a string and a reference.
    const message: Communication = {
      ...upstream<Communication>("communication-example"),
      sender: { reference: "Patient/example" },
    };

    // Act
    const [fact] = factsOf(message).facts;

    // Assess
    expect(fact).toEqual({
      kind: "inquiry",
      id: "Communication/example",
      ...housekeeping,
      patientId: "example",
      messageId: "Communication/example",
      at: "2014-12-12T18:01:10-08:00",
      author: "patient",
      diagnosisCodes: [],
    });
    expect(Object.keys(fact ?? {})).not.toContain("attachments");
  });
});

describe("R21: whom a clinician's message went to (Communication.recipient)", () => {
  /** The spec's first example, sent by the practitioner it was addressed to in the spec (its sender is a Device). */
  const clinicianMessage = (recipient: Communication["recipient"]): Communication => ({
    ...upstream<Communication>("communication-example"),
    sender: { reference: "Practitioner/f001" },
    recipient,
    extension: [minutesSpent(3)],
  });

  it("to practitioners only, about a patient: clinician activity to a practitioner (consults come from ServiceRequest)", () => {
    const mapped = factsOf(clinicianMessage(upstream<Communication>("communication-example").recipient));

    expect(mapped.facts).toEqual([
      {
        kind: "clinician-activity",
        id: "Communication/example",
        ...housekeeping,
        patientId: "example",
        messageId: "Communication/example",
        at: "2014-12-12T18:01:10-08:00",
        practitionerId: "f001",
        seconds: 180,
        diagnosisCodes: [],
        recipient: "practitioner",
      },
    ]);
  });

  it.each([
    ["the patient", [{ reference: "Patient/example" }]],
    [
      "the patient and a practitioner",
      [{ reference: "Practitioner/example" }, { reference: "Patient/example" }],
    ],
    ["a related person", [{ reference: "RelatedPerson/mother" }]],
    ["an organisation", [{ reference: "Organization/clinic" }]],
    ["a practitioner and a group", [{ reference: "PractitionerRole/r1" }, { reference: "Group/team" }]],
    ["no one named", undefined],
  ])(
    "to %s: no recipient key, as before R21 (the domain reads absent as the patient)",
    (_name, recipient) => {
      const [fact] = factsOf(clinicianMessage(recipient)).facts;

      expect(fact).toMatchObject({ kind: "clinician-activity", seconds: 180 });
      expect(Object.keys(fact ?? {})).not.toContain("recipient");
    },
  );

  it("a PractitionerRole recipient is a practitioner", () => {
    const [fact] = factsOf(clinicianMessage([{ reference: "PractitionerRole/cardiology-on-call" }])).facts;

    expect(fact).toMatchObject({ recipient: "practitioner" });
  });
});

describe("R22: a care-management enrollment (EpisodeOfCare)", () => {
  /** The spec's stroke Condition, coded in ICD-10-CM beside its SNOMED CT code. */
  const stroke = (): Condition => {
    const condition = upstream<Condition>("condition-example-stroke");
    condition.code?.coding?.push({
      system: ICD10,
      code: "I63.9",
      display: "Cerebral infarction, unspecified",
    });
    return condition;
  };
  /** The spec's consent and care plan, for the enrollment's patient. */
  const consent = (): Consent => ({
    ...upstream<Consent>("consent-example"),
    patient: { reference: "Patient/example" },
  });
  const carePlan = (): CarePlan => upstream<CarePlan>("careplan-example");
  /** The spec's EpisodeOfCare (a home and community care package), typed as chronic care management. */
  const enrollment = (changes: Partial<EpisodeOfCare> = {}): EpisodeOfCare => {
    const episode = upstream<EpisodeOfCare>("episodeofcare-example");
    return {
      ...episode,
      type: [{ coding: [{ system: CARE_PROGRAM, code: "ccm", display: "Chronic care management" }] }],
      extension: [
        { url: CONSENT_LINK, valueReference: { reference: "Consent/consent-example-basic" } },
        { url: CARE_PLAN_LINK, valueReference: { reference: "CarePlan/example" } },
      ],
      ...changes,
    };
  };

  it("maps program, status, care manager, dates as written, ICD-10-CM conditions, consent and care plan dates", () => {
    // Act
    const mapped = factsOf(enrollment(), stroke(), consent(), carePlan());

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.facts.filter((fact) => fact.kind === "enrollment")).toEqual([
      {
        kind: "enrollment",
        id: "EpisodeOfCare/example",
        ...housekeeping,
        patientId: "example",
        // The example has no meta.lastUpdated: placed at its start.
        at: "2014-09-01T00:00:00Z",
        program: "ccm",
        status: "active",
        billingPractitionerId: "14",
        conditions: ["I63.9"],
        startDate: "2014-09-01",
        consentDate: "2016-05-11",
        carePlanDate: "2016-01-01",
      },
    ]);
    // The consent is a fact of its own too (R11); the care plan and the condition only inform the enrollment.
    expect(mapped.facts.map((fact) => fact.kind)).toEqual(["enrollment", "consent"]);
    expect(mapped.ignored).toEqual([
      { reference: "Condition/stroke", reason: "context-only" },
      { reference: "CarePlan/example", reason: "context-only" },
    ]);
  });

  it("the spec's example as published (home and community care) is no care-management program", () => {
    const mapped = factsOf(upstream<EpisodeOfCare>("episodeofcare-example"));

    expect(mapped.facts).toEqual([]);
    expect(mapped.ignored).toEqual([{ reference: "EpisodeOfCare/example", reason: "not-a-program" }]);
  });

  it.each([
    ["ccm-complex", "ccm-complex"],
    ["pcm", "pcm"],
  ])("program %s", (code, program) => {
    const [fact] = factsOf(enrollment({ type: [{ coding: [{ system: CARE_PROGRAM, code }] }] })).facts;
    expect(fact).toMatchObject({ kind: "enrollment", program });
  });

  it.each([
    ["active", "active"],
    ["finished", "finished"],
    ["cancelled", "cancelled"],
    ["entered-in-error", "entered-in-error"],
  ] as const)("status %s maps to %s", (status, expected) => {
    const [fact] = factsOf(enrollment({ status })).facts;
    expect(fact).toMatchObject({ kind: "enrollment", status: expected });
  });

  it.each([
    ["planned", "not-in-effect"],
    ["waitlist", "not-in-effect"],
    ["onhold", "not-in-effect"],
    ["anything-else", "unknown-status"],
  ])("status %s: no enrollment, ignored (%s)", (status, reason) => {
    const mapped = factsOf(enrollment({ status: status as EpisodeOfCare["status"] }));
    expect(mapped.facts).toEqual([]);
    expect(mapped.ignored).toEqual([{ reference: "EpisodeOfCare/example", reason }]);
  });

  it("dates are the practice-local dates as written, whatever the offset; an end before the start is skipped", () => {
    const ended = enrollment({
      meta: { lastUpdated: "2025-02-01T04:10:00Z" },
      period: { start: "2025-01-31T23:30:00-05:00", end: "2025-06-30" },
    });
    const backwards = enrollment({ id: "backwards", period: { start: "2025-02-01", end: "2025-01-31" } });

    const mapped = factsOf(ended, backwards);

    expect(mapped.facts).toMatchObject([
      { at: "2025-02-01T04:10:00Z", startDate: "2025-01-31", endDate: "2025-06-30" },
    ]);
    expect(mapped.skipped).toEqual([
      { reference: "EpisodeOfCare/backwards", reason: "mapped fact is invalid at endDate" },
    ]);
  });

  it("a consent that is not active, a draft care plan, or links the bundle does not carry leave those dates out", () => {
    const draftPlan: CarePlan = { ...carePlan(), status: "draft" };
    const withdrawn: Consent = { ...consent(), status: "inactive" };

    const [withDrafts] = factsOf(enrollment(), draftPlan, withdrawn).facts;
    const [unbundled] = factsOf(enrollment()).facts;

    for (const fact of [withDrafts, unbundled]) {
      expect(fact).toMatchObject({ kind: "enrollment", conditions: [] });
      expect(Object.keys(fact ?? {})).not.toContain("consentDate");
      expect(Object.keys(fact ?? {})).not.toContain("carePlanDate");
    }
  });

  it("a PractitionerRole care manager stands for the Practitioner the bundle gives it", () => {
    const role: PractitionerRole = {
      resourceType: "PractitionerRole",
      id: "cm-role",
      practitioner: { reference: "Practitioner/14" },
    };

    const [fact] = factsOf(
      enrollment({ careManager: { reference: "PractitionerRole/cm-role" } }),
      role,
    ).facts;

    expect(fact).toMatchObject({ billingPractitionerId: "14" });
  });

  it("without a care manager to bill it, or without a start: no enrollment, with the reason (never a value)", () => {
    const mapped = factsOf(
      enrollment({ careManager: { display: "Amanda Assigned" } }),
      enrollment({ id: "unstarted", period: {} }),
      enrollment({ id: "nobody", patient: { display: "Peter James Chalmers" } }),
    );

    expect(mapped.facts).toEqual([]);
    expect(mapped.skipped).toEqual([
      {
        reference: "EpisodeOfCare/example",
        reason: "EpisodeOfCare names no careManager Practitioner to bill the program",
      },
    ]);
    expect(mapped.ignored).toEqual([
      { reference: "EpisodeOfCare/unstarted", reason: "no-time" },
      { reference: "EpisodeOfCare/nobody", reason: "no-patient" },
    ]);
    expect(JSON.stringify(mapped)).not.toContain("Amanda");
  });
});

describe("R25: an interprofessional consult (ServiceRequest, and the consultant's Communication)", () => {
  /** The spec's ENT referral, coded as a consultation, with the requester's time and an ICD-10-CM reason. */
  const consultRequest = (changes: Partial<ServiceRequest> = {}): ServiceRequest => {
    const referral = upstream<ServiceRequest>("servicerequest-example-myringotomy");
    return {
      ...referral,
      category: [
        { coding: [{ system: "http://snomed.info/sct", code: "11429006", display: "Consultation" }] },
      ],
      authoredOn: "2014-02-14T09:30:00+11:00",
      reasonCode: [
        ...(referral.reasonCode ?? []),
        { coding: [{ system: ICD10, code: "H66.91", display: "Otitis media, unspecified, right ear" }] },
      ],
      extension: [minutesSpent(18)],
      ...changes,
    };
  };
  /** The spec's first Communication, as the consultant's written report on that request. */
  const consultReport = (changes: Partial<Communication> = {}): Communication => ({
    ...upstream<Communication>("communication-example"),
    sender: { reference: "Practitioner/76597" },
    recipient: [{ reference: "Practitioner/77272" }],
    basedOn: [{ reference: "ServiceRequest/myringotomy" }],
    category: [{ coding: [{ system: CONSULT_REPORT, code: "written" }] }],
    extension: [minutesSpent(12)],
    ...changes,
  });

  it("a consultation request from practitioner to practitioner, and the report on it, name each other", () => {
    // Act
    const mapped = factsOf(consultRequest(), consultReport());

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.facts).toEqual([
      {
        kind: "consult-request",
        id: "ServiceRequest/myringotomy",
        ...housekeeping,
        patientId: "77662",
        at: "2014-02-14T09:30:00+11:00",
        requesterId: "77272",
        consultantId: "76597",
        seconds: 1080,
        diagnosisCodes: ["H66.91"],
      },
      {
        kind: "consult-report",
        id: "Communication/example",
        ...housekeeping,
        patientId: "example",
        at: "2014-12-12T18:01:10-08:00",
        requestId: "ServiceRequest/myringotomy",
        consultantId: "76597",
        report: "written",
        seconds: 720,
        transferOfCare: false,
        diagnosisCodes: [],
      },
    ]);
  });

  it("the spec's example as published (a referral to a specialist) is no consult", () => {
    const mapped = factsOf(upstream<ServiceRequest>("servicerequest-example-myringotomy"));

    expect(mapped.facts).toEqual([]);
    expect(mapped.ignored).toEqual([{ reference: "ServiceRequest/myringotomy", reason: "not-a-consult" }]);
  });

  it("the consultation code in `code` marks it as well as in `category`", () => {
    const coded = consultRequest({
      category: undefined,
      code: { coding: [{ system: "http://snomed.info/sct", code: "11429006" }] },
    });
    expect(factsOf(coded).facts).toMatchObject([{ kind: "consult-request" }]);
  });

  it.each([
    ["a performer that is no practitioner", { performer: [{ reference: "Organization/ent-clinic" }] }],
    ["no requester", { requester: undefined }],
  ])("%s: not a consult between practitioners, ignored", (_name, changes) => {
    expect(factsOf(consultRequest(changes)).ignored).toEqual([
      { reference: "ServiceRequest/myringotomy", reason: "not-a-consult" },
    ]);
  });

  it.each([
    ["active", false],
    ["on-hold", false],
    ["completed", false],
    ["revoked", true],
    ["entered-in-error", true],
  ] as const)("status %s: a request (retracted: %s)", (status, retracted) => {
    expect(factsOf(consultRequest({ status })).facts).toMatchObject([{ kind: "consult-request", retracted }]);
  });

  it("a draft was never sent: ignored as not in effect", () => {
    expect(factsOf(consultRequest({ status: "draft" })).ignored).toEqual([
      { reference: "ServiceRequest/myringotomy", reason: "not-in-effect" },
    ]);
  });

  it("authoredOn as the spec's example writes it (a date): that day's start in UTC; no time spent: zero", () => {
    const dated = consultRequest({ authoredOn: "2014-02-14", extension: undefined });
    expect(factsOf(dated).facts).toMatchObject([{ at: "2014-02-14T00:00:00Z", seconds: 0 }]);
  });

  it("a verbal and written report, ending in a transfer of care", () => {
    const report = consultReport({
      category: [{ coding: [{ system: CONSULT_REPORT, code: "verbal-and-written" }] }],
      extension: [minutesSpent(25), { url: TRANSFER_OF_CARE, valueBoolean: true }],
    });
    expect(factsOf(report).facts).toMatchObject([
      { kind: "consult-report", report: "verbal-and-written", seconds: 1500, transferOfCare: true },
    ]);
  });

  it("without the report category, or based on no ServiceRequest, the consultant's message stays clinician activity", () => {
    const uncategorized = consultReport({ category: undefined });
    const unbased = consultReport({ id: "unbased", basedOn: [{ reference: "CarePlan/example" }] });

    expect(factsOf(uncategorized, unbased).facts).toMatchObject([
      { kind: "clinician-activity", recipient: "practitioner", seconds: 720 },
      { kind: "clinician-activity", id: "Communication/unbased", recipient: "practitioner" },
    ]);
  });
});

it("notifications naming an EpisodeOfCare or a ServiceRequest (id-only) are worth fetching; a CarePlan is context", () => {
  expect(factTypes.has("EpisodeOfCare")).toBe(true);
  expect(factTypes.has("ServiceRequest")).toBe(true);
  expect(factTypes.has("CarePlan")).toBe(false);
});
