import { bridge } from "./bridge/format.js";
import { elation } from "./elation/format.js";
import { createFhirFormat, type FhirFormatOptions, fhir } from "./fhir/format.js";
import type { FormatName, VendorFormat } from "./format.js";
import { healthie } from "./healthie/format.js";
import { medplum } from "./medplum/format.js";

/** Every webhook format portaltime speaks; adding a vendor is a module in this folder and a line here. */
export const allFormats: Readonly<Record<FormatName, VendorFormat>> = {
  fhir,
  medplum,
  elation,
  healthie,
  bridge,
};

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
