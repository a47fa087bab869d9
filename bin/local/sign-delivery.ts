import type { KeyObject } from "node:crypto";
import type { DevSigner, UnsignedDelivery } from "../../functions/vendors/dev-signer.js";
import type { FormatName } from "../../functions/vendors/format.js";
import { formatNames } from "../../functions/vendors/format.js";

export type { UnsignedDelivery } from "../../functions/vendors/dev-signer.js";

/**
 * Each format's development signer, by the registry's convention (functions/vendors/<name>/dev-signer.ts): loaded
 * here, never by a Lambda function.
 */
export const devSigners: Readonly<Record<FormatName, DevSigner<string | KeyObject>>> = Object.fromEntries(
  await Promise.all(
    formatNames.map(async (format) => {
      const module: { devSigner: DevSigner<string | KeyObject> } = await import(
        `../../functions/vendors/${format}/dev-signer.ts`
      );
      return [format, module.devSigner] as const;
    }),
  ),
) as Record<FormatName, DevSigner<string | KeyObject>>;

/** The content type a format's vendor posts with, for a delivery whose headers do not say. */
export const defaultContentType = (format: string): string =>
  format === "fhir" ? "application/fhir+json" : "application/json";

export const isSigned = (format: FormatName, headers: Record<string, string>): boolean =>
  devSigners[format].signatureHeaders.some((name) => headers[name] !== undefined);

/**
 * What signs a delivery of each format as its vendor would: the shared secret of the HMAC and bearer formats, and
 * Elation's Ed25519 private key (a deployed stack holds only Elation's public key, so a backfill cannot sign for it).
 */
export interface SigningSecrets {
  fhir: string;
  medplum: string;
  healthie: string;
  bridge: string;
  elation: KeyObject;
}

export const devSigningSecrets = Object.fromEntries(
  formatNames.map((format) => [format, devSigners[format].signingSecret]),
) as unknown as SigningSecrets;

/** Signs a delivery the way its vendor would, with the local development secret of its format. */
export const signWithDevSecret = (format: FormatName, delivery: UnsignedDelivery, now: Date) =>
  signDelivery(format, delivery, now, devSigningSecrets);

/** Signs a delivery the way its vendor would, with the given secret of its format. */
export function signDelivery(
  format: FormatName,
  delivery: UnsignedDelivery,
  now: Date,
  secrets: Partial<SigningSecrets>,
): Record<string, string> {
  const secret = secrets[format];
  if (secret === undefined) throw new NoSigningSecretError(format);
  return (devSigners[format] as DevSigner<typeof secret>).signWith(secret, delivery, now);
}

/** A delivery of a format whose signing secret the caller does not hold: it cannot be sent signed. */
export class NoSigningSecretError extends Error {
  constructor(readonly format: FormatName) {
    super(`no secret to sign ${format} deliveries with`);
    this.name = "NoSigningSecretError";
  }
}
