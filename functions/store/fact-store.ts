import { ConditionalCheckFailedException, TransactionCanceledException } from "@aws-sdk/client-dynamodb";
import {
  type DynamoDBDocumentClient,
  PutCommand,
  TransactWriteCommand,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { unmarshall } from "@aws-sdk/util-dynamodb";
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
  /** R16: retracts the fact held under this id, wherever it lives; remembered if none is held yet (R17). */
  retract(retraction: Retraction & { version: number }): Promise<RetractionResult>;
}

export interface FactStoreOptions {
  tableName: string;
  /** How long facts are kept (TTL), in days: retention for audit, never a timer. */
  retentionDays: number;
  /** R16's settle time (the tenant configuration's, which may change), used for the fact's due marker. */
  settleHours: number | (() => Promise<number>);
}

const HOUR_MS = 3_600_000;

/**
 * Where one source resource lives now (R16: one fact, whatever patient its versions name). A deletion received
 * before any content of its resource holds only its version: no patient, no copy of the fact, no digest.
 */
interface FactLocation {
  patientId?: string;
  version: number;
  digest?: string;
  at: number;
  fact?: Fact;
  retracted: boolean;
}

/** How often a write that raced another write of the same fact is tried again. */
const MAX_ATTEMPTS = 5;

/**
 * Stores each fact as its own item in the patient's partition, behind a location item per fact id
 * (`LOC#<factId>`, docs/STORE.md) holding where its current version lives and a copy of it. Versions are
 * ordered as the engine orders them (higher wins, equal versions by digest: R17), so duplicates, redeliveries
 * and concurrent applies converge in any order, with no read first:
 *
 * - the common case (a new fact, or a newer version in the same patient that moves no time later) is one
 *   transaction: the location and the fact item, both conditional;
 * - a duplicate or an older version is that transaction refused: the location it returns says so, and nothing
 *   is written (a late older version never reaches any partition);
 * - a version filed under another patient (a chart move), or whose time moved later, is a second transaction
 *   conditional on the location just read: the fact, its due marker from the earlier of its old and new time,
 *   and for a move a retracted copy in the old patient's partition, due from the old time, so the old patient's
 *   episodes are decided again without it (R16).
 *
 * A deletion that names only the resource is a retraction by id: the location takes one more version, marked
 * retracted, and a retracted copy of the fact it holds goes to the patient it names.
 */
/** Whose time a fact is, for the clinician index: a clinician's activity or time entry (R18 finds it there). */
const clinicianOf = (fact: Fact): string | undefined =>
  fact.kind === "clinician-activity" || fact.kind === "time-entry" ? fact.practitionerId : undefined;

/**
 * The earliest instant a fact changes a decision from: its time, except for an attestation (R19), which is
 * recorded after the episode or activity it resolves and names where that starts.
 */
export const changedFrom = (fact: Fact): number => {
  const at = Date.parse(fact.at);
  if (fact.kind === "attestation" && fact.concernsFrom !== undefined)
    return Math.min(at, Date.parse(fact.concernsFrom));
  // R22: an enrollment changes every month from its start date (at the earliest local midnight of that date in
  // any zone), back at most a year and a day: months before are settled history under R16's default horizon.
  if (fact.kind === "enrollment")
    return Math.min(at, Math.max(Date.parse(fact.startDate) - 14 * HOUR_MS, at - ENROLLMENT_LOOKBACK_MS));
  return at;
};

/** How far back an enrollment recorded late makes its patient due (R16's default adjustment horizon and a day). */
const ENROLLMENT_LOOKBACK_MS = 366 * 24 * 3_600_000;

export class DynamoFactStore implements FactWriter {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly options: FactStoreOptions,
  ) {}

  /**
   * The item `put` writes for a fact in its patient's partition, without writing it: what a bulk loader (the
   * benchmark's seeding) writes to get exactly the stored state the apply side leaves.
   */
  itemOf(
    fact: Fact,
    changedAt: number = changedFrom(fact),
    settleHours = this.fixedSettleHours(),
  ): Record<string, unknown> {
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
      [tableDesign.clinicianIndex.partitionKey]: clinicianOf(fact),
      [tableDesign.clinicianIndex.sortKey]: clinicianOf(fact) === undefined ? undefined : at,
      [tableDesign.dueIndex.partitionKey]: dueShardOf(fact.patientId),
      [tableDesign.dueIndex.sortKey]: changedAt + settleHours * HOUR_MS,
      changedAt,
      [tableDesign.ttlAttribute]: Math.floor(at / 1000) + this.options.retentionDays * 86_400,
    };
  }

  /**
   * The location item of a fact (bulk loaders write it beside `itemOf`). Its `at` is where the held version's
   * change starts (`changedFrom`: the fact's time, or an enrollment's start date, an attestation's episode): a
   * later version, a move or a deletion is decided again from there too.
   */
  locationOf(fact: Fact): Record<string, unknown> {
    return {
      ...this.locationKey(fact.id),
      type: "location",
      patientId: fact.patientId,
      version: fact.version,
      digest: factDigest(fact),
      at: changedFrom(fact),
      fact: JSON.stringify(fact),
      retracted: fact.retracted,
      [tableDesign.ttlAttribute]:
        Math.floor(Date.parse(fact.at) / 1000) + this.options.retentionDays * 86_400,
    };
  }

  async put(fact: Fact): Promise<FactWriteResult> {
    const from = changedFrom(fact);
    const digest = factDigest(fact);
    const settle = await this.settleHours();
    for (let attempt = 1; ; attempt++) {
      // The common case: a new fact, or a newer version in the same patient whose change starts no later.
      const common = await this.transact(
        [
          this.locationPut(fact, {
            condition:
              "attribute_not_exists(#pk) OR (#patient = :patient AND #at >= :at AND " +
              "(#version < :version OR (#version = :version AND #digest < :digest)))",
            values: { ":patient": fact.patientId, ":at": from, ":version": fact.version, ":digest": digest },
          }),
          this.factPut(this.itemOf(fact, from, settle)),
        ],
        attempt,
      );
      if (common.status === "committed") return "applied";
      if (common.status === "conflict") continue;
      const held = common.location;
      // Refused with nothing held at the location: the fact item holds this version or a newer one already.
      if (held === undefined) return "unchanged";
      // A retraction wins a tie of versions (it carries no digest).
      const newer =
        fact.version > held.version ||
        (fact.version === held.version && held.digest !== undefined && digest > held.digest);
      if (!newer) return "unchanged";

      // A move to another patient, a time moved later, or content after a deletion remembered before it:
      // conditional on the location as just read.
      const moved = held.patientId !== undefined && held.patientId !== fact.patientId;
      const changedAt = held.patientId === fact.patientId ? Math.min(from, held.at) : from;
      const writes = [
        this.locationPut(fact, {
          condition:
            held.digest === undefined
              ? "#version = :heldVersion AND attribute_not_exists(#digest)"
              : "#version = :heldVersion AND #digest = :heldDigest",
          values:
            held.digest === undefined
              ? { ":heldVersion": held.version }
              : { ":heldVersion": held.version, ":heldDigest": held.digest },
        }),
        this.factPut(this.itemOf(fact, changedAt, settle)),
      ];
      if (moved && held.patientId !== undefined)
        writes.push(this.factPut(this.retractedCopy(fact, held.patientId, held.at, settle)));
      const corrected = await this.transact(writes, attempt);
      if (corrected.status === "committed") return "applied";
      // Another version landed meanwhile: decide again from what the location holds now.
      if (attempt >= MAX_ATTEMPTS) throw new FactWriteConflictError(fact.id);
    }
  }

  async retract(retraction: Retraction & { version: number }): Promise<RetractionResult> {
    const { factId, version } = retraction;
    let held: Record<string, unknown>;
    let result: RetractionResult;
    try {
      // Created when nothing is held yet: a deletion that arrives before its resource still wins (R17).
      const answer = await this.client.send(
        new UpdateCommand({
          TableName: this.options.tableName,
          Key: this.locationKey(factId),
          UpdateExpression: "SET #retracted = :true, #version = :version REMOVE #digest",
          ConditionExpression: "attribute_not_exists(#pk) OR #version < :version",
          ExpressionAttributeNames: {
            "#pk": tableDesign.partitionKey,
            "#retracted": "retracted",
            "#version": "version",
            "#digest": "digest",
          },
          ExpressionAttributeValues: { ":true": true, ":version": version },
          ReturnValues: "ALL_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }),
      );
      held = answer.Attributes as Record<string, unknown>;
      result = held.fact === undefined ? "unknown" : "retracted";
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException) || error.Item === undefined) throw error;
      // As new or newer already held: a retraction retried after a crash writes its copy again (a no-op when it
      // landed); content newer than the deletion (the resource made again) changes nothing.
      held = unmarshall(error.Item);
      if (held.retracted !== true || held.fact === undefined) return "unchanged";
      result = "unchanged";
    }
    const location = locationFrom(held);
    if (location.fact !== undefined && location.patientId !== undefined) {
      const copy = { ...location.fact, version: location.version };
      await this.putRetractedCopy(
        this.retractedCopy(copy, location.patientId, location.at, await this.settleHours()),
      );
    }
    return result;
  }

  /** The fact, retracted, in the partition of a patient it no longer belongs to: due from its time there. */
  private retractedCopy(
    fact: Fact,
    patientId: string,
    at: number,
    settleHours: number,
  ): Record<string, unknown> {
    const copy = factSchema.parse({ ...fact, patientId, retracted: true });
    return this.itemOf(copy, at, settleHours);
  }

  private async settleHours(): Promise<number> {
    const { settleHours } = this.options;
    return typeof settleHours === "number" ? settleHours : settleHours();
  }

  /** For `itemOf` called without a settle time (bulk loaders): the fixed one it was configured with. */
  private fixedSettleHours(): number {
    const { settleHours } = this.options;
    if (typeof settleHours !== "number")
      throw new Error("itemOf needs settleHours when it is read from the configuration");
    return settleHours;
  }

  private locationPut(fact: Fact, guard: { condition: string; values: Record<string, unknown> }) {
    return {
      Put: {
        TableName: this.options.tableName,
        Item: this.locationOf(fact),
        ConditionExpression: guard.condition,
        // Only the names the condition uses (DynamoDB refuses unused ones).
        ExpressionAttributeNames: Object.fromEntries(
          Object.entries({
            "#pk": tableDesign.partitionKey,
            "#patient": "patientId",
            "#at": "at",
            "#version": "version",
            "#digest": "digest",
          }).filter(([name]) => guard.condition.includes(name)),
        ),
        ExpressionAttributeValues: guard.values,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
      },
    };
  }

  private factPut(item: Record<string, unknown>) {
    return {
      Put: {
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
      },
    };
  }

  private async putRetractedCopy(item: Record<string, unknown>): Promise<void> {
    try {
      await this.client.send(new PutCommand(this.factPut(item).Put));
    } catch (error) {
      // The copy landed before (a retry), or a newer version is there: nothing to do.
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
    }
  }

  /**
   * One TransactWriteItems. Refused by a condition: the location as held (when its condition failed). Two
   * writes of one fact at once: `conflict`, after a short pause, and the caller decides again.
   */
  private async transact(
    items: Array<ReturnType<DynamoFactStore["factPut"]> | ReturnType<DynamoFactStore["locationPut"]>>,
    attempt: number,
  ): Promise<
    { status: "committed" } | { status: "conflict" } | { status: "refused"; location?: FactLocation }
  > {
    try {
      await this.client.send(new TransactWriteCommand({ TransactItems: items }));
      return { status: "committed" };
    } catch (error) {
      if (!(error instanceof TransactionCanceledException)) throw error;
      const reasons = error.CancellationReasons ?? [];
      if (reasons.some((reason) => reason.Code === "TransactionConflict")) {
        if (attempt >= MAX_ATTEMPTS) throw error;
        await new Promise((resolve) => setTimeout(resolve, Math.random() * 25 * 2 ** attempt));
        return { status: "conflict" };
      }
      if (!reasons.some((reason) => reason.Code === "ConditionalCheckFailed")) throw error;
      const held = reasons[0]?.Code === "ConditionalCheckFailed" ? reasons[0].Item : undefined;
      return { status: "refused", location: held === undefined ? undefined : locationFrom(unmarshall(held)) };
    }
  }

  private locationKey(factId: string) {
    return {
      [tableDesign.partitionKey]: factLocationKey(factId),
      [tableDesign.sortKey]: FACT_LOCATION_SORT_KEY,
    };
  }
}

/** Two writes of one fact kept racing: retried by SQS like any transient failure. */
export class FactWriteConflictError extends Error {
  readonly retryable = true;
  constructor(readonly factId: string) {
    super("a fact's versions kept racing each other");
    this.name = "FactWriteConflictError";
  }
}

function locationFrom(item: Record<string, unknown>): FactLocation {
  return {
    patientId: typeof item.patientId === "string" ? item.patientId : undefined,
    version: Number(item.version),
    digest: typeof item.digest === "string" ? item.digest : undefined,
    at: Number(item.at),
    fact: typeof item.fact === "string" ? factSchema.parse(JSON.parse(item.fact)) : undefined,
    retracted: item.retracted === true,
  };
}
