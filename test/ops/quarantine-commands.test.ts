import { describe, expect, it } from "vitest";
import { listQuarantine, retryQuarantine } from "../../bin/ops/quarantine-commands.js";
import type { Quarantine, QuarantinedPatient } from "../../functions/store/quarantine-store.js";

const NOW = Date.parse("2026-03-12T12:20:00Z");

/** The Quarantine port in memory; `releasedElsewhere` are gone by the time they are released (the finalizer won). */
function quarantineOf(patients: QuarantinedPatient[], releasedElsewhere: string[] = []): Quarantine {
  const held = new Map(patients.map((patient) => [patient.patientId, patient]));
  return {
    list: async () => [...held.values()],
    add: async () => {},
    release: async (patientId) => held.delete(patientId) && !releasedElsewhere.includes(patientId),
  };
}

const patient = (patientId: string, retryAt?: number): QuarantinedPatient => ({
  patientId,
  reason: "DynamoDB failed after retries (ThrottlingException)",
  error: "ThrottlingException",
  since: "2026-03-12T12:00:00.000Z",
  lastFailedAt: "2026-03-12T12:00:00.000Z",
  attempts: 1,
  retryAt,
});

function output() {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, to: { out: (line: string) => out.push(line), err: (line: string) => err.push(line) } };
}

describe("quarantine list", () => {
  it("says an automatic retry already due happens on the next finalizer run", async () => {
    // Prepare
    const { out, to } = output();

    // Act
    await listQuarantine(quarantineOf([patient("p-1", NOW - 1)]), to, { json: false, now: NOW });

    // Assess
    expect(out).toEqual([
      "patient p-1: retries automatically on the next finalizer run; since 2026-03-12T12:00:00.000Z, 1 attempt; " +
        "ThrottlingException: DynamoDB failed after retries (ThrottlingException)",
      "1 patient in quarantine: 0 wait for an operator, 1 retries automatically",
    ]);
  });

  it.each([
    [false, ["no patient in quarantine"], []],
    [true, [], ["no patient in quarantine"]],
  ])("when empty (--json %s), says so where a person reads it and exits 0", async (json, stdout, stderr) => {
    // Prepare
    const { out, err, to } = output();

    // Act
    const code = await listQuarantine(quarantineOf([]), to, { json, now: NOW });

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual(stdout);
    expect(err).toEqual(stderr);
  });
});

describe("quarantine retry", () => {
  it("releases a patient named twice once", async () => {
    // Prepare
    const { out, to } = output();

    // Act
    const code = await retryQuarantine(quarantineOf([patient("p-1")]), to, {
      all: false,
      patientIds: ["p-1", "p-1"],
    });

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual(["released patient p-1: the next finalizer run decides it again"]);
  });

  it("--all: a patient the finalizer released in between is not a failure", async () => {
    // Prepare
    const { out, err, to } = output();

    // Act
    const code = await retryQuarantine(quarantineOf([patient("p-1"), patient("p-2")], ["p-2"]), to, {
      all: true,
    });

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([
      "released patient p-1: the next finalizer run decides it again",
      "patient p-2 was released meanwhile by the finalizer",
    ]);
    expect(err).toEqual([]);
  });

  it("--all with nobody in quarantine says so and exits 0", async () => {
    // Prepare
    const { out, to } = output();

    // Act
    const code = await retryQuarantine(quarantineOf([]), to, { all: true });

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual(["no patient in quarantine"]);
  });
});
