import type { RuntimeConfig } from "../runtime-config.js";
import { UnmappableDeliveryError } from "../vendors/errors.js";
import type { FormatName, ResourceFetcher } from "../vendors/format.js";

import { type Credential, type SecretReader, secretCredential } from "../vendors/http/credential.js";

export type { SecretReader } from "../vendors/http/credential.js";

/**
 * The fetchers the apply function gives each format for thin payloads. Each client is loaded and built on first
 * use (most deliveries carry full resources, so cold starts skip the HTTP, JWT and OAuth code), from secrets read
 * when first needed (and again when the vendor refuses them: a rotated credential), and kept for the warm function (tokens stay cached); a failed build is retried on the next delivery. A format whose API is not configured cannot hydrate: its thin deliveries go to the DLQ with that
 * reason instead of failing forever.
 */
export function resourceFetchers(
  hydration: RuntimeConfig["hydration"],
  readSecret: SecretReader,
): (format: FormatName) => ResourceFetcher {
  const builders: Partial<Record<FormatName, () => Promise<ResourceFetcher>>> = {};
  const { fhir, healthie, elation } = hydration;
  if (fhir !== undefined) {
    builders.fhir = async () => {
      const [{ loadSmartSigningKey, SmartTokenProvider }, { createSmartFhirFetcher }] = await Promise.all([
        import("../vendors/fhir/smart-token-provider.js"),
        import("../vendors/fhir/fetcher.js"),
      ]);
      const key = await readNow(secretCredential(readSecret, fhir.keySecretName, loadSmartSigningKey));
      const tokens = new SmartTokenProvider({
        tokenUrl: fhir.tokenUrl,
        clientId: fhir.clientId,
        scope: fhir.scope,
        key,
      });
      return createSmartFhirFetcher({ baseUrl: fhir.baseUrl, tokens });
    };
  }
  if (healthie !== undefined) {
    builders.healthie = async () =>
      (await import("../vendors/healthie/fetcher.js")).createHealthieFetcher({
        apiUrl: healthie.apiUrl,
        apiKey: await readNow(secretCredential(readSecret, healthie.apiKeySecretName, String)),
        authorizationShard: healthie.authorizationShard,
        consentFormIds: healthie.consentFormIds,
      });
  }
  if (elation !== undefined) {
    builders.elation = async () =>
      (await import("../vendors/elation/fetcher.js")).createElationFetcher({
        apiBaseUrl: elation.apiBaseUrl,
        tokenUrl: elation.tokenUrl,
        clientId: elation.clientId,
        clientSecret: await readNow(secretCredential(readSecret, elation.clientSecretName, String)),
      });
  }

  const fetchers = new Map<FormatName, ResourceFetcher>();
  return (format) => {
    const known = fetchers.get(format);
    if (known !== undefined) return known;
    const build = builders[format];
    let ready: Promise<ResourceFetcher> | undefined;
    const fetcher: ResourceFetcher =
      build === undefined
        ? async () => {
            throw new UnmappableDeliveryError(`no ${format} API is configured to fetch resources from`);
          }
        : async (reference) => {
            ready ??= build().catch((error: unknown) => {
              ready = undefined;
              throw error;
            });
            return (await ready)(reference);
          };
    fetchers.set(format, fetcher);
    return fetcher;
  };
}

/** The credential, read now: an unreadable secret fails the client's build, which the next delivery retries. */
async function readNow<T>(credential: Credential<T>): Promise<Credential<T>> {
  await credential.current();
  return credential;
}
