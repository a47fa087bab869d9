import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type {
  Appointment,
  Bundle,
  Communication,
  Consent,
  Encounter,
  Parameters,
  ParametersParameter,
  Practitioner,
  Resource,
  SubscriptionStatus,
} from "@medplum/fhirtypes";
import { describe, expect, it, vi } from "vitest";
import { factSchema } from "../../../functions/domain/facts.js";
import {
  InvalidEnvelopeError,
  ResourceFetchError,
  UnauthorizedDeliveryError,
  UnmappableDeliveryError,
} from "../../../functions/vendors/errors.js";
import { ResourceGoneError } from "../../../functions/vendors/fhir/fetcher.js";
import { createFhirFormat, fhir } from "../../../functions/vendors/fhir/format.js";
import type { InboundRequest, ResourceFetcher } from "../../../functions/vendors/format.js";
import { scenarioFacts } from "../../fixtures/scenarios/facts.js";

const BASE = "https://ehr.example.org/fhir";
const SECRETS = ["portal-secret-2025", "portal-secret-2026"] as const;
const TIME_SPENT = "https://portaltime.dev/fhir/StructureDefinition/time-spent";
const ICD10 = "http://hl7.org/fhir/sid/icd-10-cm";
/** Values in the fixtures that must never reach an error message or a skip reason. */
const PHI = ["Rivera", "glucose", "1961-04-02"];

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/vendors/fhir/${name}.json`, import.meta.url));
const fixtureJson = (name: string): Bundle => JSON.parse(fixture(name).toString("utf8"));
const bytes = (json: unknown): Buffer => Buffer.from(JSON.stringify(json));

const request = (body: Buffer, headers: Record<string, string> = {}): InboundRequest => ({
  method: "POST",
  path: "/webhooks/fhir",
  rawQuery: "",
  headers: { "content-type": "application/fhir+json", ...headers },
  body,
});
const bearer = (secret: string) => ({ authorization: `Bearer ${secret}` });
const hubSignature = (body: Buffer, secret: string) => ({
  "x-hub-signature": `sha256=${createHmac("sha256", secret).update(body).digest("hex")}`,
});
const groupOf = (reference: string) => createHash("sha256").update(reference).digest("hex").slice(0, 32);

const noFetch: ResourceFetcher = () => Promise.reject(new Error("no fetch expected"));

async function factsOf(body: Buffer, fetchResource: ResourceFetcher = noFetch) {
  return fhir.toFacts(fhir.accept(request(body)), fetchResource);
}

/** A full-resource R4 notification about `resources`, the first of them its focus. */
function notificationOf(...resources: Resource[]): Buffer {
  const focus = resources[0];
  const status: Parameters = {
    resourceType: "Parameters",
    parameter: [
      { name: "subscription", valueReference: { reference: `${BASE}/Subscription/sub-portal` } },
      { name: "type", valueCode: "event-notification" },
      {
        name: "notification-event",
        part: [
          { name: "event-number", valueString: "30" },
          { name: "focus", valueReference: { reference: `${focus?.resourceType}/${focus?.id}` } },
        ],
      },
    ],
  };
  const bundle: Bundle = {
    resourceType: "Bundle",
    type: "history",
    entry: [
      { resource: status },
      ...resources.map((resource) => ({
        fullUrl: `${BASE}/${resource.resourceType}/${resource.id}`,
        resource,
      })),
    ],
  };
  return bytes(bundle);
}

function errorOf(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("fhir: authenticate", () => {
  const body = fixture("r4-inquiry");
  const now = new Date("2026-03-02T14:00:01Z");

  it("accepts the subscription's bearer secret", () => {
    expect(() => fhir.authenticate(request(body, bearer(SECRETS[0])), SECRETS, now)).not.toThrow();
  });

  it("accepts the second of two active secrets (rotation)", () => {
    expect(() => fhir.authenticate(request(body, bearer(SECRETS[1])), SECRETS, now)).not.toThrow();
  });

  it("rejects a wrong bearer secret", () => {
    const error = errorOf(() => fhir.authenticate(request(body, bearer("guessed")), SECRETS, now));
    expect(error).toBeInstanceOf(UnauthorizedDeliveryError);
    expect(error).toMatchObject({ reason: "bad-signature", status: 401 });
  });

  it("rejects a delivery with neither credential header", () => {
    const error = errorOf(() => fhir.authenticate(request(body), SECRETS, now));
    expect(error).toMatchObject({ reason: "missing-signature" });
  });

  it("rejects a non-bearer Authorization scheme", () => {
    const error = errorOf(() =>
      fhir.authenticate(request(body, { authorization: `Basic ${SECRETS[0]}` }), SECRETS, now),
    );
    expect(error).toMatchObject({ reason: "bad-signature" });
  });

  it("never matches an empty secret, even against an empty token", () => {
    const error = errorOf(() => fhir.authenticate(request(body, { authorization: "Bearer " }), [""], now));
    expect(error).toMatchObject({ reason: "bad-signature" });
  });

  it("accepts athenahealth's X-Hub-Signature alone, under the rotated secret", () => {
    expect(() =>
      fhir.authenticate(request(body, hubSignature(body, SECRETS[1])), SECRETS, now),
    ).not.toThrow();
  });

  it("accepts a bearer secret together with a valid X-Hub-Signature", () => {
    const headers = { ...bearer(SECRETS[0]), ...hubSignature(body, SECRETS[0]) };
    expect(() => fhir.authenticate(request(body, headers), SECRETS, now)).not.toThrow();
  });

  it("rejects a tampered body: the signature covers the raw bytes", () => {
    // Prepare
    const headers = hubSignature(body, SECRETS[0]);
    const tampered = Buffer.from(body.toString("utf8").replace('"valueString": "8"', '"valueString": "9"'));

    // Act
    const error = errorOf(() => fhir.authenticate(request(tampered, headers), SECRETS, now));

    // Assess
    expect(tampered.equals(body)).toBe(false);
    expect(error).toMatchObject({ reason: "bad-signature" });
  });

  it("rejects an X-Hub-Signature made with a key that is not active", () => {
    const error = errorOf(() =>
      fhir.authenticate(request(body, hubSignature(body, "retired")), SECRETS, now),
    );
    expect(error).toMatchObject({ reason: "bad-signature" });
  });

  it("rejects a valid bearer secret when the X-Hub-Signature it comes with fails", () => {
    const headers = { ...bearer(SECRETS[0]), ...hubSignature(body, "retired") };
    const error = errorOf(() => fhir.authenticate(request(body, headers), SECRETS, now));
    expect(error).toMatchObject({ reason: "bad-signature" });
  });

  it.each([
    ["sha1 algorithm", `sha1=${createHmac("sha1", SECRETS[0]).update(body).digest("hex")}`],
    ["no algorithm", createHmac("sha256", SECRETS[0]).update(body).digest("hex")],
    ["truncated hex", `sha256=${createHmac("sha256", SECRETS[0]).update(body).digest("hex").slice(0, 40)}`],
  ])("rejects a malformed X-Hub-Signature (%s)", (_case, signature) => {
    const error = errorOf(() =>
      fhir.authenticate(request(body, { "x-hub-signature": signature }), SECRETS, now),
    );
    expect(error).toMatchObject({ reason: "bad-signature" });
  });
});

describe("fhir: authenticate with the secret header the subscriptions name (channel.header)", () => {
  const body = fixture("r4-inquiry");
  const now = new Date("2026-03-02T14:00:01Z");
  const withApiKey = createFhirFormat({ secretHeaders: ["authorization", "x-api-key"] });

  it("accepts `x-api-key: <secret>` when the deployment names that header", () => {
    expect(() =>
      withApiKey.authenticate(request(body, { "x-api-key": SECRETS[1] }), SECRETS, now),
    ).not.toThrow();
  });

  it("still accepts the bearer secret beside it", () => {
    expect(() => withApiKey.authenticate(request(body, bearer(SECRETS[0])), SECRETS, now)).not.toThrow();
  });

  it("rejects a wrong x-api-key, naming the header and never the value", () => {
    // Act
    const error = errorOf(() =>
      withApiKey.authenticate(request(body, { "x-api-key": "guessed" }), SECRETS, now),
    );

    // Assess
    expect(error).toMatchObject({ reason: "bad-signature", header: "x-api-key", status: 401 });
    expect(String(error)).not.toContain("guessed");
  });

  it("rejects a good bearer secret when the x-api-key beside it fails", () => {
    const headers = { ...bearer(SECRETS[0]), "x-api-key": "guessed" };
    const error = errorOf(() => withApiKey.authenticate(request(body, headers), SECRETS, now));
    expect(error).toMatchObject({ reason: "bad-signature", header: "x-api-key" });
  });

  it("ignores x-api-key when the deployment does not name it: the delivery carries no credential", () => {
    const error = errorOf(() => fhir.authenticate(request(body, { "x-api-key": SECRETS[0] }), SECRETS, now));
    expect(error).toMatchObject({ reason: "missing-signature" });
  });

  it("an x-api-key deployment no longer reads Authorization when it is not named", () => {
    const apiKeyOnly = createFhirFormat({ secretHeaders: ["x-api-key"] });
    const error = errorOf(() => apiKeyOnly.authenticate(request(body, bearer(SECRETS[0])), SECRETS, now));
    expect(error).toMatchObject({ reason: "missing-signature" });
  });
});

describe("fhir: accept", () => {
  it("R4 handshake: answered and recorded, keyed by its bytes", () => {
    // Act
    const accepted = fhir.accept(request(fixture("r4-handshake")));

    // Assess
    expect(accepted).toMatchObject({
      format: "fhir",
      kind: "handshake",
      subscription: "Subscription/sub-portal",
      eventNumber: 0,
      groupKey: groupOf("Subscription/sub-portal"),
    });
    expect(accepted.dedupeKey).toBe(
      `fhir:body:${createHash("sha256").update(fixture("r4-handshake")).digest("hex")}`,
    );
  });

  it("R4 heartbeat: kind heartbeat with the server's event count", () => {
    expect(fhir.accept(request(fixture("r4-heartbeat")))).toMatchObject({
      kind: "heartbeat",
      eventNumber: 7,
    });
  });

  it("R5 handshake (SubscriptionStatus): kind handshake", () => {
    expect(fhir.accept(request(fixture("r5-handshake")))).toMatchObject({
      kind: "handshake",
      subscription: "Subscription/sub-portal",
    });
  });

  it.each([
    ["query-status", "query"],
    ["query-event", "query"],
  ] as const)("R5 %s: kind %s, nothing to map", (type, kind) => {
    const bundle = fixtureJson("r5-handshake");
    const status = bundle.entry?.[0]?.resource as SubscriptionStatus;
    status.type = type;
    expect(fhir.accept(request(bytes(bundle)))).toMatchObject({ kind });
  });

  it("R4 event: dedupes on subscription + event number and groups by the bundle's patient", () => {
    // Act
    const accepted = fhir.accept(request(fixture("r4-inquiry")));

    // Assess
    expect(accepted).toMatchObject({
      kind: "event",
      dedupeKey: "fhir:Subscription/sub-portal#8",
      groupKey: groupOf("Patient/pub-1"),
      subscription: "Subscription/sub-portal",
      eventNumber: 8,
    });
    expect(accepted.payload).toEqual(fixtureJson("r4-inquiry"));
  });

  it("R5 event: camelCase status, string integer64 counters, extra fields tolerated", () => {
    expect(fhir.accept(request(fixture("r5-inquiry")))).toMatchObject({
      kind: "event",
      dedupeKey: "fhir:Subscription/sub-portal#21",
      groupKey: groupOf("Patient/pub-1"),
      eventNumber: 21,
    });
  });

  it("athenahealth: dedupes on the notification event id, groups by the patient in additionalContext", () => {
    expect(fhir.accept(request(fixture("r4b-athena-id-only")))).toMatchObject({
      kind: "event",
      dedupeKey: "fhir:event:cb6cc377-ee38-31ba-9482-f93f821cd169",
      groupKey: groupOf("Patient/a-432.E-5285"),
      subscription: "Subscription/a9c3784c-9f56-4b32-95b0-882868d39e58",
    });
  });

  it("id-only without a patient anywhere: groups by the focus", () => {
    expect(fhir.accept(request(fixture("r4-id-only"))).groupKey).toBe(groupOf("Communication/r2"));
  });

  it("without event ids or numbers: dedupes on a digest of each focus and its version", () => {
    // Prepare
    const withoutNumbers = (versionId: string) => {
      const bundle = fixtureJson("r4-reply");
      const status = bundle.entry?.[0]?.resource as Parameters;
      for (const parameter of status.parameter ?? []) {
        parameter.part = parameter.part?.filter((part) => part.name !== "event-number");
      }
      const reply = bundle.entry?.[1]?.resource as Communication;
      reply.meta = { ...reply.meta, versionId };
      return bytes(bundle);
    };

    // Act
    const first = fhir.accept(request(withoutNumbers("2")));
    const corrected = fhir.accept(request(withoutNumbers("3")));

    // Assess
    expect(first.dedupeKey).toBe(
      `fhir:focus:${createHash("sha256").update("Communication/r1@2").digest("hex")}`,
    );
    expect(corrected.dedupeKey).not.toBe(first.dedupeKey);
    expect(first.eventNumber).toBe(9);
  });

  it("a batched notification: one key for all its events, the highest event number for gap detection", () => {
    // Prepare
    const bundle = fixtureJson("r4-inquiry");
    const status = bundle.entry?.[0]?.resource as Parameters;
    status.parameter?.push({
      name: "notification-event",
      part: [
        { name: "event-number", valueString: "9" },
        { name: "focus", valueReference: { reference: `${BASE}/Communication/r1` } },
      ],
    });

    // Act
    const accepted = fhir.accept(request(bytes(bundle)));

    // Assess
    expect(accepted.dedupeKey).toBe(
      `fhir:Subscription/sub-portal#${createHash("sha256").update("8\n9").digest("hex")}`,
    );
    expect(accepted.eventNumber).toBe(9);
  });

  describe("envelope errors name the failing path and never echo its value", () => {
    const r4 = (edit: (status: Parameters) => void) => {
      const bundle = fixtureJson("r4-inquiry");
      edit(bundle.entry?.[0]?.resource as Parameters);
      return bytes(bundle);
    };
    const r5 = (edit: (status: SubscriptionStatus) => void) => {
      const bundle = fixtureJson("r5-inquiry");
      edit(bundle.entry?.[0]?.resource as SubscriptionStatus);
      return bytes(bundle);
    };
    const parameterNamed = (status: Parameters, name: string): ParametersParameter =>
      status.parameter?.find((parameter) => parameter.name === name) ?? { name };

    it.each([
      ["body that is not JSON", Buffer.from("Synthetic Rivera <html>"), "body"],
      ["bundle of the wrong type", bytes({ ...fixtureJson("r4-inquiry"), type: "Synthetic Rivera" }), "type"],
      ["not a bundle", bytes({ resourceType: "Patient", name: [{ family: "Rivera" }] }), "resourceType"],
      ["bundle without entries", bytes({ ...fixtureJson("r4-inquiry"), entry: [] }), "entry.0"],
      [
        "entry 0 that is not a status",
        bytes({ ...fixtureJson("r4-inquiry"), entry: fixtureJson("r4-inquiry").entry?.slice(1) }),
        "entry.0.resource.resourceType",
      ],
      [
        "R4 status without a type parameter",
        r4((status) => {
          status.parameter = status.parameter?.filter((parameter) => parameter.name !== "type");
        }),
        "entry.0.resource.parameter",
      ],
      [
        "R4 status with an unknown type",
        r4((status) => {
          parameterNamed(status, "type").valueCode = "Synthetic Rivera";
        }),
        "entry.0.resource.parameter.3.valueCode",
      ],
      [
        "R4 event number that is not a number",
        r4((status) => {
          const eventNumber = parameterNamed(status, "notification-event").part?.[0] ?? {
            name: "event-number",
          };
          eventNumber.valueString = "Rivera";
        }),
        "entry.0.resource.parameter.5.part.0.valueString",
      ],
      [
        "R5 status with an unknown type",
        r5((status) => {
          (status as { type: string }).type = "Synthetic Rivera";
        }),
        "entry.0.resource.type",
      ],
      [
        "R5 event number that is not a number",
        r5((status) => {
          const event = status.notificationEvent?.[0];
          if (event) event.eventNumber = "Rivera";
        }),
        "entry.0.resource.notificationEvent.0.eventNumber",
      ],
    ])("%s", (_case, body, path) => {
      // Act
      const error = errorOf(() => fhir.accept(request(body)));

      // Assess
      expect(error).toBeInstanceOf(InvalidEnvelopeError);
      expect(error).toMatchObject({ path, status: 400 });
      for (const value of [...PHI, "Synthetic"]) expect((error as Error).message).not.toContain(value);
    });
  });
});

describe("fhir: toFacts", () => {
  it("a patient's Communication is an inquiry; the bundled Patient is context only", async () => {
    // Act
    const mapped = await factsOf(fixture("r4-inquiry"));

    // Assess
    expect(mapped.facts).toEqual([
      {
        kind: "inquiry",
        id: "Communication/m1",
        version: 1,
        dedupeKey: "fhir:Subscription/sub-portal#8",
        patientId: "pub-1",
        retracted: false,
        messageId: "Communication/m1",
        at: "2026-03-02T14:00:00Z",
        author: "patient",
        diagnosisCodes: ["E11.9"],
      },
    ]);
    expect(mapped.ignored).toEqual([{ reference: "Patient/pub-1", reason: "context-only" }]);
    expect(mapped.skipped).toEqual([]);
  });

  it("a practitioner's reply is clinician activity with time spent, credential and NPI from the bundle", async () => {
    // Act
    const mapped = await factsOf(fixture("r4-reply"));

    // Assess
    expect(mapped.facts).toEqual([
      {
        kind: "clinician-activity",
        id: "Communication/r1",
        version: 2,
        dedupeKey: "fhir:Subscription/sub-portal#9",
        patientId: "pub-1",
        retracted: false,
        messageId: "Communication/r1",
        inResponseTo: "Communication/m1",
        at: "2026-03-02T19:00:00Z",
        practitionerId: "dr-adams",
        // RN and MD held: the stronger credential counts.
        qualification: "MD",
        npi: "1003000126",
        seconds: 390,
        diagnosisCodes: ["E11.9", "R73.01"],
      },
    ]);
  });

  it("a caregiver's message (R5 notification) is an inquiry by a related person", async () => {
    const mapped = await factsOf(fixture("r5-inquiry"));
    expect(mapped.facts).toMatchObject([
      { kind: "inquiry", id: "Communication/m5", author: "related-person", at: "2026-03-03T08:00:00-05:00" },
    ]);
  });

  describe("time spent (the portaltime extension)", () => {
    const reply = (extension: Communication["extension"]): Communication => ({
      resourceType: "Communication",
      id: "r9",
      status: "completed",
      subject: { reference: "Patient/pub-1" },
      sender: { reference: "Practitioner/np-baker" },
      sent: "2026-03-04T15:30:00Z",
      extension,
    });

    it.each([
      ["minutes, rounded to the second", { value: 7.25, code: "min" }, 435],
      ["hours", { value: 0.5, code: "h" }, 1800],
      ["seconds", { value: 95, code: "s" }, 95],
      ["a unit given only as `unit`", { value: 6, unit: "min" }, 360],
    ])("%s", async (_case, valueDuration, seconds) => {
      const mapped = await factsOf(notificationOf(reply([{ url: TIME_SPENT, valueDuration }])));
      expect(mapped.facts).toMatchObject([{ kind: "clinician-activity", seconds }]);
    });

    it("no extension: zero seconds, kept for audit", async () => {
      const mapped = await factsOf(notificationOf(reply(undefined)));
      expect(mapped.facts).toMatchObject([
        { kind: "clinician-activity", seconds: 0, practitionerId: "np-baker" },
      ]);
    });

    it("a unit other than min, h or s: skipped with the reason", async () => {
      const mapped = await factsOf(
        notificationOf(reply([{ url: TIME_SPENT, valueDuration: { value: 1, code: "wk" } }])),
      );
      expect(mapped).toEqual({
        facts: [],
        retractions: [],
        ignored: [],
        skipped: [
          {
            reference: "Communication/r9",
            reason: "time-spent extension has no valueDuration in min, h or s",
          },
        ],
      });
    });

    it("more than a day: the fact fails its schema and is skipped, naming the field", async () => {
      const mapped = await factsOf(
        notificationOf(reply([{ url: TIME_SPENT, valueDuration: { value: 25, code: "h" } }])),
      );
      expect(mapped.skipped).toEqual([
        { reference: "Communication/r9", reason: "mapped fact is invalid at seconds" },
      ]);
    });
  });

  describe("senders and message states", () => {
    const message = (fields: Partial<Communication>): Communication => ({
      resourceType: "Communication",
      id: "m7",
      status: "completed",
      subject: { reference: "Patient/pub-1" },
      sent: "2026-03-04T15:30:00Z",
      ...fields,
    });

    it("a PractitionerRole sender stands for the Practitioner the bundle gives it", async () => {
      // Prepare
      const body = notificationOf(message({ sender: { reference: "PractitionerRole/role-1" } }), {
        resourceType: "PractitionerRole",
        id: "role-1",
        practitioner: { reference: "Practitioner/pt-chen" },
      });

      // Act
      const mapped = await factsOf(body);

      // Assess
      expect(mapped.facts).toMatchObject([{ kind: "clinician-activity", practitionerId: "pt-chen" }]);
    });

    it("a PractitionerRole the bundle does not carry keeps the role id", async () => {
      const mapped = await factsOf(
        notificationOf(message({ sender: { reference: "PractitionerRole/role-1" } })),
      );
      expect(mapped.facts).toMatchObject([{ practitionerId: "role-1" }]);
    });

    it("a message entered in error is retracted", async () => {
      const mapped = await factsOf(
        notificationOf(message({ status: "entered-in-error", sender: { reference: "Patient/pub-1" } })),
      );
      expect(mapped.facts).toMatchObject([{ kind: "inquiry", retracted: true }]);
    });

    it("a patient sender stands in for a missing subject", async () => {
      const mapped = await factsOf(
        notificationOf(message({ subject: undefined, sender: { reference: `${BASE}/Patient/pub-4` } })),
      );
      expect(mapped.facts).toMatchObject([{ kind: "inquiry", patientId: "pub-4" }]);
    });

    it.each([
      ["an Organization sender", { sender: { reference: "Organization/clinic" } }, "unmapped-sender"],
      ["no sent instant", { sender: { reference: "Patient/pub-1" }, sent: undefined }, "no-time"],
      [
        "a Group subject",
        { sender: { reference: "Practitioner/dr-adams" }, subject: { reference: "Group/g1" } },
        "no-patient",
      ],
    ])(
      "ignores a message with %s: nothing billable, nothing to dead-letter",
      async (_case, fields, reason) => {
        const mapped = await factsOf(notificationOf(message(fields)));
        expect(mapped.facts).toEqual([]);
        expect(mapped.ignored).toEqual([{ reference: "Communication/m7", reason }]);
        expect(mapped.skipped).toEqual([]);
      },
    );
  });

  describe("practitioner credentials from the bundle (used when the roster does not know them, R4)", () => {
    const withQualifications = (qualification: Practitioner["qualification"]) =>
      notificationOf(
        {
          resourceType: "Communication",
          id: "r3",
          subject: { reference: "Patient/pub-1" },
          sender: { reference: "Practitioner/p1" },
          sent: "2026-03-04T15:30:00Z",
          status: "completed",
        } satisfies Communication,
        { resourceType: "Practitioner", id: "p1", qualification } satisfies Practitioner,
      );
    const v2 = (code: string) => ({
      code: { coding: [{ system: "http://terminology.hl7.org/CodeSystem/v2-0360", code }] },
    });
    const local = (code: string) => ({ code: { coding: [{ code }] } });

    it.each([
      ["v2-0360 DO", [v2("DO")], "DO"],
      ["v2-0360 certified nurse practitioner", [v2("CNP")], "NP"],
      ["v2-0360 MA is a Master of Arts, not a medical assistant", [v2("MA")], undefined],
      ["v2-0360 certified medical assistant", [v2("CMA")], "MA"],
      ["a local code with dots", [local("P.T.")], "PT"],
      ["a local alias", [local("DPT")], "PT"],
      ["text only", [{ code: { text: "LCSW" } }], "LCSW"],
      ["the strongest of several", [v2("RN"), local("NP")], "NP"],
      [
        "an expired qualification is ignored",
        [{ ...v2("MD"), period: { end: "2025-12-31" } }, v2("RN")],
        "RN",
      ],
    ])("%s", async (_case, qualification, credential) => {
      const mapped = await factsOf(withQualifications(qualification));
      expect(mapped.facts).toHaveLength(1);
      expect(mapped.facts[0]).toMatchObject({ practitionerId: "p1" });
      expect((mapped.facts[0] as { qualification?: string }).qualification).toBe(credential);
    });
  });

  it("an Encounter is a visit with codes from reasonCode and the bundled diagnosis Condition", async () => {
    // Act
    const mapped = await factsOf(fixture("r4-encounter"));

    // Assess
    expect(mapped.facts).toEqual([
      {
        kind: "visit",
        id: "Encounter/e1",
        version: 3,
        dedupeKey: "fhir:Subscription/sub-portal#10",
        patientId: "pub-1",
        retracted: false,
        at: "2026-03-05T15:00:00Z",
        status: "finished",
        modality: "virtual",
        source: "encounter",
        practitionerId: "dr-adams",
        diagnosisCodes: ["I10", "E11.9"],
      },
    ]);
    expect(mapped.ignored).toEqual([{ reference: "Condition/c1", reason: "context-only" }]);
  });

  describe("R10: Encounter and Appointment statuses", () => {
    const encounter = (status: Encounter["status"], code = "AMB"): Encounter => ({
      resourceType: "Encounter",
      id: "e2",
      status,
      class: { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code },
      subject: { reference: "Patient/pub-1" },
      period: { start: "2026-03-05T15:00:00Z" },
    });
    const appointment = (status: Appointment["status"]): Appointment => ({
      resourceType: "Appointment",
      id: "a2",
      status,
      start: "2026-03-06T15:30:00Z",
      participant: [{ actor: { reference: "Patient/pub-1" }, status: "accepted" }],
    });

    it.each([
      ["planned", "scheduled"],
      ["arrived", "arrived"],
      ["triaged", "arrived"],
      ["in-progress", "in-progress"],
      ["onleave", "in-progress"],
      ["finished", "finished"],
      ["cancelled", "cancelled"],
      ["entered-in-error", "entered-in-error"],
    ] as const)("Encounter %s -> %s", async (status, expected) => {
      const mapped = await factsOf(notificationOf(encounter(status)));
      expect(mapped.facts).toMatchObject([{ kind: "visit", status: expected, modality: "in-person" }]);
    });

    it("Encounter unknown: ignored, it says nothing about the visit", async () => {
      const mapped = await factsOf(notificationOf(encounter("unknown")));
      expect(mapped.ignored).toEqual([{ reference: "Encounter/e2", reason: "unknown-status" }]);
      expect(mapped.skipped).toEqual([]);
    });

    it("Encounter of a class that is no visit (pre-admission): ignored", async () => {
      const mapped = await factsOf(notificationOf(encounter("finished", "PRENC")));
      expect(mapped.ignored).toEqual([{ reference: "Encounter/e2", reason: "not-a-visit" }]);
    });

    it("Encounter without a period (the HL7 Backport IG's example): ignored, no time to place it", async () => {
      const mapped = await factsOf(notificationOf({ ...encounter("in-progress"), period: undefined }));
      expect(mapped).toMatchObject({
        facts: [],
        ignored: [{ reference: "Encounter/e2", reason: "no-time" }],
      });
      expect(mapped.skipped).toEqual([]);
    });

    it.each([
      ["proposed", "scheduled"],
      ["pending", "scheduled"],
      ["booked", "scheduled"],
      ["arrived", "arrived"],
      ["checked-in", "arrived"],
      ["fulfilled", "finished"],
      ["cancelled", "cancelled"],
      ["noshow", "no-show"],
      ["entered-in-error", "entered-in-error"],
    ] as const)("Appointment %s -> %s", async (status, expected) => {
      const mapped = await factsOf(notificationOf(appointment(status)));
      expect(mapped.facts).toMatchObject([{ kind: "visit", status: expected, source: "appointment" }]);
    });
  });

  it("an Appointment is a visit at its start, with its patient and practitioner participants", async () => {
    const mapped = await factsOf(fixture("r4-appointment"));
    expect(mapped.facts).toEqual([
      {
        kind: "visit",
        id: "Appointment/a1",
        version: 5,
        dedupeKey: "fhir:Subscription/sub-portal#11",
        patientId: "pub-1",
        retracted: false,
        at: "2026-03-06T15:30:00Z",
        status: "finished",
        modality: "in-person",
        source: "appointment",
        practitionerId: "np-baker",
        diagnosisCodes: ["M54.50"],
      },
    ]);
  });

  it("a Consent is a consent fact dated by its dateTime", async () => {
    const mapped = await factsOf(fixture("r4-consent"));
    expect(mapped.facts).toEqual([
      {
        kind: "consent",
        id: "Consent/k1",
        version: 1,
        dedupeKey: "fhir:Subscription/sub-portal#12",
        patientId: "pub-1",
        retracted: false,
        at: "2026-01-15T10:00:00-05:00",
        status: "active",
      },
    ]);
  });

  it.each([
    [
      "a date without time: the day's start in UTC",
      { dateTime: "2026-01-15" },
      { at: "2026-01-15T00:00:00Z" },
    ],
    ["proposed reads as draft", { status: "proposed" as const }, { status: "draft" }],
  ])("Consent: %s", async (_case, fields, expected) => {
    const agreement: Consent = {
      resourceType: "Consent",
      id: "k2",
      status: "active",
      scope: { text: "treatment" },
      category: [{ text: "communication" }],
      patient: { reference: "Patient/pub-1" },
      dateTime: "2026-01-15T10:00:00Z",
      ...fields,
    };
    const mapped = await factsOf(notificationOf(agreement));
    expect(mapped.facts).toMatchObject([{ kind: "consent", ...expected }]);
  });

  it("a resource type the domain does not use is ignored with the reason, not an error", async () => {
    const mapped = await factsOf(
      notificationOf({ resourceType: "Observation", id: "o1", status: "final", code: { text: "glucose" } }),
    );
    expect(mapped).toEqual({
      facts: [],
      retractions: [],
      ignored: [{ reference: "Observation/o1", reason: "unmapped-type" }],
      skipped: [],
    });
  });

  it("a resource that breaks its schema is skipped naming the field", async () => {
    const broken = {
      resourceType: "Encounter",
      id: "e3",
      status: 7,
      subject: { reference: "Patient/pub-1" },
    };
    const mapped = await factsOf(notificationOf(broken as unknown as Resource));
    expect(mapped.skipped).toEqual([
      { reference: "Encounter/e3", reason: "resource does not match its schema at status" },
    ]);
  });

  it("id-only: fetches each focus by its relative reference and maps it", async () => {
    // Prepare
    const fetched: Communication = {
      resourceType: "Communication",
      id: "r2",
      meta: { versionId: "1" },
      status: "completed",
      subject: { reference: "Patient/pub-1" },
      sender: { reference: "Practitioner/np-baker" },
      sent: "2026-03-04T15:30:00Z",
      inResponseTo: [{ reference: "Communication/m1" }],
      extension: [{ url: TIME_SPENT, valueDuration: { value: 7, code: "min" } }],
      reasonCode: [{ coding: [{ system: ICD10, code: "E11.9" }] }],
    };
    const fetchResource = vi.fn<ResourceFetcher>().mockResolvedValue(fetched);

    // Act
    const mapped = await factsOf(fixture("r4-id-only"), fetchResource);

    // Assess
    expect(fetchResource).toHaveBeenCalledExactlyOnceWith("Communication/r2");
    expect(mapped.facts).toMatchObject([
      { kind: "clinician-activity", id: "Communication/r2", practitionerId: "np-baker", seconds: 420 },
    ]);
  });

  it("id-only (athenahealth): fetches the Encounter the event names", async () => {
    const fetchResource = vi.fn<ResourceFetcher>().mockResolvedValue({
      resourceType: "Encounter",
      id: "a-432.encounter-88",
      status: "arrived",
      class: { code: "AMB" },
      subject: { reference: "Patient/a-432.E-5285" },
      period: { start: "2026-03-05T15:00:00Z" },
    } satisfies Encounter);

    const mapped = await factsOf(fixture("r4b-athena-id-only"), fetchResource);

    expect(fetchResource).toHaveBeenCalledExactlyOnceWith("Encounter/a-432.encounter-88");
    expect(mapped.facts).toMatchObject([{ kind: "visit", patientId: "a-432.E-5285", status: "arrived" }]);
  });

  describe("a focus named only by an identifier", () => {
    /** The athenahealth fixture with its event's focus replaced by `focus`. */
    const withFocus = (focus: object): Buffer => {
      const bundle = fixtureJson("r4b-athena-id-only");
      const status = bundle.entry?.[0]?.resource as SubscriptionStatus;
      const [event] = status.notificationEvent ?? [];
      if (event) event.focus = focus;
      return bytes(bundle);
    };

    it("athenahealth's appointment system: searched as an Appointment by its identifier", async () => {
      // Prepare
      const system = "urn:athenahealth:athenanet:appointment:432";
      const fetchResource = vi.fn<ResourceFetcher>().mockResolvedValue({
        resourceType: "Appointment",
        id: "a-432.appointment-7",
        status: "fulfilled",
        start: "2026-03-05T15:00:00Z",
        participant: [{ actor: { reference: "Patient/a-432.E-5285" }, status: "accepted" }],
      } satisfies Appointment);

      // Act
      const mapped = await factsOf(withFocus({ identifier: { system, value: "7" } }), fetchResource);

      // Assess
      expect(fetchResource).toHaveBeenCalledExactlyOnceWith(`Appointment?identifier=${system}|7`);
      expect(mapped.facts).toMatchObject([{ kind: "visit", id: "Appointment/a-432.appointment-7" }]);
    });

    it("a declared type (or its StructureDefinition URL) names the resource to search", async () => {
      const fetchResource = vi.fn<ResourceFetcher>().mockRejectedValue(new ResourceFetchError("x", 503));
      const focus = {
        type: "http://hl7.org/fhir/StructureDefinition/Encounter",
        identifier: { system: "https://ehr.example.org/visits", value: "v-9" },
      };
      await expect(factsOf(withFocus(focus), fetchResource)).rejects.toBeInstanceOf(ResourceFetchError);
      expect(fetchResource).toHaveBeenCalledExactlyOnceWith(
        "Encounter?identifier=https://ehr.example.org/visits|v-9",
      );
    });

    it("an athenaOne entity no fact comes from (an order): ignored, not fetched", async () => {
      const fetchResource = vi.fn<ResourceFetcher>();
      const focus = { identifier: { system: "urn:athenahealth:athenanet:order:432", value: "157479" } };
      const mapped = await factsOf(withFocus(focus), fetchResource);
      expect(fetchResource).not.toHaveBeenCalled();
      expect(mapped.ignored).toEqual([
        {
          reference: "athenaOne:order?identifier=urn:athenahealth:athenanet:order:432|157479",
          reason: "unmapped-type",
        },
      ]);
    });

    it("an identifier of no known system and no type: skipped with the reason (someone must look)", async () => {
      const fetchResource = vi.fn<ResourceFetcher>();
      const focus = { identifier: { system: "https://ehr.example.org/ids", value: "1" } };
      const mapped = await factsOf(withFocus(focus), fetchResource);
      expect(fetchResource).not.toHaveBeenCalled();
      expect(mapped.skipped).toEqual([
        { reference: "focus", reason: "focus identifier names no resource type" },
      ]);
    });
  });

  it("id-only: a failed fetch propagates so SQS retries the message", async () => {
    const failure = new ResourceFetchError("Communication/r2", 503);
    await expect(factsOf(fixture("r4-id-only"), () => Promise.reject(failure))).rejects.toBe(failure);
  });

  it("id-only: a fetch that can never succeed skips its focus with the reason", async () => {
    const failure = new UnmappableDeliveryError("reference outside the tenant's server");
    const mapped = await factsOf(fixture("r4-id-only"), () => Promise.reject(failure));
    expect(mapped).toEqual({
      facts: [],
      retractions: [],
      ignored: [],
      skipped: [
        {
          reference: "Communication/r2",
          reason: "fetch cannot succeed: delivery cannot be mapped: reference outside the tenant's server",
        },
      ],
    });
  });

  it.each([404, 410] as const)(
    "R16: id-only: a focus the server answers %i for was deleted: the fact held under its id is retracted",
    async (status) => {
      const mapped = await factsOf(fixture("r4-id-only"), () =>
        Promise.reject(new ResourceGoneError("Communication/r2", status)),
      );
      expect(mapped).toEqual({
        facts: [],
        retractions: [{ factId: "Communication/r2" }],
        ignored: [],
        skipped: [],
      });
    },
  );

  it("R16: a history entry that deletes retracts the fact held under its id, with the etag's version, unfetched", async () => {
    // Prepare: the id-only fixture's entry turned into a deletion, once with a numbered etag, once without.
    const bundle = fixtureJson("r4-id-only");
    const entry = bundle.entry?.[1];
    if (entry?.request) entry.request.method = "DELETE";
    const withEtag = structuredClone(bundle);
    const deleted = withEtag.entry?.[1];
    if (deleted) deleted.response = { status: "204", etag: 'W/"4"' };
    const fetchResource = vi.fn<ResourceFetcher>();

    // Act
    const mapped = await factsOf(bytes(bundle), fetchResource);
    const versioned = await factsOf(bytes(withEtag), fetchResource);

    // Assess
    expect(fetchResource).not.toHaveBeenCalled();
    expect(mapped).toEqual({
      facts: [],
      retractions: [{ factId: "Communication/r2" }],
      ignored: [],
      skipped: [],
    });
    expect(versioned.retractions).toEqual([{ factId: "Communication/r2", version: 4 }]);
  });

  it.each(["r4-empty", "r4-handshake", "r4-heartbeat", "r5-handshake"])(
    "%s: no facts and no fetch",
    async (name) => {
      const fetchResource = vi.fn<ResourceFetcher>();
      const mapped = await factsOf(fixture(name), fetchResource);
      expect(mapped).toMatchObject({ facts: [], skipped: [] });
      expect(mapped.retractions ?? []).toEqual([]);
      expect(fetchResource).not.toHaveBeenCalled();
    },
  );

  it("a payload that no longer matches the envelope cannot be mapped", async () => {
    const accepted = fhir.accept(request(fixture("r4-inquiry")));
    await expect(
      fhir.toFacts({ ...accepted, payload: { resourceType: "Bundle" } }, noFetch),
    ).rejects.toBeInstanceOf(UnmappableDeliveryError);
  });

  it("every fixture's facts parse with the domain schema and its skip reasons carry no PHI", async () => {
    const fetchResource: ResourceFetcher = () => Promise.reject(new ResourceFetchError("unused", 503));
    for (const name of [
      "r4-inquiry",
      "r4-reply",
      "r4-encounter",
      "r4-appointment",
      "r4-consent",
      "r5-inquiry",
    ]) {
      const mapped = await factsOf(fixture(name), fetchResource);
      for (const fact of mapped.facts) expect(factSchema.parse(fact)).toEqual(fact);
      for (const value of PHI) expect(JSON.stringify(mapped.skipped)).not.toContain(value);
    }
  });
});

describe("fhir: the shared example scenarios map to the facts the engine is tested with", () => {
  const scenario = (name: string) =>
    JSON.parse(readFileSync(new URL(`../../fixtures/scenarios/${name}.json`, import.meta.url), "utf8")) as {
      deliveries: Array<{ format: string; body: unknown }>;
    };

  for (const name of Object.keys(scenarioFacts)) {
    it(name, async () => {
      // Act
      const facts = [];
      for (const delivery of scenario(name).deliveries.filter((item) => item.format === "fhir")) {
        facts.push(...(await factsOf(bytes(delivery.body))).facts);
      }

      // Assess: the hand-mapped facts carry test versions and dedupe keys; everything else must agree.
      const expected = (scenarioFacts[name] ?? []).map(({ version: _v, dedupeKey: _d, ...fields }) => fields);
      expect(facts).toMatchObject(expected);
    });
  }
});
