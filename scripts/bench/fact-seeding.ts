import { BatchWriteCommand, type DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { Fact } from "../../functions/domain/facts.js";
import { DynamoFactStore, type FactStoreOptions } from "../../functions/store/fact-store.js";
import { inPool } from "./stats.js";

/** DynamoDB's limit of requests in one BatchWriteItem. */
const BATCH = 25;
/** BatchWriteItem requests in flight. */
const CONCURRENCY = 8;
const MAX_ATTEMPTS = 10;

/**
 * Writes new facts as the apply side stores them (`DynamoFactStore.itemOf`: same keys, indexes, due marker and
 * TTL), 25 to a BatchWriteItem: years of history for hundreds of patients in seconds rather than one conditional
 * PutItem per fact. Only for facts not yet stored: a batch write has no version condition.
 */
export async function seedFacts(
  client: DynamoDBDocumentClient,
  options: FactStoreOptions,
  facts: readonly Fact[],
): Promise<void> {
  const store = new DynamoFactStore(client, options);
  const batches: Array<Array<{ PutRequest: { Item: Record<string, unknown> } }>> = [];
  for (let start = 0; start < facts.length; start += BATCH)
    batches.push(
      facts.slice(start, start + BATCH).map((fact) => ({ PutRequest: { Item: store.itemOf(fact) } })),
    );
  await inPool(batches, CONCURRENCY, async (batch) => {
    let requests = batch;
    for (let attempt = 1; requests.length > 0; attempt++) {
      if (attempt > MAX_ATTEMPTS)
        throw new Error(`${requests.length} fact(s) still unprocessed after retries`);
      if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
      const result = await client.send(
        new BatchWriteCommand({ RequestItems: { [options.tableName]: requests } }),
      );
      requests = (result.UnprocessedItems?.[options.tableName] ?? []) as typeof requests;
    }
  });
}
