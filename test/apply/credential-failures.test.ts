import type { SQSEvent } from "aws-lambda";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../bin/local/pipeline.js";
import { createApplyHandler } from "../../functions/apply/apply-handler.js";
import type { InboxMessage } from "../../functions/queue/inbox-message.js";
import { ResourceFetchError } from "../../functions/vendors/errors.js";
import { enabledFormats } from "../../functions/vendors/registry.js";

/**
 * A vendor API that refuses portaltime's credentials leaves the delivery in the inbox (retried) and counts it in
 * `VendorCredentialFailures`, the metric of the `vendor-credential-failures` alarm; a passing fault does not.
 */
const message: InboxMessage = {
  v: 1,
  format: "healthie",
  kind: "event",
  dedupeKey: "d1",
  groupKey: "g1",
  receivedAt: "2026-03-02T15:00:00.000Z",
  payload: { resource_id: "5001", resource_id_type: "Note", event_type: "message.created" },
};
const event: SQSEvent = {
  Records: [
    {
      messageId: "m1",
      receiptHandle: "r1",
      body: JSON.stringify(message),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "0",
        SenderId: "s",
        ApproximateFirstReceiveTimestamp: "0",
        MessageGroupId: "g1",
        MessageDeduplicationId: "d1",
        SequenceNumber: "1",
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:test-inbox.fifo",
      awsRegion: "us-east-1",
    },
  ],
};

/** The EMF documents Powertools printed, as data. */
const emitted = (spy: ReturnType<typeof vi.spyOn>): Array<Record<string, unknown>> =>
  spy.mock.calls
    .map((call: unknown[]) => String(call[0]))
    .filter((line: string) => line.includes('"_aws"'))
    .map((line: string) => JSON.parse(line) as Record<string, unknown>);

describe("apply: vendor credential failures", () => {
  let log: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "warn").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  const applyWith = async (failure: Error) => {
    const deadLetters = { send: vi.fn(async () => undefined) };
    const handler = createApplyHandler({
      formats: enabledFormats(["healthie"]),
      fetcherFor: () => () => Promise.reject(failure),
      facts: { put: vi.fn() } as never,
      subscriptions: { record: vi.fn() } as never,
      deadLetters,
    });
    // The batch holds this one delivery: Powertools fails the whole invocation, so SQS keeps it.
    const answer = await handler(event, lambdaContext("apply")).catch((error: Error) => error.name);
    const counted = emitted(log)
      .map((document) => Number(document.VendorCredentialFailures ?? 0))
      .reduce((sum, count) => sum + count, 0);
    return { answer, counted, deadLettered: deadLetters.send.mock.calls.length };
  };

  it.each([
    ["Healthie answers 401", new ResourceFetchError("Note/5001", 401)],
    ["an API answers 403", new ResourceFetchError("Note/5001", 403)],
    [
      "the FHIR token endpoint refuses the client",
      new ResourceFetchError("oauth2 token", 401, { reason: "invalid_client" }),
    ],
    [
      "Elation's token endpoint refuses the client",
      new ResourceFetchError("oauth2 token", 400, { credential: true, reason: "invalid_client" }),
    ],
    [
      "the SMART key does not import",
      new ResourceFetchError("SMART client key", undefined, {
        transient: false,
        credential: true,
        reason: "key does not import as RS384",
      }),
    ],
  ])("%s: counted, and the delivery stays in the inbox", async (_case, failure) => {
    const { answer, counted, deadLettered } = await applyWith(failure);
    expect(answer).toBe("FullBatchFailureError");
    expect(counted).toBe(1);
    expect(deadLettered).toBe(0);
  });

  it.each([
    ["a 503", new ResourceFetchError("Note/5001", 503)],
    ["a network fault", new ResourceFetchError("Note/5001", undefined)],
    ["a token endpoint timing out", new ResourceFetchError("oauth2 token", undefined)],
  ])("%s is retried without counting as a credential failure", async (_case, failure) => {
    const { answer, counted } = await applyWith(failure);
    expect(answer).toBe("FullBatchFailureError");
    expect(counted).toBe(0);
  });
});
