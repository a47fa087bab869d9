import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import { inject } from "vitest";
import { RequestCounter } from "../../bin/local/request-counter.js";
import { localDynamodbClient, localSqsClient } from "../../bin/local/resources.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { Fact } from "../../functions/domain/facts.js";
import {
  type FinalizeDependencies,
  finalizeDueEpisodes,
} from "../../functions/finalize/finalize-due-episodes.js";
import { SqsClaimSink } from "../../functions/queue/claims-sender.js";
import { ReviewService } from "../../functions/review/review-service.js";
import { DynamoAuditStore } from "../../functions/store/audit-store.js";
import { fixedTenantConfig, type TenantConfigSource } from "../../functions/store/config-store.js";
import { DynamoEpisodeStore, type EpisodeStore } from "../../functions/store/episode-store.js";
import { DynamoFactStore } from "../../functions/store/fact-store.js";
import { DynamoFiguresStore } from "../../functions/store/figures-store.js";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import { DynamoReviewStore } from "../../functions/store/review-store.js";
import { activity, inquiry, tenant } from "./domain-builders.js";
import { isolatedResources } from "./integration.js";

/**
 * The finalizer on real local servers, for integration tests: a table and queues of its own per world, the real
 * adapters, request counting, and helpers to seed facts, run the finalizer at an instant and read what it did.
 */

export const TENANT = tenant();
export const AS_OF = Date.parse("2026-03-12T12:00:00Z");

/** A table and queues of its own, with the real adapters, for one test. */
export async function finalizerWorld() {
  const endpoints = inject("localAws");
  const resources = await isolatedResources();
  const counter = new RequestCounter();
  const dynamodb = localDynamodbClient(endpoints.dynamodbEndpoint);
  const sqs = localSqsClient(endpoints.sqsEndpoint);
  counter.attach(dynamodb, "DynamoDB").attach(sqs, "SQS");
  const documents = DynamoDBDocumentClient.from(dynamodb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  const facts = new DynamoFactStore(documents, {
    tableName: resources.tableName,
    retentionDays: 2190,
    settleHours: 48,
  });
  const store = new DynamoEpisodeStore(documents, resources.tableName);
  const quarantine = new DynamoQuarantine(documents, resources.tableName);
  const claims = new SqsClaimSink(sqs, resources.claimsUrl);
  const reader = localSqsClient(endpoints.sqsEndpoint);

  const seed = async (all: readonly Fact[], concurrency = 25) => {
    for (let start = 0; start < all.length; start += concurrency) {
      await Promise.all(all.slice(start, start + concurrency).map((fact) => facts.put(fact)));
    }
  };
  const run = (at: number, overrides: Partial<FinalizeDependencies> = {}) => {
    const started = Date.now();
    return finalizeDueEpisodes({
      store,
      quarantine,
      claims,
      tenant: fixedTenantConfig(TENANT),
      retentionDays: 2190,
      adjustmentHorizonDays: 365,
      clock: () => at + (Date.now() - started),
      budgetMs: 60_000,
      ...overrides,
    });
  };
  /** Everything on the claims queue, read and deleted as the connector would. */
  const takeClaims = async (): Promise<ClaimLine[]> => {
    const lines: ClaimLine[] = [];
    for (;;) {
      const received = await reader.send(
        new ReceiveMessageCommand({
          QueueUrl: resources.claimsUrl,
          MaxNumberOfMessages: 10,
          WaitTimeSeconds: 0,
        }),
      );
      const messages = received.Messages ?? [];
      if (messages.length === 0) return lines;
      lines.push(...messages.map((message) => JSON.parse(message.Body ?? "") as ClaimLine));
      await reader.send(
        new DeleteMessageBatchCommand({
          QueueUrl: resources.claimsUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            ReceiptHandle: message.ReceiptHandle,
          })),
        }),
      );
    }
  };
  /** Every decision record of the patient's episodes, oldest first (an episode's history is append-only). */
  const audits = async (patientId: string) => {
    const result = await documents.send(
      new QueryCommand({
        TableName: resources.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :episode)",
        ExpressionAttributeValues: { ":pk": `PAT#${patientId}`, ":episode": "EPISODE#" },
        ConsistentRead: true,
      }),
    );
    return (result.Items ?? [])
      .sort((a, b) => (String(a.sk).split("#")[2] ?? "").localeCompare(String(b.sk).split("#")[2] ?? ""))
      .map((item) => JSON.parse(String(item.record)));
  };
  return {
    seed,
    run,
    takeClaims,
    audits,
    counter,
    store,
    quarantine,
    claims,
    documents,
    dynamodb,
    sqs,
    resources,
  };
}

/** An episode opened on 2026-03-02 (Monday) for one patient: an inquiry and counted replies. */
export const episode = (
  patientId: string,
  replies: Array<{ practitionerId: string; minutes: number; at?: string }>,
): Fact[] => [
  inquiry({ id: `${patientId}-q`, patientId, at: "2026-03-02T14:00:00Z" }),
  ...replies.map((reply, index) =>
    activity({
      id: `${patientId}-a${index}`,
      patientId,
      at: reply.at ?? `2026-03-0${2 + index}T19:00:00Z`,
      practitionerId: reply.practitionerId,
      minutes: reply.minutes,
      inResponseTo: `${patientId}-q`,
    }),
  ),
];

export const summary = (lines: readonly ClaimLine[]) =>
  lines
    .map(
      (line) =>
        `${line.patientId} ${line.action} r${line.revision} ${line.procedureCode} ${line.totalMinutes}`,
    )
    .sort();

export type FinalizerWorld = Awaited<ReturnType<typeof finalizerWorld>>;

/** An error the AWS SDK marks retryable, as a service outage raises it. */
export const unavailable = (message: string) =>
  Object.assign(new Error(message), { name: "ServiceUnavailable", $fault: "server", $retryable: {} });

/** The store's methods bound to it, so a test can replace one and keep the others. */
export function bind(store: EpisodeStore): EpisodeStore {
  const methods = Object.getOwnPropertyNames(Object.getPrototypeOf(store)).filter(
    (name) =>
      name !== "constructor" && typeof (store as unknown as Record<string, unknown>)[name] === "function",
  );
  return Object.fromEntries(
    methods.map((name) => [
      name,
      (
        (store as unknown as Record<string, (...args: unknown[]) => unknown>)[name] as (
          ...args: unknown[]
        ) => unknown
      ).bind(store),
    ]),
  ) as unknown as EpisodeStore;
}

/**
 * The review service (issue 15) over a world's table, with the real stores, as the review function builds it:
 * the tenant configuration the world's runs use, and a clock the test sets.
 */
export function reviewServiceOf(
  world: FinalizerWorld,
  tenant: TenantConfigSource,
  now: () => number,
): ReviewService {
  const { tableName } = world.resources;
  return new ReviewService({
    tenant,
    reviews: new DynamoReviewStore(world.documents, tableName),
    audit: new DynamoAuditStore(world.documents, tableName),
    figures: new DynamoFiguresStore(world.documents, tableName),
    facts: new DynamoFactStore(world.documents, { tableName, retentionDays: 2190, settleHours: 48 }),
    now: () => new Date(now()),
  });
}
