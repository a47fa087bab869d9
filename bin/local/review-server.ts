import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { handleReviewRequest, problem, type ReviewResponse } from "../../functions/review/review-api.js";
import type { ReviewService } from "../../functions/review/review-service.js";

/** Largest review request body read (a resolution is a few hundred bytes). */
const MAX_BODY_BYTES = 64 * 1024;

/** Whether a request is for the review API or page (`/review`, `/review/...`). */
export const isReviewPath = (pathname: string): boolean =>
  pathname === "/review" || pathname.startsWith("/review/");

/** Paths served without the token: the page itself and the API description carry no data. */
const OPEN_PATHS = new Set(["/review", "/review/", "/review/openapi.json"]);

/** The request's headers with lower-case names, as API Gateway gives them to the function. */
export function headersOf(request: IncomingMessage): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers))
    if (value !== undefined) headers[name.toLowerCase()] = Array.isArray(value) ? value.join(", ") : value;
  return headers;
}

export async function readBody(
  request: IncomingMessage,
  limit = MAX_BODY_BYTES,
): Promise<string | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    if (size > limit) return undefined;
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString("utf8");
}

export function send(response: ServerResponse, answer: ReviewResponse): void {
  response.writeHead(answer.statusCode, answer.headers);
  response.end(answer.body);
}

/** `localhost`, `127.0.0.1` or `[::1]`, on any port. */
export const isLoopbackHost = (host: string | undefined): boolean =>
  host !== undefined && /^(localhost|127\.0\.0\.1|\[::1\])(:\d+)?$/.test(host);

const bearerMatches = (header: string | undefined, token: string): boolean => {
  const given = Buffer.from(header ?? "");
  const expected = Buffer.from(`Bearer ${token}`);
  return given.length === expected.length && timingSafeEqual(given, expected);
};

/**
 * `/review` on the local stack: the same `handleReviewRequest` the deployed function runs, behind the development
 * token instead of IAM (README "Run it locally").
 */
export async function serveReview(
  request: IncomingMessage,
  response: ServerResponse,
  service: ReviewService,
  token: string,
): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  const headers = headersOf(request);
  // The token is public: a page of another site that made its name resolve here (DNS rebinding) is refused.
  if (!isLoopbackHost(headers.host)) {
    send(response, problem(421, "misdirected", "The local review API answers only on a loopback address"));
    return;
  }
  if (!OPEN_PATHS.has(url.pathname) && !bearerMatches(headers.authorization, token)) {
    const answer = problem(401, "unauthorized", "The review API needs the development token", {
      path: "headers.authorization",
    });
    send(response, {
      ...answer,
      headers: { ...answer.headers, "www-authenticate": 'Bearer realm="portaltime-review"' },
    });
    return;
  }
  const body = await readBody(request);
  if (body === undefined) {
    send(response, problem(413, "payload-too-large", "The request body is too large"));
    return;
  }
  send(
    response,
    await handleReviewRequest(
      { method: request.method ?? "GET", path: url.pathname, query: url.searchParams, headers, body },
      service,
    ),
  );
}
