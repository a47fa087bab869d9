import { Console } from "node:console";
import { existsSync, writeFileSync } from "node:fs";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import { join } from "node:path";
import { ListTablesCommand } from "@aws-sdk/client-dynamodb";
import { DateTime } from "luxon";
import type { ClaimLine } from "../functions/domain/claim-line.js";
import { parseTenantConfig } from "../functions/domain/config.js";
import { episodeTableName } from "../functions/store/table-design.js";
import { type LocalAws, startLocalAws } from "./local/aws-servers.js";
import { demoPractice } from "./local/demo-practice.js";
import { demoWeek } from "./local/demo-week.js";
import { DEV_REVIEW_TOKEN } from "./local/dev-secrets.js";
import { localStackFile, removeLocalStackFile, writeLocalStackFile } from "./local/local-stack-file.js";
import { oneLineLogConsole } from "./local/one-line-logs.js";
import { type EpisodeRecord, LocalPipeline } from "./local/pipeline.js";
import { createResources, localDynamodbClient } from "./local/resources.js";
import { headersOf, isReviewPath, serveReview } from "./local/review-server.js";
import { StartOptionsError, startOptions, startUsage } from "./local/start-options.js";

/**
 * `npm start`: the whole of portaltime on this machine, no AWS account needed. DynamoDB Local and the
 * SQS-compatible server, the ingest handler at http://localhost:$PORT/webhooks/{format} exactly as API Gateway
 * invokes it, the apply handler on the inbox, the finalizer on a timer, and every claim line printed as the
 * clearinghouse would receive it. By default a synthetic practice's week is replayed first (--no-demo skips it).
 */
let options: ReturnType<typeof startOptions>;
try {
  options = startOptions(process.argv.slice(2), process.env);
} catch (error) {
  if (!(error instanceof StartOptionsError)) throw error;
  process.stderr.write(`portaltime: ${error.message}\n${startUsage}\n`);
  process.exit(2);
}
const port = Number(process.env.PORT ?? 3000);
const { finalizeEverySeconds, dataDir } = options;
const out = process.stdout;
const say = (line: string) => out.write(`${line}\n`);
const PREFIX = "portaltime-local";
/** Written into --data-dir once the demo week is in its table, so a restart does not replay it again. */
const demoMarker = dataDir === undefined ? undefined : join(dataDir, "portaltime-demo-replayed");

// The handlers log through the global console (Powertools dev mode): keep their logs on stderr, one line an
// entry unless --verbose.
process.env.POWERTOOLS_DEV = "true";
process.env.POWERTOOLS_LOG_LEVEL = options.verbose ? "INFO" : "WARN";
globalThis.console = options.verbose
  ? new Console({ stdout: process.stderr, stderr: process.stderr })
  : oneLineLogConsole(process.stderr);

let ready = false;
let stopping = false;
/** Set once DynamoDB Local and the SQS-compatible server answer and the table and queues exist. */
let stack: { aws: LocalAws; live: LocalPipeline } | undefined;
const timers: NodeJS.Timeout[] = [];
/** Where `npm run ops -- ... --local` finds this stack (bin/local/local-stack-file.ts), once it is ready. */
let stackFile: string | undefined;

const server = createServer((request, response) => {
  void route(request, response).catch((error: unknown) => {
    console.error("local server error", error);
    if (!response.headersSent) response.writeHead(500, { "content-type": "application/problem+json" });
    response.end(JSON.stringify({ type: "about:blank", title: "Internal error", status: 500 }));
  });
});

async function route(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? "/", "http://localhost");
  if (request.method === "GET" && url.pathname === "/health") {
    response.writeHead(ready ? 200 : 503, { "content-type": "application/json" });
    response.end(JSON.stringify({ status: ready ? "ok" : "starting" }));
    return;
  }
  const match = /^\/webhooks\/([^/]+)$/.exec(url.pathname);
  if (stack === undefined) {
    response.writeHead(503, { "content-type": "application/problem+json", "retry-after": "5" });
    response.end(JSON.stringify({ type: "about:blank", title: "Starting", status: 503 }));
    return;
  }
  if (isReviewPath(url.pathname)) {
    await serveReview(request, response, stack.live.review, DEV_REVIEW_TOKEN);
    return;
  }
  if (request.method !== "POST" || match === null) {
    response.writeHead(404, { "content-type": "application/problem+json" });
    response.end(JSON.stringify({ type: "about:blank", title: "Not found", status: 404 }));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).byteLength;
    // API Gateway's own payload limit: beyond it the request never reaches the function.
    if (size > 10 * 1024 * 1024) {
      response.writeHead(413, { "content-type": "application/problem+json" });
      response.end(JSON.stringify({ type: "about:blank", title: "Payload too large", status: 413 }));
      return;
    }
    chunks.push(chunk as Buffer);
  }
  const headers = headersOf(request);
  const answer = await stack.live.invokeIngest({
    format: decodeURIComponent(match[1] as string),
    headers,
    body: Buffer.concat(chunks),
  });
  response.writeHead(answer.statusCode, answer.headers as Record<string, string>);
  response.end(answer.body);
}

/** A loop that runs `work` every `ms`, one run at a time, until stopping. */
function every(ms: number, work: () => Promise<void>): void {
  let running = false;
  timers.push(
    setInterval(() => {
      if (running || stopping) return;
      running = true;
      work()
        .catch((error: unknown) => console.error("local loop error", error))
        .finally(() => {
          running = false;
        });
    }, ms),
  );
}

const money = (cents: number) => `$${(cents / 100).toFixed(2)}`;
const printClaim = (line: ClaimLine) => {
  say(JSON.stringify(line));
  say(
    `  -> claim ${line.action} r${line.revision}: patient ${line.patientId}, ${line.procedureCode}, ${line.totalMinutes} min, ` +
      `date of service ${line.serviceDate}, rendering NPI ${line.renderingProviderNpi}, ${money(line.chargeCents)}`,
  );
};
/** The window's last local day (its end is the exclusive midnight after it). */
const lastDay = (windowEnd: string) =>
  DateTime.fromISO(windowEnd, { setZone: true }).minus({ milliseconds: 1 }).toISODate();
/** Each episode's last printed summary: a decision is printed when it is new or changed. */
const printed = new Map<string, string>();
const episodeSummary = (episode: EpisodeRecord) =>
  `  -> episode: patient ${episode.patientId}, ${episode.family}, ${episode.windowStart.slice(0, 10)}..` +
  `${lastDay(episode.windowEnd)}, ${episode.totalMinutes} min: ${episode.outcome}` +
  (episode.reasons.length > 0 ? ` (${episode.reasons.join(", ")})` : "");
const printEpisode = (episode: EpisodeRecord) => {
  const summary = episodeSummary(episode);
  if (printed.get(episode.episodeId) === summary) return;
  printed.set(episode.episodeId, summary);
  say(summary);
};

async function finalizeAndPrint(live: LocalPipeline): Promise<void> {
  await live.applyInbox();
  const report = await live.finalize();
  if (report.patientsRechecked > 0) {
    const { version } = await live.currentConfig();
    say(
      `portaltime: configuration version ${version}: ${report.patientsRechecked} patient(s) decided again (R18)`,
    );
  }
  for (const line of await live.takeClaims()) printClaim(line);
  if (report.patientsDecided > 0) for (const episode of await live.decidedEpisodes()) printEpisode(episode);
  if (report.unknownClinicianMinutes > 0)
    say(
      `  -> ${report.unknownClinicianMinutes} min by clinicians the roster does not hold on those dates: ` +
        "unattributed until a roster that holds them is pushed (npm run config -- push FILE --local)",
    );
}

async function replayDemo(live: LocalPipeline, demo: LocalPipeline, timezone: string): Promise<void> {
  const deliveries = demoWeek(new Date(), timezone);
  say(`portaltime: replaying a synthetic week of a small practice (${deliveries.length} deliveries) ...`);
  for (const [index, delivery] of deliveries.entries()) {
    demo.setClock(new Date(delivery.at));
    const answer = await demo.post(delivery);
    if (answer.statusCode >= 300) say(`  delivery ${index} refused: ${answer.statusCode} ${answer.body}`);
    if ((index + 1) % 10 === 0 || index === deliveries.length - 1)
      say(`  ${index + 1}/${deliveries.length} delivered`);
  }
  await demo.applyInbox();
  say("portaltime: the demo week is in; the finalizer decides its episodes (window closed and settled):");
  await finalizeAndPrint(live);
}

async function stop(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  say(`portaltime: ${signal}, stopping ...`);
  if (stackFile !== undefined) removeLocalStackFile(stackFile);
  for (const timer of timers) clearInterval(timer);
  server.close();
  // Stopped during startup, the servers not yet answering: the 'exit' hooks of aws-servers.ts kill them.
  await stack?.aws.stop();
  say("portaltime: stopped");
  process.exit(0);
}
process.on("SIGINT", () => void stop("SIGINT"));
process.on("SIGTERM", () => void stop("SIGTERM"));

// The webhook port first: if it is taken, say so before starting anything else.
const listening = await new Promise<number>((resolve) => {
  server.once("error", (error: NodeJS.ErrnoException) => {
    const reason =
      error.code === "EADDRINUSE"
        ? "is in use by another process (set PORT to use another)"
        : `: ${error.message}`;
    process.stderr.write(`portaltime: port ${port} on 127.0.0.1 ${reason}\n`);
    process.exit(1);
  });
  server.listen(port, "127.0.0.1", () => {
    const address = server.address();
    resolve(typeof address === "object" && address !== null ? address.port : port);
  });
});

say("portaltime: starting DynamoDB Local and the SQS-compatible server ...");
const aws = await startLocalAws({ ...(dataDir === undefined ? {} : { dataDir }) });
if (!aws.dynamodbLoopbackOnly)
  say(
    "portaltime: DynamoDB Local listens on every interface (no javac found to build its 127.0.0.1 launcher)",
  );
const endpoints = { dynamodbEndpoint: aws.dynamodbEndpoint, sqsEndpoint: aws.sqsEndpoint };
const reused = await tableExists(aws.dynamodbEndpoint, episodeTableName(PREFIX));
const resources = await createResources({ ...endpoints, prefix: PREFIX });
const tenant = parseTenantConfig(demoPractice);
const live = new LocalPipeline({ endpoints, resources, tenant });
say(
  `portaltime: table ${resources.tableName}${reused ? ` reused from ${dataDir}` : ""}, queues ${resources.inboxUrl.split("/").pop()} and ${resources.claimsUrl.split("/").pop()}`,
);
if (reused) {
  // What the table already holds was printed by an earlier run: from here on, only new or changed decisions.
  const episodes = await live.decidedEpisodes();
  for (const episode of episodes) printed.set(episode.episodeId, episodeSummary(episode));
  say(`portaltime: ${episodes.length} decided episode(s) already in the table (not printed again)`);
}
stack = { aws, live };
if (options.demo && demoMarker !== undefined && existsSync(demoMarker))
  say(`portaltime: the demo week is already in ${dataDir} (not replayed again; --no-demo skips this line)`);
else if (options.demo) {
  await replayDemo(live, new LocalPipeline({ endpoints, resources, tenant }), tenant.timezone);
  if (demoMarker !== undefined) writeFileSync(demoMarker, `${new Date().toISOString()}\n`);
}
every(250, async () => void (await live.applyInbox()));
every(finalizeEverySeconds * 1000, () => finalizeAndPrint(live));
// Discoverable before /health says ready, so whoever waits for "ready" finds the file.
try {
  const file = localStackFile(listening);
  writeLocalStackFile(file, {
    dynamodbEndpoint: aws.dynamodbEndpoint,
    tableName: resources.tableName,
    sqsEndpoint: aws.sqsEndpoint,
    prefix: "portaltime-local",
  });
  stackFile = file;
  // Any other way out (an uncaught error, process.exit) takes the file with it; a kill -9 leaves it, and ops
  // then finds its endpoint not answering.
  process.once("exit", () => removeLocalStackFile(file));
} catch (error) {
  say(`portaltime: npm run ops -- --local will not find this stack: ${(error as Error).message}`);
}
ready = true;
say(
  `portaltime: ready. Webhooks: POST http://localhost:${listening}/webhooks/{fhir,medplum,elation,healthie,bridge}`,
);
say(
  `portaltime: review: http://localhost:${listening}/review/ (API under /review, token ${DEV_REVIEW_TOKEN})`,
);
say(
  `portaltime: health: GET http://localhost:${listening}/health. The finalizer runs every ${finalizeEverySeconds} s. Ctrl-C stops.`,
);

async function tableExists(endpoint: string, name: string): Promise<boolean> {
  const dynamodb = localDynamodbClient(endpoint);
  try {
    let start: string | undefined;
    do {
      const page = await dynamodb.send(new ListTablesCommand({ ExclusiveStartTableName: start }));
      if (page.TableNames?.includes(name)) return true;
      start = page.LastEvaluatedTableName;
    } while (start !== undefined);
    return false;
  } finally {
    dynamodb.destroy();
  }
}
