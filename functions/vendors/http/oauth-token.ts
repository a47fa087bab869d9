import * as z from "zod";
import { isTransientStatus, ResourceFetchError } from "../errors.js";
import { parseJson, readText, send } from "./api-client.js";

/**
 * What the OAuth2 client-credentials clients share (SMART Backend Services, Elation): the token request, reading
 * the token endpoint's answer, and caching the token it grants.
 */

const tokenResponseSchema = z.object({
  access_token: z.string().min(1),
  token_type: z.string().refine((type) => type.toLowerCase() === "bearer", "token_type must be bearer"),
  // Some servers send the lifetime as a string.
  expires_in: z.coerce.number().int().positive(),
});

/** A token endpoint's successful answer. */
export type TokenResponse = z.infer<typeof tokenResponseSchema>;

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

/** What a token request's failures are reported under (`ResourceFetchError.reference`). */
const TOKEN_REFERENCE = "oauth2 token";

/**
 * POSTs a client-credentials `form` to the token endpoint (no redirects followed) and reads the token it grants.
 * Throws `ResourceFetchError`: transient for network failures, timeouts, unreadable bodies and transient
 * statuses; otherwise a credential failure with the RFC 6749 error code, or "malformed token response".
 */
export async function requestToken(
  tokenUrl: URL | string,
  form: URLSearchParams,
  timeoutMs: number,
): Promise<TokenResponse> {
  const response = await send(
    tokenUrl,
    {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: form,
    },
    timeoutMs,
  );
  if (response === undefined) throw new ResourceFetchError(TOKEN_REFERENCE, undefined);
  const { status } = response;
  const text = await readText(response);
  if (text === undefined) throw new ResourceFetchError(TOKEN_REFERENCE, status, { transient: true });
  const json = parseJson(text);
  if (!response.ok) {
    const transient = isTransientStatus(status);
    const reason = oauthErrorSchema.safeParse(json).data?.error;
    throw new ResourceFetchError(TOKEN_REFERENCE, status, { transient, credential: !transient, reason });
  }
  const token = tokenResponseSchema.safeParse(json);
  if (!token.success) {
    throw new ResourceFetchError(TOKEN_REFERENCE, status, {
      transient: false,
      credential: true,
      reason: "malformed token response",
    });
  }
  return token.data;
}

export interface CachedAccessTokenOptions {
  /** Requests a new token; `requestedAtMs` is when the request began, from which `expires_in` counts. */
  requestToken: (requestedAtMs: number) => Promise<TokenResponse>;
  /** Epoch milliseconds. */
  now?: () => number;
  /** How long before `expires_in` runs out a token stops being used. Default 60 s. */
  expiryMarginSeconds?: number;
  /** What the token is requested with: re-read when the token is invalidated (a rotated secret or key). */
  credential?: { refresh(): void };
}

/** One cached access token; concurrent callers share one in-flight token request. */
export class CachedAccessToken {
  private readonly now: () => number;
  private readonly expiryMarginSeconds: number;
  private cached: { accessToken: string; usableUntilMs: number } | undefined;
  private inFlight: Promise<string> | undefined;

  constructor(private readonly options: CachedAccessTokenOptions) {
    this.now = options.now ?? Date.now;
    this.expiryMarginSeconds = options.expiryMarginSeconds ?? 60;
  }

  /** A usable access token, requested when none is cached or it nears expiry. Throws what `requestToken` does. */
  async accessToken(): Promise<string> {
    if (this.cached !== undefined && this.now() < this.cached.usableUntilMs) return this.cached.accessToken;
    this.inFlight ??= this.request().finally(() => {
      this.inFlight = undefined;
    });
    return this.inFlight;
  }

  /**
   * Forgets the cached token. Given the token a server rejected, forgets it only while it is the cached one,
   * so callers that held the same stale token trigger one refresh between them, not one each. The credential
   * the token is requested with is re-read too: the API may have refused the token because it was rotated.
   */
  invalidate(rejectedToken?: string): void {
    if (rejectedToken !== undefined && this.cached?.accessToken !== rejectedToken) return;
    this.cached = undefined;
    this.options.credential?.refresh();
  }

  private async request(): Promise<string> {
    const requestedAtMs = this.now();
    const token = await this.options.requestToken(requestedAtMs);
    // Short-lived tokens keep at least half their life usable, so they are not refetched on every call.
    const marginSeconds = Math.min(this.expiryMarginSeconds, token.expires_in / 2);
    this.cached = {
      accessToken: token.access_token,
      usableUntilMs: requestedAtMs + (token.expires_in - marginSeconds) * 1000,
    };
    return token.access_token;
  }
}
