import { readFileSync } from "node:fs";
import fc from "fast-check";
import { describe, expect, inject, it } from "vitest";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { LocalPipeline } from "../../bin/local/pipeline.js";
import { runReplay } from "../../bin/local/replay-run.js";
import { openScenarioFile } from "../../bin/local/scenario-file.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { Fact } from "../../functions/domain/facts.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import type { EpisodeStore } from "../../functions/store/episode-store.js";
import { DynamoFactStore } from "../../functions/store/fact-store.js";
import { activity, inquiry, tenant } from "../support/domain-builders.js";
import { AS_OF, bind, finalizerWorld, summary } from "../support/finalizer-world.js";
import { isolatedResources } from "../support/integration.js";

/**
 * Corrections at the source (DOMAIN R16, R17) through the real handlers and stores: a source resource is one
 * fact whatever patient its versions name, a deletion retracts it, a correction is never missed, and the lines
 * leave in a safe order.
 */

const DAY = 86_400_000;
const fixture = (name: string) => new URL(`../fixtures/scenarios/${name}`, import.meta.url).pathname;
const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

describe("correction scenarios (public examples, lines worked out by hand)", () => {
  for (const name of [
    "chart-move-after-line",
    "medplum-delete-reply",
    "fhir-delete-entry",
    "late-earlier-reply",
  ]) {
    it(`R16: ${name} replays to exactly its expected lines, each patient's in order`, async () => {
      // Prepare
      const expected = jsonLines(readFileSync(fixture(`${name}.expected.jsonl`), "utf8"));
      const scenario = await openScenarioFile(fixture(`${name}.json`));
      const pipeline = new LocalPipeline({
        endpoints: inject("localAws"),
        resources: await isolatedResources(),
        tenant: { ...demoPractice, ...scenario.config },
      });

      // Act
      const lines: ClaimLine[] = [];
      const summary = await runReplay(scenario, pipeline, { claim: (line) => lines.push(line) });

      // Assess: nothing refused or dead-lettered; per patient, the lines in queue order.
      expect(summary.rejected).toBe(0);
      const keys = Object.keys(expected[0] ?? {}) as Array<keyof ClaimLine>;
      const picked = lines.map((line) => Object.fromEntries(keys.map((key) => [key, line[key]])));
      const byPatient = (rows: Array<Record<string, unknown>>) =>
        Object.groupBy(rows, (row) => String(row.patientId));
      expect(byPatient(picked)).toEqual(byPatient(expected));
      // Every adjustment names the line it adjusts: the same claim line id, the previous revision.
      for (const line of lines.filter((candidate) => candidate.action !== "original")) {
        const adjusted = lines.find((l) => l.claimLineId === line.claimLineId && l.revision === line.adjusts);
        expect(adjusted, `${line.action} r${line.revision}`).toBeDefined();
      }
    });
  }
});

describe("corrections through the fact store and the finalizer", () => {
  const reply = (
    patientId: string,
    overrides: Partial<{ version: number; at: string; minutes: number }> = {},
  ) =>
    activity({
      id: "Communication/fix-r1",
      patientId,
      at: overrides.at ?? "2026-03-02T19:00:00Z",
      practitionerId: "dr-adams",
      minutes: overrides.minutes ?? 12,
      inResponseTo: "Communication/fix-m1",
      version: overrides.version ?? 1,
    });
  const message = (patientId: string, version = 1) =>
    inquiry({ id: "Communication/fix-m1", patientId, at: "2026-03-02T14:00:00Z", version });

  it("R16: a late older version of a moved fact reaches no partition; the move is applied once", async () => {
    // Prepare: both messages filed under pub-x, then moved to pub-y (version 2).
    const world = await finalizerWorld();
    await world.seed([message("pub-x"), reply("pub-x")]);
    await world.run(AS_OF);
    await world.seed([message("pub-y", 2), reply("pub-y", { version: 2 })]);

    // Act: version 1 arrives again (a vendor's retry, late), then the move again.
    await world.seed([message("pub-x"), reply("pub-x"), message("pub-y", 2), reply("pub-y", { version: 2 })]);
    await world.run(AS_OF + DAY);
    const lines = await world.takeClaims();

    // Assess: pub-x's line voided, pub-y billed, once each.
    expect(summary(lines)).toEqual([
      "pub-x original r0 99422 12",
      "pub-x void r1 99422 12",
      "pub-y original r0 99422 12",
    ]);
  });

  it("R16: a correction written while the finalizer holds the patient is finalized by the next run", async () => {
    // Prepare: a 12-minute episode; the finalizer's commit waits until a corrected reply (6 minutes) is stored.
    const world = await finalizerWorld();
    await world.seed([message("held"), reply("held")]);
    const facts = new DynamoFactStore(world.documents, {
      tableName: world.resources.tableName,
      retentionDays: 2190,
      settleHours: 48,
    });
    const store: EpisodeStore = {
      ...bind(world.store),
      commit: async (commit) => {
        await facts.put(reply("held", { version: 2, minutes: 6 }));
        return world.store.commit(commit);
      },
    };

    // Act
    const held = await world.run(AS_OF, { store });
    const next = await world.run(AS_OF + 60_000);
    const lines = await world.takeClaims();

    // Assess: the first decision (12 minutes) lost to the newer version and wrote nothing; the next one billed
    // the corrected 6 minutes, the only line.
    expect(held.conflicts).toBe(1);
    expect(next.patientsDecided).toBe(1);
    expect(summary(lines)).toEqual(["held original r0 99421 6"]);
  });

  it("R16: a version whose time moved later keeps the patient due from its old time: the old episode is adjusted at once", async () => {
    // Prepare: a line for 12 minutes on Monday 2 March.
    const world = await finalizerWorld();
    await world.seed([message("moved"), reply("moved")]);
    await world.run(AS_OF);
    const [original] = await world.takeClaims();

    // Act: the reply corrected to a time three weeks later; the next run is an hour later (its new time's own
    // marker would not be due for weeks).
    await world.seed([reply("moved", { version: 2, at: "2026-03-23T19:00:00Z" })]);
    const report = await world.run(AS_OF + 3_600_000);
    const lines = await world.takeClaims();

    // Assess
    expect(original?.action).toBe("original");
    expect(report.patientsDecided).toBe(1);
    expect(summary(lines)).toEqual(["moved void r1 99422 12"]);
  });
});

describe("R17: any interleaving of versions, moves and deletions", () => {
  /** One source resource's history: versions naming patients, some retracted, maybe a deletion by id. */
  const history = fc.record({
    patients: fc.array(fc.constantFrom("ia", "ib", "ic"), { minLength: 1, maxLength: 3 }),
    retractLast: fc.boolean(),
    deleteById: fc.boolean(),
  });

  it("gives the same final lines as applying every change in order", async () => {
    const events = (specs: Array<{ patients: string[]; retractLast: boolean; deleteById: boolean }>) =>
      specs.flatMap((spec, resource) => {
        const id = `Communication/p${resource}`;
        const facts: Array<Fact | { retract: string }> = spec.patients.flatMap((patientId, index) => [
          inquiry({ id: `${id}-q`, patientId, at: "2026-03-02T14:00:00Z", version: index + 1 }),
          activity({
            id,
            patientId,
            at: "2026-03-02T19:00:00Z",
            practitionerId: "dr-adams",
            minutes: 6 + resource * 5,
            inResponseTo: `${id}-q`,
            version: index + 1,
            retracted: spec.retractLast && index === spec.patients.length - 1,
          }),
        ]);
        // A deletion at the source comes after every version (its own version, as a source gives it).
        if (spec.deleteById) facts.push({ retract: id });
        return facts;
      });

    await fc.assert(
      fc.asyncProperty(
        fc.array(history, { minLength: 1, maxLength: 3 }).chain((specs) => {
          const all = events(specs);
          return fc.tuple(
            fc.constant(all),
            fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
          );
        }),
        async ([inOrder, shuffled]) => {
          // Act: the same changes in order and shuffled, each on a store of its own, then one finalizer run.
          const outcome = async (changes: typeof inOrder) => {
            const world = await finalizerWorld();
            const facts = new DynamoFactStore(world.documents, {
              tableName: world.resources.tableName,
              retentionDays: 2190,
              settleHours: 48,
            });
            for (const change of changes) {
              if ("retract" in change) await facts.retract({ factId: change.retract, version: 100 });
              else await facts.put(change);
            }
            await world.run(AS_OF, { tenant: fixedTenantConfig(tenant()) });
            return summary(await world.takeClaims());
          };

          // Assess
          expect(await outcome(shuffled)).toEqual(await outcome(inOrder));
        },
      ),
      { numRuns: 15 },
    );
  }, 120_000);
});
