import type { RuntimeConfig } from "../runtime-config.js";
import { UnmappableDeliveryError } from "../vendors/errors.js";
import type { FormatName, ResourceFetcher } from "../vendors/format.js";
import { createSmartFhirFetcher } from "./smart-fhir-fetcher.js";
import { loadSmartSigningKey, SmartTokenProvider } from "./smart-token-provider.js";

/** Reads a secret's string value by name (Secrets Manager in Lambda). */
export type SecretReader = (name: string) => Promise<string>;

/**
 * The fetchers the apply function gives each format for thin payloads. Clients are built on first use and kept
 * for the warm function (tokens stay cached). A format whose API is not configured cannot hydrate: its thin
 * deliveries go to the DLQ with that reason instead of failing forever.
 */
export function resourceFetchers(
  hydration: RuntimeConfig["hydration"],
  readSecret: SecretReader,
): (format: FormatName) => ResourceFetcher {
  const notConfigured =
    (format: FormatName): ResourceFetcher =>
    async () => {
      throw new UnmappableDeliveryError(`no ${format} API is configured to fetch resources from`);
    };

  let fhir: ResourceFetcher | undefined;
  const fhirSettings = hydration.fhir;
  if (fhirSettings !== undefined) {
    let ready: Promise<ResourceFetcher> | undefined;
    fhir = async (reference) => {
      ready ??= (async () => {
        const key = await loadSmartSigningKey(await readSecret(fhirSettings.keySecretName));
        const tokens = new SmartTokenProvider({
          tokenUrl: fhirSettings.tokenUrl,
          clientId: fhirSettings.clientId,
          scope: fhirSettings.scope,
          key,
        });
        return createSmartFhirFetcher({ baseUrl: fhirSettings.baseUrl, tokens });
      })().catch((error: unknown) => {
        ready = undefined; // a failed key read is retried on the next delivery
        throw error;
      });
      return (await ready)(reference);
    };
  }

  return (format) => (format === "fhir" && fhir !== undefined ? fhir : notConfigured(format));
}
