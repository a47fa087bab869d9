import { dynamoDocumentClient } from "../dynamodb-client.js";
import { configFromEnv, reviewConfigSchema } from "../runtime-config.js";
import { DynamoAuditStore } from "../store/audit-store.js";
import { CurrentTenantConfig, DynamoTenantConfigStore } from "../store/config-store.js";
import { DynamoFactStore } from "../store/fact-store.js";
import { DynamoFiguresStore } from "../store/figures-store.js";
import { DynamoReviewStore } from "../store/review-store.js";
import { createReviewHandler } from "./review-handler.js";
import { ReviewService } from "./review-service.js";

const config = configFromEnv(reviewConfigSchema);
const { tableName } = config;
const documents = dynamoDocumentClient(config);
// An attestation is due as every fact is, after R16's settle time, read from the tenant configuration.
const tenant = new CurrentTenantConfig(new DynamoTenantConfigStore(documents, tableName), {
  maxAgeMs: 60_000,
});

/** Lambda entry point: configuration is read and validated once, at cold start. */
export const handler = createReviewHandler(
  new ReviewService({
    tenant,
    reviews: new DynamoReviewStore(documents, tableName),
    audit: new DynamoAuditStore(documents, tableName),
    figures: new DynamoFiguresStore(documents, tableName),
    facts: new DynamoFactStore(documents, {
      tableName,
      retentionDays: config.retentionDays,
      settleHours: async () => (await tenant.get()).config.settleHours,
    }),
    now: () => new Date(),
  }),
);
