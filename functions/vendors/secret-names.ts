import { type ApiVendor, apiOf } from "./api-registry.js";
import type { FormatName } from "./format.js";

/**
 * The Secrets Manager names of every secret the functions read, declared once: the stack creates and grants
 * each secret under the name built here (lib/webhook-secrets.ts) and gives the reading function that same name
 * through its settings (`secretPrefix`, `hydration`; registry.ts lists each vendor's credential), so neither side can rename a secret alone.
 */

/** Where the webhook signing secrets live: the ingest function's `secretPrefix` setting. */
export const webhookSecretPrefix = (prefix: string): string => `${prefix}/webhooks`;

/** A format's active signing secrets, `{"active":[...]}` (functions/ingest/secrets.ts). */
export const webhookSecretName = (secretPrefix: string, format: FormatName): string =>
  `${secretPrefix}/${format}`;

/** The secret holding a vendor API's credential (its `credential.name` in `<vendor>/api.ts`). */
export const apiCredentialName = (prefix: string, vendor: ApiVendor): string =>
  `${prefix}/${apiOf(vendor).credential.name}`;
