import { z } from "zod";
import { ResourceFetchError, UnmappableDeliveryError } from "../vendors/errors.js";
import type { ResourceFetcher } from "../vendors/format.js";
import {
  type AttemptOutcome,
  createRetrier,
  discardBody,
  isTransientStatus,
  type RetryOptions,
  readText,
  send,
} from "./http-retry.js";
import { ResourceGoneError } from "./smart-fhir-fetcher.js";

/**
 * Fetches what elation.ts asks for (`message_threads/<id>`) from Elation's REST API, `GET
 * <base>/message_threads/<id>/`, with a bearer token from Elation's OAuth2 client-credentials grant
 * (`POST <base>/oauth2/token/`, form `grant_type=client_credentials&client_id=…&client_secret=…`). The
 * resource is returned as Elation sends it (a thread with its `messages` embedded), checked only to be the
 * thread asked for; elation.ts checks the rest.
 *
 * Tokens are cached until shortly before `expires_in` runs out, shared by concurrent fetches, and replaced
 * once when the API answers 401. Failures: `ResourceGoneError` for 404 and 410; transient failures (network,
 * timeout, 408, 429, 5xx, of the API or the token endpoint) are retried with backoff honouring `Retry-After`,
 * then thrown as `ResourceFetchError` or `ElationTokenError`; other statuses are a `ResourceFetchError` at
 * once. Redirects are never followed, and no body reaches an error.
 */

export interface ElationFetcherOptions extends RetryOptions {
  /** e.g. `https://sandbox.elationemr.com/api/2.0/`. */
  apiBaseUrl: string;
  /** e.g. `https://sandbox.elationemr.com/api/2.0/oauth2/token/`. */
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  /** Elation's optional scopes (closed beta); omitted, Elation grants `apiv2`. */
  scope?: string;
  /** Per request, API or token endpoint. Default 5 s. */
  timeoutMs?: number;
  /** How long before `expires_in` runs out a token stops being used. Default 60 s. */
  expiryMarginSeconds?: number;
}

/**
 * The token endpoint failed. `transient` failures (network, timeout, 408, 429, 5xx) are retried soon; all are
 * retryable through SQS. `reason` is the RFC 6749 error code, or what was wrong with a successful response.
 */
export class ElationTokenError extends Error {
  readonly retryable = true;
  constructor(
    readonly status: number | undefined,
    readonly transient: boolean,
    readonly reason?: string,
  ) {
    super(`Elation token request failed (${status ?? "network"}${reason ? `: ${reason}` : ""})`);
    this.name = "ElationTokenError";
  }
}

/** The resources this fetcher serves, by the reference's first segment. */
const servedResources = new Set(["message_threads"]);

/** `<resource>/<numeric id>`, as elation.ts names them. */
const referencePattern = /^([a-z_]{1,64})\/(\d{1,20})$/;

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((type) => type.toLowerCase() === "bearer", "token_type must be bearer"),
  expires_in: z.coerce.number().int().positive(),
});

/** Only the registered codes are reported: the rest of an error body is free text. */
const oauthErrorSchema = z.object({
  error: z.enum([
    "invalid_request",
    "invalid_client",
    "invalid_grant",
    "unauthorized_client",
    "unsupported_grant_type",
    "invalid_scope",
  ]),
});

/** Checks only that a body is the resource asked for. */
const resourceSchema = z.looseObject({
  id: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String),
});

interface CachedToken {
  accessToken: string;
  usableUntilMs: number;
}

/** Creates the fetcher elation.ts's `toFacts` is given. */
export function createElationFetcher(options: ElationFetcherOptions): ResourceFetcher {
  const base = parseUrl(options.apiBaseUrl, "Elation API base URL");
  if (!base.pathname.endsWith("/")) base.pathname = `${base.pathname}/`;
  const tokenUrl = parseUrl(options.tokenUrl, "Elation token URL");
  const timeoutMs = options.timeoutMs ?? 5_000;
  const expiryMarginSeconds = options.expiryMarginSeconds ?? 60;
  const now = options.now ?? Date.now;
  const retrier = createRetrier(options);

  let cached: CachedToken | undefined;
  let inFlight: Promise<CachedToken> | undefined;

  /** A usable token, requested when none is cached or it nears expiry. Throws `ElationTokenError`. */
  async function accessToken(): Promise<string> {
    if (cached !== undefined && now() < cached.usableUntilMs) return cached.accessToken;
    inFlight ??= requestToken().finally(() => {
      inFlight = undefined;
    });
    return (await inFlight).accessToken;
  }

  /** Forgets the rejected token only while it is the cached one: concurrent 401s refresh it once. */
  function invalidate(rejectedToken: string): void {
    if (cached?.accessToken === rejectedToken) cached = undefined;
  }

  async function requestToken(): Promise<CachedToken> {
    const requestedAtMs = now();
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      client_id: options.clientId,
      client_secret: options.clientSecret,
    });
    if (options.scope !== undefined) form.set("scope", options.scope);
    const response = await send(
      tokenUrl,
      {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body: form,
      },
      timeoutMs,
    );
    if (response === undefined) throw new ElationTokenError(undefined, true);
    const text = await readText(response);
    if (text === undefined) throw new ElationTokenError(response.status, true);
    const json = parseJson(text);
    if (!response.ok) {
      const { status } = response;
      throw new ElationTokenError(
        status,
        isTransientStatus(status),
        oauthErrorSchema.safeParse(json).data?.error,
      );
    }
    const token = tokenResponseSchema.safeParse(json);
    if (!token.success) throw new ElationTokenError(response.status, false, "malformed token response");
    // Short-lived tokens keep at least half their life usable, so they are not refetched on every call.
    const marginSeconds = Math.min(expiryMarginSeconds, token.data.expires_in / 2);
    cached = {
      accessToken: token.data.access_token,
      usableUntilMs: requestedAtMs + (token.data.expires_in - marginSeconds) * 1000,
    };
    return cached;
  }

  async function attempt(
    url: URL,
    reference: string,
    id: string,
    refreshed: { after401: boolean },
  ): Promise<AttemptOutcome<unknown>> {
    let token: string;
    try {
      token = await accessToken();
    } catch (error) {
      if (error instanceof ElationTokenError && error.transient) return { kind: "transient", error };
      throw error;
    }
    const response = await send(
      url,
      { headers: { accept: "application/json", authorization: `Bearer ${token}` } },
      timeoutMs,
    );
    if (response === undefined)
      return { kind: "transient", error: new ResourceFetchError(reference, undefined) };
    const { status } = response;
    if (status >= 200 && status < 300) {
      const body = await readText(response);
      if (body === undefined)
        return { kind: "transient", error: new ResourceFetchError(reference, undefined) };
      return { kind: "done", value: parseResource(body, id) };
    }
    // Bodies of failures are never read: they may echo PHI.
    await discardBody(response);
    if (status === 401) {
      // One fresh token settles an expired or revoked one; a second 401 is a credentials problem.
      if (refreshed.after401) throw new ResourceFetchError(reference, 401);
      refreshed.after401 = true;
      invalidate(token);
      return { kind: "again" };
    }
    if (status === 404 || status === 410) throw new ResourceGoneError(reference, status);
    if (isTransientStatus(status))
      return retrier.transient(new ResourceFetchError(reference, status), response);
    // Redirects, 403 and other statuses will not change within this invocation; SQS retries them later.
    throw new ResourceFetchError(reference, status);
  }

  return async (reference) => {
    const [, resource, id] = referencePattern.exec(reference) ?? [];
    if (resource === undefined || id === undefined || !servedResources.has(resource))
      throw new UnmappableDeliveryError("reference is not an Elation resource this fetcher serves");
    const url = new URL(`${resource}/${id}/`, base);
    const refreshed = { after401: false };
    return retrier.run(() => attempt(url, reference, id, refreshed));
  };
}

/** The body as the resource asked for. Throws `UnmappableDeliveryError`, never quoting the body. */
function parseResource(body: string, id: string): unknown {
  const json = parseJson(body);
  const resource = resourceSchema.safeParse(json);
  if (!resource.success) throw new UnmappableDeliveryError("fetched Elation body is not a resource");
  if (resource.data.id !== id)
    throw new UnmappableDeliveryError("fetched Elation resource is not the referenced one");
  // As Elation sent it: elation.ts reads its own types.
  return json;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parseUrl(value: string, name: string): URL {
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`${name} must be http(s)`);
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new Error(`${name} must carry no query, fragment or credentials`);
  }
  return url;
}
