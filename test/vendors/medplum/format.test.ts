import { createHash, createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import type { Communication } from "@medplum/fhirtypes";
import { describe, expect, it, vi } from "vitest";
import {
  InvalidEnvelopeError,
  UnauthorizedDeliveryError,
  UnmappableDeliveryError,
} from "../../../functions/vendors/errors.js";
import type { InboundRequest, ResourceFetcher } from "../../../functions/vendors/format.js";
import { medplum } from "../../../functions/vendors/medplum/format.js";

const SUBSCRIPTION = "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
const SECRETS = ["medplum-secret-a", "medplum-secret-b"] as const;
const PATIENT = "7d2c9e4a-1b3f-4a6d-8c5e-9f0a1b2c3d4e";
const PRACTITIONER = "3a1f7c2b-6d4e-4f80-9b1a-2c3d4e5f6a7b";
const PHI = ["Rivera", "Synthetic"];

const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../fixtures/vendors/medplum/${name}.json`, import.meta.url));
const fixtureJson = <T>(name: string): T => JSON.parse(fixture(name).toString("utf8"));
const bytes = (json: unknown): Buffer => Buffer.from(JSON.stringify(json));
const signatureOf = (body: Buffer, secret: string) => createHmac("sha256", secret).update(body).digest("hex");
const groupOf = (reference: string) => createHash("sha256").update(reference).digest("hex").slice(0, 32);

const request = (
  body: Buffer,
  /** `null` leaves the header out. */
  interaction: string | null = "update",
  extra: Record<string, string> = {},
): InboundRequest => ({
  method: "POST",
  path: "/webhooks/medplum",
  rawQuery: "",
  headers: {
    "content-type": "application/fhir+json",
    "x-medplum-subscription": SUBSCRIPTION,
    ...(interaction === null ? {} : { "x-medplum-interaction": interaction }),
    ...extra,
  },
  body,
});

const noFetch: ResourceFetcher = () => Promise.reject(new Error("no fetch expected"));

function errorOf(act: () => unknown): unknown {
  try {
    act();
  } catch (error) {
    return error;
  }
  throw new Error("expected an error");
}

describe("medplum: authenticate", () => {
  const body = fixture("communication-reply");
  const now = new Date("2026-03-02T19:05:01Z");
  const signed = (signature: string, payload = body) =>
    request(payload, "update", { "x-signature": signature });

  it("accepts the hex HMAC-SHA256 of the raw body", () => {
    expect(() => medplum.authenticate(signed(signatureOf(body, SECRETS[0])), SECRETS, now)).not.toThrow();
  });

  it("accepts the second of two active secrets (rotation)", () => {
    expect(() => medplum.authenticate(signed(signatureOf(body, SECRETS[1])), SECRETS, now)).not.toThrow();
  });

  it("accepts upper-case hex", () => {
    const signature = signatureOf(body, SECRETS[0]).toUpperCase();
    expect(() => medplum.authenticate(signed(signature), SECRETS, now)).not.toThrow();
  });

  it("rejects a tampered body", () => {
    // Prepare
    const signature = signatureOf(body, SECRETS[0]);
    const tampered = Buffer.from(body.toString("utf8").replace('"value": 12', '"value": 45'));

    // Act
    const error = errorOf(() => medplum.authenticate(signed(signature, tampered), SECRETS, now));

    // Assess
    expect(tampered.equals(body)).toBe(false);
    expect(error).toBeInstanceOf(UnauthorizedDeliveryError);
    expect(error).toMatchObject({ reason: "bad-signature", status: 401 });
  });

  it("rejects a signature made with a key that is not active", () => {
    const error = errorOf(() => medplum.authenticate(signed(signatureOf(body, "retired")), SECRETS, now));
    expect(error).toMatchObject({ reason: "bad-signature" });
  });

  it("rejects a signature that is not 64 hex characters", () => {
    const error = errorOf(() => medplum.authenticate(signed("sha256=not-hex"), SECRETS, now));
    expect(error).toMatchObject({ reason: "bad-signature" });
  });

  it("rejects a delivery without X-Signature", () => {
    const error = errorOf(() => medplum.authenticate(request(body), SECRETS, now));
    expect(error).toMatchObject({ reason: "missing-signature" });
  });
});

describe("medplum: accept", () => {
  it("dedupes on subscription + versionId + interaction and groups by the patient", () => {
    // Act
    const accepted = medplum.accept(request(fixture("communication-reply"), "create"));

    // Assess
    expect(accepted).toEqual({
      format: "medplum",
      kind: "event",
      dedupeKey: `medplum:${SUBSCRIPTION}:9c4f3d2e-5a6b-4c7d-8e9f-0a1b2c3d4e5f:create`,
      groupKey: groupOf(`Patient/${PATIENT}`),
      subscription: SUBSCRIPTION,
      payload: {
        subscription: SUBSCRIPTION,
        interaction: "create",
        resource: fixtureJson("communication-reply"),
      },
    });
  });

  it("an Appointment groups by its patient participant", () => {
    expect(medplum.accept(request(fixture("appointment"))).groupKey).toBe(groupOf(`Patient/${PATIENT}`));
  });

  it("a resource naming no patient groups by itself", () => {
    const practitioner = { resourceType: "Practitioner", id: PRACTITIONER, meta: { versionId: "v1" } };
    expect(medplum.accept(request(bytes(practitioner))).groupKey).toBe(
      groupOf(`Practitioner/${PRACTITIONER}`),
    );
  });

  it("Medplum's bodiless delete: keyed by the deleted resource named in its header", () => {
    const accepted = medplum.accept(
      request(Buffer.from("{}"), "delete", { "x-medplum-deleted-resource": `Communication/${PATIENT}` }),
    );
    expect(accepted).toMatchObject({
      dedupeKey: `medplum:${SUBSCRIPTION}:Communication/${PATIENT}:delete`,
      groupKey: groupOf(`Communication/${PATIENT}`),
    });
  });

  describe("envelope errors name the failing field and never echo its value", () => {
    const reply = fixtureJson<Communication>("communication-reply");

    it.each([
      ["a body that is not JSON", request(Buffer.from("Synthetic Rivera")), "body"],
      [
        "no subscription header",
        { ...request(fixture("communication-reply")), headers: { "x-medplum-interaction": "update" } },
        "headers.x-medplum-subscription",
      ],
      [
        "no interaction header",
        request(fixture("communication-reply"), null),
        "headers.x-medplum-interaction",
      ],
      [
        "an unknown interaction",
        request(fixture("communication-reply"), "Rivera"),
        "headers.x-medplum-interaction",
      ],
      ["a body that is no resource", request(bytes({ name: "Synthetic Rivera" })), "resourceType"],
      ["a resource without meta.versionId", request(bytes({ ...reply, meta: {} })), "meta.versionId"],
      [
        "a bodiless delete without the deleted-resource header",
        request(Buffer.from("{}"), "delete"),
        "headers.x-medplum-deleted-resource",
      ],
      [
        "a deleted-resource header that is no reference",
        request(Buffer.from("{}"), "delete", { "x-medplum-deleted-resource": "Synthetic Rivera" }),
        "headers.x-medplum-deleted-resource",
      ],
    ])("%s", (_case, delivery, path) => {
      // Act
      const error = errorOf(() => medplum.accept(delivery));

      // Assess
      expect(error).toBeInstanceOf(InvalidEnvelopeError);
      expect(error).toMatchObject({ path, status: 400 });
      for (const value of PHI) expect((error as Error).message).not.toContain(value);
    });
  });
});

describe("medplum: toFacts", () => {
  const factsOf = (delivery: InboundRequest) => medplum.toFacts(medplum.accept(delivery), noFetch);

  it("a practitioner's Communication is clinician activity; UUID versions order by lastUpdated", async () => {
    // Act
    const mapped = await factsOf(request(fixture("communication-reply")));

    // Assess
    expect(mapped).toEqual({
      facts: [
        {
          kind: "clinician-activity",
          id: "Communication/0b7d6c1e-8f1a-4c55-9d11-2a7e9a0c4f10",
          version: Date.parse("2026-03-02T19:05:00.123Z"),
          dedupeKey: `medplum:${SUBSCRIPTION}:9c4f3d2e-5a6b-4c7d-8e9f-0a1b2c3d4e5f:update`,
          patientId: PATIENT,
          retracted: false,
          messageId: "Communication/0b7d6c1e-8f1a-4c55-9d11-2a7e9a0c4f10",
          inResponseTo: "Communication/5e8a1d2c-3b4f-4a6e-9c7d-8e9f0a1b2c3d",
          at: "2026-03-02T19:00:00.000Z",
          practitionerId: PRACTITIONER,
          seconds: 720,
          diagnosisCodes: ["E11.9"],
        },
      ],
      ignored: [],
      skipped: [],
    });
  });

  it("a checked-in virtual Appointment is a visit that arrived", async () => {
    const mapped = await factsOf(request(fixture("appointment"), "create"));
    expect(mapped.facts).toMatchObject([
      {
        kind: "visit",
        status: "arrived",
        modality: "virtual",
        source: "appointment",
        patientId: PATIENT,
        practitionerId: PRACTITIONER,
        at: "2026-03-06T15:30:00.000Z",
      },
    ]);
  });

  it("a delete carrying the resource retracts its facts, one version above the content it deletes", async () => {
    // Prepare
    const update = await factsOf(request(fixture("communication-reply"), "update"));

    // Act
    const deleted = await factsOf(request(fixture("communication-reply"), "delete"));

    // Assess
    expect(deleted.facts).toMatchObject([{ id: update.facts[0]?.id, retracted: true }]);
    expect(deleted.facts[0]?.version).toBe((update.facts[0]?.version ?? 0) + 1);
  });

  it("R16: Medplum's bodiless delete retracts the fact held under the resource's id, wherever it lives", async () => {
    const fetchResource = vi.fn<ResourceFetcher>();
    const accepted = medplum.accept(
      request(Buffer.from("{}"), "delete", { "x-medplum-deleted-resource": "Appointment/a1" }),
    );
    expect(await medplum.toFacts(accepted, fetchResource)).toEqual({
      facts: [],
      retractions: [{ factId: "Appointment/a1" }],
      skipped: [],
    });
    expect(fetchResource).not.toHaveBeenCalled();
  });

  it("a payload that no longer matches cannot be mapped", async () => {
    const accepted = medplum.accept(request(fixture("appointment")));
    await expect(
      medplum.toFacts({ ...accepted, payload: { interaction: "merge" } }, noFetch),
    ).rejects.toBeInstanceOf(UnmappableDeliveryError);
  });
});
