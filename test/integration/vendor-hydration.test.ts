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
 * Issue 13: an Elation-only practice bills. The public scenario's webhooks carry no diagnosis and no consent; the
 * apply function takes them from Elation's API, here a stand-in server started by this test and shaped as Elation
 * documents its answers (OAuth2 client credentials at `oauth2/token/`; paginated `{ count, next, previous,
 * results }` lists filtered by `patient` or `thread`). The fetchers are built as the apply function builds them
 * (resourceFetchers), and the expected line is worked out by hand (scripts/scenarios/vendor-hydration.ts).
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
