import { ConditionalCheckFailedException } from "@aws-sdk/client-dynamodb";
import { type DynamoDBDocumentClient, PutCommand } from "@aws-sdk/lib-dynamodb";
import { factReach, looksBack } from "../domain/decision-scope.js";
import { factDigest } from "../domain/fact-digest.js";
import type { Fact } from "../domain/facts.js";
import { dueShardOf, factSortKey, patientKey, tableDesign } from "./table-design.js";

export type FactWriteResult = "applied" | "unchanged";

/** Where the apply side stores facts: one conditional write per fact, nothing else on the hot path. */
export interface FactWriter {
  put(fact: Fact): Promise<FactWriteResult>;
}

export interface FactStoreOptions {
  tableName: string;
  /** How long facts are kept (TTL), in days: retention for audit, never a timer. */
  retentionDays: number;
  /** R16's settle time, used for the fact's due marker. */
  settleHours: number;
}

const HOUR_MS = 3_600_000;

/**
 * Stores each fact as its own item in the patient's partition. The write is conditional on the stored version
 * (higher version wins, equal versions by digest), so duplicates, SQS redeliveries and concurrent applies for
 * one patient converge on the same item set in any order, with no read first and no lost update.
 *
 * Every written fact carries a due marker at `at + settleHours`: any episode the fact can change ends after the
 * fact's own time, so it settles after the marker. The finalizer decides the patient again from the marker's
 * `changedAt` when it comes due, and clears it (docs/STORE.md). `reach`, `messageId` and `lookbackAt` place the
 * fact in the patient's local indexes, so a decision reads only the facts that can change it.
 */
export class DynamoFactStore implements FactWriter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: FactStoreOptions,
  ) {}

  /**
   * The item `put` writes for a fact, without writing it: what a bulk loader (the benchmark's seeding) writes to
   * get exactly the stored state the apply side leaves.
   */
  itemOf(fact: Fact): Record<string, unknown> {
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
      [tableDesign.dueIndex.sortKey]: at + this.options.settleHours * HOUR_MS,
      changedAt: at,
      [tableDesign.ttlAttribute]: Math.floor(at / 1000) + this.options.retentionDays * 86_400,
    };
  }

  async put(fact: Fact): Promise<FactWriteResult> {
    const item = this.itemOf(fact);
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
          ExpressionAttributeValues: { ":version": fact.version, ":digest": item.digest },
        }),
      );
      return "applied";
    } catch (error) {
      // The stored version is the same fact or supersedes this one: a duplicate changes nothing (invariant 1).
      if (error instanceof ConditionalCheckFailedException) return "unchanged";
      throw error;
    }
  }
}
