import { readFileSync } from "node:fs";
import * as z from "zod";
import { tenantConfigSchema } from "../functions/domain/config.js";
import {
  adjustmentHorizonDaysSchema,
  fhirSecretHeadersSchema,
  maxBodyBytesSchema,
  retentionDaysSchema,
} from "../functions/runtime-config.js";
import { deploymentApiSettingsShape } from "../functions/vendors/api-registry.js";
import { formatNames } from "../functions/vendors/format.js";

/** The cdk.json context key holding the configuration (cdk.json ships the synthetic demo). */
export const CONFIG_CONTEXT_KEY = "portaltime";
/** `npx cdk deploy --context configFile=customer.json` reads the configuration from a JSON file instead. */
export const CONFIG_FILE_CONTEXT_KEY = "configFile";

/** The retention periods CloudWatch Logs accepts. */
const logRetentionDays = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/**
 * Domains that never receive mail (RFC 2606 and RFC 6761): an alarm sent there reaches no one, so an address in
 * one is refused rather than deployed. `example.com` is what a copied sample leaves behind.
 */
const undeliverableDomain = /(?:^|\.)(?:example\.(?:com|net|org)|example|test|invalid|localhost)$/i;
const alarmAddress = z
  .email()
  .refine(
    (address) => !undeliverableDomain.test(address.slice(address.lastIndexOf("@") + 1)),
    "this domain receives no mail (RFC 2606): give the on-call address that must hear about alarms",
  );
const snsTopicArn = z
  .string()
  .regex(/^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/, "expected an SNS topic ARN");
const cidr = z.union([z.cidrv4(), z.cidrv6()], { error: "expected an IPv4 or IPv6 CIDR block" });

/**
 * API Gateway's enhanced security policies for regional REST APIs that refuse TLS 1.0 and 1.1. The default
 * accepts TLS 1.3 and TLS 1.2 with forward secrecy (and post-quantum key exchange), which every current vendor
 * HTTP client speaks; the TLS 1.3-only policies suit a practice whose vendors all do.
 */
export const apiSecurityPolicies = [
  "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
  "SecurityPolicy_TLS13_1_2_PQ_2025_09",
  "SecurityPolicy_TLS13_1_2_FIPS_PFS_PQ_2025_09",
  "SecurityPolicy_TLS13_1_2_FIPS_PQ_2025_09",
  "SecurityPolicy_TLS13_1_3_2025_09",
  "SecurityPolicy_TLS13_1_3_FIPS_2025_09",
] as const;

/** SQS keeps a message 14 days at most: an age alarm must leave days to act before anything expires. */
const MAX_QUEUE_AGE_ALARM_DAYS = 10;

const alarmsSchema = z
  .strictObject({
    /** The inbox drains in seconds: an older message means apply stopped reading (a broken grant, a bug). */
    inboxOldestMessageMinutes: z
      .number()
      .int()
      .min(5)
      .max(MAX_QUEUE_AGE_ALARM_DAYS * 24 * 60)
      .default(60),
    /** The clearinghouse connector reads the claims queue: an older line means it stopped. */
    claimsOldestMessageHours: z
      .number()
      .int()
      .min(1)
      .max(MAX_QUEUE_AGE_ALARM_DAYS * 24)
      .default(24),
    /** What waits in a dead-letter queue this long is close to expiring unread (14 days). */
    deadLetterOldestMessageDays: z.number().int().min(1).max(MAX_QUEUE_AGE_ALARM_DAYS).default(3),
    /** Share of a format's deliveries refused for their signature, over 15 minutes (a rotated secret). */
    signatureFailurePercent: z.number().gt(0).max(100).default(10),
    /**
     * Hours without any accepted delivery (events, handshakes, heartbeats) from an enabled format before it is
     * reported silent (a subscription switched off), or `false` for a format that can be quiet that long.
     */
    silentFormatHours: z
      .partialRecord(z.enum(formatNames), z.union([z.number().int().min(1).max(24), z.literal(false)]))
      .default({}),
  })
  .default({
    inboxOldestMessageMinutes: 60,
    claimsOldestMessageHours: 24,
    deadLetterOldestMessageDays: 3,
    signatureFailurePercent: 10,
    silentFormatHours: {},
  });

/** The silence alarm's window when a format has none configured. */
export const DEFAULT_SILENT_FORMAT_HOURS = 24;

const edgeSchema = z
  .strictObject({
    /** The TLS policy of the API's endpoint (see `apiSecurityPolicies`). */
    securityPolicy: z.enum(apiSecurityPolicies).default("SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09"),
    /**
     * Requests one IP address may make in five minutes before the firewall blocks it (WAF rate-based rule). It
     * keeps one client from using up the stage throttle the vendors share; set it above a vendor's busiest
     * five minutes (a backfill), since each vendor sends from a few addresses.
     */
    requestsPerIpPerFiveMinutes: z.number().int().min(100).max(2_000_000_000).default(3000),
    /**
     * Per format, the only source addresses its deliveries may come from (the vendor's published egress
     * ranges); other sources are blocked at the firewall for that format's path. Formats not listed are open.
     */
    vendorIpAllowList: z.partialRecord(z.enum(formatNames), z.array(cidr).min(1).max(50)).default({}),
  })
  .default({
    securityPolicy: "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
    requestsPerIpPerFiveMinutes: 3000,
    vendorIpAllowList: {},
  });

/**
 * How the table's long-term backups are made, chosen explicitly: an AWS Backup plan in this stack, or the
 * customer's organization backup policy, which selects resources by tag (the stack tags the table with it).
 */
const backupSchema = z.discriminatedUnion("mode", [
  z.strictObject({
    mode: z.literal("plan"),
    /** An existing vault to keep the recovery points in; a new vault under the data key otherwise. */
    vaultName: z
      .string()
      .regex(/^[a-zA-Z0-9_-]{2,50}$/, "expected a backup vault name")
      .optional(),
    /** Days each daily recovery point is kept. */
    dailyRetentionDays: z.number().int().min(7).max(3650).default(35),
    /** Days each monthly recovery point is kept (six years covers HIPAA's documentation period). */
    monthlyRetentionDays: z.number().int().min(30).max(3650).default(2190),
    /** A vault in another account (or Region) that receives a copy of each monthly recovery point. */
    copyToVaultArn: z
      .string()
      .regex(
        /^arn:aws[a-z-]*:backup:[a-z0-9-]+:\d{12}:backup-vault:[a-zA-Z0-9_-]{2,50}$/,
        "expected a backup vault ARN",
      )
      .optional(),
  }),
  z.strictObject({
    mode: z.literal("organization-policy"),
    /** The tag the organization's backup policy selects resources by, put on the table. */
    tag: z.strictObject({
      key: z.string().regex(/^[\w .:/=+@-]{1,128}$/, "expected a tag key"),
      value: z.string().regex(/^[\w .:/=+@-]{0,256}$/, "expected a tag value"),
    }),
  }),
]);

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
    alarmEmail: alarmAddress,
    /** A topic of the customer's pager or chat tool that also receives every alarm and recovery. */
    alarmPagerTopicArn: snsTopicArn.optional(),
    /** Thresholds of the alarms that have one to choose (README "Alarms"). */
    alarms: alarmsSchema,
    /** The API's TLS policy, the firewall's per-IP rate limit and the vendors' source addresses. */
    edge: edgeSchema,
    /** Long-term backups of the episode table (README "Backups"): never assumed, always chosen. */
    backup: backupSchema,
    /**
     * The headers the FHIR subscriptions carry their shared secret in, as each subscription's `channel.header`
     * names it (`Authorization: Bearer <secret>`, `x-api-key: <secret>`); any case, matched case-insensitively.
     */
    fhirSecretHeaders: z
      .array(z.string().transform((name) => name.toLowerCase()))
      .pipe(fhirSecretHeadersSchema)
      .default(["authorization"]),
    /** The vendor APIs the apply function fetches thin payloads from (functions/vendors/<name>/api.ts). */
    ...deploymentApiSettingsShape,
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
    for (const format of Object.keys(config.edge.vendorIpAllowList)) {
      if (!config.enabledFormats.includes(format as (typeof config.enabledFormats)[number])) {
        ctx.addIssue({
          code: "custom",
          path: ["edge", "vendorIpAllowList", format],
          message: "is not an enabled format",
        });
      }
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
