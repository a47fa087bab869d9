import { mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gzipSync } from "node:zlib";
import { build } from "esbuild";
import { esbuildOptions, type FunctionName, functionEntries } from "../lib/lambda-bundling.js";

/**
 * `npm run bundle-sizes`: bundles each function exactly as the stack does (lib/lambda-bundling.ts) and prints
 * the code size, its gzip size (close to the zipped asset Lambda downloads) and the source map's size, with the
 * largest packages in the bundle. `--top N` lists N packages per function (default 5).
 */
const topArgument = process.argv.indexOf("--top");
const top = topArgument >= 0 ? Number(process.argv[topArgument + 1]) : 5;

const kib = (bytes: number) => `${(bytes / 1024).toFixed(1)} KiB`;
const outdir = mkdtempSync(join(tmpdir(), "portaltime-bundles-"));
try {
  console.log(["function", "bundle", "gzip", "source map"].map((h) => h.padEnd(14)).join(""));
  const packages: string[] = [];
  for (const name of Object.keys(functionEntries) as FunctionName[]) {
    const options = esbuildOptions(name, outdir);
    const { metafile } = await build({ ...options, metafile: true });
    const file = options.outfile as string;
    const code = readFileSync(file);
    console.log(
      [name, kib(code.length), kib(gzipSync(code).length), kib(statSync(`${file}.map`).size)]
        .map((cell) => cell.padEnd(14))
        .join(""),
    );
    const byPackage = new Map<string, number>();
    for (const output of Object.values(metafile.outputs)) {
      for (const [input, { bytesInOutput }] of Object.entries(output.inputs)) {
        const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(input);
        const owner = match?.[1] ?? "(portaltime)";
        byPackage.set(owner, (byPackage.get(owner) ?? 0) + bytesInOutput);
      }
    }
    const largest = [...byPackage].sort((a, b) => b[1] - a[1]).slice(0, top);
    packages.push(`${name}: ${largest.map(([owner, bytes]) => `${owner} ${kib(bytes)}`).join(", ")}`);
  }
  console.log(`\nlargest packages (minified bytes in the bundle):\n${packages.join("\n")}`);
} finally {
  rmSync(outdir, { recursive: true, force: true });
}
