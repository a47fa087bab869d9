import * as z from "zod";
import { tenantConfigSchema } from "./domain/config.js";
import { formatNames } from "./vendors/format.js";

/** Days facts and audit records are kept (TTL): retention for audit, never a timer. */
export const retentionDaysSchema = z.number().int().min(30).max(3650).default(2190);
/** Claim lines whose window ended longer ago than this are settled history: never voided or replaced. */
export const adjustmentHorizonDaysSchema = z.number().int().min(30).max(3650).default(365);
/** Largest webhook body accepted; below SQS's message limit with room for the inbox message around it. */
export const maxBodyBytesSchema = z
  .number()
  .int()
  .min(1024)
  .max(240 * 1024)
  .default(240 * 1024);

/**
 * The deployment's runtime configuration: one object, validated once at cold start from the environment the CDK
 * stack (or the local stack) sets. Nothing else reads `process.env`. Each function is given only the settings it
 * uses (least privilege applies to configuration too) and requires them at cold start with `required`.
 */
export const runtimeConfigSchema = z.object({
  tableName: z.string().min(1).optional(),
  inboxQueueUrl: z.url().optional(),
  claimsQueueUrl: z.url().optional(),
  inboxDlqUrl: z.url().optional(),
  enabledFormats: z.array(z.enum(formatNames)).min(1).optional(),
  /** Where each format's active secrets live: a Secrets Manager name prefix (`<prefix>/<format>`). */
  secretPrefix: z.string().min(1).optional(),
  /** Local runs only: the secrets themselves, by format, instead of Secrets Manager. */
  localSecrets: z.record(z.enum(formatNames), z.array(z.string().min(1))).optional(),
  retentionDays: retentionDaysSchema,
  adjustmentHorizonDays: adjustmentHorizonDaysSchema,
  /** The finalizer's longest run, in ms; it also stops 30 s before its Lambda timeout. */
  finalizeBudgetMs: z.number().int().min(1000).default(240_000),
  maxBodyBytes: maxBodyBytesSchema,
  /** The tenant policies: the finalizer decides with all of them. */
  tenant: tenantConfigSchema.optional(),
  /** The one policy the apply function needs (R16's settle time, for due markers). */
  settleHours: z.number().int().min(0).max(720).optional(),
  /** The vendor APIs the apply function fetches thin payloads from; secrets are Secrets Manager names. */
  hydration: z
    .object({
      fhir: z
        .object({
          baseUrl: z.url(),
          tokenUrl: z.url(),
          clientId: z.string().min(1),
          scope: z.string().min(1).default("system/*.read"),
          /** Secret holding `{ privateKeyJwk | privateKeyPem, kid, alg }`. */
          keySecretName: z.string().min(1),
        })
        .optional(),
      healthie: z
        .object({
          apiUrl: z.url(),
          /** Secret holding the API key as its plain string value. */
          apiKeySecretName: z.string().min(1),
          authorizationShard: z.string().min(1).optional(),
        })
        .optional(),
      elation: z
        .object({
          apiBaseUrl: z.url(),
          tokenUrl: z.url(),
          clientId: z.string().min(1),
          /** Secret holding the OAuth client secret as its plain string value. */
          clientSecretName: z.string().min(1),
        })
        .optional(),
    })
    .default({}),
  /** AWS endpoint overrides, set only by the local stack (DynamoDB Local, the SQS-compatible server). */
  endpoints: z.object({ dynamodb: z.url().optional(), sqs: z.url().optional() }).default({}),
});
export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

const json = (value: string | undefined): unknown => (value === undefined ? undefined : JSON.parse(value));
const numberOf = (value: string | undefined): number | undefined =>
  value === undefined ? undefined : Number(value);

/** A setting one function needs and others don't: missing, it fails at cold start naming the setting. */
export function required<T>(value: T | undefined, setting: string): T {
  if (value === undefined) throw new Error(`runtime configuration: ${setting} is required by this function`);
  return value;
}

/** Reads the runtime configuration from the environment, failing at cold start with the failing variable. */
export function runtimeConfigFromEnv(env: NodeJS.ProcessEnv = process.env): RuntimeConfig {
  return runtimeConfigSchema.parse({
    tableName: env.TABLE_NAME,
    inboxQueueUrl: env.INBOX_QUEUE_URL,
    claimsQueueUrl: env.CLAIMS_QUEUE_URL,
    inboxDlqUrl: env.INBOX_DLQ_URL,
    enabledFormats: env.ENABLED_FORMATS?.split(",").map((format) => format.trim()),
    secretPrefix: env.SECRET_PREFIX,
    localSecrets: json(env.LOCAL_SECRETS),
    retentionDays: numberOf(env.RETENTION_DAYS),
    adjustmentHorizonDays: numberOf(env.ADJUSTMENT_HORIZON_DAYS),
    finalizeBudgetMs: numberOf(env.FINALIZE_BUDGET_MS),
    maxBodyBytes: numberOf(env.MAX_BODY_BYTES),
    tenant: json(env.TENANT_CONFIG),
    settleHours: numberOf(env.SETTLE_HOURS),
    hydration: json(env.HYDRATION),
    endpoints: { dynamodb: env.DYNAMODB_ENDPOINT, sqs: env.SQS_ENDPOINT },
  });
}
