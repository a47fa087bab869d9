import { Console } from "node:console";
import { parseArgs } from "node:util";
import { parseTenantConfig } from "../functions/domain/config.js";
import { ConfigurationError } from "../functions/domain/errors.js";
import { backfillUsage } from "./backfill/backfill-usage.js";
import { startLocalAws } from "./local/aws-servers.js";
import { demoPractice } from "./local/demo-practice.js";
import { LocalPipeline } from "./local/pipeline.js";
import { runReplay } from "./local/replay-run.js";
import { createResources } from "./local/resources.js";
import { openScenarioFile, ScenarioFileError } from "./local/scenario-file.js";

const usage = `usage: npm run replay -- <scenario.json> [--episodes] [--data-dir <dir>] [--verbose]\n${backfillUsage.replace("usage:", "      ")}`;

/**
 * `npm run replay`: backfill and acceptance. Replays a scenario file through the real handlers on DynamoDB Local
 * and the SQS-compatible server, and prints every claim line as the claims queue gives it, one JSON object per
 * line on stdout (with --episodes, also one line per decided episode). Everything else goes to stderr.
 */
async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      episodes: { type: "boolean", default: false },
      "data-dir": { type: "string" },
      verbose: { type: "boolean", default: false },
      // --target: a backfill to a deployed stack (bin/backfill/backfill-command.ts), not a local replay.
      target: { type: "string" },
      url: { type: "string" },
      region: { type: "string" },
      rate: { type: "string" },
      progress: { type: "string" },
    },
  });
  const out = process.stdout;
  // Handlers log through the global console (Powertools dev mode): send all of it to stderr.
  process.env.POWERTOOLS_DEV = "true";
  process.env.POWERTOOLS_LOG_LEVEL = values.verbose ? "INFO" : "WARN";
  globalThis.console = new Console({ stdout: process.stderr, stderr: process.stderr });

  const file = positionals[0];
  if (file === undefined || positionals.length > 1) {
    console.error(usage);
    return 2;
  }
  const { target, url, region, rate, progress } = values;
  if (target === undefined && [url, region, rate, progress].some((value) => value !== undefined)) {
    console.error(`--url, --region, --rate and --progress go with --target\n${usage}`);
    return 2;
  }
  if (target !== undefined) {
    // Loaded only for a backfill: a local replay does not pay for the AWS clients it needs.
    const { backfillCommand } = await import("./backfill/backfill-command.js");
    return backfillCommand(
      file,
      { target, url, region, rate, progress },
      {
        out: (line) => out.write(`${line}\n`),
        err: (line) => console.error(line),
      },
    );
  }

  let scenario: Awaited<ReturnType<typeof openScenarioFile>>;
  let tenant: ReturnType<typeof parseTenantConfig>;
  try {
    scenario = await openScenarioFile(file);
    const base = { ...demoPractice, ...scenario.config };
    tenant = parseTenantConfig(base);
    // Every version the replay will push, checked before any server starts (each one's fields over `config`).
    scenario.configs.forEach((entry, index) => {
      try {
        parseTenantConfig({ ...base, ...entry.config });
      } catch (error) {
        if (error instanceof ConfigurationError)
          throw new ScenarioFileError(`configs.${index}.config.${error.field}`, error.reason);
        throw error;
      }
    });
  } catch (error) {
    if (error instanceof ScenarioFileError)
      console.error(`replay: ${file}: invalid at ${error.path}: ${error.reason}`);
    else if (error instanceof ConfigurationError)
      console.error(`replay: ${file}: invalid at config.${error.field}: ${error.reason}`);
    else console.error(`replay: ${file}: ${(error as Error).message}`);
    return 2;
  }

  console.error("replay: starting DynamoDB Local and the SQS-compatible server");
  const aws = await startLocalAws({ dataDir: values["data-dir"] });
  try {
    const endpoints = { dynamodbEndpoint: aws.dynamodbEndpoint, sqsEndpoint: aws.sqsEndpoint };
    const resources = await createResources({ ...endpoints, prefix: "replay" });
    const pipeline = new LocalPipeline({ endpoints, resources, tenant });
    const summary = await runReplay(scenario, pipeline, {
      claim: (line) => out.write(`${JSON.stringify(line)}\n`),
      rejected: (index, format, status, problem) =>
        console.error(`replay: deliveries.${index} (${format}) refused: ${status} ${problem}`),
      progress: (deliveries) => console.error(`replay: ${deliveries} deliveries`),
      configPushed: (index, result) =>
        console.error(`replay: configs.${index} ${result.status} as version ${result.version}`),
    });
    if (values.episodes) {
      for (const episode of summary.episodes) {
        const {
          episodeId,
          patientId,
          family,
          windowStart,
          windowEnd,
          outcome,
          reasons,
          totalMinutes,
          procedureCode,
        } = episode;
        out.write(
          `${JSON.stringify({ episode: { episodeId, patientId, family, windowStart, windowEnd, outcome, reasons, totalMinutes, procedureCode } })}\n`,
        );
      }
    }
    console.error(
      `replay: ${summary.deliveries} deliveries (${summary.rejected} refused), ${summary.configPushes} configuration pushes, ${summary.finalizations} finalizer runs, ${summary.lines} claim lines`,
    );
    return 0;
  } finally {
    await aws.stop();
  }
}

process.exitCode = await main();
