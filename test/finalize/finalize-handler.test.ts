import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { lambdaContext } from "../../bin/local/pipeline.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { factReach } from "../../functions/domain/decision-scope.js";
import { factDigest } from "../../functions/domain/fact-digest.js";
import { createFinalizeHandler } from "../../functions/finalize/finalize-handler.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import type { EpisodeStore } from "../../functions/store/episode-store.js";
import type { Quarantine } from "../../functions/store/quarantine-store.js";
import { dueShardOf } from "../../functions/store/table-design.js";
import { activity, inquiry, PATIENT, tenant } from "../support/domain-builders.js";

const AS_OF = Date.parse("2026-03-12T12:00:00Z");
const TENANT = tenant();

/** An in-memory store of one patient, enough to drive the handler and read what it emits. */
function memoryStore(): EpisodeStore {
  const facts = [
    inquiry({ id: "q1", at: "2026-03-02T14:00:00Z" }),
    activity({
      id: "a1",
      at: "2026-03-02T19:00:00Z",
      practitionerId: "dr-adams",
      minutes: 12,
      inResponseTo: "q1",
    }),
  ];
  let committed = false;
  const marker = { dueAt: AS_OF - 3_600_000, changedAt: Date.parse("2026-03-02T14:00:00Z") };
  return {
    dueMarkers: async (shard) => ({
      markers:
        committed || shard !== dueShardOf(PATIENT) ? [] : [{ patientId: PATIENT, kind: "fact", ...marker }],
    }),
    readPatient: async (patientId, reachFrom) => ({
      patientId,
      facts: committed
        ? []
        : facts.map((fact) => ({ fact, digest: factDigest(fact), reach: factReach(fact), marker })),
      episodes: [],
      outbox: [],
      rechecks: [],
      reachFrom,
    }),
    readMessages: async () => [],
    readLookback: async () => [],
    commit: async (commit) => {
      committed = true;
      const outbox = commit.records.flatMap((record, seq) =>
        record.line === undefined ? [] : [{ patientId: PATIENT, key: `OUTBOX#1#${seq}`, line: record.line }],
      );
      return { status: "committed", version: 1, outbox };
    },
    confirmSent: async () => undefined,
    clinicianTime: async () => [],
    recheck: async () => undefined,
    configProgress: async () => undefined,
    recordConfigProgress: async () => true,
  };
}

const noQuarantine: Quarantine = {
  list: async () => [],
  add: async () => undefined,
  release: async () => false,
};

describe("the finalize handler", () => {
  let log: ReturnType<typeof vi.spyOn>;

  beforeEach(() => {
    vi.stubEnv("POWERTOOLS_METRICS_DISABLED", "false");
    log = vi.spyOn(console, "log").mockImplementation(() => undefined);
    vi.spyOn(console, "info").mockImplementation(() => undefined);
  });
  afterEach(() => {
    vi.restoreAllMocks();
    vi.unstubAllEnvs();
  });

  it("emits the business metrics as EMF: episodes by outcome, lines by action, minutes, charges, lag", async () => {
    // Prepare
    const sent: ClaimLine[] = [];
    const handler = createFinalizeHandler({
      store: memoryStore(),
      quarantine: noQuarantine,
      claims: { send: async (lines) => void sent.push(...lines) },
      tenant: fixedTenantConfig(TENANT),
      retentionDays: 2190,
      adjustmentHorizonDays: 365,
      clock: () => AS_OF,
      maxBudgetMs: 60_000,
    });

    // Act
    const report = await handler({}, lambdaContext("finalize"));

    // Assess
    const documents = log.mock.calls
      .map((call: unknown[]) => String(call[0]))
      .filter((line: string) => line.includes('"_aws"'))
      .map((line: string) => JSON.parse(line));
    const metric = (name: string) => documents.find((document: Record<string, unknown>) => name in document);
    expect(sent.map((line) => [line.procedureCode, line.totalMinutes])).toEqual([["99422", 12]]);
    expect(metric("EpisodesFinalized")).toMatchObject({
      EpisodesFinalized: 1,
      outcome: "billable",
      service: "finalize",
    });
    expect(metric("ClaimLinesSent")).toMatchObject({ ClaimLinesSent: 1, action: "original" });
    expect(metric("BillableMinutes")).toMatchObject({
      BillableMinutes: 12,
      ChargesCents: 2846,
      FinalizerLagSeconds: 3600,
    });
    expect(report).toMatchObject({ patientsDecided: 1, lagMs: 3_600_000, stoppedEarly: false });
  });

  it("emits the capture figures (issue 15): episodes with clinician time, open review items by kind and age, minutes per clinician as log lines", async () => {
    // Prepare: one open episode item first opened five hours before the run.
    const info = vi.spyOn(console, "info").mockImplementation(() => undefined);
    const handler = createFinalizeHandler({
      store: memoryStore(),
      quarantine: noQuarantine,
      claims: { send: async () => undefined },
      tenant: fixedTenantConfig(TENANT),
      retentionDays: 2190,
      adjustmentHorizonDays: 365,
      clock: () => AS_OF,
      maxBudgetMs: 60_000,
      worklist: { openItems: async () => [{ kind: "episode", openedAt: AS_OF - 5 * 3_600_000 }] },
    });

    // Act
    await handler({}, lambdaContext("finalize"));

    // Assess
    const documents = log.mock.calls
      .map((call: unknown[]) => String(call[0]))
      .filter((line: string) => line.includes('"_aws"'))
      .map((line: string) => JSON.parse(line));
    const lines = info.mock.calls.map((call: unknown[]) => String(call[0]));
    expect(documents.find((d: Record<string, unknown>) => "CaptureEpisodesWithTime" in d)).toMatchObject({
      CaptureEpisodesWithTime: 1,
    });
    expect(documents.find((d: Record<string, unknown>) => "CaptureEpisodes" in d)).toMatchObject({
      CaptureEpisodes: 1,
      outcome: "billable",
    });
    const byKind = (name: string) =>
      documents
        .filter((d: Record<string, unknown>) => name in d)
        .map((d: Record<string, unknown>) => [d.kind, d[name]]);
    expect(byKind("OpenReviewItems")).toEqual([
      ["episode", 1],
      ["unattributed-time", 0],
      ["quarantined-patient", 0],
    ]);
    expect(byKind("OldestOpenReviewItemHours")).toEqual([
      ["episode", 5],
      ["unattributed-time", 0],
      ["quarantined-patient", 0],
    ]);
    const minutes = lines
      .filter((line) => line.includes("clinician minutes"))
      .map((line) => JSON.parse(line));
    expect(minutes).toEqual([expect.objectContaining({ practitionerId: "dr-adams", minutes: 12 })]);
    expect(lines.join("\n")).not.toContain(PATIENT);
  });

  it("keeps its time budget 30 s short of the Lambda timeout", async () => {
    // Prepare: a context with 20 s left leaves no budget: the run takes no patient.
    const handler = createFinalizeHandler({
      store: memoryStore(),
      quarantine: noQuarantine,
      claims: { send: async () => undefined },
      tenant: fixedTenantConfig(TENANT),
      retentionDays: 2190,
      adjustmentHorizonDays: 365,
      clock: (() => {
        let now = AS_OF;
        return () => (now += 1);
      })(),
      maxBudgetMs: 60_000,
    });

    // Act
    const report = await handler(
      {},
      { ...lambdaContext("finalize"), getRemainingTimeInMillis: () => 20_000 },
    );

    // Assess
    expect(report).toMatchObject({ patientsDecided: 0, stoppedEarly: true });
  });
});
