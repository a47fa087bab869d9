import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const run = promisify(execFile);
const root = new URL("../../", import.meta.url).pathname;
const fixture = (name: string) => new URL(`../fixtures/scenarios/${name}`, import.meta.url).pathname;

/** `npm run replay -- <file> [args]` as a user runs it: its own servers, stdout for lines, stderr for the rest. */
async function replay(file: string, ...args: string[]) {
  try {
    const { stdout, stderr } = await run("npx", ["tsx", "bin/replay.ts", file, ...args], {
      cwd: root,
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

const jsonLines = (text: string) =>
  text
    .split("\n")
    .filter((line) => line.trim() !== "")
    .map((line) => JSON.parse(line));

// Each case starts its own DynamoDB Local (a JVM) side by side with the others: on a 2-core machine that alone
// takes most of the integration project's default 20 s.
describe.concurrent("npm run replay", { timeout: 90_000 }, () => {
  for (const name of ["two-clinicians-pooled", "physical-therapist", "visit-in-window-bundled"]) {
    it(`${name} replays to exactly its expected claim lines`, async () => {
      const expected = jsonLines(readFileSync(fixture(`${name}.expected.jsonl`), "utf8"));

      const { code, stdout } = await replay(fixture(`${name}.json`));

      expect(code).toBe(0);
      const lines = jsonLines(stdout);
      const keys = Object.keys(expected[0] ?? { patientId: "" });
      expect(lines.map((line) => Object.fromEntries(keys.map((key) => [key, line[key]])))).toEqual(expected);
    });
  }

  it("with --episodes, also prints each decided episode with its outcome and reasons", async () => {
    const { code, stdout } = await replay(fixture("visit-in-window-bundled.json"), "--episodes");

    expect(code).toBe(0);
    expect(jsonLines(stdout)).toEqual([
      {
        episode: expect.objectContaining({
          patientId: "pub-2",
          outcome: "bundled-into-visit",
          reasons: ["bundled-into-visit"],
          totalMinutes: 12,
        }),
      },
    ]);
  });

  it("exits non-zero with a clear message naming the failing path of an invalid file", async () => {
    const directory = await mkdtemp(join(tmpdir(), "replay-cli-"));
    const file = join(directory, "bad.json");
    const scenario = JSON.parse(readFileSync(fixture("physical-therapist.json"), "utf8"));
    scenario.deliveries[2].at = "next Tuesday";
    await writeFile(file, JSON.stringify(scenario));

    const { code, stdout, stderr } = await replay(file);

    expect(code).toBe(2);
    expect(stdout).toBe("");
    expect(stderr).toContain("invalid at deliveries.2.at");
  });

  it("exits non-zero naming the configuration field of an invalid policy", async () => {
    const directory = await mkdtemp(join(tmpdir(), "replay-cli-"));
    const file = join(directory, "bad-config.json");
    const scenario = JSON.parse(readFileSync(fixture("physical-therapist.json"), "utf8"));
    scenario.config.placeOfService = "02";
    await writeFile(file, JSON.stringify(scenario));

    const { code, stderr } = await replay(file);

    expect(code).toBe(2);
    expect(stderr).toContain("invalid at config.placeOfService");
  });
});

// Apart from the concurrent cases above: one more JVM beside them would only make all of them slower.
describe("npm run replay, through npm", { timeout: 90_000 }, () => {
  it("run through npm exactly as the README says, prints only JSON claim lines on stdout (no npm banner)", async () => {
    const expected = jsonLines(readFileSync(fixture("two-clinicians-pooled.expected.jsonl"), "utf8"));

    const { stdout } = await run("npm", ["run", "replay", "--", fixture("two-clinicians-pooled.json")], {
      cwd: root,
      timeout: 60_000,
    });

    const lines = stdout.split("\n").filter((line) => line !== "");
    expect(lines).toHaveLength(expected.length);
    for (const line of lines) expect(JSON.parse(line)).toHaveProperty("claimLineId");
  });
});
