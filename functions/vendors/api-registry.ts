import * as z from "zod";
import { elationApi } from "./elation/api.js";
import { fhirApi } from "./fhir/api.js";
import type { FormatName } from "./format.js";
import { healthieApi } from "./healthie/api.js";
import type { VendorApi } from "./vendor.js";

/**
 * The registry's API part (registry.ts has the formats): each vendor whose API the apply function fetches thin
 * payloads from, with its credential secret and settings (`<name>/api.ts`); its client is `<name>/fetcher.ts`.
 * It drives the deployment and runtime settings, the CDK credential secrets and grants, and the resource
 * fetchers. Kept apart from the formats so the CDK app and the functions that only read settings (finalize)
 * load no format code.
 */
export const vendorApis = {
  fhir: fhirApi,
  elation: elationApi,
  healthie: healthieApi,
} as const satisfies Partial<Record<FormatName, VendorApi>>;

/** The vendors with an API the apply function can fetch from. */
export type ApiVendor = keyof typeof vendorApis;
type ApiOf<K extends ApiVendor> = (typeof vendorApis)[K];

export const apiVendors = Object.keys(vendorApis) as ApiVendor[];

/** The API of `vendor`. */
export const apiOf = <K extends ApiVendor>(vendor: K): ApiOf<K> => vendorApis[vendor];

/** Each API vendor's schema piece `part`, optional, as a zod shape keyed by vendor. */
function shapeOf<Part extends "deploymentSettings" | "runtimeSettings">(part: Part) {
  return Object.fromEntries(apiVendors.map((vendor) => [vendor, apiOf(vendor)[part].optional()])) as {
    [K in ApiVendor]: z.ZodOptional<ApiOf<K>[Part]>;
  };
}

/** The deployment configuration's vendor API settings (lib/deployment-config.ts), one field per vendor. */
export const deploymentApiSettingsShape = shapeOf("deploymentSettings");

/** The apply function's `hydration` setting: the vendor APIs to fetch thin payloads from. */
export const hydrationSchema = z.object(shapeOf("runtimeSettings")).default({});
