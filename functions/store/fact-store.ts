import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { factReach, looksBack } from "../domain/decision-scope.js";
import { factDigest } from "../domain/fact-digest.js";
import { type Fact, factSchema, type Retraction } from "../domain/facts.js";
import {
  dueShardOf,
  FACT_LOCATION_SORT_KEY,
  factLocationKey,
  factSortKey,
  patientKey,
  tableDesign,
} from "./table-design.js";

export type FactWriteResult = "applied" | "unchanged";
export type RetractionResult = "retracted" | "unchanged" | "unknown";

/** Where the apply side stores facts. */
export interface FactWriter {
  put(fact: Fact): Promise<FactWriteResult>;
  retract(retraction: Retraction): Promise<RetractionResult>;
}

export interface FactStoreOptions {
  tableName: string;
  /** How long facts are kept (TTL), in days: retention for audit, never a timer. */
  retentionDays: number;
  /** R16's settle time, used for the fact's due marker. */
  settleHours: number;
}

const HOUR_MS = 3_600_000;

/** Where one source resource lives now (R16: one fact, whatever patient its versions name). */
interface FactLocation {
  patientId: string;
  version: number;
  digest: string;
  at: number;
  fact: Fact;
  /** Before the last write of this version: where it lived and its time (kept so a retry can finish a move). */
  previousPatientId: string;
  previousAt: number;
}

/**
 * Stores each fact as its own item in the patient's partition, behind a location item per fact id
 * (`LOC#<factId>`, docs/STORE.md) that holds where its current version lives. Both writes are conditional on the
 * version (higher wins, equal versions by digest: R17), so duplicates, redeliveries and concurrent applies
 * converge in any order, with no read first:
 *
 * 1. the location takes the version, or refuses it when it holds a newer one (then nothing else is written:
 *    a late older version never reaches any partition);
 * 2. the fact is put in its patient's partition, its due marker from the earlier of its old and new time (a
 *    correction that moved the fact later still settles the episode it left);
 * 3. when the version names another patient than the one before (a chart move), a retracted copy of it goes
 *    to the old patient's partition, due from the old time, so the old patient's episodes are decided again
 *    without it. A retry after a crash finds its own version in the location and finishes steps 2 and 3.
 *
 * A deletion that names only the resource is a retraction by id: the location takes one more version, marked
 * retracted, and the retracted copy (built from the fact the location holds) goes to the patient it names.
 */
export class DynamoFactStore implements FactWriter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: FactStoreOptions,
  ) {}

  /**
   * The item `put` writes for a fact in its patient's partition, without writing it: what a bulk loader (the
   * benchmark's seeding) writes to get exactly the stored state the apply side leaves.
   */
  itemOf(fact: Fact, changedAt: number = Date.parse(fact.at)): Record<string, unknown> {
    const at = Date.parse(fact.at);
    return {
      [tableDesign.partitionKey]: patientKey(fact.patientId),
      [tableDesign.sortKey]: factSortKey(fact.id),
      type: "fact",
      fact: JSON.stringify(fact),
      version: fact.version,
      digest: factDigest(fact),
      [tableDesign.reachIndex.sortKey]: factReach(fact),
      [tableDesign.messageIndex.sortKey]: "messageId" in fact ? fact.messageId : undefined,
      [tableDesign.lookbackIndex.sortKey]: looksBack(fact) ? at : undefined,
      [tableDesign.dueIndex.partitionKey]: dueShardOf(fact.patientId),
      [tableDesign.dueIndex.sortKey]: changedAt + this.options.settleHours * HOUR_MS,
      changedAt,
      [tableDesign.ttlAttribute]: Math.floor(at / 1000) + this.options.retentionDays * 86_400,
    };
  }

  async put(fact: Fact): Promise<FactWriteResult> {
    const placed = await this.locate(fact);
    if (placed === undefined) return "unchanged";
    const at = Date.parse(fact.at);
    const moved = placed.previousPatientId !== fact.patientId;
    const applied = await this.putItem(this.itemOf(fact, moved ? at : Math.min(at, placed.previousAt)));
    if (moved) await this.putItem(this.retractedCopy(fact, placed.previousPatientId, placed.previousAt));
    return applied;
  }

  async retract(retraction: Retraction): Promise<RetractionResult> {
    const { factId } = retraction;
    let location: FactLocation;
    let result: RetractionResult = "retracted";
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.locationKey(factId),
          UpdateExpression:
            retraction.version === undefined
              ? "SET #retracted = :true, #version = #version + :one"
              : "SET #retracted = :true, #version = :version",
          ConditionExpression:
            retraction.version === undefined
              ? "attribute_exists(#pk) AND #retracted = :false"
              : "attribute_exists(#pk) AND #retracted = :false AND #version < :version",
          ExpressionAttributeNames: {
            "#pk": tableDesign.partitionKey,
            "#retracted": "retracted",
            "#version": "version",
          },
          ExpressionAttributeValues: {
            ":true": true,
            ":false": false,
            ...(retraction.version === undefined ? { ":one": 1 } : { ":version": retraction.version }),
          },
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      location = locationOf(answer.Attributes as Record<string, unknown>);
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      // Never held (or expired): nothing to retract. Already retracted, or a newer version is held: a retry
      // writes the retracted copy again (a no-op when it landed), anything else changes nothing.
      if (error.Item === undefined) return "unknown";
      const held = unmarshalled(error.Item);
      if (held.retracted !== true) return "unchanged";
      location = locationOf(held);
      result = "unchanged";
    }
    const copy = { ...location.fact, version: location.version };
    await this.putItem(this.retractedCopy(copy, location.patientId, location.at));
    return result;
  }

  /**
   * Step 1: the location takes this version and says where the fact lived before, or the version is behind the
   * one held (undefined). A retry of this very version reads what its first attempt recorded.
   */
  private async locate(fact: Fact): Promise<{ previousPatientId: string; previousAt: number } | undefined> {
    const at = Date.parse(fact.at);
    const digest = factDigest(fact);
    try {
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.locationKey(fact.id),
          // Every SET reads the item as it was: the previous patient and time are the ones before this write.
          UpdateExpression:
            "SET #previousPatient = if_not_exists(#patient, :patient), #previousAt = if_not_exists(#at, :at), " +
            "#patient = :patient, #version = :version, #digest = :digest, #at = :at, #fact = :fact, " +
            "#retracted = :retracted, #expires = :expires",
          ConditionExpression:
            "attribute_not_exists(#pk) OR #version < :version OR (#version = :version AND #digest < :digest)",
          ExpressionAttributeNames: {
            "#pk": tableDesign.partitionKey,
            "#patient": "patientId",
            "#previousPatient": "previousPatientId",
            "#previousAt": "previousAt",
            "#version": "version",
            "#digest": "digest",
            "#at": "at",
            "#fact": "fact",
            "#retracted": "retracted",
            "#expires": tableDesign.ttlAttribute,
          },
          ExpressionAttributeValues: {
            ":patient": fact.patientId,
            ":at": at,
            ":version": fact.version,
            ":digest": digest,
            ":fact": JSON.stringify(fact),
            ":retracted": fact.retracted,
            ":expires": Math.floor(at / 1000) + this.options.retentionDays * 86_400,
          },
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      const placed = locationOf(answer.Attributes as Record<string, unknown>);
      return { previousPatientId: placed.previousPatientId, previousAt: placed.previousAt };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || error.Item === undefined) throw error;
      const held = locationOf(unmarshalled(error.Item));
      // This version already placed (a duplicate, or a retry after a crash): finish what placing it started.
      if (held.version === fact.version && held.digest === digest)
        return { previousPatientId: held.previousPatientId, previousAt: held.previousAt };
      return undefined;
    }
  }

  /** The fact, retracted, in the partition of a patient it no longer belongs to: due from its time there. */
  private retractedCopy(fact: Fact, patientId: string, at: number): Record<string, unknown> {
    const copy = factSchema.parse({ ...fact, patientId, retracted: true });
    return this.itemOf(copy, at);
  }

  private async putItem(item: Record<string, unknown>): Promise<FactWriteResult> {
    try {
      await this.client.send(
        new PutCommand({
          TableName: this.options.tableName,
          Item: item,
          ConditionExpression:
            "attribute_not_exists(#pk) OR #version < :version OR (#version = :version AND #digest < :digest)",
          ExpressionAttributeNames: {
            "#pk": tableDesign.partitionKey,
            "#version": "version",
            "#digest": "digest",
          },
          ExpressionAttributeValues: { ":version": item.version, ":digest": item.digest },
        }),
      );
      return "applied";
    } catch (error) {
      // The stored version is the same fact or supersedes this one: a duplicate changes nothing (invariant 1).
      if (error instanceof ConditionalCheckFailedException) return "unchanged";
      throw error;
    }
  }

  private locationKey(factId: string) {
    return {
      [tableDesign.partitionKey]: factLocationKey(factId),
      [tableDesign.sortKey]: FACT_LOCATION_SORT_KEY,
    };
  }
}

function locationOf(item: Record<string, unknown>): FactLocation {
  const fact = factSchema.parse(JSON.parse(String(item.fact)));
  return {
    patientId: String(item.patientId),
    version: Number(item.version),
    digest: String(item.digest),
    at: Number(item.at),
    fact,
    previousPatientId: String(item.previousPatientId ?? item.patientId),
    previousAt: Number(item.previousAt ?? item.at),
  };
}

/** A ConditionalCheckFailedException's item comes in DynamoDB's attribute-value form. */
function unmarshalled(item: Record<string, unknown>): Record<string, unknown> {
  const plain: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(item)) {
    const typed = value as { S?: string; N?: string; BOOL?: boolean };
    plain[name] = typed.S ?? (typed.N === undefined ? typed.BOOL : Number(typed.N));
  }
  return plain;
}
