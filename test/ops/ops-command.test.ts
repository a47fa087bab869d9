import { mkdtemp, writeFile } from "node:fs/promises";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { localStackFile, writeLocalStackFile } from "../../bin/local/local-stack-file.js";
import { runOps, usage } from "../../bin/ops/ops-command.js";

/** runOps with its output kept, the local-stack file looked up in a directory of the test's own. */
async function ops(args: string[], localStackDir?: string) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    localStackDir: localStackDir ?? (await mkdtemp(join(tmpdir(), "ops-"))),
  });
  return { code, out, err };
}

/** A port nothing listens on: a stack that was killed outright left its file behind. */
const closedPort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

describe("npm run ops: the command line", () => {
  it.each([
    [[], "no command"],
    [["quarantine"], "unknown command: quarantine"],
    [["quarantine", "purge", "--local"], "unknown command: quarantine purge"],
    [["quarantine", "list", "--local", "--verbose"], "unknown option --verbose"],
    [["quarantine", "list", "--table"], "Option '--table <value>' argument missing"],
    [
      ["quarantine", "list"],
      "say which stack: --local, --prefix <prefix> or --endpoint <url> --table <name>",
    ],
    [["quarantine", "list", "p-1", "--local"], "quarantine list takes no patient ids: p-1"],
    [["quarantine", "list", "--all", "--local"], "--all goes with quarantine retry"],
    [["quarantine", "retry", "--local"], "quarantine retry needs patient ids or --all"],
    [
      ["quarantine", "retry", "p-1", "--all", "--local"],
      "quarantine retry takes patient ids or --all, not both",
    ],
    [["quarantine", "retry", "p-1", "--json", "--local"], "--json goes with quarantine list"],
    [
      ["quarantine", "list", "--local", "--table", "t"],
      "--local takes no --prefix, --region, --table or --endpoint",
    ],
    [["quarantine", "list", "--local", "--port", "0"], "--port is not a port: 0"],
    [["quarantine", "list", "--prefix", "acme", "--port", "3000"], "--port goes with --local"],
    [["quarantine", "list", "--endpoint", "http://127.0.0.1:8000"], "--endpoint needs --table <name>"],
    [
      ["quarantine", "list", "--endpoint", "localhost:8000", "--table", "t"],
      "--endpoint is not an http(s) URL: localhost:8000",
    ],
    [
      ["quarantine", "list", "--endpoint", "http://127.0.0.1:8000", "--table", "t", "--region", "eu-west-1"],
      "--endpoint takes --table, not --prefix or --region",
    ],
  ])("%j: exits 2 with one line saying why, then the usage", async (args, problem) => {
    // Act
    const { code, out, err } = await ops(args);

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual([`ops: ${problem}`, usage]);
  });

  it("--help prints the usage and exits 0", async () => {
    // Act
    const { code, out, err } = await ops(["--help"]);

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([usage]);
    expect(err).toEqual([]);
  });
});

describe("npm run ops: --local", () => {
  it("with no local stack file, says to start one, exit 1", async () => {
    // Act
    const { code, out, err } = await ops(["quarantine", "list", "--local"]);

    // Assess
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual(["ops: no local stack is running: start it with npm start"]);
  });

  it("names the port when it is not the default", async () => {
    // Act
    const { code, err } = await ops(["quarantine", "retry", "--all", "--local", "--port", "4000"]);

    // Assess
    expect(code).toBe(1);
    expect(err).toEqual(["ops: no local stack is running on port 4000: start it with PORT=4000 npm start"]);
  });

  it("treats a file whose endpoint does not answer (a stack killed outright) as no stack", async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), "ops-"));
    const port = await closedPort();
    writeLocalStackFile(localStackFile(3000, directory), {
      dynamodbEndpoint: `http://127.0.0.1:${port}`,
      tableName: "portaltime-local-episodes",
    });

    // Act
    const { code, err } = await ops(["quarantine", "list", "--local"], directory);

    // Assess
    expect(code).toBe(1);
    expect(err).toEqual(["ops: no local stack is running: start it with npm start"]);
  });

  it("treats a file that is not a local-stack file as no stack", async () => {
    // Prepare
    const directory = await mkdtemp(join(tmpdir(), "ops-"));
    await writeFile(localStackFile(3000, directory), "{ half a file");

    // Act
    const { code, err } = await ops(["quarantine", "list", "--local"], directory);

    // Assess
    expect(code).toBe(1);
    expect(err).toEqual(["ops: no local stack is running: start it with npm start"]);
  });
});

describe("npm run ops: a stack that does not answer", () => {
  it("fails in one line naming the endpoint, never a stack trace", async () => {
    // Prepare
    const port = await closedPort();
    const endpoint = `http://127.0.0.1:${port}`;

    // Act
    const { code, out, err } = await ops(["quarantine", "list", "--endpoint", endpoint, "--table", "t"]);

    // Assess
    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toEqual([
      `ops: table t at ${endpoint}`,
      `ops: cannot reach table t at ${endpoint}: connect ECONNREFUSED 127.0.0.1:${port}`,
    ]);
  });
});
