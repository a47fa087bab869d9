import type { FormatName } from "./format.js";

/**
 * The Secrets Manager names of every secret the functions read, declared once: the stack creates and grants
 * each secret under the name built here (lib/webhook-secrets.ts) and gives the reading function that same name
 * through its settings (`secretPrefix`, `hydration`), so neither side can rename a secret alone.
 */

/** Where the webhook signing secrets live: the ingest function's `secretPrefix` setting. */
export const webhookSecretPrefix = (prefix: string): string => `${prefix}/webhooks`;

/** A format's active signing secrets, `{"active":[...]}` (functions/ingest/secrets.ts). */
export const webhookSecretName = (secretPrefix: string, format: FormatName): string =>
  `${secretPrefix}/${format}`;

/** The vendor API credentials the apply function fetches thin payloads with, by vendor. */
export const apiCredentialNames = (prefix: string) =>
  ({
    /** SMART Backend Services private key, `{ kid, alg, privateKeyJwk | privateKeyPem }`. */
    fhir: `${prefix}/fhir-client-key`,
    /** Healthie API key, a plain string. */
    healthie: `${prefix}/healthie-api-key`,
    /** Elation OAuth2 client secret, a plain string. */
    elation: `${prefix}/elation-client-secret`,
  }) as const;
export type ApiCredential = keyof ReturnType<typeof apiCredentialNames>;
