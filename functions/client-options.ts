import type { RuntimeConfig } from "./runtime-config.js";

/** Credentials for the local servers only: they accept any, and no real credential may be needed locally. */
const localCredentials = { accessKeyId: "local", secretAccessKey: "local" };

export interface ClientOptions {
  /** Attempts per request, first included (SDK default 3). */
  maxAttempts?: number;
  requestTimeoutMs?: number;
}

/** SDK client settings: the local endpoint when the local stack set one, and the caller's retry and timeout. */
export function clientSettings(endpoint: string | undefined, options: ClientOptions) {
  return {
    ...(endpoint ? { endpoint, region: "us-east-1", credentials: localCredentials } : {}),
    maxAttempts: options.maxAttempts,
    requestHandler: options.requestTimeoutMs ? { requestTimeout: options.requestTimeoutMs } : undefined,
  };
}

export type EndpointConfig = Pick<RuntimeConfig, "endpoints">;
