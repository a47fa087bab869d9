import type { RosterEntry, TenantConfig } from "../../functions/domain/config.js";
import {
  type DateRange,
  type FeeRedecision,
  feeRedecisions,
  type RosterRedecision,
  rosterRedecisions,
  shiftDate,
} from "../../functions/domain/config-changes.js";
import { type ConfigDiff, diffConfigs, type FeeChange, type RosterChange } from "./config-diff.js";

/**
 * `npm run config -- diff`: what changes from the stored configuration to the new one (`changes`), and what a
 * push of it decides again (R18) as the dates on which it does (`redecided`). Both empty when nothing changes.
 */
export function diffReport(
  before: TenantConfig,
  after: TenantConfig,
): { changes: string[]; redecided: string[] } {
  const diff = diffConfigs(before, after);
  const roster = rosterRedecisions(before, after);
  const fees = feeRedecisions(before, after);
  return { changes: changeLines(diff), redecided: redecisionLines(before, after, diff, roster, fees) };
}

function changeLines(diff: ConfigDiff): string[] {
  return [
    ...diff.policies.map(
      ({ policy, before, after }) => `policy ${policy}: ${shown(before)} -> ${shown(after)}`,
    ),
    ...diff.roster.map(rosterChangeLine),
    ...diff.feeSchedules.map(({ kind, effectiveFrom, fees }) =>
      kind === "changed"
        ? `fee schedule from ${effectiveFrom} changed: ${fees.map(feeChangeText).join(", ")}`
        : `fee schedule from ${effectiveFrom} ${kind}: ${count(fees.length, "code")}`,
    ),
  ];
}

function rosterChangeLine(change: RosterChange): string {
  if (change.kind === "added") return `roster entry added: ${entryText(change.after)}`;
  if (change.kind === "removed") return `roster entry removed: ${entryText(change.before)}`;
  const { before, after } = change;
  const fields = (["effectiveFrom", "effectiveTo", "credential", "npi", "group", "name"] as const).flatMap(
    (field) =>
      before[field] === after[field] ? [] : [`${field} ${shown(before[field])} -> ${shown(after[field])}`],
  );
  return `roster entry changed: ${after.practitionerId} ${entryDates(before)}: ${fields.join(", ")}`;
}

const entryDates = (entry: RosterEntry): string =>
  rangeText({ from: entry.effectiveFrom, to: entry.effectiveTo });

const entryText = (entry: RosterEntry): string =>
  `${entry.practitionerId} ${entryDates(entry)} (${entry.credential}, NPI ${entry.npi}, group ${entry.group})`;

function feeChangeText({ code, before, after }: FeeChange): string {
  if (before === undefined) return `${code} added ${after}`;
  if (after === undefined) return `${code} removed (was ${before})`;
  return `${code} ${before} -> ${after}`;
}

function redecisionLines(
  before: TenantConfig,
  after: TenantConfig,
  diff: ConfigDiff,
  roster: readonly RosterRedecision[],
  fees: readonly FeeRedecision[],
): string[] {
  const lines = [...roster.map(rosterRedecisionLine), ...fees.map(feeRedecisionLine)];
  const earliest = earliestServiceDate(before, after, roster, fees);
  if (earliest !== undefined)
    lines.push(
      earliest.from === undefined
        ? "lines with any date of service within the adjustment horizon will be decided again (R18)"
        : `lines with dates of service from ${earliest.from} on (within the adjustment horizon) will be decided again (R18)`,
    );
  if (diff.policies.length > 0)
    lines.push(
      "policies are not dated: a changed policy applies to what is decided from the push on; " +
        "a line already sent changes with it only when its patient is decided again (R16)",
    );
  if (lines.length > 0 && roster.length === 0 && fees.length === 0)
    lines.unshift(
      "no roster entry or fee in force changes on any date: no line is decided again for them (R18)",
    );
  return lines;
}

function rosterRedecisionLine(change: RosterRedecision): string {
  const time = `time of ${change.practitionerId} ${rangeText(change.range)}`;
  if (change.kind === "newly-in-force")
    return `${time} that was unattributed or unknown-clinician will be decided again`;
  if (change.kind === "no-longer-in-force")
    return (
      `${time} has no roster entry any more (unknown clinician, unless its payload states a qualification): ` +
      "its patients will be decided again"
    );
  const fields = change.fields.map(({ field, before, after }) => `${field} ${before} -> ${after}`);
  return `${time} counts with ${fields.join(", ")}: its patients will be decided again`;
}

function feeRedecisionLine({ range, codes, unpriced }: FeeRedecision): string {
  const line = `fees of ${codes.join(", ")} differ for dates of service ${rangeText(range)}`;
  if (unpriced.length === 0) return line;
  return `${line}; ${unpriced.join(", ")} ${unpriced.length === 1 ? "has" : "have"} no fee then (needs-review, fee-missing)`;
}

/**
 * The earliest date of service a line holding the changed dates can have: a fee is in force on the date of
 * service itself, a roster entry on the date of the time, which the date of service follows, except under
 * `dateOfService: window-start`, whose window may have started up to 6 calendar days (7 days rolling) before.
 */
function earliestServiceDate(
  before: TenantConfig,
  after: TenantConfig,
  roster: readonly RosterRedecision[],
  fees: readonly FeeRedecision[],
): DateRange | undefined {
  const lead = Math.max(...[before, after].map(windowStartLead));
  const starts = [
    ...roster.map(({ range }) => (range.from === undefined ? undefined : shiftDate(range.from, -lead))),
    ...fees.map(({ range }) => range.from),
  ];
  if (starts.length === 0) return undefined;
  if (starts.includes(undefined)) return {};
  return { from: (starts as string[]).sort()[0] };
}

/** R3, R15: how many days before a day's time its window's start (so its date of service) may lie. */
const windowStartLead = (config: TenantConfig): number =>
  config.dateOfService !== "window-start" ? 0 : config.windowMode === "rolling-168h" ? 7 : 6;

/** A date range as words: `from X to Y`, `from X on`, `up to Y`, `on any date`. */
export function rangeText({ from, to }: DateRange): string {
  if (from !== undefined && to !== undefined) return from === to ? `on ${from}` : `from ${from} to ${to}`;
  if (from !== undefined) return `from ${from} on`;
  if (to !== undefined) return `up to ${to}`;
  return "on any date";
}

const shown = (value: unknown): string =>
  value === undefined ? "(none)" : typeof value === "string" ? value : JSON.stringify(value);

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
