import { Console } from "node:console";
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { Writable } from "node:stream";
import { startLocalAws } from "../bin/local/aws-servers.js";
import { PROJECT_ROOT } from "../lib/lambda-bundling.js";
import { measureApply } from "./bench/apply.js";
import { measureColdStart } from "./bench/cold-start.js";
import { benchContext, type SectionResult } from "./bench/context.js";
import { measureFinalizer } from "./bench/finalizer.js";
import { measureFinalizerFamilies } from "./bench/finalizer-families.js";
import { measureFinalizerHistory } from "./bench/finalizer-history.js";
import { measureIngest } from "./bench/ingest.js";
import { measureLoad } from "./bench/load.js";
import { currentLoadAverage, renderMarkdown, renderTable } from "./bench/report.js";
import { measureRequests } from "./bench/requests.js";
import { BENCH_SCALE } from "./bench/scale.js";

/**
 * `npm run bench`: measures the performance targets of ARCHITECTURE.md (requests per delivery, ingest overhead,
 * apply throughput, finalizer scaling, finalizer with history and cost per patient, with every family on, cold start, load) against
 * local servers it starts and stops itself, prints a summary table and writes docs/BENCHMARKS.md (a run at a
 * reduced BENCH_SCALE writes under .local/ instead). Progress goes to stderr. Not part of `npm test`.
 */
const startedAt = new Date();
const loadAverageAtStart = currentLoadAverage();
const clock = performance.now();
const progress = (message: string) =>
  process.stderr.write(
    `[bench ${((performance.now() - clock) / 1000).toFixed(0).padStart(3)} s] ${message}\n`,
  );

// The handlers log and emit metrics as deployed (INFO, EMF) through the global console (Powertools dev mode),
// which goes to a sink that discards it: their cost is measured, their output kept out of the report.
process.env.POWERTOOLS_DEV = "true";
process.env.POWERTOOLS_LOG_LEVEL = "INFO";
const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
globalThis.console = new Console({ stdout: discard, stderr: discard });

// Servers this run started are stopped by their own exit hooks (aws-servers.ts, load.ts) once we exit.
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.once(signal, () => {
    progress(`${signal}: stopping`);
    process.exit(code);
  });
}

if (BENCH_SCALE !== 1)
  progress(`BENCH_SCALE=${BENCH_SCALE}: a reduced run to check the bench; its report goes under .local/`);

const sections: SectionResult[] = [];
// Cold start first: fresh Node processes time best with no servers competing for the CPU.
const coldStart = await measureColdStart(progress);

progress("starting DynamoDB Local and the SQS-compatible server");
const aws = await startLocalAws();
try {
  const context = benchContext(
    { dynamodbEndpoint: aws.dynamodbEndpoint, sqsEndpoint: aws.sqsEndpoint },
    progress,
  );
  sections.push(await measureRequests(context));
  sections.push(await measureIngest(context));
  sections.push(await measureApply(context));
  sections.push(await measureFinalizer(context));
  sections.push(await measureFinalizerHistory(context));
  sections.push(await measureFinalizerFamilies(context));
} finally {
  await aws.stop();
}
sections.push(coldStart);
sections.push(await measureLoad(progress));

const durationMs = performance.now() - clock;
const command =
  process.env.npm_lifecycle_event === "bench"
    ? "npm run bench"
    : `npx tsx ${relative(PROJECT_ROOT, process.argv[1] ?? "")}`;
// Only a full-scale run is a record of the targets.
const file =
  BENCH_SCALE === 1
    ? join(PROJECT_ROOT, "docs", "BENCHMARKS.md")
    : join(PROJECT_ROOT, ".local", `benchmarks-scale-${BENCH_SCALE}.md`);
mkdirSync(dirname(file), { recursive: true });
writeFileSync(
  file,
  renderMarkdown(sections, { startedAt, durationMs, command, loadAverageAtStart, scale: BENCH_SCALE }),
);
process.stdout.write(`${renderTable(sections)}\n\n`);
progress(`done in ${(durationMs / 1000).toFixed(0)} s; wrote ${relative(PROJECT_ROOT, file)}`);
