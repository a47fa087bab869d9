import { randomUUID } from "node:crypto";
import { type CryptoKey, importJWK, importPKCS8, SignJWT } from "jose";
import * as z from "zod";
import { CachedAccessToken, readTokenResponse, type TokenResponse } from "../http/oauth-token-cache.js";

/**
 * SMART Backend Services (HL7 SMART App Launch v2): OAuth2 client credentials, the client authenticating
 * with a JWT assertion signed by its private key.
 */

export const signingAlgorithms = ["RS384", "ES384"] as const;
export type SigningAlgorithm = (typeof signingAlgorithms)[number];

/** The client's private key, imported, with the `kid` the server knows its public key by. */
export interface SmartSigningKey {
  privateKey: CryptoKey;
  kid: string;
  alg: SigningAlgorithm;
}

/** The Secrets Manager value: the key as exactly one of a private JWK or a PKCS#8 PEM. */
const signingKeySecretSchema = z
  .object({
    kid: z.string().min(1),
    alg: z.enum(signingAlgorithms),
    // `d` makes a public JWK stored by mistake fail here rather than at the first signature.
    privateKeyJwk: z.looseObject({ kty: z.enum(["RSA", "EC"]), d: z.string().min(1) }).optional(),
    privateKeyPem: z.string().min(1).optional(),
  })
  .transform(({ kid, alg, privateKeyJwk: jwk, privateKeyPem: pem }, context) => {
    if (jwk !== undefined && pem === undefined) return { kid, alg, jwk };
    if (pem !== undefined && jwk === undefined) return { kid, alg, pem };
    context.addIssue({
      code: "custom",
      message: "exactly one of privateKeyJwk and privateKeyPem is required",
    });
    return z.NEVER;
  });

/** The key secret is unusable. The message names the failing field, never the secret. */
export class SmartKeyError extends Error {
  readonly retryable = false;
  constructor(readonly reason: string) {
    super(`invalid SMART client key: ${reason}`);
    this.name = "SmartKeyError";
  }
}

/** Parses and imports the key secret (a JSON string). Throws `SmartKeyError`. */
export async function loadSmartSigningKey(secretString: string): Promise<SmartSigningKey> {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw new SmartKeyError("secret is not JSON");
  }
  const parsed = signingKeySecretSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SmartKeyError(`${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  const secret = parsed.data;
  try {
    const privateKey = await (secret.jwk !== undefined
      ? importJWK(secret.jwk, secret.alg)
      : importPKCS8(secret.pem, secret.alg));
    return { privateKey, kid: secret.kid, alg: secret.alg };
  } catch {
    // The key is reported by algorithm only: jose's message could describe the key material.
    throw new SmartKeyError(`key does not import as ${secret.alg}`);
  }
}

/**
 * The token endpoint failed. `transient` failures (network, timeout, 408, 429, 5xx) are worth retrying soon;
 * all are retryable through SQS, since the delivery itself is sound. `reason` is the RFC 6749 error code, or
 * what was wrong with a successful response.
 */
export class SmartTokenError extends Error {
  readonly retryable = true;
  constructor(
    readonly status: number | undefined,
    readonly transient: boolean,
    readonly reason?: string,
  ) {
    super(`SMART token request failed (${status ?? "network"}${reason ? `: ${reason}` : ""})`);
    this.name = "SmartTokenError";
  }
}

export interface SmartTokenProviderOptions {
  tokenUrl: string;
  clientId: string;
  key: SmartSigningKey;
  /** Default `system/*.read`. */
  scope?: string;
  /** Epoch milliseconds; injected by tests. */
  now?: () => number;
  /** Per token request. Default 5 s. */
  timeoutMs?: number;
  /** How long before `expires_in` runs out a token stops being used. Default 60 s. */
  expiryMarginSeconds?: number;
}

const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/** SMART caps an assertion's lifetime at five minutes; less tolerates a token server's clock lagging. */
const assertionLifetimeSeconds = 240;

/** Obtains and caches one access token; concurrent callers share one in-flight token request. */
export class SmartTokenProvider {
  private readonly scope: string;
  private readonly timeoutMs: number;
  private readonly token: CachedAccessToken;

  constructor(private readonly options: SmartTokenProviderOptions) {
    this.scope = options.scope ?? "system/*.read";
    this.timeoutMs = options.timeoutMs ?? 5_000;
    this.token = new CachedAccessToken({
      requestToken: (requestedAtMs) => this.requestToken(requestedAtMs),
      now: options.now,
      expiryMarginSeconds: options.expiryMarginSeconds,
    });
  }

  /** A usable access token, requested when none is cached or it nears expiry. Throws `SmartTokenError`. */
  accessToken(): Promise<string> {
    return this.token.accessToken();
  }

  /** Forgets the cached token, or only `rejectedToken` while it is the cached one (see `CachedAccessToken`). */
  invalidate(rejectedToken?: string): void {
    this.token.invalidate(rejectedToken);
  }

  private async requestToken(requestedAtMs: number): Promise<TokenResponse> {
    const body = new URLSearchParams({
      grant_type: "client_credentials",
      scope: this.scope,
      client_assertion_type: clientAssertionType,
      client_assertion: await this.signAssertion(requestedAtMs),
    });
    let response: Response;
    try {
      response = await fetch(this.options.tokenUrl, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
        body,
        redirect: "error",
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch {
      throw new SmartTokenError(undefined, true);
    }
    return readTokenResponse(response, SmartTokenError);
  }

  private signAssertion(nowMs: number): Promise<string> {
    const { clientId, tokenUrl, key } = this.options;
    const issuedAt = Math.floor(nowMs / 1000);
    return new SignJWT({})
      .setProtectedHeader({ alg: key.alg, kid: key.kid, typ: "JWT" })
      .setIssuer(clientId)
      .setSubject(clientId)
      .setAudience(tokenUrl)
      .setJti(randomUUID())
      .setIssuedAt(issuedAt)
      .setExpirationTime(issuedAt + assertionLifetimeSeconds)
      .sign(key.privateKey);
  }
}
