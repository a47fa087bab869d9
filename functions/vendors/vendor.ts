import * as z from "zod";
import type { VendorFormat } from "./format.js";

/** An https URL, as the deployment configuration takes a vendor API's addresses. */
export const httpsUrl = z.url({ protocol: /^https$/, error: "expected an https:// URL" });

/**
 * The secret holding a vendor API's credential: the stack creates it (lib/webhook-secrets.ts) and grants it to
 * the apply function, which is told its name in the API's runtime settings under `setting`.
 */
export interface ApiCredentialSecret {
  /** The secret's name under the deployment prefix: `<prefix>/<name>`. */
  name: string;
  /** The runtime settings field carrying the secret's full name. */
  setting: string;
  /** The CDK construct id. */
  constructId: string;
  description: string;
  /** The value it is created with: none that authenticates, so hydration fails closed until an operator puts one. */
  placeholder: string;
}

/** The API a vendor's thin payloads are fetched from by the apply function. */
export interface VendorApi {
  credential: ApiCredentialSecret;
  /** What a deployment configures (lib/deployment-config.ts, under the vendor's name). */
  deploymentSettings: z.ZodObject;
  /** What the apply function is given: the deployment's settings and the credential's secret name. */
  runtimeSettings: z.ZodObject;
}

/** One vendor's parts, as the registry (registry.ts) lists them. */
export interface Vendor {
  format: VendorFormat;
  /**
   * The vendor's API, when it has one. Its client is `<name>/fetcher.ts`, exporting `fetcherFromSettings`
   * (functions/apply/resource-fetchers.ts loads it on first use).
   */
  api?: VendorApi;
}
