import type { FormatName } from "../../functions/vendors/format.js";
import { devSigners } from "./sign-delivery.js";

/**
 * Fixed development secrets for the local stack and replay, documented in the README so anyone can post their
 * own signed webhooks to `npm start`; each vendor's folder declares its own (functions/vendors/<name>/dev-signer.ts).
 * They exist only on a developer's machine: the deployed stack reads its secrets from Secrets Manager and never
 * these.
 */
const activeSecrets = Object.fromEntries(
  Object.entries(devSigners).map(([format, signer]) => [format, signer.activeSecret]),
) as Record<FormatName, string>;

/** Each format's development secret (Elation's: the public key it verifies with). */
export const devSecrets: Readonly<Record<FormatName, string>> = activeSecrets;

/** The active secrets each format verifies against locally. */
export const devFormatSecrets: Record<FormatName, string[]> = Object.fromEntries(
  Object.entries(activeSecrets).map(([format, secret]) => [format, [secret]]),
) as Record<FormatName, string[]>;

/**
 * The review API's development token (issue 15): `npm start` serves `/review` only to requests that carry
 * `Authorization: Bearer portaltime-local-review-token`. The deployed review API has no token: IAM decides.
 */
export const DEV_REVIEW_TOKEN = "portaltime-local-review-token";
