import { SQSClient } from "@aws-sdk/client-sqs";
import { type ClientOptions, clientSettings, type EndpointConfig } from "./client-options.js";

export function sqsClient(config: EndpointConfig, options: ClientOptions = {}) {
  return new SQSClient(clientSettings(config.endpoints.sqs, options));
}
