import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import {
  createElationFetcher,
  type ElationFetcherOptions,
} from "../../../functions/vendors/elation/fetcher.js";
import { elation } from "../../../functions/vendors/elation/format.js";
import { ResourceFetchError, UnmappableDeliveryError } from "../../../functions/vendors/errors.js";
import { ResourceGoneError } from "../../../functions/vendors/fhir/fetcher.js";
import type { AcceptedDelivery } from "../../../functions/vendors/format.js";

/**
 * The Elation fetcher against a real local HTTP server playing Elation's OAuth2 token endpoint and REST API,
 * serving the message thread of the vendor fixtures, the thread's messages, and the patient's problem list and
 * chart documents as Elation's paginated lists (`{ count, next, previous, results }`, `limit` and `offset`).
 */

const clientId = "elation-synthetic-client";
const clientSecret = "elation-synthetic-secret-0001";
/** The synthetic patient's name, in the fixture thread: no error message may carry it. */
const phi = "Quinn Harlow";

const fixtureJson = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/vendors/elation/${name}`, import.meta.url), "utf8"));

/** The thread as `GET message_threads/<id>/` returns it: the fixture event's `data`. */
const thread = () => fixtureJson("message-thread.json").data;

interface ApiRequest {
  path: string | undefined;
  accept: string | undefined;
  authorization: string | undefined;
}

/** A scripted answer; `hang` never answers. */
type Reply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

/** The test's clock, shared by the fetcher's token cache. */
let nowMs = 0;
const clock = () => nowMs;

let server: Server;
let origin: string;
let apiBaseUrl: string;
let tokenUrl: string;

/** Server state, reset before each test. */
const ehr = {
  tokenRequests: [] as URLSearchParams[],
  apiRequests: [] as ApiRequest[],
  issuedTokens: [] as string[],
  revokedTokens: new Set<string>(),
  expiresIn: 36_000,
  tokenDelayMs: 0,
  /** Answers the token endpoint gives instead of a token, in order. */
  tokenReplies: [] as Reply[],
  /** Answers the API gives, in order; once used up, the thread for a valid token, else 401. */
  apiReplies: [] as Reply[],
  /** The largest page the stand-in gives, and the origin of its `next` links. */
  pageSize: 100,
  nextOrigin: undefined as string | undefined,
};

beforeAll(async () => {
  server = createServer((request, response) => {
    handle(request, response).catch(() => {
      response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  apiBaseUrl = `${origin}/api/2.0/`;
  tokenUrl = `${origin}/api/2.0/oauth2/token/`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  nowMs = Date.parse("2025-03-04T15:30:00Z");
  ehr.tokenRequests = [];
  ehr.apiRequests = [];
  ehr.issuedTokens = [];
  ehr.revokedTokens = new Set();
  ehr.expiresIn = 36_000;
  ehr.tokenDelayMs = 0;
  ehr.tokenReplies = [];
  ehr.apiReplies = [];
  ehr.pageSize = 100;
  ehr.nextOrigin = undefined;
});

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === "POST" && request.url === "/api/2.0/oauth2/token/")
    return handleToken(request, response);
  ehr.apiRequests.push({
    path: request.url,
    accept: request.headers.accept,
    authorization: request.headers.authorization,
  });
  const scripted = ehr.apiReplies.shift();
  if (scripted === "hang") return;
  if (scripted !== undefined) return reply(response, scripted);
  const token = request.headers.authorization?.replace(/^Bearer /, "") ?? "";
  if (!ehr.issuedTokens.includes(token) || ehr.revokedTokens.has(token)) {
    response.writeHead(401).end();
    return;
  }
  const data = thread();
  const url = new URL(request.url ?? "/", origin);
  const list = lists[url.pathname];
  const message = data.messages.find(
    (one: { id: number }) => url.pathname === `/api/2.0/thread_messages/${one.id}/`,
  );
  const found =
    request.method !== "GET"
      ? undefined
      : url.pathname === `/api/2.0/message_threads/${data.id}/`
        ? data
        : (message ?? (list === undefined ? undefined : page(url, list())));
  if (found === undefined) {
    response.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ detail: phi }));
    return;
  }
  response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(found));
}

/** The lists this stand-in serves, by path, each with the one filter Elation's API takes for it. */
const lists: Record<string, () => unknown[]> = {
  "/api/2.0/problems/": () => fixtureJson("problems.json").results,
  "/api/2.0/reports/": () => fixtureJson("reports.json").results,
  "/api/2.0/thread_messages/": () => thread().messages,
};

/** One page of `items` as Elation answers a list: `limit` (here at most `ehr.pageSize`) from `offset`. */
function page(url: URL, items: unknown[]): unknown {
  const limit = Math.min(Number(url.searchParams.get("limit") ?? 20), ehr.pageSize);
  const offset = Number(url.searchParams.get("offset") ?? 0);
  const nextUrl = new URL(url);
  nextUrl.searchParams.set("offset", String(offset + limit));
  return {
    count: items.length,
    next:
      offset + limit < items.length ? (ehr.nextOrigin ?? origin) + nextUrl.pathname + nextUrl.search : null,
    previous: null,
    results: items.slice(offset, offset + limit),
  };
}

/** Elation's token endpoint: client credentials in the form body. */
async function handleToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const form = new URLSearchParams(await bodyOf(request));
  ehr.tokenRequests.push(form);
  await new Promise((resolve) => setTimeout(resolve, ehr.tokenDelayMs));
  const scripted = ehr.tokenReplies.shift();
  if (scripted === "hang") return;
  if (scripted !== undefined) return reply(response, scripted);
  const valid =
    form.get("grant_type") === "client_credentials" &&
    form.get("client_id") === clientId &&
    form.get("client_secret") === clientSecret;
  if (!valid) {
    response.writeHead(401, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "invalid_client", error_description: phi }));
    return;
  }
  const accessToken = `token-${ehr.issuedTokens.length + 1}`;
  ehr.issuedTokens.push(accessToken);
  response.writeHead(200, { "content-type": "application/json" });
  response.end(
    JSON.stringify({
      access_token: accessToken,
      token_type: "Bearer",
      expires_in: ehr.expiresIn,
      refresh_token: "unused-refresh-token",
      scope: "apiv2",
    }),
  );
}

function reply(response: ServerResponse, scripted: Exclude<Reply, "hang">): void {
  response.writeHead(scripted.status, { "content-type": "application/json", ...scripted.headers });
  response.end(scripted.body ?? JSON.stringify({ detail: phi }));
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A fetcher against the local server; `sleeps` records waits, which take no time. */
function client(options: Partial<ElationFetcherOptions> = {}) {
  const sleeps: number[] = [];
  const fetchResource = createElationFetcher({
    apiBaseUrl,
    tokenUrl,
    clientId,
    clientSecret,
    now: clock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { fetchResource, sleeps };
}

/** The error a promise rejects with, which must carry no PHI or secret; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain(phi);
    expect((error as Error).message).not.toContain(clientSecret);
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** A delivery as `elation.accept` makes it from a webhook body (authentication is not under test). */
const deliveryOf = (envelope: unknown): AcceptedDelivery =>
  elation.accept({
    method: "POST",
    path: "/webhooks/elation",
    rawQuery: "",
    headers: {},
    body: Buffer.from(JSON.stringify(envelope)),
  });

const threadReference = "message_threads/346226779";
const authorizations = () => ehr.apiRequests.map((request) => request.authorization);

describe("Elation fetcher", () => {
  it("requests a token with the client credentials, then GETs the thread with it", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    const resource = await fetchResource(threadReference);

    // Assess
    expect(resource).toEqual(thread());
    expect(ehr.tokenRequests.map((form) => Object.fromEntries(form))).toEqual([
      { grant_type: "client_credentials", client_id: clientId, client_secret: clientSecret },
    ]);
    expect(ehr.apiRequests).toEqual([
      {
        path: "/api/2.0/message_threads/346226779/",
        accept: "application/json",
        authorization: "Bearer token-1",
      },
    ]);
  });

  it("sends the configured scope, and accepts a base URL without its trailing slash", async () => {
    // Prepare
    const { fetchResource } = client({ apiBaseUrl: apiBaseUrl.replace(/\/$/, ""), scope: "apiv2" });

    // Act
    await fetchResource(threadReference);

    // Assess
    expect(ehr.tokenRequests[0]?.get("scope")).toBe("apiv2");
    expect(ehr.apiRequests[0]?.path).toBe("/api/2.0/message_threads/346226779/");
  });

  it.each([
    ["the patient's opening message", "thread-message-patient.json", {}],
    ["a practice user's reply", "thread-message-patient.json", { id: 346488990, sender: 131074 }],
  ])("maps %s end to end, learning the thread's opener from the fetched thread", async (_, name, change) => {
    // Prepare
    const event = fixtureJson(name);
    const delivery = deliveryOf({ ...event, data: { ...event.data, ...change } });
    const { fetchResource } = client();

    // Act
    const mapped = await elation.toFacts(delivery, fetchResource);

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.facts.map((fact) => fact.kind)).toEqual([expect.any(String), "consent"]);
    expect(mapped.facts[0]).toMatchObject({ diagnosisCodes: ["L23.9", "E11.9"] });
    expect(ehr.apiRequests.map((request) => request.path).sort()).toEqual([
      "/api/2.0/message_threads/346226779/",
      "/api/2.0/problems/?patient=64058687489&limit=100",
      "/api/2.0/reports/?patient=64058687489&limit=100",
    ]);
  });

  it("links a reply to the thread's first message", async () => {
    // Prepare
    const event = fixtureJson("thread-message-patient.json");
    const delivery = deliveryOf({ ...event, data: { ...event.data, id: 346489011 } });
    const { fetchResource } = client();

    // Act
    const { facts } = await elation.toFacts(delivery, fetchResource);

    // Assess
    expect(facts.filter((fact) => fact.kind !== "consent")).toEqual([
      expect.objectContaining({
        kind: "inquiry",
        patientId: "64058687489",
        inResponseTo: "elation:thread_messages/346488926",
      }),
    ]);
  });

  it("reuses one token across fetches until a minute before it expires", async () => {
    // Prepare
    const { fetchResource } = client();
    await fetchResource(threadReference);

    // Act
    nowMs += (36_000 - 61) * 1000;
    await fetchResource(threadReference);
    nowMs += 2_000;
    await fetchResource(threadReference);

    // Assess
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(authorizations()).toEqual(["Bearer token-1", "Bearer token-1", "Bearer token-2"]);
  });

  it("keeps half the life of a token shorter than twice the margin", async () => {
    // Prepare
    ehr.expiresIn = 60;
    const { fetchResource } = client();
    await fetchResource(threadReference);

    // Act
    nowMs += 29_000;
    await fetchResource(threadReference);
    nowMs += 2_000;
    await fetchResource(threadReference);

    // Assess
    expect(ehr.tokenRequests).toHaveLength(2);
  });

  it("shares one in-flight token request between concurrent fetches", async () => {
    // Prepare
    ehr.tokenDelayMs = 50;
    const { fetchResource } = client();

    // Act
    const resources = await Promise.all([1, 2, 3, 4].map(() => fetchResource(threadReference)));

    // Assess
    expect(resources).toHaveLength(4);
    expect(ehr.tokenRequests).toHaveLength(1);
    expect(new Set(authorizations())).toEqual(new Set(["Bearer token-1"]));
  });

  it("on a 401, forgets the token and retries once with a fresh one", async () => {
    // Prepare
    const { fetchResource, sleeps } = client();
    await fetchResource(threadReference);
    ehr.revokedTokens.add("token-1");

    // Act
    const resource = await fetchResource(threadReference);

    // Assess
    expect(resource).toEqual(thread());
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(authorizations()).toEqual(["Bearer token-1", "Bearer token-1", "Bearer token-2"]);
    expect(sleeps).toEqual([]);
  });

  it("refreshes a token once when concurrent fetches are all refused it", async () => {
    // Prepare
    const { fetchResource } = client();
    await fetchResource(threadReference);
    ehr.revokedTokens.add("token-1");

    // Act
    const resources = await Promise.all([1, 2, 3].map(() => fetchResource(threadReference)));

    // Assess
    expect(resources).toEqual([thread(), thread(), thread()]);
    expect(ehr.tokenRequests).toHaveLength(2);
  });

  it("on a second 401, throws a retryable ResourceFetchError", async () => {
    // Prepare
    ehr.apiReplies = [{ status: 401 }, { status: 401 }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 401, reference: threadReference, retryable: true });
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(ehr.apiRequests).toHaveLength(2);
  });

  it("reports refused client credentials with the OAuth error code only, after one re-read of the secret", async () => {
    // Prepare
    const { fetchResource, sleeps } = client({ clientSecret: "wrong-secret" });

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({
      status: 401,
      transient: false,
      credential: true,
      reason: "invalid_client",
      retryable: true,
    });
    expect(error.message).not.toContain("wrong-secret");
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(ehr.apiRequests).toHaveLength(0);
    expect(sleeps).toEqual([]);
  });

  it("retries a token endpoint's 503 with backoff", async () => {
    // Prepare
    ehr.tokenReplies = [{ status: 503 }];
    const { fetchResource, sleeps } = client();

    // Act
    const resource = await fetchResource(threadReference);

    // Assess
    expect(resource).toEqual(thread());
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it("refuses a token response that is not a bearer token", async () => {
    // Prepare
    const malformed = {
      status: 200,
      body: JSON.stringify({ access_token: "t", token_type: "mac", expires_in: 300 }),
    };
    ehr.tokenReplies = [malformed, malformed];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 200, credential: true, reason: "malformed token response" });
  });

  it.each([404, 410])("on a %i, throws ResourceGoneError without retrying", async (status) => {
    // Prepare
    ehr.apiReplies = [{ status }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(ResourceGoneError);
    expect(error).toMatchObject({ status, reference: threadReference, retryable: false });
    expect(ehr.apiRequests).toHaveLength(1);
  });

  it("on a 429, waits the Retry-After seconds and retries", async () => {
    // Prepare
    ehr.apiReplies = [{ status: 429, headers: { "retry-after": "2" } }];
    const { fetchResource, sleeps } = client();

    // Act
    const resource = await fetchResource(threadReference);

    // Assess
    expect(resource).toEqual(thread());
    expect(sleeps).toEqual([2_000]);
    expect(ehr.apiRequests).toHaveLength(2);
  });

  it("honours a Retry-After date on the injected clock", async () => {
    // Prepare
    ehr.apiReplies = [{ status: 503, headers: { "retry-after": new Date(nowMs + 3_000).toUTCString() } }];
    const { fetchResource, sleeps } = client();

    // Act
    await fetchResource(threadReference);

    // Assess
    expect(sleeps).toEqual([3_000]);
  });

  it("after three 5xx, throws a retryable ResourceFetchError, having backed off with jitter", async () => {
    // Prepare
    ehr.apiReplies = [{ status: 500 }, { status: 502 }, { status: 503 }];
    const { fetchResource, sleeps } = client({ baseDelayMs: 200 });

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(ehr.apiRequests).toHaveLength(3);
    const [first, second] = sleeps as [number, number];
    expect(sleeps).toHaveLength(2);
    expect(first).toBeGreaterThanOrEqual(100);
    expect(first).toBeLessThanOrEqual(200);
    expect(second).toBeGreaterThanOrEqual(200);
    expect(second).toBeLessThanOrEqual(400);
  });

  it("times out a request that never answers, and retries it", async () => {
    // Prepare
    ehr.apiReplies = ["hang", "hang"];
    const { fetchResource } = client({ timeoutMs: 50, maxAttempts: 2 });

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: undefined, retryable: true });
    expect(ehr.apiRequests).toHaveLength(2);
  });

  it.each([
    [403, {}],
    [302, { location: "http://169.254.169.254/latest/meta-data/" }],
  ])("on a %i, throws ResourceFetchError without retrying or following", async (status, headers) => {
    // Prepare
    ehr.apiReplies = [{ status, headers }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status });
    expect(ehr.apiRequests).toHaveLength(1);
  });

  it.each([
    ["not JSON", `<html>${phi}</html>`],
    ["not a resource", JSON.stringify({ detail: phi })],
    ["another thread", JSON.stringify({ ...thread(), id: 346226780 })],
  ])("refuses a 200 body that is %s as unmappable", async (_, body) => {
    // Prepare
    ehr.apiReplies = [{ status: 200, body }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource(threadReference));

    // Assess
    expect(error).toBeInstanceOf(UnmappableDeliveryError);
  });

  it("refuses references it does not serve before any request", async () => {
    // Prepare
    const { fetchResource } = client();
    const references = [
      "letters/140754680348890",
      "appointments/67176890458",
      "message_threads/abc",
      "message_threads/346226779/",
      "message_threads/../oauth2/token",
      "message_threads/%33",
      "problems?patient=abc",
      "problems?practice=65540",
      "letters?patient=64058687489",
      "thread_messages?patient=64058687489",
      "https://elation.example/api/2.0/message_threads/346226779/",
      `${origin}/api/2.1/message_threads/346226779/`,
      `${origin.replace("http://", "http://user:pass@")}/api/2.0/message_threads/346226779/`,
      "Communication/m1",
      "",
    ];

    for (const reference of references) {
      // Act
      const error = await rejectionOf(fetchResource(reference));

      // Assess
      expect(error, reference).toBeInstanceOf(UnmappableDeliveryError);
    }
    expect(ehr.tokenRequests).toHaveLength(0);
    expect(ehr.apiRequests).toHaveLength(0);
  });
});

describe("Elation fetcher: lists, thread messages and resource_url", () => {
  it("returns every page of a patient's problem list, following Elation's next links", async () => {
    // Prepare
    ehr.pageSize = 2;
    const { fetchResource } = client();

    // Act
    const list = await fetchResource("problems?patient=64058687489");

    // Assess
    expect(list).toEqual({ results: fixtureJson("problems.json").results });
    expect(ehr.apiRequests.map((request) => request.path)).toEqual([
      "/api/2.0/problems/?patient=64058687489&limit=100",
      "/api/2.0/problems/?patient=64058687489&limit=100&offset=2",
      "/api/2.0/problems/?patient=64058687489&limit=100&offset=4",
    ]);
    expect(authorizations().every((authorization) => authorization === "Bearer token-1")).toBe(true);
  });

  it("refuses a next link outside the API base URL, never sending the token there", async () => {
    ehr.pageSize = 1;
    ehr.nextOrigin = "https://elation.example";
    const { fetchResource } = client();

    const error = await rejectionOf(fetchResource("reports?patient=64058687489"));

    expect(error).toBeInstanceOf(UnmappableDeliveryError);
    expect(ehr.apiRequests).toHaveLength(1);
  });

  it("refuses a list longer than 50 pages instead of cutting it short", async () => {
    ehr.pageSize = 1;
    const many = Array.from({ length: 60 }, (_, index) => ({ id: index }));
    const problems = lists["/api/2.0/problems/"];
    lists["/api/2.0/problems/"] = () => many;
    try {
      const error = await rejectionOf(client().fetchResource("problems?patient=64058687489"));

      expect(error).toBeInstanceOf(UnmappableDeliveryError);
      expect(ehr.apiRequests).toHaveLength(50);
    } finally {
      lists["/api/2.0/problems/"] = problems as () => unknown[];
    }
  });

  it("fetches a thread's messages by the thread (one list, not one request per id)", async () => {
    const list = await client().fetchResource("thread_messages?thread=346226779");

    expect(list).toEqual({ results: thread().messages });
    expect(ehr.apiRequests.map((request) => request.path)).toEqual([
      "/api/2.0/thread_messages/?thread=346226779&limit=100",
    ]);
  });

  it("fetches one thread message by id", async () => {
    const message = await client().fetchResource("thread_messages/346488926");

    expect(message).toMatchObject({ id: 346488926, thread: 346226779 });
  });

  it("fetches a resource_url under the API base URL with the bearer token", async () => {
    const resource = await client().fetchResource(`${apiBaseUrl}message_threads/346226779/`);

    expect(resource).toEqual(thread());
    expect(authorizations()).toEqual(["Bearer token-1"]);
  });

  it("maps a thin message_threads event end to end, from its resource_url", async () => {
    // Prepare
    const event = fixtureJson("message-thread.json");
    const delivery = deliveryOf({
      ...event,
      data: null,
      resource_url: `${apiBaseUrl}message_threads/346226779/`,
    });

    // Act
    const mapped = await elation.toFacts(delivery, client().fetchResource);

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped).toEqual(await elation.toFacts(deliveryOf(event), client().fetchResource));
  });
});
