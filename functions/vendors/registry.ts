import { bridge } from "./bridge.js";
import { elation } from "./elation.js";
import { fhir } from "./fhir.js";
import type { FormatName, VendorFormat } from "./format.js";
import { healthie } from "./healthie.js";
import { medplum } from "./medplum.js";

/** Every webhook format portaltime speaks; adding a vendor is a module in this folder and a line here. */
export const allFormats: Readonly<Record<FormatName, VendorFormat>> = {
  fhir,
  medplum,
  elation,
  healthie,
  bridge,
};

/** The formats a deployment enabled, by the name in `/webhooks/{format}`. */
export const enabledFormats = (names: readonly FormatName[]): ReadonlyMap<string, VendorFormat> =>
  new Map(names.map((name) => [name, allFormats[name]]));
