import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { type RunningConsole, startReviewConsole } from "../../bin/review-console/review-console.js";

/**
 * The biller's console (issue 15): the page served on loopback, each API call signed with the biller's own
 * credentials (SigV4, service execute-api) and forwarded to the deployed review API, here a local stand-in that
 * records what reached it. Cross-origin and rebinding requests never get signed.
 */

const credentials = async () => ({
  accessKeyId: "AKIDEXAMPLE",
  secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
});
let running: RunningConsole | undefined;
let upstream: ReturnType<typeof createServer> | undefined;
afterEach(async () => {
  await running?.close();
  upstream?.close();
});

async function consoleWithUpstream() {
  const seen: Array<{ method?: string; url?: string; headers: IncomingHttpHeaders; body: string }> = [];
  upstream = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      seen.push({ method: request.method, url: request.url, headers: request.headers, body });
      response.writeHead(request.method === "POST" ? 201 : 200, { "content-type": "application/json" });
      response.end(JSON.stringify({ items: [] }));
    });
  });
  await new Promise<void>((resolve) => upstream?.listen(0, "127.0.0.1", resolve));
  const port = (upstream.address() as AddressInfo).port;
  running = await startReviewConsole({
    apiUrl: `http://127.0.0.1:${port}/v1/review`,
    region: "us-east-1",
    credentials,
  });
  return { seen, base: running.url.replace(/\/review\/$/, "") };
}

/** A raw request, so Host and Origin can be what a hostile page would send. */
const raw = (
  url: string,
  options: { method?: string; headers?: Record<string, string>; body?: string } = {},
) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? "GET", headers: options.headers },
      (response) => {
        let body = "";
        response.on("data", (chunk) => (body += chunk));
        response.on("end", () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    req.on("error", reject);
    req.end(options.body);
  });

describe("review console", () => {
  it("serves the page with its CSP and forwards API calls signed with the biller's credentials (SigV4, execute-api)", async () => {
    // Prepare
    const { seen, base } = await consoleWithUpstream();

    // Act
    const page = await fetch(`${base}/review/`);
    const listed = await fetch(`${base}/review/items?status=open`);
    const posted = await fetch(`${base}/review/items/abc/resolutions`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ action: "do-not-bill", reason: "x", by: "Pat" }),
    });

    // Assess
    expect(page.status).toBe(200);
    expect(page.headers.get("content-security-policy")).toMatch(/script-src 'sha256-[A-Za-z0-9+/=]+'/);
    expect(await page.text()).toContain("portaltime: review");
    expect([listed.status, posted.status]).toEqual([200, 201]);
    // What the API answers holds PHI: never framed or sniffed, and it brings no script.
    expect(listed.headers.get("content-security-policy")).toContain("frame-ancestors 'none'");
    expect(listed.headers.get("x-content-type-options")).toBe("nosniff");
    expect(seen.map((r) => [r.method, r.url])).toEqual([
      ["GET", "/v1/review/items?status=open"],
      ["POST", "/v1/review/items/abc/resolutions"],
    ]);
    for (const request of seen) {
      expect(request.headers.authorization).toMatch(
        /^AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE\/\d{8}\/us-east-1\/execute-api\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/,
      );
      expect(request.headers["x-amz-date"]).toMatch(/^\d{8}T\d{6}Z$/);
    }
    expect(JSON.parse(seen[1]?.body ?? "")).toEqual({ action: "do-not-bill", reason: "x", by: "Pat" });
  });

  it("refuses, unsigned, a request from another origin or naming another host (cross-site, DNS rebinding)", async () => {
    // Prepare
    const { seen, base } = await consoleWithUpstream();
    const port = new URL(base).port;

    // Act
    const crossSite = await raw(`${base}/review/items/abc/resolutions`, {
      method: "POST",
      headers: { origin: "https://attacker.example", "content-type": "application/json" },
      body: "{}",
    });
    const rebound = await raw(`${base}/review/items`, { headers: { host: `attacker.example:${port}` } });
    const otherPath = await raw(`${base}/webhooks/fhir`);
    // A cross-site GET (an image, a navigation, a no-cors fetch) carries no Origin, only Sec-Fetch-Site.
    const crossSiteGet = await raw(`${base}/review/claim-lines/cl_${"0".repeat(32)}`, {
      headers: { "sec-fetch-site": "cross-site", "sec-fetch-mode": "no-cors" },
    });

    // Assess
    expect([crossSite.status, rebound.status, otherPath.status, crossSiteGet.status]).toEqual([
      403, 421, 404, 403,
    ]);
    expect(seen).toEqual([]);
  });
});

describe("the local review server", () => {
  it("answers only requests that name a loopback host (the token is public: DNS rebinding is refused)", async () => {
    // Prepare: npm start's /review, with a service that must never be reached.
    const { serveReview } = await import("../../bin/local/review-server.js");
    const unreachable = new Proxy({}, { get: () => () => Promise.reject(new Error("reached")) });
    const server = createServer((request, response) => {
      void serveReview(request, response, unreachable as never, "portaltime-local-review-token");
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    const port = (server.address() as AddressInfo).port;

    // Act
    const rebound = await raw(`http://127.0.0.1:${port}/review/items`, {
      headers: { host: `attacker.example:${port}`, authorization: "Bearer portaltime-local-review-token" },
    });
    const noToken = await raw(`http://127.0.0.1:${port}/review/items`);
    server.close();

    // Assess
    expect([rebound.status, noToken.status]).toEqual([421, 401]);
  });
});
