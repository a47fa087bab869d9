import { SecretValue, Validations } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as secretsmanager from "aws-cdk-lib/aws-secretsmanager";
import { Construct } from "constructs";
import type { FormatName } from "../functions/vendors/format.js";

export interface WebhookSecretsProps {
  prefix: string;
  enabledFormats: readonly FormatName[];
  /** Whether the apply function hydrates FHIR `id-only` notifications (it then needs the client key). */
  fhirClientKey: boolean;
  /** Whether the apply function fetches from Healthie's API (it then needs the API key). */
  healthieApiKey: boolean;
  /** Whether the apply function fetches from Elation's API (it then needs the OAuth client secret). */
  elationClientSecret: boolean;
  key: kms.IKey;
}

const ROTATION_REASON =
  "These keys are issued by, or registered with, a third party: the EHR vendor's webhook signing secret and the SMART Backend Services private key whose public key the EHR holds. A Secrets Manager rotation function cannot change the vendor's side, so rotation is a coordinated operator procedure: the secret lists every active key, the ingest function accepts any of them, and the old one is removed after the vendor switches (functions/ingest/secrets.ts).";

/**
 * The secrets the functions read, under the data key: one per enabled webhook format, named
 * `<prefix>/webhooks/<format>` with `{"active":[...]}` (functions/ingest/secrets.ts), and the FHIR client's
 * private key. They are created holding no key material, so every delivery of a format is refused (fails
 * closed) until an operator puts the vendor's key in with `aws secretsmanager put-secret-value`.
 */
export class WebhookSecrets extends Construct {
  /** The `secretPrefix` setting the ingest function reads (functions/runtime-config.ts). */
  readonly vendorSecretPrefix: string;
  readonly vendorSecrets: secretsmanager.Secret[];
  readonly fhirClientKey?: secretsmanager.Secret;
  readonly healthieApiKey?: secretsmanager.Secret;
  readonly elationClientSecret?: secretsmanager.Secret;
  /**
   * The names the apply function reads its API credentials by: plain strings known at synth (a secret's
   * `secretName` attribute is a deploy-time token), so its `hydration` setting is checkable JSON.
   */
  readonly credentialNames: { fhir: string; healthie: string; elation: string };

  constructor(scope: Construct, id: string, props: WebhookSecretsProps) {
    super(scope, id);
    this.vendorSecretPrefix = `${props.prefix}/webhooks`;
    this.credentialNames = {
      fhir: `${props.prefix}/fhir-client-key`,
      healthie: `${props.prefix}/healthie-api-key`,
      elation: `${props.prefix}/elation-client-secret`,
    };
    this.vendorSecrets = props.enabledFormats.map(
      (format) =>
        new secretsmanager.Secret(this, `Vendor-${format}`, {
          secretName: `${this.vendorSecretPrefix}/${format}`,
          description: `portaltime: active webhook signing secrets of the ${format} format`,
          encryptionKey: props.key,
          // An empty list is not a secret, only the expected shape; it verifies no signature.
          secretStringValue: SecretValue.unsafePlainText(JSON.stringify({ active: [] })),
        }),
    );
    if (props.fhirClientKey) {
      this.fhirClientKey = new secretsmanager.Secret(this, "FhirClientKey", {
        secretName: this.credentialNames.fhir,
        description:
          "portaltime: SMART Backend Services private key { kid, alg, privateKeyJwk | privateKeyPem }",
        encryptionKey: props.key,
        // An empty object holds no key: FHIR hydration fails (and retries) until the operator puts the key.
        secretStringValue: SecretValue.unsafePlainText("{}"),
      });
    }
    // Vendor API credentials: a plain string each, created holding none (hydration fails closed and retries,
    // then dead-letters, until the operator puts the credential in).
    const apiCredential = (id: string, secretName: string, description: string) =>
      new secretsmanager.Secret(this, id, {
        secretName,
        description,
        encryptionKey: props.key,
        secretStringValue: SecretValue.unsafePlainText("unset"),
      });
    if (props.healthieApiKey) {
      this.healthieApiKey = apiCredential(
        "HealthieApiKey",
        "healthie-api-key",
        "portaltime: Healthie API key",
      );
    }
    if (props.elationClientSecret) {
      this.elationClientSecret = apiCredential(
        "ElationClientSecret",
        this.credentialNames.elation,
        "portaltime: Elation OAuth2 client secret",
      );
    }
    const all = [this.fhirClientKey, this.healthieApiKey, this.elationClientSecret].filter(
      (secret): secret is secretsmanager.Secret => secret !== undefined,
    );
    for (const secret of [...this.vendorSecrets, ...all]) {
      Validations.of(secret.node.defaultChild ?? secret).acknowledge(
        { id: "AwsSolutions-SMG4", reason: ROTATION_REASON },
        { id: "HIPAA.Security-SecretsManagerRotationEnabled", reason: ROTATION_REASON },
      );
    }
  }
}
