import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import type { SQSClient } from "@aws-sdk/client-sqs";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { NEVER_LOG_EVENTS, observability } from "../observability.js";
import { SqsInboxSender } from "../queue/inbox-sender.js";
import type { IngestConfig } from "../runtime-config.js";
import { sqsClient } from "../sqs-client.js";
import { enabledFormats } from "../vendors/registry.js";
import { inboundRequestOf, proxyResultOf } from "./api-gateway.js";
import { type IngestDependencies, type IngestResult, ingestDelivery } from "./ingest-delivery.js";
import { secretsManagerSource, staticSecretSource } from "./secrets.js";

/** Vendors give 2-4 s to answer: one quick retry of the queue send, then 503 so the vendor retries instead. */
const SEND_OPTIONS = { maxAttempts: 2, requestTimeoutMs: 800 };

export function ingestDependencies(
  config: IngestConfig,
  sqs: SQSClient = sqsClient(config, SEND_OPTIONS),
): IngestDependencies {
  return {
    formats: enabledFormats(config.enabledFormats, { fhir: { secretHeaders: config.fhirSecretHeaders } }),
    secrets: config.localSecrets
      ? staticSecretSource(config.localSecrets)
      : secretsManagerSource(config.secretPrefix),
    inbox: new SqsInboxSender(sqs, config.inboxQueueUrl),
    now: () => new Date(),
    maxBodyBytes: config.maxBodyBytes,
  };
}

/** The ingest Lambda: a thin middy chain around `ingestDelivery` (API Gateway event in, answer out). */
export function createIngestHandler(
  config: IngestConfig,
  deps: IngestDependencies = ingestDependencies(config),
) {
  const { logger, metrics, tracer } = observability("ingest");
  const knownFormats = new Set(deps.formats.keys());

  // One delivery per invocation: its dimensions go on the invocation's metrics, flushed (and cleared) at the end.
  const record = (outcome: IngestResult) => {
    // Unknown path segments are folded into one value: a dimension must not take arbitrary caller input.
    const format = knownFormats.has(outcome.format) ? outcome.format : "unknown";
    if (outcome.result === "accepted") {
      metrics.addDimensions({ format, kind: outcome.kind });
      metrics.addMetric("DeliveriesAccepted", MetricUnit.Count, 1);
      logger.info("delivery accepted", { format, kind: outcome.kind });
    } else {
      metrics.addDimensions({ format, reason: outcome.reason });
      metrics.addMetric("DeliveriesRejected", MetricUnit.Count, 1);
      logger.warn("delivery rejected", { format, reason: outcome.reason });
    }
  };

  return middy(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const answer = await ingestDelivery(event.pathParameters?.format ?? "", inboundRequestOf(event), deps);
    record(answer.outcome);
    return proxyResultOf(answer);
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, NEVER_LOG_EVENTS))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
