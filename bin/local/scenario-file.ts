import { createReadStream } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import chain from "stream-chain";
import { parser } from "stream-json";
import ignore from "stream-json/filters/ignore.js";
import pick from "stream-json/filters/pick.js";
import streamArray from "stream-json/streamers/stream-array.js";
import streamValues from "stream-json/streamers/stream-values.js";
import * as z from "zod";
import { instant } from "../../functions/domain/facts.js";
import { formatNames } from "../../functions/vendors/format.js";

/**
 * Replay scenario files: `{ "config": {...}, "configs"?: [ { "at", "config" } ], "deliveries": [ { "at",
 * "format", "headers"?, "body" } ], "finalizeAt": "<instant>" | ["<instant>", ...] }`. The deliveries are
 * streamed, validated one by one and put in time order by an external merge sort, so a backfill of any size runs
 * in bounded memory. `configs` are tenant configuration versions pushed at their instants, as an operator's
 * `npm run config -- push` would (each one's fields over the scenario's `config`; see README "Replay").
 */

export const replayDeliverySchema = z.object({
  at: instant,
  format: z.enum(formatNames),
  headers: z.record(z.string(), z.string()).optional(),
  body: z.unknown().refine((body) => body !== undefined, "required"),
});
export type ReplayDelivery = z.infer<typeof replayDeliverySchema>;

const headerSchema = z.object({
  config: z.record(z.string(), z.unknown()).default({}),
  configs: z.array(z.object({ at: instant, config: z.record(z.string(), z.unknown()) })).default([]),
  finalizeAt: z.union([instant, z.array(instant).min(1)]).transform((at) => (Array.isArray(at) ? at : [at])),
});

/** The scenario file is not usable: `path` names the failing field, e.g. `deliveries.3.at`. */
export class ScenarioFileError extends Error {
  constructor(
    readonly path: string,
    readonly reason: string,
  ) {
    super(`${path}: ${reason}`);
    this.name = "ScenarioFileError";
  }
}

export type ReplayStep =
  | { kind: "config"; at: number; index: number; config: Record<string, unknown> }
  | { kind: "delivery"; at: number; index: number; delivery: ReplayDelivery }
  | { kind: "finalize"; at: number };

export interface ScenarioFile {
  config: Record<string, unknown>;
  /** Configuration versions to push, in file order (each one's fields over `config`). */
  configs: Array<{ at: string; config: Record<string, unknown> }>;
  finalizeAt: string[];
  /**
   * Configuration pushes, deliveries and finalizer runs in time order, stable for equal times; at one instant a
   * push comes first (what arrives then is applied under it) and finalizer runs last.
   */
  steps(): AsyncGenerator<ReplayStep>;
}

/** Opens a scenario file: reads its small header fields, validates every delivery, prepares the sorted runs. */
export async function openScenarioFile(
  path: string,
  options: { chunkSize?: number } = {},
): Promise<ScenarioFile> {
  const header = await readHeader(path);
  const sorted = await sortDeliveries(path, options.chunkSize ?? 10_000);
  const { finalizeAt, configs } = header;
  return {
    config: header.config,
    configs,
    finalizeAt,
    async *steps() {
      const finalizations = finalizeAt.map(Date.parse).sort((a, b) => a - b);
      const pushes = configs
        .map((entry, index) => ({
          kind: "config" as const,
          at: Date.parse(entry.at),
          index,
          config: entry.config,
        }))
        .sort((a, b) => a.at - b.at || a.index - b.index);
      // Everything due strictly before `at` (pushes also at `at`), in order: pushes before finalizer runs at a tie.
      function* before(at: number, inclusivePushes: boolean): Generator<ReplayStep> {
        for (;;) {
          const push = pushes[0];
          const run = finalizations[0];
          const pushDue = push !== undefined && (push.at < at || (inclusivePushes && push.at === at));
          const runDue = run !== undefined && run < at;
          if (pushDue && (!runDue || (push as { at: number }).at <= (run as number)))
            yield pushes.shift() as ReplayStep;
          else if (runDue) yield { kind: "finalize", at: finalizations.shift() as number };
          else return;
        }
      }
      try {
        for await (const delivery of sorted.read()) {
          yield* before(delivery.at, true);
          yield delivery;
        }
        yield* before(Number.POSITIVE_INFINITY, true);
      } finally {
        await sorted.dispose();
      }
    },
  };
}

/** The top-level fields other than `deliveries`, assembled without reading the deliveries into memory. */
async function readHeader(path: string): Promise<z.infer<typeof headerSchema>> {
  let top: unknown;
  try {
    const stream = chain([
      createReadStream(path),
      parser(),
      ignore({ filter: "deliveries" }),
      streamValues(),
    ]);
    for await (const item of stream as AsyncIterable<{ value: unknown }>) top = item.value;
  } catch (error) {
    throw new ScenarioFileError("(file)", `not readable as JSON: ${(error as Error).message}`);
  }
  if (top === null || typeof top !== "object" || Array.isArray(top)) {
    throw new ScenarioFileError("(root)", "expected a JSON object with config, deliveries and finalizeAt");
  }
  return parseOrThrow(headerSchema, top, []);
}

interface SortedDeliveries {
  read(): AsyncGenerator<Extract<ReplayStep, { kind: "delivery" }>>;
  dispose(): Promise<void>;
}

/** Streams `deliveries`, validating each; sorts chunks by (at, position) and spills them to disk when large. */
async function sortDeliveries(path: string, chunkSize: number): Promise<SortedDeliveries> {
  type Entry = Extract<ReplayStep, { kind: "delivery" }>;
  const byTime = (a: Entry, b: Entry) => a.at - b.at || a.index - b.index;
  let chunk: Entry[] = [];
  const spilled: string[] = [];
  let directory: string | undefined;
  let sawDeliveries = false;

  try {
    const stream = chain([createReadStream(path), parser(), pick({ filter: "deliveries" }), streamArray()]);
    for await (const item of stream as AsyncIterable<{ key: number; value: unknown }>) {
      sawDeliveries = true;
      const delivery = parseOrThrow(replayDeliverySchema, item.value, ["deliveries", item.key]);
      chunk.push({ kind: "delivery", at: Date.parse(delivery.at), index: item.key, delivery });
      if (chunk.length >= chunkSize) {
        directory ??= await mkdtemp(join(tmpdir(), "portaltime-replay-"));
        const file = join(directory, `run-${spilled.length}.jsonl`);
        await writeFile(
          file,
          `${chunk
            .sort(byTime)
            .map((entry) => JSON.stringify(entry))
            .join("\n")}\n`,
        );
        spilled.push(file);
        chunk = [];
      }
    }
  } catch (error) {
    if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    if (error instanceof ScenarioFileError) throw error;
    throw new ScenarioFileError("deliveries", `not readable as JSON: ${(error as Error).message}`);
  }
  if (!sawDeliveries && spilled.length === 0) {
    // An empty array is a valid (if idle) scenario; a missing one is not.
    const hasKey = await fileHasDeliveries(path);
    if (!hasKey) throw new ScenarioFileError("deliveries", "required: an array of deliveries");
  }
  chunk.sort(byTime);
  const inMemory = chunk;

  return {
    async *read() {
      const runs = [
        ...spilled.map(readRun),
        (async function* () {
          yield* inMemory;
        })(),
      ];
      yield* mergeRuns(runs, byTime);
    },
    async dispose() {
      if (directory !== undefined) await rm(directory, { recursive: true, force: true });
    },
  };
}

async function fileHasDeliveries(path: string): Promise<boolean> {
  const stream = chain([createReadStream(path), parser(), pick({ filter: "deliveries" }), streamValues()]);
  for await (const item of stream as AsyncIterable<{ value: unknown }>) return Array.isArray(item.value);
  return false;
}

async function* readRun(file: string) {
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Number.POSITIVE_INFINITY });
  for await (const line of lines)
    if (line !== "") yield JSON.parse(line) as Extract<ReplayStep, { kind: "delivery" }>;
}

/** k-way merge of sorted runs; ties keep file order because every entry carries its position. */
async function* mergeRuns<T>(runs: AsyncGenerator<T>[], compare: (a: T, b: T) => number): AsyncGenerator<T> {
  const heads: Array<{ value: T; run: AsyncGenerator<T> }> = [];
  for (const run of runs) {
    const next = await run.next();
    if (!next.done) heads.push({ value: next.value, run });
  }
  while (heads.length > 0) {
    let smallest = 0;
    for (let i = 1; i < heads.length; i++) {
      if (compare((heads[i] as { value: T }).value, (heads[smallest] as { value: T }).value) < 0)
        smallest = i;
    }
    const head = heads[smallest] as { value: T; run: AsyncGenerator<T> };
    yield head.value;
    const next = await head.run.next();
    if (next.done) heads.splice(smallest, 1);
    else head.value = next.value;
  }
}

function parseOrThrow<T extends z.ZodType>(
  schema: T,
  value: unknown,
  at: Array<string | number>,
): z.infer<T> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [...at, ...(issue?.path ?? [])].map(String).join(".") || "(root)";
  throw new ScenarioFileError(path, issue?.message ?? "invalid");
}
