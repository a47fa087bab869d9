import { type DynamoDBDocumentClient, QueryCommand } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { CorruptItemError } from "./errors.js";
import {
  PATIENT_PREFIX,
  QUARANTINE_KEY,
  REVIEW_KEY,
  type ReviewStatus,
  tableDesign,
} from "./table-design.js";

/**
 * The biller's worklist (issue 15) as the store holds it: episodes whose decision needs review (the `REVIEW`
 * partition the finalizer keeps with its decisions) and quarantined patients (the `QUARANTINE` partition). Each
 * listing is Queries of those partitions, page by page; nothing scans.
 */

export interface ReviewItem {
  /** Opaque: names the item for the review API (its kind, patient and episode). */
  id: string;
  kind: "episode" | "quarantined-patient";
  status: ReviewStatus;
  patientId: string;
  episodeId?: string;
  family?: string;
  windowStart?: string;
  windowEnd?: string;
  totalMinutes?: number;
  reasons: string[];
  evidence: Record<string, unknown>;
}

const cursorSchema = z.object({
  phase: z.enum(["episodes", "quarantine"]),
  key: z.record(z.string(), z.string()).optional(),
});
type Cursor = z.infer<typeof cursorSchema>;

/** A cursor the review API did not give out. */
export class InvalidCursorError extends Error {
  readonly retryable = false;
  constructor() {
    super("the cursor is not one this listing gave out");
    this.name = "InvalidCursorError";
  }
}

const encode = (cursor: Cursor): string => Buffer.from(JSON.stringify(cursor)).toString("base64url");
function decode(text: string): Cursor {
  try {
    return cursorSchema.parse(JSON.parse(Buffer.from(text, "base64url").toString()));
  } catch {
    throw new InvalidCursorError();
  }
}

export const reviewItemId = (kind: ReviewItem["kind"], patientId: string, episodeId?: string): string =>
  Buffer.from(JSON.stringify([kind, patientId, episodeId ?? null])).toString("base64url");

const episodeItemSchema = z
  .object({
    episodeId: z.string(),
    family: z.string(),
    windowStart: z.string(),
    windowEnd: z.string(),
    totalMinutes: z.number().optional(),
    reasons: z.array(z.string()),
  })
  .loose();

export class DynamoReviewStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /**
   * Up to `limit` items of a status, oldest patient id first within each kind: episodes, then (open only)
   * quarantined patients. `next` continues the listing; absent at its end.
   */
  async listReviewItems(
    status: ReviewStatus,
    cursor?: string,
    limit = 50,
  ): Promise<{ items: ReviewItem[]; next?: string }> {
    let at: Cursor | undefined = cursor === undefined ? { phase: "episodes" } : decode(cursor);
    const items: ReviewItem[] = [];
    while (at !== undefined && items.length < limit) {
      const phase: Cursor["phase"] = at.phase;
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression:
            phase === "episodes" ? "#pk = :pk AND begins_with(#sk, :status)" : "#pk = :pk",
          ExpressionAttributeNames: {
            "#pk": tableDesign.partitionKey,
            ...(phase === "episodes" && { "#sk": tableDesign.sortKey }),
          },
          ExpressionAttributeValues: {
            ":pk": phase === "episodes" ? REVIEW_KEY : QUARANTINE_KEY,
            ...(phase === "episodes" && { ":status": `${status}#` }),
          },
          ExclusiveStartKey: at.key,
          Limit: limit - items.length,
          ConsistentRead: true,
        }),
      );
      for (const item of page.Items ?? [])
        items.push(phase === "episodes" ? episodeItem(item, status) : quarantinedItem(item));
      const key = page.LastEvaluatedKey as Record<string, string> | undefined;
      if (key !== undefined) at = { phase, key };
      else if (phase === "episodes" && status === "open") at = { phase: "quarantine" };
      else at = undefined;
    }
    return at === undefined ? { items } : { items, next: encode(at) };
  }
}

function episodeItem(item: Record<string, unknown>, status: ReviewStatus): ReviewItem {
  const key = String(item[tableDesign.sortKey]);
  let parsed: z.infer<typeof episodeItemSchema>;
  try {
    parsed = episodeItemSchema.parse(JSON.parse(String(item.item)));
  } catch {
    throw new CorruptItemError(key, "review item is not the shape the finalizer writes");
  }
  const patientId = String(item.patientId);
  // The rest of the item (outcome, evidence ids, unknown activity, configuration version) is the evidence.
  const {
    kind: _kind,
    episodeId,
    family,
    windowStart,
    windowEnd,
    totalMinutes,
    reasons,
    ...evidence
  } = parsed;
  return {
    id: reviewItemId("episode", patientId, episodeId),
    kind: "episode",
    status,
    patientId,
    episodeId,
    family,
    windowStart,
    windowEnd,
    totalMinutes,
    reasons,
    evidence,
  };
}

function quarantinedItem(item: Record<string, unknown>): ReviewItem {
  const patientId = String(item[tableDesign.sortKey]).slice(PATIENT_PREFIX.length);
  return {
    id: reviewItemId("quarantined-patient", patientId),
    kind: "quarantined-patient",
    status: "open",
    patientId,
    reasons: ["quarantined"],
    evidence: {
      reason: item.reason,
      error: item.error,
      ...(typeof item.item === "string" && { item: item.item }),
      since: item.since,
      attempts: item.attempts,
    },
  };
}
