import type { ClaimLine } from "./claim-line.js";

/** What an episode would bill now, if anything, for comparison with what was sent. */
export interface Billing {
  claimLineId: string;
  patientId: string;
  due: boolean;
  /** The line the episode owes as an original when it is billable, else undefined. */
  line?: ClaimLine;
}

/** The latest revision sent of each claim line, by `claimLineId`. */
export function latestRevisions(sent: readonly ClaimLine[]): Map<string, ClaimLine> {
  const latest = new Map<string, ClaimLine>();
  for (const line of sent) {
    const held = latest.get(line.claimLineId);
    if (held === undefined || line.revision > held.revision) latest.set(line.claimLineId, line);
  }
  return latest;
}

/** The fields that, when they change after a line was sent, call for a replacement (R16). */
const billedFields = [
  "procedureCode",
  "modifiers",
  "units",
  "serviceDate",
  "placeOfService",
  "renderingProviderNpi",
  "diagnosisCodes",
  "totalMinutes",
  "windowStart",
  "windowEnd",
  "chargeCents",
  "codeSetYear",
  "billingGroup",
] as const satisfies readonly (keyof ClaimLine)[];

const sameBilling = (a: ClaimLine, b: ClaimLine): boolean =>
  billedFields.every((field) => JSON.stringify(a[field]) === JSON.stringify(b[field]));

/**
 * R16: the lines owed given what was already sent. A due billable episode with nothing sent owes an original;
 * one whose billing changed owes a replacement; a sent line whose episode is no longer billable (or no longer
 * exists, because late facts moved its window) owes a void. Sent lines of patients not in `patientIds` are
 * left alone: the caller decided only those patients.
 */
export function owedLines(
  billings: readonly Billing[],
  sent: readonly ClaimLine[],
  patientIds: ReadonlySet<string>,
): ClaimLine[] {
  const latestSent = latestRevisions(sent);

  const owed: ClaimLine[] = [];
  const decided = new Set<string>();
  for (const billing of billings) {
    decided.add(billing.claimLineId);
    const last = latestSent.get(billing.claimLineId);
    if (billing.line !== undefined) {
      if (!billing.due) continue;
      if (last === undefined) owed.push(billing.line);
      else if (last.action === "void") owed.push({ ...billing.line, revision: last.revision + 1 });
      else if (!sameBilling(last, billing.line)) {
        owed.push({
          ...billing.line,
          action: "replacement",
          revision: last.revision + 1,
          adjusts: last.revision,
        });
      }
    } else if (last !== undefined && last.action !== "void") {
      owed.push(voidOf(last));
    }
  }
  for (const last of latestSent.values()) {
    if (decided.has(last.claimLineId) || !patientIds.has(last.patientId) || last.action === "void") continue;
    owed.push(voidOf(last));
  }
  return owed;
}

const voidOf = (last: ClaimLine): ClaimLine => ({
  ...last,
  action: "void",
  revision: last.revision + 1,
  adjusts: last.revision,
});
