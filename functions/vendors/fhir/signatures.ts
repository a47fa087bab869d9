import { createHash, createHmac, timingSafeEqual } from "node:crypto";

/**
 * The credential checks the FHIR formats share: a shared-secret header and an HMAC-SHA256 of the raw body.
 * Every active secret is tried (rotation) and every comparison is constant-time.
 */

const hexSha256 = /^[0-9a-f]{64}$/i;

/** Empty secrets are ignored: an empty secret would accept an empty credential. */
const usable = (secrets: readonly string[]) => secrets.filter((secret) => secret.length > 0);

/** Compares digests rather than the strings, so the time taken reveals neither content nor length. */
const sameSecret = (presented: string, secret: string): boolean =>
  timingSafeEqual(
    createHash("sha256").update(presented).digest(),
    createHash("sha256").update(secret).digest(),
  );

/**
 * True when a subscription's header secret is one of the active secrets. The header carries the secret as its
 * whole value (`x-api-key: <secret>`) or as a bearer token (`Authorization: Bearer <secret>`), as the
 * subscription's `channel.header` wrote it.
 */
export function sharedSecretMatches(headerValue: string, secrets: readonly string[]): boolean {
  const token = /^Bearer\s+(\S+)\s*$/i.exec(headerValue)?.[1] ?? headerValue.trim();
  // Every secret is compared, so the time taken does not say which one matched.
  return usable(secrets)
    .map((secret) => sameSecret(token, secret))
    .includes(true);
}

/** True when `signatureHex` is the hex HMAC-SHA256 of the raw body under one of the active secrets. */
export function bodyHmacMatches(body: Buffer, signatureHex: string, secrets: readonly string[]): boolean {
  if (!hexSha256.test(signatureHex)) return false;
  const presented = Buffer.from(signatureHex, "hex");
  return usable(secrets)
    .map((secret) => timingSafeEqual(createHmac("sha256", secret).update(body).digest(), presented))
    .includes(true);
}
