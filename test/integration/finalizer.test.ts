import type { SendMessageBatchCommandInput } from "@aws-sdk/client-sqs";
import type { InitializeMiddleware, MiddlewareStack } from "@smithy/types";
import { describe, expect, it } from "vitest";
import type { FinalizeDependencies } from "../../functions/finalize/finalize-due-episodes.js";
import type { ClaimSink } from "../../functions/queue/claims-sender.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import type { EpisodeStore } from "../../functions/store/episode-store.js";
import { activity, consent, inquiry, tenant, visit } from "../support/domain-builders.js";
import {
  AS_OF,
  bind,
  episode,
  type FinalizerWorld,
  finalizerWorld,
  summary,
  unavailable,
} from "../support/finalizer-world.js";

describe("the finalizer against DynamoDB Local and the SQS-compatible server", () => {
  it("decides a week of mixed episodes, sends the billable lines and keeps an audit record of each", async () => {
    // Prepare
    const world = await finalizerWorld();
    await world.seed([
      ...episode("p-99422", [{ practitionerId: "dr-adams", minutes: 12 }]),
      ...episode("p-99423", [
        { practitionerId: "np-baker", minutes: 15 },
        { practitionerId: "dr-evans", minutes: 10 },
      ]),
      ...episode("p-below", [{ practitionerId: "dr-adams", minutes: 4 }]),
      ...episode("p-bundled", [{ practitionerId: "dr-adams", minutes: 8 }]),
      visit({ id: "p-bundled-v", patientId: "p-bundled", at: "2026-03-05T15:00:00Z" }),
      activity({
        id: "p-npi-a",
        patientId: "p-npi",
        at: "2026-03-03T15:00:00Z",
        practitionerId: "dr-adams",
        minutes: 10,
      }),
      ...episode("p-98970", [{ practitionerId: "pt-chen", minutes: 6 }]),
    ]);

    // Act
    const report = await world.run(AS_OF);
    const lines = await world.takeClaims();

    // Assess: 12 -> 99422, 15 + 10 -> 99423 by the NP, PT 6 -> 98970; the rest explained, not billed.
    expect(summary(lines)).toEqual([
      "p-98970 original r0 98970 6",
      "p-99422 original r0 99422 12",
      "p-99423 original r0 99423 25",
    ]);
    expect(lines.find((line) => line.patientId === "p-99423")?.renderingProviderNpi).toBe("1003000134");
    expect(report.episodesFinalized).toEqual({
      billable: 3,
      "below-threshold": 1,
      "bundled-into-visit": 1,
      "not-patient-initiated": 1,
    });
    expect(report.linesSent).toEqual({ original: 3, void: 0, replacement: 0 });
    expect(report.billableMinutes).toBe(43);
    expect(report.chargeCents).toBe(2846 + 4496 + 1132);
    const [bundled] = await world.audits("p-bundled");
    expect(bundled).toMatchObject({
      outcome: "bundled-into-visit",
      reasons: ["bundled-into-visit"],
      bundledVisit: { visitId: "p-bundled-v", minutes: 8 },
      evidence: { inquiries: ["p-bundled-q"], counted: ["p-bundled-a0"], visits: ["p-bundled-v"] },
      minutesByClinician: [{ practitionerId: "dr-adams", minutes: 8 }],
      codeSetYear: 2026,
      policies: { settleHours: 48, windowMode: "calendar-days", timezone: "America/New_York" },
      decision: "decided",
    });
    expect(bundled.line).toBeUndefined();
    const [billed] = await world.audits("p-99422");
    expect(billed.line).toEqual(lines.find((l) => l.patientId === "p-99422"));
    // The run's as-of instant, read when it started (the test clock moves on with real time from AS_OF).
    expect(Date.parse(billed.decidedAt) - AS_OF).toBeGreaterThanOrEqual(0);
    expect(Date.parse(billed.decidedAt) - AS_OF).toBeLessThan(5_000);

    // A second run finds nothing due and sends nothing.
    expect((await world.run(AS_OF + 60_000)).patientsDecided).toBe(0);
    expect(await world.takeClaims()).toEqual([]);
  });

  it("works through a backlog of 2,000 due episodes over several runs with a small time budget", async () => {
    // Prepare
    const world = await finalizerWorld();
    const patients = Array.from({ length: 2000 }, (_, i) => `backlog-${i}`);
    await world.seed(patients.flatMap((id) => episode(id, [{ practitionerId: "dr-adams", minutes: 6 }])));

    // Act: runs of at most 1.5 s each until one finishes the backlog.
    const runs = [];
    for (let i = 0; i < 100; i++) {
      const report = await world.run(AS_OF + i * 60_000, { budgetMs: 1500 });
      runs.push(report);
      if (!report.stoppedEarly) break;
    }
    const lines = await world.takeClaims();

    // Assess
    expect(runs.length).toBeGreaterThan(1);
    expect(runs.at(-1)?.stoppedEarly).toBe(false);
    expect(runs.reduce((sum, run) => sum + run.linesSent.original, 0)).toBe(2000);
    expect(lines).toHaveLength(2000);
    expect(new Set(lines.map((line) => line.claimLineId)).size).toBe(2000);
    expect(new Set(lines.map((line) => line.patientId))).toEqual(new Set(patients));
  }, 120_000);

  describe("a crash at any point ends, on the next run, with each line delivered exactly once", () => {
    const crashes: Array<[string, (world: FinalizerWorld) => Partial<FinalizeDependencies>]> = [
      [
        "before committing (DynamoDB fails every commit of the chunk)",
        ({ store }) => ({
          store: { ...bind(store), commit: async () => Promise.reject(unavailable("crash before commit")) },
        }),
      ],
      [
        "after committing, before sending",
        () => ({
          claims: { send: async () => Promise.reject(new Error("crash before send")) } satisfies ClaimSink,
        }),
      ],
      [
        "after sending, before the outbox is emptied",
        ({ claims }) => ({
          claims: {
            send: async (lines) => {
              await claims.send(lines);
              throw new Error("crash after send");
            },
          } satisfies ClaimSink,
        }),
      ],
      [
        "after the outbox is emptied, before the run returns",
        ({ store }) => ({
          store: {
            ...bind(store),
            confirmSent: async (entries) => {
              await store.confirmSent(entries);
              throw new Error("crash after confirm");
            },
          } satisfies EpisodeStore,
        }),
      ],
    ];

    for (const [when, crashing] of crashes) {
      it(when, async () => {
        // Prepare
        const world = await finalizerWorld();
        await world.seed([
          ...episode("crash-1", [{ practitionerId: "dr-adams", minutes: 12 }]),
          ...episode("crash-2", [{ practitionerId: "np-baker", minutes: 30 }]),
          ...episode("crash-3", [{ practitionerId: "pt-chen", minutes: 7 }]),
        ]);

        // Act: a run that crashes, then a normal run a minute later (within the queue's 5-minute dedup window),
        // then one more for good measure.
        await expect(world.run(AS_OF, crashing(world))).rejects.toThrow(/crash/);
        await world.run(AS_OF + 60_000);
        await world.run(AS_OF + 120_000);
        const lines = await world.takeClaims();

        // Assess
        expect(summary(lines)).toEqual([
          "crash-1 original r0 99422 12",
          "crash-2 original r0 99423 30",
          "crash-3 original r0 98970 7",
        ]);
      });
    }
  });

  it("a line sent again after a crash is the same message: the queue drops it within its wall-clock window, a consumer by claimLineId + revision after", async () => {
    // Prepare: every SendMessageBatch entry the finalizer sends, recorded as SQS receives it.
    const world = await finalizerWorld();
    await world.seed(episode("resend", [{ practitionerId: "dr-adams", minutes: 12 }]));
    const sent: Array<{ id?: string; body?: string }> = [];
    const recording: InitializeMiddleware<object, object> = (next, context) => async (args) => {
      if (context.commandName === "SendMessageBatchCommand") {
        const input = args.input as SendMessageBatchCommandInput;
        for (const entry of input.Entries ?? [])
          sent.push({ id: entry.MessageDeduplicationId, body: entry.MessageBody });
      }
      return next(args);
    };
    (world.sqs.middlewareStack as MiddlewareStack<object, object>).add(recording, { step: "initialize" });

    // Act: the run crashes after the queue accepted the line; the next one sends it again.
    await expect(
      world.run(AS_OF, {
        claims: {
          send: async (lines) => {
            await world.claims.send(lines);
            throw new Error("crash after send");
          },
        },
      }),
    ).rejects.toThrow(/crash/);
    await world.run(AS_OF + 60_000);
    const received = await world.takeClaims();

    // Assess: two sends of one message, identical in dedup id and body. These runs are seconds apart in wall-clock
    // time, so the queue's 5-minute window drops the second; a resend later than that would be delivered again,
    // and what a consumer then sees is this same body twice: docs/CLAIMS-QUEUE.md tells it to deduplicate on
    // claimLineId + revision, which makes the two one.
    expect(sent).toHaveLength(2);
    expect(sent[1]).toEqual(sent[0]);
    const line = JSON.parse(sent[0]?.body ?? "{}");
    expect(sent[0]?.id).toBe(`${line.claimLineId}-r${line.revision}`);
    expect(received).toEqual([line]);
    const deduplicated = new Map(
      sent.map((entry) => {
        const body = JSON.parse(entry.body ?? "{}");
        return [`${body.claimLineId}-r${body.revision}`, body];
      }),
    );
    expect([...deduplicated.values()]).toEqual([line]);
  });

  it("a crash before sending, on a run woken only by the patient's own due marker, is finished by the next run", async () => {
    // Prepare: a run on 2026-03-05 decides the patient while its episode is still open: the fact markers are
    // cleared and only the patient's state marker (due 2026-03-11) remains.
    const world = await finalizerWorld();
    await world.seed(episode("woken", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await world.run(Date.parse("2026-03-05T12:00:00Z"));
    expect(await world.takeClaims()).toEqual([]);

    // Act: the run that finds the episode due commits its line to the outbox and crashes before sending it.
    await expect(
      world.run(AS_OF, { claims: { send: async () => Promise.reject(new Error("crash before send")) } }),
    ).rejects.toThrow(/crash/);
    const next = await world.run(AS_OF + 60_000);
    const lines = await world.takeClaims();

    // Assess: the committed line waits in the outbox, whose own marker wakes the next run: it sends the line
    // without deciding the patient again.
    expect(next.patientsDecided).toBe(0);
    expect(summary(lines)).toEqual(["woken original r0 99422 12"]);
    expect(await world.takeClaims()).toEqual([]);
    expect((await world.run(AS_OF + 120_000)).patientsDecided).toBe(0);
  });

  it("R16: a late visit in the window voids the sent line; a late activity replaces it with the new tier", async () => {
    // Prepare: two episodes billed as 99421 (6 minutes each).
    const world = await finalizerWorld();
    await world.seed([
      ...episode("late-visit", [{ practitionerId: "dr-adams", minutes: 6 }]),
      ...episode("late-time", [{ practitionerId: "dr-adams", minutes: 6 }]),
    ]);
    await world.run(AS_OF);
    const originals = await world.takeClaims();

    // Act: a visit on 2026-03-05 and 8 more minutes on 2026-03-04 arrive after the lines were sent.
    await world.seed([
      visit({ id: "late-visit-v", patientId: "late-visit", at: "2026-03-05T15:00:00Z" }),
      activity({
        id: "late-time-a9",
        patientId: "late-time",
        at: "2026-03-04T16:00:00Z",
        practitionerId: "np-baker",
        minutes: 8,
        inResponseTo: "late-time-q",
      }),
    ]);
    const report = await world.run(AS_OF + 86_400_000);
    const adjustments = await world.takeClaims();

    // Assess
    expect(summary(originals)).toEqual(["late-time original r0 99421 6", "late-visit original r0 99421 6"]);
    expect(summary(adjustments)).toEqual(["late-time replacement r1 99422 14", "late-visit void r1 99421 6"]);
    const byPatient = new Map(adjustments.map((line) => [line.patientId, line]));
    expect(byPatient.get("late-visit")?.claimLineId).toBe(
      originals.find((l) => l.patientId === "late-visit")?.claimLineId,
    );
    expect(byPatient.get("late-visit")?.adjusts).toBe(0);
    expect(byPatient.get("late-time")?.renderingProviderNpi).toBe("1003000134");
    expect(report.linesSent).toEqual({ original: 0, void: 1, replacement: 1 });
    expect(report.billableMinutes).toBe(14 - 6);
  });

  it("R11, R12: a policy that looks back years reads that far (one more Query), the default policy does not", async () => {
    // Prepare: a consent 500 days and a visit two years before a new episode; a practice that requires a known
    // visit (R12) and accepts consents for two years (R11), and one on the defaults.
    const facts = (patientId: string) => [
      ...episode(patientId, [{ practitionerId: "dr-adams", minutes: 12 }]),
      consent({ id: `${patientId}-c`, patientId, at: "2024-10-18T15:00:00Z" }),
      visit({ id: `${patientId}-v`, patientId, at: "2024-03-04T15:00:00Z" }),
    ];
    const longer = tenant({
      consent: "required",
      consentValidityDays: 730,
      establishedPatient: "require-known-visit",
    });
    const defaults = tenant({ consent: "required" });
    const world = await finalizerWorld();
    await world.seed([...facts("looks-back"), ...facts("defaults")]);

    // Act
    const lookbacks: number[] = [];
    const store: EpisodeStore = {
      ...bind(world.store),
      readLookback: async (...args) => {
        lookbacks.push(args[1]);
        return world.store.readLookback(...args);
      },
    };
    const only = (patientId: string): EpisodeStore => ({
      ...store,
      dueMarkers: async (...args: Parameters<EpisodeStore["dueMarkers"]>) => {
        const page = await store.dueMarkers(...args);
        return { ...page, markers: page.markers.filter((marker) => marker.patientId === patientId) };
      },
    });
    await world.run(AS_OF, { tenant: fixedTenantConfig(longer), store: only("looks-back") });
    const readsForLonger = lookbacks.length;
    await world.run(AS_OF, { tenant: fixedTenantConfig(defaults), store: only("defaults") });
    const lines = await world.takeClaims();
    const [defaultsRecord] = await world.audits("defaults");

    // Assess: the visit and the consent found years back bill the episode; the defaults read no further than a
    // year of consents and see none valid.
    expect(summary(lines)).toEqual(["looks-back original r0 99422 12"]);
    expect(readsForLonger).toBe(1);
    expect(lookbacks).toHaveLength(1);
    expect(defaultsRecord).toMatchObject({ outcome: "needs-review", reasons: ["consent-missing"] });
  });

  it("its DynamoDB requests do not grow with 10x more episodes that are not due", async () => {
    // Prepare: 20 due episodes alone, and the same 20 with 200 episodes still open (replies on 2026-03-11).
    const due = Array.from({ length: 20 }, (_, i) =>
      episode(`due-${i}`, [{ practitionerId: "dr-adams", minutes: 12 }]),
    ).flat();
    const open = Array.from({ length: 200 }, (_, i) => [
      inquiry({ id: `open-${i}-q`, patientId: `open-${i}`, at: "2026-03-11T13:00:00Z" }),
      activity({
        id: `open-${i}-a`,
        patientId: `open-${i}`,
        at: "2026-03-11T14:00:00Z",
        practitionerId: "dr-adams",
        minutes: 12,
        inResponseTo: `open-${i}-q`,
      }),
    ]).flat();
    const alone = await finalizerWorld();
    await alone.seed(due);
    const crowded = await finalizerWorld();
    await crowded.seed([...due, ...open]);
    alone.counter.reset();
    crowded.counter.reset();

    // Act
    const aloneReport = await alone.run(AS_OF);
    const crowdedReport = await crowded.run(AS_OF);

    // Assess: the same work, the same requests; claim lines in SQS batches of 10.
    expect(crowdedReport.linesSent.original).toBe(20);
    expect(aloneReport.linesSent.original).toBe(20);
    expect(crowded.counter.snapshot()).toEqual(alone.counter.snapshot());
    expect(crowded.counter.snapshot()["SQS.SendMessageBatch"]).toBe(2);
    expect(crowded.counter.total("DynamoDB")).toBe(alone.counter.total("DynamoDB"));
  });
});
