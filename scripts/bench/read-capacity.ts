import type { ConsumedCapacity, DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { InitializeMiddleware, MiddlewareStack } from "@smithy/types";

/** What one kind of read request consumed: requests, read capacity units and items returned. */
export interface ReadTally {
  requests: number;
  /** Read capacity units, the table's and every index's. */
  units: number;
  items: number;
}

/** The read operations whose consumed capacity DynamoDB reports per table and index. */
const READS = new Set(["Query", "Scan", "GetItem", "BatchGetItem"]);

type ReadOutput = {
  ConsumedCapacity?: ConsumedCapacity | ConsumedCapacity[];
  Count?: number;
  Item?: unknown;
  Responses?: Record<string, unknown[]>;
};

/**
 * Sums the read capacity DynamoDB reports for every read a client sends, through the client's middleware stack
 * (like bin/local/request-counter.ts): it asks each read for `ReturnConsumedCapacity: "INDEXES"` and adds up
 * the table's and each index's units, so the code under measurement stays as deployed. Reads are tallied by
 * operation and by where they read: `Query reach`, `Query due`, `Query table`, `GetItem table`.
 */
export class ReadCapacityMeter {
  private readonly tallies = new Map<string, ReadTally>();

  attach(client: DynamoDBClient): this {
    const metering: InitializeMiddleware<object, object> = (next, context) => async (args) => {
      const operation = String(context.commandName ?? "unknown").replace(/Command$/, "");
      if (!READS.has(operation)) return next(args);
      const input = args.input as { IndexName?: string };
      const result = await next({ ...args, input: { ...input, ReturnConsumedCapacity: "INDEXES" } });
      const output = result.output as ReadOutput;
      const tally = this.tallyOf(`${operation} ${input.IndexName ?? "table"}`);
      tally.requests += 1;
      tally.units += unitsOf(output.ConsumedCapacity);
      tally.items +=
        output.Count ??
        (output.Responses === undefined
          ? Number(output.Item !== undefined)
          : Object.values(output.Responses).reduce((sum, items) => sum + items.length, 0));
      return result;
    };
    (client.middlewareStack as MiddlewareStack<object, object>).add(metering, {
      step: "initialize",
      name: "portaltimeReadCapacityMeter",
      override: true,
    });
    return this;
  }

  /** Reads since the last reset, by `Operation where`. */
  snapshot(): Record<string, ReadTally> {
    return Object.fromEntries(
      [...this.tallies].sort(([a], [b]) => (a < b ? -1 : 1)).map(([key, tally]) => [key, { ...tally }]),
    );
  }

  /** Read capacity units of every read since the last reset. */
  units(): number {
    let sum = 0;
    for (const tally of this.tallies.values()) sum += tally.units;
    return sum;
  }

  reset(): void {
    this.tallies.clear();
  }

  private tallyOf(key: string): ReadTally {
    const tally = this.tallies.get(key) ?? { requests: 0, units: 0, items: 0 };
    this.tallies.set(key, tally);
    return tally;
  }
}

/** The table's units plus every index's; the total when the response breaks nothing down. */
function unitsOf(consumed: ConsumedCapacity | ConsumedCapacity[] | undefined): number {
  if (consumed === undefined) return 0;
  if (Array.isArray(consumed)) return consumed.reduce((sum, each) => sum + unitsOf(each), 0);
  const indexes = [
    ...Object.values(consumed.LocalSecondaryIndexes ?? {}),
    ...Object.values(consumed.GlobalSecondaryIndexes ?? {}),
  ];
  if (consumed.Table === undefined && indexes.length === 0) return consumed.CapacityUnits ?? 0;
  return [consumed.Table, ...indexes].reduce((sum, part) => sum + (part?.CapacityUnits ?? 0), 0);
}
