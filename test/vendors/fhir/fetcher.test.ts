import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import {
  type CryptoKey,
  exportJWK,
  exportPKCS8,
  exportSPKI,
  generateKeyPair,
  type JWTHeaderParameters,
  type JWTPayload,
  jwtVerify,
} from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ResourceFetchError, UnmappableDeliveryError } from "../../../functions/vendors/errors.js";
import {
  createSmartFhirFetcher,
  ResourceGoneError,
  type SmartFhirFetcherOptions,
} from "../../../functions/vendors/fhir/fetcher.js";
import {
  loadSmartSigningKey,
  type SmartSigningKey,
  SmartTokenProvider,
  type SmartTokenProviderOptions,
} from "../../../functions/vendors/fhir/smart-token-provider.js";
import { fixedCredential } from "../../../functions/vendors/http/credential.js";

/**
 * The SMART Backend Services client against a real local HTTP server playing both the token endpoint and the
 * FHIR API. The server verifies every client assertion with the client's public key.
 */

const clientId = "portaltime-test";
const kid = "test-key-1";
/** Stands for PHI in every body the server sends: no error message may carry it. */
const phi = "Jane Doe";

interface TokenRequest {
  form: URLSearchParams;
  header: JWTHeaderParameters;
  claims: JWTPayload;
}

interface FhirRequest {
  path: string;
  accept: string | undefined;
  authorization: string | undefined;
}

/** A scripted FHIR API answer; `hang` never answers. */
type FhirReply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

/** The test's clock, shared by the client and the server's assertion check. Starts on a whole second. */
let nowMs = 0;
const clock = () => nowMs;

let publicKey: CryptoKey;
let privateKey: CryptoKey;
let signingKey: SmartSigningKey;
let server: Server;
let origin: string;
let tokenUrl: string;
let baseUrl: string;

/** Server state, reset before each test. */
const ehr = {
  tokenRequests: [] as TokenRequest[],
  fhirRequests: [] as FhirRequest[],
  issuedTokens: [] as string[],
  revokedTokens: new Set<string>(),
  expiresIn: 300,
  tokenDelayMs: 0,
  /** Answers the token endpoint gives instead of a token, in order. */
  tokenFailures: [] as Array<{ status: number; body: string }>,
  /** Answers the FHIR API gives, in order; once used up, the resource for a valid token, else 401. */
  fhirReplies: [] as FhirReply[],
};

beforeAll(async () => {
  ({ publicKey, privateKey } = await generateKeyPair("RS384", { extractable: true }));
  signingKey = { privateKey, kid, alg: "RS384" };
  server = createServer((request, response) => {
    handle(request, response).catch(() => {
      response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  tokenUrl = `${origin}/auth/token`;
  baseUrl = `${origin}/fhir/R4`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  nowMs = Math.floor(Date.now() / 1000) * 1000;
  ehr.tokenRequests = [];
  ehr.fhirRequests = [];
  ehr.issuedTokens = [];
  ehr.revokedTokens = new Set();
  ehr.expiresIn = 300;
  ehr.tokenDelayMs = 0;
  ehr.tokenFailures = [];
  ehr.fhirReplies = [];
});

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  if (request.method === "POST" && request.url === "/auth/token") return handleToken(request, response);
  const path = request.url ?? "";
  ehr.fhirRequests.push({
    path,
    accept: request.headers.accept,
    authorization: request.headers.authorization,
  });
  const scripted = ehr.fhirReplies.shift();
  if (scripted === "hang") return;
  if (scripted !== undefined) {
    response.writeHead(scripted.status, scripted.headers);
    response.end(scripted.body ?? JSON.stringify({ resourceType: "OperationOutcome", text: phi }));
    return;
  }
  const token = request.headers.authorization?.replace(/^Bearer /, "") ?? "";
  if (!ehr.issuedTokens.includes(token) || ehr.revokedTokens.has(token)) {
    response.writeHead(401).end();
    return;
  }
  const [resourceType, id] = path.replace(/^\/fhir\/R4\//, "").split("/");
  response.writeHead(200, { "content-type": "application/fhir+json" });
  response.end(JSON.stringify({ resourceType, id, note: phi }));
}

/** The token endpoint: verifies the form and the assertion as a SMART authorization server would. */
async function handleToken(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const form = new URLSearchParams(await bodyOf(request));
  const reject = () => {
    response.writeHead(400, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: "invalid_client" }));
  };
  let verified: Awaited<ReturnType<typeof jwtVerify>>;
  try {
    verified = await jwtVerify(form.get("client_assertion") ?? "", publicKey, {
      algorithms: ["RS384"],
      issuer: clientId,
      subject: clientId,
      audience: tokenUrl,
      requiredClaims: ["exp", "jti"],
      currentDate: new Date(clock()),
    });
  } catch {
    return reject();
  }
  const { payload: claims, protectedHeader: header } = verified;
  const jtiReused = ehr.tokenRequests.some((earlier) => earlier.claims.jti === claims.jti);
  const expiresTooLate = (claims.exp ?? 0) > clock() / 1000 + 300;
  if (jtiReused || expiresTooLate || header.kid !== kid) return reject();
  ehr.tokenRequests.push({ form, header, claims });

  await new Promise((resolve) => setTimeout(resolve, ehr.tokenDelayMs));
  const failure = ehr.tokenFailures.shift();
  if (failure !== undefined) {
    response.writeHead(failure.status, { "content-type": "application/json" }).end(failure.body);
    return;
  }
  const accessToken = `token-${ehr.issuedTokens.length + 1}`;
  ehr.issuedTokens.push(accessToken);
  response.writeHead(200, { "content-type": "application/json" });
  response.end(
    JSON.stringify({ access_token: accessToken, token_type: "bearer", expires_in: ehr.expiresIn }),
  );
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A token provider and a fetcher against the local server; `sleeps` records waits, which take no time. */
function client(
  fetcherOptions: Partial<SmartFhirFetcherOptions> = {},
  providerOptions: Partial<SmartTokenProviderOptions> = {},
) {
  const sleeps: number[] = [];
  const tokens = new SmartTokenProvider({
    tokenUrl,
    clientId,
    key: fixedCredential(signingKey),
    now: clock,
    ...providerOptions,
  });
  const fetchResource = createSmartFhirFetcher({
    baseUrl,
    tokens,
    now: clock,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...fetcherOptions,
  });
  return { fetchResource, sleeps };
}

/** The error a promise rejects with; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain(phi);
    return error as Error;
  }
  throw new Error("expected a rejection");
}

const communication = (id: string) => ({ resourceType: "Communication", id, note: phi });

describe("SMART token provider", () => {
  it("requests a token with a SMART client assertion the server verifies with the public key", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    await fetchResource("Communication/m1");

    // Assess
    expect(ehr.tokenRequests).toHaveLength(1);
    const [{ form, header, claims }] = ehr.tokenRequests as [TokenRequest];
    expect(Object.fromEntries([...form].filter(([name]) => name !== "client_assertion"))).toEqual({
      grant_type: "client_credentials",
      scope: "system/*.read",
      client_assertion_type: "urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
    });
    expect(header).toEqual({ alg: "RS384", kid, typ: "JWT" });
    expect(claims).toMatchObject({ iss: clientId, sub: clientId, aud: tokenUrl });
    expect(claims.exp).toBeGreaterThan(nowMs / 1000);
    expect(claims.exp).toBeLessThanOrEqual(nowMs / 1000 + 300);
    expect(claims.jti).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("requests the configured scope", async () => {
    // Prepare
    const { fetchResource } = client({}, { scope: "system/Communication.rs system/Patient.rs" });

    // Act
    await fetchResource("Communication/m1");

    // Assess
    expect(ehr.tokenRequests[0]?.form.get("scope")).toBe("system/Communication.rs system/Patient.rs");
  });

  it("fetches one token and reuses it across fetches", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    const resources = [
      await fetchResource("Communication/m1"),
      await fetchResource("Communication/m2"),
      await fetchResource("Patient/p1"),
    ];

    // Assess
    expect(resources).toEqual([
      communication("m1"),
      communication("m2"),
      { resourceType: "Patient", id: "p1", note: phi },
    ]);
    expect(ehr.tokenRequests).toHaveLength(1);
    expect(ehr.fhirRequests).toEqual([
      { path: "/fhir/R4/Communication/m1", accept: "application/fhir+json", authorization: "Bearer token-1" },
      { path: "/fhir/R4/Communication/m2", accept: "application/fhir+json", authorization: "Bearer token-1" },
      { path: "/fhir/R4/Patient/p1", accept: "application/fhir+json", authorization: "Bearer token-1" },
    ]);
  });

  it("uses a token until a minute before it expires, then requests another with a fresh jti", async () => {
    // Prepare
    const { fetchResource } = client();
    await fetchResource("Communication/m1");

    // Act
    nowMs += 239_000;
    await fetchResource("Communication/m2");
    nowMs += 2_000;
    await fetchResource("Communication/m3");

    // Assess
    expect(ehr.fhirRequests.map((request) => request.authorization)).toEqual([
      "Bearer token-1",
      "Bearer token-1",
      "Bearer token-2",
    ]);
    const [first, second] = ehr.tokenRequests as [TokenRequest, TokenRequest];
    expect(second.claims.jti).not.toBe(first.claims.jti);
    expect(second.claims.iat).toBe((first.claims.iat as number) + 241);
  });

  it("keeps half the life of a token shorter than twice the margin", async () => {
    // Prepare
    ehr.expiresIn = 60;
    const { fetchResource } = client();
    await fetchResource("Communication/m1");

    // Act
    nowMs += 29_000;
    await fetchResource("Communication/m2");
    nowMs += 2_000;
    await fetchResource("Communication/m3");

    // Assess
    expect(ehr.tokenRequests).toHaveLength(2);
  });

  it("shares one in-flight token request between concurrent fetches", async () => {
    // Prepare
    ehr.tokenDelayMs = 50;
    const { fetchResource } = client();

    // Act
    const resources = await Promise.all(
      ["m1", "m2", "m3", "m4", "m5"].map((id) => fetchResource(`Communication/${id}`)),
    );

    // Assess
    expect(resources).toHaveLength(5);
    expect(ehr.tokenRequests).toHaveLength(1);
    expect(new Set(ehr.fhirRequests.map((request) => request.authorization))).toEqual(
      new Set(["Bearer token-1"]),
    );
  });

  it("forgets a rejected token only while it is the cached one", async () => {
    // Prepare
    const tokens = new SmartTokenProvider({
      tokenUrl,
      clientId,
      key: fixedCredential(signingKey),
      now: clock,
    });
    await tokens.accessToken();
    tokens.invalidate("token-1");
    await tokens.accessToken();

    // Act
    tokens.invalidate("token-1");
    const afterStaleRejection = await tokens.accessToken();
    tokens.invalidate();
    const afterInvalidation = await tokens.accessToken();

    // Assess
    expect(afterStaleRejection).toBe("token-2");
    expect(afterInvalidation).toBe("token-3");
    expect(ehr.tokenRequests).toHaveLength(3);
  });

  it("reports a refused token request with its OAuth error code only, once the key re-read is refused too", async () => {
    // Prepare
    const refusal = { status: 400, body: JSON.stringify({ error: "invalid_scope", error_description: phi }) };
    ehr.tokenFailures = [refusal, refusal];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({
      status: 400,
      transient: false,
      credential: true,
      reason: "invalid_scope",
      retryable: true,
    });
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(ehr.fhirRequests).toHaveLength(0);
  });

  it("retries a token endpoint's 503 with backoff", async () => {
    // Prepare
    ehr.tokenFailures = [{ status: 503, body: "" }];
    const { fetchResource, sleeps } = client();

    // Act
    const resource = await fetchResource("Communication/m1");

    // Assess
    expect(resource).toEqual(communication("m1"));
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(sleeps).toHaveLength(1);
  });

  it("refuses a token response that is not a bearer token", async () => {
    // Prepare
    const malformed = {
      status: 200,
      body: JSON.stringify({ access_token: "t", token_type: "mac", expires_in: 300 }),
    };
    ehr.tokenFailures = [malformed, malformed];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 200, credential: true, reason: "malformed token response" });
  });
});

describe("SMART signing key secret", () => {
  it("loads a PKCS#8 PEM or a private JWK that the server accepts", async () => {
    // Prepare
    const secrets = [
      { kid, alg: "RS384", privateKeyPem: await exportPKCS8(privateKey) },
      { kid, alg: "RS384", privateKeyJwk: await exportJWK(privateKey) },
    ];

    for (const secret of secrets) {
      // Act
      const key = await loadSmartSigningKey(JSON.stringify(secret));
      const { fetchResource } = client({}, { key: fixedCredential(key) });

      // Assess
      await expect(fetchResource("Communication/m1")).resolves.toEqual(communication("m1"));
    }
    expect(ehr.tokenRequests).toHaveLength(2);
  });

  it("refuses a secret that is not JSON, names both or neither key form, or holds a public key", async () => {
    // Prepare
    const pem = await exportPKCS8(privateKey);
    const publicJwk = await exportJWK(publicKey);
    const secrets = [
      `not json ${pem}`,
      JSON.stringify({ kid, alg: "RS384" }),
      JSON.stringify({ kid, alg: "RS384", privateKeyPem: pem, privateKeyJwk: await exportJWK(privateKey) }),
      JSON.stringify({ kid, alg: "RS256", privateKeyPem: pem }),
      JSON.stringify({ kid, alg: "RS384", privateKeyJwk: publicJwk }),
      JSON.stringify({ kid, alg: "RS384", privateKeyPem: await exportSPKI(publicKey) }),
      JSON.stringify({ kid, alg: "ES384", privateKeyPem: pem }),
    ];

    for (const secret of secrets) {
      // Act
      const error = await rejectionOf(loadSmartSigningKey(secret));

      // Assess
      expect(error).toBeInstanceOf(ResourceFetchError);
      expect(error).toMatchObject({ credential: true, transient: false });
      expect(error.message).not.toContain("PRIVATE KEY");
      expect(error.message).not.toContain(publicJwk.n);
    }
  });
});

describe("SMART FHIR fetcher", () => {
  it("fetches an absolute reference under the base URL, and a versioned one", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    const resources = [
      await fetchResource(`${baseUrl}/Communication/m1`),
      await fetchResource("Communication/m2/_history/3"),
    ];

    // Assess
    expect(resources).toEqual([communication("m1"), communication("m2")]);
    expect(ehr.fhirRequests.map((request) => request.path)).toEqual([
      "/fhir/R4/Communication/m1",
      "/fhir/R4/Communication/m2/_history/3",
    ]);
  });

  it("on a 401, forgets the token and retries once with a fresh one", async () => {
    // Prepare
    const { fetchResource, sleeps } = client();
    await fetchResource("Communication/m1");
    ehr.revokedTokens.add("token-1");

    // Act
    const resource = await fetchResource("Communication/m2");

    // Assess
    expect(resource).toEqual(communication("m2"));
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(ehr.fhirRequests.map((request) => request.authorization)).toEqual([
      "Bearer token-1",
      "Bearer token-1",
      "Bearer token-2",
    ]);
    expect(sleeps).toEqual([]);
  });

  it("on a second 401, throws a retryable ResourceFetchError", async () => {
    // Prepare
    ehr.fhirReplies = [{ status: 401 }, { status: 401 }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 401, reference: "Communication/m1", retryable: true });
    expect(ehr.tokenRequests).toHaveLength(2);
    expect(ehr.fhirRequests).toHaveLength(2);
  });

  it("refreshes a token once when concurrent fetches are all refused it", async () => {
    // Prepare
    const { fetchResource } = client();
    await fetchResource("Communication/m0");
    ehr.revokedTokens.add("token-1");

    // Act
    const resources = await Promise.all(["m1", "m2", "m3"].map((id) => fetchResource(`Communication/${id}`)));

    // Assess
    expect(resources).toEqual([communication("m1"), communication("m2"), communication("m3")]);
    expect(ehr.tokenRequests).toHaveLength(2);
  });

  it("on a 429, waits the Retry-After seconds and retries", async () => {
    // Prepare
    ehr.fhirReplies = [{ status: 429, headers: { "retry-after": "1" } }];
    const { fetchResource, sleeps } = client();

    // Act
    const resource = await fetchResource("Communication/m1");

    // Assess
    expect(resource).toEqual(communication("m1"));
    expect(sleeps).toEqual([1_000]);
    expect(ehr.fhirRequests).toHaveLength(2);
  });

  it("honours a Retry-After date", async () => {
    // Prepare
    ehr.fhirReplies = [{ status: 503, headers: { "retry-after": new Date(nowMs + 2_000).toUTCString() } }];
    const { fetchResource, sleeps } = client();

    // Act
    await fetchResource("Communication/m1");

    // Assess
    expect(sleeps).toEqual([2_000]);
  });

  it("gives up at once when Retry-After asks for longer than the longest wait", async () => {
    // Prepare
    ehr.fhirReplies = [{ status: 429, headers: { "retry-after": "120" } }];
    const { fetchResource, sleeps } = client();

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 429 });
    expect(sleeps).toEqual([]);
    expect(ehr.fhirRequests).toHaveLength(1);
  });

  it("after three 5xx, throws a retryable ResourceFetchError, having backed off with jitter", async () => {
    // Prepare
    ehr.fhirReplies = [{ status: 500 }, { status: 502 }, { status: 503 }];
    const { fetchResource, sleeps } = client({ baseDelayMs: 200 });

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 503, retryable: true });
    expect(ehr.fhirRequests).toHaveLength(3);
    const [first, second] = sleeps as [number, number];
    expect(sleeps).toHaveLength(2);
    expect(first).toBeGreaterThanOrEqual(100);
    expect(first).toBeLessThanOrEqual(200);
    expect(second).toBeGreaterThanOrEqual(200);
    expect(second).toBeLessThanOrEqual(400);
  });

  it("times out a request that never answers, and retries it", async () => {
    // Prepare
    ehr.fhirReplies = ["hang", "hang"];
    const { fetchResource } = client({ timeoutMs: 50, maxAttempts: 2 });

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: undefined, retryable: true });
    expect(ehr.fhirRequests).toHaveLength(2);
  });

  it.each([404, 410])("on a %i, throws ResourceGoneError without retrying", async (status) => {
    // Prepare
    ehr.fhirReplies = [{ status }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceGoneError);
    expect(error).toMatchObject({ status, reference: "Communication/m1", retryable: false });
    expect(ehr.fhirRequests).toHaveLength(1);
  });

  it.each([
    [403, {}],
    [302, { location: "http://169.254.169.254/latest/meta-data/" }],
  ])("on a %i, throws ResourceFetchError without retrying or following", async (status, headers) => {
    // Prepare
    ehr.fhirReplies = [{ status, headers }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status });
    expect(ehr.fhirRequests).toHaveLength(1);
  });

  it.each([
    ["not JSON", `<html>${phi}</html>`],
    ["not a resource", JSON.stringify({ name: phi })],
    ["another resource type", JSON.stringify({ resourceType: "OperationOutcome", id: "m1", text: phi })],
    ["another id", JSON.stringify(communication("m9"))],
  ])("refuses a 200 body that is %s as unmappable", async (_, body) => {
    // Prepare
    ehr.fhirReplies = [{ status: 200, body }];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("Communication/m1"));

    // Assess
    expect(error).toBeInstanceOf(UnmappableDeliveryError);
    expect(ehr.fhirRequests).toHaveLength(1);
  });

  it("refuses references outside the tenant's FHIR server before any request", async () => {
    // Prepare
    const { fetchResource } = client();
    const port = new URL(origin).port;
    const references = [
      "https://evil.example/fhir/R4/Communication/m1",
      "//evil.example/fhir/R4/Communication/m1",
      `http://127.0.0.1:${Number(port) + 1}/fhir/R4/Communication/m1`,
      `http://localhost:${port}/fhir/R4/Communication/m1`,
      `${origin}/other/Communication/m1`,
      `${baseUrl}/../Communication/m1`,
      `${baseUrl}/Communication/..`,
      `${baseUrl}/Communication/m1?_format=xml`,
      `${baseUrl}/Communication/m1#x`,
      `http://user:secret@127.0.0.1:${port}/fhir/R4/Communication/m1`,
      "/fhir/R4/Communication/m1",
      "Communication/..",
      "Communication/../../admin",
      "Communication/m1/extra",
      "communication/m1",
      "Communication/m%31",
      "file:///etc/passwd",
      "",
    ];

    for (const reference of references) {
      // Act
      const error = await rejectionOf(fetchResource(reference));

      // Assess
      expect(error, reference).toBeInstanceOf(UnmappableDeliveryError);
    }
    expect(ehr.tokenRequests).toHaveLength(0);
    expect(ehr.fhirRequests).toHaveLength(0);
  });

  describe("a focus named only by an identifier (athenahealth)", () => {
    const system = "urn:athenahealth:athenanet:appointment:195900";
    const reference = `Appointment?identifier=${system}|2`;
    const appointment = (id: string, value = "2") => ({
      resourceType: "Appointment",
      id,
      identifier: [{ system, value }],
      description: phi,
    });
    const searchset = (...resources: unknown[]) =>
      JSON.stringify({
        resourceType: "Bundle",
        type: "searchset",
        entry: resources.map((resource) => ({ resource, search: { mode: "match" } })),
      });

    it("searches the identifier on the tenant's server and returns the one match", async () => {
      // Prepare
      ehr.fhirReplies = [{ status: 200, body: searchset(appointment("a-195900.1")) }];
      const { fetchResource } = client();

      // Act
      const resource = await fetchResource(reference);

      // Assess
      expect(resource).toEqual(appointment("a-195900.1"));
      const [request] = ehr.fhirRequests;
      const url = new URL(request?.path ?? "", origin);
      expect(url.pathname).toBe("/fhir/R4/Appointment");
      expect(url.searchParams.get("identifier")).toBe(`${system}|2`);
      expect(request?.authorization).toMatch(/^Bearer /);
    });

    it("counts only resources of that type carrying that identifier (a server that ignored the parameter)", async () => {
      // Prepare
      const other = { resourceType: "Patient", id: "p1", identifier: [{ system, value: "2" }] };
      ehr.fhirReplies = [
        { status: 200, body: searchset(appointment("a-9", "3"), other, appointment("a-195900.1")) },
      ];
      const { fetchResource } = client();

      // Act
      const resource = await fetchResource(reference);

      // Assess
      expect(resource).toEqual(appointment("a-195900.1"));
    });

    it("finding nothing (yet) is a retryable ResourceFetchError", async () => {
      // Prepare
      ehr.fhirReplies = [{ status: 200, body: searchset() }];
      const { fetchResource } = client();

      // Act
      const error = await rejectionOf(fetchResource(reference));

      // Assess
      expect(error).toBeInstanceOf(ResourceFetchError);
      expect(error).toMatchObject({ retryable: true });
      expect(ehr.fhirRequests).toHaveLength(1);
    });

    it("finding several is unmappable: someone must look at it", async () => {
      // Prepare
      ehr.fhirReplies = [{ status: 200, body: searchset(appointment("a-1"), appointment("a-2")) }];
      const { fetchResource } = client();

      // Act
      const error = await rejectionOf(fetchResource(reference));

      // Assess
      expect(error).toBeInstanceOf(UnmappableDeliveryError);
      expect(error.message).not.toContain(system);
    });

    it.each([404, 410])(
      "a %i of the search is unmappable (no search offered), not a deletion",
      async (status) => {
        // Prepare
        ehr.fhirReplies = [{ status }];
        const { fetchResource } = client();

        // Act
        const error = await rejectionOf(fetchResource(reference));

        // Assess
        expect(error).toBeInstanceOf(UnmappableDeliveryError);
        expect(error).not.toBeInstanceOf(ResourceGoneError);
        expect(ehr.fhirRequests).toHaveLength(1);
      },
    );

    it.each([
      ["not JSON", `<html>${phi}</html>`],
      ["not a Bundle", JSON.stringify(appointment("a-1"))],
    ])("refuses a search answer that is %s as unmappable", async (_, body) => {
      // Prepare
      ehr.fhirReplies = [{ status: 200, body }];
      const { fetchResource } = client();

      // Act
      const error = await rejectionOf(fetchResource(reference));

      // Assess
      expect(error).toBeInstanceOf(UnmappableDeliveryError);
    });

    it("keeps the search on the tenant's server and path whatever the identifier holds", async () => {
      // Prepare
      ehr.fhirReplies = [{ status: 200, body: searchset() }];
      const { fetchResource } = client();

      // Act
      await rejectionOf(fetchResource("Appointment?identifier=https://evil.example/x|../../admin?&a=#b"));

      // Assess
      const url = new URL(ehr.fhirRequests[0]?.path ?? "", origin);
      expect(url.pathname).toBe("/fhir/R4/Appointment");
      expect([...url.searchParams.keys()]).toEqual(["identifier"]);
      expect(url.searchParams.get("identifier")).toBe("https://evil.example/x|../../admin?&a=#b");
    });
  });
});
