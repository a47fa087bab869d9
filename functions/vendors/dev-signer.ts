/**
 * How the local stack and replay (bin/local/sign-delivery.ts) sign a delivery as its vendor would, with fixed
 * development secrets documented in the README. Each vendor's `<name>/dev-signer.ts` exports `devSigner`; none
 * is imported by a Lambda function: the deployed stack reads its secrets from Secrets Manager and never these.
 */

export interface UnsignedDelivery {
  method: string;
  path: string;
  rawQuery: string;
  body: Buffer;
  headers: Record<string, string>;
}

export interface DevSigner<Secret = string> {
  /** The development secret: what the local ingest verifies against (`{"active":[...]}`). */
  activeSecret: string;
  /** What signs locally: the development secret, or (Elation) the private key of its public `activeSecret`. */
  signingSecret: Secret;
  /** Headers that carry a signature: a delivery that has any of them is posted as it is. */
  signatureHeaders: readonly string[];
  /** The delivery's headers with the vendor's signature added, made with `secret` (a backfill's: the stack's). */
  signWith(secret: Secret, delivery: UnsignedDelivery, now: Date): Record<string, string>;
}
