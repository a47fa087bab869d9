import { gunzipSync, gzipSync } from "node:zlib";
import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { parseTenantConfig, type TenantConfig } from "../domain/config.js";
import { configDigest } from "../store/config-store.js";
import { TENANT_CONFIG_KEY, tableDesign, tenantConfigSortKey } from "../store/table-design.js";

/**
 * The deployment's initial tenant configuration (README "Deploying"): the first deploy that carries one stores it
 * as version 1, exactly as `DynamoTenantConfigStore.push` would (functions/store/config-store.ts), and no deploy
 * ever writes it again. A version 1 that exists, whoever wrote it, is kept: the configuration changes only
 * through `npm run config -- push`, which adds versions, so a redeploy cannot roll back what an operator pushed.
 */
export const INITIAL_VERSION = 1;
/** Who `by` says stored the version. */
export const INITIAL_CONFIG_AUTHOR = "deployment";
/** The custom resource's properties: the table, and the configuration as its JSON, gzipped, in base64. */
export const initialConfigProperties = { tableName: "TableName", config: "Config" } as const;
/** The custom resource's physical id: the item it writes, the same across updates (so never replaced). */
export const INITIAL_CONFIG_RESOURCE_ID = `${TENANT_CONFIG_KEY}/${tenantConfigSortKey(INITIAL_VERSION)}`;

/**
 * The configuration as the custom resource carries it. Compressed for the same reason the store compresses it: a
 * 2,000-clinician roster is ~250 KB of JSON and the template and the request CloudFormation sends must stay small.
 */
export const encodeInitialConfig = (config: TenantConfig): string =>
  gzipSync(JSON.stringify(config)).toString("base64");

export type InitialConfigResult = "stored" | "kept";

/**
 * Validates the configuration as a push does (`ConfigurationError` names the field), then puts version 1 on the
 * condition that no item holds it.
 */
export async function storeInitialConfig(
  client: DynamoDBDocumentClient,
  tableName: string,
  encoded: string,
  at: Date,
): Promise<InitialConfigResult> {
  const gzipped = Buffer.from(encoded, "base64");
  const config = parseTenantConfig(JSON.parse(gunzipSync(gzipped).toString("utf8")));
  try {
    await client.send(
      new PutCommand({
        TableName: tableName,
        Item: {
          [tableDesign.partitionKey]: TENANT_CONFIG_KEY,
          [tableDesign.sortKey]: tenantConfigSortKey(INITIAL_VERSION),
          type: "tenant-config",
          version: INITIAL_VERSION,
          pushedAt: at.toISOString(),
          by: INITIAL_CONFIG_AUTHOR,
          digest: configDigest(config),
          config: gzipped,
        },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
      }),
    );
    return "stored";
  } catch (error) {
    if (error instanceof ConditionalCheckFailedException) return "kept";
    throw error;
  }
}
