import type { FeeSchedule, RosterEntry, TenantConfig } from "../../functions/domain/config.js";
import { type FeeChange, feeChanges } from "../../functions/domain/config-changes.js";
import { canonicalJson } from "../../functions/domain/fact-digest.js";

/** What changes between two tenant configurations, entry by entry (what `npm run config -- diff` lists). */
export interface ConfigDiff {
  policies: PolicyChange[];
  roster: RosterChange[];
  feeSchedules: FeeScheduleChange[];
}

export interface PolicyChange {
  policy: string;
  before: unknown;
  after: unknown;
}

/** A roster entry added, removed, or changed (matched by practitionerId, then by its dates). */
export type RosterChange =
  | { kind: "added"; after: RosterEntry }
  | { kind: "removed"; before: RosterEntry }
  | { kind: "changed"; before: RosterEntry; after: RosterEntry };

/** A fee schedule added, removed or changed (matched by `effectiveFrom`), with the fees that differ. */
export interface FeeScheduleChange {
  kind: "added" | "removed" | "changed";
  effectiveFrom: string;
  fees: FeeChange[];
}

/** The parts of the configuration that are not policies: they are compared entry by entry. */
export type { FeeChange };

const listed = new Set(["roster", "feeSchedules"]);

const same = (a: unknown, b: unknown): boolean => canonicalJson(a) === canonicalJson(b);

export function diffConfigs(before: TenantConfig, after: TenantConfig): ConfigDiff {
  return {
    policies: policyChanges(before, after),
    roster: rosterChanges(before.roster, after.roster),
    feeSchedules: feeScheduleChanges(before.feeSchedules, after.feeSchedules),
  };
}

export const isEmptyDiff = (diff: ConfigDiff): boolean =>
  diff.policies.length === 0 && diff.roster.length === 0 && diff.feeSchedules.length === 0;

function policyChanges(before: TenantConfig, after: TenantConfig): PolicyChange[] {
  const policies = [...new Set([...Object.keys(before), ...Object.keys(after)])].filter(
    (key) => !listed.has(key),
  );
  return policies.flatMap((policy) => {
    const was = (before as Record<string, unknown>)[policy];
    const is = (after as Record<string, unknown>)[policy];
    return same(was, is) ? [] : [{ policy, before: was, after: is }];
  });
}

/**
 * Entries are matched within a practitioner: equal ones are unchanged; then an entry with the same dates, or
 * else with the same fields but other dates (a clinician who leaves), is that entry changed; a single entry left
 * on each side is one entry changed; the rest are removed or added.
 */
function rosterChanges(before: readonly RosterEntry[], after: readonly RosterEntry[]): RosterChange[] {
  const practitioners = [...new Set([...before, ...after].map((entry) => entry.practitionerId))];
  return practitioners.flatMap((practitionerId) => {
    const was = before.filter((entry) => entry.practitionerId === practitionerId);
    const is = after.filter((entry) => entry.practitionerId === practitionerId);
    const left = was.filter((entry) => !is.some((other) => same(entry, other)));
    const right = is.filter((entry) => !was.some((other) => same(entry, other)));
    const changes: RosterChange[] = [];
    for (const matches of [sameDates, sameFields]) {
      for (const entry of [...left]) {
        const match = right.find((other) => matches(entry, other));
        if (match === undefined) continue;
        changes.push({ kind: "changed", before: entry, after: match });
        left.splice(left.indexOf(entry), 1);
        right.splice(right.indexOf(match), 1);
      }
    }
    const [onlyBefore, onlyAfter] = [left[0], right[0]];
    if (left.length === 1 && right.length === 1 && onlyBefore !== undefined && onlyAfter !== undefined)
      return [...changes, { kind: "changed", before: onlyBefore, after: onlyAfter }];
    return [
      ...changes,
      ...left.map((entry): RosterChange => ({ kind: "removed", before: entry })),
      ...right.map((entry): RosterChange => ({ kind: "added", after: entry })),
    ];
  });
}

const sameDates = (a: RosterEntry, b: RosterEntry): boolean =>
  a.effectiveFrom === b.effectiveFrom && a.effectiveTo === b.effectiveTo;

const sameFields = (a: RosterEntry, b: RosterEntry): boolean =>
  same(
    { ...a, effectiveFrom: undefined, effectiveTo: undefined },
    { ...b, effectiveFrom: undefined, effectiveTo: undefined },
  );

function feeScheduleChanges(
  before: readonly FeeSchedule[],
  after: readonly FeeSchedule[],
): FeeScheduleChange[] {
  const dates = [...new Set([...before, ...after].map((schedule) => schedule.effectiveFrom))].sort();
  return dates.flatMap((effectiveFrom): FeeScheduleChange[] => {
    const was = before.find((schedule) => schedule.effectiveFrom === effectiveFrom)?.fees;
    const is = after.find((schedule) => schedule.effectiveFrom === effectiveFrom)?.fees;
    const fees = feeChanges(was ?? {}, is ?? {});
    if (was === undefined) return [{ kind: "added", effectiveFrom, fees }];
    if (is === undefined) return [{ kind: "removed", effectiveFrom, fees }];
    return fees.length === 0 ? [] : [{ kind: "changed", effectiveFrom, fees }];
  });
}
