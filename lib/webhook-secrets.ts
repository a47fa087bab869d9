import { RemovalPolicy, SecretValue, Validations } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import { type ApiVendor, apiOf } from "../functions/vendors/api-registry.js";
import type { FormatName } from "../functions/vendors/format.js";
import {
  apiCredentialName,
  webhookSecretName,
  webhookSecretPrefix,
} from "../functions/vendors/secret-names.js";

export interface WebhookSecretsProps {
  prefix: string;
  enabledFormats: readonly FormatName[];
  /** The vendor APIs the apply function fetches thin payloads from: each needs its credential. */
  apiCredentials: readonly ApiVendor[];
  key: kms.IKey;
}

/**
 * A secret with the name the functions read it by, so a function's setting and its grant come from one value.
 * The name is a plain string known at synth (a secret's `secretName` attribute is a deploy-time token), so the
 * settings carrying it stay checkable JSON.
 */
export interface NamedSecret {
  readonly name: string;
  readonly secret: secretsmanager.Secret;
}

const ROTATION_REASON =
  "These keys are issued by, or registered with, a third party: the EHR vendor's webhook signing secret and the SMART Backend Services private key whose public key the EHR holds. A Secrets Manager rotation function cannot change the vendor's side, so rotation is a coordinated operator procedure: the secret lists every active key, the ingest function accepts any of them, and the old one is removed after the vendor switches (functions/ingest/secrets.ts).";

/**
 * The secrets the functions read, under the data key and the names functions/vendors/secret-names.ts declares:
 * one per enabled webhook format, `<prefix>/webhooks/<format>` with `{"active":[...]}`
 * (functions/ingest/secrets.ts), and one per vendor API credential the apply function uses. They are created
 * holding no key material, so every delivery of a format is refused (fails closed) until an operator puts the
 * vendor's key in with `aws secretsmanager put-secret-value`.
 */
export class WebhookSecrets extends Construct {
  /** The `secretPrefix` setting the ingest function reads (functions/runtime-config.ts). */
  readonly vendorSecretPrefix: string;
  readonly vendorSecrets: secretsmanager.Secret[];
  /** The credentials of the vendor APIs asked for, with the names the apply function reads them by. */
  readonly apiCredentials: Partial<Record<ApiVendor, NamedSecret>> = {};

  constructor(scope: Construct, id: string, props: WebhookSecretsProps) {
    super(scope, id);
    this.vendorSecretPrefix = webhookSecretPrefix(props.prefix);
    this.vendorSecrets = props.enabledFormats.map(
      (format) =>
        new secretsmanager.Secret(this, `Vendor-${format}`, {
          secretName: webhookSecretName(this.vendorSecretPrefix, format),
          description: `portaltime: active webhook signing secrets of the ${format} format`,
          encryptionKey: props.key,
          // An empty list is not a secret, only the expected shape; it verifies no signature.
          secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ active: [] })),
          // A vendor's registered key cannot be re-created: a deleted stack leaves it for the next deploy.
          removalPolicy: RemovalPolicy.RETAIN,
        }),
    );
    for (const vendor of props.apiCredentials) {
      // Each vendor's credential as its folder declares it (functions/vendors/<name>/api.ts): created holding
      // none, so hydration fails closed and retries, then dead-letters, until the operator puts it in.
      const { constructId, description, placeholder } = apiOf(vendor).credential;
      const name = apiCredentialName(props.prefix, vendor);
      const secret = new secretsmanager.Secret(this, constructId, {
        secretName: name,
        description,
        encryptionKey: props.key,
        secretStringValue: SecretValue.unsafePlainText(placeholder),
        // The FHIR private key is registered with the server; deleting it would break the next deploy's fetches.
        removalPolicy: RemovalPolicy.RETAIN,
      });
      this.apiCredentials[vendor] = { name, secret };
    }
    const credentials = Object.values(this.apiCredentials).map((credential) => credential.secret);
    for (const secret of [...this.vendorSecrets, ...credentials]) {
      Validations.of(secret.node.defaultChild ?? secret).acknowledge(
        { id: "AwsSolutions-SMG4", reason: ROTATION_REASON },
        { id: "HIPAA.Security-SecretsManagerRotationEnabled", reason: ROTATION_REASON },
      );
    }
  }
}
