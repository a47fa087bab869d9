import * as z from "zod";
import { httpsUrl, type VendorApi } from "../vendor.js";

/** The FHIR server the apply function fetches `id-only` notifications' resources from (SMART Backend Services). */
export const fhirApi = {
  credential: {
    /** SMART Backend Services private key, `{ kid, alg, privateKeyJwk | privateKeyPem }`. */
    name: "fhir-client-key",
    setting: "keySecretName",
    constructId: "FhirClientKey",
    description: "portaltime: SMART Backend Services private key { kid, alg, privateKeyJwk | privateKeyPem }",
    // An empty object holds no key: FHIR hydration fails (and retries) until the operator puts the key.
    placeholder: "{}",
  },
  deploymentSettings: z.strictObject({
    baseUrl: httpsUrl,
    tokenUrl: httpsUrl,
    clientId: z.string().min(1),
    scope: z.string().min(1).optional(),
  }),
  runtimeSettings: z.object({
    baseUrl: z.url(),
    tokenUrl: z.url(),
    clientId: z.string().min(1),
    scope: z.string().min(1).default("system/*.read"),
    /** Secret holding `{ privateKeyJwk | privateKeyPem, kid, alg }`. */
    keySecretName: z.string().min(1),
  }),
} satisfies VendorApi;
