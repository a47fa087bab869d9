import { type DynamoDBDocumentClient, paginateQuery, paginateScan } from "@aws-sdk/lib-dynamodb";
import * as z from "zod";
import { type ClaimLine, claimLineSchema } from "../../functions/domain/claim-line.js";
import {
  EPISODE_PREFIX,
  PATIENT_PREFIX,
  patientKey,
  tableDesign,
} from "../../functions/store/table-design.js";
import { OpsError } from "./errors.js";

/** A claim line as the decision record that sent it holds it (docs/STORE.md, "Audit"). */
export interface RecordedLine {
  patientId: string;
  /** The commit the record belongs to (`<epoch>-<version>`): the patient's decisions in the order they were made. */
  commit: string;
  /** When the decision was made; the line was sent in the same finalizer run (or the next, after a crash). */
  decidedAt: string;
  line: ClaimLine;
}

/** The part of a decision record this reads: when it was made and the line it sent, if it sent one. */
const sentSchema = z.object({ decidedAt: z.iso.datetime(), line: claimLineSchema.optional() });
/** `<epoch>-<version>`, 13 and 10 digits, at the end of every `EPISODE#<episodeId>#<commit>` key. */
const COMMIT_LENGTH = 24;

/**
 * Every claim line a decision record sent, decided in [since, until), for one patient (one Query of its
 * partition) or for all (a Scan of the table: records are kept per patient and nothing indexes them by time, so
 * this operator command reads the whole table once; the finalizer never does).
 */
export async function* recordedLines(
  documents: DynamoDBDocumentClient,
  tableName: string,
  range: { since: number; until: number; patientId?: string },
): AsyncGenerator<RecordedLine> {
  const names = { "#pk": tableDesign.partitionKey, "#sk": tableDesign.sortKey, "#record": "record" };
  const pages =
    range.patientId === undefined
      ? paginateScan(
          { client: documents },
          {
            TableName: tableName,
            FilterExpression: "begins_with(#pk, :patient) AND begins_with(#sk, :episode)",
            ProjectionExpression: "#pk, #sk, #record",
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ":patient": PATIENT_PREFIX, ":episode": EPISODE_PREFIX },
          },
        )
      : paginateQuery(
          { client: documents },
          {
            TableName: tableName,
            KeyConditionExpression: "#pk = :pk AND begins_with(#sk, :episode)",
            ProjectionExpression: "#pk, #sk, #record",
            ExpressionAttributeNames: names,
            ExpressionAttributeValues: { ":pk": patientKey(range.patientId), ":episode": EPISODE_PREFIX },
          },
        );
  for await (const page of pages) {
    for (const item of page.Items ?? []) {
      const pk = String(item[tableDesign.partitionKey]);
      const sk = String(item[tableDesign.sortKey]);
      const sent = parseRecord(pk, sk, item.record);
      if (sent.line === undefined) continue;
      const at = Date.parse(sent.decidedAt);
      if (at < range.since || at >= range.until) continue;
      yield {
        patientId: pk.slice(PATIENT_PREFIX.length),
        commit: sk.slice(-COMMIT_LENGTH),
        decidedAt: sent.decidedAt,
        line: sent.line,
      };
    }
  }
}

/** When the record was made and the line it sent, exactly as the finalizer serialized it (same bytes again). */
function parseRecord(pk: string, sk: string, text: unknown): { decidedAt: string; line?: ClaimLine } {
  try {
    const json: unknown = JSON.parse(String(text));
    const parsed = sentSchema.safeParse(json);
    if (parsed.success)
      return { decidedAt: parsed.data.decidedAt, line: (json as { line?: ClaimLine }).line };
    throw new Error(`at ${parsed.error.issues[0]?.path.join(".") || "(root)"}`);
  } catch (error) {
    // Nothing is sent from a table that holds a record it cannot read: the operator sees which one.
    throw new OpsError(`the decision record ${pk} ${sk} is not readable (${(error as Error).message})`);
  }
}

/**
 * The order the finalizer sent them in (R16): per patient, decisions in commit order and, within one decision,
 * a void before the original or replacement that follows it, then by window. Patients keep their own order only
 * (each is its own FIFO message group).
 */
export function sendOrder(lines: readonly RecordedLine[]): RecordedLine[] {
  const rank = (recorded: RecordedLine) => (recorded.line.action === "void" ? 0 : 1);
  return [...lines].sort(
    (a, b) =>
      compare(a.patientId, b.patientId) ||
      compare(a.commit, b.commit) ||
      rank(a) - rank(b) ||
      Date.parse(a.line.windowStart) - Date.parse(b.line.windowStart),
  );
}

const compare = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
