import { Logger } from "@aws-lambda-powertools/logger";
import { Metrics } from "@aws-lambda-powertools/metrics";
import { Tracer } from "@aws-lambda-powertools/tracer";

/** The CloudWatch namespace of every portaltime metric (the dashboard and alarms read it). */
export const METRICS_NAMESPACE = "portaltime";

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
