import * as z from "zod";
import { type Setting, settingVariables } from "./settings.js";
import { hydrationSchema } from "./vendors/api-registry.js";
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

const tableNameSchema = z.string().min(1);
/**
 * The headers FHIR subscriptions carry their shared secret in (each subscription's `channel.header` names one),
 * lower-case as requests reach the function. Headers that mean something else cannot be chosen.
 */
export const fhirSecretHeadersSchema = z
  .array(
    z
      .string()
      .regex(/^[a-z0-9!#$%&'*+.^_`|~-]{1,64}$/, "expected a lower-case HTTP header name")
      .refine(
        (name) => !["content-type", "content-length", "host", "x-hub-signature"].includes(name),
        "this header carries something else",
      ),
  )
  .min(1);
const enabledFormatsSchema = z.array(z.enum(formatNames)).min(1);
/** AWS endpoint overrides, set only by the local stack (DynamoDB Local, the SQS-compatible server). */
const endpointsSchema = z.object({ dynamodb: z.url().optional(), sqs: z.url().optional() }).default({});
/*
 * Each function's runtime configuration: one object, validated once at cold start from the environment the CDK
 * stack sets (functions/settings.ts names the variables). A function is given only the settings it uses (least
 * privilege applies to configuration too), and what it needs is required here, so a missing setting fails the
 * cold start naming its variable. Nothing else reads `process.env`.
 */

/** The ingest function: authenticate, check, enqueue. */
export const ingestConfigSchema = z.object({
  enabledFormats: enabledFormatsSchema,
  /** Where each format's active secrets live: a Secrets Manager name prefix (`<prefix>/<format>`). */
  secretPrefix: z.string().min(1),
  /** Local runs only: the secrets themselves, by format, used instead of Secrets Manager. */
  localSecrets: z.record(z.enum(formatNames), z.array(z.string().min(1))).optional(),
  fhirSecretHeaders: fhirSecretHeadersSchema.default(["authorization"]),
  inboxQueueUrl: z.url(),
  maxBodyBytes: maxBodyBytesSchema,
  endpoints: endpointsSchema,
});
export type IngestConfig = z.infer<typeof ingestConfigSchema>;

/** The apply function: hydrate, map and store facts; dead-letter what can never apply. */
export const applyConfigSchema = z.object({
  tableName: tableNameSchema,
  enabledFormats: enabledFormatsSchema,
  inboxDlqUrl: z.url(),
  retentionDays: retentionDaysSchema,
  hydration: hydrationSchema,
  endpoints: endpointsSchema,
});
export type ApplyConfig = z.infer<typeof applyConfigSchema>;

/** The finalize function: decide due episodes and send their claim lines. */
export const finalizeConfigSchema = z.object({
  tableName: tableNameSchema,
  claimsQueueUrl: z.url(),
  retentionDays: retentionDaysSchema,
  adjustmentHorizonDays: adjustmentHorizonDaysSchema,
  /** The finalizer's longest run, in ms; it also stops 30 s before its Lambda timeout. */
  finalizeBudgetMs: z.number().int().min(1000).default(240_000),
  endpoints: endpointsSchema,
});
export type FinalizeConfig = z.infer<typeof finalizeConfigSchema>;

/** The review function (issue 15): the biller's worklist, resolutions (attestation facts) and audit packets. */
export const reviewConfigSchema = z.object({
  tableName: tableNameSchema,
  retentionDays: retentionDaysSchema,
  endpoints: endpointsSchema,
});
export type ReviewConfig = z.infer<typeof reviewConfigSchema>;

/**
 * The deploy-time function storing the deployment's initial tenant configuration (functions/initial-config): the
 * table and the configuration come with each CloudFormation request, so a replaced table gets its version too.
 */
export const initialConfigSchema = z.object({
  endpoints: endpointsSchema,
});
export type InitialConfigConfig = z.infer<typeof initialConfigSchema>;

/** Every function's settings together: the local stack (bin/local/pipeline.ts) runs the three in one process. */
export const runtimeConfigSchema = z.object({
  ...ingestConfigSchema.shape,
  ...applyConfigSchema.shape,
  ...finalizeConfigSchema.shape,
});
export type RuntimeConfig = z.infer<typeof runtimeConfigSchema>;

/** How a setting is written in its variable: as is, a comma-separated list, a decimal number, or JSON. */
type Encoding = "text" | "list" | "number" | "json";
const encodings: Record<Setting, Encoding> = {
  tableName: "text",
  inboxQueueUrl: "text",
  inboxDlqUrl: "text",
  claimsQueueUrl: "text",
  enabledFormats: "list",
  secretPrefix: "text",
  localSecrets: "json",
  fhirSecretHeaders: "list",
  retentionDays: "number",
  adjustmentHorizonDays: "number",
  finalizeBudgetMs: "number",
  maxBodyBytes: "number",
  hydration: "json",
  dynamodbEndpoint: "text",
  sqsEndpoint: "text",
};
const LIST_SEPARATOR = ",";

/** A function's settings, as a CDK construct gives them (values as the schemas take them, before defaults). */
export type FunctionSettings = Partial<
  Omit<z.input<typeof runtimeConfigSchema>, "endpoints"> & { dynamodbEndpoint: string; sqsEndpoint: string }
>;

/** The environment variables carrying `settings`, written as `configFromEnv` reads them back. */
export function environmentOf(settings: FunctionSettings): Record<string, string> {
  const environment: Record<string, string> = {};
  for (const [setting, value] of Object.entries(settings) as Array<[Setting, unknown]>) {
    if (value === undefined) continue;
    const encoding = encodings[setting];
    environment[settingVariables[setting]] =
      encoding === "list"
        ? (value as readonly string[]).join(LIST_SEPARATOR)
        : encoding === "json"
          ? JSON.stringify(value)
          : String(value);
  }
  return environment;
}

/** The runtime configuration is missing or invalid; the message names each failing environment variable. */
export class RuntimeConfigError extends Error {
  override readonly name = "RuntimeConfigError";
  readonly retryable = false;
  constructor(readonly problems: string[]) {
    super(`runtime configuration: ${problems.join("; ")}`);
  }
}

/** Reads one function's configuration from the environment, failing at cold start naming the variables. */
export function configFromEnv<Schema extends z.ZodObject>(
  schema: Schema,
  env: NodeJS.ProcessEnv = process.env,
): z.output<Schema> {
  refuseLocalOnlySettings(env);
  const input: Record<string, unknown> = {};
  for (const field of Object.keys(schema.shape)) {
    input[field] =
      field === "endpoints"
        ? { dynamodb: read(env, "dynamodbEndpoint"), sqs: read(env, "sqsEndpoint") }
        : read(env, field as Setting);
  }
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  throw new RuntimeConfigError(result.error.issues.map((issue) => problemOf(issue, input)));
}

/**
 * Settings only the local stack sets: development secrets in the environment instead of Secrets Manager, and
 * endpoints of local stand-ins for AWS services. A deployed function (the Lambda runtime sets
 * `AWS_EXECUTION_ENV`) refuses to start with any of them, whatever put them there.
 */
const localOnlySettings = ["localSecrets", "dynamodbEndpoint", "sqsEndpoint"] as const satisfies Setting[];

function refuseLocalOnlySettings(env: NodeJS.ProcessEnv): void {
  if (!env.AWS_EXECUTION_ENV?.startsWith("AWS_Lambda_")) return;
  const present = localOnlySettings.filter((setting) => env[settingVariables[setting]] !== undefined);
  if (present.length === 0) return;
  throw new RuntimeConfigError(
    present.map(
      (setting) => `${settingVariables[setting]} is for the local stack only; a deployed function refuses it`,
    ),
  );
}

function read(env: NodeJS.ProcessEnv, setting: Setting): unknown {
  const raw = env[settingVariables[setting]];
  if (raw === undefined) return undefined;
  switch (encodings[setting]) {
    case "list":
      return raw.split(LIST_SEPARATOR).map((item) => item.trim());
    case "number":
      return Number(raw);
    case "json":
      try {
        return JSON.parse(raw);
      } catch {
        throw new RuntimeConfigError([`${settingVariables[setting]} is not JSON`]);
      }
    case "text":
      return raw;
  }
}

/** An issue as the variable it concerns, the path inside that variable's value, and what is wrong. */
function problemOf(issue: z.core.$ZodIssue, input: Record<string, unknown>): string {
  const [field, ...within] = issue.path.map(String);
  const setting = (field === "endpoints" ? `${within.shift()}Endpoint` : field) as Setting;
  const variable = settingVariables[setting] ?? field;
  if (within.length === 0 && field !== "endpoints" && input[field as string] === undefined) {
    return `${variable} is required by this function and not set`;
  }
  return `${variable}${within.length > 0 ? ` (${within.join(".")})` : ""}: ${issue.message}`;
}
