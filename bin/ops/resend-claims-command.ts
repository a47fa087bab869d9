import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type ClaimSink, claimDeduplicationId } from "../../functions/queue/claims-sender.js";
import type { OpsOutput } from "./command-output.js";
import { type RecordedLine, recordedLines, sendOrder } from "./recorded-claim-lines.js";

export interface ResendRequest {
  /** Decided at or after (epoch ms). */
  since: number;
  /** Decided before (epoch ms); infinite without --until. */
  until: number;
  patientId?: string;
  dryRun: boolean;
  json: boolean;
}

/** SQS drops a FIFO message whose deduplication id it saw within this window (docs/CLAIMS-QUEUE.md). */
const DEDUP_WINDOW_MS = 5 * 60_000;

/**
 * `resend-claims`: sends again, to the claims queue, every claim line the decision records say was sent in the
 * range: the same bytes, the same message group and deduplication id (`<claimLineId>-r<revision>`), in the order
 * the finalizer sent them. It reads the table and writes nothing to it: no decision, outbox or marker changes.
 */
export async function resendClaims(
  table: { documents: DynamoDBDocumentClient; tableName: string },
  claims: { sink: ClaimSink; name: string },
  output: OpsOutput,
  request: ResendRequest & { now: number },
): Promise<number> {
  const found: RecordedLine[] = [];
  for await (const recorded of recordedLines(table.documents, table.tableName, request)) found.push(recorded);
  const lines = sendOrder(found);
  // JSON lines stay only lines for a consumer; the person reading the terminal gets the summary there.
  const say = request.json ? output.err : output.out;
  const range =
    `decided from ${new Date(request.since).toISOString()}` +
    (Number.isFinite(request.until) ? ` until ${new Date(request.until).toISOString()}` : "");
  if (lines.length === 0) {
    say(
      `no claim line was sent ${range}${request.patientId === undefined ? "" : ` for patient ${request.patientId}`}`,
    );
    return 0;
  }
  for (const recorded of lines)
    output.out(request.json ? JSON.stringify(recorded.line) : describe(recorded, request.dryRun));
  const patients = new Set(lines.map((recorded) => recorded.patientId)).size;
  const what = `${plural(lines.length, "claim line")} of ${plural(patients, "patient")} ${range}`;
  if (request.dryRun) {
    say(`would send ${what} to ${claims.name}`);
    return 0;
  }
  await claims.sink.send(lines.map((recorded) => recorded.line));
  say(`sent ${what} to ${claims.name}`);
  const recent = lines.filter((recorded) => request.now - Date.parse(recorded.decidedAt) < DEDUP_WINDOW_MS);
  if (recent.length > 0)
    output.err(
      `note: ${plural(recent.length, "line")} first sent under 5 minutes ago: SQS drops a resend with the same ` +
        "deduplication id within 5 minutes of the first, so run it again later if the connector still lacks them",
    );
  return 0;
}

function describe(recorded: RecordedLine, dryRun: boolean): string {
  const { line } = recorded;
  return [
    `${dryRun ? "would send" : "sent"} ${claimDeduplicationId(line)} ${line.action}`,
    `patient ${recorded.patientId}, episode ${line.episodeId}, service ${line.serviceDate}`,
    `decided ${recorded.decidedAt}`,
  ].join("; ");
}

const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;

/**
 * A date of the command line: `YYYY-MM-DD` (the UTC day: as --until, the whole day is included) or an ISO instant
 * with its offset. Undefined when it is neither.
 */
export function parseDate(text: string, bound: "since" | "until"): number | undefined {
  if (/^\d{4}-\d{2}-\d{2}$/.test(text)) {
    const start = Date.parse(`${text}T00:00:00Z`);
    if (Number.isNaN(start) || new Date(start).toISOString().slice(0, 10) !== text) return undefined;
    return bound === "since" ? start : start + 24 * 3_600_000;
  }
  if (!/T.*(Z|[+-]\d{2}:\d{2})$/.test(text)) return undefined;
  const at = Date.parse(text);
  return Number.isNaN(at) ? undefined : at;
}
