import {
  DeleteCommand,
  type DynamoDBDocumentClient,
  paginateQuery,
  UpdateCommand,
} from "@aws-sdk/lib-dynamodb";
import { PATIENT_PREFIX, patientKey, QUARANTINE_KEY, tableDesign } from "./table-design.js";

/**
 * A patient the finalizer set aside because deciding or saving it failed (ARCHITECTURE.md invariant 10). Its
 * due markers stay where they are; the finalizer skips the patient until it is released, by an operator
 * (`npm run ops -- quarantine retry`) or, for a failure that may pass by itself, automatically at `retryAt`.
 */
export interface QuarantinedPatient {
  patientId: string;
  /** What failed, in words that carry no PHI (e.g. "an unreadable fact item: fact is not JSON"). */
  reason: string;
  /** The error's class, e.g. `CorruptItemError`, `ValidationException`. */
  error: string;
  /** The item that could not be read, when one could be named (its sort key). */
  item?: string;
  since: string;
  lastFailedAt: string;
  attempts: number;
  /** Epoch ms when the finalizer tries again by itself; absent: it waits for an operator. */
  retryAt?: number;
}

export interface QuarantineFailure {
  reason: string;
  error: string;
  item?: string;
  at: number;
  retryAt?: number;
}

export interface Quarantine {
  list(): Promise<QuarantinedPatient[]>;
  add(patientId: string, failure: QuarantineFailure): Promise<void>;
  /** Takes the patient out of quarantine; false when it was not in it. */
  release(patientId: string): Promise<boolean>;
}

/**
 * Quarantined patients as items of one partition (`QUARANTINE`), one per patient: listing them is one Query
 * and no item grows with their number.
 */
export class DynamoQuarantine implements Quarantine {
  constructor(
    private readonly client: DynamoDBDocumentClient,
    private readonly tableName: string,
  ) {}

  async list(): Promise<QuarantinedPatient[]> {
    const patients: QuarantinedPatient[] = [];
    const pages = paginateQuery(
      { client: this.client },
      {
        TableName: this.tableName,
        KeyConditionExpression: "#pk = :pk",
        ExpressionAttributeNames: { "#pk": tableDesign.partitionKey },
        ExpressionAttributeValues: { ":pk": QUARANTINE_KEY },
        ConsistentRead: true,
      },
    );
    for await (const page of pages) {
      for (const item of page.Items ?? []) {
        patients.push({
          patientId: String(item[tableDesign.sortKey]).slice(PATIENT_PREFIX.length),
          reason: String(item.reason),
          error: String(item.error),
          item: typeof item.item === "string" ? item.item : undefined,
          since: String(item.since),
          lastFailedAt: String(item.lastFailedAt),
          attempts: Number(item.attempts),
          retryAt: typeof item.retryAt === "number" ? item.retryAt : undefined,
        });
      }
    }
    return patients;
  }

  async add(patientId: string, failure: QuarantineFailure): Promise<void> {
    const at = new Date(failure.at).toISOString();
    const remove = [
      failure.item === undefined ? "#item" : undefined,
      failure.retryAt === undefined ? "#retryAt" : undefined,
    ].filter((name): name is string => name !== undefined);
    await this.client.send(
      new UpdateCommand({
        TableName: this.tableName,
        Key: { [tableDesign.partitionKey]: QUARANTINE_KEY, [tableDesign.sortKey]: patientKey(patientId) },
        UpdateExpression:
          "SET #reason = :reason, #error = :error, #since = if_not_exists(#since, :at), #last = :at" +
          (failure.item === undefined ? "" : ", #item = :item") +
          (failure.retryAt === undefined ? "" : ", #retryAt = :retryAt") +
          " ADD #attempts :one" +
          (remove.length > 0 ? ` REMOVE ${remove.join(", ")}` : ""),
        ExpressionAttributeNames: {
          "#reason": "reason",
          "#error": "error",
          "#since": "since",
          "#last": "lastFailedAt",
          "#attempts": "attempts",
          "#item": "item",
          "#retryAt": "retryAt",
        },
        ExpressionAttributeValues: {
          ":reason": failure.reason,
          ":error": failure.error,
          ":at": at,
          ":one": 1,
          ...(failure.item === undefined ? {} : { ":item": failure.item }),
          ...(failure.retryAt === undefined ? {} : { ":retryAt": failure.retryAt }),
        },
      }),
    );
  }

  async release(patientId: string): Promise<boolean> {
    const result = await this.client.send(
      new DeleteCommand({
        TableName: this.tableName,
        Key: { [tableDesign.partitionKey]: QUARANTINE_KEY, [tableDesign.sortKey]: patientKey(patientId) },
        ReturnValues: "ALL_OLD",
      }),
    );
    return result.Attributes !== undefined;
  }
}
