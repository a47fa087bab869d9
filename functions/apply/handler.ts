import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import { dynamoDocumentClient } from "../dynamodb-client.js";
import { SqsDeadLetterSink } from "../queue/dead-letter.js";
import { applyConfigSchema, configFromEnv } from "../runtime-config.js";
import { sqsClient } from "../sqs-client.js";
import { CurrentTenantConfig, DynamoTenantConfigStore } from "../store/config-store.js";
import { DynamoFactStore } from "../store/fact-store.js";
import { DynamoSubscriptionStore } from "../store/subscription-store.js";
import { enabledFormats } from "../vendors/registry.js";
import { createApplyHandler } from "./apply-handler.js";
import { resourceFetchers } from "./resource-fetchers.js";

const config = configFromEnv(applyConfigSchema);
const { tableName } = config;
const dynamodb = dynamoDocumentClient(config);
// Only thin payloads need a vendor API, and so a secret: the Secrets Manager client loads on first use, not at
// every cold start (docs/BENCHMARKS.md, cold start).
let secrets: Promise<SecretsProvider> | undefined;
const readSecret = async (name: string, options: { forceFetch?: boolean } = {}): Promise<string> => {
  secrets ??= import("@aws-lambda-powertools/parameters/secrets").then(
    ({ SecretsProvider }) => new SecretsProvider(),
  );
  return String(await (await secrets).get(name, { maxAge: 300, forceFetch: options.forceFetch }));
};

// The tenant configuration lives in the table (config-store.ts); apply needs only R16's settle time of it.
const tenant = new CurrentTenantConfig(new DynamoTenantConfigStore(dynamodb, tableName), {
  maxAgeMs: 60_000,
});

/** Lambda entry point: configuration is read and validated once, at cold start. */
export const handler = createApplyHandler({
  formats: enabledFormats(config.enabledFormats),
  fetcherFor: resourceFetchers(config.hydration, readSecret),
  facts: new DynamoFactStore(dynamodb, {
    tableName,
    retentionDays: config.retentionDays,
    settleHours: async () => (await tenant.get()).config.settleHours,
  }),
  subscriptions: new DynamoSubscriptionStore(dynamodb, tableName),
  deadLetters: new SqsDeadLetterSink(sqsClient(config), config.inboxDlqUrl),
});
