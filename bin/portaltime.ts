import { DeploymentConfigError } from "../lib/deployment-config.js";
import { createPortaltimeApp } from "../lib/portaltime-app.js";

/** `npx cdk synth` / `npx cdk deploy` run this (cdk.json); the CLI's output directory triggers synthesis. */
try {
  createPortaltimeApp();
} catch (error) {
  if (!(error instanceof DeploymentConfigError)) throw error;
  console.error(error.message);
  process.exitCode = 1;
}
