import { processPartialResponse, SqsFifoPartialProcessorAsync } from "@aws-lambda-powertools/batch";
import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context, SQSEvent, SQSRecord } from "aws-lambda";
import { NEVER_LOG_EVENTS, observability } from "../observability.js";
import type { DeadLetterSink } from "../queue/dead-letter.js";
import { inboxMessageSchema } from "../queue/inbox-message.js";
import { isCredentialFailure, UnmappableDeliveryError } from "../vendors/errors.js";
import { type ApplyDependencies, applyDelivery } from "./apply-delivery.js";

export interface ApplyHandlerDependencies extends ApplyDependencies {
  deadLetters: DeadLetterSink;
}

/**
 * The apply Lambda: a FIFO batch with partial failures. A retryable failure fails its record (and, to keep
 * per-patient order, the rest of its message group) so SQS redelivers it; a message someone must act on (it can
 * never apply) goes to the DLQ with its reason and the batch goes on; a message with nothing billable in it is
 * counted by reason (`DeliveriesIgnored`) and logged, never dead-lettered (VENDORS.md "Answers").
 */
export function createApplyHandler(deps: ApplyHandlerDependencies) {
  const { logger, metrics, tracer } = observability("apply");
  const processor = new SqsFifoPartialProcessorAsync();

  const deadLetter = async (record: SQSRecord, reason: string, format: string) => {
    await deps.deadLetters.send(record, reason);
    const metric = metrics.singleMetric();
    metric.addDimension("format", format);
    metric.addMetric("DeliveriesDeadLettered", MetricUnit.Count, 1);
    logger.error("delivery sent to the DLQ", { messageId: record.messageId, format, reason });
  };

  const applyRecord = async (record: SQSRecord) => {
    let body: unknown;
    try {
      body = JSON.parse(record.body);
    } catch {
      return deadLetter(record, "inbox message is not JSON", "unknown");
    }
    const parsed = inboxMessageSchema.safeParse(body);
    if (!parsed.success) return deadLetter(record, "inbox message does not match its schema", "unknown");
    const message = parsed.data;
    try {
      const report = await applyDelivery(message, deps);
      metrics.addMetric("FactsApplied", MetricUnit.Count, report.applied);
      metrics.addMetric("FactsUnchanged", MetricUnit.Count, report.unchanged);
      metrics.addMetric("FactsRetracted", MetricUnit.Count, report.retracted);
      metrics.addMetric("RetractionsOfUnknownFacts", MetricUnit.Count, report.unknownRetractions);
      if (report.subscription?.order === "gap") {
        metrics.addMetric("SubscriptionEventGaps", MetricUnit.Count, 1);
        logger.warn("subscription event-number gap", {
          format: message.format,
          previousEventNumber: report.subscription.previousEventNumber,
          eventNumber: message.eventNumber,
        });
      }
      if (report.ignored !== undefined) {
        // Nothing billable, and nothing anyone must act on: counted by reason, never dead-lettered.
        const metric = metrics.singleMetric();
        metric.addDimensions({ format: message.format, reason: report.ignored });
        metric.addMetric("DeliveriesIgnored", MetricUnit.Count, 1);
        logger.info("delivery recorded with nothing billable", {
          messageId: record.messageId,
          format: message.format,
          kind: message.kind,
          reason: report.ignored,
          ignoredParts: report.ignoredParts,
        });
        return;
      }
      logger.info("delivery applied", { messageId: record.messageId, ...report, subscription: undefined });
    } catch (error) {
      if (error instanceof UnmappableDeliveryError) return deadLetter(record, error.reason, message.format);
      // One metric for every vendor (the alarm's): the log line beside it says which format.
      if (isCredentialFailure(error)) metrics.addMetric("VendorCredentialFailures", MetricUnit.Count, 1);
      logger.warn("delivery will be retried", {
        messageId: record.messageId,
        format: message.format,
        error: error instanceof Error ? error.name : "unknown",
        credentialFailure: isCredentialFailure(error),
      });
      throw error;
    }
  };

  return middy(async (event: SQSEvent, context: Context) =>
    processPartialResponse(event, applyRecord, processor, { context, skipGroupOnError: true }),
  )
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, NEVER_LOG_EVENTS))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
