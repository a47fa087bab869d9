import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { LocalPipeline } from "../../bin/local/pipeline.js";
import { runReplay } from "../../bin/local/replay-run.js";
import { openScenarioFile } from "../../bin/local/scenario-file.js";
import { resourceFetchers } from "../../functions/apply/resource-fetchers.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { isolatedResources } from "../support/integration.js";

/**
 * Issue 13: an Elation-only and a Healthie-only practice bill. The public scenarios' webhooks carry no diagnosis
 * and no consent; the apply function takes them from the vendor's API, here stand-in servers started by this test
 * and shaped as each vendor documents its answers:
 * - Elation: OAuth2 client credentials at `oauth2/token/`; paginated `{ count, next, previous, results }` lists
 *   filtered by `patient` or `thread`.
 * - Healthie: GraphQL at `/graphql` with `Authorization: Basic <key>` and `AuthorizationSource: API`; answers
 *   `{ data }` with the root fields the query names, and connections with `nodes` and `page_info`.
 * The fetchers are built as the apply function builds them (resourceFetchers), and the expected lines are worked
 * out by hand (scripts/scenarios/vendor-hydration.ts).
 */

const fixture = (name: string) => new URL(`../fixtures/scenarios/${name}`, import.meta.url).pathname;
const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line) as Record<string, unknown>);

const CLIENT_ID = "elation-synthetic-client";
const CLIENT_SECRET = "elation-synthetic-secret-0001";

/** The stand-in's lists by path under `/api/2.0`, as the scenario's chart has them; a test may empty one. */
let chart: Record<string, Array<Record<string, unknown>>>;
const requests: string[] = [];
let server: Server;
let origin: string;

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", origin);
  const json = (status: number, body: unknown): void => {
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  if (request.method === "POST" && url.pathname === "/api/2.0/oauth2/token/") {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const form = new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
    if (form.get("client_id") !== CLIENT_ID || form.get("client_secret") !== CLIENT_SECRET)
      return json(401, { error: "invalid_client" });
    return json(200, { access_token: "stand-in-token", token_type: "Bearer", expires_in: 36_000 });
  }
  if (request.headers.authorization !== "Bearer stand-in-token") return json(401, { detail: "unauthorized" });
  requests.push(`${url.pathname}${url.search}`);
  const items = chart[url.pathname.replace(/^\/api\/2\.0/, "")];
  if (request.method !== "GET" || items === undefined) return json(404, { detail: "Not found." });
  const [filter, value] =
    [...url.searchParams].find(([name]) => name === "patient" || name === "thread") ?? [];
  const results = items.filter((item) => filter !== undefined && String(item[filter]) === value);
  const limit = Number(url.searchParams.get("limit") ?? 20);
  const offset = Number(url.searchParams.get("offset") ?? 0);
  const next = new URL(url);
  next.searchParams.set("offset", String(offset + limit));
  return json(200, {
    count: results.length,
    next: offset + limit < results.length ? next.href : null,
    previous: null,
    results: results.slice(offset, offset + limit),
  });
}

beforeAll(async () => {
  server = createServer((request, response) => {
    handle(request, response).catch(() => response.writeHead(500).end());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Replays the Elation scenario through the real handlers with the Elation API as the stand-in serves it. */
async function replayElation() {
  requests.length = 0;
  const scenario = await openScenarioFile(fixture("elation-chart-bills.json"));
  const fetcherFor = resourceFetchers(
    {
      elation: {
        apiBaseUrl: `${origin}/api/2.0/`,
        tokenUrl: `${origin}/api/2.0/oauth2/token/`,
        clientId: CLIENT_ID,
        clientSecretName: "portaltime/elation-client-secret",
      },
    },
    async (name) => {
      expect(name).toBe("portaltime/elation-client-secret");
      return CLIENT_SECRET;
    },
  );
  const pipeline = new LocalPipeline({
    endpoints: inject("localAws"),
    resources: await isolatedResources(),
    tenant: { ...demoPractice, ...scenario.config },
    fetcherFor,
  });
  const lines: ClaimLine[] = [];
  const summary = await runReplay(scenario, pipeline, { claim: (line) => lines.push(line) });
  expect(summary.rejected).toBe(0);
  return { lines, episodes: summary.episodes };
}

describe("Elation-only practice: diagnoses and consent from Elation's API (issue 13)", () => {
  it("R8, R11: bills the hand-worked line, its diagnoses from the problem list and its consent from the chart", async () => {
    // Prepare
    chart = JSON.parse(readFileSync(fixture("elation-chart-bills.api.json"), "utf8"));
    const expected = jsonLines(readFileSync(fixture("elation-chart-bills.expected.jsonl"), "utf8"));

    // Act
    const { lines, episodes } = await replayElation();

    // Assess
    const keys = Object.keys(expected[0] ?? {}) as Array<keyof ClaimLine>;
    expect(lines.map((line) => Object.fromEntries(keys.map((key) => [key, line[key]])))).toEqual(expected);
    expect(episodes).toHaveLength(1);
    expect(episodes[0]).toMatchObject({
      outcome: "billable",
      evidence: { consents: ["elation:reports/140756100001"] },
    });
    // The second event listed its messages by id: they came by thread, in one request.
    expect(requests).toContain("/api/2.0/thread_messages/?thread=346226779&limit=100");
    expect(requests).toContain("/api/2.0/problems/?patient=64058687489&limit=100");
    expect(requests).toContain("/api/2.0/reports/?patient=64058687489&limit=100");
  });

  it("R19: what the chart does not hold stays a review item with its reasons, never a line", async () => {
    // Prepare: the same practice, with no problem on the list and no consent document.
    const full = JSON.parse(readFileSync(fixture("elation-chart-bills.api.json"), "utf8"));
    chart = { ...full, "/problems/": [], "/reports/": [] };

    // Act
    const { lines, episodes } = await replayElation();

    // Assess
    expect(lines).toEqual([]);
    expect(episodes).toMatchObject([
      { outcome: "needs-review", reasons: ["consent-missing", "diagnosis-missing"], totalMinutes: 14 },
    ]);
  });
});

const HEALTHIE_KEY = "gh_sbox_synthetic_key_0002";
/** The deployment's consent form template (scripts/scenarios/vendor-hydration.ts). */
const CONSENT_TEMPLATE = "811";

type HealthieRecord = Record<string, unknown>;
/** Healthie's records by type as the stand-in holds them (healthie-chart-bills.api.json); a test may change them. */
let healthieRecords: Record<string, HealthieRecord[]>;
const healthieQueries: string[] = [];
let healthieServer: Server;
let healthieUrl: string;

/** Healthie's older `2026-04-13 15:05:00 -0400` or ISO 8601, as epoch milliseconds (for ordering notes). */
const healthieTime = (value: unknown): number =>
  Date.parse(String(value).replace(/^(\S+) (\S+) ([+-]\d{2})(\d{2})$/, "$1T$2$3:$4"));

const byId = (type: string, id: unknown) =>
  (healthieRecords[type] ?? []).find((record) => record.id === id) ?? null;

/** What Healthie answers: the root fields the query names, from the records. */
function healthieAnswer(query: string, variables: Record<string, string>): Record<string, unknown> {
  const rootField = /\{\s*(\w+)\(/.exec(query)?.[1];
  switch (rootField) {
    case "note":
      return { note: byId("notes", variables.id) };
    case "conversation": {
      const [first] = (healthieRecords.notes ?? [])
        .filter((note) => note.conversation_id === variables.conversation_id)
        .sort((a, b) => healthieTime(a.created_at) - healthieTime(b.created_at));
      return {
        conversation: byId("conversations", variables.conversation_id),
        notes: { nodes: first === undefined ? [] : [{ id: first.id }] },
      };
    }
    case "note_scheduler":
      return { note_scheduler: byId("noteSchedulers", variables.id) };
    case "appointment":
      return { appointment: byId("appointments", variables.id) };
    case "user":
      return { user: byId("users", variables.id) };
    case "formAnswerGroups": {
      // Answered without `custom_module_form`, which the query does not ask for; one page.
      const nodes = (healthieRecords.formAnswerGroups ?? [])
        .filter(
          (form) =>
            form.user_id === variables.user_id &&
            (form.custom_module_form as HealthieRecord | undefined)?.id === variables.custom_module_form_id,
        )
        .map(({ custom_module_form: _, ...form }) => form);
      return { formAnswerGroups: { nodes, page_info: { has_next_page: false, end_cursor: null } } };
    }
    default:
      throw new Error("unexpected query");
  }
}

async function handleHealthie(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const json = (status: number, body: unknown): void => {
    response.writeHead(status, { "content-type": "application/json" }).end(JSON.stringify(body));
  };
  if (request.method !== "POST" || request.url !== "/graphql") return json(404, {});
  if (
    request.headers.authorization !== `Basic ${HEALTHIE_KEY}` ||
    request.headers.authorizationsource !== "API"
  )
    return json(401, { errors: [{ message: "unauthorized" }] });
  const { query, variables } = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  healthieQueries.push(/\{\s*(\w+)\(/.exec(query)?.[1] ?? "");
  return json(200, { data: healthieAnswer(query, variables ?? {}) });
}

/** Replays the Healthie scenario through the real handlers with Healthie's API as the stand-in serves it. */
async function replayHealthie(consentFormIds: string[]) {
  healthieQueries.length = 0;
  const scenario = await openScenarioFile(fixture("healthie-chart-bills.json"));
  const fetcherFor = resourceFetchers(
    { healthie: { apiUrl: healthieUrl, apiKeySecretName: "portaltime/healthie-api-key", consentFormIds } },
    async (name) => {
      expect(name).toBe("portaltime/healthie-api-key");
      return HEALTHIE_KEY;
    },
  );
  const pipeline = new LocalPipeline({
    endpoints: inject("localAws"),
    resources: await isolatedResources(),
    tenant: { ...demoPractice, ...scenario.config },
    fetcherFor,
  });
  const lines: ClaimLine[] = [];
  const summary = await runReplay(scenario, pipeline, { claim: (line) => lines.push(line) });
  expect(summary.rejected).toBe(0);
  return { lines, episodes: summary.episodes };
}

describe("Healthie-only practice: diagnoses and consent from Healthie's API (issue 13)", () => {
  beforeAll(async () => {
    healthieServer = createServer((request, response) => {
      handleHealthie(request, response).catch(() => response.writeHead(500).end());
    });
    await new Promise<void>((resolve) => healthieServer.listen(0, "127.0.0.1", resolve));
    healthieUrl = `http://127.0.0.1:${(healthieServer.address() as AddressInfo).port}/graphql`;
  });

  afterAll(async () => {
    healthieServer.closeAllConnections();
    await new Promise((resolve) => healthieServer.close(resolve));
  });

  it("R8, R11: bills the hand-worked line, its diagnoses from the client's diagnoses and its consent from a consent form", async () => {
    // Prepare
    healthieRecords = JSON.parse(readFileSync(fixture("healthie-chart-bills.api.json"), "utf8"));
    const expected = jsonLines(readFileSync(fixture("healthie-chart-bills.expected.jsonl"), "utf8"));

    // Act
    const { lines, episodes } = await replayHealthie([CONSENT_TEMPLATE]);

    // Assess
    const keys = Object.keys(expected[0] ?? {}) as Array<keyof ClaimLine>;
    expect(lines.map((line) => Object.fromEntries(keys.map((key) => [key, line[key]])))).toEqual(expected);
    expect(episodes).toHaveLength(1);
    expect(episodes[0]).toMatchObject({ outcome: "billable" });
    expect(episodes[0]?.evidence.consents).toContain("healthie:form_answer_group/40101");
    // Every message read the client's chart: the diagnoses, and the consent template's forms.
    expect(healthieQueries.filter((field) => field === "user")).toHaveLength(5);
    expect(healthieQueries.filter((field) => field === "formAnswerGroups")).toHaveLength(5);
  });

  it("R19: with no diagnosis on the chart and no consent form named, the episode is a review item, never a line", async () => {
    // Prepare: the same client without diagnoses; the deployment names no consent template.
    const full = JSON.parse(readFileSync(fixture("healthie-chart-bills.api.json"), "utf8"));
    healthieRecords = { ...full, users: [{ id: "2217301", diagnoses: [] }] };

    // Act
    const { lines, episodes } = await replayHealthie([]);

    // Assess
    expect(lines).toEqual([]);
    expect(episodes).toMatchObject([
      { outcome: "needs-review", reasons: ["consent-missing", "diagnosis-missing"], totalMinutes: 22 },
    ]);
    expect(healthieQueries).not.toContain("formAnswerGroups");
  });
});
