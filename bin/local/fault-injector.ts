import { createHash } from "node:crypto";
import {
  type DynamoDBClient,
  InternalServerError,
  ProvisionedThroughputExceededException,
  ThrottlingException,
} from "@aws-sdk/client-dynamodb";
import { RequestThrottled, type SQSClient, SQSServiceException } from "@aws-sdk/client-sqs";
import type { FinalizeRequestMiddleware, MiddlewareStack } from "@smithy/types";

export type FaultService = "DynamoDB" | "SQS";

/**
 * The failures injected, as the AWS SDK itself reports them. Each is one the SDK's standard retry strategy
 * retries (@smithy service-error-classification): throttling by error name, timeouts by the `TimeoutError` name
 * the HTTP handler gives them, server errors by their 5xx status.
 */
export const faultKinds = {
  DynamoDB: ["provisioned-throughput-exceeded", "throttling", "timeout", "internal-server-error"],
  SQS: ["service-unavailable", "internal-error", "request-throttled", "timeout"],
} as const satisfies Record<FaultService, readonly string[]>;
export type FaultKind = (typeof faultKinds)[FaultService][number];

export interface FaultInjectorOptions {
  /** Fraction of attempts that fail, 0 to 1. */
  rate: number;
  /** The same seed fails the same attempts of the same requests, in any interleaving. */
  seed: number;
  /** The kinds injected (default: every kind of the client's service). */
  kinds?: readonly FaultKind[];
  /** The calls that may fail, as `Service.Operation` (e.g. `SQS.SendMessageBatch`); default: every call. */
  operations?: readonly string[];
  /**
   * At most this many failed attempts per call (default: no limit, so a call can exhaust the client's attempts and
   * the failure reaches the handler, as it would in production).
   */
  maxFaultsPerCall?: number;
}

const MIDDLEWARE_NAME = "portaltimeFaultInjector";

/**
 * Injects realistic AWS SDK failures through a client's middleware stack, before the request is sent, into a
 * configurable fraction of attempts. It sits in the `finalizeRequest` step at low priority, inside the SDK's retry
 * middleware (same step, high priority), so every attempt passes through it and the SDK's own retry strategy sees
 * and retries each failure exactly as it would a real one: the tests prove the handlers' behaviour under faults,
 * not a mock's.
 *
 * Decisions are a seeded hash of the request (operation, body without resource names, attempt number, and how many
 * identical requests came before), not a shared random stream, so the same seed fails the same attempts whatever
 * the interleaving of concurrent calls and whatever the test's resources are named.
 */
export class FaultInjector {
  /** Off while the test reads results, on while the handlers work. */
  enabled = true;
  private readonly attempts = new Map<string, number>();
  private readonly faults = new Map<string, number>();
  private readonly seen = new Map<string, number>();

  constructor(private readonly options: FaultInjectorOptions) {
    if (!(options.rate >= 0 && options.rate <= 1)) throw new RangeError("rate must be within 0..1");
  }

  attach(client: DynamoDBClient | SQSClient, service: FaultService): this {
    const injecting: FinalizeRequestMiddleware<object, object> = (next, context) => async (args) => {
      const operation = String(context.commandName ?? "unknown").replace(/Command$/, "");
      const key = `${service}.${operation}`;
      this.attempts.set(key, (this.attempts.get(key) ?? 0) + 1);
      if (this.enabled) {
        const kind = this.decide(service, operation, args.request);
        if (kind !== undefined) {
          const error = faultError(kind, operation);
          this.faults.set(`${key}.${error.name}`, (this.faults.get(`${key}.${error.name}`) ?? 0) + 1);
          throw error;
        }
      }
      return next(args);
    };
    // Both clients share the stack type; the union of their generic signatures is what TypeScript cannot call.
    (client.middlewareStack as MiddlewareStack<object, object>).add(injecting, {
      step: "finalizeRequest",
      priority: "low",
      name: MIDDLEWARE_NAME,
      override: true,
    });
    return this;
  }

  /** Attempts that reached the injector (every SDK attempt, retries included), by `Service.Operation`. */
  attemptCounts(): Record<string, number> {
    return sorted(this.attempts);
  }

  /** Faults injected, by `Service.Operation.ErrorName`. */
  faultCounts(): Record<string, number> {
    return sorted(this.faults);
  }

  totalFaults(service?: FaultService): number {
    let sum = 0;
    for (const [key, count] of this.faults)
      if (service === undefined || key.startsWith(`${service}.`)) sum += count;
    return sum;
  }

  totalAttempts(service?: FaultService): number {
    let sum = 0;
    for (const [key, count] of this.attempts)
      if (service === undefined || key.startsWith(`${service}.`)) sum += count;
    return sum;
  }

  private decide(service: FaultService, operation: string, request: unknown): FaultKind | undefined {
    const { rate, seed, maxFaultsPerCall = Number.POSITIVE_INFINITY, operations } = this.options;
    const attempt = attemptOf(request);
    if (attempt > maxFaultsPerCall) return undefined;
    if (operations !== undefined && !operations.includes(`${service}.${operation}`)) return undefined;
    const body = bodyOf(request);
    const identity = `${service}.${operation}\n${attempt}\n${createHash("sha256").update(body).digest("hex")}`;
    const occurrence = this.seen.get(identity) ?? 0;
    this.seen.set(identity, occurrence + 1);
    const draw = createHash("sha256").update(`${seed}\n${identity}\n${occurrence}`).digest();
    if (draw.readUInt32BE(0) / 0x1_0000_0000 >= rate) return undefined;
    const kinds = (this.options.kinds ?? faultKinds[service]).filter((kind) =>
      (faultKinds[service] as readonly FaultKind[]).includes(kind),
    );
    return kinds[draw.readUInt32BE(4) % kinds.length];
  }
}

/** The SDK's retry middleware numbers attempts in the `amz-sdk-request` header: `attempt=2; max=3`. */
function attemptOf(request: unknown): number {
  const header = (request as { headers?: Record<string, string> }).headers?.["amz-sdk-request"];
  return Number(/attempt=(\d+)/.exec(header ?? "")?.[1] ?? 1);
}

/** The request body without the names of tables and queues, which differ between test runs. */
function bodyOf(request: unknown): string {
  const body = (request as { body?: unknown }).body;
  return typeof body === "string" ? body.replace(/"(TableName|QueueUrl)":"[^"]*"/g, '"$1":""') : "";
}

let requestIds = 0;
const metadata = (httpStatusCode: number) => ({ httpStatusCode, requestId: `injected-${++requestIds}` });

/** An error shaped as the SDK raises it for that failure: class, name, `$fault`, `$metadata`. */
export function faultError(kind: FaultKind, operation: string): Error {
  switch (kind) {
    case "provisioned-throughput-exceeded":
      return new ProvisionedThroughputExceededException({
        message: "The level of configured provisioned throughput for the table was exceeded.",
        $metadata: metadata(400),
      });
    case "throttling":
      return new ThrottlingException({
        message: "Throughput exceeds the current capacity for one or more global secondary indexes.",
        $metadata: metadata(400),
      });
    case "internal-server-error":
      return new InternalServerError({ message: "Internal server error", $metadata: metadata(500) });
    case "request-throttled":
      return new RequestThrottled({ message: "Request is throttled.", $metadata: metadata(400) });
    case "service-unavailable":
      return new SQSServiceException({
        name: "ServiceUnavailable",
        $fault: "server",
        message: "Service is unable to handle request.",
        $metadata: metadata(503),
      });
    case "internal-error":
      return new SQSServiceException({
        name: "InternalError",
        $fault: "server",
        message: "We encountered an internal error. Please try again.",
        $metadata: metadata(500),
      });
    case "timeout":
      // What @smithy/node-http-handler throws when `requestTimeout` passes: a plain Error named TimeoutError.
      return Object.assign(new Error(`${operation}: request did not complete within 800 ms`), {
        name: "TimeoutError",
      });
  }
}

function sorted(counts: Map<string, number>): Record<string, number> {
  return Object.fromEntries([...counts].sort(([a], [b]) => (a < b ? -1 : 1)));
}
