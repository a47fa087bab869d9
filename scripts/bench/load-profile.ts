import { execFile } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { SourceMap } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";

/** The parts of a V8 .cpuprofile this reads. */
interface CpuProfile {
  nodes: Array<{
    id: number;
    callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
    children?: number[];
  }>;
  /** Microseconds on the monotonic clock `process.hrtime` reads. */
  startTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Imports BENCH_MODULE and prints the import's start and end on the profile's clock, in microseconds. */
const windowLoader = [
  "const started = process.hrtime.bigint() / 1000n;",
  "await import(process.env.BENCH_MODULE);",
  'process.stdout.write(String(started) + " " + String(process.hrtime.bigint() / 1000n));',
].join("\n");

/**
 * Where one module load of a bundle spends its time, from a V8 CPU profile of a fresh Node process (100 µs
 * sampling), counting only samples taken during the `import()`. A sample inside the bundle is charged to the npm
 * package its source map names, and anything a bundle frame called (a Node built-in it loads, say) to that
 * frame's package; top-level code of the bundled ES modules runs in the bundle's own top-level frame, which no
 * single package owns. Outside the bundle: V8 compiling the bundle, Node loading built-in modules, source-map
 * handling (`--enable-source-maps`), garbage collection. Returns milliseconds per part.
 */
export async function profileModuleLoad(file: string, env: NodeJS.ProcessEnv): Promise<Map<string, number>> {
  const url = pathToFileURL(file).href;
  const dir = mkdtempSync(join(tmpdir(), "portaltime-bench-profile-"));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [
        "--cpu-prof",
        `--cpu-prof-dir=${dir}`,
        "--cpu-prof-interval=100",
        "--enable-source-maps",
        "--input-type=module",
        "--eval",
        windowLoader,
      ],
      { env: { ...env, BENCH_MODULE: url } },
    );
    const [from, to] = stdout.split(" ").map(Number) as [number, number];
    const [profileFile] = readdirSync(dir);
    if (profileFile === undefined) throw new Error("node wrote no CPU profile");
    const profile = JSON.parse(readFileSync(join(dir, profileFile), "utf8")) as CpuProfile;
    const sourceMap = new SourceMap(JSON.parse(readFileSync(`${file}.map`, "utf8")));
    return attribute(profile, from, to, url, sourceMap);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function attribute(
  profile: CpuProfile,
  from: number,
  to: number,
  bundleUrl: string,
  sourceMap: SourceMap,
): Map<string, number> {
  const nodes = new Map(profile.nodes.map((node) => [node.id, node]));
  const parents = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parents.set(child, node.id);
  const partOf = (id: number): string => {
    for (let current: number | undefined = id; current !== undefined; current = parents.get(current)) {
      const frame = nodes.get(current)?.callFrame;
      if (frame?.url === bundleUrl) {
        const entry = sourceMap.findEntry(frame.lineNumber, frame.columnNumber);
        const source = "originalSource" in entry ? entry.originalSource : undefined;
        if (source === undefined) return "top-level code of the bundled modules";
        return /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(source)?.[1] ?? "portaltime's own code";
      }
    }
    const frame = nodes.get(id)?.callFrame;
    if (frame === undefined) return "other";
    if (frame.functionName === "compileSourceTextModule") return "V8 compiling the bundle";
    if (frame.functionName === "(garbage collector)") return "garbage collection";
    if (frame.url.includes("source_map")) return "source maps (--enable-source-maps)";
    if (frame.url.startsWith("node:internal/bootstrap") || frame.url.includes("undici")) {
      return "Node loading built-in modules";
    }
    return "other (Node internals, native code)";
  };
  const parts = new Map<string, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (at < from || at > to) return;
    const part = partOf(id);
    parts.set(part, (parts.get(part) ?? 0) + delta / 1000);
  });
  return parts;
}
