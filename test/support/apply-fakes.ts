import type { SQSEvent, SQSRecord } from "aws-lambda";
import type { ApplyHandlerDependencies } from "../../functions/apply/apply-handler.js";
import type { Fact } from "../../functions/domain/facts.js";
import type { InboxMessage } from "../../functions/queue/inbox-message.js";
import type { SubscriptionNotice } from "../../functions/store/subscription-store.js";
import type { ResourceFetcher, VendorFormat } from "../../functions/vendors/format.js";

/**
 * The apply handler's dependencies held in memory, for unit tests: what it wrote, recorded and dead-lettered,
 * as data to assert on.
 */
export interface ApplyWorld {
  deps: ApplyHandlerDependencies;
  facts: Fact[];
  retractions: string[];
  notices: SubscriptionNotice[];
  deadLetters: Array<{ messageId: string; reason: string }>;
}

export function applyWorld(
  formats: ReadonlyMap<string, VendorFormat>,
  fetchResource: ResourceFetcher = () => Promise.reject(new Error("no fetch expected")),
): ApplyWorld {
  const world: Omit<ApplyWorld, "deps"> = { facts: [], retractions: [], notices: [], deadLetters: [] };
  const deps: ApplyHandlerDependencies = {
    formats,
    fetcherFor: () => fetchResource,
    facts: {
      put: async (fact) => {
        world.facts.push(fact);
        return "applied";
      },
      retract: async (retraction) => {
        world.retractions.push(retraction.factId);
        return "unknown";
      },
    },
    subscriptions: {
      record: async (notice) => {
        world.notices.push(notice);
        return { order: "first" };
      },
    },
    deadLetters: {
      send: async (record, reason) => {
        world.deadLetters.push({ messageId: record.messageId, reason });
      },
    },
  };
  return { ...world, deps } as ApplyWorld;
}

/** One FIFO inbox record per message, as the apply Lambda receives them. */
export const sqsEventOf = (messages: readonly InboxMessage[]): SQSEvent => ({
  Records: messages.map(
    (message, index): SQSRecord => ({
      messageId: `m-${index}`,
      receiptHandle: `r-${index}`,
      body: JSON.stringify(message),
      attributes: {
        ApproximateReceiveCount: "1",
        SentTimestamp: "0",
        SenderId: "test",
        ApproximateFirstReceiveTimestamp: "0",
        MessageGroupId: message.groupKey,
        MessageDeduplicationId: `d-${index}`,
      },
      messageAttributes: {},
      md5OfBody: "",
      eventSource: "aws:sqs",
      eventSourceARN: "arn:aws:sqs:us-east-1:000000000000:inbox.fifo",
      awsRegion: "us-east-1",
    }),
  ),
});

/** The EMF documents Powertools Metrics printed through a `console.log` spy, as data. */
export function emittedMetrics(calls: readonly unknown[][]): Array<Record<string, unknown>> {
  return calls
    .map((call) => String(call[0]))
    .filter((line) => line.includes('"_aws"'))
    .map((line) => JSON.parse(line));
}

/** Every line the spies printed, for "no PHI in logs" checks. */
export const printed = (...spies: ReadonlyArray<{ mock: { calls: unknown[][] } }>): string =>
  spies.flatMap((spy) => spy.mock.calls.map((call) => call.map(String).join(" "))).join("\n");
