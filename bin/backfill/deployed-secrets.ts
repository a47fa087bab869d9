import { GetSecretValueCommand, type SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { formatSecretSchema } from "../../functions/ingest/secrets.js";
import type { FormatName } from "../../functions/vendors/format.js";
import { webhookSecretName } from "../../functions/vendors/secret-names.js";
import type { SigningSecrets } from "../local/sign-delivery.js";

/**
 * Signs as the deployed stack verifies: a format's first active secret from `<secretPrefix>/<format>` in Secrets
 * Manager (functions/ingest/secrets.ts; during a rotation the stack accepts any listed one). Elation's secret
 * there is Elation's public key, which cannot sign: its deliveries must keep the signature Elation gave them.
 */
export function deployedSigningSecrets(client: SecretsManagerClient, secretPrefix: string) {
  return async (format: FormatName): Promise<Partial<SigningSecrets>> => {
    if (format === "elation") return {};
    const { SecretString: text } = await client.send(
      new GetSecretValueCommand({ SecretId: webhookSecretName(secretPrefix, format) }),
    );
    const [active] = formatSecretSchema.parse(JSON.parse(text ?? "null")).active;
    return { [format]: active };
  };
}
