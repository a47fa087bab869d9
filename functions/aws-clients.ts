import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { SQSClient } from "@aws-sdk/client-sqs";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { RuntimeConfig } from "./runtime-config.js";

/** Credentials for the local servers only: they accept any, and no real credential may be needed locally. */
const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };

export interface ClientOptions {
  /** Attempts per request, first included (SDK default 3). */
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

export function dynamoDocumentClient(config: Pick<RuntimeConfig, "endpoints">, options: ClientOptions = {}) {
  const local = config.endpoints.dynamodb;
  const client = new DynamoDBClient({
    ...(local ? { endpoint: local, region: "us-east-1", credentials: localCredentials } : {}),
    maxAttempts: options.maxAttempts,
    requestHandler: options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : undefined,
  });
  return DynamoDBDocumentClient.from(client, { marshallOptions: { removeUndefinedValues: true } });
}

export function sqsClient(config: Pick<RuntimeConfig, "endpoints">, options: ClientOptions = {}) {
  const local = config.endpoints.sqs;
  return new SQSClient({
    ...(local ? { endpoint: local, region: "us-east-1", credentials: localCredentials } : {}),
    maxAttempts: options.maxAttempts,
    requestHandler: options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : undefined,
  });
}
