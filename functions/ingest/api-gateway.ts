import type { APIGatewayProxyEvent, APIGatewayProxyResult } from "aws-lambda";
import type { InboundRequest } from "../vendors/format.js";
import type { IngestAnswer } from "./ingest-delivery.js";

/**
 * API Gateway (REST, proxy integration) to the raw request the formats verify: body bytes exactly as sent
 * (base64-decoded when API Gateway says so), lower-case header names, and the public path the vendor called.
 */
export function inboundRequestOf(event: APIGatewayProxyEvent): InboundRequest {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(event.headers ?? {})) {
    if (value !== undefined) headers[name.toLowerCase()] = value;
  }
  const body = event.body ?? "";
  return {
    method: event.httpMethod,
    // requestContext.path is what the caller used (stage or custom-domain base path included).
    path: event.requestContext?.path ?? event.path,
    rawQuery: rawQueryOf(event.multiValueQueryStringParameters),
    headers,
    body: event.isBase64Encoded ? Buffer.from(body, "base64") : Buffer.from(body, "utf8"),
  };
}

/** REST APIs pass the query decoded; re-encode it in arrival order for schemes that sign the query string. */
function rawQueryOf(parameters: APIGatewayProxyEvent["multiValueQueryStringParameters"]): string {
  if (!parameters) return "";
  return Object.entries(parameters)
    .flatMap(([name, values]) =>
      (values ?? []).map((value) => `${encodeURIComponent(name)}=${encodeURIComponent(value)}`),
    )
    .join("&");
}

export const proxyResultOf = (answer: IngestAnswer): APIGatewayProxyResult => ({
  statusCode: answer.status,
  headers: answer.headers,
  body: answer.body,
});
