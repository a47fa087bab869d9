import { execFile } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { gzipSync } from "node:zlib";
import { build, type Metafile } from "esbuild";
import { platformVariables, settingVariables } from "../../functions/settings.js";
import { formatNames } from "../../functions/vendors/format.js";
import {
  esbuildOptions,
  type FunctionName,
  functionEntries,
  PROJECT_ROOT,
} from "../../lib/lambda-bundling.js";
import { markdownTable, type SectionResult } from "./context.js";
import { profileModuleLoad } from "./load-profile.js";
import { scaled } from "./scale.js";
import { fixed, median, ratio } from "./stats.js";

const WARM_UP_RUNS = 2;
const RUNS = scaled(15, 3);
/** Profiled loads per bundle when a function misses the target, to show where its time goes. */
const PROFILED_RUNS = scaled(7, 2);
const TARGET_RATIO = 2;
const BASELINE = "sqs-only";
type Bundle = FunctionName | typeof BASELINE;

/**
 * Every setting any function reads at init (functions/runtime-config.ts), placeholders: nothing is called at
 * load. A setting the configuration comes to require is named by the failing load.
 */
const lambdaEnvironment = {
  AWS_REGION: "us-east-1",
  [settingVariables.tableName]: "portaltime-episodes",
  [settingVariables.inboxQueueUrl]: "https://sqs.us-east-1.amazonaws.com/000000000000/portaltime-inbox.fifo",
  [settingVariables.inboxDlqUrl]:
    "https://sqs.us-east-1.amazonaws.com/000000000000/portaltime-inbox-dlq.fifo",
  [settingVariables.claimsQueueUrl]:
    "https://sqs.us-east-1.amazonaws.com/000000000000/portaltime-claims.fifo",
  [settingVariables.enabledFormats]: formatNames.join(","),
  [settingVariables.secretPrefix]: "portaltime/vendors",
  [platformVariables.metricsNamespace]: "portaltime",
  [platformVariables.logLevel]: "INFO",
};

/** A fresh process's environment: only PATH and the functions' settings, nothing inherited from the bench. */
const environment = (): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, ...lambdaEnvironment });

/**
 * Imports the module named by BENCH_MODULE and prints the import's wall time and the CPU time the process spent
 * on it (all threads), in ms. Other work on the machine lengthens the first and hardly the second.
 */
const loader = [
  "const started = performance.now();",
  "const cpu = process.cpuUsage();",
  "await import(process.env.BENCH_MODULE);",
  "const used = process.cpuUsage(cpu);",
  'process.stdout.write(String(performance.now() - started) + " " + String((used.user + used.system) / 1000));',
].join("\n");

interface Load {
  wallMs: number;
  cpuMs: number;
}

interface Built {
  name: Bundle;
  file: string;
  bytes: number;
  gzipBytes: number;
  metafile: Metafile;
}

/**
 * Section 7: each function bundled exactly as the stack bundles it (lib/lambda-bundling.ts), and a baseline
 * handler that only imports the SQS client bundled with the same settings; module load (parse, evaluate, init
 * code) timed in fresh Node processes with the deployed NODE_OPTIONS, in rotating order, medians.
 */
export async function measureColdStart(progress: (message: string) => void): Promise<SectionResult> {
  const outdir = mkdtempSync(join(tmpdir(), "portaltime-bench-bundles-"));
  try {
    const names: Bundle[] = [BASELINE, ...(Object.keys(functionEntries) as FunctionName[])];
    progress(`cold start: bundling ${names.join(", ")}`);
    const built = await Promise.all(names.map((name) => bundle(name, outdir)));
    progress(
      `cold start: ${WARM_UP_RUNS} warm-up + ${RUNS} module loads of each bundle in fresh Node processes`,
    );
    const samples = new Map<Bundle, Load[]>(names.map((name) => [name, []]));
    for (let run = 0; run < WARM_UP_RUNS + RUNS; run++) {
      for (let k = 0; k < built.length; k++) {
        const target = built[(run + k) % built.length] as Built;
        const load = await loadOnce(target.file);
        if (run >= WARM_UP_RUNS) samples.get(target.name)?.push(load);
      }
    }
    const ratios = loadRatios(samples);
    const missed = built.filter((b) => b.name !== BASELINE && !withinTarget(ratios(b.name)));
    const profiles = new Map<Bundle, Map<string, number>>();
    if (missed.length > 0) {
      const profiled = [built[0] as Built, ...missed];
      progress(
        `cold start: ${PROFILED_RUNS} profiled loads each of the SQS-only bundle and ${missed.map((b) => b.name).join(", ")}`,
      );
      const runs = new Map<Bundle, Array<Map<string, number>>>(profiled.map((b) => [b.name, []]));
      for (let run = 0; run < PROFILED_RUNS; run++) {
        for (let k = 0; k < profiled.length; k++) {
          const target = profiled[(run + k) % profiled.length] as Built;
          runs.get(target.name)?.push(await profileModuleLoad(target.file, environment()));
        }
      }
      for (const [name, parts] of runs) profiles.set(name, medianParts(parts));
    }
    return report(built, samples, profiles);
  } finally {
    rmSync(outdir, { recursive: true, force: true });
  }
}

/** Each part's median over the runs (a part a run did not sample counts as 0 there). */
function medianParts(runs: ReadonlyArray<Map<string, number>>): Map<string, number> {
  const parts = new Set(runs.flatMap((run) => [...run.keys()]));
  return new Map([...parts].map((part) => [part, median(runs.map((run) => run.get(part) ?? 0))]));
}

async function bundle(name: Bundle, outdir: string): Promise<Built> {
  const options =
    name === BASELINE
      ? {
          ...esbuildOptions("ingest", outdir),
          entryPoints: [join(PROJECT_ROOT, "scripts/bench/sqs-only-handler.ts")],
          outfile: join(outdir, BASELINE, "index.mjs"),
        }
      : esbuildOptions(name, outdir);
  const { metafile } = await build({ ...options, metafile: true });
  const file = options.outfile as string;
  const code = readFileSync(file);
  return { name, file, bytes: code.length, gzipBytes: gzipSync(code).length, metafile };
}

async function loadOnce(file: string): Promise<Load> {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ["--enable-source-maps", "--input-type=module", "--eval", loader],
    { env: { ...environment(), BENCH_MODULE: pathToFileURL(file).href } },
  );
  const [wallMs, cpuMs] = stdout.split(" ").map(Number) as [number, number];
  return { wallMs, cpuMs };
}

/** Median wall and CPU time of each bundle's load, and their ratios to the SQS-only handler's. */
function loadRatios(samples: ReadonlyMap<Bundle, Load[]>) {
  const medianOf = (name: Bundle, pick: (load: Load) => number) =>
    median((samples.get(name) ?? []).map(pick));
  return (name: Bundle) => {
    const wallMs = medianOf(name, (load) => load.wallMs);
    const cpuMs = medianOf(name, (load) => load.cpuMs);
    return {
      wallMs,
      cpuMs,
      wallRatio: wallMs / medianOf(BASELINE, (load) => load.wallMs),
      cpuRatio: cpuMs / medianOf(BASELINE, (load) => load.cpuMs),
    };
  };
}

/** Met only when both the wall-time and the CPU-time medians are within the target. */
const withinTarget = (ratios: { wallRatio: number; cpuRatio: number }): boolean =>
  ratios.wallRatio <= TARGET_RATIO && ratios.cpuRatio <= TARGET_RATIO;

/** Minified bytes in the bundle by npm package (portaltime's own code as one). */
function bytesByPackage(metafile: Metafile): Array<[string, number]> {
  const byPackage = new Map<string, number>();
  for (const output of Object.values(metafile.outputs)) {
    for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
      const owner = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input)?.[1] ?? "(portaltime)";
      byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput);
    }
  }
  return [...byPackage].sort((a, b) => b[1] - a[1]);
}

const kib = (bytes: number) => `${fixed(bytes / 1024, 1)} KiB`;

function report(
  built: readonly Built[],
  samples: ReadonlyMap<Bundle, Load[]>,
  profiles: ReadonlyMap<Bundle, Map<string, number>>,
): SectionResult {
  const ratios = loadRatios(samples);
  const baseline = ratios(BASELINE);
  const baselineBytes = built.find((b) => b.name === BASELINE)?.bytes ?? 0;
  const functions = built.filter((b) => b.name !== BASELINE);
  const details = [
    "Each bundle is built with esbuild from `esbuildOptions` in lib/lambda-bundling.ts (ESM, minified, tree-shaken, " +
      "AWS SDK bundled, source map); the baseline is scripts/bench/sqs-only-handler.ts with the same settings. " +
      `Module load = \`await import()\` of the bundle in a fresh \`node --enable-source-maps\` process (Node ` +
      `${process.version}, as deployed) with the functions' runtime configuration in the environment, timed as ` +
      "wall time and as the CPU time the process spent on it (all threads; other work on the machine stretches the " +
      `first, hardly the second); ${WARM_UP_RUNS} warm-up and ${RUNS} timed runs per bundle in rotating order; ` +
      "medians. The target counts as met when both ratios are within it.",
    "",
    markdownTable(
      [
        "bundle",
        "size",
        "gzip",
        "load p50 (wall)",
        "wall min-max",
        "load p50 (CPU)",
        "/ SQS-only (wall, CPU)",
        "largest packages (minified)",
      ],
      built.map((b) => {
        const walls = (samples.get(b.name) ?? []).map((load) => load.wallMs);
        const r = ratios(b.name);
        return [
          b.name === BASELINE ? "SQS-client-only handler" : b.name,
          kib(b.bytes),
          kib(b.gzipBytes),
          `${fixed(r.wallMs, 1)} ms`,
          `${fixed(Math.min(...walls), 0)}-${fixed(Math.max(...walls), 0)} ms`,
          `${fixed(r.cpuMs, 1)} ms`,
          `${ratio(r.wallRatio)}, ${ratio(r.cpuRatio)}`,
          bytesByPackage(b.metafile)
            .slice(0, 4)
            .map(([owner, bytes]) => `${owner} ${kib(bytes)}`)
            .join(", "),
        ];
      }),
    ),
  ].join("\n");
  const baselineProfile = profiles.get(BASELINE) ?? new Map<string, number>();
  const limits = functions
    .filter((b) => profiles.has(b.name))
    .map((b) => {
      const profile = profiles.get(b.name) ?? new Map<string, number>();
      const parts = [...new Set([...profile.keys(), ...baselineProfile.keys()])]
        .map((part) => ({ part, ms: profile.get(part) ?? 0, base: baselineProfile.get(part) ?? 0 }))
        .sort((x, y) => y.ms - y.base - (x.ms - x.base));
      const total = (values: Iterable<number>) => [...values].reduce((sum, ms) => sum + ms, 0);
      const largest = parts
        .filter(({ ms, base }) => ms > base)
        .slice(0, 3)
        .map(({ part, ms, base }) => `${part} +${fixed(ms - base, 0)} ms`)
        .join(", ");
      const r = ratios(b.name);
      return [
        `Cold start, ${b.name}: module load ${fixed(r.wallMs, 0)} ms (CPU ${fixed(r.cpuMs, 0)} ms) against ` +
          `${fixed(baseline.wallMs, 0)} ms (CPU ${fixed(baseline.cpuMs, 0)} ms), for a bundle of ${kib(b.bytes)} ` +
          `against ${kib(baselineBytes)}; the largest differences: ${largest}. Where the time goes (CPU profiles of ` +
          `${PROFILED_RUNS} loads of each bundle in rotating order, 100 µs sampling, median ms per part; sampled ` +
          `in all ${fixed(total(profile.values()), 0)} vs ${fixed(total(baselineProfile.values()), 0)} ms; parts ` +
          "differing by 1 ms or more):",
        "",
        markdownTable(
          ["part", b.name, "SQS-only", "difference"],
          parts
            .filter(({ ms, base }) => Math.abs(ms - base) >= 1)
            .map(({ part, ms, base }) => [part, fixed(ms, 1), fixed(base, 1), fixed(ms - base, 1)]),
        ),
      ].join("\n");
    });
  return {
    title: "7. Cold start",
    findings: functions.map((b) => {
      const r = ratios(b.name);
      return {
        measure: `Cold start: ${b.name} module load / SQS-client-only handler, wall (CPU)`,
        value: `${ratio(r.wallRatio)} (${ratio(r.cpuRatio)}); ${fixed(r.wallMs, 0)} vs ${fixed(baseline.wallMs, 0)} ms, bundle ${kib(b.bytes)}`,
        target: `<= ${TARGET_RATIO}x`,
        met: withinTarget(r),
      };
    }),
    details,
    limits: limits.length === 0 ? undefined : limits.join("\n\n"),
  };
}
