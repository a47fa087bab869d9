import { randomUUID } from "node:crypto";
import { type CryptoKey, importJWK, importPKCS8, SignJWT } from "jose";
import * as z from "zod";
import { ResourceFetchError } from "../errors.js";
import type { Credential } from "../http/credential.js";
import { CachedAccessToken, requestToken, type TokenResponse } from "../http/oauth-token.js";

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

/** The key secret is unusable: a credential failure. The reason names the failing field, never the secret. */
const keyError = (reason: string) =>
  new ResourceFetchError("SMART client key", undefined, {
    transient: false,
    credential: true,
    reason: `invalid SMART client key: ${reason}`,
  });

/** Parses and imports the key secret (a JSON string). Throws a credential `ResourceFetchError`. */
export async function loadSmartSigningKey(secretString: string): Promise<SmartSigningKey> {
  let json: unknown;
  try {
    json = JSON.parse(secretString);
  } catch {
    throw keyError("secret is not JSON");
  }
  const parsed = signingKeySecretSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw keyError(`${issue?.path.join(".") || "(root)"}: ${issue?.message ?? "invalid"}`);
  }
  const secret = parsed.data;
  try {
    const privateKey = await (secret.jwk !== undefined
      ? importJWK(secret.jwk, secret.alg)
      : importPKCS8(secret.pem, secret.alg));
    return { privateKey, kid: secret.kid, alg: secret.alg };
  } catch {
    // The key is reported by algorithm only: jose's message could describe the key material.
    throw keyError(`key does not import as ${secret.alg}`);
  }
}

export interface SmartTokenProviderOptions {
  tokenUrl: string;
  clientId: string;
  /** The client's key, re-read when a token or the API is refused (a rotated key). */
  key: Credential<SmartSigningKey>;
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
      credential: options.key,
    });
  }

  /** A usable access token, requested when none is cached or it nears expiry. Throws `ResourceFetchError`. */
  accessToken(): Promise<string> {
    return this.token.accessToken();
  }

  /**
   * Forgets the cached token, or only `rejectedToken` while it is the cached one, and re-reads the key (see
   * `CachedAccessToken`).
   */
  invalidate(rejectedToken?: string): void {
    this.token.invalidate(rejectedToken);
  }

  private async requestToken(requestedAtMs: number): Promise<TokenResponse> {
    const form = new URLSearchParams({
      grant_type: "client_credentials",
      scope: this.scope,
      client_assertion_type: clientAssertionType,
      client_assertion: await this.signAssertion(requestedAtMs, await this.options.key.current()),
    });
    return requestToken(this.options.tokenUrl, form, this.timeoutMs);
  }

  private signAssertion(nowMs: number, key: SmartSigningKey): Promise<string> {
    const { clientId, tokenUrl } = this.options;
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
