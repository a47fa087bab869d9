import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ResourceFetchError } from "../../../functions/vendors/errors.js";
import {
  createVendorApi,
  keyAuthorization,
  type VendorApiOptions,
} from "../../../functions/vendors/http/api-client.js";
import { type SecretReader, secretCredential } from "../../../functions/vendors/http/credential.js";

/**
 * The request mechanism every vendor API client uses, against a real local HTTP server that checks an API key
 * and answers as scripted. Waits are recorded, never slept.
 */

interface Reply {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const api = {
  /** The key the server accepts; rotating it refuses the old one. */
  acceptedKey: "key-1",
  replies: [] as Array<Reply | "hang">,
  requests: [] as Array<{ path: string; key: string | undefined }>,
};
let server: Server;
let base: URL;

function serve(request: IncomingMessage, response: ServerResponse): void {
  const key = request.headers["x-api-key"] as string | undefined;
  api.requests.push({ path: request.url ?? "", key });
  if (key !== api.acceptedKey) {
    response.writeHead(401).end();
    return;
  }
  const scripted = api.replies.shift();
  if (scripted === "hang") return;
  const reply = scripted ?? { status: 200, body: JSON.stringify({ ok: true }) };
  response.writeHead(reply.status, reply.headers).end(reply.body ?? "");
}

beforeAll(async () => {
  server = createServer(serve);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  base = new URL(`http://127.0.0.1:${(server.address() as AddressInfo).port}/api/`);
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
beforeEach(() => {
  api.acceptedKey = "key-1";
  api.replies = [];
  api.requests = [];
});

/** The secret store: its current value, and every read with whether it skipped the cache. */
function secretStore(value: string) {
  const store = { value, reads: [] as Array<{ forceFetch: boolean }> };
  const read: SecretReader = async (_name, options) => {
    store.reads.push({ forceFetch: options?.forceFetch ?? false });
    return store.value;
  };
  return { store, read };
}

function client(options: Partial<VendorApiOptions> = {}, secret = secretStore("key-1")) {
  const sleeps: number[] = [];
  const credential = secretCredential(secret.read, "portaltime/test-api-key", String);
  const request = createVendorApi({
    base,
    authorization: keyAuthorization(credential, (key) => ({ "x-api-key": key })),
    accept: "application/json",
    now: () => Date.parse("2026-12-01T12:00:00Z"),
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  const get = (path = "thing/1") => request(new URL(path, base), "Thing/1", (body) => JSON.parse(body));
  return { get, sleeps, store: secret.store };
}

async function rejectionOf(promise: Promise<unknown>): Promise<ResourceFetchError> {
  const error = await promise.then(
    () => undefined,
    (failure: unknown) => failure,
  );
  expect(error).toBeInstanceOf(ResourceFetchError);
  return error as ResourceFetchError;
}

describe("vendor API requests: retries", () => {
  it.each([429, 500, 503])("retries a %i with backoff and equal jitter, then succeeds", async (status) => {
    // Prepare
    api.replies = [{ status }, { status }];
    const { get, sleeps } = client();

    // Act
    const value = await get();

    // Assess
    expect(value).toEqual({ ok: true });
    expect(api.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
    expect(sleeps[0]).toBeGreaterThanOrEqual(100);
    expect(sleeps[0]).toBeLessThanOrEqual(200);
    expect(sleeps[1]).toBeGreaterThanOrEqual(200);
    expect(sleeps[1]).toBeLessThanOrEqual(400);
  });

  it("gives up after the last attempt with a transient, retryable error", async () => {
    // Prepare
    api.replies = [{ status: 503 }, { status: 503 }, { status: 503 }];
    const { get } = client();

    // Act
    const error = await rejectionOf(get());

    // Assess
    expect(error).toMatchObject({ status: 503, transient: true, credential: false, retryable: true });
    expect(api.requests).toHaveLength(3);
  });

  it("honours Retry-After in seconds and as an HTTP date", async () => {
    // Prepare
    api.replies = [
      { status: 429, headers: { "retry-after": "2" } },
      { status: 503, headers: { "retry-after": "Tue, 01 Dec 2026 12:00:03 GMT" } },
    ];
    const { get, sleeps } = client();

    // Act
    await get();

    // Assess
    expect(sleeps).toEqual([2000, 3000]);
  });

  it("ends the attempts at once when Retry-After asks for longer than it waits", async () => {
    // Prepare
    api.replies = [{ status: 429, headers: { "retry-after": "120" } }];
    const { get, sleeps } = client();

    // Act
    const error = await rejectionOf(get());

    // Assess
    expect(error).toMatchObject({ status: 429, transient: true });
    expect(sleeps).toEqual([]);
    expect(api.requests).toHaveLength(1);
  });

  it("times out a request that never answers, and retries it", async () => {
    // Prepare
    api.replies = ["hang"];
    const { get, sleeps } = client({ timeoutMs: 200 });

    // Act
    const value = await get();

    // Assess
    expect(value).toEqual({ ok: true });
    expect(api.requests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });
});

describe("vendor API requests: redirects and URLs", () => {
  it("never follows a redirect, and does not retry it", async () => {
    // Prepare
    api.replies = [{ status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }];
    const { get } = client();

    // Act
    const error = await rejectionOf(get());

    // Assess
    expect(error).toMatchObject({ status: 302, transient: false, credential: false });
    expect(api.requests).toHaveLength(1);
  });

  it("refuses a URL outside the configured base before any request", async () => {
    // Prepare
    const { get } = client();

    // Act
    const error = await get("/elsewhere/1").catch((failure: Error) => failure);

    // Assess
    expect(error).toBeInstanceOf(Error);
    expect(api.requests).toHaveLength(0);
  });
});

describe("vendor API requests: a rotated credential", () => {
  it("on a 401, re-reads the secret once (skipping its cache) and succeeds with the rotated credential", async () => {
    // Prepare
    const secret = secretStore("key-1");
    const { get, store } = client({}, secret);
    await get();
    api.acceptedKey = "key-2";
    store.value = "key-2";

    // Act
    const value = await get();

    // Assess
    expect(value).toEqual({ ok: true });
    expect(store.reads).toEqual([{ forceFetch: false }, { forceFetch: true }]);
    expect(api.requests.map((request) => request.key)).toEqual(["key-1", "key-1", "key-2"]);
  });

  it("keeps the re-read credential for later requests", async () => {
    // Prepare
    const secret = secretStore("key-2");
    api.acceptedKey = "key-2";
    const { get, store } = client({}, secret);

    // Act
    await get();
    await get();

    // Assess
    expect(store.reads).toEqual([{ forceFetch: false }]);
  });

  it("a second 401 is a credential failure, after exactly one re-read", async () => {
    // Prepare
    api.acceptedKey = "key-2";
    const { get, store, sleeps } = client();

    // Act
    const error = await rejectionOf(get());

    // Assess
    expect(error).toMatchObject({ status: 401, credential: true, transient: false, retryable: true });
    expect(store.reads).toEqual([{ forceFetch: false }, { forceFetch: true }]);
    expect(api.requests).toHaveLength(2);
    expect(sleeps).toEqual([]);
  });
});
