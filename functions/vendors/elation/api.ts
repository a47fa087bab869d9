import * as z from "zod";
import { httpsUrl, type VendorApi } from "../vendor.js";

/** Elation's API (OAuth2 client credentials), from which the apply function fetches message threads. */
export const elationApi = {
  credential: {
    /** Elation OAuth2 client secret, a plain string. */
    name: "elation-client-secret",
    setting: "clientSecretName",
    constructId: "ElationClientSecret",
    description: "portaltime: Elation OAuth2 client secret",
    placeholder: "unset",
  },
  deploymentSettings: z.strictObject({
    apiBaseUrl: httpsUrl,
    tokenUrl: httpsUrl,
    clientId: z.string().min(1),
  }),
  runtimeSettings: z.object({
    apiBaseUrl: z.url(),
    tokenUrl: z.url(),
    clientId: z.string().min(1),
    /** Secret holding the OAuth client secret as its plain string value. */
    clientSecretName: z.string().min(1),
  }),
} satisfies VendorApi;
