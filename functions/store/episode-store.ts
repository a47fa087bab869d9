import { randomUUID } from "node:crypto";
import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  BatchWriteCommand,
  type DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  paginateQuery,
  QueryCommand,
  type QueryCommandInput,
  TransactWriteCommand,
  type TransactWriteCommandInput,
} from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { type ClaimLine, claimLineSchema } from "../domain/claim-line.js";
import { families } from "../domain/code-table.js";
import { factReach } from "../domain/decision-scope.js";
import type { ThreadRoot } from "../domain/episodes.js";
import { factDigest } from "../domain/fact-digest.js";
import { type Fact, factSchema } from "../domain/facts.js";
import { CorruptItemError } from "./errors.js";
import { resolveOpenItem } from "./review-resolution.js";
import {
  ALWAYS_READ,
  CONFIG_PROGRESS_KEY,
  commitId,
  dueShardOf,
  EPISODE_PREFIX,
  episodeSortKey,
  FACT_PREFIX,
  factSortKey,
  figuresKey,
  OUTBOX_PREFIX,
  outboxSortKey,
  PATIENT_PREFIX,
  patientKey,
  RECHECK_PREFIX,
  REVIEW_ID_SORT_KEY,
  REVIEW_KEY,
  type ReviewStatus,
  recheckSortKey,
  reviewIdKey,
  reviewItemIdOf,
  reviewSortKey,
  reviewSubject,
  STATE_SORT_KEY,
  tableDesign,
  unattributedSortKey,
} from "./table-design.js";

/** A due-index entry as the finalizer reads it: whose, what kind of item, and where its change starts. */
export interface DueMarker {
  patientId: string;
  kind: "fact" | "state" | "outbox";
  dueAt: number;
  /** Facts and the state: the earliest instant the change touches (epoch ms). */
  changedAt?: number;
}

/** The head of an episode's latest decision record: what the next decision needs of it (docs/STORE.md). */
export const episodeHeadSchema = z.object({
  episodeId: z.string(),
  claimLineId: z.string(),
  group: z.string(),
  family: z.enum(families),
  /** Window, epoch ms, [start, end). */
  start: z.number(),
  end: z.number(),
  patientInitiated: z.boolean(),
  /** False once later facts left no such episode (R7, R16); its record keeps the void, if one was owed. */
  current: z.boolean(),
  /** Digest of the decision: a different digest is a changed decision and gets a new record. */
  digest: z.string(),
  /** The latest line sent for the episode (by this decision or an earlier one). */
  line: claimLineSchema.optional(),
  /** Set when the decision was `needs-review`: the episode is on the worklist (issue 15). */
  review: z.literal(true).optional(),
  /** R20: set when the episode bills: its date of service and problem codes, for the episodes after it. */
  billed: z
    .object({
      episodeId: z.string(),
      start: z.number(),
      serviceDate: z.string(),
      diagnosisCodes: z.array(z.string()),
    })
    .optional(),
  /**
   * What this decision counts for in the capture metrics (issue 15): the next decision of the episode counts the
   * difference, so an episode decided again counts once, with its latest decision.
   */
  counted: z
    .object({
      outcome: z.string(),
      reasons: z.array(z.string()),
      withTime: z.boolean(),
      minutes: z.record(z.string(), z.number()),
    })
    .optional(),
});
export type EpisodeHead = z.infer<typeof episodeHeadSchema>;

export interface StoredFact {
  fact: Fact;
  /** The fact's stored digest: clearing its marker is conditional on it and the version (never a newer one). */
  digest: string;
  reach: number;
  /** Set while the finalizer has not accounted for the fact. */
  marker?: { dueAt: number; changedAt: number };
  /** R1's root of the fact's message, as the last decision that saw it resolved it. */
  threadRoot?: ThreadRoot;
}

/** The patient's state item: the optimistic lock of every commit and the marker of its next settle. */
export interface PatientState {
  version: number;
  /** When the state item was first written (epoch ms): commit ids stay unique even if it is ever recreated. */
  epoch: number;
  /** The earliest episode not yet due: when it settles and where it starts (R16). */
  pending?: { dueAt: number; changedAt: number };
}

export interface OutboxEntry {
  patientId: string;
  /** The outbox item's sort key: commit order, then send order within the commit. */
  key: string;
  line: ClaimLine;
}

/** One patient's items that a decision from some instant needs, read by reach. */
export interface PatientView {
  patientId: string;
  state?: PatientState;
  facts: StoredFact[];
  /** The latest record of each episode read. */
  episodes: EpisodeHead[];
  /** Lines committed and not yet confirmed sent, in commit and send order. */
  outbox: OutboxEntry[];
  /** Asks to decide the patient again after a configuration change (R18), by sort key. */
  rechecks: Array<{ key: string; changedAt: number }>;
  /** The lowest reach read. */
  reachFrom: number;
}

/** A clinician's time as the clinician index holds it: whose patient, when (R18). */
export interface ClinicianTime {
  patientId: string;
  at: number;
}

export interface EpisodeRecordWrite {
  head: EpisodeHead;
  /** The full decision record (the audit): never read to decide. */
  record: unknown;
  /** The line this decision sends, if any: it also goes to the outbox. */
  line?: ClaimLine;
  expiresAt: number;
}

/** Unknown clinicians' time outside every window, first accounted for: an audit record of its own (R18). */
export interface UnattributedWrite {
  factId: string;
  record: unknown;
  expiresAt: number;
}

/** A worklist item (`REVIEW` partition): put under its status, removed from the other. */
export interface ReviewWrite {
  patientId: string;
  /** What the item is about: an episode id, or `time:<factId>` for time no window holds (`reviewSubject`). */
  subject: string;
  status: ReviewStatus;
  /** What the worklist shows: window, minutes, reasons, evidence ids (table-design.ts `REVIEW_KEY`). */
  item: unknown;
  /** When the decision behind it was made (epoch ms). */
  decidedAt: number;
  expiresAt: number;
}

/** An episode's capture figures (`FIGURES#<week>`): put with each decision, deleted when superseded. */
export interface FigureWrite {
  /** ISO week of the window start, in the practice's zone: `2026-W47`. */
  week: string;
  patientId: string;
  episodeId: string;
  /** Absent: the episode no longer exists (superseded), its figures are deleted. */
  figures?: {
    outcome: string;
    reasons: string[];
    totalMinutes: number;
    /** Minutes by practitioner id. */
    minutesByClinician: Record<string, number>;
    chargeCents?: number;
  };
  expiresAt: number;
}

export interface FactUpdate {
  factId: string;
  version: number;
  digest: string;
  /** Remove the due marker: the decision accounted for this version. */
  clearMarker: boolean;
  /** R1 root to keep (`null` removes one that no longer holds); undefined leaves it. */
  threadRoot?: ThreadRoot | null;
}

export interface Commit {
  patientId: string;
  /** The state read; absent when the patient has none yet. */
  expected?: PatientState;
  /** When the decision was made (epoch ms): a new state's epoch. */
  decidedAt: number;
  pending?: PatientState["pending"];
  /** Decision records in send order (voids first, R16). */
  records: EpisodeRecordWrite[];
  facts: FactUpdate[];
  /** Re-check asks this decision answered (sort keys), deleted with it. */
  rechecks?: string[];
  /** Audit records of time no window holds (`UNATTRIBUTED#<factId>#<commit>`), never read to decide. */
  unattributed?: UnattributedWrite[];
  /** Worklist items of the episodes whose review opened or was resolved by this decision. */
  reviews?: ReviewWrite[];
  /** Capture figures of the episodes this decision recorded. */
  figures?: FigureWrite[];
}

export type CommitResult =
  | { status: "committed"; version: number; outbox: OutboxEntry[] }
  | { status: "conflict"; reason: "state-changed" | "fact-changed" | "record-exists" };

/** The finalizer's view of the store: due work through the sharded index, one patient at a time. */
export interface EpisodeStore {
  dueMarkers(
    shard: string,
    now: number,
    limit: number,
    cursor?: Record<string, unknown>,
  ): Promise<{ markers: DueMarker[]; cursor?: Record<string, unknown> }>;
  /** The patient's items with `reach >= reachFrom` (and `< reachBelow`, to extend a view already read). */
  readPatient(patientId: string, reachFrom: number, reachBelow?: number): Promise<PatientView>;
  /** Message facts by message id, for R1 chains that leave the scope; ids not held are absent. */
  readMessages(patientId: string, messageIds: readonly string[]): Promise<StoredFact[]>;
  /** Visits and consents dated in [since, below), for policies that look back further than their reach. */
  readLookback(patientId: string, since: number, below: number): Promise<StoredFact[]>;
  /** Writes a decision atomically (several transactions for a very large one, each a valid prefix). */
  commit(commit: Commit): Promise<CommitResult>;
  /** Deletes outbox entries whose lines the claims queue accepted. */
  confirmSent(entries: readonly OutboxEntry[]): Promise<void>;
  /** A practitioner's time in [from, below) (epoch ms), from the clinician index, in time order (R18). */
  clinicianTime(practitionerId: string, from: number, below: number): Promise<ClinicianTime[]>;
  /** Makes patients due again from an instant, because configuration `version` changed what their facts mean. */
  recheck(
    patients: ReadonlyArray<{ patientId: string; changedAt: number }>,
    version: number,
    now: number,
  ): Promise<void>;
  /** The configuration version the finalizer last acted on (undefined before the first). */
  configProgress(): Promise<number | undefined>;
  /** Records that the finalizer acted on `version`; false when another run moved it first. */
  recordConfigProgress(version: number, previous: number | undefined): Promise<boolean>;
  /**
   * R18: the open worklist items of these patients' unattributed time (issue 15) whose practitioner `covers` on
   * its instant, moved to resolved by configuration `version`. Returns how many.
   */
  resolveCoveredTime?(
    patientIds: readonly string[],
    covers: (practitionerId: string, at: number) => boolean,
    version: number,
  ): Promise<number>;
}

/** DynamoDB's limit of actions in one TransactWriteItems. */
const MAX_TRANSACTION_ACTIONS = 100;
/** DynamoDB's limit of requests in one BatchWriteItem. */
const MAX_BATCH_WRITE = 25;

export class DynamoEpisodeStore implements EpisodeStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async dueMarkers(shard: string, now: number, limit: number, cursor?: Record<string, unknown>) {
    const { dueIndex, partitionKey, sortKey } = tableDesign;
    const page = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: dueIndex.name,
        KeyConditionExpression: "#shard = :shard AND #due <= :now",
        ExpressionAttributeNames: { "#shard": dueIndex.partitionKey, "#due": dueIndex.sortKey },
        ExpressionAttributeValues: { ":shard": shard, ":now": now },
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    const markers: DueMarker[] = [];
    for (const item of page.Items ?? []) {
      const pk = String(item[partitionKey]);
      const sk = String(item[sortKey]);
      if (!pk.startsWith(PATIENT_PREFIX)) continue;
      const kind = sk === STATE_SORT_KEY ? "state" : sk.startsWith(OUTBOX_PREFIX) ? "outbox" : "fact";
      const changedAt = item.changedAt;
      markers.push({
        patientId: pk.slice(PATIENT_PREFIX.length),
        kind,
        dueAt: Number(item[dueIndex.sortKey]),
        changedAt: typeof changedAt === "number" ? changedAt : undefined,
      });
    }
    return { markers, cursor: page.LastEvaluatedKey };
  }

  async readPatient(patientId: string, reachFrom: number, reachBelow?: number): Promise<PatientView> {
    const { reachIndex } = tableDesign;
    const range =
      reachBelow === undefined
        ? { condition: "#reach >= :from", values: { ":from": reachFrom } }
        : {
            condition: "#reach BETWEEN :from AND :below",
            values: { ":from": reachFrom, ":below": reachBelow - 1 },
          };
    const items = await this.query({
      TableName: this.tableName,
      IndexName: reachIndex.name,
      KeyConditionExpression: `#pk = :pk AND ${range.condition}`,
      ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#reach": reachIndex.sortKey },
      ExpressionAttributeValues: { ":pk": patientKey(patientId), ...range.values },
      Select: "ALL_PROJECTED_ATTRIBUTES",
      ConsistentRead: true,
    });
    const view: PatientView = { patientId, facts: [], episodes: [], outbox: [], rechecks: [], reachFrom };
    const latest = new Map<string, { commit: string; head: EpisodeHead }>();
    for (const item of items) {
      const sk = String(item[tableDesign.sortKey]);
      if (sk.startsWith(FACT_PREFIX)) view.facts.push(storedFact(item, sk));
      else if (sk === STATE_SORT_KEY) view.state = patientState(item);
      else if (sk.startsWith(EPISODE_PREFIX)) {
        const head = parseItem(sk, "head", episodeHeadSchema, item.head);
        const commit = sk.slice(sk.lastIndexOf("#") + 1);
        const held = latest.get(head.episodeId);
        if (held === undefined || commit > held.commit) latest.set(head.episodeId, { commit, head });
      } else if (sk.startsWith(OUTBOX_PREFIX)) {
        view.outbox.push({ patientId, key: sk, line: parseItem(sk, "line", claimLineSchema, item.line) });
      } else if (sk.startsWith(RECHECK_PREFIX)) {
        view.rechecks.push({ key: sk, changedAt: Number(item.changedAt) });
      }
    }
    view.episodes = [...latest.values()].map(({ head }) => head);
    view.outbox.sort((a, b) => (a.key < b.key ? -1 : 1));
    return view;
  }

  async readMessages(patientId: string, messageIds: readonly string[]): Promise<StoredFact[]> {
    const { messageIndex } = tableDesign;
    const pages = await Promise.all(
      messageIds.map((messageId) =>
        this.query({
          TableName: this.tableName,
          IndexName: messageIndex.name,
          KeyConditionExpression: "#pk = :pk AND #message = :message",
          ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#message": messageIndex.sortKey },
          ExpressionAttributeValues: { ":pk": patientKey(patientId), ":message": messageId },
          Select: "ALL_PROJECTED_ATTRIBUTES",
          ConsistentRead: true,
        }),
      ),
    );
    return pages.flat().map((item) => storedFact(item, String(item[tableDesign.sortKey])));
  }

  async readLookback(patientId: string, since: number, below: number): Promise<StoredFact[]> {
    const { lookbackIndex } = tableDesign;
    const items = await this.query({
      TableName: this.tableName,
      IndexName: lookbackIndex.name,
      KeyConditionExpression: "#pk = :pk AND #at BETWEEN :since AND :below",
      ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#at": lookbackIndex.sortKey },
      ExpressionAttributeValues: { ":pk": patientKey(patientId), ":since": since, ":below": below - 1 },
      Select: "ALL_PROJECTED_ATTRIBUTES",
      ConsistentRead: true,
    });
    return items.map((item) => storedFact(item, String(item[tableDesign.sortKey])));
  }

  async commit(commit: Commit): Promise<CommitResult> {
    const epoch = commit.expected?.epoch ?? commit.decidedAt;
    let version = commit.expected?.version ?? 0;
    const outbox: OutboxEntry[] = [];
    // Records (each with its outbox entry) first, fact updates last: a commit cut short by a crash between two
    // transactions leaves the facts due, so the next run decides again and finds the records already there.
    const parts: Array<{ actions: number; build: (commitKey: string) => unknown[] }> = [];
    let seq = 0;
    for (const write of commit.records) {
      const position = write.line === undefined ? undefined : seq++;
      parts.push({
        actions: position === undefined ? 1 : 2,
        build: (commitKey) => {
          if (write.line === undefined || position === undefined)
            return [this.recordPut(commit.patientId, commitKey, write)];
          const key = outboxSortKey(commitKey, position);
          outbox.push({ patientId: commit.patientId, key, line: write.line });
          return [
            this.recordPut(commit.patientId, commitKey, write),
            this.outboxPut(commit.patientId, key, write.line, commit.decidedAt),
          ];
        },
      });
    }
    for (const write of commit.unattributed ?? [])
      parts.push({
        actions: 1,
        build: (commitKey) => [
          {
            Put: {
              TableName: this.tableName,
              Item: {
                [tableDesign.partitionKey]: patientKey(commit.patientId),
                [tableDesign.sortKey]: unattributedSortKey(write.factId, commitKey),
                type: "unattributed",
                record: JSON.stringify(write.record),
                [tableDesign.ttlAttribute]: write.expiresAt,
              },
            },
          },
        ],
      });
    for (const review of commit.reviews ?? [])
      parts.push({ actions: 3, build: () => this.reviewWrites(review) });
    for (const figure of commit.figures ?? [])
      parts.push({ actions: 1, build: () => [this.figureWrite(figure)] });
    for (const update of commit.facts)
      parts.push({ actions: 1, build: () => [this.factUpdate(commit.patientId, update)] });

    // Each transaction carries the state (the lock) and as many parts as fit.
    const transactions: Array<typeof parts> = [[]];
    let size = 1;
    for (const part of parts) {
      if (size + part.actions > MAX_TRANSACTION_ACTIONS) {
        transactions.push([]);
        size = 1;
      }
      (transactions.at(-1) as typeof parts).push(part);
      size += part.actions;
    }

    for (const [index, parts] of transactions.entries()) {
      const expected = version;
      version += 1;
      const commitKey = commitId(epoch, version);
      const last = index === transactions.length - 1;
      const items = [
        this.statePut(commit.patientId, { version, epoch, pending: commit.pending }, expected, last),
        ...parts.flatMap((part) => part.build(commitKey)),
      ];
      const result = await this.transact({
        TransactItems: items as TransactWriteCommandInput["TransactItems"],
        ClientRequestToken: randomUUID(),
      });
      if (result !== "committed") return { status: "conflict", reason: result };
    }
    return { status: "committed", version, outbox };
  }

  async confirmSent(entries: readonly OutboxEntry[]): Promise<void> {
    for (let start = 0; start < entries.length; start += MAX_BATCH_WRITE) {
      let requests: Array<{ DeleteRequest: { Key: Record<string, unknown> } }> = entries
        .slice(start, start + MAX_BATCH_WRITE)
        .map((entry) => ({
          DeleteRequest: {
            Key: {
              [tableDesign.partitionKey]: patientKey(entry.patientId),
              [tableDesign.sortKey]: entry.key,
            },
          },
        }));
      // Unprocessed items are retried with backoff; the SDK already retried throttling of the whole request.
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        const result = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        if (attempt >= 8 && requests.length > 0)
          throw new Error(`${requests.length} sent line(s) still in the outbox after retries`);
      }
    }
  }

  async clinicianTime(practitionerId: string, from: number, below: number): Promise<ClinicianTime[]> {
    const { clinicianIndex } = tableDesign;
    // Keys only, eventually consistent (a global index): a fact applied a moment ago is due by itself anyway.
    const items = await this.query({
      TableName: this.tableName,
      IndexName: clinicianIndex.name,
      KeyConditionExpression: "#clinician = :clinician AND #at BETWEEN :from AND :last",
      ExpressionAttributeNames: { "#clinician": clinicianIndex.partitionKey, "#at": clinicianIndex.sortKey },
      ExpressionAttributeValues: { ":clinician": practitionerId, ":from": from, ":last": below - 1 },
    });
    return items.flatMap((item) => {
      const key = String(item[tableDesign.partitionKey]);
      return key.startsWith(PATIENT_PREFIX)
        ? [{ patientId: key.slice(PATIENT_PREFIX.length), at: Number(item[clinicianIndex.sortKey]) }]
        : [];
    });
  }

  async recheck(
    patients: ReadonlyArray<{ patientId: string; changedAt: number }>,
    version: number,
    now: number,
  ): Promise<void> {
    const { dueIndex, reachIndex } = tableDesign;
    for (let start = 0; start < patients.length; start += MAX_BATCH_WRITE) {
      let requests: Array<{ PutRequest: { Item: Record<string, unknown> } }> = patients
        .slice(start, start + MAX_BATCH_WRITE)
        .map(({ patientId, changedAt }) => ({
          PutRequest: {
            Item: {
              [tableDesign.partitionKey]: patientKey(patientId),
              [tableDesign.sortKey]: recheckSortKey(version),
              type: "recheck",
              [reachIndex.sortKey]: ALWAYS_READ,
              [dueIndex.partitionKey]: dueShardOf(patientId),
              [dueIndex.sortKey]: now,
              changedAt,
            },
          },
        }));
      for (let attempt = 0; requests.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        const result = await this.client.send(
          new BatchWriteCommand({ RequestItems: { [this.tableName]: requests } }),
        );
        requests = (result.UnprocessedItems?.[this.tableName] ?? []) as typeof requests;
        if (attempt >= 8 && requests.length > 0)
          throw new Error(`${requests.length} re-check(s) not written after retries`);
      }
    }
  }

  async configProgress(): Promise<number | undefined> {
    const answer = await this.client.send(
      new GetCommand({
        TableName: this.tableName,
        Key: { [tableDesign.partitionKey]: CONFIG_PROGRESS_KEY, [tableDesign.sortKey]: STATE_SORT_KEY },
        ConsistentRead: true,
      }),
    );
    return typeof answer.Item?.version === "number" ? answer.Item.version : undefined;
  }

  async recordConfigProgress(version: number, previous: number | undefined): Promise<boolean> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: {
            [tableDesign.partitionKey]: CONFIG_PROGRESS_KEY,
            [tableDesign.sortKey]: STATE_SORT_KEY,
            version,
          },
          ConditionExpression: previous === undefined ? "attribute_not_exists(#pk)" : "#version = :previous",
          ExpressionAttributeNames:
            previous === undefined ? { "#pk": tableDesign.partitionKey } : { "#version": "version" },
          ExpressionAttributeValues: previous === undefined ? undefined : { ":previous": previous },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async resolveCoveredTime(
    patientIds: readonly string[],
    covers: (practitionerId: string, at: number) => boolean,
    version: number,
  ): Promise<number> {
    let resolved = 0;
    for (const patientId of patientIds) {
      const open = await this.query({
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :open)",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#sk": tableDesign.sortKey },
        ExpressionAttributeValues: {
          ":pk": REVIEW_KEY,
          ":open": reviewSortKey("open", patientId, reviewSubject.unattributedTime("")),
        },
        ConsistentRead: true,
      });
      for (const item of open) {
        const held = JSON.parse(String(item.item)) as { practitionerId?: string; at?: string };
        if (held.practitionerId === undefined || held.at === undefined) continue;
        if (!covers(held.practitionerId, Date.parse(held.at))) continue;
        if (await resolveOpenItem(this.client, this.tableName, item, { configVersion: version }))
          resolved += 1;
      }
    }
    return resolved;
  }

  private async query(input: QueryCommandInput): Promise<Record<string, unknown>[]> {
    const items: Record<string, unknown>[] = [];
    for await (const page of paginateQuery({ client: this.client }, input)) items.push(...(page.Items ?? []));
    return items;
  }

  private async transact(
    input: TransactWriteCommandInput,
  ): Promise<"committed" | "state-changed" | "fact-changed" | "record-exists"> {
    try {
      await this.client.send(new TransactWriteCommand(input));
      return "committed";
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      const failed = reasons.findIndex((reason) => reason.Code === "ConditionalCheckFailed");
      if (failed < 0) throw error;
      const item = input.TransactItems?.[failed];
      const key = String((item?.Put?.Item ?? item?.Update?.Key)?.[tableDesign.sortKey] ?? "");
      if (key === STATE_SORT_KEY) return "state-changed";
      return key.startsWith(FACT_PREFIX) ? "fact-changed" : "record-exists";
    }
  }

  private statePut(patientId: string, state: PatientState, expected: number, last: boolean) {
    const { dueIndex, reachIndex } = tableDesign;
    // Until the last transaction of a commit lands, the patient stays due (its facts keep their markers).
    const pending = last ? state.pending : undefined;
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          [tableDesign.partitionKey]: patientKey(patientId),
          [tableDesign.sortKey]: STATE_SORT_KEY,
          type: "state",
          version: state.version,
          epoch: state.epoch,
          [reachIndex.sortKey]: ALWAYS_READ,
          ...(pending === undefined
            ? {}
            : {
                [dueIndex.partitionKey]: dueShardOf(patientId),
                [dueIndex.sortKey]: pending.dueAt,
                changedAt: pending.changedAt,
              }),
        },
        ConditionExpression: expected === 0 ? "attribute_not_exists(#pk)" : "#version = :expected",
        ExpressionAttributeNames:
          expected === 0 ? { "#pk": tableDesign.partitionKey } : { "#version": "version" },
        ExpressionAttributeValues: expected === 0 ? undefined : { ":expected": expected },
      },
    };
  }

  private recordPut(patientId: string, commitKey: string, write: EpisodeRecordWrite) {
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          [tableDesign.partitionKey]: patientKey(patientId),
          [tableDesign.sortKey]: episodeSortKey(write.head.episodeId, commitKey),
          type: "episode",
          head: JSON.stringify(write.head),
          record: JSON.stringify(write.record),
          // The audit packet finds the records that sent a line by its id (sparse: only those).
          [tableDesign.claimLineIndex.partitionKey]: write.line?.claimLineId,
          // Read while its window ends after the scope's reach: where R7's claim on inquiries ends, or decided again.
          [tableDesign.reachIndex.sortKey]: write.head.end - 1,
          [tableDesign.ttlAttribute]: write.expiresAt,
        },
        // Append-only (invariant 12): a record is never overwritten, whatever raced.
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
      },
    };
  }

  private figureWrite(write: FigureWrite) {
    const key = {
      [tableDesign.partitionKey]: figuresKey(write.week),
      [tableDesign.sortKey]: `${write.patientId}#${write.episodeId}`,
    };
    if (write.figures === undefined) return { Delete: { TableName: this.tableName, Key: key } };
    return {
      Put: {
        TableName: this.tableName,
        Item: { ...key, type: "figures", ...write.figures, [tableDesign.ttlAttribute]: write.expiresAt },
      },
    };
  }

  /**
   * The item under its status, and none under the other (a reopened review leaves the resolved list). An open
   * item keeps when it first opened (`openedAt`), for its age on the worklist.
   */
  private reviewWrites(review: ReviewWrite) {
    const other: ReviewStatus = review.status === "open" ? "resolved" : "open";
    const kind = review.subject.startsWith("time:") ? "unattributed-time" : "episode";
    return [
      // What the item's opaque id names (table-design.ts `reviewItemIdOf`), written again with each write.
      {
        Put: {
          TableName: this.tableName,
          Item: {
            [tableDesign.partitionKey]: reviewIdKey(reviewItemIdOf(kind, review.patientId, review.subject)),
            [tableDesign.sortKey]: REVIEW_ID_SORT_KEY,
            type: "review-id",
            kind,
            patientId: review.patientId,
            subject: review.subject,
            [tableDesign.ttlAttribute]: review.expiresAt,
          },
        },
      },
      {
        Update: {
          TableName: this.tableName,
          Key: {
            [tableDesign.partitionKey]: REVIEW_KEY,
            [tableDesign.sortKey]: reviewSortKey(review.status, review.patientId, review.subject),
          },
          UpdateExpression:
            "SET #type = :type, #status = :status, patientId = :patient, subject = :subject, " +
            "decidedAt = :decidedAt, #item = :item, #ttl = :ttl, openedAt = if_not_exists(openedAt, :decidedAt)",
          ExpressionAttributeNames: {
            "#type": "type",
            "#status": "status",
            "#item": "item",
            "#ttl": tableDesign.ttlAttribute,
          },
          ExpressionAttributeValues: {
            ":type": "review",
            ":status": review.status,
            ":patient": review.patientId,
            ":subject": review.subject,
            ":decidedAt": review.decidedAt,
            ":item": JSON.stringify(review.item),
            ":ttl": review.expiresAt,
          },
        },
      },
      {
        Delete: {
          TableName: this.tableName,
          Key: {
            [tableDesign.partitionKey]: REVIEW_KEY,
            [tableDesign.sortKey]: reviewSortKey(other, review.patientId, review.subject),
          },
        },
      },
    ];
  }

  private outboxPut(patientId: string, key: string, line: ClaimLine, committedAt: number) {
    const { dueIndex, reachIndex } = tableDesign;
    return {
      Put: {
        TableName: this.tableName,
        Item: {
          [tableDesign.partitionKey]: patientKey(patientId),
          [tableDesign.sortKey]: key,
          type: "outbox",
          line: JSON.stringify(line),
          [reachIndex.sortKey]: ALWAYS_READ,
          [dueIndex.partitionKey]: dueShardOf(patientId),
          [dueIndex.sortKey]: committedAt,
        },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
      },
    };
  }

  private factUpdate(patientId: string, update: FactUpdate) {
    const { dueIndex } = tableDesign;
    const removes = update.clearMarker ? ["#shard", "#due", "#changed"] : [];
    const names: Record<string, string> = { "#version": "version", "#digest": "digest" };
    if (update.clearMarker)
      Object.assign(names, {
        "#shard": dueIndex.partitionKey,
        "#due": dueIndex.sortKey,
        "#changed": "changedAt",
      });
    const values: Record<string, unknown> = { ":version": update.version, ":digest": update.digest };
    let set = "";
    if (update.threadRoot !== undefined) {
      names["#root"] = "threadRoot";
      if (update.threadRoot === null) removes.push("#root");
      else {
        set = "SET #root = :root ";
        values[":root"] = update.threadRoot;
      }
    }
    return {
      Update: {
        TableName: this.tableName,
        Key: {
          [tableDesign.partitionKey]: patientKey(patientId),
          [tableDesign.sortKey]: factSortKey(update.factId),
        },
        UpdateExpression: `${set}${removes.length > 0 ? `REMOVE ${removes.join(", ")}` : ""}`.trim(),
        // Only the version the decision read: a newer one keeps its marker and is decided next (R16).
        ConditionExpression: "#version = :version AND #digest = :digest",
        ExpressionAttributeNames: names,
        ExpressionAttributeValues: values,
      },
    };
  }
}

function storedFact(item: Record<string, unknown>, sk: string): StoredFact {
  const fact = parseItem(sk, "fact", factSchema, item.fact);
  const dueAt = item[tableDesign.dueIndex.sortKey];
  const changedAt = item.changedAt;
  const root = item.threadRoot;
  return {
    fact,
    // The digest the fact store wrote is this one (not projected: it is computed from the fact).
    digest: factDigest(fact),
    // A pure function of the fact (also for reads of indexes that do not project it).
    reach: factReach(fact),
    marker:
      typeof dueAt === "number"
        ? { dueAt, changedAt: typeof changedAt === "number" ? changedAt : Date.parse(fact.at) }
        : undefined,
    threadRoot: root === "patient" || root === "other" ? root : undefined,
  };
}

function patientState(item: Record<string, unknown>): PatientState {
  const version = item.version;
  const epoch = item.epoch;
  if (typeof version !== "number" || typeof epoch !== "number")
    throw new CorruptItemError(STATE_SORT_KEY, "version or epoch is not a number");
  const dueAt = item[tableDesign.dueIndex.sortKey];
  const changedAt = item.changedAt;
  return {
    version,
    epoch,
    pending: typeof dueAt === "number" && typeof changedAt === "number" ? { dueAt, changedAt } : undefined,
  };
}

/** Parses one JSON attribute of an item; anything unreadable is a corrupt item, named by kind, never by value. */
function parseItem<T>(sk: string, attribute: string, schema: z.ZodType<T>, value: unknown): T {
  let json: unknown;
  try {
    json = JSON.parse(String(value));
  } catch {
    throw new CorruptItemError(sk, `${attribute} is not JSON`);
  }
  const result = schema.safeParse(json);
  if (!result.success) {
    const path = result.error.issues[0]?.path.join(".") || "(root)";
    throw new CorruptItemError(sk, `${attribute} fails its schema at ${path}`);
  }
  return result.data;
}
