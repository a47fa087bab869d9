import { createHmac } from "node:crypto";
import { readFileSync } from "node:fs";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { Appointment, Encounter } from "@medplum/fhirtypes";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../bin/local/pipeline.js";
import { createApplyHandler } from "../../functions/apply/apply-handler.js";
import { createIngestHandler, ingestDependencies } from "../../functions/ingest/ingest-handler.js";
import { type InboxMessage, inboxMessageSchema } from "../../functions/queue/inbox-message.js";
import { ingestConfigSchema } from "../../functions/runtime-config.js";
import { bridge } from "../../functions/vendors/bridge/format.js";
import type { ResourceFetcher } from "../../functions/vendors/format.js";
import { enabledFormats } from "../../functions/vendors/registry.js";
import { applyWorld, emittedMetrics, sqsEventOf } from "../support/apply-fakes.js";

/**
 * Material no one here wrote (test/fixtures/upstream/SOURCES.md): each delivery authenticates through the ingest
 * handler with its published secret or vector, is queued, and through the apply handler maps to the facts it
 * should or is recorded as ignored with its reason. None reaches the DLQ.
 */

const upstream = (path: string): Buffer =>
  readFileSync(new URL(`../fixtures/upstream/${path}`, import.meta.url));

/** athenahealth's sample secret (`ApplicationConstants.HMAC_LOCAL_TEST_SECRET`) and its published signatures. */
const ATHENA_SECRET = "SecretHashKeyForConsumer1";
const athenaSignatures = {
  appointment: "sha256=a7cd1196b24559701f2fb699a364845c16d3a920455abf047042eb650e2c3563",
  patient: "sha256=74c46018cd75fc09c7176a6ed3c98606230f826d27ae770d34a9fe4031354da7",
  order: "sha256=f528cc71a3e0032482465fc4b55cda0f63d230e2072cbfdceb8c2feaf6a91838",
} as const;

/** The IG publishes no channel secret: this deployment's, sent as its subscription's `channel.header` names. */
const IG_SECRET = "backport-ig-channel-secret";
const MEDPLUM_SECRET = "medplum-subscription-secret";
const vector = JSON.parse(upstream("standard-webhooks/sign-vector.json").toString("utf8")) as {
  key: string;
  msgId: string;
  timestamp: number;
  payload: string;
  expected: string;
};

const config = ingestConfigSchema.parse({
  inboxQueueUrl: "https://sqs.us-east-1.amazonaws.com/000000000000/test-inbox.fifo",
  enabledFormats: ["fhir", "medplum", "bridge"],
  secretPrefix: "test",
  localSecrets: {
    fhir: [ATHENA_SECRET, IG_SECRET],
    medplum: [MEDPLUM_SECRET],
    bridge: [vector.key],
    elation: [],
    healthie: [],
  },
  fhirSecretHeaders: ["authorization", "x-api-key"],
});

const sqsMock = mockClient(SQSClient);

function event(format: string, body: Buffer, headers: Record<string, string>): APIGatewayProxyEvent {
  return {
    resource: "/webhooks/{format}",
    path: `/webhooks/${format}`,
    httpMethod: "POST",
    headers,
    multiValueHeaders: {},
    queryStringParameters: null,
    multiValueQueryStringParameters: null,
    pathParameters: { format },
    stageVariables: null,
    requestContext: { path: `/prod/webhooks/${format}` },
    body: body.toString("base64"),
    isBase64Encoded: true,
  } as unknown as APIGatewayProxyEvent;
}

/** Sends one delivery through the ingest handler: its answer and what it queued. */
async function ingest(format: string, body: Buffer, headers: Record<string, string>, now = new Date()) {
  const handler = createIngestHandler(config, {
    ...ingestDependencies(config, new SQSClient({ region: "us-east-1" })),
    now: () => now,
  });
  const answer = (await handler(event(format, body, headers), lambdaContext("ingest"))) as {
    statusCode: number;
    body: string;
  };
  const queued = sqsMock
    .commandCalls(SendMessageCommand)
    .map((call) => inboxMessageSchema.parse(JSON.parse(call.args[0].input.MessageBody ?? "")));
  return { answer, queued };
}

/** Runs queued messages through the apply handler over in-memory stores. */
async function apply(messages: InboxMessage[], fetchResource?: ResourceFetcher) {
  const log = vi.mocked(console.log);
  log.mockClear();
  const world = applyWorld(enabledFormats(config.enabledFormats), fetchResource);
  const answer = await createApplyHandler(world.deps)(sqsEventOf(messages), lambdaContext("apply"));
  const ignored = emittedMetrics(log.mock.calls)
    .filter((metric) => "DeliveriesIgnored" in metric)
    .map((metric) => metric.reason);
  return { world, answer, ignored };
}

beforeEach(() => {
  vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
  sqsMock.reset();
  sqsMock.on(SendMessageCommand).resolves({ MessageId: "m1" });
  vi.spyOn(console, "log").mockImplementation(() => undefined);
  vi.spyOn(console, "info").mockImplementation(() => undefined);
  vi.spyOn(console, "warn").mockImplementation(() => undefined);
  vi.spyOn(console, "error").mockImplementation(() => undefined);
});
afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllEnvs();
});

describe("HL7 Subscriptions Backport IG example notifications", () => {
  /** The IG's example Encounter (`BackportNotificationEncounter`): virtual, in progress, and without a period. */
  const igEncounter = JSON.parse(
    upstream("hl7-backport/Bundle-r4-notification-full-resource.json").toString("utf8"),
  ).entry[1].resource as Encounter;
  const ENCOUNTER = "Encounter/86009987-eabe-42bf-8c02-b112b18cb616";

  // R4 with `Authorization: Bearer`, R4B with `x-api-key`: the two headers subscriptions commonly name.
  const versions = [
    ["r4", { authorization: `Bearer ${IG_SECRET}` }],
    ["r4b", { "x-api-key": IG_SECRET }],
  ] as const;
  const examples = [
    ["handshake", "handshake", "handshake"],
    ["heartbeat", "heartbeat", "heartbeat"],
    ["empty", "event", "empty"],
    ["id-only", "event", "no-time"],
    ["full-resource", "event", "no-time"],
  ] as const;
  const cases = versions.flatMap(([version, headers]) =>
    examples.map(([example, kind, reason]) => ({ version, headers, example, kind, reason })),
  );

  it.each(cases)(
    "$version $example: authenticated, queued as $kind, recorded as ignored ($reason), not dead-lettered",
    async ({ version, headers, example, kind, reason }) => {
      // Prepare
      const body = upstream(`hl7-backport/Bundle-${version}-notification-${example}.json`);
      const fetchResource = vi.fn<ResourceFetcher>().mockResolvedValue(igEncounter);

      // Act
      const { answer, queued } = await ingest("fhir", body, {
        "content-type": "application/fhir+json",
        ...headers,
      });
      const applied = await apply(queued, fetchResource);

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(queued).toMatchObject([{ format: "fhir", kind, subscription: "Subscription/admission" }]);
      expect(applied.answer).toEqual({ batchItemFailures: [] });
      expect(applied.world.deadLetters).toEqual([]);
      expect(applied.world.facts).toEqual([]);
      expect(applied.ignored).toEqual([reason]);
      // Only the id-only notification asks the server for its focus.
      expect(fetchResource.mock.calls).toEqual(example === "id-only" ? [[ENCOUNTER]] : []);
    },
  );

  it("the same example with a period is a virtual visit: what the IG's Encounter lacks is the time", async () => {
    // Prepare
    const body = upstream("hl7-backport/Bundle-r4b-notification-id-only.json");
    const withPeriod: Encounter = { ...igEncounter, period: { start: "2020-05-29T11:00:00-05:00" } };
    const { queued } = await ingest("fhir", body, {
      "content-type": "application/fhir+json",
      "x-api-key": IG_SECRET,
    });

    // Act
    const applied = await apply(queued, async () => withPeriod);

    // Assess
    expect(applied.world.facts).toMatchObject([
      {
        kind: "visit",
        id: ENCOUNTER,
        patientId: "1599eb66-431a-447c-a3de-6897fe9ae9a1",
        modality: "virtual",
        at: "2020-05-29T11:00:00-05:00",
      },
    ]);
    expect(applied.ignored).toEqual([]);
  });

  it.each([
    ["x-api-key", "wrong-secret", 401],
    ["authorization", "Bearer wrong-secret", 401],
    ["x-other-key", IG_SECRET, 401],
  ])("refuses the example with %s: %s (%i)", async (header, value, status) => {
    const body = upstream("hl7-backport/Bundle-r4-notification-id-only.json");
    const { answer, queued } = await ingest("fhir", body, {
      "content-type": "application/fhir+json",
      [header]: value,
    });
    expect(answer.statusCode).toBe(status);
    expect(answer.body).not.toContain(IG_SECRET);
    expect(queued).toEqual([]);
  });
});

describe("athenahealth's sample notifications, with their sample secret and signatures", () => {
  const headersOf = (name: keyof typeof athenaSignatures) => ({
    accept: "*/*",
    "content-type": "application/fhir+json",
    "x-hub-signature": athenaSignatures[name],
  });

  it.each(Object.keys(athenaSignatures) as Array<keyof typeof athenaSignatures>)(
    "%s: the published X-Hub-Signature verifies over the bytes as sent",
    async (name) => {
      // Act
      const { answer, queued } = await ingest(
        "fhir",
        upstream(`athenahealth/${name}-notification.json`),
        headersOf(name),
      );

      // Assess
      expect(answer.statusCode).toBe(200);
      expect(queued).toMatchObject([{ format: "fhir", kind: "event" }]);
    },
  );

  it("a body re-serialised (its trailing whitespace gone) no longer verifies", async () => {
    const body = upstream("athenahealth/appointment-notification.json");
    const trimmed = Buffer.from(body.toString("utf8").trimEnd());
    const { answer } = await ingest("fhir", trimmed, headersOf("appointment"));
    expect(answer.statusCode).toBe(401);
  });

  it("Appointment named only by its identifier: found by identifier search, a visit of the AuditEvent's patient", async () => {
    // Prepare: athenahealth publishes no FHIR Appointment for its sample; this stand-in is shaped as R4 writes one.
    const system = "urn:athenahealth:athenanet:appointment:195900";
    const found: Appointment = {
      resourceType: "Appointment",
      id: "a-195900.appointment-2",
      identifier: [{ system, value: "2" }],
      status: "booked",
      start: "2023-04-14T13:00:00Z",
      participant: [
        { actor: { reference: "Patient/a-195900.E-51711" }, status: "accepted" },
        { actor: { reference: "Practitioner/a-195900.Provider-71" }, status: "accepted" },
      ],
    };
    const fetchResource = vi.fn<ResourceFetcher>().mockResolvedValue(found);
    const { queued } = await ingest(
      "fhir",
      upstream("athenahealth/appointment-notification.json"),
      headersOf("appointment"),
    );

    // Act
    const applied = await apply(queued, fetchResource);

    // Assess
    expect(queued).toMatchObject([
      { dedupeKey: expect.stringContaining("0901fb5b-6858-33f2-994f-6680c0c6aadb") },
    ]);
    expect(fetchResource).toHaveBeenCalledExactlyOnceWith(`Appointment?identifier=${system}|2`);
    expect(applied.world.facts).toMatchObject([
      { kind: "visit", id: "Appointment/a-195900.appointment-2", patientId: "a-195900.E-51711" },
    ]);
    expect(applied.world.deadLetters).toEqual([]);
    expect(applied.ignored).toEqual([]);
  });

  it.each([
    ["patient", "context-only"],
    ["order", "unmapped-type"],
  ])(
    "%s notification: nothing to fetch, recorded as ignored (%s), not dead-lettered",
    async (name, reason) => {
      // Prepare
      const fetchResource = vi.fn<ResourceFetcher>();
      const { queued } = await ingest(
        "fhir",
        upstream(`athenahealth/${name}-notification.json`),
        headersOf(name as keyof typeof athenaSignatures),
      );

      // Act
      const applied = await apply(queued, fetchResource);

      // Assess
      expect(fetchResource).not.toHaveBeenCalled();
      expect(applied.answer).toEqual({ batchItemFailures: [] });
      expect(applied.world.deadLetters).toEqual([]);
      expect(applied.ignored).toEqual([reason]);
    },
  );

  it("an AuditEvent-only notification (the appointment sample without its focus) is ignored as audit-only", async () => {
    // Prepare: no signature covers the changed body, so it is signed here with the sample secret.
    const bundle = JSON.parse(upstream("athenahealth/appointment-notification.json").toString("utf8"));
    bundle.entry[0].resource.notificationEvent[0].focus = undefined;
    const body = Buffer.from(JSON.stringify(bundle));
    const signature = `sha256=${createHmac("sha256", ATHENA_SECRET).update(body).digest("hex")}`;
    const { queued } = await ingest("fhir", body, {
      ...headersOf("appointment"),
      "x-hub-signature": signature,
    });

    // Act
    const applied = await apply(queued);

    // Assess
    expect(applied.world.deadLetters).toEqual([]);
    expect(applied.ignored).toEqual(["audit-only"]);
  });
});

describe("Standard Webhooks reference test vector, through the bridge format", () => {
  const sentAt = new Date(vector.timestamp * 1000);
  const headers = (signature: string) => ({
    "content-type": "application/json",
    "webhook-id": vector.msgId,
    "webhook-timestamp": String(vector.timestamp),
    "webhook-signature": signature,
  });

  it("the published signature authenticates the published payload with the published key", () => {
    const request = {
      method: "POST",
      path: "/webhooks/bridge",
      rawQuery: "",
      headers: headers(vector.expected),
      body: Buffer.from(vector.payload),
    };
    expect(() => bridge.authenticate(request, [vector.key], sentAt)).not.toThrow();
  });

  it("through ingest: authenticated, then refused as an envelope (400), since its payload is no bridge event", async () => {
    // Act
    const { answer, queued } = await ingest(
      "bridge",
      Buffer.from(vector.payload),
      headers(vector.expected),
      sentAt,
    );

    // Assess
    expect(answer.statusCode).toBe(400);
    expect(JSON.parse(answer.body)).toMatchObject({
      type: "https://portaltime.dev/problems/invalid-envelope",
    });
    expect(queued).toEqual([]);
  });

  it("one signature byte changed: 401, so the 400 above came after the signature was checked", async () => {
    const tampered = vector.expected.replace("g0hM", "g0hN");
    const { answer } = await ingest("bridge", Buffer.from(vector.payload), headers(tampered), sentAt);
    expect(answer.statusCode).toBe(401);
  });
});

describe("a Medplum delivery signed as Medplum's server signs it", () => {
  /*
   * Copied from medplum/medplum (Apache-2.0), not portaltime's signer:
   * - packages/server/src/workers/subscription.ts @ 006a04bf3648f54269e34c87fa0c1f91d7058104, `sendRestHook`:
   *   `const body = interaction === 'delete' ? '{}' : stringify(resource);` and `buildRestHookHeaders`:
   *   `headers['X-Signature'] = createHmac('sha256', secret).update(body).digest('hex');`, beside
   *   `'Content-Type': ContentType.FHIR_JSON`, `'X-Medplum-Subscription': subscription.id`,
   *   `'X-Medplum-Interaction': interaction`, and for deletes
   *   `headers['X-Medplum-Deleted-Resource'] = \`${resource.resourceType}/${resource.id}\``.
   * - packages/core/src/utils.ts @ 0e9dfc5b12610c144ad87ad30d24156903430de4, `stringify` (FHIR JSON: properties
   *   with empty values and objects with no properties are removed), below.
   */
  const isPopulated = (arg: unknown): boolean => {
    if (arg === null || arg === undefined) return false;
    const t = typeof arg;
    return (
      (t === "string" && arg !== "") ||
      (t === "object" &&
        (("length" in (arg as object) && (arg as { length: number }).length > 0) ||
          Object.keys(arg as object).length > 0))
    );
  };
  const isEmpty = (v: unknown): boolean => {
    if (v === null || v === undefined) return true;
    const t = typeof v;
    if (t === "string" || t === "object") return !isPopulated(v);
    return false;
  };
  const isArrayKey = (k: string): boolean => !!/\d+$/.exec(k);
  const stringifyReplacer = (k: string, v: unknown): unknown =>
    !isArrayKey(k) && isEmpty(v) ? undefined : v;
  const stringify = (value: unknown): string => JSON.stringify(value, stringifyReplacer);

  function buildRestHookRequest(
    subscriptionId: string,
    secret: string,
    resource: { resourceType: string; id: string },
    interaction: "create" | "update" | "delete",
  ) {
    const body = interaction === "delete" ? "{}" : stringify(resource);
    const headers: Record<string, string> = {
      "Content-Type": "application/fhir+json",
      "X-Medplum-Subscription": subscriptionId,
      "X-Medplum-Interaction": interaction,
    };
    if (interaction === "delete") {
      headers["X-Medplum-Deleted-Resource"] = `${resource.resourceType}/${resource.id}`;
    }
    headers["X-Signature"] = createHmac("sha256", secret).update(body).digest("hex");
    return { body: Buffer.from(body), headers };
  }

  /** API Gateway hands the function header names as sent; the ingest side reads them lower-cased. */
  const lowerCased = (headers: Record<string, string>) =>
    Object.fromEntries(Object.entries(headers).map(([name, value]) => [name.toLowerCase(), value]));

  const SUBSCRIPTION = "6c1d2e3f-4a5b-4c6d-8e7f-9a0b1c2d3e4f";
  const reply = JSON.parse(
    readFileSync(new URL("../fixtures/vendors/medplum/communication-reply.json", import.meta.url), "utf8"),
  );

  it("an update: authenticated, queued, and applied as the clinician's activity", async () => {
    // Prepare: with an empty element Medplum's stringify drops, so the bytes differ from JSON.stringify's.
    const { body, headers } = buildRestHookRequest(
      SUBSCRIPTION,
      MEDPLUM_SECRET,
      { ...reply, note: [] },
      "update",
    );

    // Act
    const { answer, queued } = await ingest("medplum", body, lowerCased(headers));
    const applied = await apply(queued);

    // Assess
    expect(body.toString("utf8")).not.toContain('"note"');
    expect(answer.statusCode).toBe(200);
    expect(applied.world.facts).toMatchObject([
      { kind: "clinician-activity", id: `Communication/${reply.id}` },
    ]);
    expect(applied.world.deadLetters).toEqual([]);
  });

  it("a delete (body `{}`): authenticated and applied as a retraction, not dead-lettered", async () => {
    // Act
    const { body, headers } = buildRestHookRequest(SUBSCRIPTION, MEDPLUM_SECRET, reply, "delete");
    const { answer, queued } = await ingest("medplum", body, lowerCased(headers));
    const applied = await apply(queued);

    // Assess
    expect(answer.statusCode).toBe(200);
    expect(applied.world.retractions).toEqual([`Communication/${reply.id}`]);
    expect(applied.world.deadLetters).toEqual([]);
  });

  it("signed with another subscription's secret: 401", async () => {
    const { body, headers } = buildRestHookRequest(SUBSCRIPTION, "another-secret", reply, "update");
    const { answer, queued } = await ingest("medplum", body, lowerCased(headers));
    expect(answer.statusCode).toBe(401);
    expect(queued).toEqual([]);
  });
});
