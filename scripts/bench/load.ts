import { type ChildProcessByStdio, spawn } from "node:child_process";
import { Agent, request } from "node:http";
import { createServer } from "node:net";
import { createInterface } from "node:readline";
import type { Readable } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { DateTime } from "luxon";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { signWithDevSecret } from "../../bin/local/sign-delivery.js";
import { type ClaimLine, claimLineSchema } from "../../functions/domain/claim-line.js";
import { parseTenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes } from "../../functions/domain/engine.js";
import { canonicalJson } from "../../functions/domain/fact-digest.js";
import type { Fact } from "../../functions/domain/facts.js";
import { PROJECT_ROOT } from "../../lib/lambda-bundling.js";
import { markdownTable, type SectionResult } from "./context.js";
import { scaled } from "./scale.js";
import { fixed, inPool, quantile, seededRandom, shuffle } from "./stats.js";
import {
  countingClinicians,
  type SyntheticDelivery,
  type SyntheticEpisode,
  syntheticEpisode,
} from "./synthetic.js";

/** Two deliveries per patient, and a third (a nurse's reply) for every other one: 5,000 deliveries. */
const PATIENTS = scaled(2_000, 100);
/** Deliveries posted a second time (same webhook id and body), as a vendor retry would. */
const DUPLICATE_SHARE = 0.2;
const CONCURRENCY = 32;
const FINALIZE_EVERY_SECONDS = 1;
const READY_TIMEOUT_MS = 120_000;
/** After the last delivery: how long the pipeline gets to emit every expected line. */
const DRAIN_TIMEOUT_MS = 240_000;
/** Once every expected line is out: finalizer runs to wait for a line sent twice or an unexpected one. */
const QUIET_MS = 5_000;
const SEED = 20_260_312;
const tenant = parseTenantConfig(demoPractice);
const MINUTES = [3, 6, 9.5, 12, 18, 24, 35, 4.5] as const;

interface Outcome {
  requests: number;
  deliveries: number;
  duplicates: number;
  patients: number;
  postingMs: number;
  latencies: number[];
  statuses: Map<number, number>;
  drainMs: number;
  expected: number;
  received: number;
  lost: number;
  doubled: number;
  unexpected: number;
  mismatched: number;
}

/**
 * Section 8: 5,000 signed `bridge` deliveries for 2,000 patients, 20% of them posted twice (same webhook id and
 * body), shuffled, at concurrency 32 against `npm start`'s HTTP endpoint (the real ingest handler, the apply loop
 * on the inbox, the finalizer every second). The expected claim lines come from the domain engine on the
 * generated facts; the lines `npm start` prints from the claims queue must be exactly those.
 */
export async function measureLoad(progress: (message: string) => void): Promise<SectionResult> {
  const now = DateTime.now().setZone(tenant.timezone);
  const episodes = Array.from({ length: PATIENTS }, (_, i) =>
    syntheticEpisode({
      patientId: `load-${i}`,
      activityAt: now
        .startOf("day")
        .minus({ days: 12 + (i % 30) })
        .plus({ hours: 9 + (i % 9), minutes: i % 60 }),
      practitionerId: countingClinicians[i % countingClinicians.length] as string,
      minutes: MINUTES[i % MINUTES.length] as number,
      diagnosisCode: ["E11.9", "I10", "J45.909", "M54.50"][i % 4] as string,
      consent: i % 10 !== 9,
      nurseReply: i % 2 === 0,
      split: true,
    }),
  );
  const expected = expectedLines(episodes, now.toUTC().toISO() as string);
  const random = seededRandom(SEED);
  const deliveries = episodes.flatMap((episode) => episode.deliveries);
  const duplicates = shuffle([...deliveries], random).slice(
    0,
    Math.round(deliveries.length * DUPLICATE_SHARE),
  );
  const posts = shuffle([...deliveries, ...duplicates], random);
  progress(
    `load: ${deliveries.length} deliveries for ${PATIENTS} patients, ${posts.length - deliveries.length} posted twice, ` +
      `${expected.size} expected claim lines; starting npm start`,
  );

  const server = await startServer();
  try {
    progress(`load: posting ${posts.length} requests at concurrency ${CONCURRENCY} to ${server.url}`);
    const agent = new Agent({ keepAlive: true, maxSockets: CONCURRENCY });
    const latencies: number[] = [];
    const statuses = new Map<number, number>();
    const postingStarted = performance.now();
    await inPool(posts, CONCURRENCY, async (delivery) => {
      const started = performance.now();
      const status = await post(agent, server.url, delivery);
      latencies.push(performance.now() - started);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    });
    const postingEnded = performance.now();
    agent.destroy();
    progress(
      `load: posted in ${fixed((postingEnded - postingStarted) / 1000, 1)} s; waiting for the claim lines`,
    );

    const received = await server.claimsWhen(expected, postingEnded, progress);
    const seen = new Map<string, ClaimLine[]>();
    for (const line of received.lines) seen.set(lineKey(line), [...(seen.get(lineKey(line)) ?? []), line]);
    return report({
      requests: posts.length,
      deliveries: deliveries.length,
      duplicates: posts.length - deliveries.length,
      patients: PATIENTS,
      postingMs: postingEnded - postingStarted,
      latencies,
      statuses,
      drainMs: received.lastLineAt - postingEnded,
      expected: expected.size,
      received: received.lines.length,
      lost: [...expected.keys()].filter((key) => !seen.has(key)).length,
      doubled: [...seen.values()].reduce((sum, lines) => sum + lines.length - 1, 0),
      unexpected: [...seen.keys()].filter((key) => !expected.has(key)).length,
      mismatched: [...seen].filter(([key, lines]) => {
        const want = expected.get(key);
        return want !== undefined && lines.some((line) => canonicalJson(line) !== want);
      }).length,
    });
  } finally {
    await server.stop();
  }
}

const lineKey = (line: ClaimLine): string => `${line.claimLineId}#r${line.revision}`;

/**
 * The claim lines the engine owes for the generated facts, by claimLineId and revision (canonical JSON). Each
 * patient's facts are checked first: any subset of them (a finalizer run may see a patient with only some
 * deliveries applied) owes either nothing or exactly the final lines, so no interleaving of deliveries and
 * finalizer runs can rightly produce a line the final set does not have.
 */
function expectedLines(episodes: readonly SyntheticEpisode[], asOf: string): Map<string, string> {
  const expected = new Map<string, string>();
  for (const episode of episodes) {
    const facts = episode.deliveries.flatMap((delivery) => delivery.facts);
    const lines = decideEpisodes(facts, tenant, asOf).owed;
    const owed = canonicalJson(lines);
    for (let mask = 1; mask < 2 ** facts.length - 1; mask++) {
      const subset: Fact[] = facts.filter((_, index) => (mask >> index) & 1);
      const partial = decideEpisodes(subset, tenant, asOf).owed;
      if (partial.length > 0 && canonicalJson(partial) !== owed) {
        throw new Error(`load input: ${episode.patientId} owes different lines when seen in part`);
      }
    }
    for (const line of lines) expected.set(lineKey(line), canonicalJson(line));
  }
  return expected;
}

async function post(agent: Agent, baseUrl: string, delivery: SyntheticDelivery): Promise<number> {
  const body = Buffer.from(JSON.stringify(delivery.body));
  const headers = signWithDevSecret(
    "bridge",
    {
      method: "POST",
      path: "/webhooks/bridge",
      rawQuery: "",
      body,
      headers: { "content-type": "application/json", "webhook-id": delivery.webhookId },
    },
    new Date(),
  );
  return new Promise((resolve, reject) => {
    const outgoing = request(
      `${baseUrl}/webhooks/bridge`,
      { method: "POST", agent, headers: { ...headers, "content-length": String(body.byteLength) } },
      (response) => {
        response.resume();
        response.once("end", () => resolve(response.statusCode ?? 0));
        response.once("error", reject);
      },
    );
    outgoing.once("error", reject);
    outgoing.end(body);
  });
}

interface RunningServer {
  url: string;
  /** Waits until every expected line is out and no more came for a while (or the drain timeout). */
  claimsWhen(
    expected: ReadonlyMap<string, string>,
    since: number,
    progress: (message: string) => void,
  ): Promise<{ lines: ClaimLine[]; lastLineAt: number }>;
  stop(): Promise<void>;
}

/** `npm start --no-demo` on a free loopback port, as one Node process (tsx's loader) so signals reach it. */
async function startServer(): Promise<RunningServer> {
  const port = await freePort();
  const child: ChildProcessByStdio<null, Readable, Readable> = spawn(
    process.execPath,
    ["--import", "tsx", "bin/start.ts", "--no-demo", "--finalize-every", String(FINALIZE_EVERY_SECONDS)],
    { cwd: PROJECT_ROOT, env: { ...process.env, PORT: String(port) }, stdio: ["ignore", "pipe", "pipe"] },
  );
  const killNow = () => child.kill("SIGKILL");
  process.once("exit", killNow);
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const lines: ClaimLine[] = [];
  let lastLineAt = performance.now();
  let ready = false;
  const stderrTail: string[] = [];
  createInterface({ input: child.stderr }).on("line", (line) => {
    stderrTail.push(line);
    if (stderrTail.length > 20) stderrTail.shift();
  });
  createInterface({ input: child.stdout }).on("line", (line) => {
    if (line.startsWith("portaltime: ready")) ready = true;
    if (!line.startsWith("{")) return;
    lines.push(claimLineSchema.parse(JSON.parse(line)));
    lastLineAt = performance.now();
  });

  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill("SIGINT");
      const escalation = setTimeout(killNow, 20_000);
      await exited;
      clearTimeout(escalation);
    }
    process.removeListener("exit", killNow);
  };
  const deadline = Date.now() + READY_TIMEOUT_MS;
  while (!ready) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await stop();
      throw new Error(`npm start did not become ready:\n${stderrTail.join("\n")}`);
    }
    await sleep(100);
  }
  return {
    url: `http://127.0.0.1:${port}`,
    stop,
    claimsWhen: async (expected, since, progress) => {
      const drainDeadline = since + DRAIN_TIMEOUT_MS;
      let reported = 0;
      for (;;) {
        const have = new Set(lines.map(lineKey));
        const complete = [...expected.keys()].every((key) => have.has(key));
        const now = performance.now();
        if ((complete && now - lastLineAt >= QUIET_MS) || now > drainDeadline) {
          return { lines: [...lines], lastLineAt };
        }
        if (now - since - reported >= 10_000) {
          reported = now - since;
          progress(`  ${lines.length}/${expected.size} claim lines after ${fixed(reported / 1000, 0)} s`);
        }
        await sleep(250);
      }
    },
  };
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => server.once("error", reject).listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === "string") throw new Error("no TCP port assigned");
  return address.port;
}

function report(outcome: Outcome): SectionResult {
  const exact =
    outcome.lost === 0 && outcome.doubled === 0 && outcome.unexpected === 0 && outcome.mismatched === 0;
  const accepted = outcome.statuses.get(202) ?? 0;
  const throughput = outcome.requests / (outcome.postingMs / 1000);
  const details = [
    `${outcome.deliveries} signed \`bridge\` deliveries for ${outcome.patients} patients (an inquiry with a ` +
      "consent for 90%, a clinician's reply of 3-35 minutes by one of five counting clinicians, and for half of " +
      "them a nurse's uncounted reply; one delivery each, so a patient's facts arrive in any order), dated 12-41 " +
      `days ago; ${outcome.duplicates} of them (${fixed(DUPLICATE_SHARE * 100, 0)}%) posted a second time with the ` +
      `same webhook id and body; all ${outcome.requests} requests shuffled and posted at concurrency ${CONCURRENCY} ` +
      "(node:http keep-alive pool, each request signed when sent) to `npm start -- --no-demo --finalize-every " +
      `${FINALIZE_EVERY_SECONDS}\` on 127.0.0.1, which runs the ingest handler, the apply loop on the inbox and the ` +
      "finalizer in one Node process with its own DynamoDB Local and SQS server. Expected lines: the domain engine " +
      "(`decideEpisodes`) on the generated facts; every patient's facts were checked to owe either nothing or " +
      "exactly those lines in any partial view, so no interleaving can rightly emit another. Received lines: the " +
      `JSON lines \`npm start\` prints from the claims queue, collected until all expected lines were out and ` +
      `${QUIET_MS / 1000} s passed without another.`,
    "",
    markdownTable(
      ["measure", "value"],
      [
        [
          "requests (deliveries + duplicates)",
          `${outcome.requests} (${outcome.deliveries} + ${outcome.duplicates})`,
        ],
        ["answers", [...outcome.statuses].map(([status, count]) => `${status}: ${count}`).join(", ")],
        ["posting time", `${fixed(outcome.postingMs / 1000, 1)} s`],
        ["throughput", `${fixed(throughput, 0)} requests/s`],
        [
          "latency p50 / p99",
          `${fixed(quantile(outcome.latencies, 0.5), 1)} / ${fixed(quantile(outcome.latencies, 0.99), 1)} ms`,
        ],
        ["last claim line after the last request", `${fixed(outcome.drainMs / 1000, 1)} s`],
        ["claim lines expected / received", `${outcome.expected} / ${outcome.received}`],
        [
          "lost / doubled / unexpected / different",
          `${outcome.lost} / ${outcome.doubled} / ${outcome.unexpected} / ${outcome.mismatched}`,
        ],
      ],
    ),
  ].join("\n");
  return {
    title: "8. Load",
    findings: [
      {
        measure: `Load: ${outcome.requests} requests at concurrency ${CONCURRENCY}, throughput and latency p50 / p99`,
        value: `${fixed(throughput, 0)} req/s, ${fixed(quantile(outcome.latencies, 0.5), 1)} / ${fixed(quantile(outcome.latencies, 0.99), 1)} ms; ${accepted} accepted`,
        target: "all accepted (throughput: no target)",
        met: accepted === outcome.requests,
      },
      {
        measure: "Load: claim lines lost / doubled (unexpected / different)",
        value: `${outcome.lost} / ${outcome.doubled} (${outcome.unexpected} / ${outcome.mismatched}) of ${outcome.expected} expected`,
        target: "0 / 0 (0 / 0)",
        met: exact,
      },
    ],
    details,
    limits: exact
      ? undefined
      : `Load: ${outcome.lost} expected lines never appeared within ${DRAIN_TIMEOUT_MS / 1000} s of the last ` +
        `request, ${outcome.doubled} appeared more than once, ${outcome.unexpected} were not expected and ` +
        `${outcome.mismatched} differed from the expected line with the same id and revision.`,
  };
}
