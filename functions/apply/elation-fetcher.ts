import * as z from "zod";
import { UnmappableDeliveryError } from "../vendors/errors.js";
import type { ResourceFetcher } from "../vendors/format.js";
import { createBearerGet } from "./bearer-get.js";
import { parseJson, type RetryOptions, send } from "./http-retry.js";
import { CachedAccessToken, readTokenResponse } from "./oauth-token-cache.js";

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

/** Checks only that a body is the resource asked for. */
const resourceSchema = z.looseObject({
  id: z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String),
});

/** Creates the fetcher elation.ts's `toFacts` is given. */
export function createElationFetcher(options: ElationFetcherOptions): ResourceFetcher {
  const base = parseUrl(options.apiBaseUrl, "Elation API base URL");
  if (!base.pathname.endsWith("/")) base.pathname = `${base.pathname}/`;
  const tokenUrl = parseUrl(options.tokenUrl, "Elation token URL");
  const timeoutMs = options.timeoutMs ?? 5_000;

  const tokens = new CachedAccessToken({
    async requestToken() {
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
      return readTokenResponse(response, ElationTokenError);
    },
    now: options.now,
    expiryMarginSeconds: options.expiryMarginSeconds,
  });
  const get = createBearerGet({
    ...options,
    tokens,
    tokenError: ElationTokenError,
    accept: "application/json",
    timeoutMs,
  });

  return async (reference) => {
    const [, resource, id] = referencePattern.exec(reference) ?? [];
    if (resource === undefined || id === undefined || !servedResources.has(resource))
      throw new UnmappableDeliveryError("reference is not an Elation resource this fetcher serves");
    return get(new URL(`${resource}/${id}/`, base), reference, (body) => parseResource(body, id));
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

function parseUrl(value: string, name: string): URL {
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`${name} must be http(s)`);
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new Error(`${name} must carry no query, fragment or credentials`);
  }
  return url;
}
