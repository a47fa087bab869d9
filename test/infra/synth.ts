import { readFileSync } from "node:fs";
import { join } from "node:path";
import { Template } from "aws-cdk-lib/assertions";
import { npi as npiSchema, type TenantConfigInput } from "../../functions/domain/config.js";
import type { DeploymentConfigInput } from "../../lib/deployment-config.js";
import { PROJECT_ROOT } from "../../lib/lambda-bundling.js";
import { createPortaltimeApp } from "../../lib/portaltime-app.js";

type RosterEntryInput = NonNullable<TenantConfigInput["roster"]>[number];

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

/**
 * A synthetic roster of `count` clinicians with check-digit-valid NPIs (the `npi` schema's Luhn rule picks the
 * check digit), sized like a real one: about 125 bytes of JSON per clinician.
 */
export function syntheticRoster(count: number): RosterEntryInput[] {
  const credentials = ["MD", "NP", "PT", "DO", "PA", "LCSW"] as const;
  return Array.from({ length: count }, (_, index) => {
    const base = String(200_000_000 + index);
    const npi = Array.from({ length: 10 }, (_, digit) => `${base}${digit}`).find(
      (candidate) => npiSchema.safeParse(candidate).success,
    );
    return {
      practitionerId: `synthetic-clinician-${String(index).padStart(5, "0")}`,
      npi: npi as string,
      credential: credentials[index % credentials.length] as (typeof credentials)[number],
      name: `Synthetic Clinician ${String(index).padStart(5, "0")}`,
      group: `site-${index % 12}`,
    };
  });
}
