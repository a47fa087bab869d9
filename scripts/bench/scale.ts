import * as z from "zod";

/**
 * The bench's one setting, read once: `BENCH_SCALE` (0 < scale <= 1, default 1) shrinks every section's workload
 * (patients, rounds, batches, runs) to check the bench itself quickly, e.g. `BENCH_SCALE=0.1 npm run bench`.
 * Timings at a reduced scale are not a record of the targets: such a run writes its report under .local/, and
 * only a run at scale 1 writes docs/BENCHMARKS.md.
 */
export const BENCH_SCALE = z.coerce
  .number()
  .gt(0)
  .lte(1)
  .parse(
    process.env.BENCH_SCALE === undefined || process.env.BENCH_SCALE === "" ? 1 : process.env.BENCH_SCALE,
  );

/** `count` at the bench's scale, never below `minimum`. */
export const scaled = (count: number, minimum = 1): number =>
  Math.max(minimum, Math.round(count * BENCH_SCALE));
