import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { type BundlingOptions, LogLevel, OutputFormat } from "aws-cdk-lib/aws-lambda-nodejs";
import type { BuildOptions } from "esbuild";

/** The repository root: entry points, the lock file and esbuild's working directory are relative to it. */
export const PROJECT_ROOT = join(dirname(fileURLToPath(import.meta.url)), "..");

/** Each function's entry point (exports `handler`), relative to the project root. */
export const functionEntries = {
  ingest: "functions/ingest/handler.ts",
  apply: "functions/apply/handler.ts",
  finalize: "functions/finalize/handler.ts",
  review: "functions/review/handler.ts",
} as const;
export type FunctionName = keyof typeof functionEntries;

/** Functions CloudFormation runs during a deploy (custom resources), bundled the same way. */
export const deployFunctionEntries = {
  "initial-config": "functions/initial-config/handler.ts",
} as const;
export type DeployFunctionName = keyof typeof deployFunctionEntries;

/**
 * ESM output lets esbuild tree-shake the SDK's and Powertools' ES modules; the banner gives the few CommonJS
 * dependencies the `require` an ES module lacks (Powertools' recommended ESM setup).
 */
const requireShim = "import{createRequire}from'node:module';const require=createRequire(import.meta.url);";

/**
 * One set of esbuild settings for the stack (NodejsFunction) and `npm run bundle-sizes` (esbuild directly).
 *
 * The AWS SDK is bundled, not left to the runtime's copy: the deployed SDK is then the version the tests ran
 * against (the runtime's changes without notice), and a single minified, tree-shaken file loads faster than
 * resolving the runtime's full SDK packages at cold start. The SDK clients add about 300 KiB minified to each
 * bundle (`npm run bundle-sizes` lists the largest packages). Source maps are separate files without sources;
 * `--enable-source-maps` maps stack traces.
 */
export const bundleSettings = {
  target: "node24",
  minify: true,
  sourceMap: true,
  sourcesContent: false,
  mainFields: ["module", "main"],
  banner: requireShim,
} as const;

/** For `NodejsFunction`: the local esbuild (no Docker), nothing external. */
export const nodejsFunctionBundling: BundlingOptions = {
  format: OutputFormat.ESM,
  target: bundleSettings.target,
  minify: bundleSettings.minify,
  sourceMap: bundleSettings.sourceMap,
  sourcesContent: bundleSettings.sourcesContent,
  mainFields: [...bundleSettings.mainFields],
  banner: bundleSettings.banner,
  bundleAwsSDK: true,
  externalModules: [],
  forceDockerBundling: false,
  logLevel: LogLevel.WARNING,
};

/** For esbuild's API: the same build as `nodejsFunctionBundling`, writing `index.mjs` like NodejsFunction. */
export function esbuildOptions(name: FunctionName, outdir: string): BuildOptions {
  return {
    entryPoints: [join(PROJECT_ROOT, functionEntries[name])],
    outfile: join(outdir, name, "index.mjs"),
    absWorkingDir: PROJECT_ROOT,
    bundle: true,
    platform: "node",
    format: "esm",
    target: bundleSettings.target,
    minify: bundleSettings.minify,
    sourcemap: bundleSettings.sourceMap,
    sourcesContent: bundleSettings.sourcesContent,
    mainFields: [...bundleSettings.mainFields],
    banner: { js: bundleSettings.banner },
    external: [],
    logLevel: "warning",
  };
}
