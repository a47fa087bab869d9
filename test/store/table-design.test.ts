import { describe, expect, it } from "vitest";
import { allDueShards, commitId, DUE_SHARDS, dueShardOf } from "../../functions/store/table-design.js";

describe("the table design", () => {
  it("spreads patients over every due-index shard, and keeps each patient's markers in one", () => {
    // Prepare: a backfill's worth of patients.
    const patients = Array.from({ length: 10_000 }, (_, i) => `patient-${i}`);

    // Act
    const counts = new Map<string, number>();
    for (const patient of patients)
      counts.set(dueShardOf(patient), (counts.get(dueShardOf(patient)) ?? 0) + 1);

    // Assess: every shard used, none with more than twice its share; the same patient, the same shard.
    expect([...counts.keys()].sort()).toEqual([...allDueShards()].sort());
    expect(Math.max(...counts.values())).toBeLessThan((2 * patients.length) / DUE_SHARDS);
    expect(dueShardOf("patient-42")).toBe(dueShardOf("patient-42"));
  });

  it("orders commit ids by epoch, then version, as text", () => {
    expect(commitId(1_700_000_000_000, 9) < commitId(1_700_000_000_000, 10)).toBe(true);
    expect(commitId(1_700_000_000_000, 99) < commitId(1_700_000_000_001, 1)).toBe(true);
  });
});
