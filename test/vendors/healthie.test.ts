import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { factSchema } from "../../functions/domain/facts.js";
import { InvalidEnvelopeError, UnauthorizedDeliveryError } from "../../functions/vendors/errors.js";
import type { InboundRequest } from "../../functions/vendors/format.js";
import { healthie } from "../../functions/vendors/healthie.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../fixtures/vendors/healthie/${name}`, import.meta.url));
const fixtureJson = (name: string) => JSON.parse(fixture(name).toString("utf8"));

/** The synthetic patient named in the fixtures: never to appear in an error or skip reason. */
const PATIENT_NAME = "Quinn Harlow";
const NOW = new Date("2025-03-06T16:05:00Z");
const SECRET = "hsk_synthetic_webhook_secret_0001";
const ROTATED = "hsk_synthetic_webhook_secret_0002";

const contentDigestOf = (body: Buffer): string =>
  `sha-256=:${createHash("sha256").update(body).digest("base64")}:`;

interface SigningOptions {
  secret?: string;
  encoding?: "hex" | "base64";
  rawQuery?: string;
}

/** Signs as Healthie does: HMAC-SHA256 over method, path, query, digest, content type and length. */
function signedRequest(
  body: Buffer,
  { secret = SECRET, encoding = "hex", rawQuery = "" }: SigningOptions = {},
) {
  const contentDigest = contentDigestOf(body);
  const contentLength = String(body.length);
  const signed = `post /webhooks/healthie ${rawQuery} ${contentDigest} application/json ${contentLength}`;
  const mac = createHmac("sha256", secret).update(signed).digest(encoding);
  const request: InboundRequest = {
    method: "POST",
    path: "/webhooks/healthie",
    rawQuery,
    headers: {
      "content-type": "application/json",
      "content-digest": contentDigest,
      "content-length": contentLength,
      signature: encoding === "hex" ? `sig1=${mac}` : `sig1=:${mac}:`,
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

const deliveryOf = (name: string) => healthie.accept(signedRequest(fixture(name)));

describe("healthie: authenticate (HMAC-SHA256 over the request line, digest and length)", () => {
  const body = fixture("appointment-updated.json");

  it("accepts a hex signature", () => {
    expect(() => healthie.authenticate(signedRequest(body), [SECRET], NOW)).not.toThrow();
  });

  it("accepts a base64 signature in HTTP Message Signatures form", () => {
    expect(() =>
      healthie.authenticate(signedRequest(body, { encoding: "base64" }), [SECRET], NOW),
    ).not.toThrow();
  });

  it("covers the query string", () => {
    const request = { ...signedRequest(body, { rawQuery: "tenant=a" }), rawQuery: "tenant=b" };

    expect(authError(() => healthie.authenticate(request, [SECRET], NOW)).reason).toBe("bad-signature");
  });

  it("rejects a tampered body even with the original headers", () => {
    const request = signedRequest(body);
    const tampered = { ...request, body: Buffer.from(body.toString("utf8").replace("597220", "597221")) };

    expect(authError(() => healthie.authenticate(tampered, [SECRET], NOW)).reason).toBe("bad-signature");
  });

  it("rejects a Content-Length that is not the body's", () => {
    const request = signedRequest(body);
    const padded = { ...request, body: Buffer.concat([body, Buffer.from(" ")]) };
    const headers = { ...padded.headers, "content-digest": contentDigestOf(padded.body) };

    expect(authError(() => healthie.authenticate({ ...padded, headers }, [SECRET], NOW)).reason).toBe(
      "bad-signature",
    );
  });

  it("rejects a signature made with another secret", () => {
    expect(authError(() => healthie.authenticate(signedRequest(body), ["another-secret"], NOW)).reason).toBe(
      "bad-signature",
    );
  });

  it("accepts the second of two active secrets (rotation)", () => {
    const request = signedRequest(body, { secret: ROTATED });

    expect(() => healthie.authenticate(request, [SECRET, ROTATED], NOW)).not.toThrow();
  });

  it.each(["signature", "content-digest", "content-length"])("rejects a delivery without %s", (header) => {
    const request = signedRequest(body);
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== header));

    expect(authError(() => healthie.authenticate({ ...request, headers }, [SECRET], NOW)).reason).toBe(
      "missing-signature",
    );
  });

  it("rejects a signature header without sig1", () => {
    const request = signedRequest(body);
    const headers = {
      ...request.headers,
      signature: request.headers.signature?.replace("sig1", "sig2") ?? "",
    };

    expect(authError(() => healthie.authenticate({ ...request, headers }, [SECRET], NOW)).reason).toBe(
      "bad-signature",
    );
  });
});

describe("healthie: accept", () => {
  it("dedupes on the SHA-256 of the raw body and groups by the resource reference", () => {
    const body = fixture("appointment-updated.json");

    const delivery = healthie.accept(signedRequest(body));

    expect(delivery).toMatchObject({
      format: "healthie",
      kind: "event",
      dedupeKey: createHash("sha256").update(body).digest("hex"),
      groupKey: createHash("sha256").update("healthie:appointment/597220").digest("hex").slice(0, 32),
    });
  });

  it("names the failing path without echoing the value", () => {
    const body = Buffer.from(
      JSON.stringify({ ...fixtureJson("message-created.json"), event_type: PATIENT_NAME }),
    );

    let error: unknown;
    try {
      healthie.accept(signedRequest(body));
    } catch (thrown) {
      error = thrown;
    }

    expect(error).toBeInstanceOf(InvalidEnvelopeError);
    expect(error).toMatchObject({ path: "event_type" });
    expect(String(error)).not.toContain(PATIENT_NAME);
  });
});

describe("healthie: fetched resources to facts", () => {
  it("R1: fetches a new message; a patient's first note in a conversation is an inquiry", async () => {
    // Prepare
    const fetchResource = vi.fn(async () => fixtureJson("note-from-patient.json"));

    // Act
    const { facts, skipped } = await healthie.toFacts(deliveryOf("message-created.json"), fetchResource);

    // Assess
    expect(fetchResource).toHaveBeenCalledWith("message/88120456");
    expect(skipped).toEqual([]);
    expect(facts).toEqual([
      factSchema.parse({
        kind: "inquiry",
        id: "healthie:message/88120456",
        version: Date.parse("2025-03-03T14:05:00Z"),
        dedupeKey: deliveryOf("message-created.json").dedupeKey,
        patientId: "131391",
        messageId: "healthie:message/88120456",
        at: "2025-03-03T14:05:00Z",
        author: "patient",
      }),
    ]);
  });

  it("maps a provider's note to clinician activity replying to the conversation's first note", async () => {
    const body = Buffer.from(
      JSON.stringify({ ...fixtureJson("message-created.json"), resource_id: "88120777" }),
    );
    const delivery = healthie.accept(signedRequest(body));
    const fetchResource = vi.fn(async () => fixtureJson("note-from-provider.json"));

    const { facts } = await healthie.toFacts(delivery, fetchResource);

    expect(fetchResource).toHaveBeenCalledWith("message/88120777");
    expect(facts).toEqual([
      factSchema.parse({
        kind: "clinician-activity",
        id: "healthie:message/88120777",
        version: Date.parse("2025-03-03T16:40:00Z"),
        dedupeKey: delivery.dedupeKey,
        patientId: "131391",
        messageId: "healthie:message/88120777",
        inResponseTo: "healthie:message/88120456",
        at: "2025-03-03T11:40:00-05:00",
        practitionerId: "100070",
        qualification: "MD",
        npi: "1003000126",
        seconds: 540,
      }),
    ]);
  });

  it("R10: fetches an updated appointment; Occurred is a finished visit, video is virtual", async () => {
    const fetchResource = vi.fn(async () => fixtureJson("appointment-occurred.json"));

    const { facts } = await healthie.toFacts(deliveryOf("appointment-updated.json"), fetchResource);

    expect(fetchResource).toHaveBeenCalledWith("appointment/597220");
    expect(facts).toEqual([
      factSchema.parse({
        kind: "visit",
        id: "healthie:appointment/597220",
        version: Date.parse("2025-03-06T16:02:45Z"),
        dedupeKey: deliveryOf("appointment-updated.json").dedupeKey,
        patientId: "131391",
        at: "2025-03-06T10:00:00-05:00",
        status: "finished",
        modality: "virtual",
        source: "appointment",
        practitionerId: "100070",
      }),
    ]);
  });

  it.each([
    [null, "scheduled"],
    ["Occurred", "finished"],
    ["No-Show", "no-show"],
    ["Cancelled", "cancelled"],
    ["Late Cancellation", "cancelled"],
    ["Re-Scheduled", "cancelled"],
  ])("R10: pm_status %s is %s", async (pmStatus, status) => {
    const appointment = {
      ...fixtureJson("appointment-occurred.json"),
      pm_status: pmStatus,
      contact_type: "In Person",
    };

    const { facts } = await healthie.toFacts(
      deliveryOf("appointment-updated.json"),
      vi.fn(async () => appointment),
    );

    expect(facts[0]).toMatchObject({ status, modality: "in-person" });
  });

  it("R10: skips an unknown pm_status with a reason instead of guessing", async () => {
    const appointment = { ...fixtureJson("appointment-occurred.json"), pm_status: "Teleported" };

    const { facts, skipped } = await healthie.toFacts(
      deliveryOf("appointment-updated.json"),
      vi.fn(async () => appointment),
    );

    expect(facts).toEqual([]);
    expect(skipped).toEqual([
      {
        reference: "healthie:appointment/597220",
        reason: "pm_status is not a known Healthie appointment status",
      },
    ]);
  });

  it("R16: a deleted appointment retracts the visit held under its id, without fetching it", async () => {
    const fetchResource = vi.fn();

    const mapped = await healthie.toFacts(deliveryOf("appointment-deleted.json"), fetchResource);

    expect(fetchResource).not.toHaveBeenCalled();
    expect(mapped).toEqual({
      facts: [],
      retractions: [{ factId: "healthie:appointment/597220" }],
      skipped: [],
    });
  });

  it("R16: a deleted message retracts the fact held under its id, without fetching it", async () => {
    const fetchResource = vi.fn();
    const body = { ...fixtureJson("message-created.json"), event_type: "message.deleted" };

    const mapped = await healthie.toFacts(
      healthie.accept(signedRequest(Buffer.from(JSON.stringify(body)))),
      fetchResource,
    );

    expect(fetchResource).not.toHaveBeenCalled();
    expect(mapped).toEqual({
      facts: [],
      retractions: [{ factId: `healthie:message/${body.resource_id}` }],
      skipped: [],
    });
  });

  it("skips a fetched message that fails its schema, naming the path but not the value", async () => {
    const note = { ...fixtureJson("note-from-patient.json"), created_at: PATIENT_NAME };

    const { facts, skipped } = await healthie.toFacts(
      deliveryOf("message-created.json"),
      vi.fn(async () => note),
    );

    expect(facts).toEqual([]);
    expect(skipped).toEqual([
      { reference: "healthie:message/88120456", reason: "fetched message fails its schema at created_at" },
    ]);
    expect(JSON.stringify(skipped)).not.toContain(PATIENT_NAME);
  });

  it("skips a fetched resource that is not the one the event names", async () => {
    const { facts, skipped } = await healthie.toFacts(
      deliveryOf("message-created.json"),
      vi.fn(async () => fixtureJson("note-from-provider.json")),
    );

    expect(facts).toEqual([]);
    expect(skipped[0]?.reason).toBe("fetched message is not the one the event names");
  });

  it("skips an event type it does not map, without fetching", async () => {
    const body = Buffer.from(
      JSON.stringify({ ...fixtureJson("message-created.json"), event_type: "goal.created" }),
    );
    const fetchResource = vi.fn();

    const { skipped } = await healthie.toFacts(healthie.accept(signedRequest(body)), fetchResource);

    expect(fetchResource).not.toHaveBeenCalled();
    expect(skipped).toEqual([
      { reference: "healthie:goal/88120456", reason: "event type is not mapped to facts" },
    ]);
  });
});
