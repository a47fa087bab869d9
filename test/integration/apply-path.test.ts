import { readFileSync } from "node:fs";
import { DynamoDBDocumentClient, GetCommand } from "@aws-sdk/lib-dynamodb";
import type { SQSEvent } from "aws-lambda";
import { afterEach, describe, expect, inject, it, vi } from "vitest";
import { devFormatSecrets } from "../../bin/local/dev-secrets.js";
import { LocalPipeline } from "../../bin/local/pipeline.js";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { localDynamodbClient, localSqsClient } from "../../bin/local/resources.js";
import { signWithDevSecret } from "../../bin/local/sign-delivery.js";
import type { InboxMessage } from "../../functions/queue/inbox-message.js";
import { bridge } from "../../functions/vendors/bridge/format.js";
import { isolatedResources } from "../support/integration.js";

const scenario = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/scenarios/${name}.json`, import.meta.url), "utf8"));
const vendorFixture = (path: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/vendors/${path}`, import.meta.url), "utf8"));

const ROSTER = scenario("two-clinicians-pooled").config.roster;
const TENANT = { timezone: "America/New_York", consent: "not-tracked", roster: ROSTER };

async function countedPipeline(tenant: unknown = TENANT) {
  // The configuration held as a deployed function holds it (a minute), so a request count is per fact.
  const endpoints = inject("localAws");
  const counter = new RequestCounter();
  const dynamodb = localDynamodbClient(endpoints.dynamodbEndpoint);
  const sqs = localSqsClient(endpoints.sqsEndpoint);
  counter.attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  const pipeline = new LocalPipeline({
    endpoints,
    resources: await isolatedResources(),
    tenant,
    clients: { dynamodb, sqs },
    configMaxAgeMs: 60_000,
  });
  return { pipeline, counter };
}

/** A bridge delivery accepted exactly as ingest would accept it, as the inbox message apply receives. */
function bridgeInboxMessage(body: object, at: Date, webhookId: string): InboxMessage {
  const raw = Buffer.from(JSON.stringify(body));
  const request = { method: "POST", path: "/webhooks/bridge", rawQuery: "", body: raw, headers: {} };
  const headers = signWithDevSecret("bridge", { ...request, headers: { "webhook-id": webhookId } }, at);
  bridge.authenticate({ ...request, headers }, devFormatSecrets.bridge, at);
  const accepted = bridge.accept({ ...request, headers });
  return { v: 1, ...accepted, receivedAt: at.toISOString() };
}

const sqsEventOf = (messages: InboxMessage[]): SQSEvent => ({
  Records: messages.map((message, index) => ({
    messageId: `m-${index}`,
    receiptHandle: `r-${index}`,
    body: JSON.stringify(message),
    attributes: {
      ApproximateReceiveCount: "1",
      SentTimestamp: "0",
      SenderId: "local",
      ApproximateFirstReceiveTimestamp: "0",
      MessageGroupId: message.groupKey,
      MessageDeduplicationId: `d-${index}`,
    },
    messageAttributes: {},
    md5OfBody: "",
    eventSource: "aws:sqs",
    eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:inbox.fifo",
    awsRegion: "us-east-1",
  })),
});

describe("the apply path against DynamoDB Local and the SQS-compatible server", () => {
  it("counts requests: ingest makes 0 DynamoDB calls and 1 SQS send; apply at most 2 DynamoDB calls per fact", async () => {
    // Prepare: a FHIR notification carrying one Communication, a bridge event carrying six facts.
    const { pipeline, counter } = await countedPipeline();
    const fhirDelivery = scenario("two-clinicians-pooled").deliveries[0];
    const bridgeEvent = vendorFixture("bridge/event-episode.json");
    pipeline.setClock(new Date("2026-03-02T14:01:00Z"));

    // Act + Assess: ingest
    for (const delivery of [fhirDelivery, { format: "bridge", body: bridgeEvent }]) {
      counter.reset();
      expect((await pipeline.post(delivery)).statusCode).toBeLessThan(300);
      expect(counter.snapshot()).toEqual({ "SQS.SendMessage": 1 });
    }

    // Act + Assess: apply (the FHIR fact plus its subscription notice; the bridge event's six facts): one
    // transaction per new fact (its location and its item, docs/STORE.md), one update per subscription notice.
    // The configuration (settleHours) is read once per container and minute, not per fact: read it first.
    await pipeline.currentConfig();
    counter.reset();
    expect(await pipeline.applyInbox()).toEqual({ applied: 2, failed: 0 });
    expect(counter.snapshot()).toEqual({ "DynamoDB.TransactWriteItems": 7, "DynamoDB.UpdateItem": 1 });
    expect(counter.total("DynamoDB")).toBeLessThanOrEqual(2 * 7);
  });

  it("a delivery posted twice is applied once; a redelivery after the FIFO window changes nothing", async () => {
    // Prepare
    const { pipeline, counter } = await countedPipeline();
    const message = bridgeInboxMessage(
      {
        schemaVersion: "1.0",
        patientId: "dup-1",
        facts: [
          {
            kind: "inquiry",
            id: "q1",
            messageId: "q1",
            at: "2026-03-02T14:00:00Z",
            author: "patient",
            diagnosisCodes: ["E11.9"],
          },
          {
            kind: "clinician-activity",
            id: "a1",
            messageId: "a1",
            inResponseTo: "q1",
            at: "2026-03-02T15:00:00Z",
            practitionerId: "dr-adams",
            minutes: 12,
            diagnosisCodes: ["E11.9"],
          },
        ],
      },
      new Date("2026-03-02T15:01:00Z"),
      "msg-dup-1",
    );

    // Act: the same delivery through ingest twice (FIFO dedup), then the apply handler twice more directly, as a
    // redelivery after the 5-minute window would reach it.
    pipeline.setClock(new Date("2026-03-02T15:01:00Z"));
    const body = message.payload;
    const headers = { "webhook-id": "msg-dup-1" };
    await pipeline.post({ format: "bridge", headers, body });
    await pipeline.post({ format: "bridge", headers, body });
    const fromQueue = await pipeline.applyInbox();
    counter.reset();
    const redelivered = await pipeline.invokeApply(sqsEventOf([message, message]));
    const redeliveryCalls = counter.snapshot();
    pipeline.setClock(new Date("2026-03-12T12:00:00Z"));
    await pipeline.finalize();
    const lines = await pipeline.takeClaims();

    // Assess
    expect(fromQueue).toEqual({ applied: 1, failed: 0 });
    expect(redelivered.batchItemFailures).toEqual([]);
    // Each fact's transaction refused by its location (it holds this version): one request per fact, no write.
    expect(redeliveryCalls).toEqual({ "DynamoDB.TransactWriteItems": 4 });
    expect(lines.map((line) => [line.procedureCode, line.totalMinutes])).toEqual([["99422", 12]]);
  });

  it("deliveries arriving in reverse order give the same claim lines as in order", async () => {
    // Prepare
    const pooled = scenario("two-clinicians-pooled");
    const { pipeline } = await countedPipeline(pooled.config);

    // Act: the clinician replies arrive before the patient's inquiry (each received when the last one was).
    pipeline.setClock(new Date(pooled.deliveries.at(-1).at));
    for (const delivery of [...pooled.deliveries].reverse()) {
      await pipeline.post(delivery);
      await pipeline.applyInbox();
    }
    pipeline.setClock(new Date(pooled.finalizeAt));
    await pipeline.finalize();
    const lines = await pipeline.takeClaims();

    // Assess: the hand-worked line of the scenario (13 minutes pooled, rendered by the NP with 7).
    expect(
      lines.map((line) => [line.patientId, line.procedureCode, line.totalMinutes, line.renderingProviderNpi]),
    ).toEqual([["pub-1", "99422", 13, "1003000134"]]);
  });

  it("50 concurrent applies for one patient lose no time: the minutes are exact", async () => {
    // Prepare: an inquiry and 50 activities of (i + 1) * 7 seconds: 7 * (1 + ... + 50) = 8925 s = 148 min.
    const { pipeline } = await countedPipeline();
    const at = new Date("2026-03-02T15:00:00Z");
    const inquiry = bridgeInboxMessage(
      {
        schemaVersion: "1.0",
        patientId: "busy-1",
        facts: [
          {
            kind: "inquiry",
            id: "q1",
            messageId: "q1",
            at: "2026-03-02T13:00:00Z",
            author: "patient",
            diagnosisCodes: ["I10"],
          },
        ],
      },
      at,
      "msg-q1",
    );
    const activities = Array.from({ length: 50 }, (_, i) =>
      bridgeInboxMessage(
        {
          schemaVersion: "1.0",
          patientId: "busy-1",
          facts: [
            {
              kind: "clinician-activity",
              id: `a${i}`,
              at: new Date(Date.parse("2026-03-02T14:00:00Z") + i * 60_000).toISOString(),
              practitionerId: i % 2 === 0 ? "dr-adams" : "np-baker",
              minutes: ((i + 1) * 7) / 60,
              diagnosisCodes: ["I10"],
            },
          ],
        },
        at,
        `msg-a${i}`,
      ),
    );

    // Act: 51 apply invocations at once, each with one record.
    const results = await Promise.all(
      [inquiry, ...activities].map((message) => pipeline.invokeApply(sqsEventOf([message]))),
    );
    pipeline.setClock(new Date("2026-03-12T12:00:00Z"));
    await pipeline.finalize();
    const lines = await pipeline.takeClaims();

    // Assess
    expect(results.flatMap((result) => result.batchItemFailures)).toEqual([]);
    expect(lines.map((line) => [line.procedureCode, line.totalMinutes])).toEqual([["99423", 148]]);
  });
});

describe("no PHI in logs", () => {
  afterEach(() => vi.restoreAllMocks());

  it("PHI-bearing deliveries through ingest, apply and finalize leave no name, text or identifier in the logs", async () => {
    // Prepare: synthetic PHI that must never reach a log line.
    const phi = {
      name: "Zebulon Quixote",
      text: "worsening chest pain since the picnic",
      patientId: "MRN-8675309",
    };
    const fhirDelivery = structuredClone(scenario("two-clinicians-pooled").deliveries[0]);
    const communication = fhirDelivery.body.entry[1].resource;
    communication.subject.reference = `Patient/${phi.patientId}`;
    communication.sender.reference = `Patient/${phi.patientId}`;
    communication.payload = [{ contentString: phi.text }];
    fhirDelivery.body.entry.push({
      fullUrl: `https://ehr.example.org/fhir/Patient/${phi.patientId}`,
      resource: { resourceType: "Patient", id: phi.patientId, name: [{ text: phi.name }] },
    });
    const badEnvelope = {
      resourceType: "Bundle",
      type: "history",
      entry: [{ resource: { name: phi.name, note: phi.text } }],
    };
    const bridgeEvent = {
      schemaVersion: "1.0",
      patientId: phi.patientId,
      facts: [
        {
          kind: "inquiry",
          id: "q1",
          messageId: "q1",
          at: "2026-03-02T14:00:00Z",
          author: "patient",
          diagnosisCodes: ["R07.9"],
        },
        {
          kind: "clinician-activity",
          id: "a1",
          inResponseTo: "q1",
          at: "2026-03-02T15:00:00Z",
          practitionerId: "dr-adams",
          minutes: 9,
          diagnosisCodes: ["R07.9"],
        },
      ],
    };
    const lines: string[] = [];
    for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
      vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
        lines.push(args.map((arg) => (typeof arg === "string" ? arg : JSON.stringify(arg))).join(" "));
      });
    }
    const { pipeline } = await countedPipeline();

    // Act: accepted, rejected and unusable deliveries, applied and finalized.
    pipeline.setClock(new Date("2026-03-02T15:01:00Z"));
    await pipeline.post(fhirDelivery);
    await pipeline.post({ format: "bridge", body: bridgeEvent });
    const rejected = await pipeline.post({ format: "fhir", body: badEnvelope });
    await pipeline.post({
      format: "bridge",
      headers: { "webhook-signature": "v1,forged" },
      body: bridgeEvent,
    });
    await pipeline.applyInbox();
    pipeline.setClock(new Date("2026-03-12T12:00:00Z"));
    await pipeline.finalize();

    // Assess: the handlers did log (so the check means something), and none of it is PHI.
    expect(rejected.statusCode).toBe(400);
    expect(rejected.body).not.toContain(phi.name);
    expect(lines.length).toBeGreaterThan(5);
    const logged = lines.join("\n");
    for (const value of Object.values(phi)) expect(logged).not.toContain(value);
    expect(logged).not.toContain("8675309");
  });
});

describe("FHIR subscription bookkeeping", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("records handshakes and heartbeats whenever they arrive, and counts a gap in event numbers", async () => {
    // Prepare: EMF output read as data.
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    const emitted: string[] = [];
    vi.spyOn(console, "log").mockImplementation((line: unknown) => void emitted.push(String(line)));
    vi.spyOn(console, "info").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    const endpoints = inject("localAws");
    const resources = await isolatedResources();
    const pipeline = new LocalPipeline({ endpoints, resources, tenant: TENANT });
    const event8 = vendorFixture("fhir/r4-inquiry.json");
    const event10 = JSON.parse(JSON.stringify(event8).replaceAll('"8"', '"10"'));
    pipeline.setClock(new Date("2026-03-02T14:01:00Z"));

    // Act: event 8, then event 10 (9 never came), then a handshake and a heartbeat arriving late.
    for (const body of [
      event8,
      event10,
      vendorFixture("fhir/r4-handshake.json"),
      vendorFixture("fhir/r4-heartbeat.json"),
    ]) {
      expect((await pipeline.post({ format: "fhir", body })).statusCode).toBe(200);
      await pipeline.applyInbox();
    }

    // Assess
    const documents = DynamoDBDocumentClient.from(localDynamodbClient(endpoints.dynamodbEndpoint));
    const { Item } = await documents.send(
      new GetCommand({
        TableName: resources.tableName,
        Key: { pk: "SUB#fhir#Subscription/sub-portal", sk: "STATUS" },
      }),
    );
    expect(Item).toMatchObject({
      lastEventNumber: 10,
      "last-event-at": "2026-03-02T14:01:00.000Z",
      "last-handshake-at": "2026-03-02T14:01:00.000Z",
      "last-heartbeat-at": "2026-03-02T14:01:00.000Z",
    });
    const gaps = emitted
      .filter((line) => line.includes('"SubscriptionEventGaps"'))
      .map((line) => JSON.parse(line));
    expect(gaps).toHaveLength(1);
    expect(gaps[0]).toMatchObject({ SubscriptionEventGaps: 1, service: "apply" });
  });
});
