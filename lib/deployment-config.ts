import { readFileSync } from "node:fs";
import * as z from "zod";
import { tenantConfigSchema } from "../functions/domain/config.js";
import {
  adjustmentHorizonDaysSchema,
  maxBodyBytesSchema,
  retentionDaysSchema,
} from "../functions/runtime-config.js";
import { formatNames } from "../functions/vendors/format.js";

/** The cdk.json context key holding the configuration (cdk.json ships the synthetic demo). */
export const CONFIG_CONTEXT_KEY = "portaltime";
/** `npx cdk deploy --context configFile=customer.json` reads the configuration from a JSON file instead. */
export const CONFIG_FILE_CONTEXT_KEY = "configFile";

/** The retention periods CloudWatch Logs accepts. */
const logRetentionDays = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

const httpsUrl = z.url({ protocol: /^https$/, error: "expected an https:// URL" });

/**
 * One customer account's deployment: everything that differs between customers, validated before any resource
 * is defined. Unknown keys are errors, so a misspelt setting cannot silently fall back to its default.
 */
export const deploymentConfigSchema = z
  .strictObject({
    /** Prefix of the named resources (queues, secrets, alarms): two deployments in one account need two. */
    prefix: z
      .string()
      .regex(/^[a-z][a-z0-9-]{1,22}[a-z0-9]$/, "expected 3-24 lower-case letters, digits or dashes")
      .default("portaltime"),
    /**
     * The tenant configuration's initial version (README "Configuration"), validated with the schema every
     * version is. The configuration lives in the table: the first deploy stores this as version 1 if the table has
     * none, and later deploys never change it; changes are pushed with `npm run config -- push`.
     */
    tenant: tenantConfigSchema.strict().optional(),
    enabledFormats: z
      .array(z.enum(formatNames))
      .min(1)
      .refine((formats) => new Set(formats).size === formats.length, "a format is listed twice"),
    /** How often the finalizer runs. */
    finalizeScheduleMinutes: z.number().int().min(1).max(60).default(5),
    /** Days the episode records are kept (DynamoDB TTL); 2190 days is HIPAA's six-year documentation period. */
    retentionDays: retentionDaysSchema,
    /** Claim lines whose window ended longer ago than this are settled history: never voided or replaced. */
    adjustmentHorizonDays: adjustmentHorizonDaysSchema,
    /** Days CloudWatch keeps function, API and firewall logs. */
    logRetentionDays: z.literal(logRetentionDays, "expected a CloudWatch Logs retention period").default(365),
    /** Where alarm notifications go (SNS e-mail subscription; the recipient confirms it once). */
    alarmEmail: z.email(),
    /** The FHIR server the apply function fetches `id-only` notifications' resources from (SMART Backend Services). */
    fhir: z
      .strictObject({
        baseUrl: httpsUrl,
        tokenUrl: httpsUrl,
        clientId: z.string().min(1),
        scope: z.string().min(1).optional(),
      })
      .optional(),
    /** Healthie's API, from which the apply function fetches the notes and appointments Healthie's thin webhooks name. */
    healthie: z
      .strictObject({
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
      })
      .optional(),
    /** Elation's API (OAuth2 client credentials), from which the apply function fetches message threads. */
    elation: z
      .strictObject({
        apiBaseUrl: httpsUrl,
        tokenUrl: httpsUrl,
        clientId: z.string().min(1),
      })
      .optional(),
    /** API Gateway stage throttling: steady requests per second and burst. */
    apiThrottle: z
      .strictObject({
        rateLimit: z.number().int().min(1).max(10_000).default(50),
        burstLimit: z.number().int().min(1).max(5_000).default(100),
      })
      .default({ rateLimit: 50, burstLimit: 100 }),
    /** Largest webhook body accepted: enforced at the firewall (Content-Length) and again by the ingest function. */
    maxBodyBytes: maxBodyBytesSchema,
    /** Most concurrent apply invocations the inbox event source starts (SQS minimum is 2). */
    applyMaxConcurrency: z.number().int().min(2).max(1000).default(5),
    /** Alarm when the finalizer decides due work later than this, or stops reporting. */
    finalizerLagAlarmMinutes: z.number().int().min(5).max(1440).default(30),
    /** Alarm when more than this percentage of webhook requests in five minutes get a 5xx answer. */
    apiServerErrorAlarmPercent: z.number().gt(0).max(100).default(1),
  })
  .superRefine((config, ctx) => {
    if (config.finalizerLagAlarmMinutes <= config.finalizeScheduleMinutes) {
      ctx.addIssue({
        code: "custom",
        path: ["finalizerLagAlarmMinutes"],
        message: "must be longer than finalizeScheduleMinutes: up to one interval of lag is normal",
      });
    }
    if (config.retentionDays < config.adjustmentHorizonDays) {
      ctx.addIssue({
        code: "custom",
        path: ["retentionDays"],
        message:
          "must be at least adjustmentHorizonDays: a claim line cannot be adjusted after its records expire",
      });
    }
    if (config.apiThrottle.burstLimit < config.apiThrottle.rateLimit) {
      ctx.addIssue({
        code: "custom",
        path: ["apiThrottle", "burstLimit"],
        message: "must be at least apiThrottle.rateLimit",
      });
    }
  });

export type DeploymentConfig = z.output<typeof deploymentConfigSchema>;
export type DeploymentConfigInput = z.input<typeof deploymentConfigSchema>;

/** The configuration is invalid or unreadable; the message names each failing field by its path. */
export class DeploymentConfigError extends Error {
  override readonly name = "DeploymentConfigError";
}

/** Validates a configuration object; `source` says where it came from, for the error message. */
export function parseDeploymentConfig(input: unknown, source: string): DeploymentConfig {
  const result = deploymentConfigSchema.safeParse(input);
  if (result.success) return result.data;
  const problems = result.error.issues.map(
    (issue) => `  ${issue.path.length > 0 ? issue.path.join(".") : "(root)"}: ${issue.message}`,
  );
  throw new DeploymentConfigError(`invalid portaltime configuration (${source}):\n${problems.join("\n")}`);
}

/** Reads context values; a CDK construct node satisfies it. */
export interface ContextReader {
  tryGetContext(key: string): unknown;
}

/**
 * The configuration of this synth: the JSON file named by `--context configFile=...`, else the `portaltime`
 * context object (cdk.json, or a JSON string passed with `--context portaltime=...`).
 */
export function deploymentConfigFromContext(
  context: ContextReader,
  readFile: (path: string) => string = (path) => readFileSync(path, "utf8"),
): DeploymentConfig {
  const file = context.tryGetContext(CONFIG_FILE_CONTEXT_KEY);
  if (file !== undefined) {
    if (typeof file !== "string" || file.length === 0) {
      throw new DeploymentConfigError(`context ${CONFIG_FILE_CONTEXT_KEY} must be a file path`);
    }
    const source = `file ${file}`;
    let text: string;
    try {
      text = readFile(file);
    } catch (error) {
      throw new DeploymentConfigError(
        `cannot read the portaltime configuration (${source}): ${String(error)}`,
      );
    }
    return parseDeploymentConfig(parseJson(text, source), source);
  }
  const value = context.tryGetContext(CONFIG_CONTEXT_KEY);
  const source = `context ${CONFIG_CONTEXT_KEY}`;
  if (value === undefined) {
    throw new DeploymentConfigError(
      `no portaltime configuration: set the "${CONFIG_CONTEXT_KEY}" context in cdk.json or pass --context ${CONFIG_FILE_CONTEXT_KEY}=<path.json>`,
    );
  }
  return parseDeploymentConfig(typeof value === "string" ? parseJson(value, source) : value, source);
}

function parseJson(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new DeploymentConfigError(`the portaltime configuration is not JSON (${source}): ${String(error)}`);
  }
}
