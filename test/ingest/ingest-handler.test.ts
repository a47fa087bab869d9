import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { SendMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import type { APIGatewayProxyEvent } from "aws-lambda";
import { mockClient } from "aws-sdk-client-mock";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { devFormatSecrets, devSecrets } from "../../bin/local/dev-secrets.js";
import { lambdaContext } from "../../bin/local/pipeline.js";
import { signWithDevSecret } from "../../bin/local/sign-delivery.js";
import { createIngestHandler, ingestDependencies } from "../../functions/ingest/ingest-handler.js";
import { secretsManagerSource } from "../../functions/ingest/secrets.js";
import { inboxMessageSchema } from "../../functions/queue/inbox-message.js";
import { ingestConfigSchema } from "../../functions/runtime-config.js";
import { healthieSignature } from "../fixtures/vendors/healthie/published-verifier.js";

const sqsMock = mockClient(SQSClient);
const NOW = new Date("2026-03-02T15:00:00Z");
const PATIENT_NAME = "Synthetic Zebulon Quixote";

const config = ingestConfigSchema.parse({
  inboxQueueUrl: "https://sqs.us-east-1.amazonaws.com/000000000000/test-inbox.fifo",
  enabledFormats: ["fhir", "bridge"],
  secretPrefix: "test",
  localSecrets: devFormatSecrets,
  maxBodyBytes: 4096,
});

const bridgeBody = (patientId = "pat-1") =>
  JSON.stringify({
    schemaVersion: "1.0",
    patientId,
    facts: [
      { kind: "inquiry", id: "q1", at: "2026-03-02T14:00:00Z", author: "patient", diagnosisCodes: ["E11.9"] },
    ],
  });

function event(format: string, body: string, headers: Record<string, string>): APIGatewayProxyEvent {
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
    body: Buffer.from(body).toString("base64"),
    isBase64Encoded: true,
  } as unknown as APIGatewayProxyEvent;
}

const signedBridge = (body: string, at = NOW, extra: Record<string, string> = {}) =>
  event(
    "bridge",
    body,
    signWithDevSecret(
      "bridge",
      {
        method: "POST",
        path: "/webhooks/bridge",
        rawQuery: "",
        body: Buffer.from(body),
        headers: { "content-type": "application/json", ...extra },
      },
      at,
    ),
  );

/** EMF documents printed by Powertools Metrics, as data. */
function emittedMetrics(spy: ReturnType<typeof vi.spyOn>) {
  return spy.mock.calls
    .map((call: unknown[]) => String(call[0]))
    .filter((line: string) => line.includes('"_aws"'))
    .map((line: string) => JSON.parse(line));
}

describe("the ingest handler", () => {
  let log: ReturnType<typeof vi.spyOn>;
  let handler: ReturnType<typeof createIngestHandler>;

  beforeEach(() => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m1" });
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    handler = createIngestHandler(config, {
      ...ingestDependencies(config, new SQSClient({ region: "us-east-1" })),
      now: () => NOW,
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("accepts a signed delivery: one SQS send to the FIFO inbox, grouped and deduplicated, then 202", async () => {
    const answer = await handler(
      signedBridge(bridgeBody(), NOW, { "webhook-id": "msg_1" }),
      lambdaContext("ingest"),
    );

    expect(answer).toMatchObject({ statusCode: 202, body: JSON.stringify({ status: "accepted" }) });
    const sends = sqsMock.commandCalls(SendMessageCommand);
    expect(sends).toHaveLength(1);
    const input = sends[0]?.args[0].input;
    expect(input?.QueueUrl).toBe(config.inboxQueueUrl);
    expect(input?.MessageGroupId).toMatch(/^[0-9a-f]{32}$/);
    expect(input?.MessageDeduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(inboxMessageSchema.parse(JSON.parse(input?.MessageBody ?? ""))).toMatchObject({
      format: "bridge",
      kind: "event",
      dedupeKey: "msg_1",
      receivedAt: NOW.toISOString(),
    });
    const [metric] = emittedMetrics(log);
    expect(metric).toMatchObject({
      DeliveriesAccepted: 1,
      format: "bridge",
      kind: "event",
      service: "ingest",
    });
  });

  const rejections: Array<[string, () => APIGatewayProxyEvent, number, string]> = [
    [
      "an unknown format",
      () => event("hl7v2", bridgeBody(), { "content-type": "application/json" }),
      404,
      "unknown-format",
    ],
    [
      "a format not enabled",
      () => event("healthie", bridgeBody(), { "content-type": "application/json" }),
      404,
      "unknown-format",
    ],
    [
      "a body over the limit",
      () => signedBridge(JSON.stringify({ pad: "x".repeat(5000) })),
      413,
      "payload-too-large",
    ],
    [
      "a wrong content type",
      () => ({
        ...signedBridge(bridgeBody()),
        headers: { ...signedBridge(bridgeBody()).headers, "content-type": "text/plain" },
      }),
      415,
      "unsupported-content-type",
    ],
    [
      "no signature",
      () => event("bridge", bridgeBody(), { "content-type": "application/json" }),
      401,
      "missing-signature",
    ],
    [
      "a tampered body",
      () => ({ ...signedBridge(bridgeBody()), body: Buffer.from(bridgeBody("pat-2")).toString("base64") }),
      401,
      "bad-signature",
    ],
    [
      "a stale timestamp",
      () => signedBridge(bridgeBody(), new Date(NOW.getTime() - 6 * 60_000)),
      401,
      "stale-timestamp",
    ],
    [
      "a future timestamp",
      () => signedBridge(bridgeBody(), new Date(NOW.getTime() + 6 * 60_000)),
      401,
      "future-timestamp",
    ],
    [
      "an envelope failing its schema",
      () => signedBridge(JSON.stringify({ schemaVersion: "1.0", patientId: PATIENT_NAME, facts: "none" })),
      400,
      "invalid-envelope",
    ],
  ];

  for (const [what, request, status, reason] of rejections) {
    it(`rejects ${what}: ${status} problem+json, a metric by format and reason, nothing queued`, async () => {
      const answer = (await handler(request(), lambdaContext("ingest"))) as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
      };

      expect(answer.statusCode).toBe(status);
      expect(answer.headers["content-type"]).toBe("application/problem+json");
      const problem = JSON.parse(answer.body);
      expect(problem).toMatchObject({ type: `https://portaltime.dev/problems/${reason}`, status });
      expect(answer.body).not.toContain(PATIENT_NAME);
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
      const [metric] = emittedMetrics(log);
      expect(metric).toMatchObject({ DeliveriesRejected: 1, reason, service: "ingest" });
      expect(["bridge", "unknown"]).toContain(metric.format);
    });
  }

  it("names the failing field path of a bad envelope, never its value", async () => {
    const body = JSON.stringify({
      schemaVersion: "1.0",
      patientId: "pat-1",
      facts: [{ kind: "inquiry", id: "q1", at: PATIENT_NAME, author: "patient" }],
    });

    const answer = (await handler(signedBridge(body), lambdaContext("ingest"))) as { body: string };

    expect(JSON.parse(answer.body).path).toBe("facts.0.at");
    expect(answer.body).not.toContain(PATIENT_NAME);
  });

  it("answers 413 for a delivery that grows past the queue's message limit once re-serialized, queueing nothing", async () => {
    // Prepare: 90,000 invalid UTF-8 bytes in a message text: about 90 KB as sent, 270 KB once each is U+FFFD.
    const bundle = JSON.parse(
      readFileSync(new URL("../fixtures/vendors/fhir/r4-inquiry.json", import.meta.url), "utf8"),
    );
    const communication = bundle.entry.find(
      (entry: { resource: { resourceType: string } }) => entry.resource.resourceType === "Communication",
    );
    communication.resource.payload = [{ contentString: "@@TEXT@@" }];
    const [before, after] = JSON.stringify(bundle).split("@@TEXT@@");
    const body = Buffer.concat([
      Buffer.from(before ?? ""),
      Buffer.alloc(90_000, 0xff),
      Buffer.from(after ?? ""),
    ]);
    const roomy = createIngestHandler(
      { ...config, maxBodyBytes: 240 * 1024 },
      {
        ...ingestDependencies(
          { ...config, maxBodyBytes: 240 * 1024 },
          new SQSClient({ region: "us-east-1" }),
        ),
        now: () => NOW,
      },
    );
    const request = {
      ...event("fhir", "", {
        "content-type": "application/fhir+json",
        authorization: `Bearer ${devFormatSecrets.fhir[0]}`,
      }),
      body: body.toString("base64"),
    };

    // Act
    const answer = (await roomy(request, lambdaContext("ingest"))) as { statusCode: number; body: string };

    // Assess
    expect(body.byteLength).toBeLessThan(240 * 1024);
    expect(answer.statusCode).toBe(413);
    expect(JSON.parse(answer.body)).toMatchObject({
      type: "https://portaltime.dev/problems/payload-too-large",
    });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
  });

  it("answers 503 with Retry-After when the inbox is unavailable, so the vendor retries", async () => {
    sqsMock
      .on(SendMessageCommand)
      .rejects(Object.assign(new Error("service unavailable"), { name: "ServiceUnavailable" }));

    const answer = (await handler(signedBridge(bridgeBody()), lambdaContext("ingest"))) as {
      statusCode: number;
      headers: Record<string, string>;
    };

    expect(answer.statusCode).toBe(503);
    expect(answer.headers["retry-after"]).toBe("30");
    expect(emittedMetrics(log)[0]).toMatchObject({
      DeliveriesRejected: 1,
      reason: "queue-unavailable",
      format: "bridge",
    });
  });
});

describe("the ingest handler, Healthie deliveries signed by Healthie's published algorithm", () => {
  const healthieConfig = ingestConfigSchema.parse({ ...config, enabledFormats: ["healthie"] });
  /** The public path API Gateway reports (stage included), which Healthie signs. */
  const publicPath = "/prod/webhooks/healthie";
  // Compact JSON as Healthie sends it; a synthetic name where PHI could hide, which no answer may echo.
  const body = JSON.stringify({
    resource_id: "597220",
    resource_id_type: "Appointment",
    event_type: "appointment.updated",
    changed_fields: ["pm_status", PATIENT_NAME],
  });

  /** Headers for `body` as Healthie sends them: digest, and the signature the published sample verifies. */
  async function healthieHeaders(
    signedBody: string,
    {
      secret = devSecrets.healthie,
      contentLength = false,
    }: { secret?: string; contentLength?: boolean } = {},
  ): Promise<Record<string, string>> {
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "content-digest": `sha-256=${createHash("sha256").update(signedBody).digest("base64")}`,
    };
    const requestData = {
      method: "post",
      path: publicPath,
      query: "",
      body: JSON.parse(signedBody),
      headers,
    };
    headers.signature = `sig1=${await healthieSignature(requestData, secret)}`;
    if (contentLength) headers["content-length"] = String(Buffer.byteLength(signedBody));
    return headers;
  }

  let logs: ReturnType<typeof vi.spyOn>[];
  let handler: ReturnType<typeof createIngestHandler>;
  beforeEach(() => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m1" });
    logs = (["log", "info", "warn", "error"] as const).map((level) =>
      vi.spyOn(console, level).mockImplementation(() => undefined),
    );
    handler = createIngestHandler(healthieConfig, {
      ...ingestDependencies(healthieConfig, new SQSClient({ region: "us-east-1" })),
      now: () => NOW,
    });
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it.each([false, true])("accepts one (Content-Length header: %s) and queues it", async (contentLength) => {
    // Prepare
    const headers = await healthieHeaders(body, { contentLength });

    // Act
    const answer = await handler(event("healthie", body, headers), lambdaContext("ingest"));

    // Assess
    expect(answer).toMatchObject({ statusCode: 202 });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(1);
  });

  const refusals: Array<[string, () => Promise<APIGatewayProxyEvent>, string, string]> = [
    [
      "a wrong digest",
      async () => {
        const headers = await healthieHeaders(body);
        const other = createHash("sha256").update("{}").digest("base64");
        return event("healthie", body, { ...headers, "content-digest": `sha-256=${other}` });
      },
      "bad-signature",
      "headers.content-digest",
    ],
    [
      "a wrong signature",
      async () => event("healthie", body, await healthieHeaders(body, { secret: "not-the-secret" })),
      "bad-signature",
      "headers.signature",
    ],
    [
      "a tampered body of the same length",
      async () => event("healthie", body.replace("597220", "597221"), await healthieHeaders(body)),
      "bad-signature",
      "headers.content-digest",
    ],
    [
      "no signature",
      async () => {
        const { signature: _, ...headers } = await healthieHeaders(body);
        return event("healthie", body, headers);
      },
      "missing-signature",
      "headers.signature",
    ],
  ];

  it.each(refusals)(
    "refuses %s: 401 problem+json naming the header, no PHI, nothing queued",
    async (_, request, reason, path) => {
      // Act
      const answer = (await handler(await request(), lambdaContext("ingest"))) as {
        statusCode: number;
        headers: Record<string, string>;
        body: string;
      };

      // Assess
      expect(answer.statusCode).toBe(401);
      expect(answer.headers["content-type"]).toBe("application/problem+json");
      expect(JSON.parse(answer.body)).toEqual({
        type: `https://portaltime.dev/problems/${reason}`,
        title: reason === "missing-signature" ? "Signature missing" : "Signature does not verify",
        status: 401,
        path,
      });
      expect(answer.body).not.toContain(PATIENT_NAME);
      for (const spy of logs) expect(JSON.stringify(spy.mock.calls)).not.toContain(PATIENT_NAME);
      expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    },
  );
});

describe("the ingest handler's secrets and logs", () => {
  let log: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    sqsMock.reset();
    sqsMock.on(SendMessageCommand).resolves({ MessageId: "m1" });
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  /** A handler reading its secrets through Secrets Manager's provider, which answers `value` or fails. */
  const handlerWithSecret = (value: () => Promise<unknown>) => {
    const deployed = ingestConfigSchema.parse({ ...config, localSecrets: undefined });
    const provider = { get: vi.fn(value) } as unknown as SecretsProvider;
    return createIngestHandler(deployed, {
      ...ingestDependencies(deployed, new SQSClient({ region: "us-east-1" })),
      secrets: secretsManagerSource(deployed.secretPrefix, provider),
      now: () => NOW,
    });
  };

  it("answers 401 no-active-secret while the format's secret holds no active value, as deployed", async () => {
    const handler = handlerWithSecret(async () => ({ active: [] }));

    const answer = (await handler(signedBridge(bridgeBody()), lambdaContext("ingest"))) as {
      statusCode: number;
      body: string;
    };

    expect(answer.statusCode).toBe(401);
    expect(JSON.parse(answer.body)).toMatchObject({
      type: "https://portaltime.dev/problems/no-active-secret",
      status: 401,
    });
    expect(sqsMock.commandCalls(SendMessageCommand)).toHaveLength(0);
    expect(emittedMetrics(log)[0]).toMatchObject({ DeliveriesRejected: 1, reason: "no-active-secret" });
  });

  it("answers 503 secrets-unavailable when the secret cannot be read, so the vendor retries", async () => {
    const handler = handlerWithSecret(() =>
      Promise.reject(Object.assign(new Error("denied"), { name: "AccessDeniedException" })),
    );

    const answer = (await handler(signedBridge(bridgeBody()), lambdaContext("ingest"))) as {
      statusCode: number;
    };

    expect(answer.statusCode).toBe(503);
    expect(emittedMetrics(log)[0]).toMatchObject({ reason: "secrets-unavailable" });
  });

  it("verifies against the active secrets Secrets Manager holds", async () => {
    const handler = handlerWithSecret(async () => ({
      active: ["an-old-secret", ...devFormatSecrets.bridge],
    }));

    const answer = (await handler(signedBridge(bridgeBody()), lambdaContext("ingest"))) as {
      statusCode: number;
    };

    expect(answer.statusCode).toBe(202);
  });

  it("never logs the event, even when POWERTOOLS_LOGGER_LOG_EVENT asks for it", async () => {
    vi.stubEnv("POWERTOOLS_LOGGER_LOG_EVENT", "true");
    const stdout = vi.spyOn(process.stdout, "write").mockImplementation(() => true);
    const handler = createIngestHandler(config, {
      ...ingestDependencies(config, new SQSClient({ region: "us-east-1" })),
      now: () => NOW,
    });

    const answer = (await handler(signedBridge(bridgeBody(PATIENT_NAME)), lambdaContext("ingest"))) as {
      statusCode: number;
    };

    expect(answer.statusCode).toBe(202);
    const printed = [
      ...stdout.mock.calls,
      ...log.mock.calls,
      ...vi.mocked(console.info).mock.calls,
      ...vi.mocked(console.warn).mock.calls,
    ]
      .map((call) => String(call[0]))
      .join("\n");
    expect(printed).toContain("delivery accepted");
    expect(printed).not.toContain("Lambda invocation event");
    expect(printed).not.toContain(PATIENT_NAME);
  });
});
