/**
 * The environment variables of the functions, declared once: the CDK constructs set them (lib/) and the runtime
 * configuration reads them (functions/runtime-config.ts), so neither side can rename one alone. Keyed by the
 * runtime configuration field each one carries.
 */
export const settingVariables = {
  tableName: "TABLE_NAME",
  inboxQueueUrl: "INBOX_QUEUE_URL",
  inboxDlqUrl: "INBOX_DLQ_URL",
  claimsQueueUrl: "CLAIMS_QUEUE_URL",
  enabledFormats: "ENABLED_FORMATS",
  secretPrefix: "SECRET_PREFIX",
  localSecrets: "LOCAL_SECRETS",
  fhirSecretHeaders: "FHIR_SECRET_HEADERS",
  retentionDays: "RETENTION_DAYS",
  adjustmentHorizonDays: "ADJUSTMENT_HORIZON_DAYS",
  finalizeBudgetMs: "FINALIZE_BUDGET_MS",
  maxBodyBytes: "MAX_BODY_BYTES",
  hydration: "HYDRATION",
  dynamodbEndpoint: "DYNAMODB_ENDPOINT",
  sqsEndpoint: "SQS_ENDPOINT",
} as const;
export type Setting = keyof typeof settingVariables;

/** Variables read by the runtime and Powertools themselves, which the stack sets on every function. */
export const platformVariables = {
  metricsNamespace: "POWERTOOLS_METRICS_NAMESPACE",
  logLevel: "POWERTOOLS_LOG_LEVEL",
  tracerCaptureResponse: "POWERTOOLS_TRACER_CAPTURE_RESPONSE",
  nodeOptions: "NODE_OPTIONS",
} as const;
