import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, describe, expect, inject, it } from "vitest";
import { localStackFile, writeLocalStackFile } from "../../bin/local/local-stack-file.js";
import { localDynamodbClient } from "../../bin/local/resources.js";
import { runOps } from "../../bin/ops/ops-command.js";
import { DynamoQuarantine } from "../../functions/store/quarantine-store.js";
import { isolatedResources } from "../support/integration.js";

const root = new URL("../../", import.meta.url).pathname;
const endpoint = inject("localAws").dynamodbEndpoint;
const dynamodb = localDynamodbClient(endpoint);
const documents = DynamoDBDocumentClient.from(dynamodb);

afterAll(() => dynamodb.destroy());

const SINCE = Date.parse("2026-03-12T12:00:00Z");
const MINUTE = 60_000;

/**
 * A table of its own with two patients the finalizer set aside: one whose fact item is unreadable (waits for an
 * operator) and one throttled twice (retried automatically at the time it was given).
 */
async function quarantineWorld() {
  const { tableName } = await isolatedResources();
  const quarantine = new DynamoQuarantine(documents, tableName);
  await quarantine.add("p-corrupt", {
    reason: "an unreadable fact item: fact is not JSON",
    error: "CorruptItemError",
    item: "FACT#f1",
    at: SINCE,
  });
  for (const attempt of [0, 1]) {
    await quarantine.add("p-throttled", {
      reason: "DynamoDB failed after retries (ThrottlingException)",
      error: "ThrottlingException",
      at: SINCE + attempt * 15 * MINUTE,
      retryAt: SINCE + (attempt + 1) * 30 * MINUTE,
    });
  }
  return { tableName, quarantine };
}

/** runOps with its output kept, as the CLI would print it, and the clock at 12:20. */
async function ops(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    now: () => SINCE + 20 * MINUTE,
  });
  return { code, out, err };
}

const CORRUPT_LINE =
  "patient p-corrupt: waits for an operator; since 2026-03-12T12:00:00.000Z, 1 attempt; " +
  "CorruptItemError: an unreadable fact item: fact is not JSON; item FACT#f1";
const THROTTLED_LINE =
  "patient p-throttled: retries automatically at 2026-03-12T13:00:00.000Z; since 2026-03-12T12:00:00.000Z, " +
  "2 attempts; ThrottlingException: DynamoDB failed after retries (ThrottlingException)";

describe("npm run ops -- quarantine", () => {
  it("list: one line per quarantined patient, then how many wait for an operator", async () => {
    // Prepare
    const { tableName } = await quarantineWorld();

    // Act
    const { code, out, err } = await ops("quarantine", "list", "--endpoint", endpoint, "--table", tableName);

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([
      CORRUPT_LINE,
      THROTTLED_LINE,
      "2 patients in quarantine: 1 waits for an operator, 1 retries automatically",
    ]);
    expect(err).toEqual([`ops: table ${tableName} at ${endpoint}`]);
  });

  it("list --json: one JSON object per patient, retry time as an instant", async () => {
    // Prepare
    const { tableName } = await quarantineWorld();

    // Act
    const { code, out } = await ops(
      "quarantine",
      "list",
      "--json",
      "--endpoint",
      endpoint,
      "--table",
      tableName,
    );

    // Assess
    expect(code).toBe(0);
    expect(out.map((line) => JSON.parse(line))).toEqual([
      {
        patientId: "p-corrupt",
        reason: "an unreadable fact item: fact is not JSON",
        error: "CorruptItemError",
        item: "FACT#f1",
        since: "2026-03-12T12:00:00.000Z",
        lastFailedAt: "2026-03-12T12:00:00.000Z",
        attempts: 1,
        waitsForOperator: true,
      },
      {
        patientId: "p-throttled",
        reason: "DynamoDB failed after retries (ThrottlingException)",
        error: "ThrottlingException",
        since: "2026-03-12T12:00:00.000Z",
        lastFailedAt: "2026-03-12T12:15:00.000Z",
        attempts: 2,
        waitsForOperator: false,
        retryAt: "2026-03-12T13:00:00.000Z",
      },
    ]);
  });

  it("retry: releases exactly the named patient and reports the unknown one with exit code 1", async () => {
    // Prepare
    const { tableName, quarantine } = await quarantineWorld();

    // Act
    const { code, out, err } = await ops(
      "quarantine",
      "retry",
      "p-corrupt",
      "p-unknown",
      "--endpoint",
      endpoint,
      "--table",
      tableName,
    );

    // Assess
    expect(code).toBe(1);
    expect(out).toEqual(["released patient p-corrupt: the next finalizer run decides it again"]);
    expect(err).toContain("patient p-unknown was not in quarantine");
    expect((await quarantine.list()).map((patient) => patient.patientId)).toEqual(["p-throttled"]);
  });

  it("retry --all: releases every patient, after which the list is empty", async () => {
    // Prepare
    const { tableName, quarantine } = await quarantineWorld();
    const target = ["--endpoint", endpoint, "--table", tableName];

    // Act
    const retried = await ops("quarantine", "retry", "--all", ...target);
    const listed = await ops("quarantine", "list", ...target);

    // Assess
    expect(retried.code).toBe(0);
    expect(retried.out).toEqual([
      "released patient p-corrupt: the next finalizer run decides it again",
      "released patient p-throttled: the next finalizer run decides it again",
    ]);
    expect(await quarantine.list()).toEqual([]);
    expect(listed).toMatchObject({ code: 0, out: ["no patient in quarantine"] });
  });

  it("--local: finds the table through the file npm start writes for its port", async () => {
    // Prepare
    const { tableName } = await quarantineWorld();
    const localStackDir = await mkdtemp(join(tmpdir(), "ops-local-"));
    writeLocalStackFile(localStackFile(4123, localStackDir), { dynamodbEndpoint: endpoint, tableName });
    const out: string[] = [];

    // Act
    const code = await runOps(["quarantine", "list", "--local", "--port", "4123"], {
      out: (line) => out.push(line),
      err: () => {},
      now: () => SINCE + 20 * MINUTE,
      localStackDir,
    });

    // Assess
    expect(code).toBe(0);
    expect(out.slice(0, 2)).toEqual([CORRUPT_LINE, THROTTLED_LINE]);
  });

  it("the CLI itself (npx tsx bin/ops.ts) lists on stdout and exits 0", async () => {
    // Prepare
    const { tableName } = await quarantineWorld();

    // Act
    const { stdout, stderr } = await promisify(execFile)(
      "npx",
      ["tsx", "bin/ops.ts", "quarantine", "list", "--endpoint", endpoint, "--table", tableName],
      { cwd: root, timeout: 30_000 },
    );

    // Assess: execFile rejects on a non-zero exit; the automatic retry's wording depends on the real clock.
    const lines = stdout.trimEnd().split("\n");
    expect(lines[0]).toBe(CORRUPT_LINE);
    expect(lines[1]).toMatch(
      /^patient p-throttled: retries automatically [^;]*; since 2026-03-12T12:00:00.000Z, 2 attempts; ThrottlingException: /,
    );
    expect(lines[2]).toBe("2 patients in quarantine: 1 waits for an operator, 1 retries automatically");
    expect(stderr).toBe(`ops: table ${tableName} at ${endpoint}\n`);
  });
});
