import { dynamoDocumentClient } from "../dynamodb-client.js";
import { configFromEnv, initialConfigSchema } from "../runtime-config.js";
import { storeInitialConfig } from "./initial-config.js";
import { createInitialConfigHandler } from "./initial-config-handler.js";

const config = configFromEnv(initialConfigSchema);
const documents = dynamoDocumentClient(config);

/** Lambda entry point (a CloudFormation custom resource): configuration is read and validated at cold start. */
export const handler = createInitialConfigHandler({
  store: (tableName, encoded) => storeInitialConfig(documents, tableName, encoded, new Date()),
});
