import { mkdtemp, readdir, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { openScenarioFile, type ReplayStep, ScenarioFileError } from "../../bin/local/scenario-file.js";

async function scenarioFile(content: unknown): Promise<string> {
  const directory = await mkdtemp(join(tmpdir(), "scenario-test-"));
  const file = join(directory, "scenario.json");
  await writeFile(file, typeof content === "string" ? content : JSON.stringify(content));
  return file;
}

const delivery = (at: string, id: string) => ({ at, format: "bridge", body: { id } });

async function stepsOf(file: string, chunkSize?: number): Promise<string[]> {
  const scenario = await openScenarioFile(file, { chunkSize });
  const steps: string[] = [];
  for await (const step of scenario.steps()) steps.push(describeStep(step));
  return steps;
}

const describeStep = (step: ReplayStep): string =>
  step.kind === "finalize"
    ? `finalize ${new Date(step.at).toISOString()}`
    : step.kind === "config"
      ? `config ${JSON.stringify(step.config)} ${new Date(step.at).toISOString()}`
      : `${(step.delivery.body as { id: string }).id} ${new Date(step.at).toISOString()}`;

describe("replay scenario files", () => {
  const shuffled = {
    config: { timezone: "America/Chicago" },
    deliveries: [
      delivery("2026-03-03T10:00:00Z", "c"),
      delivery("2026-03-02T10:00:00Z", "a"),
      delivery("2026-03-04T10:00:00Z", "e"),
      delivery("2026-03-03T10:00:00Z", "d"),
      delivery("2026-03-02T05:00:00-05:00", "b"),
    ],
    finalizeAt: ["2026-03-04T10:00:00Z", "2026-03-03T09:00:00Z"],
  };
  // a and b are the same instant written in two zones: ties keep file order (a at index 1, b at index 4). The
  // finalizer run at 2026-03-04T10:00Z goes after e, delivered at that same instant.
  const expectedOrder = [
    "a 2026-03-02T10:00:00.000Z",
    "b 2026-03-02T10:00:00.000Z",
    "finalize 2026-03-03T09:00:00.000Z",
    "c 2026-03-03T10:00:00.000Z",
    "d 2026-03-03T10:00:00.000Z",
    "e 2026-03-04T10:00:00.000Z",
    "finalize 2026-03-04T10:00:00.000Z",
  ];

  it("puts deliveries and finalizer runs in time order: stable for equal times, finalizer after deliveries", async () => {
    const file = await scenarioFile(shuffled);

    const steps = await stepsOf(file);

    expect(steps).toEqual(expectedOrder);
  });

  it("gives the same order when the deliveries spill to disk in sorted runs, and removes the runs after", async () => {
    const file = await scenarioFile(shuffled);
    const before = (await readdir(tmpdir())).filter((name) => name.startsWith("portaltime-replay-")).length;

    const inMemory = await stepsOf(file);
    const spilled = await stepsOf(file, 2);

    expect(spilled).toEqual(inMemory);
    const after = (await readdir(tmpdir())).filter((name) => name.startsWith("portaltime-replay-")).length;
    expect(after).toBe(before);
  });

  it("puts configuration pushes in time order: before a delivery or finalizer run at the same instant", async () => {
    const file = await scenarioFile({
      ...shuffled,
      configs: [
        { at: "2026-03-04T10:00:00Z", config: { settleHours: 12 } },
        { at: "2026-03-01T00:00:00Z", config: { settleHours: 24 } },
        { at: "2026-03-03T09:00:00Z", config: { settleHours: 36 } },
        { at: "2026-03-05T00:00:00Z", config: { settleHours: 6 } },
      ],
    });

    const steps = await stepsOf(file, 2);

    expect(steps).toEqual([
      'config {"settleHours":24} 2026-03-01T00:00:00.000Z',
      "a 2026-03-02T10:00:00.000Z",
      "b 2026-03-02T10:00:00.000Z",
      'config {"settleHours":36} 2026-03-03T09:00:00.000Z',
      "finalize 2026-03-03T09:00:00.000Z",
      "c 2026-03-03T10:00:00.000Z",
      "d 2026-03-03T10:00:00.000Z",
      'config {"settleHours":12} 2026-03-04T10:00:00.000Z',
      "e 2026-03-04T10:00:00.000Z",
      "finalize 2026-03-04T10:00:00.000Z",
      'config {"settleHours":6} 2026-03-05T00:00:00.000Z',
    ]);
  });

  it("reads config and finalizeAt wherever they stand in the file; a single finalizeAt is accepted", async () => {
    const text = `{"finalizeAt":"2026-03-05T00:00:00Z","deliveries":[${JSON.stringify(delivery("2026-03-02T10:00:00Z", "a"))}],"config":{"settleHours":24}}`;
    const scenario = await openScenarioFile(await scenarioFile(text));

    expect(scenario.config).toEqual({ settleHours: 24 });
    expect(scenario.finalizeAt).toEqual(["2026-03-05T00:00:00Z"]);
  });

  it.each([
    [
      {
        ...shuffled,
        deliveries: [delivery("2026-03-02T10:00:00Z", "a"), { at: "yesterday", format: "bridge", body: {} }],
      },
      "deliveries.1.at",
    ],
    [
      { ...shuffled, deliveries: [{ at: "2026-03-02T10:00:00Z", format: "hl7", body: {} }] },
      "deliveries.0.format",
    ],
    [{ ...shuffled, deliveries: [{ at: "2026-03-02T10:00:00Z", format: "fhir" }] }, "deliveries.0.body"],
    [{ ...shuffled, finalizeAt: "soon" }, "finalizeAt"],
    [{ ...shuffled, configs: [{ at: "2026-03-01T00:00:00Z" }] }, "configs.0.config"],
    [{ ...shuffled, configs: [{ at: "March", config: {} }] }, "configs.0.at"],
    [{ config: {}, finalizeAt: "2026-03-05T00:00:00Z" }, "deliveries"],
    [[1, 2], "(root)"],
  ])("names the failing path of an invalid file (%#: %s)", async (content, path) => {
    const opening = openScenarioFile(await scenarioFile(content));

    await expect(opening).rejects.toBeInstanceOf(ScenarioFileError);
    await expect(opening).rejects.toMatchObject({ path });
  });

  it("refuses a file that is not JSON", async () => {
    await expect(openScenarioFile(await scenarioFile('{"deliveries": [ {'))).rejects.toBeInstanceOf(
      ScenarioFileError,
    );
  });
});
