import { QueryCommand, UpdateCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, inject, it } from "vitest";
import { runAudit } from "../../bin/audit/audit-command.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { FinalizeReport } from "../../functions/finalize/finalize-due-episodes.js";
import { auditPacketSchema } from "../../functions/review/audit-packet.js";
import { captureFiguresSchema } from "../../functions/review/figures.js";
import {
  handleReviewRequest,
  listResponseSchema,
  type ReviewResponse,
} from "../../functions/review/review-api.js";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import { activity, consent, inquiry, tenant, visit } from "../support/domain-builders.js";
import { AS_OF, episode, finalizerWorld, reviewServiceOf } from "../support/finalizer-world.js";

/**
 * The review API (issue 15) end to end against DynamoDB Local and the SQS-compatible server: items the real
 * finalizer opened, resolved through `handleReviewRequest` (the function the deployed Lambda and `npm start`
 * serve), decided again by the next finalizer run. Lines are worked out by hand from DOMAIN.md: the episodes
 * open on Monday 2026-03-02 (America/New_York), window 2026-03-02..2026-03-08, due 48 h after it ends, so by
 * AS_OF (2026-03-12 12:00Z); R6 tiers 5-10 min 99421, 11-20 99422, 21+ 99423.
 */

const HOUR = 3_600_000;
const CONSENT_REQUIRED = { tenant: fixedTenantConfig(tenant({ consent: "required" })) };

async function reviewWorld(options = CONSENT_REQUIRED) {
  const world = await finalizerWorld();
  let now = AS_OF + HOUR;
  const service = reviewServiceOf(world, options.tenant, () => now);
  const call = async (method: string, path: string, body?: unknown, accept = "application/json") => {
    const [pathname, search] = path.split("?");
    const answer = await handleReviewRequest(
      {
        method,
        path: pathname as string,
        query: new URLSearchParams(search ?? ""),
        headers: { "content-type": "application/json", accept },
        body: body === undefined ? undefined : typeof body === "string" ? body : JSON.stringify(body),
      },
      service,
    );
    // biome-ignore lint/suspicious/noExplicitAny: answers are checked field by field, or parsed with their schema
    const json: any = answer.body === "" || answer.body.startsWith("<") ? undefined : JSON.parse(answer.body);
    return { ...answer, json };
  };
  const list = async (status: string) =>
    listResponseSchema.parse((await call("GET", `/review/items?status=${status}`)).json).items;
  const open = () => list("open");
  const itemOf = async (patientId: string) => {
    const item = (await open()).find((candidate) => candidate.patientId === patientId);
    if (item === undefined) throw new Error(`no open item for ${patientId}`);
    return item;
  };
  const resolve = async (patientId: string, body: Record<string, unknown>) =>
    call("POST", `/review/items/${(await itemOf(patientId)).id}/resolutions`, { by: "Pat Biller", ...body });
  const reports: FinalizeReport[] = [];
  /** The finalizer's next run, an hour after the last step, and the lines it sent. */
  const decideAgain = async (): Promise<ClaimLine[]> => {
    now += HOUR;
    reports.push(await world.run(now, options));
    return world.takeClaims();
  };
  await world.run(AS_OF, options);
  return {
    world,
    service,
    call,
    list,
    open,
    itemOf,
    resolve,
    decideAgain,
    reports,
    setNow: (at: number) => (now = at),
  };
}

const line = (l: ClaimLine) => [
  l.patientId,
  l.action,
  l.revision,
  l.procedureCode,
  l.totalMinutes,
  l.diagnosisCodes,
];
const problemOf = (answer: ReviewResponse) => ({
  status: answer.statusCode,
  type: answer.headers["content-type"],
  path: answer.statusCode < 400 ? undefined : (JSON.parse(answer.body) as { path?: string }).path,
});

describe("review API (issue 15) against DynamoDB Local", () => {
  it("R19 record-consent: the consent-missing episode bills 99422 at the next run, and its item is resolved", async () => {
    // Prepare: 12 min by Dr Adams, no consent on file.
    const review = await reviewWorld();
    await review.world.seed(episode("p1", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await review.decideAgain();
    expect((await review.itemOf("p1")).reasons).toEqual(["consent-missing"]);

    // Act: consent dated within the 365 days before the window start.
    const answer = await review.resolve("p1", { action: "record-consent", consentDate: "2025-12-01" });
    const lines = await review.decideAgain();

    // Assess
    expect(answer.statusCode).toBe(201);
    expect(answer.json.attestation).toMatchObject({
      by: "Pat Biller",
      at: new Date(AS_OF + 2 * HOUR).toISOString(),
    });
    expect(lines.map(line)).toEqual([["p1", "original", 0, "99422", 12, ["E11.9"]]]);
    expect(await review.open()).toEqual([]);
    const resolved = await review.list("resolved");
    expect(resolved.map((item) => [item.patientId, item.reasons])).toEqual([["p1", []]]);
  });

  it("R19 supply-diagnoses: an episode whose messages carry no problem code bills with the codes supplied", async () => {
    // Prepare: inquiry and reply without diagnoses; consent not tracked.
    const review = await reviewWorld({ tenant: fixedTenantConfig(tenant()) });
    await review.world.seed([
      inquiry({ id: "p2-q", patientId: "p2", at: "2026-03-02T14:00:00Z", diagnosisCodes: [] }),
      activity({
        id: "p2-a",
        patientId: "p2",
        at: "2026-03-02T19:00:00Z",
        practitionerId: "dr-adams",
        minutes: 7,
        inResponseTo: "p2-q",
        diagnosisCodes: [],
      }),
    ]);
    await review.decideAgain();
    expect((await review.itemOf("p2")).reasons).toEqual(["diagnosis-missing"]);

    // Act
    await review.resolve("p2", { action: "supply-diagnoses", diagnosisCodes: ["M54.50", "E11.9"] });
    const lines = await review.decideAgain();

    // Assess: 7 min is 99421.
    expect(lines.map(line)).toEqual([["p2", "original", 0, "99421", 7, ["M54.50", "E11.9"]]]);
  });

  it("R19 decide-relatedness: a prior visit with no problem code, decided unrelated, lets the episode bill; related, it does not", async () => {
    // Prepare: a visit on 2026-02-27 (within the 7 days before the window) without diagnoses, for two patients.
    const review = await reviewWorld({ tenant: fixedTenantConfig(tenant()) });
    for (const patientId of ["p3", "p4"])
      await review.world.seed([
        ...episode(patientId, [{ practitionerId: "dr-adams", minutes: 12 }]),
        visit({ id: `${patientId}-v`, patientId, at: "2026-02-27T15:00:00Z", diagnosisCodes: [] }),
      ]);
    await review.decideAgain();
    expect((await review.itemOf("p3")).reasons).toEqual(["relatedness-unknown"]);

    // Act
    await review.resolve("p3", { action: "decide-relatedness", priorVisitId: "p3-v", related: false });
    await review.resolve("p4", { action: "decide-relatedness", priorVisitId: "p4-v", related: true });
    const lines = await review.decideAgain();

    // Assess: p3 bills 99422; p4 is related-prior-visit (R8), nothing sent, nothing left open.
    expect(lines.map(line)).toEqual([["p3", "original", 0, "99422", 12, ["E11.9"]]]);
    expect(await review.open()).toEqual([]);
  });

  it("R19 map-clinician: an unknown clinician's 10 min inside the window, mapped to Dr Evans, make 22 min: 99423", async () => {
    // Prepare: Dr Adams 12 min and Dr Unknown 10 min in the same window; consent not tracked.
    const review = await reviewWorld({ tenant: fixedTenantConfig(tenant()) });
    await review.world.seed([
      ...episode("p5", [{ practitionerId: "dr-adams", minutes: 12 }]),
      activity({
        id: "p5-x",
        patientId: "p5",
        at: "2026-03-04T15:00:00Z",
        practitionerId: "dr-unknown",
        minutes: 10,
      }),
    ]);
    await review.decideAgain();
    expect((await review.itemOf("p5")).reasons).toEqual(["unknown-clinician"]);

    // Act
    const mapped = await review.resolve("p5", { action: "map-clinician", practitionerId: "dr-evans" });
    const lines = await review.decideAgain();

    // Assess
    expect(mapped.json.attestation.resolution).toEqual({
      action: "map-clinician",
      practitionerId: "dr-evans",
      activityIds: ["p5-x"],
    });
    expect(lines.map(line)).toEqual([["p5", "original", 0, "99423", 22, ["E11.9"]]]);
  });

  it("R19 map-clinician on unattributed time: time no window held is listed, mapping it opens the episode (10 min: 99421)", async () => {
    // Prepare: only Dr Unknown answered the inquiry: no window (R4), the time is unattributed.
    const review = await reviewWorld({ tenant: fixedTenantConfig(tenant()) });
    await review.world.seed([
      inquiry({ id: "p6-q", patientId: "p6", at: "2026-03-02T14:00:00Z" }),
      activity({
        id: "p6-x",
        patientId: "p6",
        at: "2026-03-02T19:00:00Z",
        practitionerId: "dr-unknown",
        minutes: 10,
        inResponseTo: "p6-q",
      }),
    ]);
    await review.decideAgain();
    const item = await review.itemOf("p6");
    expect(item).toMatchObject({
      kind: "unattributed-time",
      totalMinutes: 10,
      reasons: ["unknown-clinician"],
      evidence: { factId: "p6-x", practitionerId: "dr-unknown", at: "2026-03-02T19:00:00.000Z" },
    });

    // Act
    const doNotBill = await review.resolve("p6", { action: "do-not-bill", reason: "not an episode" });
    const mapped = await review.resolve("p6", { action: "map-clinician", practitionerId: "dr-adams" });
    const lines = await review.decideAgain();

    // Assess: do-not-bill needs an episode (409); the mapping resolves the item at once and the episode bills.
    expect(problemOf(doNotBill)).toEqual({ status: 409, type: "application/problem+json", path: undefined });
    expect(mapped.statusCode).toBe(201);
    expect(lines.map(line)).toEqual([["p6", "original", 0, "99421", 10, ["E11.9"]]]);
    expect(await review.open()).toEqual([]);
    const resolved = await review.list("resolved");
    expect(resolved[0]).toMatchObject({
      kind: "unattributed-time",
      evidence: { resolvedBy: { by: "Pat Biller", attestationId: mapped.json.attestation.id } },
    });
  });

  it("R19 do-not-bill: the needs-review episode is decided do-not-bill, nothing is sent, the item is resolved", async () => {
    // Prepare
    const review = await reviewWorld();
    await review.world.seed(episode("p7", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await review.decideAgain();

    // Act
    await review.resolve("p7", {
      action: "do-not-bill",
      reason: "the patient was told the message was free",
    });
    const lines = await review.decideAgain();
    const audits = await review.world.audits("p7");

    // Assess
    expect(lines).toEqual([]);
    // Every applicable reason stays listed; do-not-bill comes first (DOMAIN "Outcomes").
    expect(audits.at(-1)).toMatchObject({
      outcome: "do-not-bill",
      reasons: ["do-not-bill", "consent-missing"],
    });
    expect(await review.open()).toEqual([]);
  });

  it("bad input is a 400 naming the field; an unknown item 404; an item resolved or a resolution that does not apply 409", async () => {
    // Prepare: p8 needs review for consent; p9 is billable (no item); p13 for relatedness (a prior visit with no
    // problem code) and p14 for an unknown clinician, both with consent on file; a quarantined patient.
    const review = await reviewWorld();
    const onFile = (patientId: string) =>
      consent({ id: `${patientId}-c`, patientId, at: "2025-12-01T12:00:00Z" });
    await review.world.seed([
      ...episode("p8", [{ practitionerId: "dr-adams", minutes: 12 }]),
      onFile("p9"),
      ...episode("p13", [{ practitionerId: "dr-adams", minutes: 12 }]),
      visit({ id: "p13-v", patientId: "p13", at: "2026-02-27T15:00:00Z", diagnosisCodes: [] }),
      onFile("p13"),
      ...episode("p14", [{ practitionerId: "dr-adams", minutes: 12 }]),
      activity({
        id: "p14-x",
        patientId: "p14",
        at: "2026-03-04T15:00:00Z",
        practitionerId: "dr-unknown",
        minutes: 10,
      }),
      onFile("p14"),
    ]);
    await review.world.quarantine.add("p-broken", {
      reason: "an unreadable fact item",
      error: "CorruptItemError",
      at: AS_OF,
    });
    await review.decideAgain();
    const item = await review.itemOf("p8");
    const post = (id: string, body: unknown) => review.call("POST", `/review/items/${id}/resolutions`, body);

    // Act
    const badDate = await post(item.id, { action: "record-consent", consentDate: "2026-02-30", by: "Pat" });
    const noBy = await post(item.id, { action: "record-consent", consentDate: "2026-01-05" });
    const badAction = await post(item.id, { action: "bill-anyway", by: "Pat" });
    const notJson = await post(item.id, "{consentDate: 2026");
    const badStatus = await review.call("GET", "/review/items?status=pending");
    const badCursor = await review.call("GET", "/review/items?cursor=bm90IGEgY3Vyc29y");
    const unknownId = await post("bm90LWFuLWlk", { action: "do-not-bill", reason: "x", by: "Pat" });
    const noSuchItem = await post(`ri_${"0".repeat(32)}`, { action: "do-not-bill", reason: "x", by: "Pat" });
    const badEncoding = await post("%E0", { action: "do-not-bill", reason: "x", by: "Pat" });
    const wrongVisit = await post((await review.itemOf("p13")).id, {
      action: "decide-relatedness",
      priorVisitId: "not-a-visit-of-p13",
      related: false,
      by: "Pat",
    });
    const offRoster = await post((await review.itemOf("p14")).id, {
      action: "map-clinician",
      practitionerId: "dr-nobody",
      by: "Pat",
    });
    const answersNothing = await post(item.id, {
      action: "decide-relatedness",
      priorVisitId: "p13-v",
      related: false,
      by: "Pat",
    });
    const noUnknownTime = await post(item.id, {
      action: "map-clinician",
      practitionerId: "dr-adams",
      by: "Pat",
    });
    const quarantined = await post((await review.itemOf("p-broken")).id, {
      action: "do-not-bill",
      reason: "x",
      by: "Pat",
    });
    await post(item.id, { action: "record-consent", consentDate: "2026-01-05", by: "Pat" });
    await review.decideAgain();
    const resolvedAlready = await post(item.id, { action: "do-not-bill", reason: "x", by: "Pat" });

    // Assess: the failing field is named and nothing sent is echoed.
    expect([badDate, noBy, badAction, notJson, badStatus, badCursor].map(problemOf)).toEqual([
      { status: 400, type: "application/problem+json", path: "consentDate" },
      { status: 400, type: "application/problem+json", path: "by" },
      { status: 400, type: "application/problem+json", path: "action" },
      { status: 400, type: "application/problem+json", path: "body" },
      { status: 400, type: "application/problem+json", path: "query.status" },
      { status: 400, type: "application/problem+json", path: "query.cursor" },
    ]);
    for (const answer of [badDate, badAction, notJson]) {
      expect(answer.body).not.toContain("2026-02-30");
      expect(answer.body).not.toContain("bill-anyway");
    }
    expect([wrongVisit, offRoster].map(problemOf)).toEqual([
      { status: 400, type: "application/problem+json", path: "priorVisitId" },
      { status: 400, type: "application/problem+json", path: "practitionerId" },
    ]);
    expect([unknownId, noSuchItem, badEncoding].map((answer) => answer.statusCode)).toEqual([404, 404, 404]);
    expect(
      [noUnknownTime, answersNothing, quarantined, resolvedAlready].map((answer) => answer.statusCode),
    ).toEqual([409, 409, 409, 409]);
    expect(answersNothing.json.title).toContain("consent-missing");
    const page = await review.call("GET", "/review");
    expect([page.statusCode, page.headers.location]).toEqual([301, "review/"]);
    expect(resolvedAlready.json.detail ?? resolvedAlready.json.title).toContain("resolved");
  });

  it("the audit packet of a replaced line holds both revisions, both decisions behind them, and every attestation with who and when", async () => {
    // Prepare: p10 needs consent. Biller A records a consent too old (2024-12-01: more than 365 days before the
    // window), which decides nothing; biller B records a valid one: 12 min, 99422, sent as r0. Then Dr Evans's
    // 10 min late reply in the same window arrives: 22 min, 99423, a replacement r1 (R16).
    const review = await reviewWorld();
    await review.world.seed(episode("p10", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await review.decideAgain();
    const tooOld = await review.resolve("p10", {
      action: "record-consent",
      consentDate: "2024-12-01",
      by: "Biller A",
    });
    await review.decideAgain();
    const valid = await review.resolve("p10", {
      action: "record-consent",
      consentDate: "2025-12-01",
      by: "Biller B",
    });
    const [original] = await review.decideAgain();
    await review.world.seed([
      activity({
        id: "p10-late",
        patientId: "p10",
        at: "2026-03-05T16:00:00Z",
        practitionerId: "dr-evans",
        minutes: 10,
        inResponseTo: "p10-q",
      }),
    ]);
    const adjustments = await review.decideAgain();

    // Act
    const packet = auditPacketSchema.parse(
      (await review.call("GET", `/review/claim-lines/${original?.claimLineId}`)).json,
    );
    const html = await review.call(
      "GET",
      `/review/claim-lines/${original?.claimLineId}`,
      undefined,
      "text/html",
    );
    const missing = await review.call("GET", "/review/claim-lines/cl_00000000000000000000000000000000");

    // Assess: the lines, worked out by hand.
    expect([original, ...adjustments].map((l) => l && line(l))).toEqual([
      ["p10", "original", 0, "99422", 12, ["E11.9"]],
      ["p10", "replacement", 1, "99423", 22, ["E11.9"]],
    ]);
    expect(packet.revisions.map((r) => [r.revision, r.action, r.line.procedureCode])).toEqual([
      [0, "original", "99422"],
      [1, "replacement", "99423"],
    ]);
    // Every decision of the episode, in order: needs review (the too-old consent changed nothing, so no record),
    // billable (sent r0), billable again with 22 min (sent r1).
    const sent = packet.decisions.filter((d) => d.sent !== undefined);
    expect(sent.map((d) => [d.outcome, d.sent?.revision, d.record.totalMinutes])).toEqual([
      ["billable", 0, 12],
      ["billable", 1, 22],
    ]);
    expect(packet.decisions[0]).toMatchObject({ outcome: "needs-review", reasons: ["consent-missing"] });
    for (const decision of sent) {
      expect(decision.configVersion).toBe(0);
      expect(decision.rules.map((r) => r.rule)).toContain("R19");
      expect(decision.record.policies).toMatchObject({ consent: "required" });
    }
    expect(packet.attestations.map((a) => [a.id, a.by, a.at, a.fields, a.usedBy.length > 0])).toEqual([
      [
        tooOld.json.attestation.id,
        "Biller A",
        tooOld.json.attestation.at,
        { consentDate: "2024-12-01" },
        false,
      ],
      [valid.json.attestation.id, "Biller B", valid.json.attestation.at, { consentDate: "2025-12-01" }, true],
    ]);
    expect(html.headers["content-type"]).toContain("text/html");
    expect(html.body).toContain("Biller B");
    expect(html.body).toContain("99423");
    expect(html.body).not.toContain("<script");
    expect(missing.statusCode).toBe(404);
  });
  it("capture figures: episodes by outcome per week, capture rate, minutes per clinician, reasons not billed, open items and their age", async () => {
    // Prepare: in ISO week 2026-W10, q1 bills (12 min, consent on file), q2 is below threshold (3 min, consent on
    // file), q3 needs review (12 min, no consent); a patient quarantined an hour before AS_OF.
    const review = await reviewWorld();
    const onFile = (patientId: string) =>
      consent({ id: `${patientId}-c`, patientId, at: "2025-12-01T12:00:00Z" });
    await review.world.seed([
      ...episode("q1", [{ practitionerId: "dr-adams", minutes: 12 }]),
      onFile("q1"),
      ...episode("q2", [{ practitionerId: "np-baker", minutes: 3 }]),
      onFile("q2"),
      ...episode("q3", [{ practitionerId: "dr-adams", minutes: 12 }]),
    ]);
    await review.world.quarantine.add("q-broken", {
      reason: "an unreadable fact item",
      error: "CorruptItemError",
      at: AS_OF - HOUR,
    });
    await review.decideAgain(); // decided at AS_OF + 2 h
    review.setNow(AS_OF + 5 * HOUR);

    // Act
    const answer = await review.call("GET", "/review/figures?weeks=2");
    const invalidWeeks = await review.call("GET", "/review/figures?weeks=0");

    // Assess: worked out by hand.
    expect(captureFiguresSchema.parse(answer.json)).toEqual({
      weeks: ["2026-W10", "2026-W11"],
      episodesByOutcomePerWeek: [
        { week: "2026-W10", outcome: "below-threshold", episodes: 1 },
        { week: "2026-W10", outcome: "billable", episodes: 1 },
        { week: "2026-W10", outcome: "needs-review", episodes: 1 },
      ],
      captureRate: 1 / 3,
      billableEpisodes: 1,
      episodesWithClinicianTime: 3,
      chargeCents: 2846,
      minutesByClinician: [
        { practitionerId: "dr-adams", minutes: 24 },
        { practitionerId: "np-baker", minutes: 3 },
      ],
      topReasonsNotBilled: [
        { reason: "below-threshold", episodes: 1 },
        { reason: "consent-missing", episodes: 1 },
      ],
      openReviewItems: [
        { kind: "episode", open: 1, oldestAgeHours: 3 },
        { kind: "unattributed-time", open: 0, oldestAgeHours: null },
        { kind: "quarantined-patient", open: 1, oldestAgeHours: 6 },
      ],
    });
    expect(problemOf(invalidWeeks)).toEqual({
      status: 400,
      type: "application/problem+json",
      path: "query.weeks",
    });
  });
  it("npm run audit -- <claimLineId> prints the packet the API serves; an unknown line exits 1, a bad id 2", async () => {
    // Prepare: p11 bills once its consent is recorded.
    const review = await reviewWorld();
    await review.world.seed(episode("p11", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await review.decideAgain();
    await review.resolve("p11", { action: "record-consent", consentDate: "2025-12-01" });
    const [sent] = await review.decideAgain();
    const claimLineId = sent?.claimLineId ?? "";
    const target = [
      "--endpoint",
      inject("localAws").dynamodbEndpoint,
      "--table",
      review.world.resources.tableName,
    ];
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const err: string[] = [];
      const code = await runAudit([...args, ...target], { out: (l) => out.push(l), err: (l) => err.push(l) });
      return { code, out: out.join("\n"), err: err.join("\n") };
    };

    // Act
    const printed = await run(claimLineId);
    const html = await run(claimLineId, "--html");
    const unknown = await run("cl_00000000000000000000000000000000");
    const bad = await run("not-a-line");
    const served = (await review.call("GET", `/review/claim-lines/${claimLineId}`)).json;

    // Assess
    expect(printed.code).toBe(0);
    expect(JSON.parse(printed.out)).toEqual(served);
    expect(html.out).toContain("<h1>Audit packet: claim line");
    expect([unknown.code, bad.code]).toEqual([1, 2]);
    expect(unknown.err).toContain("no claim line");
  });

  it("npm run audit -- index-earlier-lines: lines sent before the audit index existed get their packet", async () => {
    // Prepare: p17's line, then its records as an earlier version wrote them (no claimLineId index key).
    const review = await reviewWorld();
    await review.world.seed(episode("p17", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await review.decideAgain();
    await review.resolve("p17", { action: "record-consent", consentDate: "2025-12-01" });
    const [sent] = await review.decideAgain();
    const claimLineId = sent?.claimLineId ?? "";
    const records = await review.world.documents.send(
      new QueryCommand({
        TableName: review.world.resources.tableName,
        KeyConditionExpression: "pk = :pk AND begins_with(sk, :episode)",
        ExpressionAttributeValues: { ":pk": "PAT#p17", ":episode": "EPISODE#" },
      }),
    );
    for (const item of records.Items ?? [])
      await review.world.documents.send(
        new UpdateCommand({
          TableName: review.world.resources.tableName,
          Key: { pk: item.pk, sk: item.sk },
          UpdateExpression: "REMOVE claimLineId",
        }),
      );
    const target = [
      "--endpoint",
      inject("localAws").dynamodbEndpoint,
      "--table",
      review.world.resources.tableName,
    ];
    const run = async (...args: string[]) => {
      const out: string[] = [];
      const code = await runAudit([...args, ...target], { out: (l) => out.push(l), err: () => undefined });
      return { code, out: out.join("\n") };
    };

    // Act
    const before = await run(claimLineId);
    const indexed = await run("index-earlier-lines");
    const again = await run("index-earlier-lines");
    const after = await run(claimLineId);

    // Assess: one record sent the line; a second pass finds nothing left to index.
    expect(before.code).toBe(1);
    expect(indexed.out).toContain("1 record(s) that sent a line indexed, of 2 without the index key");
    expect(again.out).toContain("0 record(s) that sent a line indexed, of 1 without the index key");
    expect(after.code).toBe(0);
    expect(JSON.parse(after.out).revisions.map((r: { revision: number }) => r.revision)).toEqual([0]);
  });
  it("capture metrics count each episode once, as last decided: needs review, then billable, then 22 min instead of 12", async () => {
    // Prepare: 12 min by Dr Adams, no consent: needs review; the consent makes it bill; Dr Evans's late 10 min.
    const review = await reviewWorld();
    await review.world.seed(episode("p12", [{ practitionerId: "dr-adams", minutes: 12 }]));
    await review.decideAgain();
    await review.resolve("p12", { action: "record-consent", consentDate: "2025-12-01" });
    await review.decideAgain();
    await review.world.seed([
      activity({
        id: "p12-late",
        patientId: "p12",
        at: "2026-03-05T16:00:00Z",
        practitionerId: "dr-evans",
        minutes: 10,
        inResponseTo: "p12-q",
      }),
    ]);
    await review.decideAgain();

    // Act: the net deltas of every run, summed as CloudWatch sums them.
    const sum = (key: "outcomes" | "notBilled" | "minutes") => {
      const total: Record<string, number> = {};
      for (const { capture } of review.reports)
        for (const [name, value] of Object.entries<number>(capture[key]))
          total[name] = (total[name] ?? 0) + value;
      return Object.fromEntries(Object.entries(total).filter(([, value]) => value !== 0));
    };
    const withTime = review.reports.reduce((total, { capture }) => total + capture.withTime, 0);

    // Assess: one episode, billable, with time; its 22 minutes by clinician, counted once.
    expect(sum("outcomes")).toEqual({ billable: 1 });
    expect(sum("notBilled")).toEqual({});
    expect(withTime).toBe(1);
    expect(sum("minutes")).toEqual({ "dr-adams": 12, "dr-evans": 10 });
    expect(review.reports[0]?.capture.outcomes).toEqual({ "needs-review": 1 });
  });
  it("R18: a roster version that adds the unknown clinician resolves the unattributed-time item and the time bills (10 min: 99421)", async () => {
    // Prepare: only Dr Unknown answered p15's inquiry: no window, the time is unattributed (version 1).
    const v1 = tenant();
    const v2 = tenant({
      roster: [
        ...v1.roster,
        { practitionerId: "dr-unknown", npi: "1003000183", credential: "MD", name: "Synthetic Ford" },
      ],
    });
    const stored = (config: typeof v1, version: number) => ({
      version,
      config,
      pushedAt: "",
      by: "test",
      digest: "",
    });
    const versions = {
      version: async (n: number) => (n === 1 ? stored(v1, 1) : n === 2 ? stored(v2, 2) : undefined),
    };
    const review = await reviewWorld({ tenant: fixedTenantConfig(v1, 1) });
    await review.world.seed([
      inquiry({ id: "p15-q", patientId: "p15", at: "2026-03-02T14:00:00Z" }),
      activity({
        id: "p15-x",
        patientId: "p15",
        at: "2026-03-02T19:00:00Z",
        practitionerId: "dr-unknown",
        minutes: 10,
        inResponseTo: "p15-q",
      }),
    ]);
    await review.world.run(AS_OF + HOUR, { tenant: fixedTenantConfig(v1, 1), configVersions: versions });
    expect((await review.itemOf("p15")).kind).toBe("unattributed-time");

    // Act: version 2 holds Dr Unknown's roster entry.
    await review.world.run(AS_OF + 2 * HOUR, { tenant: fixedTenantConfig(v2, 2), configVersions: versions });
    await review.world.run(AS_OF + 3 * HOUR, { tenant: fixedTenantConfig(v2, 2), configVersions: versions });
    const lines = await review.world.takeClaims();

    // Assess
    expect(await review.open()).toEqual([]);
    const [resolved] = await review.list("resolved");
    expect(resolved).toMatchObject({
      kind: "unattributed-time",
      evidence: { resolvedBy: { configVersion: 2 } },
    });
    expect(lines.map(line)).toEqual([["p15", "original", 0, "99421", 10, ["E11.9"]]]);
  });
  it("R20, R19: a prior-e-visit item names the billed episode; deciding it unrelated through the API bills the second (99422)", async () => {
    // Prepare: e-visits on Monday 2026-03-02 (billed, 99422) and Monday 2026-03-09, 7 days after its date of
    // service, same problem (E11.9); consent not tracked. Decided on 2026-03-19, when both are due.
    const review = await reviewWorld({ tenant: fixedTenantConfig(tenant()) });
    await review.world.seed([
      ...episode("p16", [{ practitionerId: "dr-adams", minutes: 12 }]),
      inquiry({ id: "p16-q2", patientId: "p16", at: "2026-03-09T14:00:00Z" }),
      activity({
        id: "p16-b",
        patientId: "p16",
        at: "2026-03-09T19:00:00Z",
        practitionerId: "dr-adams",
        minutes: 12,
        inResponseTo: "p16-q2",
      }),
    ]);
    const later = Date.parse("2026-03-19T12:00:00Z");
    review.setNow(later);
    await review.world.run(later, { tenant: fixedTenantConfig(tenant()) });
    const [first] = await review.world.takeClaims();
    const item = await review.itemOf("p16");

    // Act
    const answer = await review.resolve("p16", {
      action: "decide-relatedness",
      priorVisitId: item.evidence.priorEpisodeId,
      related: false,
    });
    await review.world.run(later + HOUR, { tenant: fixedTenantConfig(tenant()) });
    const lines = await review.world.takeClaims();

    // Assess
    expect(first && line(first)).toEqual(["p16", "original", 0, "99422", 12, ["E11.9"]]);
    expect(item).toMatchObject({
      reasons: ["prior-e-visit"],
      evidence: { priorEpisodeId: first?.episodeId },
    });
    expect(answer.statusCode).toBe(201);
    expect(lines.map(line)).toEqual([["p16", "original", 0, "99422", 12, ["E11.9"]]]);
    expect(lines[0]?.windowStart).toBe("2026-03-09T00:00:00-04:00");
  });
});
