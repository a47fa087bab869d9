import { vendorApis } from "./api-registry.js";
import { bridge } from "./bridge/format.js";
import { elation } from "./elation/format.js";
import { createFhirFormat, type FhirFormatOptions, fhir } from "./fhir/format.js";
import type { FormatName, VendorFormat } from "./format.js";
import { healthie } from "./healthie/format.js";
import { medplum } from "./medplum/format.js";
import type { Vendor } from "./vendor.js";

export { type ApiVendor, apiOf, apiVendors } from "./api-registry.js";

/**
 * Every vendor portaltime speaks, with its parts: the webhook format (the runtime formats, the local signer),
 * and the API thin payloads are fetched from (api-registry.ts: the apply function's resource fetchers, the CDK
 * credential secrets and grants, the deployment and runtime settings). Adding a vendor is a folder in
 * functions/vendors/, its name in `formatNames` (format.ts), an entry here and, with an API, one in
 * api-registry.ts.
 */
export const vendors = {
  fhir: { format: fhir, api: vendorApis.fhir },
  medplum: { format: medplum },
  elation: { format: elation, api: vendorApis.elation },
  healthie: { format: healthie, api: vendorApis.healthie },
  bridge: { format: bridge },
} as const satisfies Record<FormatName, Vendor>;

/** Every webhook format portaltime speaks. */
export const allFormats = Object.fromEntries(
  Object.entries(vendors).map(([name, vendor]) => [name, vendor.format]),
) as Readonly<Record<FormatName, VendorFormat>>;

/** What a deployment sets for the formats that take settings. */
export interface FormatOptions {
  fhir?: FhirFormatOptions;
}

/** The formats a deployment enabled, by the name in `/webhooks/{format}`, with the deployment's settings. */
export const enabledFormats = (
  names: readonly FormatName[],
  options: FormatOptions = {},
): ReadonlyMap<string, VendorFormat> =>
  new Map(
    names.map((name) => [
      name,
      name === "fhir" && options.fhir !== undefined ? createFhirFormat(options.fhir) : allFormats[name],
    ]),
  );
