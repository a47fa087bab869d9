import { readFileSync } from "node:fs";
import { DynamoDBClient, GetItemCommand } from "@aws-sdk/client-dynamodb";
import { GetQueueAttributesCommand, ReceiveMessageCommand, SQSClient } from "@aws-sdk/client-sqs";
import { describe, expect, inject, it } from "vitest";
import {
  FaultInjector,
  type FaultKind,
  type FaultService,
  faultKinds,
} from "../../bin/local/fault-injector.js";
import { type Delivery, LocalPipeline } from "../../bin/local/pipeline.js";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { type LocalResources, localSqsClient } from "../../bin/local/resources.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { isolatedResources } from "../support/integration.js";

/**
 * Reliability under AWS faults: DynamoDB throttling and timeouts, SQS send failures, injected into 20% of the SDK
 * attempts of ingest, apply and finalize. The clients retry with the SDK's standard strategy and the attempts the
 * deployed functions have, so most faults are retried by the SDK and some reach the handlers, where the platform
 * retries: the vendor reposts after a 503, SQS redelivers a failed record, the next scheduled finalizer run finishes
 * what a failed one left. The outcome must equal the fault-free run's.
 */

const SCENARIOS = ["two-clinicians-pooled", "physical-therapist", "visit-in-window-bundled"];
const FAULT_RATE = 0.2;
/**
 * Attempts per call as deployed: the SDK's default for DynamoDB (apply, finalize); ingest's for SQS (one quick
 * retry, then 503), which the claims sender here shares.
 */
const MAX_ATTEMPTS = { dynamodb: 3, sqs: 2 };
const SEED = 20260302;

interface TimedDelivery extends Delivery {
  at: string;
}

const scenario = (name: string) =>
  JSON.parse(readFileSync(new URL(`../fixtures/scenarios/${name}.json`, import.meta.url), "utf8"));
const TENANT = scenario(SCENARIOS[0] ?? "").config;

/**
 * The shared scenarios' FHIR deliveries. Their subscriptions share names and event numbers (each scenario was
 * written for a stack of its own), so each scenario's subscription is renamed to keep the dedupe keys apart.
 */
const scenarioDeliveries = (): TimedDelivery[] =>
  SCENARIOS.flatMap((name) =>
    (scenario(name).deliveries as TimedDelivery[]).map((delivery) => ({
      ...delivery,
      body: JSON.parse(
        JSON.stringify(delivery.body).replaceAll("Subscription/sub-", `Subscription/${name}-sub-`),
      ),
    })),
  );

const isoAt = (day: number, time: string) => `2026-03-${String(day).padStart(2, "0")}T${time}Z`;

/**
 * Bridge events for eight patients: an inquiry with a reply, a second reply the next day (another clinician or
 * the same therapist), some events delivered twice, and late time entries (phase 2) after the first finalizer
 * run has billed their episodes, so the second run sends adjustments.
 */
function bridgeDeliveries(): { early: TimedDelivery[]; late: TimedDelivery[] } {
  const early: TimedDelivery[] = [];
  const late: TimedDelivery[] = [];
  for (let i = 0; i < 8; i++) {
    const patientId = `fault-${i}`;
    const day = 2 + (i % 4);
    const therapist = i % 4 === 3;
    const first = therapist ? "pt-chen" : "dr-adams";
    const second = therapist ? "pt-chen" : "np-baker";
    const dx = therapist ? ["M54.50"] : ["E11.9"];
    const opening: TimedDelivery = {
      at: isoAt(day, "16:01:00"),
      format: "bridge",
      body: {
        schemaVersion: "1.0",
        patientId,
        facts: [
          {
            kind: "inquiry",
            // Bridge ids are the sender's, unique across its patients (a repeated id moves the fact, R16).
            id: `${patientId}-q`,
            messageId: `${patientId}-q`,
            at: isoAt(day, "14:00:00"),
            author: "patient",
            diagnosisCodes: dx,
          },
          {
            kind: "clinician-activity",
            id: `${patientId}-a1`,
            messageId: `${patientId}-a1`,
            inResponseTo: `${patientId}-q`,
            at: isoAt(day, "15:00:00"),
            practitionerId: first,
            minutes: 4 + i,
            diagnosisCodes: dx,
          },
        ],
      },
    };
    early.push(opening);
    if (i % 2 === 0) early.push({ ...opening, at: isoAt(day, "18:01:00") });
    early.push({
      at: isoAt(day + 1, "15:01:00"),
      format: "bridge",
      body: {
        schemaVersion: "1.0",
        patientId,
        facts: [
          {
            kind: "clinician-activity",
            id: `${patientId}-a2`,
            messageId: `${patientId}-a2`,
            inResponseTo: `${patientId}-q`,
            at: isoAt(day + 1, "15:00:00"),
            practitionerId: second,
            minutes: 3 + (i % 3) * 4,
            diagnosisCodes: dx,
          },
        ],
      },
    });
    if (i % 3 === 0) {
      late.push({
        at: isoAt(13, "14:00:00"),
        format: "bridge",
        body: {
          schemaVersion: "1.0",
          patientId,
          facts: [
            {
              kind: "time-entry",
              id: `${patientId}-te`,
              at: isoAt(day + 2, "10:00:00"),
              practitionerId: first,
              minutes: 6,
              diagnosisCodes: dx,
            },
          ],
        },
      });
    }
  }
  return { early, late };
}

const byTime = (deliveries: TimedDelivery[]) =>
  deliveries
    .map((delivery, index) => ({ delivery, index }))
    .sort((a, b) => Date.parse(a.delivery.at) - Date.parse(b.delivery.at) || a.index - b.index);

const FIRST_FINALIZE = isoAt(13, "13:00:00");
const SECOND_FINALIZE = isoAt(16, "13:00:00");

/** Faults counted per stage, to show each handler met them. */
interface StageFaults {
  ingest: number;
  apply: number;
  finalize: number;
}

/** The clients a deployed function would have (SDK default retry), optionally with faults injected. */
function clientsFor(
  faults: FaultInjector | undefined,
  counter: RequestCounter,
  maxAttempts: { dynamodb?: number; sqs?: number } = {},
) {
  const endpoints = inject("localAws");
  const options = { region: "us-east-1", credentials: { accessKeyId: "local", secretAccessKey: "local" } };
  const dynamodb = new DynamoDBClient({
    ...options,
    endpoint: endpoints.dynamodbEndpoint,
    maxAttempts: maxAttempts.dynamodb,
  });
  const sqs = new SQSClient({ ...options, endpoint: endpoints.sqsEndpoint, maxAttempts: maxAttempts.sqs });
  counter.attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  faults?.attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  return { dynamodb, sqs };
}

/** The vendor's side of a 503: post again (with Retry-After honoured instantly) until accepted. */
async function postUntilAccepted(pipeline: LocalPipeline, delivery: Delivery): Promise<number> {
  for (let attempt = 1; attempt <= 10; attempt++) {
    const answer = await pipeline.post(delivery);
    if (answer.statusCode < 300) return attempt;
    expect(answer.statusCode, answer.body).toBe(503);
  }
  throw new Error("a delivery was refused ten times");
}

/**
 * The scheduled finalizer, run again (as the schedule would) until a run completes with nothing left to decide.
 * Returns how many runs failed.
 */
async function finalizeUntilSettled(pipeline: LocalPipeline): Promise<number> {
  let failed = 0;
  for (let run = 1; run <= 30; run++) {
    try {
      const report = await pipeline.finalize();
      if (report.patientsDecided === 0 && !report.stoppedEarly) return failed;
    } catch {
      // A failed run leaves its work to the next one.
      failed += 1;
    }
  }
  throw new Error("the finalizer did not settle within 30 runs");
}

async function dlqDepth(sqs: SQSClient, resources: LocalResources): Promise<number> {
  const received = await sqs.send(
    new ReceiveMessageCommand({
      QueueUrl: resources.inboxDlqUrl,
      MaxNumberOfMessages: 10,
      WaitTimeSeconds: 0,
    }),
  );
  return received.Messages?.length ?? 0;
}

/** Replays every delivery through the real handlers on a stack of its own; returns what the connector received. */
async function replay(faults: FaultInjector | undefined) {
  const counter = new RequestCounter();
  const clients = clientsFor(faults, counter, MAX_ATTEMPTS);
  const resources = await isolatedResources();
  const pipeline = new LocalPipeline({ endpoints: inject("localAws"), resources, tenant: TENANT, clients });
  const stageFaults: StageFaults = { ingest: 0, apply: 0, finalize: 0 };
  const stage = async <T>(name: keyof StageFaults, work: () => Promise<T>): Promise<T> => {
    const before = faults?.totalFaults() ?? 0;
    const result = await work();
    stageFaults[name] += (faults?.totalFaults() ?? 0) - before;
    return result;
  };
  const bridge = bridgeDeliveries();
  const lines: ClaimLine[] = [];
  /** Failures that got past the SDK's retries and were recovered by the platform's. */
  const recovered = { reposts: 0, redeliveries: 0, failedFinalizerRuns: 0 };

  const phase = async (deliveries: TimedDelivery[], finalizeAt: string) => {
    await stage("ingest", async () => {
      for (const { delivery } of byTime(deliveries)) {
        pipeline.setClock(new Date(delivery.at));
        recovered.reposts += (await postUntilAccepted(pipeline, delivery)) - 1;
      }
    });
    const applied = await stage("apply", () => pipeline.applyInbox());
    recovered.redeliveries += applied.failed;
    pipeline.setClock(new Date(finalizeAt));
    recovered.failedFinalizerRuns += await stage("finalize", () => finalizeUntilSettled(pipeline));
    lines.push(...(await pipeline.takeClaims()));
  };
  await phase([...scenarioDeliveries(), ...bridge.early], FIRST_FINALIZE);
  await phase(bridge.late, SECOND_FINALIZE);

  if (faults) faults.enabled = false;
  const episodes = await pipeline.decidedEpisodes();
  const deadLettered = await dlqDepth(localSqsClient(inject("localAws").sqsEndpoint), resources);
  return { lines, episodes, stageFaults, counter, recovered, deadLettered };
}

const lineOrder = (a: ClaimLine, b: ClaimLine) =>
  a.claimLineId < b.claimLineId ? -1 : a.claimLineId > b.claimLineId ? 1 : a.revision - b.revision;

describe("the fault injector", () => {
  const services: FaultService[] = ["DynamoDB", "SQS"];
  const cases = services.flatMap((service) => faultKinds[service].map((kind) => ({ service, kind })));

  /** One harmless call to the service, through the given clients. */
  const probe = (
    service: FaultService,
    clients: { dynamodb: DynamoDBClient; sqs: SQSClient },
    resources: LocalResources,
  ) =>
    service === "DynamoDB"
      ? clients.dynamodb.send(
          new GetItemCommand({ TableName: resources.tableName, Key: { pk: { S: "x" }, sk: { S: "y" } } }),
        )
      : clients.sqs.send(
          new GetQueueAttributesCommand({ QueueUrl: resources.inboxUrl, AttributeNames: ["QueueArn"] }),
        );

  it("throws errors the SDK's standard retry strategy retries: a fault on the first attempt is absorbed", async () => {
    // Prepare: per kind, clients whose first attempt of every call fails with that kind.
    const resources = await isolatedResources();
    const run = async ({ service, kind }: { service: FaultService; kind: FaultKind }) => {
      const counter = new RequestCounter();
      const faults = new FaultInjector({ rate: 1, seed: SEED, kinds: [kind], maxFaultsPerCall: 1 });
      const clients = clientsFor(faults, counter);
      const outputs = await Promise.all([1, 2, 3].map(() => probe(service, clients, resources)));
      return { outputs, counter, faults };
    };

    // Act: every kind at once (a throttling retry waits up to a second).
    const results = await Promise.all(cases.map(run));

    // Assess: per kind, 3 calls made 6 attempts, 3 of them failed, and every call succeeded on its second.
    for (const [index, { outputs, counter, faults }] of results.entries()) {
      const service = cases[index]?.service ?? "SQS";
      expect(outputs.map((output) => output.$metadata.attempts)).toEqual([2, 2, 2]);
      expect(counter.total(service)).toBe(3);
      expect(faults.totalAttempts(service)).toBe(6);
      expect(faults.totalFaults(service)).toBe(3);
    }
  });

  it("surfaces the SDK's own error name, after the client's attempts, when every attempt fails", async () => {
    // Prepare
    const resources = await isolatedResources();

    // Act: two attempts per call, both failing.
    const errors = await Promise.all(
      cases.map(({ service, kind }) => {
        const clients = clientsFor(
          new FaultInjector({ rate: 1, seed: SEED, kinds: [kind] }),
          new RequestCounter(),
          { dynamodb: 2, sqs: 2 },
        );
        return probe(service, clients, resources).then(
          () => undefined,
          (error: { name: string; $metadata?: { attempts?: number } }) => [
            error.name,
            error.$metadata?.attempts,
          ],
        );
      }),
    );

    // Assess
    const names: Record<FaultKind, string> = {
      "provisioned-throughput-exceeded": "ProvisionedThroughputExceededException",
      throttling: "ThrottlingException",
      timeout: "TimeoutError",
      "internal-server-error": "InternalServerError",
      "service-unavailable": "ServiceUnavailable",
      "internal-error": "InternalError",
      "request-throttled": "RequestThrottled",
    };
    expect(errors).toEqual(cases.map(({ kind }) => [names[kind], 2]));
  });
});

describe("ingest, apply and finalize with 20% of AWS calls failing", () => {
  it("give the same claim lines and decided episodes as the fault-free run", {
    timeout: 60_000,
  }, async () => {
    // Act: the same deliveries, fault-free on one stack and with injected faults on another.
    const faults = new FaultInjector({ rate: FAULT_RATE, seed: SEED });
    const [clean, faulty] = await Promise.all([replay(undefined), replay(faults)]);

    // Assess: faults met every handler, the SDK retried them (attempts beyond calls), and nothing was lost.
    expect(faulty.stageFaults.ingest).toBeGreaterThan(0);
    expect(faulty.stageFaults.apply).toBeGreaterThan(0);
    expect(faulty.stageFaults.finalize).toBeGreaterThan(0);
    expect(faults.totalFaults("DynamoDB")).toBeGreaterThan(0);
    expect(faults.totalFaults("SQS")).toBeGreaterThan(0);
    const calls = faulty.counter.total("DynamoDB") + faulty.counter.total("SQS");
    expect(faults.totalAttempts()).toBeGreaterThan(calls);
    const { reposts, redeliveries, failedFinalizerRuns } = faulty.recovered;
    expect(reposts + redeliveries + failedFinalizerRuns).toBeGreaterThan(0);
    expect(faulty.deadLettered).toBe(0);
    expect(clean.deadLettered).toBe(0);

    // Assess: the outcome is the fault-free run's, line for line and episode for episode (ordering aside).
    expect(clean.lines.length).toBeGreaterThan(8);
    expect(clean.lines.some((line) => line.action !== "original")).toBe(true);
    expect([...faulty.lines].sort(lineOrder)).toEqual([...clean.lines].sort(lineOrder));
    expect(faulty.episodes).toEqual(clean.episodes);
  });
});

describe("a finalizer run whose claim send fails", () => {
  it("loses no line when the patient's only due marker is its state's (decided before, while its episode was open)", async () => {
    // Prepare: one episode (an inquiry and 12 minutes on 2026-03-02); its facts settle before its window ends.
    const faults = new FaultInjector({ rate: 1, seed: SEED, operations: ["SQS.SendMessageBatch"] });
    faults.enabled = false;
    const clients = clientsFor(faults, new RequestCounter(), MAX_ATTEMPTS);
    const pipeline = new LocalPipeline({
      endpoints: inject("localAws"),
      resources: await isolatedResources(),
      tenant: TENANT,
      clients,
    });
    pipeline.setClock(new Date(isoAt(2, "16:00:00")));
    await postUntilAccepted(pipeline, {
      format: "bridge",
      body: {
        schemaVersion: "1.0",
        patientId: "outbox-1",
        facts: [
          {
            kind: "inquiry",
            id: "q",
            at: isoAt(2, "14:00:00"),
            author: "patient",
            diagnosisCodes: ["E11.9"],
          },
          {
            kind: "clinician-activity",
            id: "a",
            inResponseTo: "q",
            at: isoAt(2, "15:00:00"),
            practitionerId: "dr-adams",
            minutes: 12,
            diagnosisCodes: ["E11.9"],
          },
        ],
      },
    });
    await pipeline.applyInbox();

    // Act: a run after the facts settled (the episode still open: nothing owed, the fact markers cleared); a run
    // once it is due whose claim send fails after every attempt; then the next scheduled runs, fault-free.
    pipeline.setClock(new Date(isoAt(5, "12:00:00")));
    expect((await pipeline.finalize()).linesSent.original).toBe(0);
    faults.enabled = true;
    pipeline.setClock(new Date(isoAt(12, "12:00:00")));
    await expect(pipeline.finalize()).rejects.toThrow();
    faults.enabled = false;
    pipeline.setClock(new Date(isoAt(12, "12:05:00")));
    await finalizeUntilSettled(pipeline);
    const lines = await pipeline.takeClaims();

    // Assess: the failed send was retried by the SDK, and the line reached the queue on a later run.
    expect(faults.totalFaults("SQS")).toBe(MAX_ATTEMPTS.sqs);
    expect(lines.map((line) => [line.patientId, line.action, line.procedureCode, line.totalMinutes])).toEqual(
      [["outbox-1", "original", "99422", 12]],
    );
  });
});
