import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { Sha256 } from "@aws-crypto/sha256-js";
import { SignatureV4 } from "@smithy/signature-v4";
import type { AwsCredentialIdentityProvider, HttpRequest } from "@smithy/types";
import { problem, reviewPage } from "../../functions/review/review-api.js";
import { headersOf, isReviewPath, readBody, send } from "../local/review-server.js";

/**
 * The biller's console (issue 15): the review page for a deployed stack, served on the biller's own machine at
 * 127.0.0.1, each API call signed (SigV4) with the biller's own AWS credentials (their SSO session) and sent to
 * the stack's review API, where IAM decides. No credential or token ever reaches the browser, nothing is
 * listening beyond loopback, and a page from any other origin cannot use it: requests naming another host or
 * coming from another origin are refused before anything is signed.
 */

export interface ReviewConsoleOptions {
  /** The review API's base, ending in `/review` (the stack's `ReviewApiUrl` output). */
  apiUrl: string;
  region: string;
  credentials: AwsCredentialIdentityProvider;
  port?: number;
  /** For tests: where signed requests go instead of `fetch`. */
  fetch?: typeof fetch;
}

export interface RunningConsole {
  url: string;
  server: Server;
  close(): Promise<void>;
}

/** Request headers passed on to the API: what the review API reads, nothing of the browser's. */
const FORWARDED = ["accept", "content-type"] as const;

export async function startReviewConsole(options: ReviewConsoleOptions): Promise<RunningConsole> {
  const api = new URL(options.apiUrl.replace(/\/+$/, "").replace(/\/review$/, ""));
  const signer = new SignatureV4({
    service: "execute-api",
    region: options.region,
    credentials: options.credentials,
    sha256: Sha256,
  });
  const forward = options.fetch ?? fetch;
  let origin = "";

  const handle = async (request: IncomingMessage, response: ServerResponse) => {
    const headers = headersOf(request);
    const url = new URL(request.url ?? "/", origin);
    // DNS rebinding and cross-site requests: only this console's own host and origin are served.
    const host = headers.host ?? "";
    if (host !== new URL(origin).host && host !== `localhost:${new URL(origin).port}`) {
      send(response, problem(421, "misdirected", "This console answers only on its own address"));
      return;
    }
    const from = headers.origin;
    if (from !== undefined && from !== origin && from !== `http://${host}`) {
      send(
        response,
        problem(403, "cross-origin", "Requests from another origin are refused", { path: "headers.origin" }),
      );
      return;
    }
    // A cross-site navigation, image or no-cors fetch: refused whatever its method, before anything is signed.
    const site = headers["sec-fetch-site"];
    if (site !== undefined && site !== "same-origin" && site !== "none") {
      send(
        response,
        problem(403, "cross-origin", "Requests from another site are refused", {
          path: "headers.sec-fetch-site",
        }),
      );
      return;
    }
    if (request.method === "GET" && (url.pathname === "/" || url.pathname === "/review")) {
      response.writeHead(302, { location: "/review/", "cache-control": "no-store" });
      response.end();
      return;
    }
    if (request.method === "GET" && url.pathname === "/review/") {
      send(response, reviewPage());
      return;
    }
    if (!isReviewPath(url.pathname)) {
      send(response, problem(404, "not-found", "Not found"));
      return;
    }
    const body = await readBody(request);
    if (body === undefined) {
      send(response, problem(413, "payload-too-large", "The request body is too large"));
      return;
    }
    const path = `${api.pathname.replace(/\/$/, "")}${url.pathname}`;
    const unsigned: HttpRequest = {
      method: request.method ?? "GET",
      protocol: api.protocol,
      hostname: api.hostname,
      port: api.port === "" ? undefined : Number(api.port),
      path,
      query: Object.fromEntries(url.searchParams),
      headers: {
        host: api.host,
        ...Object.fromEntries(
          FORWARDED.flatMap((name) => (headers[name] === undefined ? [] : [[name, headers[name] as string]])),
        ),
      },
      body: body === "" ? undefined : body,
    };
    const signed = await signer.sign(unsigned);
    const target = new URL(path, api);
    for (const [name, value] of url.searchParams) target.searchParams.append(name, value);
    const answer = await forward(target, {
      method: signed.method,
      headers: signed.headers as Record<string, string>,
      body: signed.body as string | undefined,
      redirect: "error",
      signal: AbortSignal.timeout(30_000),
    });
    // The answer holds PHI: never framed, sniffed or cached, and no script of its own (the audit page has none).
    response.writeHead(answer.status, {
      "content-type": answer.headers.get("content-type") ?? "application/octet-stream",
      "cache-control": "no-store",
      "content-security-policy": "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
      "x-content-type-options": "nosniff",
    });
    response.end(Buffer.from(await answer.arrayBuffer()));
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      // Credentials expired, the API unreachable: say so, without the request.
      process.stderr.write(`review-console: ${(error as Error).name}: ${(error as Error).message}\n`);
      if (!response.headersSent)
        send(
          response,
          problem(
            502,
            "upstream",
            "The review API could not be reached with your credentials; sign in again (aws sso login) and retry",
          ),
        );
      else response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, "127.0.0.1", resolve));
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: `${origin}/review/`,
    server,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
