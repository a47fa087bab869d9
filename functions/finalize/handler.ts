import { dynamoDocumentClient } from "../dynamodb-client.js";
import { SqsClaimSink } from "../queue/claims-sender.js";
import { configFromEnv, finalizeConfigSchema } from "../runtime-config.js";
import { sqsClient } from "../sqs-client.js";
import { CurrentTenantConfig, DynamoTenantConfigStore } from "../store/config-store.js";
import { DynamoEpisodeStore } from "../store/episode-store.js";
import { DynamoFiguresStore } from "../store/figures-store.js";
import { DynamoQuarantine } from "../store/quarantine-store.js";
import { createFinalizeHandler } from "./finalize-handler.js";

const config = configFromEnv(finalizeConfigSchema);
const { tableName } = config;
const documents = dynamoDocumentClient(config);
const configVersions = new DynamoTenantConfigStore(documents, tableName);

/** Lambda entry point: configuration is read and validated once, at cold start. */
export const handler = createFinalizeHandler({
  store: new DynamoEpisodeStore(documents, tableName),
  quarantine: new DynamoQuarantine(documents, tableName),
  worklist: new DynamoFiguresStore(documents, tableName),
  claims: new SqsClaimSink(sqsClient(config), config.claimsQueueUrl),
  // Read from the table once per run at most a minute old: a push changes the next run, without a deploy.
  tenant: new CurrentTenantConfig(configVersions, { maxAgeMs: 60_000 }),
  // R18: what each new version changes on which dates is decided again.
  configVersions,
  retentionDays: config.retentionDays,
  adjustmentHorizonDays: config.adjustmentHorizonDays,
  clock: () => Date.now(),
  maxBudgetMs: config.finalizeBudgetMs,
});
