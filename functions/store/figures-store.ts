import { type DynamoDBDocumentClient, paginateQuery } from "@aws-sdk/lib-dynamodb";
import { figuresKey, QUARANTINE_KEY, REVIEW_KEY, tableDesign } from "./table-design.js";

/**
 * What the capture figures read (issue 15): each week's episode figures (`FIGURES#<week>`, one Query each), and
 * the worklist's open items with when each opened (the `REVIEW` and `QUARANTINE` partitions, keys and times
 * only). A practice deciding 20,000 episodes a week reads about 4 MB a week asked for.
 */

export interface EpisodeFigures {
  outcome: string;
  reasons: string[];
  totalMinutes: number;
  minutesByClinician: Record<string, number>;
  chargeCents?: number;
}

export interface OpenItem {
  kind: "episode" | "unattributed-time" | "quarantined-patient";
  /** Epoch ms it first opened (its first needs-review decision, or when the patient was set aside). */
  openedAt: number;
}

export class DynamoFiguresStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async week(week: string): Promise<EpisodeFigures[]> {
    const figures: EpisodeFigures[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
        ExpressionAttributeValues: { ":pk": figuresKey(week) },
      },
    )) {
      for (const item of page.Items ?? [])
        figures.push({
          outcome: String(item.outcome),
          reasons: Array.isArray(item.reasons) ? item.reasons.map(String) : [],
          totalMinutes: Number(item.totalMinutes ?? 0),
          minutesByClinician: (item.minutesByClinician ?? {}) as Record<string, number>,
          ...(typeof item.chargeCents === "number" && { chargeCents: item.chargeCents }),
        });
    }
    return figures;
  }

  async openItems(): Promise<OpenItem[]> {
    const items: OpenItem[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :open)",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#sk": tableDesign.sortKey },
        ExpressionAttributeValues: { ":pk": REVIEW_KEY, ":open": "open#" },
        ProjectionExpression: "#sk, subject, openedAt, decidedAt",
      },
    )) {
      for (const item of page.Items ?? [])
        items.push({
          kind: String(item.subject ?? "").startsWith("time:") ? "unattributed-time" : "episode",
          openedAt: Number(item.openedAt ?? item.decidedAt),
        });
    }
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#since": "since" },
        ExpressionAttributeValues: { ":pk": QUARANTINE_KEY },
        ProjectionExpression: "#since",
      },
    )) {
      for (const item of page.Items ?? [])
        items.push({
          kind: "quarantined-patient",
          openedAt: typeof item.since === "number" ? item.since : Date.parse(String(item.since)),
        });
    }
    return items;
  }
}
