import { dynamoDocumentClient } from "../dynamodb-client.js";
import { SqsClaimSink } from "../queue/claims-sender.js";
import { required, runtimeConfigFromEnv } from "../runtime-config.js";
import { sqsClient } from "../sqs-client.js";
import { DynamoEpisodeStore } from "../store/episode-store.js";
import { DynamoQuarantine } from "../store/quarantine-store.js";
import { createFinalizeHandler } from "./finalize-handler.js";

const config = runtimeConfigFromEnv();
const documents = dynamoDocumentClient(config);
const tableName = required(config.tableName, "TABLE_NAME");

/** Lambda entry point: configuration is read and validated once, at cold start. */
export const handler = createFinalizeHandler({
  store: new DynamoEpisodeStore(documents, tableName),
  quarantine: new DynamoQuarantine(documents, tableName),
  claims: new SqsClaimSink(sqsClient(config), required(config.claimsQueueUrl, "CLAIMS_QUEUE_URL")),
  tenant: required(config.tenant, "TENANT_CONFIG"),
  retentionDays: config.retentionDays,
  adjustmentHorizonDays: config.adjustmentHorizonDays,
  clock: () => Date.now(),
  maxBudgetMs: config.finalizeBudgetMs,
});
