import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { dynamoDocumentClient } from "../dynamodb-client.js";
import { SqsDeadLetterSink } from "../queue/dead-letter.js";
import { required, runtimeConfigFromEnv } from "../runtime-config.js";
import { sqsClient } from "../sqs-client.js";
import { DynamoFactStore } from "../store/fact-store.js";
import { DynamoSubscriptionStore } from "../store/subscription-store.js";
import { enabledFormats } from "../vendors/registry.js";
import { createApplyHandler } from "./apply-handler.js";
import { resourceFetchers } from "./resource-fetchers.js";

const config = runtimeConfigFromEnv();
const dynamodb = dynamoDocumentClient(config);
const tableName = required(config.tableName, "TABLE_NAME");
// Only thin payloads need a vendor API, and so a secret: the Secrets Manager client loads on first use, not at
// every cold start (docs/BENCHMARKS.md, cold start).
let secrets: Promise<SecretsProvider> | undefined;
const readSecret = async (name: string): Promise<string> => {
  secrets ??= import("@aws-lambda-powertools/parameters/secrets").then(
    ({ SecretsProvider }) => new SecretsProvider(),
  );
  return String(await (await secrets).get(name, { maxAge: 300 }));
};

/** Lambda entry point: configuration is read and validated once, at cold start. */
export const handler = createApplyHandler({
  formats: enabledFormats(required(config.enabledFormats, "ENABLED_FORMATS")),
  fetcherFor: resourceFetchers(config.hydration, readSecret),
  facts: new DynamoFactStore(dynamodb, {
    tableName,
    retentionDays: config.retentionDays,
    settleHours: required(config.settleHours, "SETTLE_HOURS"),
  }),
  subscriptions: new DynamoSubscriptionStore(dynamodb, tableName),
  deadLetters: new SqsDeadLetterSink(sqsClient(config), required(config.inboxDlqUrl, "INBOX_DLQ_URL")),
});
