import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, inject, it } from "vitest";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { type EpisodeRecord, LocalPipeline } from "../../bin/local/pipeline.js";
import { runReplay } from "../../bin/local/replay-run.js";
import { openScenarioFile } from "../../bin/local/scenario-file.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { FinalizeReport } from "../../functions/finalize/finalize-due-episodes.js";
import { isolatedResources } from "../support/integration.js";

/**
 * Tenant configuration as dated data (DOMAIN R18) through the real handlers and stores: scenario files push
 * configuration versions between deliveries, as an operator's `npm run config -- push` would, and the finalizer
 * decides again exactly what each version's dates cover. The expected lines are worked out by hand beside each
 * scenario (test/fixtures/scenarios/<name>.expected.jsonl).
 */

const DAY = 86_400_000;
const fixture = (name: string) => new URL(`../fixtures/scenarios/${name}`, import.meta.url).pathname;
const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

interface Replayed {
  lines: ClaimLine[];
  picked: Array<Record<string, unknown>>;
  expected: Array<Record<string, unknown>>;
  reports: FinalizeReport[];
  episodes: EpisodeRecord[];
  unattributed: Array<Record<string, unknown>>;
  configPushes: number;
}

/** Replays a public scenario by name (or another file, against the dated-back scenario's expectations). */
async function replay(name: string, options: { adjustmentHorizonDays?: number } = {}): Promise<Replayed> {
  const file = name.endsWith(".json") ? name : fixture(`${name}.json`);
  const expected = jsonLines(
    readFileSync(
      fixture(`${name.endsWith(".json") ? "config-dated-back-correction" : name}.expected.jsonl`),
      "utf8",
    ),
  );
  const scenario = await openScenarioFile(file);
  const pipeline = new LocalPipeline({
    endpoints: inject("localAws"),
    resources: await isolatedResources(),
    tenant: { ...demoPractice, ...scenario.config },
    adjustmentHorizonDays: options.adjustmentHorizonDays,
  });
  const lines: ClaimLine[] = [];
  const reports: FinalizeReport[] = [];
  const summary = await runReplay(scenario, pipeline, {
    claim: (line) => lines.push(line),
    finalized: (report) => reports.push(report),
  });
  expect(summary.rejected).toBe(0);
  const keys = Object.keys(expected[0] ?? {}) as Array<keyof ClaimLine>;
  const picked = lines.map((line) => Object.fromEntries(keys.map((key) => [key, line[key]])));
  return {
    lines,
    picked,
    expected,
    reports,
    episodes: summary.episodes,
    unattributed: await pipeline.unattributedTime(),
    configPushes: summary.configPushes,
  };
}

describe("configuration history scenarios (public examples, lines worked out by hand)", () => {
  it("R18: a new fee schedule prices new dates of service and reprices nothing sent (config-new-fee-schedule)", async () => {
    const { picked, expected, episodes, configPushes } = await replay("config-new-fee-schedule");

    expect(configPushes).toBe(1);
    // March is decided again after the push (its reply corrected): the replacement keeps March's price.
    expect(picked).toEqual(expected);
    const april = episodes.find((episode) => episode.serviceDate === "2026-04-07");
    expect(april).toMatchObject({ chargeCents: 2950, configVersion: 2 });
  });

  it("R18: a clinician with effectiveTo keeps the lines of their earlier work (config-clinician-leaves)", async () => {
    const { picked, expected, reports, lines } = await replay("config-clinician-leaves");

    expect(picked).toEqual(expected);
    // No void of March: the entry still covers it. Their April time has no entry: counted, never billed.
    expect(lines.filter((line) => line.action === "void")).toEqual([]);
    expect(lines.filter((line) => line.patientId === "pub-leave-later")).toEqual([]);
    expect(reports.reduce((minutes, report) => minutes + report.unknownClinicianMinutes, 0)).toBe(10);
  });

  it("R18: a clinician added with dates covering earlier unattributed time gets it decided and billed (config-locum-added)", async () => {
    const { picked, expected, reports, episodes, unattributed } = await replay("config-locum-added");

    expect(picked).toEqual(expected);
    // The first run counted the locum's 9 minutes as unknown and recorded them (no window held them); the run
    // after the push re-checked the patient.
    expect(reports[0]?.unknownClinicianMinutes).toBe(9);
    expect(unattributed).toEqual([
      expect.objectContaining({
        decision: "unattributed",
        reason: "unknown-clinician",
        practitionerId: "dr-hale",
        at: "2026-03-02T19:00:00.000Z",
        seconds: 540,
        configVersion: 1,
      }),
    ]);
    expect(reports[1]?.patientsRechecked).toBe(1);
    const billed = episodes.find((episode) => episode.outcome === "billable");
    expect(billed).toMatchObject({ renderingPractitionerId: "dr-hale", configVersion: 2 });
  });

  it("R18: a dated-back correction produces the replacements it should (config-dated-back-correction)", async () => {
    const { picked, expected, lines, reports } = await replay("config-dated-back-correction");

    expect(picked).toEqual(expected);
    // Each replacement names the revision it replaces; each push re-checked the one patient it covers.
    for (const line of lines.filter((candidate) => candidate.action === "replacement"))
      expect(line.adjusts).toBe(line.revision - 1);
    expect(reports.map((report) => report.patientsRechecked)).toEqual([0, 1, 1]);
  });

  it("R16, R18: a dated-back correction leaves lines past the adjustment horizon alone", async () => {
    // The same corrections pushed 30 days later: 41 and 46 days after the window's end, past a 30-day horizon.
    const original = JSON.parse(readFileSync(fixture("config-dated-back-correction.json"), "utf8"));
    const later = (at: string) => new Date(Date.parse(at) + 30 * DAY).toISOString();
    const file = join(await mkdtemp(join(tmpdir(), "config-history-")), "later.json");
    await writeFile(
      file,
      JSON.stringify({
        ...original,
        configs: original.configs.map((entry: { at: string }) => ({ ...entry, at: later(entry.at) })),
        finalizeAt: original.finalizeAt.map((at: string, index: number) => (index === 0 ? at : later(at))),
      }),
    );

    const { picked, expected, reports } = await replay(file, { adjustmentHorizonDays: 30 });

    expect(picked).toEqual(expected.slice(0, 1));
    expect(reports.map((report) => report.patientsRechecked)).toEqual([0, 0, 0]);
  });
});
