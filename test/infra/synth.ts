import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import type { DeploymentConfigInput } from "../../lib/deployment-config.js";
import { PROJECT_ROOT } from "../../lib/lambda-bundling.js";
import { createPortaltimeApp } from "../../lib/portaltime-app.js";

/** The demo configuration cdk.json ships: what `npx cdk synth` builds on a fresh clone. */
export function demoConfig(): DeploymentConfigInput {
  const cdkJson = JSON.parse(readFileSync(join(PROJECT_ROOT, "cdk.json"), "utf8"));
  return structuredClone(cdkJson.context.portaltime);
}

export interface SynthOptions {
  /** Bundle the functions with esbuild (slower); otherwise CDK stages placeholder assets. */
  bundle?: boolean;
}

/** The app of bin/portaltime.ts with `config` as its `portaltime` context (cdk-nag plugins included). */
export function portaltimeApp(config: unknown, { bundle = false }: SynthOptions = {}) {
  return createPortaltimeApp({
    context: { portaltime: config, ...(bundle ? {} : { "aws:cdk:bundling-stacks": [] }) },
  });
}

/** The synthesized stack template for a configuration. */
export function synthTemplate(config: unknown, options: SynthOptions = {}): Template {
  return Template.fromStack(portaltimeApp(config, options).stack);
}
