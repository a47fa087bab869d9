import { readFileSync } from "node:fs";
import type { Bundle, Parameters, Resource } from "@medplum/fhirtypes";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../bin/local/pipeline.js";
import { createApplyHandler } from "../../functions/apply/apply-handler.js";
import type { InboxMessage } from "../../functions/queue/inbox-message.js";
import { ResourceFetchError } from "../../functions/vendors/errors.js";
import { fhir } from "../../functions/vendors/fhir/format.js";
import type { ResourceFetcher } from "../../functions/vendors/format.js";
import { applyWorld, emittedMetrics, printed, sqsEventOf } from "../support/apply-fakes.js";

/**
 * The apply Lambda's answer to each kind of outcome (VENDORS.md "Answers"): facts are applied; a delivery with
 * nothing billable is counted by reason and never dead-lettered; one that cannot be read goes to the DLQ; a
 * failure worth retrying fails its record so SQS redelivers it.
 */

const BASE = "https://ehr.example.org/fhir";
const RECEIVED = "2026-03-02T15:00:00.000Z";
/** Stands for PHI in the payloads: no log line may carry it. */
const PHI = "Rivera";

const fixture = (name: string): Bundle =>
  JSON.parse(readFileSync(new URL(`../fixtures/vendors/fhir/${name}.json`, import.meta.url), "utf8"));

/** The inbox message ingest would have queued for this FHIR notification. */
function inboxMessageOf(bundle: Bundle): InboxMessage {
  const body = Buffer.from(JSON.stringify(bundle));
  const accepted = fhir.accept({ method: "POST", path: "/webhooks/fhir", rawQuery: "", headers: {}, body });
  return { v: 1, ...accepted, receivedAt: RECEIVED };
}

/** A full-resource R4 notification carrying `resources`, the first its focus. */
function notificationOf(...resources: Resource[]): InboxMessage {
  const [focus] = resources;
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
  return inboxMessageOf({
    resourceType: "Bundle",
    type: "history",
    entry: [
      { resource: status },
      ...resources.map((resource) => ({
        fullUrl: `${BASE}/${resource.resourceType}/${resource.id}`,
        resource,
        request: { method: "PUT" as const, url: `${resource.resourceType}/${resource.id}` },
      })),
    ],
  });
}

const observation: Resource = {
  resourceType: "Observation",
  id: "o1",
  status: "final",
  code: { text: PHI },
};
const patient: Resource = { resourceType: "Patient", id: "pub-1", name: [{ family: PHI }] };

describe("the apply handler", () => {
  let log: ReturnType<typeof vi.spyOn>;
  let info: ReturnType<typeof vi.spyOn>;
  let errorLog: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    info = vi.spyOn(console, "info").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    errorLog = vi.spyOn(console, "error").mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const run = async (messages: InboxMessage[], fetchResource?: ResourceFetcher) => {
    const world = applyWorld(new Map([["fhir", fhir]]), fetchResource);
    const answer = await createApplyHandler(world.deps)(sqsEventOf(messages), lambdaContext("apply"));
    const metrics = emittedMetrics(log.mock.calls);
    return { world, answer, metrics };
  };

  it.each([
    ["a resource type that maps to no fact", () => notificationOf(observation), "unmapped-type"],
    ["a context-only bundle (a Patient)", () => notificationOf(patient), "context-only"],
    ["an R4 heartbeat", () => inboxMessageOf(fixture("r4-heartbeat")), "heartbeat"],
    ["an R4 handshake", () => inboxMessageOf(fixture("r4-handshake")), "handshake"],
    ["an empty notification", () => inboxMessageOf(fixture("r4-empty")), "empty"],
  ])(
    "%s: recorded, counted as DeliveriesIgnored by format and reason, never dead-lettered",
    async (_, message, reason) => {
      // Act
      const { world, answer, metrics } = await run([message()]);

      // Assess
      expect(answer).toEqual({ batchItemFailures: [] });
      expect(world.deadLetters).toEqual([]);
      expect(world.facts).toEqual([]);
      expect(metrics).toContainEqual(
        expect.objectContaining({ DeliveriesIgnored: 1, format: "fhir", reason }),
      );
      expect(metrics.some((metric) => "DeliveriesDeadLettered" in metric)).toBe(false);
      const dimensions = metrics.find((metric) => "DeliveriesIgnored" in metric)?._aws as {
        CloudWatchMetrics: Array<{ Dimensions: string[][] }>;
      };
      expect(dimensions.CloudWatchMetrics[0]?.Dimensions[0]).toEqual(
        expect.arrayContaining(["format", "reason"]),
      );
      expect(printed(log, info, errorLog)).not.toContain(PHI);
    },
  );

  it("records the subscription of a handshake it ignores", async () => {
    const { world } = await run([inboxMessageOf(fixture("r4-handshake"))]);
    expect(world.notices).toMatchObject([{ format: "fhir", kind: "handshake" }]);
  });

  it("a delivery with a fact beside an ignored part applies the fact and counts no ignored delivery", async () => {
    // Prepare: the inquiry fixture carries a Communication and the Patient it names.
    const message = inboxMessageOf(fixture("r4-inquiry"));

    // Act
    const { world, metrics, answer } = await run([message]);

    // Assess
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(world.facts).toHaveLength(1);
    expect(world.deadLetters).toEqual([]);
    expect(metrics.some((metric) => "DeliveriesIgnored" in metric)).toBe(false);
    expect(metrics).toContainEqual(expect.objectContaining({ FactsApplied: 1 }));
  });

  it("a delivery that cannot be read still goes to the DLQ with its reason, and is counted there", async () => {
    // Prepare: a Encounter whose status breaks its schema, nothing else to map.
    const broken = { resourceType: "Encounter", id: "e3", status: 7 } as unknown as Resource;

    // Act
    const { world, metrics, answer } = await run([notificationOf(broken)]);

    // Assess
    expect(answer).toEqual({ batchItemFailures: [] });
    expect(world.deadLetters).toEqual([
      { messageId: "m-0", reason: "resource does not match its schema at status" },
    ]);
    expect(metrics).toContainEqual(expect.objectContaining({ DeliveriesDeadLettered: 1, format: "fhir" }));
    expect(metrics.some((metric) => "DeliveriesIgnored" in metric)).toBe(false);
  });

  it("a fetch worth retrying fails its record for SQS to redeliver: neither dead-lettered nor ignored", async () => {
    // Prepare: beside it, another patient's delivery (all records failing would fail the whole batch).
    const messages = [inboxMessageOf(fixture("r4-id-only")), notificationOf(observation)];

    // Act
    const { world, metrics, answer } = await run(messages, () =>
      Promise.reject(new ResourceFetchError("Communication/r2", 503)),
    );

    // Assess
    expect(answer).toEqual({ batchItemFailures: [{ itemIdentifier: "m-0" }] });
    expect(world.deadLetters).toEqual([]);
    expect(metrics.filter((metric) => "DeliveriesIgnored" in metric)).toEqual([
      expect.objectContaining({ reason: "unmapped-type" }),
    ]);
  });
});
