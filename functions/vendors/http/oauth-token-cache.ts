import * as z from "zod";
import { isTransientStatus, parseJson, readText } from "./retry.js";

/**
 * What the OAuth2 client-credentials clients share (SMART Backend Services, Elation): reading the token
 * endpoint's answer, and caching the token it grants.
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

/** A client's token error class; `transient` failures (network, timeout, 408, 429, 5xx) are retried soon. */
export type TokenErrorClass = new (
  status: number | undefined,
  transient: boolean,
  reason?: string,
) => Error & { readonly transient: boolean };

/**
 * The token in a token endpoint's answer. Throws `TokenError`: transient when the body cannot be read or the
 * status is, with the RFC 6749 error code of a failure, or "malformed token response".
 */
export async function readTokenResponse(
  response: Response,
  TokenError: TokenErrorClass,
): Promise<TokenResponse> {
  const text = await readText(response);
  if (text === undefined) throw new TokenError(response.status, true);
  const json = parseJson(text);
  const { status } = response;
  if (!response.ok)
    throw new TokenError(status, isTransientStatus(status), oauthErrorSchema.safeParse(json).data?.error);
  const token = tokenResponseSchema.safeParse(json);
  if (!token.success) throw new TokenError(status, false, "malformed token response");
  return token.data;
}

export interface CachedAccessTokenOptions {
  /** Requests a new token; `requestedAtMs` is when the request began, from which `expires_in` counts. */
  requestToken: (requestedAtMs: number) => Promise<TokenResponse>;
  /** Epoch milliseconds. */
  now?: () => number;
  /** How long before `expires_in` runs out a token stops being used. Default 60 s. */
  expiryMarginSeconds?: number;
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
   * so callers that held the same stale token trigger one refresh between them, not one each.
   */
  invalidate(rejectedToken?: string): void {
    if (rejectedToken === undefined || this.cached?.accessToken === rejectedToken) this.cached = undefined;
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
