import * as z from "zod";
import { httpsUrl, type VendorApi } from "../vendor.js";

/** Healthie's API, from which the apply function fetches the notes and appointments Healthie's thin webhooks name. */
export const healthieApi = {
  credential: {
    /** Healthie API key, a plain string. */
    name: "healthie-api-key",
    setting: "apiKeySecretName",
    constructId: "HealthieApiKey",
    description: "portaltime: Healthie API key",
    placeholder: "unset",
  },
  deploymentSettings: z.strictObject({
    apiUrl: httpsUrl,
    /** Healthie's `AuthorizationShard` header, for sharded accounts. */
    authorizationShard: z.string().min(1).optional(),
    /**
     * The form templates (Healthie `CustomModuleForm` ids) the practice collects consent to
     * communication-technology services with (R11): Healthie has no consent record of its own. None: a
     * Healthie episode's consent comes from a biller (R19).
     */
    consentFormIds: z
      .array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/))
      .max(20)
      .optional(),
  }),
  runtimeSettings: z.object({
    apiUrl: z.url(),
    /** Secret holding the API key as its plain string value. */
    apiKeySecretName: z.string().min(1),
    authorizationShard: z.string().min(1).optional(),
    /** The form templates whose filled-out forms are the practice's consent forms (R11). */
    consentFormIds: z.array(z.string().min(1)).default([]),
  }),
} satisfies VendorApi;
