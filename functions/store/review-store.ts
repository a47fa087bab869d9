import {
  type DynamoDBDocumentClient,
  GetCommand,
  QueryCommand,
  type QueryCommandOutput,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { CorruptItemError } from "./errors.js";
import { resolveOpenItem } from "./review-resolution.js";
import {
  PATIENT_PREFIX,
  QUARANTINE_KEY,
  REVIEW_ID_SORT_KEY,
  REVIEW_KEY,
  type ReviewStatus,
  reviewIdKey,
  reviewItemIdOf,
  reviewSortKey,
  reviewSubject,
  tableDesign,
} from "./table-design.js";

/**
 * The biller's worklist (issue 15) as the store holds it: episodes whose decision needs review (the `REVIEW`
 * partition the finalizer keeps with its decisions) and quarantined patients (the `QUARANTINE` partition). Each
 * listing is Queries of those partitions, page by page; nothing scans.
 */

export const reviewItemKinds = ["episode", "unattributed-time", "quarantined-patient"] as const;
export type ReviewItemKind = (typeof reviewItemKinds)[number];

export interface ReviewItem {
  /** Opaque: names the item for the review API (its kind, patient and episode). */
  id: string;
  kind: ReviewItemKind;
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

/** A listing's cursor: the phase it is in and the last item given, by its opaque id (no patient id). */
const cursorSchema = z.object({
  phase: z.enum(["episodes", "quarantine"]),
  after: z
    .string()
    .regex(/^ri_[0-9a-f]{32}$/)
    .optional(),
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

/** What an item id names: its kind, its patient, and what it is about (an episode id, `time:<factId>`, none). */
export interface ReviewItemKey {
  kind: ReviewItemKind;
  patientId: string;
  subject?: string;
}

/** An item's id: opaque (a hash), so no URL or cursor that carries it carries a patient id. */
export const reviewItemId = (key: ReviewItemKey): string =>
  reviewItemIdOf(key.kind, key.patientId, key.subject);

const pointerSchema = z.object({
  kind: z.enum(["episode", "unattributed-time"]),
  patientId: z.string().min(1),
  subject: z.string().min(1),
});

const episodeItemSchema = z
  .object({
    kind: z.literal("episode"),
    episodeId: z.string(),
    family: z.string(),
    windowStart: z.string(),
    windowEnd: z.string(),
    totalMinutes: z.number().optional(),
    reasons: z.array(z.string()),
  })
  .loose();
const unattributedItemSchema = z
  .object({
    kind: z.literal("unattributed-time"),
    factId: z.string(),
    totalMinutes: z.number(),
    reasons: z.array(z.string()),
  })
  .loose();
const storedItemSchema = z.discriminatedUnion("kind", [episodeItemSchema, unattributedItemSchema]);

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
      if (at.phase === "quarantine") {
        // Few at any time (each waits for an operator): read whole, continued after the last one given.
        const after = at.after;
        // In id order, continued after the last id given: a patient released meanwhile changes nothing.
        const all = (await this.quarantined())
          .map(quarantinedItem)
          .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
        const rest = after === undefined ? all : all.filter((item) => item.id > after);
        const page = rest.slice(0, limit - items.length);
        items.push(...page);
        const last = page.at(-1);
        at =
          page.length < rest.length && last !== undefined
            ? { phase: "quarantine", after: last.id }
            : undefined;
        break;
      }
      const start: string | undefined =
        at.after === undefined ? undefined : await this.sortKeyOf(at.after, status);
      const page: QueryCommandOutput = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :status)",
          ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#sk": tableDesign.sortKey },
          ExpressionAttributeValues: { ":pk": REVIEW_KEY, ":status": `${status}#` },
          ExclusiveStartKey:
            start === undefined
              ? undefined
              : { [tableDesign.partitionKey]: REVIEW_KEY, [tableDesign.sortKey]: start },
          Limit: limit - items.length,
          ConsistentRead: true,
        }),
      );
      const given: ReviewItem[] = (page.Items ?? []).map((item: Record<string, unknown>) =>
        reviewItemOf(item, status),
      );
      items.push(...given);
      const last: ReviewItem | undefined = given.at(-1);
      if (page.LastEvaluatedKey !== undefined && last !== undefined)
        at = { phase: "episodes", after: last.id };
      else if (status === "open") at = { phase: "quarantine" };
      else at = undefined;
    }
    return at === undefined ? { items } : { items, next: encode(at) };
  }

  /** The sort key of the item an id names under a status, for a listing continued after it. */
  private async sortKeyOf(id: string, status: ReviewStatus): Promise<string> {
    const key = await this.keyOf(id);
    if (key?.subject === undefined) throw new InvalidCursorError();
    return reviewSortKey(status, key.patientId, key.subject);
  }

  /** What an opaque item id names; undefined for an id no item ever had. */
  async keyOf(id: string): Promise<ReviewItemKey | undefined> {
    if (!/^ri_[0-9a-f]{32}$/.test(id)) return undefined;
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [tableDesign.partitionKey]: reviewIdKey(id), [tableDesign.sortKey]: REVIEW_ID_SORT_KEY },
        ConsistentRead: true,
      }),
    );
    if (answer.Item !== undefined) {
      const pointer = pointerSchema.safeParse(answer.Item);
      if (!pointer.success)
        throw new CorruptItemError(REVIEW_ID_SORT_KEY, "review id is not the shape the finalizer writes");
      return pointer.data;
    }
    // A quarantined patient has no pointer: its item is found among the few set aside.
    const quarantined = (await this.quarantined()).map(quarantinedItem).find((item) => item.id === id);
    return quarantined === undefined
      ? undefined
      : { kind: "quarantined-patient", patientId: quarantined.patientId };
  }

  private async quarantined(): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    let start: Record<string, unknown> | undefined;
    do {
      const page = await this.client.send(
        new QueryCommand({
          TableName: this.tableName,
          KeyConditionExpression: "#pk = :pk",
          ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
          ExpressionAttributeValues: { ":pk": QUARANTINE_KEY },
          ExclusiveStartKey: start,
          ConsistentRead: true,
        }),
      );
      items.push(...(page.Items ?? []));
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
    return items;
  }

  /** The item a key names, open or resolved; undefined when there is none. */
  async getReviewItem(key: ReviewItemKey): Promise<ReviewItem | undefined> {
    if (key.kind === "quarantined-patient") {
      const answer = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: {
            [tableDesign.partitionKey]: QUARANTINE_KEY,
            [tableDesign.sortKey]: `${PATIENT_PREFIX}${key.patientId}`,
          },
          ConsistentRead: true,
        }),
      );
      return answer.Item === undefined ? undefined : quarantinedItem(answer.Item);
    }
    for (const status of ["open", "resolved"] as const) {
      const answer = await this.client.send(
        new GetCommand({
          TableName: this.tableName,
          Key: this.reviewKey(status, key.patientId, key.subject as string),
          ConsistentRead: true,
        }),
      );
      if (answer.Item !== undefined) {
        const item = reviewItemOf(answer.Item, status);
        if (item.kind === key.kind) return item;
      }
    }
    return undefined;
  }

  /**
   * Unattributed time a biller mapped (R19): its item moves to resolved, with who and when. Time no window
   * holds has no decision to resolve it, so the resolution does. False when it was no longer open.
   */
  async resolveUnattributedTime(
    patientId: string,
    factId: string,
    resolution: { attestationId: string; by: string; at: string },
  ): Promise<boolean> {
    const subject = reviewSubject.unattributedTime(factId);
    const open = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: this.reviewKey("open", patientId, subject),
        ConsistentRead: true,
      }),
    );
    if (open.Item === undefined) return false;
    return resolveOpenItem(this.client, this.tableName, open.Item, resolution);
  }

  private reviewKey(status: ReviewStatus, patientId: string, subject: string) {
    return {
      [tableDesign.partitionKey]: REVIEW_KEY,
      [tableDesign.sortKey]: reviewSortKey(status, patientId, subject),
    };
  }
}

function reviewItemOf(item: Record<string, unknown>, status: ReviewStatus): ReviewItem {
  const key = String(item[tableDesign.sortKey]);
  let parsed: z.infer<typeof storedItemSchema>;
  try {
    parsed = storedItemSchema.parse(JSON.parse(String(item.item)));
  } catch {
    throw new CorruptItemError(key, "review item is not the shape the finalizer writes");
  }
  const patientId = String(item.patientId);
  if (parsed.kind === "unattributed-time") {
    // The rest of the item (practitioner, instant, seconds, configuration version) is the evidence.
    const { kind: _kind, factId, totalMinutes, reasons, ...evidence } = parsed;
    return {
      id: reviewItemId({
        kind: "unattributed-time",
        patientId,
        subject: reviewSubject.unattributedTime(factId),
      }),
      kind: "unattributed-time",
      status,
      patientId,
      totalMinutes,
      reasons,
      evidence: { factId, ...evidence },
    };
  }
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
    id: reviewItemId({ kind: "episode", patientId, subject: reviewSubject.episode(episodeId) }),
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
    id: reviewItemId({ kind: "quarantined-patient", patientId }),
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
