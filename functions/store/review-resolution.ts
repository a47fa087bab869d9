import { type DynamoDBDocumentClient, TransactWriteCommand } from "@aws-sdk/lib-dynamodb";
import { REVIEW_KEY, reviewSortKey, tableDesign } from "./table-design.js";

/**
 * Moves an open worklist item (issue 15) to resolved, saying what resolved it (`resolvedBy` in its JSON): one
 * transaction, the `open#` key deleted on condition it still exists and the `resolved#` one put. False when it was
 * resolved meanwhile. Used where no decision resolves the item: unattributed time mapped by a biller, or covered by
 * a roster version.
 */
export async function resolveOpenItem(
  client: DynamoDBDocumentClient,
  tableName: string,
  open: Record<string, unknown>,
  resolvedBy: Record<string, unknown>,
): Promise<boolean> {
  const item = { ...(JSON.parse(String(open.item)) as Record<string, unknown>), resolvedBy };
  try {
    await client.send(
      new TransactWriteCommand({
        TransactItems: [
          {
            Delete: {
              TableName: tableName,
              Key: {
                [tableDesign.partitionKey]: REVIEW_KEY,
                [tableDesign.sortKey]: open[tableDesign.sortKey],
              },
              ConditionExpression: "attribute_exists(#pk)",
              ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
            },
          },
          {
            Put: {
              TableName: tableName,
              Item: {
                ...open,
                [tableDesign.sortKey]: reviewSortKey(
                  "resolved",
                  String(open.patientId),
                  String(open.subject),
                ),
                status: "resolved",
                item: JSON.stringify(item),
              },
            },
          },
        ],
      }),
    );
    return true;
  } catch (error) {
    if ((error as Error).name === "TransactionCanceledException") return false;
    throw error;
  }
}
