import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import { NEVER_LOG_EVENTS, observability } from "../observability.js";
import { handleReviewRequest, problem } from "./review-api.js";
import type { ReviewService } from "./review-service.js";

/**
 * The review Lambda (issue 15) behind API Gateway, whose IAM authorization (SigV4) has already decided who may
 * call: the caller's identity is logged as its ARN (no PHI), the request is answered by `handleReviewRequest`.
 * Nothing of a body, a path or an answer is logged: they carry patient ids and diagnoses.
 */
export function createReviewHandler(service: ReviewService) {
  const { logger, metrics, tracer } = observability("review");
  return middy(async (event: APIGatewayProxyEvent): Promise<APIGatewayProxyResult> => {
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(event.headers ?? {}))
      if (value !== undefined) headers[name.toLowerCase()] = value;
    const query = new URLSearchParams();
    for (const [name, values] of Object.entries(event.multiValueQueryStringParameters ?? {}))
      for (const value of values ?? []) query.append(name, value);
    const body =
      event.body === null || event.body === undefined
        ? undefined
        : event.isBase64Encoded
          ? Buffer.from(event.body, "base64").toString("utf8")
          : event.body;
    // The route as API Gateway matched it (`/review/items/{id}/resolutions`): a dimension never takes caller input.
    const route = `${event.httpMethod} ${event.resource}`;
    try {
      const answer = await handleReviewRequest(
        { method: event.httpMethod, path: event.path, query, headers, body },
        service,
      );
      metrics.addDimensions({ status: String(answer.statusCode) });
      metrics.addMetric("ReviewRequests", MetricUnit.Count, 1);
      logger.info("review request", {
        route,
        status: answer.statusCode,
        caller: event.requestContext?.identity?.userArn ?? "unknown",
      });
      return answer;
    } catch (error) {
      // A store failure: the caller retries; the item is unchanged or the attestation is safely applied once.
      logger.error("review request failed", { route, error: (error as Error).name });
      metrics.addDimensions({ status: "500" });
      metrics.addMetric("ReviewRequests", MetricUnit.Count, 1);
      return problem(500, "internal", "The request could not be completed; retry");
    }
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, NEVER_LOG_EVENTS))
    .use(logMetrics(metrics));
}
