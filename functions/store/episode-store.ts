import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  PutCommand,
  paginateQuery,
  QueryCommand,
  type QueryCommandOutput,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import type { ClaimLine } from "../domain/claim-line.js";
import type { Fact } from "../domain/facts.js";
import { DUE_SHARD, factSortKey, patientKey, STATE_SORT_KEY, tableDesign } from "./table-design.js";

/** A claim line with when it was committed to the claims queue: the episode's record of what it sent. */
export interface SentLine {
  line: ClaimLine;
  sentAt: string;
}

/** The patient's state item: what was sent, what is being sent (the outbox), and when to decide again. */
export interface PatientState {
  version: number;
  sent: SentLine[];
  /** Lines recorded as owed but not yet confirmed sent: a crash leaves them here for the next run to send. */
  outbox: ClaimLine[];
  /** Epoch ms of the earliest episode that is still open or settling, if any. */
  dueAt?: number;
  /** Digest of the last recorded decision of each due episode: a changed decision gets a new audit record. */
  decided: Record<string, string>;
}

export interface StoredFact {
  fact: Fact;
  /** The fact's due marker, if the finalizer has not yet accounted for it. */
  dueAt?: number;
}

export interface PatientRecord {
  patientId: string;
  facts: StoredFact[];
  state: PatientState;
}

export interface DueMarker {
  patientId: string;
  dueAt: number;
}

/** The audit record of one decided episode, kept until its TTL. */
export interface EpisodeAudit {
  episodeId: string;
  patientId: string;
  decidedAt: string;
  expiresAt: number;
  record: unknown;
}

/** The finalizer's view of the store: due work through the sparse index, one patient at a time. */
export interface EpisodeStore {
  dueMarkers(
    now: number,
    limit: number,
    cursor?: Record<string, unknown>,
  ): Promise<{
    markers: DueMarker[];
    cursor?: Record<string, unknown>;
  }>;
  loadPatient(patientId: string): Promise<PatientRecord>;
  /** Writes the state if it is still at `expectedVersion`; false when another run got there first. */
  saveState(patientId: string, state: PatientState, expectedVersion: number): Promise<boolean>;
  /** Removes a fact's due marker if it still has the value the finalizer decided on. */
  clearFactMarker(patientId: string, factId: string, seenDueAt: number): Promise<void>;
  putAudit(audit: EpisodeAudit): Promise<void>;
}

const PATIENT_PREFIX = "PAT#";
const FACT_PREFIX = "FACT#";

export class DynamoEpisodeStore implements EpisodeStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async dueMarkers(now: number, limit: number, cursor?: Record<string, unknown>) {
    const { dueIndex, partitionKey } = tableDesign;
    const page: QueryCommandOutput = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: dueIndex.name,
        KeyConditionExpression: "#shard = :shard AND #due <= :now",
        ExpressionAttributeNames: { "#shard": dueIndex.partitionKey, "#due": dueIndex.sortKey },
        ExpressionAttributeValues: { ":shard": DUE_SHARD, ":now": now },
        Limit: limit,
        ExclusiveStartKey: cursor,
      }),
    );
    const markers = (page.Items ?? [])
      .filter((item) => String(item[partitionKey]).startsWith(PATIENT_PREFIX))
      .map((item) => ({
        patientId: String(item[partitionKey]).slice(PATIENT_PREFIX.length),
        dueAt: Number(item[dueIndex.sortKey]),
      }));
    return { markers, cursor: page.LastEvaluatedKey };
  }

  async loadPatient(patientId: string): Promise<PatientRecord> {
    const facts: StoredFact[] = [];
    let state: PatientState = { version: 0, sent: [], outbox: [], decided: {} };
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
        ExpressionAttributeValues: { ":pk": patientKey(patientId) },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        const sortKey = String(item[tableDesign.sortKey]);
        const dueAt = item[tableDesign.dueIndex.sortKey];
        if (sortKey.startsWith(FACT_PREFIX)) {
          facts.push({
            fact: JSON.parse(String(item.fact)) as Fact,
            dueAt: typeof dueAt === "number" ? dueAt : undefined,
          });
        } else if (sortKey === STATE_SORT_KEY) {
          state = {
            version: Number(item.version),
            sent: JSON.parse(String(item.sent)) as SentLine[],
            outbox: JSON.parse(String(item.outbox)) as ClaimLine[],
            decided: JSON.parse(String(item.decided)) as Record<string, string>,
            dueAt: typeof dueAt === "number" ? dueAt : undefined,
          };
        }
      }
    }
    return { patientId, facts, state };
  }

  async saveState(patientId: string, state: PatientState, expectedVersion: number): Promise<boolean> {
    const item: Record<string, unknown> = {
      [tableDesign.partitionKey]: patientKey(patientId),
      [tableDesign.sortKey]: STATE_SORT_KEY,
      type: "state",
      version: state.version,
      sent: JSON.stringify(state.sent),
      outbox: JSON.stringify(state.outbox),
      decided: JSON.stringify(state.decided),
    };
    if (state.dueAt !== undefined) {
      item[tableDesign.dueIndex.partitionKey] = DUE_SHARD;
      item[tableDesign.dueIndex.sortKey] = state.dueAt;
    }
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.tableName,
          Item: item,
          ConditionExpression: expectedVersion === 0 ? "attribute_not_exists(#pk)" : "#version = :expected",
          ExpressionAttributeNames:
            expectedVersion === 0 ? { "#pk": tableDesign.partitionKey } : { "#version": "version" },
          ExpressionAttributeValues: expectedVersion === 0 ? undefined : { ":expected": expectedVersion },
        }),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async clearFactMarker(patientId: string, factId: string, seenDueAt: number): Promise<void> {
    try {
      await this.client.send(
        new UpdateCommand({
          TableName: this.tableName,
          Key: {
            [tableDesign.partitionKey]: patientKey(patientId),
            [tableDesign.sortKey]: factSortKey(factId),
          },
          UpdateExpression: "REMOVE #shard, #due",
          ConditionExpression: "#due = :seen",
          ExpressionAttributeNames: {
            "#shard": tableDesign.dueIndex.partitionKey,
            "#due": tableDesign.dueIndex.sortKey,
          },
          ExpressionAttributeValues: { ":seen": seenDueAt },
        }),
      );
    } catch (error) {
      // A newer version of the fact arrived with its own marker: leave it for the next run.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  async putAudit(audit: EpisodeAudit): Promise<void> {
    await this.client.send(
      new PutCommand({
        TableName: this.tableName,
        Item: {
          [tableDesign.partitionKey]: patientKey(audit.patientId),
          [tableDesign.sortKey]: `EPISODE#${audit.episodeId}`,
          type: "episode-audit",
          decidedAt: audit.decidedAt,
          record: JSON.stringify(audit.record),
          [tableDesign.ttlAttribute]: audit.expiresAt,
        },
      }),
    );
  }
}
