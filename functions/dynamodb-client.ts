import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { type ClientOptions, clientSettings, type EndpointConfig } from "./client-options.js";

/** The DynamoDB document client of the apply and finalize functions (ingest never loads DynamoDB). */
export function dynamoDocumentClient(config: EndpointConfig, options: ClientOptions = {}) {
  const client = new DynamoDBClient(clientSettings(config.endpoints.dynamodb, options));
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}
