import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it, vi } from "vitest";
import { devSecrets } from "../../../bin/local/dev-secrets.js";
import { signWithDevSecret } from "../../../bin/local/sign-delivery.js";
import { factSchema, visitTookPlace } from "../../../functions/domain/facts.js";
import { InvalidEnvelopeError, UnauthorizedDeliveryError } from "../../../functions/vendors/errors.js";
import type { InboundRequest } from "../../../functions/vendors/format.js";
import { healthie } from "../../../functions/vendors/healthie/format.js";
import { healthieSignature, verifySignature } from "../../fixtures/vendors/healthie/published-verifier.js";

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/vendors/healthie/${name}`, import.meta.url));
const fixtureJson = (name: string) => JSON.parse(fixture(name).toString("utf8"));

/** The synthetic patient named in the fixtures: never to appear in an error or skip reason. */
const PATIENT_NAME = "Quinn Harlow";
const NOW = new Date("2025-03-06T16:05:00Z");
const SECRET = "hsk_synthetic_webhook_secret_0001";
const ROTATED = "hsk_synthetic_webhook_secret_0002";

/**
 * Content-Digest as Healthie may write it: the documentation names a SHA-256 of the payload without fixing its
 * encoding (its example is `SHA-256=<value>`), so every reading the verifier must accept is a vector.
 */
const digestHeaders: Record<string, (body: Buffer) => string> = {
  "sha-256=<base64>": (body) => `sha-256=${createHash("sha256").update(body).digest("base64")}`,
  "sha-256=:<base64>: (RFC 9530)": (body) =>
    `sha-256=:${createHash("sha256").update(body).digest("base64")}:`,
  "SHA-256=<hex>": (body) => `SHA-256=${createHash("sha256").update(body).digest("hex")}`,
};

interface SigningOptions {
  secret?: string;
  /** How `sig1=` carries the HMAC: hex as the published sample compares it, or base64. */
  encoding?: "hex" | "base64" | "base64 in colons";
  rawQuery?: string;
  contentDigest?: (body: Buffer) => string;
  /** Whether the request keeps a Content-Length header (API Gateway drops it for binary media types). */
  contentLength?: boolean;
}

/** A delivery signed by Healthie's published algorithm (test/fixtures/vendors/healthie/published-verifier.ts). */
async function signedRequest(
  body: Buffer,
  {
    secret = SECRET,
    encoding = "hex",
    rawQuery = "",
    contentDigest = digestHeaders["sha-256=<base64>"] as (body: Buffer) => string,
    contentLength = false,
  }: SigningOptions = {},
): Promise<InboundRequest> {
  const headers: Record<string, string> = {
    "content-type": "application/json",
    "content-digest": contentDigest(body),
  };
  const hex = await healthieSignature(
    {
      method: "post",
      path: "/webhooks/healthie",
      query: rawQuery,
      body: JSON.parse(body.toString()),
      headers,
    },
    secret,
  );
  const base64 = Buffer.from(hex, "hex").toString("base64");
  headers.signature =
    encoding === "hex" ? `sig1=${hex}` : encoding === "base64" ? `sig1=${base64}` : `sig1=:${base64}:`;
  if (contentLength) headers["content-length"] = String(body.byteLength);
  return { method: "POST", path: "/webhooks/healthie", rawQuery, headers, body };
}

/** A delivery as `healthie.accept` reads it (authentication is tested on its own). */
const unsignedRequest = (body: Buffer): InboundRequest => ({
  method: "POST",
  path: "/webhooks/healthie",
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

const deliveryOf = (name: string) => healthie.accept(unsignedRequest(fixture(name)));

/** The client's chart as functions/vendors/healthie/fetcher.ts projects it from Healthie's answers (the fixtures); empty by default. */
const clientChart = (filled = false) => ({
  id: "131391",
  diagnoses: filled ? fixtureJson("user-diagnoses.json").data.user.diagnoses : [],
  consent_forms: filled ? fixtureJson("form-answer-groups.json").data.formAnswerGroups.nodes : [],
});

/** A fetcher answering `resource` for the delivery's resource and `chart` for the client's chart. */
const fetcherOf = (resource: unknown, chart: unknown = clientChart()) =>
  vi.fn(async (reference: string) => (reference.startsWith("client_chart/") ? chart : resource));

describe("healthie: authenticate, as Healthie's published verifier computes the signature", () => {
  // Compact JSON, as Healthie sends it: the sample's length is that of the re-serialized body.
  const body = Buffer.from(JSON.stringify(fixtureJson("appointment-updated.json")));

  it.each(
    Object.keys(digestHeaders).flatMap((digest) =>
      [false, true].map((contentLength) => [digest, contentLength] as const),
    ),
  )(
    "accepts a published-algorithm vector, Content-Digest %s, Content-Length header %s",
    async (digest, contentLength) => {
      // Prepare
      const request = await signedRequest(body, { contentDigest: digestHeaders[digest], contentLength });

      // Act
      const authenticate = () => healthie.authenticate(request, [SECRET], NOW);

      // Assess
      expect(request.headers["content-length"] !== undefined).toBe(contentLength);
      expect(authenticate).not.toThrow();
    },
  );

  it("accepts a signature over the whole Content-Digest value after its first =, padding kept", async () => {
    // The sample's split('=')[1] drops a base64 digest's padding; VENDORS.md reads "the part after its =": a
    // sender that keeps the padding verifies too.
    const request = await signedRequest(body);
    const digest = request.headers["content-digest"] as string;
    const signed = `post /webhooks/healthie  ${digest.slice(digest.indexOf("=") + 1)} application/json ${body.byteLength}`;
    const headers = {
      ...request.headers,
      signature: `sig1=${createHmac("sha256", SECRET).update(signed).digest("hex")}`,
    };

    expect(digest.endsWith("=")).toBe(true);
    expect(() => healthie.authenticate({ ...request, headers }, [SECRET], NOW)).not.toThrow();
  });

  it.each(["base64", "base64 in colons"] as const)("accepts the same signature in %s", async (encoding) => {
    const request = await signedRequest(body, { encoding });

    expect(() => healthie.authenticate(request, [SECRET], NOW)).not.toThrow();
  });

  it("takes the length from the body, not from a Content-Length header", async () => {
    const request = await signedRequest(body);
    const headers = { ...request.headers, "content-length": String(body.byteLength + 7) };

    expect(() => healthie.authenticate({ ...request, headers }, [SECRET], NOW)).not.toThrow();
  });

  it("covers the query string", async () => {
    const request = { ...(await signedRequest(body, { rawQuery: "tenant=a" })), rawQuery: "tenant=b" };

    expect(authError(() => healthie.authenticate(request, [SECRET], NOW))).toMatchObject({
      reason: "bad-signature",
      header: "signature",
    });
  });

  it("covers the path the vendor called", async () => {
    const request = { ...(await signedRequest(body)), path: "/prod/webhooks/healthie" };

    expect(authError(() => healthie.authenticate(request, [SECRET], NOW)).reason).toBe("bad-signature");
  });

  it("refuses a tampered body of the same length, with its original headers", async () => {
    const request = await signedRequest(body);
    const tampered = Buffer.from(body.toString("utf8").replace("597220", "597221"));

    expect(tampered.byteLength).toBe(body.byteLength);
    expect(
      authError(() => healthie.authenticate({ ...request, body: tampered }, [SECRET], NOW)),
    ).toMatchObject({
      reason: "bad-signature",
      header: "content-digest",
    });
  });

  it("refuses a body that grew, even with a digest recomputed over it", async () => {
    const request = await signedRequest(body);
    const grown = Buffer.concat([body, Buffer.from(" ")]);
    const headers = {
      ...request.headers,
      "content-digest": digestHeaders["sha-256=<base64>"]?.(grown) ?? "",
    };

    expect(
      authError(() => healthie.authenticate({ ...request, headers, body: grown }, [SECRET], NOW)),
    ).toMatchObject({
      reason: "bad-signature",
      header: "signature",
    });
  });

  it("refuses a Content-Digest that is not the body's", async () => {
    const request = await signedRequest(body);
    const headers = {
      ...request.headers,
      "content-digest": digestHeaders["sha-256=<base64>"]?.(Buffer.from("{}")) ?? "",
    };

    expect(authError(() => healthie.authenticate({ ...request, headers }, [SECRET], NOW))).toMatchObject({
      reason: "bad-signature",
      header: "content-digest",
    });
  });

  it("refuses a signature made with another secret", async () => {
    const request = await signedRequest(body, { secret: "another-secret" });

    expect(authError(() => healthie.authenticate(request, [SECRET], NOW))).toMatchObject({
      reason: "bad-signature",
      header: "signature",
    });
  });

  it("accepts the second of two active secrets (rotation)", async () => {
    const request = await signedRequest(body, { secret: ROTATED });

    expect(() => healthie.authenticate(request, [SECRET, ROTATED], NOW)).not.toThrow();
  });

  it.each(["signature", "content-digest"])("refuses a delivery without %s", async (header) => {
    const request = await signedRequest(body);
    const headers = Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== header));

    expect(authError(() => healthie.authenticate({ ...request, headers }, [SECRET], NOW))).toMatchObject({
      reason: "missing-signature",
      header,
    });
  });

  it("refuses a signature header without sig1", async () => {
    const request = await signedRequest(body);
    const headers = {
      ...request.headers,
      signature: request.headers.signature?.replace("sig1", "sig2") ?? "",
    };

    expect(authError(() => healthie.authenticate({ ...request, headers }, [SECRET], NOW)).reason).toBe(
      "bad-signature",
    );
  });

  it("signs locally the way Healthie's published verifier checks (bin/local/sign-delivery.ts)", async () => {
    // Prepare
    const headers = signWithDevSecret(
      "healthie",
      { method: "POST", path: "/webhooks/healthie", rawQuery: "", body, headers: {} },
      NOW,
    );

    // Act
    const valid = await verifySignature(
      { method: "post", path: "/webhooks/healthie", query: "", body: JSON.parse(body.toString()), headers },
      devSecrets.healthie,
    );

    // Assess
    expect(valid).toBe(true);
    expect(headers["content-length"]).toBeUndefined();
  });
});

describe("healthie: accept", () => {
  it("dedupes on the SHA-256 of the raw body and groups by the resource reference", () => {
    const body = fixture("appointment-updated.json");

    const delivery = healthie.accept(unsignedRequest(body));

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
      healthie.accept(unsignedRequest(body));
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
    const fetchResource = fetcherOf(fixtureJson("note-from-patient.json"));

    // Act
    const { facts, skipped } = await healthie.toFacts(deliveryOf("message-created.json"), fetchResource);

    // Assess
    expect(fetchResource).toHaveBeenCalledWith("message/88120456");
    expect(fetchResource).toHaveBeenCalledWith("client_chart/131391");
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
    const delivery = healthie.accept(unsignedRequest(body));
    const fetchResource = fetcherOf(fixtureJson("note-from-provider.json"));

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
    [null, "scheduled", false],
    ["Checked-In", "arrived", true],
    ["Occurred", "finished", true],
    ["No-Show", "no-show", false],
    ["Cancelled", "cancelled", false],
    ["Late Cancellation", "cancelled", false],
    ["Re-Scheduled", "cancelled", false],
  ] as const)("R10: pm_status %s is %s (took place: %s)", async (pmStatus, status, tookPlace) => {
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
    expect(visitTookPlace(status)).toBe(tookPlace);
  });

  it("R10: ignores an unknown pm_status with its reason instead of guessing", async () => {
    const appointment = { ...fixtureJson("appointment-occurred.json"), pm_status: "Teleported" };

    const { facts, ignored, skipped } = await healthie.toFacts(
      deliveryOf("appointment-updated.json"),
      vi.fn(async () => appointment),
    );

    expect(facts).toEqual([]);
    expect(skipped).toEqual([]);
    expect(ignored).toEqual([{ reference: "healthie:appointment/597220", reason: "unknown-status" }]);
  });

  it("R16: a sent scheduled message is the message it sent, under that message's id", async () => {
    // Prepare: Healthie's scheduled_message.sent names a NoteScheduler (webhook event reference).
    const scheduled = { id: "46000", invitees_count: 1, note: fixtureJson("note-from-provider.json") };
    const fetchResource = fetcherOf(scheduled);
    const delivery = deliveryOf("scheduled-message-sent.json");

    // Act
    const mapped = await healthie.toFacts(delivery, fetchResource);

    // Assess: the same fact as message.created of that note, so message.deleted retracts it (R16).
    expect(fetchResource).toHaveBeenCalledWith("scheduled_message/46000");
    const asMessage = await healthie.toFacts(
      { ...delivery, payload: { ...fixtureJson("message-created.json"), resource_id: "88120777" } },
      fetcherOf(fixtureJson("note-from-provider.json")),
    );
    expect(mapped).toEqual(asMessage);
    expect(mapped.facts).toEqual([
      expect.objectContaining({ kind: "clinician-activity", id: "healthie:message/88120777", seconds: 540 }),
    ]);
  });

  it.each([
    ["a blast to several clients", { invitees_count: 3 }, { ignored: "no-patient" }],
    ["no message", { note: null }, { ignored: "empty" }],
    [
      "another scheduler",
      { id: "46001" },
      { skipped: "fetched scheduled message is not the one the event names" },
    ],
  ])(
    "a scheduled message with %s is ignored, or skipped when it cannot be read",
    async (_, change, outcome) => {
      const scheduled = {
        id: "46000",
        invitees_count: 1,
        note: fixtureJson("note-from-provider.json"),
        ...change,
      };

      const mapped = await healthie.toFacts(
        deliveryOf("scheduled-message-sent.json"),
        vi.fn(async () => scheduled),
      );

      const reference = "healthie:scheduled_message/46000";
      expect(mapped).toEqual(
        "ignored" in outcome
          ? { facts: [], ignored: [{ reference, reason: outcome.ignored }], skipped: [] }
          : { facts: [], skipped: [{ reference, reason: outcome.skipped }] },
      );
    },
  );

  it("skips a scheduled message whose note fails its schema, naming the path but not the value", async () => {
    const note = { ...fixtureJson("note-from-provider.json"), created_at: PATIENT_NAME };

    const { skipped } = await healthie.toFacts(
      deliveryOf("scheduled-message-sent.json"),
      vi.fn(async () => ({ id: "46000", note })),
    );

    expect(skipped).toEqual([
      {
        reference: "healthie:scheduled_message/46000",
        reason: "fetched scheduled message fails its schema at note.created_at",
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
      healthie.accept(unsignedRequest(Buffer.from(JSON.stringify(body)))),
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

  it("ignores an event type it does not map, without fetching", async () => {
    const body = Buffer.from(
      JSON.stringify({ ...fixtureJson("message-created.json"), event_type: "goal.created" }),
    );
    const fetchResource = vi.fn();

    const { ignored, skipped } = await healthie.toFacts(
      healthie.accept(unsignedRequest(body)),
      fetchResource,
    );

    expect(fetchResource).not.toHaveBeenCalled();
    expect(ignored).toEqual([{ reference: "healthie:goal/88120456", reason: "unmapped-type" }]);
    expect(skipped).toEqual([]);
  });
});

describe("healthie: diagnoses and consent from the client's chart (issue 13)", () => {
  it("R8: a message carries the diagnoses the client had on its date, the primary one first", async () => {
    // Prepare: Healthie lists I10, then the primary E11.65; J06.9 ended in February; F41.1 is inactive but
    // ends on 10 March; M54.50's first symptom is in April; one diagnosis has no ICD code.
    const fetchResource = fetcherOf(fixtureJson("note-from-patient.json"), clientChart(true));

    // Act
    const { facts, skipped } = await healthie.toFacts(deliveryOf("message-created.json"), fetchResource);

    // Assess: the message of 3 March 2025.
    expect(skipped).toEqual([]);
    expect(facts.find((fact) => fact.kind === "inquiry")).toMatchObject({
      diagnosisCodes: ["E11.65", "I10", "F41.1"],
    });
  });

  it("R11: the client's finished consent forms are consent facts dated by created_at; a deleted one is retracted", async () => {
    // Prepare
    const fetchResource = fetcherOf(fixtureJson("note-from-provider.json"), clientChart(true));
    const body = Buffer.from(
      JSON.stringify({ ...fixtureJson("message-created.json"), resource_id: "88120777" }),
    );
    const delivery = healthie.accept(unsignedRequest(body));

    // Act
    const { facts } = await healthie.toFacts(delivery, fetchResource);

    // Assess: 30553 is a draft (not finished), so not a consent.
    expect(facts.filter((fact) => fact.kind === "consent")).toEqual([
      factSchema.parse({
        kind: "consent",
        id: "healthie:form_answer_group/30551",
        version: Date.parse("2025-01-10T15:02:00Z"),
        dedupeKey: delivery.dedupeKey,
        patientId: "131391",
        at: "2025-01-10T15:00:00Z",
        status: "active",
      }),
      factSchema.parse({
        kind: "consent",
        id: "healthie:form_answer_group/30552",
        version: Date.parse("2025-01-09T12:00:00-05:00"),
        dedupeKey: delivery.dedupeKey,
        patientId: "131391",
        retracted: true,
        at: "2024-12-02T09:30:00-05:00",
        status: "active",
      }),
    ]);
    expect(facts.find((fact) => fact.kind === "clinician-activity")).toMatchObject({
      diagnosisCodes: ["E11.65", "I10", "F41.1"],
    });
  });

  it("R19: a chart that fails its schema is reported by path, and the message still applies without diagnoses", async () => {
    // Prepare: one diagnosis with a name where its flag should be, one form of another client.
    const chart = clientChart(true);
    chart.diagnoses = [{ ...chart.diagnoses[1], active: PATIENT_NAME }];
    chart.consent_forms = [{ ...chart.consent_forms[0], user_id: "999" }];
    const fetchResource = fetcherOf(fixtureJson("note-from-patient.json"), chart);

    // Act
    const { facts, skipped } = await healthie.toFacts(deliveryOf("message-created.json"), fetchResource);

    // Assess: the episode will show diagnosis-missing and consent-missing; nothing is dropped silently.
    expect(facts).toEqual([expect.objectContaining({ kind: "inquiry", diagnosisCodes: [] })]);
    expect(skipped).toEqual([
      { reference: "healthie:client_chart/131391", reason: "diagnoses.0 fails its schema at active" },
    ]);
    expect(JSON.stringify(skipped)).not.toContain(PATIENT_NAME);
  });

  it("reports a chart that is not the client's, and one that is not a chart", async () => {
    for (const [chart, reason] of [
      [{ ...clientChart(), id: "131392" }, "fetched chart is not the client's"],
      [{ id: "131391" }, "fetched chart fails its schema at diagnoses"],
    ] as const) {
      // Act
      const { facts, skipped } = await healthie.toFacts(
        deliveryOf("message-created.json"),
        fetcherOf(fixtureJson("note-from-patient.json"), chart),
      );

      // Assess
      expect(facts).toHaveLength(1);
      expect(skipped).toEqual([{ reference: "healthie:client_chart/131391", reason }]);
    }
  });

  it("R16: a deleted form retracts the consent held under its id, without fetching", async () => {
    // Prepare: Healthie's form_answer_group.deleted (webhook event reference).
    const fetchResource = vi.fn();
    const body = {
      resource_id: "30551",
      resource_id_type: "FormAnswerGroup",
      event_type: "form_answer_group.deleted",
      changed_fields: [],
    };

    // Act
    const mapped = await healthie.toFacts(
      healthie.accept(unsignedRequest(Buffer.from(JSON.stringify(body)))),
      fetchResource,
    );

    // Assess
    expect(fetchResource).not.toHaveBeenCalled();
    expect(mapped).toEqual({
      facts: [],
      retractions: [{ factId: "healthie:form_answer_group/30551" }],
      skipped: [],
    });
  });

  it("does not read the chart for an appointment", async () => {
    const fetchResource = fetcherOf(fixtureJson("appointment-occurred.json"));

    await healthie.toFacts(deliveryOf("appointment-updated.json"), fetchResource);

    expect(fetchResource).toHaveBeenCalledTimes(1);
    expect(fetchResource).toHaveBeenCalledWith("appointment/597220");
  });
});
