import { GetCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import type { InitializeMiddleware, MiddlewareStack } from "@smithy/types";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../bin/local/pipeline.js";
import type { Fact } from "../../functions/domain/facts.js";
import { createFinalizeHandler } from "../../functions/finalize/finalize-handler.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import type { EpisodeStore } from "../../functions/store/episode-store.js";
import { factSortKey, patientKey } from "../../functions/store/table-design.js";
import { activity, inquiry } from "../support/domain-builders.js";
import {
  AS_OF,
  bind,
  episode,
  finalizerWorld,
  summary,
  TENANT,
  unavailable,
} from "../support/finalizer-world.js";

/**
 * One bad patient never stops the practice (ARCHITECTURE.md invariant 10), a lost race never overwrites the
 * winner (invariant 12), and a backfill is worked off run by run (invariant 9).
 */

const DAY = 86_400_000;

/**
 * A year of weekly episodes for one patient (Mondays from 2025-03-10 to 2026-03-02, 6 minutes each), all at
 * once: the first window ends 2025-03-17, inside the adjustment horizon of a run on 2026-03-12 (R16).
 */
/**
 * A year of weekly e-visits, each 7 days after the last one's date of service: the problems alternate between
 * unrelated categories (E11.9, I10), so every week bills (R20 would hold back a related one).
 */
const yearOfWeeks = (patientId: string): Fact[] =>
  Array.from({ length: 52 }, (_, week) => {
    const monday = Date.parse("2025-03-10T14:00:00Z") + week * 7 * DAY;
    const diagnosisCodes = [week % 2 === 0 ? "E11.9" : "I10"];
    return [
      inquiry({ id: `${patientId}-q${week}`, patientId, at: new Date(monday).toISOString(), diagnosisCodes }),
      activity({
        id: `${patientId}-a${week}`,
        patientId,
        at: new Date(monday + 3_600_000).toISOString(),
        practitionerId: "dr-adams",
        minutes: 6,
        inResponseTo: `${patientId}-q${week}`,
        diagnosisCodes,
      }),
    ];
  }).flat();

describe("one patient that cannot be decided never stops the others", () => {
  let log: ReturnType<typeof vi.spyOn>;
  beforeEach(() => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
    vi.spyOn(console, "error").mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("bills 50 patients, quarantines the one with a corrupt item with its reason and a metric, and bills it after repair and retry", async () => {
    // Prepare: 51 due episodes; one patient's reply item no longer holds JSON.
    const world = await finalizerWorld();
    const patients = Array.from({ length: 51 }, (_, i) => `iso-${i}`);
    await world.seed(patients.flatMap((id) => episode(id, [{ practitionerId: "dr-adams", minutes: 12 }])));
    const key = { pk: patientKey("iso-7"), sk: factSortKey("iso-7-a0") };
    const good = (
      await world.documents.send(new GetCommand({ TableName: world.resources.tableName, Key: key }))
    ).Item?.fact;
    await world.documents.send(
      new UpdateCommand({
        TableName: world.resources.tableName,
        Key: key,
        UpdateExpression: "SET fact = :broken",
        ExpressionAttributeValues: { ":broken": '{"kind":"clinician-act' },
      }),
    );
    const handler = (at: number) =>
      createFinalizeHandler({
        store: world.store,
        quarantine: world.quarantine,
        claims: world.claims,
        tenant: fixedTenantConfig(TENANT),
        retentionDays: 2190,
        adjustmentHorizonDays: 365,
        clock: () => at,
        maxBudgetMs: 60_000,
      })({}, lambdaContext("finalize"));

    // Act
    const first = await handler(AS_OF);
    const billed = await world.takeClaims();
    const listed = await world.quarantine.list();
    const skipped = await handler(AS_OF + 300_000);

    // Assess: the 50 in that run; the bad one set aside with what failed (no PHI), counted, and then skipped.
    expect(billed.map((line) => line.patientId).sort()).toEqual(
      patients.filter((id) => id !== "iso-7").sort(),
    );
    expect(first).toMatchObject({ patientsQuarantined: 1, quarantinedPatients: 0 });
    expect(listed).toEqual([
      expect.objectContaining({
        patientId: "iso-7",
        error: "CorruptItemError",
        reason: "an unreadable fact item: fact is not JSON",
        item: "FACT#iso-7-a0",
        attempts: 1,
      }),
    ]);
    expect(listed[0]?.retryAt).toBeUndefined();
    const metrics = log.mock.calls
      .map((call: unknown[]) => String(call[0]))
      .filter((line: string) => line.includes('"_aws"'))
      .map((line: string) => JSON.parse(line));
    expect(metrics.find((m: Record<string, unknown>) => "PatientsQuarantined" in m)).toMatchObject({
      PatientsQuarantined: 1,
    });
    expect(JSON.stringify(log.mock.calls)).not.toContain("iso-7");
    expect(skipped).toMatchObject({ patientsDecided: 0, quarantinedPatients: 1 });
    expect(await world.takeClaims()).toEqual([]);

    // Act: repair the item, release the patient (what `npm run ops -- quarantine retry` does), run again.
    await world.documents.send(
      new UpdateCommand({
        TableName: world.resources.tableName,
        Key: key,
        UpdateExpression: "SET fact = :good",
        ExpressionAttributeValues: { ":good": good },
      }),
    );
    expect(await world.quarantine.release("iso-7")).toBe(true);
    const retried = await handler(AS_OF + 600_000);

    // Assess
    expect(retried).toMatchObject({ patientsDecided: 1, quarantinedPatients: 0, patientsQuarantined: 0 });
    expect(summary(await world.takeClaims())).toEqual(["iso-7 original r0 99422 12"]);
    expect(await world.quarantine.list()).toEqual([]);
  });

  it("retries by itself a patient whose failure may pass (a throttle that outlasted the SDK's retries)", async () => {
    // Prepare: reading one patient of two is throttled, once.
    const world = await finalizerWorld();
    await world.seed([
      ...episode("thr-1", [{ practitionerId: "dr-adams", minutes: 12 }]),
      ...episode("thr-2", [{ practitionerId: "dr-adams", minutes: 12 }]),
    ]);
    let throttled = false;
    const store: EpisodeStore = {
      ...bind(world.store),
      readPatient: async (patientId, ...rest) => {
        if (patientId === "thr-1" && !throttled) {
          throttled = true;
          throw Object.assign(new Error("Throughput exceeds the current capacity"), {
            name: "ThrottlingException",
            $fault: "client",
            $retryable: { throttling: true },
            $metadata: {},
          });
        }
        return world.store.readPatient(patientId, ...rest);
      },
    };

    // Act
    const first = await world.run(AS_OF, { store });
    const [entry] = await world.quarantine.list();
    const early = await world.run(AS_OF + 60_000, { store });
    const later = await world.run(AS_OF + 16 * 60_000, { store });
    const lines = await world.takeClaims();

    // Assess: set aside with an automatic retry 15 minutes later, skipped before, decided and released after.
    expect(first).toMatchObject({ patientsDecided: 1, patientsQuarantined: 1 });
    expect(entry).toMatchObject({ patientId: "thr-1", error: "ThrottlingException", attempts: 1 });
    // 15 minutes after the failing run's start (the test clock moves on with real time from AS_OF).
    expect((entry?.retryAt ?? 0) - AS_OF - 15 * 60_000).toBeGreaterThanOrEqual(0);
    expect((entry?.retryAt ?? 0) - AS_OF - 15 * 60_000).toBeLessThan(5_000);
    expect(early).toMatchObject({ patientsDecided: 0, patientsRetrying: 1, quarantinedPatients: 0 });
    expect(later).toMatchObject({ patientsDecided: 1, patientsQuarantined: 0 });
    expect(summary(lines)).toEqual(["thr-1 original r0 99422 12", "thr-2 original r0 99422 12"]);
    expect(await world.quarantine.list()).toEqual([]);
  });
});

describe("append-only decisions (invariant 12)", () => {
  it("a run that loses the race for a patient cannot overwrite the winner's records or send a second line", async () => {
    // Prepare: A commits only once B has read the patient, and B commits only once A has committed.
    const world = await finalizerWorld();
    await world.seed(episode("race", [{ practitionerId: "np-baker", minutes: 15 }]));
    const signal = () => {
      let resolve: () => void = () => undefined;
      const promise = new Promise<void>((done) => {
        resolve = done;
      });
      return { promise, resolve };
    };
    const bRead = signal();
    const aCommitted = signal();
    const storeA: EpisodeStore = {
      ...bind(world.store),
      commit: async (commit) => {
        await bRead.promise;
        const result = await world.store.commit(commit);
        aCommitted.resolve();
        return result;
      },
    };
    const storeB: EpisodeStore = {
      ...bind(world.store),
      readPatient: async (...args) => {
        const view = await world.store.readPatient(...args);
        bRead.resolve();
        return view;
      },
      commit: async (commit) => {
        await aCommitted.promise;
        return world.store.commit(commit);
      },
    };

    // Act: both at once, B's clock an hour later so its records would differ.
    const [a, b] = await Promise.all([
      world.run(AS_OF, { store: storeA }),
      world.run(AS_OF + 3_600_000, { store: storeB }),
    ]);
    const lines = await world.takeClaims();
    const records = await world.audits("race");

    // Assess
    expect(a.conflicts).toBe(0);
    expect(b.conflicts).toBe(1);
    expect(summary(lines)).toEqual(["race original r0 99422 15"]);
    expect(records).toHaveLength(1);
    expect(Date.parse(records[0].decidedAt) - AS_OF).toBeLessThan(3_600_000);
    expect(records[0].line).toEqual(lines[0]);
  });

  it("R16: a changed decision adds a record; the one behind the original line stays as it was", async () => {
    // Prepare: a 6-minute episode billed as 99421.
    const world = await finalizerWorld();
    await world.seed(episode("append", [{ practitionerId: "dr-adams", minutes: 6 }]));
    await world.run(AS_OF);
    const [original] = await world.takeClaims();
    const [firstRecord] = await world.audits("append");

    // Act: 8 more minutes on 2026-03-04 arrive late.
    await world.seed([
      activity({
        id: "append-a9",
        patientId: "append",
        at: "2026-03-04T16:00:00Z",
        practitionerId: "dr-adams",
        minutes: 8,
        inResponseTo: "append-q",
      }),
    ]);
    await world.run(AS_OF + DAY);
    const [replacement] = await world.takeClaims();
    const records = await world.audits("append");

    // Assess
    expect(records).toHaveLength(2);
    expect(records[0]).toEqual(firstRecord);
    expect(records[0]).toMatchObject({ procedureCode: "99421", totalMinutes: 6, line: original });
    expect(records[1]).toMatchObject({ procedureCode: "99422", totalMinutes: 14, line: replacement });
    expect(replacement).toMatchObject({ action: "replacement", revision: 1, adjusts: 0 });
  });
});

describe("a backfill: a year of weekly episodes for twelve patients written at once", () => {
  it("is worked off run by run within a small time budget, every week's line once", async () => {
    // Prepare
    const world = await finalizerWorld();
    const patients = Array.from({ length: 12 }, (_, i) => `year-${i}`);
    await world.seed(patients.flatMap(yearOfWeeks));
    const asOf = Date.parse("2026-03-12T12:00:00Z");

    // Act
    const runs = [];
    for (let i = 0; i < 50; i++) {
      const report = await world.run(asOf + i * 300_000, { budgetMs: 500 });
      runs.push(report);
      if (!report.stoppedEarly) break;
    }
    const lines = await world.takeClaims();

    // Assess: each patient's 52 weeks (104 records and outbox entries, 104 markers) commit in several
    // transactions of at most 100 actions; nothing is sent twice, nothing is lost.
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.at(-1)?.stoppedEarly).toBe(false);
    expect(lines).toHaveLength(12 * 52);
    expect(new Set(lines.map((line) => `${line.claimLineId}-r${line.revision}`)).size).toBe(12 * 52);
    expect(lines.every((line) => line.action === "original" && line.procedureCode === "99421")).toBe(true);
    expect((await world.run(asOf + DAY)).patientsDecided).toBe(0);
  }, 120_000);

  it("a crash between two transactions of one large commit ends, on the next run, with every line once", async () => {
    // Prepare: the second TransactWriteItems of the run fails as an outage would.
    const world = await finalizerWorld();
    await world.seed(yearOfWeeks("cut"));
    let transactions = 0;
    const failSecond: InitializeMiddleware<object, object> = (next, context) => async (args) => {
      if (context.commandName === "TransactWriteItemsCommand" && ++transactions === 2)
        throw unavailable("crash between transactions");
      return next(args);
    };
    (world.dynamodb.middlewareStack as MiddlewareStack<object, object>).add(failSecond, {
      step: "initialize",
      name: "crashBetweenTransactions",
    });

    // Act
    await expect(world.run(AS_OF)).rejects.toThrow(/crash between transactions/);
    const second = await world.run(AS_OF + 60_000);
    const lines = await world.takeClaims();

    // Assess
    expect(second.conflicts).toBe(0);
    expect(lines).toHaveLength(52);
    expect(new Set(lines.map((line) => line.claimLineId)).size).toBe(52);
    expect((await world.run(AS_OF + 120_000)).patientsDecided).toBe(0);
  });
});
