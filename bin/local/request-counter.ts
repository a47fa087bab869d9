import type { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { SQSClient } from "@aws-sdk/client-sqs";
import type { InitializeMiddleware, MiddlewareStack } from "@smithy/types";

/**
 * Counts AWS SDK calls per service and operation through the client's middleware stack: what the tests and the
 * benchmark report as "requests per delivery" is measured on the real clients, not estimated.
 */
export class RequestCounter {
  private readonly counts = new Map<string, number>();

  attach(client: DynamoDBClient | SQSClient, service: "DynamoDB" | "SQS"): this {
    const counting: InitializeMiddleware<object, object> = (next, context) => async (args) => {
      const operation = String(context.commandName ?? "unknown").replace(/Command$/, "");
      const key = `${service}.${operation}`;
      this.counts.set(key, (this.counts.get(key) ?? 0) + 1);
      return next(args);
    };
    // Both clients share the stack type; the union of their generic signatures is what TypeScript cannot call.
    (client.middlewareStack as MiddlewareStack<object, object>).add(counting, {
      step: "initialize",
      name: "portaltimeRequestCounter",
      override: true,
    });
    return this;
  }

  /** Calls since the last reset, by `Service.Operation`. */
  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts].sort(([a], [b]) => (a < b ? -1 : 1)));
  }

  total(service: "DynamoDB" | "SQS"): number {
    let sum = 0;
    for (const [key, count] of this.counts) if (key.startsWith(`${service}.`)) sum += count;
    return sum;
  }

  reset(): void {
    this.counts.clear();
  }
}
