import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { subscriptionKey, tableDesign } from "./table-design.js";

export interface SubscriptionNotice {
  format: string;
  subscription: string;
  kind: "event" | "handshake" | "heartbeat" | "query";
  eventNumber?: number;
  at: string;
}

export type SubscriptionRecord =
  | { order: "first" | "in-order" | "gap"; previousEventNumber?: number }
  /** An event number at or below the high-water mark: a retry or an out-of-order delivery, not a gap. */
  | { order: "late" };

/** Records that a subscription is alive (handshake, heartbeat, events) and detects event-number gaps. */
export interface SubscriptionRecorder {
  record(notice: SubscriptionNotice): Promise<SubscriptionRecord>;
}

/** One UpdateItem per notice; the event-number high-water mark only moves up, whatever the arrival order. */
export class DynamoSubscriptionStore implements SubscriptionRecorder {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async record(notice: SubscriptionNotice): Promise<SubscriptionRecord> {
    const names: Record<string, string> = { "#seen": "lastSeenAt", "#kind": `last-${notice.kind}-at` };
    const values: Record<string, unknown> = { ":at": notice.at };
    let update = "SET #seen = :at, #kind = :at";
    let condition: string | undefined;
    if (notice.eventNumber !== undefined) {
      names["#event"] = "lastEventNumber";
      values[":event"] = notice.eventNumber;
      update += ", #event = :event";
      condition = "attribute_not_exists(#event) OR #event < :event";
    }
    try {
      const result = await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: {
            [tableDesign.partitionKey]: subscriptionKey(notice.format, notice.subscription),
            [tableDesign.sortKey]: "STATUS",
          },
          UpdateExpression: update,
          ConditionExpression: condition,
          ExpressionAttributeNames: names,
          ExpressionAttributeValues: values,
          ReturnValues: "UPDATED_OLD",
        }),
      );
      const previous = result.Attributes?.lastEventNumber;
      if (notice.eventNumber === undefined || typeof previous !== "number") return { order: "first" };
      return { order: notice.eventNumber > previous + 1 ? "gap" : "in-order", previousEventNumber: previous };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { order: "late" };
      throw error;
    }
  }
}
