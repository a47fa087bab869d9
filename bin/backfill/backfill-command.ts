import type { CloudFormationClient } from "@aws-sdk/client-cloudformation";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { FormatName } from "../../functions/vendors/format.js";
import { webhookSecretPrefix } from "../../functions/vendors/secret-names.js";
import { openScenarioFile, ScenarioFileError } from "../local/scenario-file.js";
import type { SigningSecrets } from "../local/sign-delivery.js";
import { BackfillStoppedError, runBackfill } from "./backfill-run.js";
import { backfillUsage } from "./backfill-usage.js";
import { deployedSigningSecrets } from "./deployed-secrets.js";
import { cloudFormationClient, deployedWebhookBaseUrl } from "./deployed-url.js";

export interface BackfillCommandOptions {
  target: string;
  url?: string;
  region?: string;
  rate?: string;
  progress?: string;
}

export interface BackfillEnvironment {
  out(line: string): void;
  err(line: string): void;
  /** The signing secrets of the target; by default its webhook secrets in Secrets Manager. */
  signingSecrets?: (format: FormatName) => Promise<Partial<SigningSecrets>>;
  fetch?: typeof fetch;
  sleep?: (ms: number) => Promise<void>;
  /** The stack's webhook URL when --url does not give it; by default its CloudFormation output. */
  webhookBaseUrl?: (stackName: string) => Promise<string>;
}

/** Deliveries per second unless --rate says: well under the stage throttle, so live vendors are not crowded out. */
const DEFAULT_RATE = 5;

/**
 * `npm run replay -- FILE --target <stack>`: the scenario's deliveries to a deployed stack (runBackfill). Prints
 * one JSON line per acknowledged delivery on stdout and everything else on stderr. Exit 0 when every delivery was
 * acknowledged, 1 when the backfill stopped (a rerun resumes), 2 for a command line or file it cannot use.
 */
export async function backfillCommand(
  file: string,
  options: BackfillCommandOptions,
  env: BackfillEnvironment,
): Promise<number> {
  const rate = /^(\d+(?:\.\d+)?)(?:\/s)?$/.exec(options.rate ?? String(DEFAULT_RATE));
  const ratePerSecond = Number(rate?.[1] ?? Number.NaN);
  if (!(ratePerSecond > 0)) return usage(env, `--rate is not a rate: ${options.rate} (say 5/s)`);
  let url = options.url;
  if (url === undefined) {
    // The stack is named after the deployment's prefix; its WebhookBaseUrl output is what vendors were given.
    const client = env.webhookBaseUrl === undefined ? cloudFormationClient(options.region) : undefined;
    try {
      url = await (
        env.webhookBaseUrl ?? ((name) => deployedWebhookBaseUrl(client as CloudFormationClient, name))
      )(options.target);
    } catch (error) {
      env.err(
        `replay: cannot read the webhook URL of stack ${options.target} (${(error as Error).message}); ` +
          "pass --url <WebhookBaseUrl>",
      );
      return 2;
    } finally {
      client?.destroy();
    }
  }
  if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol))
    return usage(env, `--url is not an http(s) URL: ${url}`);

  let scenario: Awaited<ReturnType<typeof openScenarioFile>>;
  try {
    scenario = await openScenarioFile(file);
  } catch (error) {
    env.err(
      error instanceof ScenarioFileError
        ? `replay: ${file}: invalid at ${error.path}: ${error.reason}`
        : `replay: ${file}: ${(error as Error).message}`,
    );
    return 2;
  }
  const secretsClient =
    env.signingSecrets === undefined
      ? new SecretsManagerClient(options.region === undefined ? {} : { region: options.region })
      : undefined;
  const progressFile = options.progress ?? `${file}.${options.target}.progress.json`;
  env.err(`replay: backfill of ${options.target} at ${url}, ${ratePerSecond}/s, progress in ${progressFile}`);
  try {
    const summary = await runBackfill({
      scenario,
      webhookBaseUrl: url,
      target: options.target,
      progressFile,
      signingSecrets:
        env.signingSecrets ??
        deployedSigningSecrets(secretsClient as SecretsManagerClient, webhookSecretPrefix(options.target)),
      ratePerSecond,
      fetch: env.fetch,
      sleep: env.sleep,
      acknowledged: ({ index, format, status }) =>
        env.out(JSON.stringify({ delivery: index, format, status })),
      say: (line) => env.err(`replay: ${line}`),
    });
    if (summary.ignoredSteps > 0)
      env.err(
        `replay: ${summary.ignoredSteps} configuration pushes and finalizer instants of the file not sent: the ` +
          "stack's finalizer runs on its schedule, and configuration goes by npm run config -- push",
      );
    env.err(
      `replay: done: ${summary.sent} deliveries acknowledged now` +
        (summary.resumedAfter > 0 ? `, ${summary.resumedAfter} before` : ""),
    );
    return 0;
  } catch (error) {
    if (error instanceof BackfillStoppedError) {
      env.err(`replay: stopped: ${error.message}`);
      return 1;
    }
    const name = error instanceof Error ? error.name : "Error";
    env.err(`replay: stopped: ${name}: ${(error as Error).message}`.replace(/\s+/g, " "));
    return 1;
  } finally {
    secretsClient?.destroy();
  }
}

function usage(env: BackfillEnvironment, problem: string): number {
  env.err(`replay: ${problem}`);
  env.err(backfillUsage);
  return 2;
}
