import { createHash } from "node:crypto";
import {
  BatchGetCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  paginateScan,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { type Fact, factSchema } from "../domain/facts.js";
import { CorruptItemError } from "./errors.js";
import {
  EPISODE_PREFIX,
  FACT_PREFIX,
  factSortKey,
  PATIENT_PREFIX,
  patientKey,
  tableDesign,
} from "./table-design.js";

/**
 * What the audit of a claim line reads (issue 15): the decision records of every episode that sent a revision
 * of the line, found through the sparse claim-line index, and the facts those decisions name (attestations).
 * Records are append-only (invariant 12), so what this returns is what was decided, as it was decided.
 */

/** One decision record of an episode, as the finalizer wrote it (functions/finalize/decision-records.ts). */
export interface StoredDecision {
  episodeId: string;
  /** The commit that wrote it (`<epoch>-<version>`, sortable): decisions of one episode in order. */
  commit: string;
  record: Record<string, unknown>;
}

export interface ClaimLineHistory {
  patientId: string;
  /** Every decision of every episode that sent a revision of the line, oldest commit first. */
  decisions: StoredDecision[];
}

const BATCH_GET_LIMIT = 100;

/**
 * Attestation ids the review API gives: `att:<hash of the subject>:<instant>:<random>` (at most 73 characters,
 * whatever the subject), so the attestations about one episode or one unattributed activity are a key range of
 * the patient's partition.
 */
export const attestationIdPrefix = (subject: string): string =>
  `att:${createHash("sha256").update(subject).digest("hex").slice(0, 32)}:`;

export class DynamoAuditStore {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  /** The line's history; undefined when no record sent a line with that id. */
  async claimLineHistory(claimLineId: string): Promise<ClaimLineHistory | undefined> {
    const { claimLineIndex } = tableDesign;
    const senders: Array<{ patientId: string; episodeId: string }> = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        IndexName: claimLineIndex.name,
        KeyConditionExpression: "#line = :line",
        ExpressionAttributeNames: { "#line": claimLineIndex.partitionKey },
        ExpressionAttributeValues: { ":line": claimLineId },
      },
    )) {
      for (const item of page.Items ?? []) {
        const sk = String(item[tableDesign.sortKey]);
        senders.push({
          patientId: String(item[tableDesign.partitionKey]).slice(PATIENT_PREFIX.length),
          episodeId: sk.slice(EPISODE_PREFIX.length, sk.lastIndexOf("#")),
        });
      }
    }
    const first = senders[0];
    if (first === undefined) return undefined;
    // A line id is its episode's (engine.ts): every sender is that episode of one patient; read its decisions.
    const episodes = [...new Set(senders.map((sender) => sender.episodeId))];
    const decisions: StoredDecision[] = [];
    for (const episodeId of episodes) decisions.push(...(await this.decisionsOf(first.patientId, episodeId)));
    decisions.sort((a, b) => (a.commit < b.commit ? -1 : a.commit > b.commit ? 1 : 0));
    return { patientId: first.patientId, decisions };
  }

  /**
   * Records written before the `claimLine` index existed do not carry `claimLineId`: this one-off pass (a Scan,
   * for an upgrade, never on a hot path) sets it on every record that sent a line, so their lines have an audit
   * packet too. Only the index key is added; the record itself is not touched (invariant 12). Idempotent.
   */
  async indexEarlierLines(): Promise<{ scanned: number; indexed: number }> {
    let scanned = 0;
    let indexed = 0;
    for await (const page of paginateScan(
      { client: this.client },
      {
        TableName: this.tableName,
        FilterExpression: "begins_with(#sk, :episode) AND attribute_not_exists(#line)",
        ExpressionAttributeNames: {
          "#sk": tableDesign.sortKey,
          "#line": tableDesign.claimLineIndex.partitionKey,
          "#pk": tableDesign.partitionKey,
          "#record": "record",
        },
        ExpressionAttributeValues: { ":episode": EPISODE_PREFIX },
        ProjectionExpression: "#pk, #sk, #record",
      },
    )) {
      for (const item of page.Items ?? []) {
        scanned += 1;
        const sk = String(item[tableDesign.sortKey]);
        const line = parseRecord(sk, item.record).line as { claimLineId?: unknown } | undefined;
        if (typeof line?.claimLineId !== "string") continue;
        await this.client.send(
          new UpdateCommand({
            TableName: this.tableName,
            Key: { [tableDesign.partitionKey]: item[tableDesign.partitionKey], [tableDesign.sortKey]: sk },
            UpdateExpression: "SET #line = :line",
            ConditionExpression: "attribute_exists(#pk)",
            ExpressionAttributeNames: {
              "#line": tableDesign.claimLineIndex.partitionKey,
              "#pk": tableDesign.partitionKey,
            },
            ExpressionAttributeValues: { ":line": line.claimLineId },
          }),
        );
        indexed += 1;
      }
    }
    return { scanned, indexed };
  }

  /** Every decision record of one episode, oldest first (one Query of the patient's partition). */
  async decisionsOf(patientId: string, episodeId: string): Promise<StoredDecision[]> {
    const decisions: StoredDecision[] = [];
    const prefix = `${EPISODE_PREFIX}${episodeId}#`;
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: {
          "#pk": tableDesign.partitionKey,
          "#sk": tableDesign.sortKey,
          "#record": "record",
        },
        ExpressionAttributeValues: { ":pk": patientKey(patientId), ":prefix": prefix },
        ProjectionExpression: "#sk, #record",
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) {
        const sk = String(item[tableDesign.sortKey]);
        decisions.push({
          episodeId,
          commit: sk.slice(prefix.length),
          record: parseRecord(sk, item.record),
        });
      }
    }
    return decisions;
  }

  /**
   * The attestations recorded about a review subject (an episode id, `time:<factId>`), superseded ones too:
   * their ids start with `attestationIdPrefix(subject)`, so one Query of the patient's partition finds them.
   */
  async attestationsAbout(patientId: string, subject: string): Promise<Fact[]> {
    const facts: Fact[] = [];
    for await (const page of paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :prefix)",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey, "#sk": tableDesign.sortKey },
        ExpressionAttributeValues: {
          ":pk": patientKey(patientId),
          ":prefix": factSortKey(attestationIdPrefix(subject)),
        },
        ConsistentRead: true,
      },
    )) {
      for (const item of page.Items ?? []) facts.push(parseFact(item));
    }
    return facts;
  }

  /** The facts of a patient with these ids, as held now (a retracted one says so); missing ids are left out. */
  async facts(patientId: string, factIds: readonly string[]): Promise<Fact[]> {
    const facts: Fact[] = [];
    const ids = [...new Set(factIds)];
    for (let start = 0; start < ids.length; start += BATCH_GET_LIMIT) {
      let keys: Record<string, unknown>[] | undefined = ids
        .slice(start, start + BATCH_GET_LIMIT)
        .map((id) => ({
          [tableDesign.partitionKey]: patientKey(patientId),
          [tableDesign.sortKey]: factSortKey(id),
        }));
      for (let attempt = 0; keys !== undefined && keys.length > 0; attempt++) {
        if (attempt > 0)
          await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 50 * 2 ** attempt)));
        const answer = await this.client.send(
          new BatchGetCommand({
            RequestItems: { [this.tableName]: { Keys: keys, ConsistentRead: true } },
          }),
        );
        for (const item of answer.Responses?.[this.tableName] ?? []) facts.push(parseFact(item));
        keys = answer.UnprocessedKeys?.[this.tableName]?.Keys as Record<string, unknown>[] | undefined;
      }
    }
    return facts;
  }
}

function parseRecord(sk: string, value: unknown): Record<string, unknown> {
  try {
    const record = JSON.parse(String(value)) as unknown;
    if (typeof record === "object" && record !== null && !Array.isArray(record))
      return record as Record<string, unknown>;
  } catch {
    // reported below
  }
  throw new CorruptItemError(sk, "record is not a JSON object");
}

function parseFact(item: Record<string, unknown>): Fact {
  const sk = String(item[tableDesign.sortKey]);
  if (!sk.startsWith(FACT_PREFIX)) throw new CorruptItemError(sk, "not a fact item");
  try {
    return factSchema.parse(JSON.parse(String(item.fact)));
  } catch {
    throw new CorruptItemError(sk, "fact is not the shape the apply function writes");
  }
}
