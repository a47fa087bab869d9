import { type ChildProcess, execFile, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";

const root = new URL("../../", import.meta.url).pathname;

const freePort = () =>
  new Promise<number>((resolve) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address !== null ? address.port : 0));
    });
  });

/** Output of a child process, with a way to wait until some text has appeared. */
function watch(child: ChildProcess) {
  let text = "";
  child.stdout?.on("data", (chunk: Buffer) => {
    text += chunk.toString();
  });
  return {
    text: () => text,
    until: (needle: string, timeoutMs: number) =>
      new Promise<void>((resolve, reject) => {
        const started = Date.now();
        const poll = setInterval(() => {
          if (text.includes(needle)) {
            clearInterval(poll);
            resolve();
          } else if (Date.now() - started > timeoutMs) {
            clearInterval(poll);
            reject(new Error(`"${needle}" did not appear within ${timeoutMs} ms; output so far:\n${text}`));
          }
        }, 100);
      }),
  };
}

/** The README's curl example, exactly as a user would copy it. */
const curlExample = () => {
  const readme = readFileSync(new URL("README.md", `file://${root}`), "utf8");
  const block = /<!-- curl-example:start -->\s*```sh\n([\s\S]*?)```/.exec(readme)?.[1];
  if (block === undefined) throw new Error("README has no curl example");
  return block;
};

describe("npm start", () => {
  it("comes up with the demo week's claim lines, answers /health, accepts the README's signed delivery, and stops cleanly on Ctrl-C", async () => {
    // Prepare
    const port = await freePort();
    // One process (Node with tsx's loader), so Ctrl-C reaches the program itself, not a wrapper.
    const child = spawn(process.execPath, ["--import", "tsx", "bin/start.ts", "--finalize-every", "1"], {
      cwd: root,
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr?.resume();
    const output = watch(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));

    try {
      // Act + Assess: the demo's lines (worked out in bin/local/demo-week.ts) before "ready".
      await output.until("portaltime: ready", 90_000);
      const health = await fetch(`http://127.0.0.1:${port}/health`);
      expect(health.status).toBe(200);
      const claims = output
        .text()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line));
      expect(
        claims.map((line) => `${line.patientId} ${line.procedureCode} ${line.totalMinutes}`).sort(),
      ).toEqual(["demo-01 99422 14", "demo-02 98972 25", "demo-08 98971 11"]);
      for (const outcome of [
        "bundled-into-visit",
        "related-prior-visit",
        "below-threshold",
        "not-patient-initiated",
        "needs-review (consent-missing)",
      ]) {
        expect(output.text()).toContain(outcome);
      }

      const { stdout } = await promisify(execFile)("bash", ["-c", curlExample()], {
        env: { ...process.env, PORT: String(port) },
      });
      expect(JSON.parse(stdout)).toEqual({ status: "accepted" });
      await output.until("patient curl-1, 99422, 12 min", 30_000);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(output.text()).toContain("portaltime: stopped");
  }, 150_000);
});
