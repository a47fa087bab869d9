import {
  feesOn,
  type RosterEntry,
  rosterByPractitioner,
  rosterEntryOn,
  type TenantConfig,
} from "./config.js";
import { DAY } from "./time.js";

/**
 * R18: what a new configuration decides again. Roster entries and fee schedules are dated, so a change reaches
 * only the practice-local dates on which the entry or the fees in force differ; these are worked out here, date
 * range by date range, from the configurations alone. The finalizer finds the patients with time on those dates
 * (functions/finalize) and `npm run config -- diff` prints the same dates, so the command says what a push does.
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

/** What a decision reads of a roster entry (R4, R5, the claim line's NPI); its name it does not. */
const decidingFields = ["credential", "npi", "group"] as const;

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
const FIRST_DAY = "0000-01-01";
const LAST_DAY = "9999-12-31";

export interface FeeChange {
  code: string;
  before?: number;
  after?: number;
}

/** The codes whose fee differs (or exists on one side only), in code order. */
export function feeChanges(
  before: Readonly<Record<string, number>>,
  after: Readonly<Record<string, number>>,
): FeeChange[] {
  const codes = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  return codes.flatMap((code) =>
    before[code] === after[code] ? [] : [{ code, before: before[code], after: after[code] }],
  );
}

/** A practitioner's dates (practice-local, both included) newly in force in a configuration version. */
export interface NewlyInForce {
  practitionerId: string;
  from: string;
  to: string;
}

/**
 * The dates on which `next` holds a roster entry for a practitioner and `previous` held none: time on those dates
 * was unattributed or made an episode `needs-review` (`unknown-clinician`).
 */
export function newlyInForce(previous: TenantConfig, next: TenantConfig): NewlyInForce[] {
  const held = rosterByPractitioner(previous);
  const added: NewlyInForce[] = [];
  for (const entry of next.roster) {
    let gaps = [{ from: entry.effectiveFrom ?? FIRST_DAY, to: entry.effectiveTo ?? LAST_DAY }];
    for (const old of held.get(entry.practitionerId) ?? []) {
      const oldFrom = old.effectiveFrom ?? FIRST_DAY;
      const oldTo = old.effectiveTo ?? LAST_DAY;
      gaps = gaps.flatMap((gap) => {
        if (oldTo < gap.from || gap.to < oldFrom) return [gap];
        return [
          ...(gap.from < oldFrom ? [{ from: gap.from, to: previousDay(oldFrom) }] : []),
          ...(oldTo < gap.to ? [{ from: nextDay(oldTo), to: gap.to }] : []),
        ];
      });
    }
    for (const gap of gaps) added.push({ practitionerId: entry.practitionerId, ...gap });
  }
  return added;
}

/**
 * Everything a new version decides again (R18), as the finalizer looks it up: each practitioner's dates on which
 * their time counts otherwise (newly in force, no longer in force, or a field a decision reads changed), and the
 * dates of service whose fees differ. Policies carry no dates: a changed policy applies to decisions made after
 * the push and sends no adjustment by itself.
 */
export interface Redecisions {
  clinicians: Array<{ practitionerId: string; range: DateRange }>;
  fees: DateRange[];
}

export function redecisions(before: TenantConfig, after: TenantConfig): Redecisions {
  return {
    clinicians: rosterRedecisions(before, after).map(({ practitionerId, range }) => ({
      practitionerId,
      range,
    })),
    fees: feeRedecisions(before, after).map(({ range }) => range),
  };
}

/**
 * Practitioner by practitioner (in roster order), the dates their time counts otherwise: newly in force, no
 * longer in force, or an entry in force on both sides with a field a decision reads changed.
 */
export function rosterRedecisions(before: TenantConfig, after: TenantConfig): RosterRedecision[] {
  const dated =
    (kind: "newly-in-force" | "no-longer-in-force") => (found: ReturnType<typeof newlyInForce>[0]) => ({
      practitionerId: found.practitionerId,
      range: rangeOf(
        found.from === FIRST_DAY ? undefined : found.from,
        found.to === LAST_DAY ? undefined : found.to,
      ),
      kind,
    });
  const found: RosterRedecision[] = [
    ...newlyInForce(before, after).map(dated("newly-in-force")),
    ...newlyInForce(after, before).map(dated("no-longer-in-force")),
    ...entryChanges(before, after),
  ];
  const order = [...new Set([...before.roster, ...after.roster].map((entry) => entry.practitionerId))];
  return order.flatMap((practitionerId) =>
    joined(
      found
        .filter((change) => change.practitionerId === practitionerId)
        .sort((a, b) => compareFrom(a.range, b.range)),
      ({ range: _range, ...difference }) => JSON.stringify(difference),
    ),
  );
}

function entryChanges(before: TenantConfig, after: TenantConfig): RosterRedecision[] {
  const was = rosterByPractitioner(before);
  const is = rosterByPractitioner(after);
  return [...is.keys()].flatMap((practitionerId) => {
    const entries = [...(was.get(practitionerId) ?? []), ...(is.get(practitionerId) ?? [])];
    const breaks = entries.flatMap((entry) => [
      ...(entry.effectiveFrom === undefined ? [] : [entry.effectiveFrom]),
      ...(entry.effectiveTo === undefined || entry.effectiveTo >= LAST_DAY
        ? []
        : [nextDay(entry.effectiveTo)]),
    ]);
    return changedRanges(breaks, (date) =>
      changedFields(rosterEntryOn(was, practitionerId, date), rosterEntryOn(is, practitionerId, date)),
    ).map(
      ({ range, difference: fields }): RosterRedecision => ({
        practitionerId,
        range,
        kind: "entry-changed",
        fields,
      }),
    );
  });
}

function changedFields(was: RosterEntry | undefined, is: RosterEntry | undefined): FieldChange[] | undefined {
  if (was === undefined || is === undefined) return undefined;
  const fields = decidingFields.flatMap((field) =>
    was[field] === is[field] ? [] : [{ field, before: was[field], after: is[field] }],
  );
  return fields.length === 0 ? undefined : fields;
}

export function feeRedecisions(before: TenantConfig, after: TenantConfig): FeeRedecision[] {
  const breaks = [...before.feeSchedules, ...after.feeSchedules].map((schedule) => schedule.effectiveFrom);
  const ranges = changedRanges(breaks, (date) => {
    const changes = feeChanges(feesOn(before, date), feesOn(after, date));
    if (changes.length === 0) return undefined;
    const unpriced = changes.filter((change) => change.after === undefined).map((change) => change.code);
    return { codes: changes.map((change) => change.code), unpriced };
  }).map(({ range, difference }) => ({ range, ...difference }));
  return joined(ranges, ({ range: _range, ...difference }) => JSON.stringify(difference));
}

/**
 * Splits time at the dates where something may start to differ and asks `differenceOn` once per piece (nothing
 * changes inside one): the pieces with a difference, in date order.
 */
function changedRanges<D>(
  breaks: readonly string[],
  differenceOn: (date: string) => D | undefined,
): Array<{ range: DateRange; difference: D }> {
  const starts = [...new Set(breaks)].filter((date) => date > FIRST_DAY && date <= LAST_DAY).sort();
  return [undefined, ...starts].flatMap((from, index) => {
    const difference = differenceOn(from ?? FIRST_DAY);
    const to = index < starts.length ? previousDay(starts[index] as string) : undefined;
    return difference === undefined ? [] : [{ range: rangeOf(from, to), difference }];
  });
}

/** Ranges in date order with the ones that touch and say the same (by `key`) joined into one. */
function joined<T extends { range: DateRange }>(ranges: readonly T[], key: (item: T) => string): T[] {
  const out: T[] = [];
  for (const item of ranges) {
    const last = out.at(-1);
    if (last?.range.to !== undefined && item.range.from === nextDay(last.range.to) && key(last) === key(item))
      out[out.length - 1] = { ...last, range: rangeOf(last.range.from, item.range.to) };
    else out.push(item);
  }
  return out;
}

const compareFrom = (a: DateRange, b: DateRange): number =>
  (a.from ?? FIRST_DAY) < (b.from ?? FIRST_DAY) ? -1 : (a.from ?? FIRST_DAY) > (b.from ?? FIRST_DAY) ? 1 : 0;

const rangeOf = (from: string | undefined, to: string | undefined): DateRange => ({
  ...(from === undefined ? {} : { from }),
  ...(to === undefined ? {} : { to }),
});

/** A calendar date `days` later (earlier when negative); plain dates, so UTC arithmetic is exact. */
export const shiftDate = (date: string, days: number): string =>
  new Date(Date.parse(`${date}T00:00:00Z`) + days * DAY).toISOString().slice(0, 10);
const nextDay = (date: string): string => shiftDate(date, 1);
const previousDay = (date: string): string => shiftDate(date, -1);
