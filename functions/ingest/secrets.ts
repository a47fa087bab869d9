import { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import * as z from "zod";
import type { FormatName } from "../vendors/format.js";
import { webhookSecretName } from "../vendors/secret-names.js";
import type { SecretSource } from "./ingest-delivery.js";

/**
 * A format's secret in Secrets Manager, named `<prefix>/<format>`: every active secret of every subscription of
 * that format. During a rotation both the old and the new secret are listed; any one verifying is enough. The
 * deployment creates it with an empty list, which verifies nothing (`no-active-secret`, 401).
 */
export const formatSecretSchema = z.object({ active: z.array(z.string().min(1)) });

/** Reads secrets through Powertools' provider, cached for five minutes per warm function. */
export function secretsManagerSource(prefix: string, provider = new SecretsProvider()): SecretSource {
  return async (format: FormatName) => {
    const value = await provider.get(webhookSecretName(prefix, format), { maxAge: 300, transform: "json" });
    return formatSecretSchema.parse(value).active;
  };
}

/** Local runs: the development secrets from the local configuration; never used by the deployed stack. */
export function staticSecretSource(secrets: Partial<Record<FormatName, readonly string[]>>): SecretSource {
  return async (format: FormatName) => secrets[format] ?? [];
}
