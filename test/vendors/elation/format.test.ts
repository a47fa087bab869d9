import { createHash, generateKeyPairSync, type KeyObject, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { factSchema } from "../../../functions/domain/facts.js";
import { elation } from "../../../functions/vendors/elation/format.js";
import {
  InvalidEnvelopeError,
  ResourceGoneError,
  UnauthorizedDeliveryError,
} from "../../../functions/vendors/errors.js";
import type { AcceptedDelivery, InboundRequest } from "../../../functions/vendors/format.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/vendors/elation/${name}`, import.meta.url));
const fixtureJson = (name: string) => JSON.parse(fixture(name).toString("utf8"));

/** The synthetic patient named in the fixtures: never to appear in an error or skip reason. */
const PATIENT_NAME = "Quinn Harlow";
const NOW = new Date("2025-03-04T15:30:00Z");

const keyPair = () => generateKeyPairSync("ed25519");
/** Elation's `signing_pub_key`: the 32 raw key bytes, base64 (the SPKI DER minus its 12-byte header). */
const signingPubKey = (publicKey: KeyObject): string =>
  publicKey.export({ format: "der", type: "spki" }).subarray(12).toString("base64");

function signedRequest(body: Buffer, privateKey: KeyObject): InboundRequest {
  return {
    method: "POST",
    path: "/webhooks/elation",
    rawQuery: "",
    headers: {
      "content-type": "application/json",
      "el8-ed25519-signature": sign(null, body, privateKey).toString("base64"),
    },
    body,
  };
}

const unsigned = (body: Buffer): InboundRequest => ({
  method: "POST",
  path: "/webhooks/elation",
  rawQuery: "",
  headers: { "content-type": "application/json" },
  body,
});

const authError = (act: () => void): UnauthorizedDeliveryError => {
  try {
    act();
  } catch (error) {
    if (error instanceof UnauthorizedDeliveryError) return error;
    throw error;
  }
  throw new Error("expected the delivery to be rejected");
};

const envelopeError = (act: () => void): InvalidEnvelopeError => {
  try {
    act();
  } catch (error) {
    if (error instanceof InvalidEnvelopeError) return error;
    throw error;
  }
  throw new Error("expected the envelope to be rejected");
};

const deliveryOf = (body: unknown): AcceptedDelivery =>
  elation.accept(unsigned(Buffer.from(JSON.stringify(body))));

const noFetch = vi.fn(async () => {
  throw new Error("no fetch expected");
});

/**
 * Elation's API as elation/format.ts asks it: the thread, the patient's problem list and chart documents, a thread's
 * messages (the fixtures are pages as Elation's Patient Profile and Patient Document APIs answer them).
 */
const elationApi = (
  thread: unknown,
  lists: { problems?: unknown; reports?: unknown; threadMessages?: unknown } = {},
) =>
  vi.fn(async (reference: string): Promise<unknown> => {
    if (reference.startsWith("message_threads/")) return thread;
    if (reference.startsWith("problems?patient=")) return lists.problems ?? fixtureJson("problems.json");
    if (reference.startsWith("reports?patient=")) return lists.reports ?? fixtureJson("reports.json");
    if (reference.startsWith("thread_messages?thread=") && lists.threadMessages !== undefined)
      return lists.threadMessages;
    throw new Error(`no fetch of ${reference} expected`);
  });

/** The consent document of reports.json, as the consent fact an event of `version` carries. */
const consentFact = (version: number, dedupeKey: string) =>
  factSchema.parse({
    kind: "consent",
    id: "elation:reports/140756000001",
    version,
    dedupeKey,
    patientId: "64058687489",
    at: "2025-01-15T10:00:00Z",
    status: "active",
  });

describe("elation: authenticate (Ed25519 over the raw body)", () => {
  const body = fixture("appointment-checked-in.json");

  it("accepts a delivery signed by the subscription's key", () => {
    // Prepare
    const { publicKey, privateKey } = keyPair();

    // Act, Assess
    expect(() =>
      elation.authenticate(signedRequest(body, privateKey), [signingPubKey(publicKey)], NOW),
    ).not.toThrow();
  });

  it("rejects a tampered body", () => {
    const { publicKey, privateKey } = keyPair();
    const request = signedRequest(body, privateKey);
    const tampered = { ...request, body: Buffer.from(body.toString("utf8").replace("Checked In", "Billed")) };

    expect(authError(() => elation.authenticate(tampered, [signingPubKey(publicKey)], NOW)).reason).toBe(
      "bad-signature",
    );
  });

  it("rejects a signature by another key", () => {
    const { privateKey } = keyPair();
    const other = keyPair();

    expect(
      authError(() =>
        elation.authenticate(signedRequest(body, privateKey), [signingPubKey(other.publicKey)], NOW),
      ).reason,
    ).toBe("bad-signature");
  });

  it("accepts the second of two active keys (rotation)", () => {
    const retiring = keyPair();
    const current = keyPair();
    const secrets = [signingPubKey(retiring.publicKey), signingPubKey(current.publicKey)];

    expect(() => elation.authenticate(signedRequest(body, current.privateKey), secrets, NOW)).not.toThrow();
  });

  it("rejects a delivery without the signature header", () => {
    const { publicKey } = keyPair();

    expect(
      authError(() => elation.authenticate(unsigned(body), [signingPubKey(publicKey)], NOW)).reason,
    ).toBe("missing-signature");
  });

  it("rejects a signature that is not 64 bytes", () => {
    const { publicKey } = keyPair();
    const request = { ...unsigned(body), headers: { "el8-ed25519-signature": "c2hvcnQ=" } };

    expect(authError(() => elation.authenticate(request, [signingPubKey(publicKey)], NOW)).reason).toBe(
      "bad-signature",
    );
  });

  it("answers exactly 200, as Elation requires", () => {
    expect(elation.acceptedStatus).toBe(200);
  });
});

describe("elation: accept", () => {
  it("dedupes on event_uuid and groups by a digest of the patient id", () => {
    // Act
    const delivery = elation.accept(unsigned(fixture("appointment-checked-in.json")));

    // Assess
    expect(delivery).toMatchObject({
      format: "elation",
      kind: "event",
      dedupeKey: "01955a1b-2c3d-7e4f-8a9b-0c1d2e3f4a5b",
      groupKey: createHash("sha256").update("64058687489").digest("hex").slice(0, 32),
    });
  });

  it("dedupes on event_id when the event has no event_uuid", () => {
    const { event_uuid: _omitted, ...body } = fixtureJson("appointment-checked-in.json");

    expect(deliveryOf(body).dedupeKey).toBe("918273");
  });

  it("groups by the resource reference when the payload names no patient", () => {
    const body = { ...fixtureJson("appointment-checked-in.json"), data: { id: 5 } };

    expect(deliveryOf(body).groupKey).toBe(
      createHash("sha256").update("elation:appointments/5").digest("hex").slice(0, 32),
    );
  });

  it("names the failing path without echoing the value", () => {
    const body = { ...fixtureJson("thread-message-patient.json"), event_uuid: PATIENT_NAME };

    const error = envelopeError(() => deliveryOf(body));

    expect(error.path).toBe("event_uuid");
    expect(error.message).not.toContain(PATIENT_NAME);
  });

  it("rejects an unknown action and an event without any id", () => {
    const body = fixtureJson("thread-message-patient.json");
    const { event_uuid: _u, event_id: _i, ...withoutIds } = body;

    expect(envelopeError(() => deliveryOf({ ...body, action: "archived" })).path).toBe("action");
    expect(envelopeError(() => deliveryOf(withoutIds)).path).toBe("event_uuid");
  });

  it("rejects a body that is not JSON without echoing it", () => {
    const error = envelopeError(() => elation.accept(unsigned(Buffer.from(`{"name": "${PATIENT_NAME}"`))));

    expect(error.message).not.toContain(PATIENT_NAME);
  });
});

describe("elation: appointments to visits", () => {
  const appointmentWith = (status: string | null, mode = "IN_PERSON") => {
    const body = fixtureJson("appointment-checked-in.json");
    body.data.mode = mode;
    body.data.status = status === null ? null : { status };
    return deliveryOf(body);
  };

  it.each([
    ["Scheduled", "scheduled"],
    ["Confirmed", "scheduled"],
    ["Checked In", "arrived"],
    ["In Room", "in-progress"],
    ["In Room - Vitals Taken", "in-progress"],
    ["With Doctor", "in-progress"],
    ["Checked Out", "checked-out"],
    ["Billed", "finished"],
    ["Cancelled", "cancelled"],
    ["Not Seen", "no-show"],
  ])("R10: status %s is %s", async (elationStatus, status) => {
    const { facts } = await elation.toFacts(appointmentWith(elationStatus), noFetch);

    expect(facts).toHaveLength(1);
    expect(facts[0]).toMatchObject({ kind: "visit", status, modality: "in-person" });
  });

  it("maps a video appointment to a virtual visit: id, patient, time, clinician, event version", async () => {
    const delivery = elation.accept(unsigned(fixture("appointment-checked-in.json")));

    const { facts, skipped } = await elation.toFacts(delivery, noFetch);

    expect(skipped).toEqual([]);
    expect(facts).toEqual([
      factSchema.parse({
        kind: "visit",
        id: "elation:appointments/67176890458",
        version: 0x01955a1b2c3d,
        dedupeKey: "01955a1b-2c3d-7e4f-8a9b-0c1d2e3f4a5b",
        patientId: "64058687489",
        at: "2025-03-04T15:30:00Z",
        status: "arrived",
        modality: "virtual",
        source: "appointment",
        practitionerId: "131074",
      }),
    ]);
  });

  it("treats an appointment without a status as scheduled", async () => {
    const { facts } = await elation.toFacts(appointmentWith(null), noFetch);

    expect(facts[0]).toMatchObject({ status: "scheduled" });
  });

  it("R10: ignores an unknown status with its reason instead of guessing", async () => {
    const { facts, ignored, skipped } = await elation.toFacts(appointmentWith("Teleported"), noFetch);

    expect(facts).toEqual([]);
    expect(ignored).toEqual([{ reference: "elation:appointments/67176890458", reason: "unknown-status" }]);
    expect(skipped).toEqual([]);
  });

  it("retracts a deleted appointment, with a later version than its saves", async () => {
    const saved = fixtureJson("appointment-checked-in.json");
    const deleted = {
      ...saved,
      action: "deleted",
      event_id: saved.event_id + 1,
      event_uuid: "01955a1c-0000-7e4f-8a9b-0c1d2e3f4a5b",
    };

    const [before] = (await elation.toFacts(deliveryOf(saved), noFetch)).facts;
    const [after] = (await elation.toFacts(deliveryOf(deleted), noFetch)).facts;

    expect(after).toMatchObject({ id: before?.id, retracted: true });
    expect(after?.version).toBeGreaterThan(before?.version ?? Number.POSITIVE_INFINITY);
  });

  it("skips an appointment whose data fails its schema, naming the path but not the value", async () => {
    const body = fixtureJson("appointment-checked-in.json");
    body.data.scheduled_date = PATIENT_NAME;

    const { skipped } = await elation.toFacts(deliveryOf(body), noFetch);

    expect(skipped[0]?.reason).toBe("appointment fails its schema at scheduled_date");
    expect(JSON.stringify(skipped)).not.toContain(PATIENT_NAME);
  });
});

describe("elation: messages to inquiries and clinician activity", () => {
  const thread = fixtureJson("message-thread.json").data;

  it("R1: a patient's thread message is an inquiry; its thread is fetched for its first message", async () => {
    // Prepare
    const fetchResource = elationApi(thread);
    const delivery = elation.accept(unsigned(fixture("thread-message-patient.json")));

    // Act
    const { facts, skipped } = await elation.toFacts(delivery, fetchResource);

    // Assess
    expect(fetchResource).toHaveBeenCalledWith("message_threads/346226779");
    expect(skipped).toEqual([]);
    expect(facts).toEqual([
      factSchema.parse({
        kind: "inquiry",
        id: "elation:thread_messages/346488926",
        version: 0x01955a000000,
        dedupeKey: "01955a00-0000-7abc-9def-0123456789ab",
        patientId: "64058687489",
        messageId: "elation:thread_messages/346488926",
        at: "2025-03-03T14:05:00Z",
        author: "patient",
        diagnosisCodes: ["L23.9", "E11.9"],
      }),
      consentFact(0x01955a000000, "01955a00-0000-7abc-9def-0123456789ab"),
    ]);
  });

  it("R1: a thread delivery makes every later message reply to the thread's first message", async () => {
    const { facts } = await elation.toFacts(
      elation.accept(unsigned(fixture("message-thread.json"))),
      elationApi(undefined),
    );

    const byId = new Map(facts.map((fact) => [fact.id, fact]));
    expect(byId.get("elation:thread_messages/346488926")).toMatchObject({
      kind: "inquiry",
      inResponseTo: undefined,
    });
    expect(byId.get("elation:thread_messages/346488990")).toMatchObject({
      kind: "clinician-activity",
      practitionerId: "131074",
      inResponseTo: "elation:thread_messages/346488926",
    });
    expect(byId.get("elation:thread_messages/346489011")).toMatchObject({
      kind: "inquiry",
      inResponseTo: "elation:thread_messages/346488926",
    });
  });

  it("reads a clinician's time from the body's `Time spent` line, in whole seconds", async () => {
    const { facts } = await elation.toFacts(
      elation.accept(unsigned(fixture("message-thread.json"))),
      elationApi(undefined),
    );

    expect(facts.find((fact) => fact.kind === "clinician-activity")).toMatchObject({ seconds: 450 });
  });

  it("counts zero seconds, kept for audit, when a clinician's message attests no time", async () => {
    const body = fixtureJson("message-thread.json");
    body.data.messages[0].body = "Start the cream twice daily.";

    const { facts } = await elation.toFacts(deliveryOf(body), elationApi(undefined));

    expect(facts.find((fact) => fact.kind === "clinician-activity")).toMatchObject({ seconds: 0 });
  });

  it("retracts a deleted thread message without fetching its thread", async () => {
    const body = { ...fixtureJson("thread-message-patient.json"), action: "deleted" };
    const fetchResource = vi.fn();

    const { facts } = await elation.toFacts(deliveryOf(body), fetchResource);

    expect(fetchResource).not.toHaveBeenCalled();
    expect(facts).toMatchObject([{ id: "elation:thread_messages/346488926", retracted: true }]);
  });

  it("R16: retracts by its id a deleted thread message that names no patient, with the event's version", async () => {
    const body = fixtureJson("thread-message-patient.json");
    body.action = "deleted";
    body.data.patient = undefined;
    const fetchResource = vi.fn();

    const mapped = await elation.toFacts(deliveryOf(body), fetchResource);

    expect(fetchResource).not.toHaveBeenCalled();
    expect(mapped.facts).toEqual([]);
    expect(mapped.retractions).toEqual([
      { factId: "elation:thread_messages/346488926", version: expect.any(Number) },
    ]);
  });

  it("skips a thread message whose thread cannot be read, naming the path", async () => {
    const fetchResource = vi.fn(async () => ({ id: 346226779, patient: 64058687489 }));

    const { facts, skipped } = await elation.toFacts(
      elation.accept(unsigned(fixture("thread-message-patient.json"))),
      fetchResource,
    );

    expect(facts).toEqual([]);
    expect(skipped).toEqual([
      { reference: "elation:thread_messages/346488926", reason: "its thread fails its schema at messages" },
    ]);
  });

  it("maps a signed letter to the signer's clinician activity with the attested time", async () => {
    const { facts } = await elation.toFacts(
      elation.accept(unsigned(fixture("letter-signed.json"))),
      elationApi(undefined),
    );

    expect(facts).toEqual([
      factSchema.parse({
        kind: "clinician-activity",
        id: "elation:letters/140754680348890",
        version: 0x01955b200000,
        dedupeKey: "01955b20-0000-7abc-9def-0123456789ab",
        patientId: "64058687489",
        messageId: "elation:letters/140754680348890",
        at: "2025-03-05T18:20:00Z",
        practitionerId: "131074",
        seconds: 720,
        diagnosisCodes: ["L23.9", "E11.9"],
      }),
      consentFact(0x01955b200000, "01955b20-0000-7abc-9def-0123456789ab"),
    ]);
  });

  it("ignores an unsigned letter: no author or time to credit yet", async () => {
    const body = fixtureJson("letter-signed.json");
    body.data.signed_by = null;

    const { facts, ignored, skipped } = await elation.toFacts(deliveryOf(body), noFetch);

    expect(facts).toEqual([]);
    expect(skipped).toEqual([]);
    expect(ignored?.map((part) => part.reason)).toEqual(["no-time"]);
    expect(JSON.stringify(ignored)).not.toContain(PATIENT_NAME);
  });

  it("ignores a resource it does not map", async () => {
    const body = { ...fixtureJson("letter-signed.json"), resource: "patients" };

    const { facts, ignored, skipped } = await elation.toFacts(deliveryOf(body), noFetch);

    expect(facts).toEqual([]);
    expect(ignored).toEqual([{ reference: "elation:patients", reason: "unmapped-type" }]);
    expect(skipped).toEqual([]);
  });
});

describe("elation: diagnoses and consent from the patient's chart (R8, R11)", () => {
  const thread = fixtureJson("message-thread.json").data;
  const threadEvent = () => fixtureJson("message-thread.json");

  it("R8: a message carries the ICD-10-CM codes of the problems on the list on its date, in rank order", async () => {
    // Prepare: problems.json holds a resolved, a later, and an entered-in-error problem besides the two in force.
    const fetchResource = elationApi(thread);

    // Act
    const { facts, skipped } = await elation.toFacts(deliveryOf(threadEvent()), fetchResource);

    // Assess
    expect(skipped).toEqual([]);
    expect(fetchResource).toHaveBeenCalledWith("problems?patient=64058687489");
    for (const fact of facts.filter((one) => one.kind !== "consent"))
      expect(fact, fact.id).toMatchObject({ diagnosisCodes: ["L23.9", "E11.9"] });
  });

  it("R8: a problem resolved after the message still held on its date; one resolved before did not", async () => {
    // Prepare
    const problems = fixtureJson("problems.json");
    problems.results[0].resolved_date = "2025-03-10";
    const fetchResource = elationApi(thread, { problems });

    // Act
    const { facts } = await elation.toFacts(deliveryOf(threadEvent()), fetchResource);

    // Assess
    expect(facts[0]).toMatchObject({ diagnosisCodes: ["L23.9", "E11.9", "J20.9"] });
  });

  it("R8: a patient without problems on the list gives messages no codes (the episode shows diagnosis-missing)", async () => {
    const fetchResource = elationApi(thread, { problems: { count: 0, next: null, results: [] } });

    const { facts, skipped } = await elation.toFacts(deliveryOf(threadEvent()), fetchResource);

    expect(skipped).toEqual([]);
    expect(facts.filter((fact) => fact.kind === "inquiry")).toMatchObject([
      { diagnosisCodes: [] },
      { diagnosisCodes: [] },
    ]);
  });

  it("R11: a Consent document becomes a consent fact dated by its document date; other documents do not", async () => {
    const { facts } = await elation.toFacts(deliveryOf(threadEvent()), elationApi(thread));

    expect(facts.filter((fact) => fact.kind === "consent")).toEqual([
      consentFact(0x01955a100000, "01955a10-0000-7abc-9def-0123456789ab"),
    ]);
  });

  it("R11: a deleted Consent document is a retracted consent fact", async () => {
    const reports = fixtureJson("reports.json");
    reports.results[0].deleted_date = "2025-02-01T12:00:00Z";

    const { facts } = await elation.toFacts(deliveryOf(threadEvent()), elationApi(thread, { reports }));

    expect(facts.find((fact) => fact.kind === "consent")).toMatchObject({ retracted: true });
  });

  it("a list item that fails its schema is reported by path; the messages still apply", async () => {
    const problems = fixtureJson("problems.json");
    problems.results[1].status = PATIENT_NAME;

    const { facts, skipped } = await elation.toFacts(
      deliveryOf(threadEvent()),
      elationApi(thread, { problems }),
    );

    expect(facts.filter((fact) => fact.kind !== "consent")).toHaveLength(3);
    expect(facts[0]).toMatchObject({ diagnosisCodes: ["L23.9"] });
    expect(skipped).toEqual([
      { reference: "elation:problems?patient=64058687489", reason: "item 1 fails its schema at status" },
    ]);
    expect(JSON.stringify(skipped)).not.toContain(PATIENT_NAME);
  });

  it("a deleted message reads no chart", async () => {
    const body = { ...fixtureJson("thread-message-patient.json"), action: "deleted" };
    const fetchResource = vi.fn();

    await elation.toFacts(deliveryOf(body), fetchResource);

    expect(fetchResource).not.toHaveBeenCalled();
  });

  it("R11: a reports event for a Consent document is a consent fact; its deletion retracts it", async () => {
    // Prepare
    const report = fixtureJson("reports.json").results[0];
    const event = {
      data: report,
      action: "saved",
      event_id: 918300,
      event_uuid: "01955a20-0000-7abc-9def-0123456789ab",
      resource: "reports",
      application_id: 12345,
    };

    // Act
    const saved = await elation.toFacts(deliveryOf(event), noFetch);
    const deleted = await elation.toFacts(
      deliveryOf({ ...event, action: "deleted", event_uuid: "01955a21-0000-7abc-9def-0123456789ab" }),
      noFetch,
    );

    // Assess
    expect(saved.facts).toEqual([consentFact(0x01955a200000, "01955a20-0000-7abc-9def-0123456789ab")]);
    expect(deleted.facts).toMatchObject([{ id: "elation:reports/140756000001", retracted: true }]);
  });

  it("skips a reports event for a document that is not a consent", async () => {
    const report = fixtureJson("reports.json").results[1];
    const event = { data: report, action: "saved", event_id: 918301, resource: "reports" };

    const { facts, skipped } = await elation.toFacts(deliveryOf(event), noFetch);

    expect(facts).toEqual([]);
    expect(skipped).toEqual([
      { reference: "elation:reports/140756000002", reason: "report is not a consent document" },
    ]);
  });
});

describe("elation: thin events (resource_url) and threads listing message ids", () => {
  const thread = fixtureJson("message-thread.json").data;
  const resourceUrl = "https://sandbox.elationemr.com/api/2.0/message_threads/346226779/";
  const thinEvent = { ...fixtureJson("message-thread.json"), data: null, resource_url: resourceUrl };

  it("accepts an event whose data is null or empty when it names a resource_url, grouped by that URL", () => {
    const delivery = deliveryOf(thinEvent);
    const empty = deliveryOf({ ...thinEvent, data: {} });

    expect(delivery.groupKey).toBe(empty.groupKey);
    expect(delivery.groupKey).not.toBe(deliveryOf(fixtureJson("message-thread.json")).groupKey);
  });

  it("refuses an event with neither data nor resource_url (400, naming data)", () => {
    const error = envelopeError(() => deliveryOf({ ...thinEvent, resource_url: null }));

    expect(error.path).toBe("data");
  });

  it("maps a thin event from what its resource_url answers, as if it had come in data", async () => {
    // Prepare
    const fetchResource = vi.fn(async (reference: string) =>
      reference === resourceUrl ? thread : elationApi(thread)(reference),
    );

    // Act
    const thin = await elation.toFacts(deliveryOf(thinEvent), fetchResource);
    const full = await elation.toFacts(deliveryOf(fixtureJson("message-thread.json")), elationApi(thread));

    // Assess
    expect(fetchResource).toHaveBeenCalledWith(resourceUrl);
    expect(thin).toEqual(full);
  });

  it("skips a thin event whose resource_url answers that the resource is gone", async () => {
    const fetchResource = vi.fn(async () => {
      throw new ResourceGoneError("elation:resource_url", 404);
    });

    const { facts, skipped } = await elation.toFacts(deliveryOf(thinEvent), fetchResource);

    expect(facts).toEqual([]);
    expect(skipped).toEqual([
      { reference: "elation:message_threads", reason: "resource_url names a resource that is gone" },
    ]);
  });

  it("R1: a thread listing its messages by id fetches them in one request and maps them as if embedded", async () => {
    // Prepare
    const listed = { ...thread, messages: thread.messages.map((message: { id: number }) => message.id) };
    const fetchResource = elationApi(undefined, {
      threadMessages: { count: 3, next: null, previous: null, results: thread.messages },
    });

    // Act
    const byIds = await elation.toFacts(
      deliveryOf({ ...fixtureJson("message-thread.json"), data: listed }),
      fetchResource,
    );
    const embedded = await elation.toFacts(
      deliveryOf(fixtureJson("message-thread.json")),
      elationApi(undefined),
    );

    // Assess
    expect(fetchResource).toHaveBeenCalledWith("thread_messages?thread=346226779");
    expect(byIds).toEqual(embedded);
  });

  it("R1: a lone message whose fetched thread lists ids learns the opener from the thread's messages", async () => {
    const listed = { ...thread, messages: thread.messages.map((message: { id: number }) => message.id) };
    const fetchResource = elationApi(listed, { threadMessages: { results: thread.messages } });
    const event = fixtureJson("thread-message-patient.json");

    const { facts } = await elation.toFacts(
      deliveryOf({ ...event, data: { ...event.data, id: 346489011 } }),
      fetchResource,
    );

    expect(facts[0]).toMatchObject({ kind: "inquiry", inResponseTo: "elation:thread_messages/346488926" });
  });
});
