import type { RuntimeConfig } from "../runtime-config.js";
import { UnmappableDeliveryError } from "../vendors/errors.js";
import type { FormatName, ResourceFetcher } from "../vendors/format.js";

/** Reads a secret's string value by name (Secrets Manager in Lambda). */
export type SecretReader = (name: string) => Promise<string>;

/**
 * The fetchers the apply function gives each format for thin payloads. Each client is loaded and built on first
 * use (most deliveries carry full resources, so cold starts skip the HTTP, JWT and OAuth code), from secrets read
 * then, and kept for the warm function (tokens stay cached); a failed build is retried on the next delivery. A format whose API is not configured cannot hydrate: its thin deliveries go to the DLQ with that
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
      const key = await loadSmartSigningKey(await readSecret(fhir.keySecretName));
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
        apiKey: await readSecret(healthie.apiKeySecretName),
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
        clientSecret: await readSecret(elation.clientSecretName),
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
