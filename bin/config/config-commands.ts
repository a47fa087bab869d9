import { writeFile } from "node:fs/promises";
import { DateTime } from "luxon";
import type { TenantConfig } from "../../functions/domain/config.js";
import {
  configDigest,
  type StoredConfig,
  type TenantConfigStore,
} from "../../functions/store/config-store.js";
import type { OpsOutput } from "../ops/command-output.js";
import { OpsError } from "../ops/errors.js";
import { type ConfigFile, readText } from "./config-file.js";
import { diffReport } from "./diff-report.js";
import { configWithRoster } from "./roster-csv.js";

/**
 * The commands of `npm run config`, each on a tenant configuration store (functions/store/config-store.ts):
 * what the functions read within a minute, so a push needs no deploy. Each returns its exit code; a failure is
 * thrown as an OpsError (one line).
 */

/** `validate FILE`: the file as read and validated against the tenant schema (config-file.ts); no table. */
export async function validateConfig({ file, config }: ConfigFile, output: OpsOutput): Promise<number> {
  output.out(`${file}: valid; ${summary(config)}`);
  return 0;
}

/** `diff FILE`: the file against the latest stored version, and the dates a push would decide again (R18). */
export async function diffConfig(
  store: Pick<TenantConfigStore, "latest">,
  { file, config }: ConfigFile,
  output: OpsOutput,
): Promise<number> {
  const latest = await store.latest();
  if (latest === undefined) {
    output.out(`no version stored yet: a push stores ${file} as version 1 (${summary(config)})`);
    return 0;
  }
  const { changes, redecided } = diffReport(latest.config, config);
  if (changes.length === 0) {
    // Equal digests: a push adds no version. Else only the order of entries differs, which decides nothing.
    output.out(
      configDigest(config) === latest.digest
        ? `no change: ${file} is version ${latest.version}`
        : `no change in what is decided: only the order of roster entries differs from version ${latest.version}`,
    );
    return 0;
  }
  output.out(`from version ${latest.version} (${provenance(latest)}) to ${file}:`);
  for (const line of changes) output.out(`  ${line}`);
  if (redecided.length > 0) {
    output.out("what a push would decide again (within the adjustment horizon):");
    for (const line of redecided) output.out(`  ${line}`);
  }
  return 0;
}

/** `push FILE`: the file, validated when read, through the store (which validates again), unless unchanged. */
export async function pushConfig(
  store: Pick<TenantConfigStore, "push">,
  { input }: ConfigFile,
  output: OpsOutput,
  meta: { at: Date; by: string },
): Promise<number> {
  const result = await store.push(input, meta);
  output.out(
    result.status === "pushed"
      ? `pushed version ${result.version}`
      : `unchanged: version ${result.version} is the same`,
  );
  return 0;
}

/** When to show the configuration of: an instant, or a practice-local date (the end of that day). */
export type ShowAt = { instant: string } | { date: string };

/** `show [--at DATE] [--json]`: the latest version, or the one in force at an instant or by the end of a date. */
export async function showConfig(
  store: Pick<TenantConfigStore, "latest" | "versions">,
  output: OpsOutput,
  options: { at?: ShowAt; json: boolean },
): Promise<number> {
  const { shown, next } = await versionToShow(store, options.at);
  if (options.json) {
    // The configuration alone on stdout, so it can be saved, edited and pushed again.
    output.err(`config: version ${shown.version}, ${provenance(shown)}`);
    output.out(JSON.stringify(shown.config, null, 2));
    return 0;
  }
  output.out(`version ${shown.version}, ${provenance(shown)}`);
  if (next !== undefined) output.out(`followed by version ${next.version}, ${provenance(next)}`);
  output.out("policies:");
  for (const [policy, value] of Object.entries(shown.config))
    if (policy !== "roster" && policy !== "feeSchedules")
      output.out(`  ${policy}: ${typeof value === "string" ? value : JSON.stringify(value)}`);
  output.out(rosterSummary(shown.config));
  output.out(feeScheduleSummary(shown.config));
  return 0;
}

async function versionToShow(
  store: Pick<TenantConfigStore, "latest" | "versions">,
  at: ShowAt | undefined,
): Promise<{ shown: StoredConfig; next?: StoredConfig }> {
  if (at === undefined) {
    const latest = await store.latest();
    if (latest === undefined) throw nothingPushed();
    return { shown: latest };
  }
  const versions = await store.versions();
  const latest = versions.at(-1);
  if (latest === undefined) throw nothingPushed();
  // A date is the practice's (R18 dates are practice-local): every version pushed before its next midnight.
  const before =
    "date" in at
      ? (pushedAt: number) =>
          pushedAt < DateTime.fromISO(at.date, { zone: latest.config.timezone }).plus({ days: 1 }).toMillis()
      : (pushedAt: number) => pushedAt <= Date.parse(at.instant);
  const shown = versions.filter((version) => before(Date.parse(version.pushedAt))).at(-1);
  if (shown === undefined) {
    const first = versions[0] as StoredConfig;
    throw new OpsError(
      `no version was in force at ${"date" in at ? `the end of ${at.date}` : at.instant}: the first, ` +
        `version ${first.version}, was pushed at ${first.pushedAt}`,
    );
  }
  return { shown, next: versions.find((version) => version.version > shown.version) };
}

const nothingPushed = () =>
  new OpsError("no tenant configuration has been pushed to this table: npm run config -- push FILE <stack>");

/** `roster import CSV`: the CSV as the roster of a base configuration, validated whole, written as JSON. */
export async function importRoster(
  csvFile: string,
  base: { describe: string; config: unknown },
  output: OpsOutput,
  options: { out?: string },
): Promise<number> {
  const { candidate, rows } = configWithRoster(
    base.config as Record<string, unknown>,
    await readText(csvFile),
  );
  const json = `${JSON.stringify(candidate, null, 2)}\n`;
  const imported = `${count(rows, "roster entry", "roster entries")} from ${csvFile} into ${base.describe}`;
  if (options.out === undefined) {
    output.out(json.trimEnd());
    output.err(`config: ${imported}`);
    return 0;
  }
  await writeFile(options.out, json);
  output.out(`${imported}: wrote ${options.out}`);
  return 0;
}

/** The base `roster import` merges into when it is the table's latest version. */
export async function latestAsBase(
  store: Pick<TenantConfigStore, "latest">,
): Promise<{ describe: string; config: TenantConfig }> {
  const latest = await store.latest();
  if (latest === undefined)
    throw new OpsError("no version stored to import the roster into: give --base FILE instead");
  return { describe: `version ${latest.version}`, config: latest.config };
}

const provenance = (stored: StoredConfig): string => `pushed ${stored.pushedAt} by ${stored.by}`;

const summary = (config: TenantConfig): string =>
  `timezone ${config.timezone}, ${count(config.roster.length, "roster entry", "roster entries")}, ` +
  `${count(config.feeSchedules.length, "fee schedule")}`;

function rosterSummary(config: TenantConfig): string {
  const practitioners = new Set(config.roster.map((entry) => entry.practitionerId)).size;
  const groups = new Map<string, number>();
  for (const entry of config.roster) groups.set(entry.group, (groups.get(entry.group) ?? 0) + 1);
  const byGroup = [...groups].map(([group, n]) => `${group} ${n}`).join(", ");
  return (
    `roster: ${count(config.roster.length, "entry", "entries")} of ${count(practitioners, "practitioner")}` +
    (groups.size === 0 ? "" : `; by group: ${byGroup}`)
  );
}

function feeScheduleSummary(config: TenantConfig): string {
  if (config.feeSchedules.length === 0)
    return "fee schedules: none (the shipped default, 2025 Medicare national non-facility amounts, is in force)";
  const schedules = config.feeSchedules.map(
    (schedule) => `from ${schedule.effectiveFrom} (${count(Object.keys(schedule.fees).length, "code")})`,
  );
  return `fee schedules: ${schedules.join(", ")}`;
}

const count = (n: number, noun: string, plural = `${noun}s`): string => `${n} ${n === 1 ? noun : plural}`;
