import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";

/** The CloudWatch namespace of every portaltime metric (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = "portaltime";

/**
 * The option every handler passes to Powertools' `injectLambdaContext`: events are never logged, whatever
 * `POWERTOOLS_LOGGER_LOG_EVENT` says (an event is a vendor's delivery or its facts: PHI).
 */
export const NEVER_LOG_EVENTS = { logEvent: false } as const;

/**
 * Powertools instances for one function. Logs carry ids, counts and reasons only: payloads, names and message
 * texts are never logged (ARCHITECTURE.md invariant 8), so nothing here logs events or responses.
 */
export function observability(serviceName: string) {
  return {
    logger: new Logger({ serviceName }),
    metrics: new Metrics({ namespace: METRICS_NAMESPACE, serviceName }),
    tracer: new Tracer({ serviceName, captureHTTPsRequests: false }),
  };
}
