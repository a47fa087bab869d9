import { type ChildProcess, execFile, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, readlinkSync } from "node:fs";
import { mkdtemp, writeFile } from "node:fs/promises";
import { request as httpRequest } from "node:http";
import { connect, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { DEV_REVIEW_TOKEN, devSecrets } from "../../bin/local/dev-secrets.js";
import { localStackFile, readLocalStackFile } from "../../bin/local/local-stack-file.js";
import { signWithDevSecret } from "../../bin/local/sign-delivery.js";
import { healthieSignature } from "../fixtures/vendors/healthie/published-verifier.js";

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

      // The worklist (issue 15): a wrong token is refused; demo-06's consent-missing episode is listed; recording
      // the consent (dated in the prior year, within the 365 days before its window) bills it at the next run.
      const review = (path: string, token: string, body?: unknown) =>
        fetch(`http://127.0.0.1:${port}/review${path}`, {
          method: body === undefined ? "GET" : "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
          body: body === undefined ? undefined : JSON.stringify(body),
        });
      expect((await review("/items", "not-the-token")).status).toBe(401);
      const { items } = (await (await review("/items", DEV_REVIEW_TOKEN)).json()) as {
        items: Array<{ id: string; patientId: string; reasons: string[] }>;
      };
      const demo06 = items.find((item) => item.patientId === "demo-06");
      expect(demo06?.reasons).toEqual(["consent-missing"]);
      const resolved = await review(`/items/${demo06?.id}/resolutions`, DEV_REVIEW_TOKEN, {
        action: "record-consent",
        consentDate: "2025-12-15",
        by: "Pat Biller",
      });
      expect(resolved.status).toBe(201);
      await output.until("patient demo-06, 99422, 15 min", 30_000);
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
    expect(output.text()).toContain("portaltime: stopped");
  }, 150_000);

  it("R18: npm run config -- push against it changes what the next finalizer run decides, without a restart", async () => {
    // Prepare: the stack without the demo, and a delivery whose clinician the roster does not hold.
    const port = await freePort();
    const child = spawn(
      process.execPath,
      ["--import", "tsx", "bin/start.ts", "--no-demo", "--finalize-every", "1"],
      { cwd: root, env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] },
    );
    child.stderr?.resume();
    const output = watch(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const run = promisify(execFile);
    const configCli = (...args: string[]) =>
      run(
        process.execPath,
        ["--import", "tsx", "bin/config.ts", ...args, "--local", "--port", String(port)],
        {
          cwd: root,
        },
      );
    const body = Buffer.from(
      JSON.stringify({
        schemaVersion: "1.0",
        patientId: "cfg-1",
        facts: [
          {
            kind: "inquiry",
            id: "q1",
            at: "2026-11-02T14:00:00Z",
            author: "patient",
            diagnosisCodes: ["E11.9"],
          },
          {
            kind: "clinician-activity",
            id: "a1",
            inResponseTo: "q1",
            at: "2026-11-02T15:00:00Z",
            practitionerId: "dr-new",
            minutes: 12,
            diagnosisCodes: ["E11.9"],
          },
          { kind: "consent", id: "c1", at: "2026-01-05T09:00:00Z", status: "active" },
        ],
      }),
    );
    const headers = signWithDevSecret(
      "bridge",
      {
        method: "POST",
        path: "/webhooks/bridge",
        rawQuery: "",
        body,
        headers: { "content-type": "application/json" },
      },
      new Date(),
    );

    try {
      await output.until("portaltime: ready", 90_000);
      const answer = await fetch(`http://127.0.0.1:${port}/webhooks/bridge`, {
        method: "POST",
        headers,
        body,
      });
      expect(answer.status).toBe(202);
      // The first decision: the time is counted as an unknown clinician's, and nothing is billed.
      await output.until("12 min by clinicians the roster does not hold", 30_000);
      expect(output.text()).not.toContain("patient cfg-1");

      // Act: the operator's push of the roster with the clinician, to the running stack.
      const { stdout: shown } = await configCli("show", "--json");
      const current = JSON.parse(shown);
      const file = join(await mkdtemp(join(tmpdir(), "start-config-")), "tenant.json");
      await writeFile(
        file,
        JSON.stringify({
          ...current,
          roster: [...current.roster, { practitionerId: "dr-new", npi: "1003000183", credential: "MD" }],
        }),
      );
      const { stdout: pushed } = await configCli("push", file, "--by", "test");

      // Assess: the next run decides the patient again under version 2 and bills the time.
      expect(pushed).toContain("pushed version 2");
      await output.until("configuration version 2: 1 patient(s) decided again", 30_000);
      await output.until("patient cfg-1, 99422, 12 min", 30_000);
      expect(output.text()).toContain("rendering NPI 1003000183");
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  }, 150_000);
});

describe("npm start, Healthie", () => {
  it("accepts a delivery signed by Healthie's published algorithm, sent chunked without Content-Length", async () => {
    // Prepare: compact JSON as Healthie sends it, signed by the copy of its published verifier's algorithm.
    const port = await freePort();
    const child = spawn(process.execPath, ["--import", "tsx", "bin/start.ts", "--no-demo"], {
      cwd: root,
      env: { ...process.env, PORT: String(port) },
      stdio: ["ignore", "pipe", "pipe"],
    });
    child.stderr?.resume();
    const output = watch(child);
    const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
    const body = Buffer.from(
      JSON.stringify({
        resource_id: "597220",
        resource_id_type: "Appointment",
        event_type: "appointment.updated",
        changed_fields: ["pm_status"],
      }),
    );
    const headers: Record<string, string> = {
      "content-type": "application/json",
      "content-digest": `sha-256=${createHash("sha256").update(body).digest("base64")}`,
    };
    const requestData = {
      method: "post",
      path: "/webhooks/healthie",
      query: "",
      body: JSON.parse(`${body}`),
      headers,
    };
    headers.signature = `sig1=${await healthieSignature(requestData, devSecrets.healthie)}`;

    try {
      await output.until("portaltime: ready", 90_000);

      // Act: the body in three chunks, Transfer-Encoding: chunked, so no Content-Length reaches the server.
      const answer = await new Promise<{ status: number; body: string; sentLength: unknown }>(
        (resolve, reject) => {
          const request = httpRequest(
            {
              host: "127.0.0.1",
              port,
              method: "POST",
              path: "/webhooks/healthie",
              headers: { ...headers, "transfer-encoding": "chunked" },
            },
            (response) => {
              const chunks: Buffer[] = [];
              response.on("data", (chunk: Buffer) => chunks.push(chunk));
              response.on("end", () =>
                resolve({
                  status: response.statusCode ?? 0,
                  body: Buffer.concat(chunks).toString("utf8"),
                  sentLength: request.getHeader("content-length"),
                }),
              );
            },
          );
          request.on("error", reject);
          for (const [start, end] of [
            [0, 20],
            [20, 60],
            [60, body.byteLength],
          ]) {
            request.write(body.subarray(start, end));
          }
          request.end();
        },
      );

      // Assess
      expect(answer.sentLength).toBeUndefined();
      expect(answer.status).toBe(202);
      expect(JSON.parse(answer.body)).toEqual({ status: "accepted" });
    } finally {
      child.kill("SIGINT");
    }
    expect(await exited).toBe(0);
  }, 150_000);
});

/** Every process below `pid`, from /proc (Linux): pid, parent and command line. */
function descendants(pid: number): { pid: number; command: string }[] {
  const parents = new Map<number, number[]>();
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // The command name is in parentheses and may hold spaces: the parent pid is the 2nd field after it.
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      const parent = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      parents.set(parent, [...(parents.get(parent) ?? []), Number(entry)]);
    } catch {
      // Gone between listing and reading.
    }
  }
  const found: { pid: number; command: string }[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of parents.get(queue.shift() as number) ?? []) {
      found.push({ pid: child, command: commandLine(child) });
      queue.push(child);
    }
  }
  return found;
}

const commandLine = (pid: number) => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
  } catch {
    return "";
  }
};

/** Alive and not a zombie (a zombie has exited; only its exit status waits for its parent). */
const running = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
};

/** The addresses the given processes listen on over TCP, as "ip:port", from /proc/net/tcp{,6} (Linux). */
function listeningAddresses(pids: number[]): string[] {
  const inodes = new Set<string>();
  for (const pid of pids) {
    try {
      for (const fd of readdirSync(`/proc/${pid}/fd`)) {
        const target = readlinkOrEmpty(`/proc/${pid}/fd/${fd}`);
        const inode = /^socket:\[(\d+)\]$/.exec(target)?.[1];
        if (inode !== undefined) inodes.add(inode);
      }
    } catch {
      // Gone.
    }
  }
  const addresses: string[] = [];
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    for (const row of readFileSync(table, "utf8").trim().split("\n").slice(1)) {
      const [, local, , state, , , , , , inode] = row.trim().split(/\s+/);
      // 0A: LISTEN.
      if (state !== "0A" || inode === undefined || !inodes.has(inode) || local === undefined) continue;
      const [hex, portHex] = local.split(":") as [string, string];
      // IPv4 as little-endian hex; IPv6 as four little-endian words, of which an IPv4-mapped address's last.
      const ipv4 =
        hex.length === 8 ? hex : hex.startsWith("0000000000000000FFFF0000") ? hex.slice(24) : undefined;
      const ip =
        ipv4 === undefined
          ? `[${hex}]`
          : (ipv4.match(/../g) ?? [])
              .reverse()
              .map((byte) => Number.parseInt(byte, 16))
              .join(".");
      addresses.push(`${ip}:${Number.parseInt(portHex, 16)}`);
    }
  }
  return addresses;
}

const readlinkOrEmpty = (path: string) => {
  try {
    return readlinkSync(path);
  } catch {
    return "";
  }
};

const accepts = (port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });

describe.runIf(process.platform === "linux")(
  "npm start, stopped by a signal to the npm process alone",
  () => {
    it.each([
      ["SIGTERM", "npm"],
      ["SIGINT", "npm"],
      ["SIGKILL", "node"],
    ] as const)(
      "%s to the %s process leaves no process and no open port behind",
      async (signal, target) => {
        // Prepare: `npm start` exactly as a user runs it, in a process group of its own so that, whatever happens,
        // the finally below can clean up everything it started.
        const port = await freePort();
        const npm = spawn("npm", ["start", "--", "--no-demo"], {
          cwd: root,
          env: { ...process.env, PORT: String(port) },
          stdio: ["ignore", "pipe", "pipe"],
          detached: true,
        });
        npm.stderr?.resume();
        const output = watch(npm);
        const npmExited = new Promise<void>((resolve) => npm.once("exit", () => resolve()));
        const npmPid = npm.pid as number;
        let started: { pid: number; command: string }[] = [];
        try {
          await output.until("portaltime: ready", 90_000);
          started = descendants(npmPid);
          const dynamodbPort = Number(
            new URL(readLocalStackFile(localStackFile(port))?.dynamodbEndpoint ?? "").port,
          );
          const node = started.find((child) => child.command.includes("bin/start.ts"));
          expect(started.map((child) => child.command)).toEqual(
            expect.arrayContaining([
              expect.stringContaining("bin/start.ts"),
              expect.stringMatching(/^java /),
            ]),
          );
          expect(await accepts(port)).toBe(true);
          expect(await accepts(dynamodbPort)).toBe(true);
          // Loopback only: the webhook server, fauxqs and DynamoDB Local, and nothing else listening.
          const listening = listeningAddresses(started.map((child) => child.pid));
          expect(listening).toEqual(
            expect.arrayContaining([`127.0.0.1:${port}`, `127.0.0.1:${dynamodbPort}`]),
          );
          expect(listening).toHaveLength(3);
          expect(listening.filter((address) => !address.startsWith("127.0.0.1:"))).toEqual([]);

          // Act: the signal to one process, not to its group (a terminal's Ctrl-C signals the whole group).
          process.kill(target === "npm" ? npmPid : (node?.pid as number), signal);

          // Assess: npm ends, and within a few seconds so has every process it started, and every port is closed.
          await npmExited;
          const deadline = Date.now() + 15_000;
          while (started.some((child) => running(child.pid)) && Date.now() < deadline) await sleep(100);
          expect(started.filter((child) => running(child.pid))).toEqual([]);
          // A socket of a process just ended can take a moment to stop answering on a busy machine.
          const closed = async (candidate: number) => {
            const until = Date.now() + 5_000;
            while ((await accepts(candidate)) && Date.now() < until) await sleep(200);
            return !(await accepts(candidate));
          };
          expect(await closed(port)).toBe(true);
          expect(await closed(dynamodbPort)).toBe(true);
          if (signal !== "SIGKILL") {
            expect(output.text()).toContain("portaltime: stopped");
            expect(existsSync(localStackFile(port))).toBe(false);
          }
        } finally {
          try {
            process.kill(-npmPid, "SIGKILL");
          } catch {
            // The group is gone.
          }
          for (const child of started) if (running(child.pid)) process.kill(child.pid, "SIGKILL");
        }
      },
      150_000,
    );
  },
);

/** A command run to its end: exit code and both outputs. */
async function runToEnd(command: string, args: string[], env: Record<string, string> = {}) {
  try {
    const { stdout, stderr } = await promisify(execFile)(command, args, {
      cwd: root,
      env: { ...process.env, ...env },
      // Within the test's own timeout, so a stack that starts instead of refusing is stopped (npm forwards SIGTERM).
      timeout: 30_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

describe("npm start, as a new user tries it", () => {
  it.each([
    ["--data-dir without a value, without --", ["start", "--data-dir"], "--data-dir needs a value"],
    ["an unknown option after --", ["start", "--", "--bogus"], "unknown option '--bogus'"],
    ["a stray argument after --", ["start", "--", "demo"], "unexpected argument 'demo'"],
  ])(
    "%s: one line saying why, the usage line, exit 2",
    async (_, args, reason) => {
      const { code, stderr } = await runToEnd("npm", args, { PORT: String(await freePort()) });

      expect(code).toBe(2);
      const lines = stderr
        .split("\n")
        .filter((line) => line.startsWith("portaltime:") || line.startsWith("usage:"));
      expect(lines).toEqual([
        `portaltime: ${reason}`,
        expect.stringMatching(/^usage: npm start -- \[--no-demo\]/),
      ]);
      expect(stderr).not.toMatch(/^\s+at /m);
    },
    60_000,
  );

  it("a webhook port in use: one line saying so, exit 1, nothing else started", async () => {
    // Prepare: the port held by another server.
    const holder = createServer().listen(0, "127.0.0.1");
    await new Promise((resolve) => holder.once("listening", resolve));
    const port = (holder.address() as { port: number }).port;

    try {
      // Act
      const { code, stdout, stderr } = await runToEnd(
        process.execPath,
        ["--import", "tsx", "bin/start.ts", "--no-demo"],
        { PORT: String(port) },
      );

      // Assess
      expect(code).toBe(1);
      expect(stderr.trim().split("\n")).toEqual([
        `portaltime: port ${port} on 127.0.0.1 is in use by another process (set PORT to use another)`,
      ]);
      expect(stdout).not.toContain("starting DynamoDB Local");
    } finally {
      holder.close();
    }
  }, 60_000);

  it("--data-dir: a restart reuses the table, does not replay the demo again and prints only new decisions; a refused delivery is one line", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "start-data-"));
    const startWith = async (...args: string[]) => {
      const port = await freePort();
      const child = spawn(
        process.execPath,
        ["--import", "tsx", "bin/start.ts", "--data-dir", dataDir, "--finalize-every", "1", ...args],
        { cwd: root, env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] },
      );
      let errors = "";
      child.stderr?.on("data", (chunk: Buffer) => {
        errors += chunk.toString();
      });
      const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
      return { port, child, output: watch(child), errors: () => errors, exited };
    };

    // Prepare: a first run replays the demo into the directory, and is refused one unsigned delivery.
    const first = await startWith();
    try {
      await first.output.until("portaltime: ready", 90_000);
      const refused = await fetch(`http://127.0.0.1:${first.port}/webhooks/bridge`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: "{}",
      });
      expect(refused.status).toBe(401);
      await sleep(500);
      expect(first.errors().trim().split("\n")).toEqual([
        "[WARN] delivery rejected format=bridge reason=missing-signature",
      ]);
    } finally {
      first.child.kill("SIGTERM");
    }
    expect(await first.exited).toBe(0);
    const firstEpisodes = first.output.text().match(/-> episode:/g)?.length ?? 0;
    expect(firstEpisodes).toBe(8);

    // Act: the same directory again.
    const second = await startWith();
    try {
      await second.output.until("portaltime: ready", 90_000);
      // One new patient's time, billable at the next finalizer run.
      const body = Buffer.from(
        JSON.stringify({
          schemaVersion: "1.0",
          patientId: "restart-1",
          facts: [
            {
              kind: "inquiry",
              id: "q1",
              at: "2026-11-02T14:00:00Z",
              author: "patient",
              diagnosisCodes: ["E11.9"],
            },
            {
              kind: "clinician-activity",
              id: "a1",
              inResponseTo: "q1",
              at: "2026-11-02T15:00:00Z",
              practitionerId: "dr-adams",
              minutes: 12,
              diagnosisCodes: ["E11.9"],
            },
            { kind: "consent", id: "c1", at: "2026-01-05T09:00:00Z", status: "active" },
          ],
        }),
      );
      const headers = signWithDevSecret(
        "bridge",
        {
          method: "POST",
          path: "/webhooks/bridge",
          rawQuery: "",
          body,
          headers: { "content-type": "application/json" },
        },
        new Date(),
      );
      const answer = await fetch(`http://127.0.0.1:${second.port}/webhooks/bridge`, {
        method: "POST",
        headers,
        body,
      });
      expect(answer.status).toBe(202);
      await second.output.until("-> episode: patient restart-1", 30_000);
    } finally {
      second.child.kill("SIGTERM");
    }
    expect(await second.exited).toBe(0);

    // Assess
    const text = second.output.text();
    expect(text).toContain(`table portaltime-local-episodes reused from ${dataDir}`);
    expect(text).toContain(`${firstEpisodes} decided episode(s) already in the table (not printed again)`);
    expect(text).toContain(`the demo week is already in ${dataDir} (not replayed again`);
    expect(text).not.toContain("replaying a synthetic week");
    // Only the new decision, not the stored ones again.
    expect(text.match(/-> episode: patient \S+/g)).toEqual(["-> episode: patient restart-1,"]);
    expect(text.match(/-> claim .*/g)).toEqual([expect.stringContaining("patient restart-1, 99422, 12 min")]);
  }, 200_000);
});
