import {
  feesOn,
  type RosterEntry,
  rosterByPractitioner,
  rosterEntryOn,
  type TenantConfig,
} from "../../functions/domain/config.js";
import { DAY } from "../../functions/domain/time.js";
import { feeChanges } from "./config-diff.js";

/**
 * R18: what a new configuration decides again. Roster entries and fee schedules are dated, so a change reaches
 * only the practice-local dates on which the entry or the fees in force differ; these are worked out here, date
 * range by date range, from the configurations alone (which patients had time on those dates the table knows,
 * and the CLI does not scan it).
 */

/** Practice-local dates, both ends included; an absent end is open. */
export interface DateRange {
  from?: string;
  to?: string;
}

/** How a practitioner's time counts otherwise than it did: with an entry, with none, or with another. */
type RosterDifference =
  | { kind: "newly-in-force" }
  | { kind: "no-longer-in-force" }
  | { kind: "entry-changed"; fields: FieldChange[] };

/** The dates on which a practitioner's time counts otherwise than it did. */
export type RosterRedecision = { practitionerId: string; range: DateRange } & RosterDifference;

/** A field of the roster entry in force that a decision reads, before and after. */
export interface FieldChange {
  field: (typeof decidingFields)[number];
  before: string;
  after: string;
}

/** The dates of service whose fees in force differ, for which codes, and which of them lose their fee. */
export interface FeeRedecision {
  range: DateRange;
  codes: string[];
  /** Codes with a fee before and none after: a billable line of theirs becomes `fee-missing`. */
  unpriced: string[];
}

/** The first and last dates a configuration can name: the open ends. */
const BEFORE_ALL = "0000-01-01";
const LAST_DATE = "9999-12-31";

/** What a decision reads of a roster entry (R4, R5, the claim line's NPI); its name it does not. */
const decidingFields = ["credential", "npi", "group"] as const;

export function rosterRedecisions(before: TenantConfig, after: TenantConfig): RosterRedecision[] {
  const was = rosterByPractitioner(before);
  const is = rosterByPractitioner(after);
  const practitioners = [...new Set([...was.keys(), ...is.keys()])];
  return practitioners.flatMap((practitionerId) => {
    const entries = [...(was.get(practitionerId) ?? []), ...(is.get(practitionerId) ?? [])];
    const breaks = entries.flatMap((entry) => [
      ...(entry.effectiveFrom === undefined ? [] : [entry.effectiveFrom]),
      ...(entry.effectiveTo === undefined || entry.effectiveTo >= LAST_DATE
        ? []
        : [nextDay(entry.effectiveTo)]),
    ]);
    return changedRanges(breaks, (date) =>
      rosterDifference(rosterEntryOn(was, practitionerId, date), rosterEntryOn(is, practitionerId, date)),
    ).map(({ range, difference }) => ({ practitionerId, range, ...difference }));
  });
}

function rosterDifference(
  was: RosterEntry | undefined,
  is: RosterEntry | undefined,
): RosterDifference | undefined {
  if (was === undefined) return is === undefined ? undefined : { kind: "newly-in-force" };
  if (is === undefined) return { kind: "no-longer-in-force" };
  const fields = decidingFields.flatMap((field) =>
    was[field] === is[field] ? [] : [{ field, before: was[field], after: is[field] }],
  );
  return fields.length === 0 ? undefined : { kind: "entry-changed", fields };
}

export function feeRedecisions(before: TenantConfig, after: TenantConfig): FeeRedecision[] {
  const breaks = [...before.feeSchedules, ...after.feeSchedules].map((schedule) => schedule.effectiveFrom);
  return changedRanges(breaks, (date) => {
    const changes = feeChanges(feesOn(before, date), feesOn(after, date));
    if (changes.length === 0) return undefined;
    const unpriced = changes.filter((change) => change.after === undefined).map((change) => change.code);
    return { codes: changes.map((change) => change.code), unpriced };
  }).map(({ range, difference }) => ({ range, ...difference }));
}

/**
 * Splits time at the dates where something may start to differ, asks `differenceOn` once per piece (nothing
 * changes inside one), and joins neighbouring pieces with the same difference.
 */
function changedRanges<D>(
  breaks: readonly string[],
  differenceOn: (date: string) => D | undefined,
): Array<{ range: DateRange; difference: D }> {
  // A range can start no earlier than the first date and end no later than the last a schema date can be.
  const starts = [...new Set(breaks)].filter((date) => date > BEFORE_ALL && date <= LAST_DATE).sort();
  const pieces = [undefined, ...starts].map((from, index) => ({
    from,
    to: index < starts.length ? previousDay(starts[index] as string) : undefined,
  }));
  const ranges: Array<{ range: DateRange; difference: D }> = [];
  let previous: string | undefined;
  for (const piece of pieces) {
    const difference = differenceOn(piece.from ?? BEFORE_ALL);
    const key = difference === undefined ? undefined : JSON.stringify(difference);
    const last = ranges.at(-1);
    if (difference !== undefined && key === previous && last !== undefined)
      last.range = rangeOf(last.range.from, piece.to);
    else if (difference !== undefined) ranges.push({ range: rangeOf(piece.from, piece.to), difference });
    previous = key;
  }
  return ranges;
}

const rangeOf = (from: string | undefined, to: string | undefined): DateRange => ({
  ...(from === undefined ? {} : { from }),
  ...(to === undefined ? {} : { to }),
});

/** A calendar date `days` later (earlier when negative); plain dates, so UTC arithmetic is exact. */
export const shiftDate = (date: string, days: number): string =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
const nextDay = (date: string): string => shiftDate(date, 1);
const previousDay = (date: string): string => shiftDate(date, -1);
