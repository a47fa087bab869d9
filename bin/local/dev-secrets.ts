import { createHash, createPrivateKey, createPublicKey, type KeyObject } from "node:crypto";
import type { FormatName } from "../../functions/vendors/format.js";

/**
 * Fixed development secrets for the local stack and replay, documented in the README so anyone can post their
 * own signed webhooks to `npm start`. They exist only on a developer's machine: the deployed stack reads its
 * secrets from Secrets Manager and never these.
 */
export const devSecrets = {
  fhir: "portaltime-local-fhir-secret",
  medplum: "portaltime-local-medplum-secret",
  healthie: "portaltime-local-healthie-secret",
  /** Standard Webhooks secret: `whsec_` + base64 of 32 bytes. */
  bridge: `whsec_${Buffer.from("portaltime-local-bridge-secret!!").toString("base64")}`,
} as const;

/** Elation signs with Ed25519; locally the key pair comes from a fixed, published seed. */
const elationSeed = createHash("sha256").update("portaltime-local-elation-seed").digest();
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex");
export const devElationPrivateKey: KeyObject = createPrivateKey({
  key: Buffer.concat([pkcs8Ed25519Prefix, elationSeed]),
  format: "der",
  type: "pkcs8",
});
/** The base64 raw public key, as Elation shows it for a subscription (`signing_pub_key`). */
export const devElationPublicKey = createPublicKey(devElationPrivateKey)
  .export({ format: "der", type: "spki" })
  .subarray(12)
  .toString("base64");

/** The active secrets each format verifies against locally. */
export const devFormatSecrets: Record<FormatName, string[]> = {
  fhir: [devSecrets.fhir],
  medplum: [devSecrets.medplum],
  elation: [devElationPublicKey],
  healthie: [devSecrets.healthie],
  bridge: [devSecrets.bridge],
};
