import { createHash, createHmac, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import * as z from "zod";
import { factSchema } from "../../../functions/domain/facts.js";
import { bridgeEventSchema } from "../../../functions/vendors/bridge/event.js";
import { bridge } from "../../../functions/vendors/bridge/format.js";
import { InvalidEnvelopeError, UnauthorizedDeliveryError } from "../../../functions/vendors/errors.js";
import type { InboundRequest } from "../../../functions/vendors/format.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/vendors/bridge/${name}`, import.meta.url));
const fixtureJson = (name: string) => JSON.parse(fixture(name).toString("utf8"));

/** A synthetic patient name: never to appear in an error. */
const PATIENT_NAME = "Quinn Harlow";
const NOW = new Date("2025-03-04T15:30:00Z");
const nowSeconds = NOW.getTime() / 1000;
const MESSAGE_ID = "msg_2tRvq0bXnJ8kLm3Pz";

const newSecret = (): string => `whsec_${randomBytes(24).toString("base64")}`;

/** Standard Webhooks v1: base64 HMAC-SHA256, keyed with the secret's base64 part, of "id.timestamp.body". */
const signatureOf = (secret: string, id: string, timestamp: number, body: Buffer): string =>
  `v1,${createHmac("sha256", Buffer.from(secret.slice("whsec_".length), "base64"))
    .update(`${id}.${timestamp}.`)
    .update(body)
    .digest("base64")}`;

interface SigningOptions {
  secrets?: string[];
  timestamp?: number;
}

function signedRequest(
  body: Buffer,
  secret: string,
  { secrets = [secret], timestamp = nowSeconds }: SigningOptions = {},
) {
  const request: InboundRequest = {
    method: "POST",
    path: "/webhooks/bridge",
    rawQuery: "",
    headers: {
      "content-type": "application/json",
      "webhook-id": MESSAGE_ID,
      "webhook-timestamp": String(timestamp),
      "webhook-signature": secrets.map((key) => signatureOf(key, MESSAGE_ID, timestamp, body)).join(" "),
    },
    body,
  };
  return request;
}

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

const acceptJson = (event: unknown) => {
  const secret = newSecret();
  return bridge.accept(signedRequest(Buffer.from(JSON.stringify(event)), secret));
};

describe("bridge: authenticate (Standard Webhooks)", () => {
  const body = fixture("event-episode.json");

  it("accepts a delivery signed with the active secret", () => {
    const secret = newSecret();

    expect(() => bridge.authenticate(signedRequest(body, secret), [secret], NOW)).not.toThrow();
  });

  it("rejects a tampered body", () => {
    const secret = newSecret();
    const request = signedRequest(body, secret);
    const tampered = { ...request, body: Buffer.from(body.toString("utf8").replace("7.5", "75")) };

    expect(authError(() => bridge.authenticate(tampered, [secret], NOW)).reason).toBe("bad-signature");
  });

  it("rejects a signature made with another secret", () => {
    const request = signedRequest(body, newSecret());

    expect(authError(() => bridge.authenticate(request, [newSecret()], NOW)).reason).toBe("bad-signature");
  });

  it("accepts the second of two active secrets (rotation)", () => {
    const retiring = newSecret();
    const current = newSecret();

    expect(() => bridge.authenticate(signedRequest(body, current), [retiring, current], NOW)).not.toThrow();
  });

  it("accepts any of several space-separated signatures (the sender rotating)", () => {
    const old = newSecret();
    const current = newSecret();
    const request = signedRequest(body, current, { secrets: [old, current] });

    expect(() => bridge.authenticate(request, [current], NOW)).not.toThrow();
  });

  it("accepts a timestamp just inside five minutes either way", () => {
    const secret = newSecret();

    for (const timestamp of [nowSeconds - 300, nowSeconds + 300]) {
      expect(() =>
        bridge.authenticate(signedRequest(body, secret, { timestamp }), [secret], NOW),
      ).not.toThrow();
    }
  });

  it("rejects a stale timestamp, even correctly signed", () => {
    const secret = newSecret();
    const request = signedRequest(body, secret, { timestamp: nowSeconds - 301 });

    expect(authError(() => bridge.authenticate(request, [secret], NOW)).reason).toBe("stale-timestamp");
  });

  it("rejects a future timestamp, even correctly signed", () => {
    const secret = newSecret();
    const request = signedRequest(body, secret, { timestamp: nowSeconds + 301 });

    expect(authError(() => bridge.authenticate(request, [secret], NOW)).reason).toBe("future-timestamp");
  });

  it("rejects a timestamp that is not a number of seconds", () => {
    const secret = newSecret();
    const request = signedRequest(body, secret);
    const headers = { ...request.headers, "webhook-timestamp": "2025-03-04T15:30:00Z" };

    expect(authError(() => bridge.authenticate({ ...request, headers }, [secret], NOW)).reason).toBe(
      "bad-signature",
    );
  });

  it.each(["webhook-id", "webhook-timestamp", "webhook-signature"])(
    "rejects a delivery without %s",
    (header) => {
      const secret = newSecret();
      const request = signedRequest(body, secret);
      const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== header));

      expect(authError(() => bridge.authenticate({ ...request, headers }, [secret], NOW)).reason).toBe(
        "missing-signature",
      );
    },
  );
});

describe("bridge: accept", () => {
  it("dedupes on webhook-id and groups by a digest of the patient id", () => {
    const delivery = bridge.accept(signedRequest(fixture("event-episode.json"), newSecret()));

    expect(delivery).toMatchObject({
      format: "bridge",
      kind: "event",
      dedupeKey: MESSAGE_ID,
      groupKey: createHash("sha256").update("E4021337").digest("hex").slice(0, 32),
    });
  });

  it("names the failing path without echoing the value", () => {
    const event = fixtureJson("event-episode.json");
    event.facts[1].minutes = PATIENT_NAME;

    const error = envelopeError(() => acceptJson(event));

    expect(error.path).toBe("facts.1.minutes");
    expect(error.message).not.toContain(PATIENT_NAME);
  });

  it("rejects an unknown schema version and an unknown fact kind", () => {
    const event = fixtureJson("event-episode.json");

    expect(envelopeError(() => acceptJson({ ...event, schemaVersion: "2.0" })).path).toBe("schemaVersion");
    expect(envelopeError(() => acceptJson({ ...event, facts: [{ kind: "note", id: "n1" }] })).path).toBe(
      "facts.0.kind",
    );
  });

  it("rejects a body that is not JSON without echoing it", () => {
    const error = envelopeError(() =>
      bridge.accept(signedRequest(Buffer.from(`{"patient": "${PATIENT_NAME}"`), newSecret())),
    );

    expect(error.message).not.toContain(PATIENT_NAME);
  });
});

describe("bridge: facts", () => {
  it("maps every kind: minutes to seconds, ids namespaced, patient and dedupe key filled in", async () => {
    // Prepare
    const delivery = bridge.accept(signedRequest(fixture("event-episode.json"), newSecret()));

    // Act
    const { facts, skipped } = await bridge.toFacts(delivery, async () => undefined);

    // Assess
    const housekeeping = { patientId: "E4021337", dedupeKey: MESSAGE_ID };
    expect(skipped).toEqual([]);
    expect(facts).toEqual(
      [
        {
          kind: "inquiry",
          id: "bridge:msg-9001",
          messageId: "bridge:msg-9001",
          at: "2025-03-03T14:05:00-05:00",
          author: "patient",
          diagnosisCodes: ["E11.9"],
        },
        {
          kind: "clinician-activity",
          id: "bridge:msg-9002",
          messageId: "bridge:msg-9002",
          inResponseTo: "bridge:msg-9001",
          at: "2025-03-03T16:40:00-05:00",
          practitionerId: "dr-adams",
          qualification: "MD",
          seconds: 450,
          diagnosisCodes: ["E11.9"],
        },
        {
          kind: "staff-activity",
          id: "bridge:msg-9003",
          messageId: "bridge:msg-9003",
          inResponseTo: "bridge:msg-9001",
          at: "2025-03-03T15:00:00-05:00",
          staffId: "rn-diaz",
          seconds: 240,
        },
        {
          kind: "time-entry",
          id: "bridge:te-77",
          at: "2025-03-04T09:00:00-05:00",
          practitionerId: "dr-adams",
          seconds: 360,
          diagnosisCodes: ["E11.9"],
        },
        {
          kind: "visit",
          id: "bridge:enc-501",
          version: 1741100000000,
          at: "2025-03-10T10:00:00-04:00",
          status: "arrived",
          modality: "in-person",
          source: "encounter",
          practitionerId: "dr-adams",
        },
        { kind: "consent", id: "bridge:consent-1", at: "2025-01-02T09:00:00-05:00", status: "active" },
      ].map((fact) => factSchema.parse({ ...fact, ...housekeeping })),
    );
  });

  it("R16: a retraction (1.1) names any fact portaltime holds, whichever format brought it; 1.0 events still map", async () => {
    // Prepare
    const event = (schemaVersion: string, facts: unknown[]) =>
      bridge.accept(
        signedRequest(
          Buffer.from(JSON.stringify({ schemaVersion, patientId: "E4021337", facts })),
          newSecret(),
        ),
      );
    const retractions = event("1.1", [
      { kind: "retraction", factId: "Communication/123" },
      { kind: "retraction", factId: "bridge:msg-9002", version: 7 },
    ]);
    const older = event("1.0", [{ kind: "consent", id: "c1", at: "2025-01-06T09:00:00Z", status: "active" }]);

    // Act
    const mapped = await bridge.toFacts(retractions, async () => undefined);
    const mappedOlder = await bridge.toFacts(older, async () => undefined);

    // Assess
    expect(mapped).toEqual({
      facts: [],
      retractions: [{ factId: "Communication/123" }, { factId: "bridge:msg-9002", version: 7 }],
      skipped: [],
    });
    expect(mappedOlder.facts).toMatchObject([{ kind: "consent", id: "bridge:c1" }]);
  });

  it("publishes a JSON Schema with its id, title and description", () => {
    const schema = z.toJSONSchema(bridgeEventSchema, { target: "draft-2020-12", io: "input" });

    expect(schema).toMatchObject({
      $id: "https://portaltime.dev/schemas/bridge-event/1.2",
      title: "portaltime bridge event",
      required: ["schemaVersion", "patientId", "facts"],
    });
    expect(JSON.stringify(schema)).toContain('"minutes"');
    expect(JSON.stringify(schema)).not.toContain('"seconds"');
    expect(JSON.stringify(schema)).not.toContain('"dedupeKey"');
  });
});

describe("bridge: schema 1.2 (R21, R22, R25)", () => {
  const housekeeping = { patientId: "E4021337", dedupeKey: MESSAGE_ID };
  const eventOf = (schemaVersion: string, facts: unknown[]) => ({
    schemaVersion,
    patientId: "E4021337",
    facts,
  });
  const attachedInquiry = {
    kind: "inquiry",
    id: "msg-9101",
    at: "2025-03-03T14:05:00-05:00",
    author: "patient",
    attachments: [{ kind: "image", contentType: "image/jpeg" }, { kind: "other" }],
  };
  const consultantMessage = {
    kind: "clinician-activity",
    id: "msg-9102",
    at: "2025-03-03T16:40:00-05:00",
    practitionerId: "dr-adams",
    minutes: 4,
    recipient: "practitioner",
  };
  const enrollment = {
    kind: "enrollment",
    id: "eoc-12",
    at: "2025-01-06T09:00:00-05:00",
    program: "ccm",
    status: "active",
    billingPractitionerId: "dr-adams",
    conditions: ["E11.9", "I10"],
    startDate: "2025-01-06",
    consentDate: "2025-01-06",
    carePlanDate: "2025-01-08",
  };
  const consultRequest = {
    kind: "consult-request",
    id: "sr-31",
    at: "2025-03-05T10:00:00-05:00",
    requesterId: "dr-adams",
    consultantId: "dr-baker",
    minutes: 17.5,
    diagnosisCodes: ["E11.9"],
  };
  const consultReport = {
    kind: "consult-report",
    id: "rpt-31",
    at: "2025-03-06T15:00:00-05:00",
    requestId: "sr-31",
    consultantId: "dr-baker",
    report: "written",
    minutes: 12,
  };

  it("maps the 1.2 kinds and fields: bridge ids (the report's requestId too), roster ids as sent, minutes to seconds", async () => {
    // Prepare
    const delivery = acceptJson(
      eventOf("1.2", [attachedInquiry, consultantMessage, enrollment, consultRequest, consultReport]),
    );

    // Act
    const { facts, skipped } = await bridge.toFacts(delivery, async () => undefined);

    // Assess
    expect(skipped).toEqual([]);
    expect(facts).toEqual(
      [
        {
          kind: "inquiry",
          id: "bridge:msg-9101",
          at: "2025-03-03T14:05:00-05:00",
          author: "patient",
          attachments: [{ kind: "image", contentType: "image/jpeg" }, { kind: "other" }],
        },
        {
          kind: "clinician-activity",
          id: "bridge:msg-9102",
          at: "2025-03-03T16:40:00-05:00",
          practitionerId: "dr-adams",
          seconds: 240,
          recipient: "practitioner",
        },
        { ...enrollment, id: "bridge:eoc-12" },
        {
          kind: "consult-request",
          id: "bridge:sr-31",
          at: "2025-03-05T10:00:00-05:00",
          requesterId: "dr-adams",
          consultantId: "dr-baker",
          seconds: 1050,
          diagnosisCodes: ["E11.9"],
        },
        {
          kind: "consult-report",
          id: "bridge:rpt-31",
          at: "2025-03-06T15:00:00-05:00",
          requestId: "bridge:sr-31",
          consultantId: "dr-baker",
          report: "written",
          seconds: 720,
        },
      ].map((fact) => factSchema.parse({ ...fact, ...housekeeping })),
    );
  });

  it("a consult request without minutes holds the domain's zero; a report defaults to no transfer of care", async () => {
    const { minutes: _minutes, ...untimed } = consultRequest;
    const delivery = acceptJson(eventOf("1.2", [untimed, consultReport]));

    const { facts } = await bridge.toFacts(delivery, async () => undefined);

    expect(facts).toMatchObject([
      { kind: "consult-request", seconds: 0 },
      { kind: "consult-report", transferOfCare: false },
    ]);
  });

  it("an inquiry and a clinician message without the 1.2 fields map exactly as in 1.1: no new keys", async () => {
    // Prepare
    const { attachments: _attachments, ...plainInquiry } = attachedInquiry;
    const { recipient: _recipient, ...plainMessage } = consultantMessage;

    // Act
    const older = await bridge.toFacts(
      acceptJson(eventOf("1.1", [plainInquiry, plainMessage])),
      async () => {},
    );
    const newer = await bridge.toFacts(
      acceptJson(eventOf("1.2", [plainInquiry, plainMessage])),
      async () => {},
    );

    // Assess
    expect(newer.facts).toEqual(older.facts);
    expect(Object.keys(newer.facts[0] ?? {})).not.toContain("attachments");
    expect(Object.keys(newer.facts[1] ?? {})).not.toContain("recipient");
  });

  it.each([
    ["1.0", enrollment, "facts.1.kind"],
    ["1.1", consultRequest, "facts.1.kind"],
    ["1.1", consultReport, "facts.1.kind"],
    ["1.1", attachedInquiry, "facts.1.attachments"],
    ["1.0", consultantMessage, "facts.1.recipient"],
  ])("a %s event carrying what 1.2 defines is refused at its path", (schemaVersion, fact, path) => {
    const consent = { kind: "consent", id: "c1", at: "2025-01-06T09:00:00Z", status: "active" };

    const error = envelopeError(() => acceptJson(eventOf(schemaVersion, [consent, fact])));

    expect(error.path).toBe(path);
    expect(error.message).toContain("schemaVersion 1.2");
  });

  it.each([
    [
      "an attachment of an unknown kind",
      { ...attachedInquiry, attachments: [{ kind: PATIENT_NAME }] },
      "facts.0.attachments.0.kind",
    ],
    ["an unknown recipient", { ...consultantMessage, recipient: PATIENT_NAME }, "facts.0.recipient"],
    ["an unknown program", { ...enrollment, program: PATIENT_NAME }, "facts.0.program"],
    ["an end before the start", { ...enrollment, endDate: "2024-12-31" }, "facts.0.endDate"],
    [
      "a condition that is no ICD-10-CM code",
      { ...enrollment, conditions: [PATIENT_NAME] },
      "facts.0.conditions.0",
    ],
    ["a report without its request", { ...consultReport, requestId: undefined }, "facts.0.requestId"],
    ["a report of an unknown kind", { ...consultReport, report: PATIENT_NAME }, "facts.0.report"],
    ["consult minutes that are words", { ...consultRequest, minutes: PATIENT_NAME }, "facts.0.minutes"],
  ])("1.2: %s is refused naming the path, never the value", (_name, fact, path) => {
    const error = envelopeError(() => acceptJson(eventOf("1.2", [fact])));

    expect(error.path).toBe(path);
    expect(error.message).not.toContain(PATIENT_NAME);
  });
});
