import { parseArgs } from "node:util";
import { auditPacketHtml } from "../../functions/review/audit-packet.js";
import { ClaimLineNotFoundError, ReviewService } from "../../functions/review/review-service.js";
import { DynamoAuditStore } from "../../functions/store/audit-store.js";
import { CurrentTenantConfig, DynamoTenantConfigStore } from "../../functions/store/config-store.js";
import { DynamoFiguresStore } from "../../functions/store/figures-store.js";
import { DynamoReviewStore } from "../../functions/store/review-store.js";
import type { OpsOutput } from "../ops/command-output.js";
import { argumentProblem, OpsError, oneLine, UsageError } from "../ops/errors.js";
import {
  type OpenTable,
  openTable,
  type TableTarget,
  tableTarget,
  tableTargetOptions,
  tableTargetUsage,
} from "../ops/table-target.js";

export const usage = [
  "usage: npm run audit -- <claimLineId> [--html] <stack>",
  "       npm run audit -- index-earlier-lines <stack>",
  "  the second, once after upgrading: lets lines sent before the audit index existed be found by id",
  "  prints the claim line's audit packet (every revision sent, the decisions behind them rule by rule,",
  "  the attestations involved) as JSON, or as the printable page with --html",
  tableTargetUsage,
].join("\n");

const INDEX_COMMAND = "index-earlier-lines";

export interface AuditEnvironment extends OpsOutput {
  /** Where `npm start` leaves its local-stack file; the OS temp dir by default. */
  localStackDir?: string;
}

/**
 * `npm run audit -- <claimLineId>`: the audit packet the review API serves, read from the table directly with the
 * operator's own credentials (reads only). Exit 0 with the packet, 1 when no line has that id, 2 on usage.
 */
export async function runAudit(args: readonly string[], env: AuditEnvironment): Promise<number> {
  let claimLineId: string;
  let html: boolean;
  let target: TableTarget;
  try {
    const { values, positionals } = parseArgs({
      args: [...args],
      allowPositionals: true,
      options: { ...tableTargetOptions, html: { type: "boolean" }, help: { type: "boolean" } },
    });
    if (values.help) {
      env.out(usage);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError("name one claim line id");
    claimLineId = positionals[0] as string;
    if (claimLineId !== INDEX_COMMAND && !/^cl_[0-9a-f]{32}$/.test(claimLineId))
      throw new UsageError("a claim line id is cl_ and 32 hex digits");
    html = values.html === true;
    target = tableTarget(values);
  } catch (error) {
    env.err(`audit: ${error instanceof UsageError ? error.message : argumentProblem(error)}`);
    env.err(usage);
    return 2;
  }
  let table: OpenTable | undefined;
  try {
    table = await openTable(target, env.localStackDir);
    env.err(`audit: ${table.where}`);
    const { documents, tableName } = table;
    const service = new ReviewService({
      tenant: new CurrentTenantConfig(new DynamoTenantConfigStore(documents, tableName)),
      reviews: new DynamoReviewStore(documents, tableName),
      audit: new DynamoAuditStore(documents, tableName),
      figures: new DynamoFiguresStore(documents, tableName),
      // Reads only: nothing here records a fact.
      facts: {
        put: () => Promise.reject(new Error("npm run audit reads only")),
        retract: () => Promise.reject(new Error("npm run audit reads only")),
      },
      now: () => new Date(),
    });
    if (claimLineId === INDEX_COMMAND) {
      const { scanned, indexed } = await new DynamoAuditStore(documents, tableName).indexEarlierLines();
      env.out(`audit: ${indexed} record(s) that sent a line indexed, of ${scanned} without the index key`);
      return 0;
    }
    const packet = await service.auditPacket(claimLineId);
    env.out(html ? auditPacketHtml(packet) : JSON.stringify(packet, null, 2));
    return 0;
  } catch (error) {
    if (error instanceof ClaimLineNotFoundError) {
      env.err(`audit: no claim line ${claimLineId} was sent from ${table?.where ?? "this table"}`);
      return 1;
    }
    env.err(
      `audit: ${error instanceof OpsError ? error.message : (table?.explain(error).message ?? oneLine(error))}`,
    );
    return 1;
  } finally {
    table?.close();
  }
}
