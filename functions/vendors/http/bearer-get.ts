import { ResourceFetchError, ResourceGoneError } from "../errors.js";
import type { TokenErrorClass } from "./oauth-token-cache.js";
import {
  type AttemptOutcome,
  createRetrier,
  discardBody,
  isTransientStatus,
  type RetryOptions,
  readText,
  send,
} from "./retry.js";

/** What a bearer GET needs of its tokens (`SmartTokenProvider`, `CachedAccessToken`). */
export interface AccessTokens {
  accessToken(): Promise<string>;
  invalidate(rejectedToken: string): void;
}

export interface BearerGetOptions extends RetryOptions {
  tokens: AccessTokens;
  /** The class of the errors `tokens` throws: its transient ones are retried like the API's. */
  tokenError: TokenErrorClass;
  /** The `Accept` header. */
  accept: string;
  /** Per request. */
  timeoutMs: number;
}

/** GETs `url`, the resource `reference` names, and turns a 2xx body into the resource with `parse`. */
export type BearerGet = <T>(url: URL, reference: string, parse: (body: string) => T) => Promise<T>;

/**
 * A GET with a bearer token, retried as functions/vendors/http/retry.ts does, the token replaced once when the API answers
 * 401. Throws `ResourceGoneError` for 404 and 410, and otherwise `ResourceFetchError`, the token error or
 * what `parse` throws. Redirects are never followed, and no failure's body is read.
 */
export function createBearerGet(options: BearerGetOptions): BearerGet {
  const { tokens, tokenError, accept, timeoutMs } = options;
  const retrier = createRetrier(options);

  /** One request; `refreshed` tells whether a 401 has already cost the cached token. */
  async function attempt<T>(
    url: URL,
    reference: string,
    parse: (body: string) => T,
    refreshed: { after401: boolean },
  ): Promise<AttemptOutcome<T>> {
    let token: string;
    try {
      token = await tokens.accessToken();
    } catch (error) {
      if (error instanceof tokenError && error.transient) return { kind: "transient", error };
      throw error;
    }
    const response = await send(url, { headers: { accept, authorization: `Bearer ${token}` } }, timeoutMs);
    if (response === undefined)
      return { kind: "transient", error: new ResourceFetchError(reference, undefined) };
    const { status } = response;
    if (status >= 200 && status < 300) {
      const body = await readText(response);
      // The timeout fired or the connection dropped mid-body: the same as a failed request.
      if (body === undefined)
        return { kind: "transient", error: new ResourceFetchError(reference, undefined) };
      return { kind: "done", value: parse(body) };
    }
    // Bodies of failures are never read: they may echo PHI.
    await discardBody(response);
    if (status === 401) {
      // One fresh token settles an expired or revoked one; a second 401 is a credentials or grant problem.
      if (refreshed.after401) throw new ResourceFetchError(reference, 401);
      refreshed.after401 = true;
      tokens.invalidate(token);
      return { kind: "again" };
    }
    if (status === 404 || status === 410) throw new ResourceGoneError(reference, status);
    if (isTransientStatus(status))
      return retrier.transient(new ResourceFetchError(reference, status), response);
    // Redirects, 403 and other statuses will not change within this invocation; SQS retries them later.
    throw new ResourceFetchError(reference, status);
  }

  return (url, reference, parse) => {
    const refreshed = { after401: false };
    return retrier.run(() => attempt(url, reference, parse, refreshed));
  };
}
