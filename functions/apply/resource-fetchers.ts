import type { RuntimeConfig } from "../runtime-config.js";
import { type ApiVendor, apiVendors } from "../vendors/api-registry.js";
import { UnmappableDeliveryError } from "../vendors/errors.js";
import type { FormatName, ResourceFetcher } from "../vendors/format.js";
import type { SecretReader } from "../vendors/http/credential.js";

export type { SecretReader } from "../vendors/http/credential.js";

/** What each vendor's `<name>/fetcher.ts` exports for the apply function. */
interface FetcherModule {
  fetcherFromSettings(settings: unknown, readSecret: SecretReader): Promise<ResourceFetcher>;
}

/**
 * A vendor's API client module, by the registry's convention (functions/vendors/<name>/fetcher.ts). The path
 * names the `.ts` source so esbuild bundles every vendor's client into this function alone (a glob import), and
 * only on first use are they evaluated.
 */
const loadFetcherModule = (vendor: ApiVendor): Promise<FetcherModule> =>
  import(`../vendors/${vendor}/fetcher.ts`);

/**
 * The fetchers the apply function gives each format for thin payloads: one per vendor of the registry whose API
 * the deployment configured (`hydration`). Each client is loaded and built on first use (most deliveries carry
 * full resources, so cold starts skip the HTTP, JWT and OAuth code), from secrets read then (and again when the
 * vendor refuses them: a rotated credential), and kept for the warm function (tokens stay cached); a failed
 * build is retried on the next delivery. A format whose API is not configured cannot hydrate: its thin
 * deliveries go to the DLQ with that reason instead of failing forever.
 */
export function resourceFetchers(
  hydration: RuntimeConfig["hydration"],
  readSecret: SecretReader,
): (format: FormatName) => ResourceFetcher {
  const builders: Partial<Record<FormatName, () => Promise<ResourceFetcher>>> = {};
  for (const vendor of apiVendors) {
    const settings = hydration[vendor];
    if (settings === undefined) continue;
    builders[vendor] = async () =>
      (await loadFetcherModule(vendor)).fetcherFromSettings(settings, readSecret);
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
