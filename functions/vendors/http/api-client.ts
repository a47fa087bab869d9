import { ResourceFetchError, ResourceGoneError } from "../errors.js";

/**
 * The one request mechanism of the vendor API clients (SMART FHIR, Elation, Healthie): authentication (a token
 * or a key, refreshed once when the API answers 401), a timeout per request including its body, retries with
 * exponential backoff and equal jitter on network failures, timeouts, 408, 429 and 5xx (a `Retry-After` honoured
 * up to the longest wait, and one that asks for more ends the attempts early so SQS retries the message later),
 * and one redirect policy: requests go only under the configured base URL and redirects are never followed.
 * Failures are `ResourceFetchError` (transient, credential) or `ResourceGoneError` (404, 410); no failure's
 * body is read, since it may echo PHI.
 */

export interface RetryOptions {
  /** Attempts for transient failures. Default 3. */
  maxAttempts?: number;
  /** The first backoff; each further one doubles. Default 200 ms. */
  baseDelayMs?: number;
  /** The longest wait between attempts. A longer `Retry-After` ends the attempts early. Default 5 s. */
  maxDelayMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds, for `Retry-After` dates. */
  now?: () => number;
}

/** How an API's requests authenticate. */
export interface Authorization {
  /** The headers authenticating one request. Throws `ResourceFetchError` (a token endpoint's failure). */
  headers(): Promise<Record<string, string>>;
  /**
   * The API refused `used` (undefined: no headers could be had): drop the cached token and re-read the
   * credential, so the next `headers` are fresh.
   */
  refuse(used: Record<string, string> | undefined): void;
}

/** A fixed set of headers built from a credential (an API key): refusing them re-reads the credential. */
export function keyAuthorization<T>(
  credential: { current(): Promise<T>; refresh(): void },
  headersOf: (value: T) => Record<string, string>,
): Authorization {
  return {
    headers: async () => headersOf(await credential.current()),
    refuse: () => credential.refresh(),
  };
}

/** What a bearer token source offers (`CachedAccessToken`, `SmartTokenProvider`). */
export interface AccessTokens {
  accessToken(): Promise<string>;
  /** Forgets the token (only `rejectedToken` while it is the cached one) and re-reads the credential. */
  invalidate(rejectedToken?: string): void;
}

/** `Authorization: Bearer <token>` from `tokens`. */
export function bearerAuthorization(tokens: AccessTokens): Authorization {
  return {
    headers: async () => ({ authorization: `Bearer ${await tokens.accessToken()}` }),
    refuse: (used) => tokens.invalidate(used?.authorization?.replace(/^Bearer /, "")),
  };
}

export interface VendorApiOptions extends RetryOptions {
  /** Requests go only to URLs under this base (its origin, under its path). */
  base: URL;
  authorization: Authorization;
  /** The `Accept` header. */
  accept: string;
  /** Per request, including its body. Default 5 s. */
  timeoutMs?: number;
}

/** A request's method and body; a GET without a body by default. */
export interface VendorRequestInit {
  method?: "GET" | "POST";
  body?: string;
  contentType?: string;
}

/**
 * Requests `url`, the resource `reference` names (for errors), and turns a 2xx body into a value with `parse`.
 * `parse` may throw a transient `ResourceFetchError` (a throttling reported in a 200) to have it retried.
 */
export type VendorApi = <T>(
  url: URL,
  reference: string,
  parse: (body: string) => T,
  init?: VendorRequestInit,
) => Promise<T>;

/** A transient failure, with how long the server asked us to wait. */
class Retry {
  constructor(
    readonly error: ResourceFetchError,
    readonly retryAfterMs: number | undefined,
  ) {}
}

export function createVendorApi(options: VendorApiOptions): VendorApi {
  const { base, authorization, accept } = options;
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxAttempts = options.maxAttempts ?? 3;
  const baseDelayMs = options.baseDelayMs ?? 200;
  const maxDelayMs = options.maxDelayMs ?? 5_000;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms)));
  const now = options.now ?? Date.now;

  /** The wait after failed attempt `attemptNumber`; undefined when the server asks for more than we wait. */
  function delayBefore(attemptNumber: number, retryAfterMs: number | undefined): number | undefined {
    if (retryAfterMs !== undefined) return retryAfterMs <= maxDelayMs ? retryAfterMs : undefined;
    // Equal jitter: retries of many messages spread out, yet each waits half the exponential delay or more.
    const exponential = Math.min(maxDelayMs, baseDelayMs * 2 ** (attemptNumber - 1));
    return exponential / 2 + Math.random() * (exponential / 2);
  }

  /** One request: its value, a `Retry`, "refused" (a 401 or a refused credential), or a thrown error. */
  async function attempt<T>(
    url: URL,
    reference: string,
    parse: (body: string) => T,
    init: VendorRequestInit,
  ): Promise<
    { value: T } | Retry | { refused: Record<string, string> | undefined; error: ResourceFetchError }
  > {
    let headers: Record<string, string>;
    try {
      headers = await authorization.headers();
    } catch (error) {
      if (!(error instanceof ResourceFetchError)) throw error;
      if (error.transient) return new Retry(error, undefined);
      if (error.credential) return { refused: undefined, error };
      throw error;
    }
    const requestHeaders = {
      accept,
      ...headers,
      ...(init.contentType ? { "content-type": init.contentType } : {}),
    };
    const response = await send(
      url,
      { method: init.method ?? "GET", headers: requestHeaders, body: init.body },
      timeoutMs,
    );
    if (response === undefined) return new Retry(new ResourceFetchError(reference, undefined), undefined);
    const { status } = response;
    const retryAfterMs = () => parseRetryAfter(response.headers.get("retry-after"), now());
    if (status >= 200 && status < 300) {
      const body = await readText(response);
      // The timeout fired or the connection dropped mid-body: the same as a failed request.
      if (body === undefined) return new Retry(new ResourceFetchError(reference, undefined), undefined);
      try {
        return { value: parse(body) };
      } catch (error) {
        if (error instanceof ResourceFetchError && error.transient) return new Retry(error, retryAfterMs());
        throw error;
      }
    }
    // Bodies of failures are never read: they may echo PHI.
    await discardBody(response);
    if (status === 401) return { refused: headers, error: new ResourceFetchError(reference, 401) };
    if (status === 404 || status === 410) throw new ResourceGoneError(reference, status);
    const error = new ResourceFetchError(reference, status);
    if (error.transient) return new Retry(error, retryAfterMs());
    // Redirects, 403 and other statuses will not change within this invocation; SQS retries them later.
    throw error;
  }

  return async (url, reference, parse, init = {}) => {
    if (!isUnder(base, url)) throw new Error("vendor API request outside the configured base URL");
    let refreshed = false;
    for (let attemptNumber = 1; ; ) {
      const outcome = await attempt(url, reference, parse, init);
      if ("value" in outcome) return outcome.value;
      if ("refused" in outcome) {
        // One fresh token and credential (re-read from its secret) settle an expired, revoked or rotated one; a
        // second refusal is a credentials or grant problem.
        if (refreshed) throw outcome.error;
        refreshed = true;
        authorization.refuse(outcome.refused);
        continue;
      }
      const delayMs =
        attemptNumber < maxAttempts ? delayBefore(attemptNumber, outcome.retryAfterMs) : undefined;
      if (delayMs === undefined) throw outcome.error;
      await sleep(delayMs);
      attemptNumber += 1;
    }
  };
}

/** An API's base URL from the configuration: http(s), with no query, fragment or credentials. */
export function parseApiUrl(value: string, name: string): URL {
  const url = new URL(value);
  if (url.protocol !== "https:" && url.protocol !== "http:") throw new Error(`${name} must be http(s)`);
  if (url.search !== "" || url.hash !== "" || url.username !== "" || url.password !== "") {
    throw new Error(`${name} must carry no query, fragment or credentials`);
  }
  return url;
}

/** `value` as a URL under `base` (its origin, under its path, no credentials or fragment); else undefined. */
export function urlUnder(base: URL, value: string): URL | undefined {
  const url = URL.canParse(value) ? new URL(value) : undefined;
  return url !== undefined && isUnder(base, url) ? url : undefined;
}

function isUnder(base: URL, url: URL): boolean {
  return (
    url.origin === base.origin &&
    url.pathname.startsWith(base.pathname) &&
    url.username === "" &&
    url.password === "" &&
    url.hash === ""
  );
}

/**
 * One request that never follows redirects (a redirect could lead to another host), bounded by `timeoutMs`
 * including the body. Undefined when the network failed or the timeout fired.
 */
export async function send(
  url: URL | string,
  init: RequestInit,
  timeoutMs: number,
): Promise<Response | undefined> {
  try {
    return await fetch(url, { ...init, redirect: "manual", signal: AbortSignal.timeout(timeoutMs) });
  } catch {
    return undefined;
  }
}

/** The body as text; undefined when the timeout fired or the connection dropped mid-body. */
export async function readText(response: Response): Promise<string | undefined> {
  try {
    return await response.text();
  } catch {
    return undefined;
  }
}

/** Drops a body unread: bodies of failures may echo PHI. */
async function discardBody(response: Response): Promise<void> {
  try {
    await response.body?.cancel();
  } catch {
    // Nothing to release.
  }
}

/** The text as JSON; undefined when it is not JSON. */
export function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** `Retry-After` (seconds or an HTTP-date) in milliseconds from now; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, nowMs: number): number | undefined {
  if (header === null) return undefined;
  if (/^\d+$/.test(header.trim())) return Number(header.trim()) * 1000;
  const dateMs = Date.parse(header);
  return Number.isNaN(dateMs) ? undefined : Math.max(0, dateMs - nowMs);
}
