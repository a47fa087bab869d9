import { parseArgs } from "node:util";
import { DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { defaultProvider } from "@aws-sdk/credential-provider-node";
import { cloudFormationClient } from "./backfill/deployed-url.js";
import { startReviewConsole } from "./review-console/review-console.js";

/**
 * `npm run review-console -- --prefix <prefix> [--region <region>] [--profile <sso-profile>] [--port 4100]`: the
 * review page of a deployed stack on this machine, every call signed with your own AWS credentials (README
 * "The biller's worklist"). `--url <ReviewApiUrl>` skips the stack lookup.
 */
const usage =
  "usage: npm run review-console -- (--prefix <prefix> | --url <ReviewApiUrl>) [--region <region>] [--profile <name>] [--port <port>]";
const REVIEW_API_URL_OUTPUT = "ReviewApiUrl";

function fail(message: string): never {
  process.stderr.write(`review-console: ${message}\n${usage}\n`);
  process.exit(2);
}

function options() {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        prefix: { type: "string" },
        url: { type: "string" },
        region: { type: "string" },
        profile: { type: "string" },
        port: { type: "string" },
      },
    }).values;
  } catch (error) {
    return fail((error as Error).message);
  }
}

const values = options();
if ((values.prefix === undefined) === (values.url === undefined)) fail("give --prefix or --url");
let apiUrl = values.url;
if (apiUrl === undefined) {
  const { Stacks: stacks } = await cloudFormationClient(values.region).send(
    new DescribeStacksCommand({ StackName: values.prefix }),
  );
  apiUrl =
    stacks?.[0]?.Outputs?.find((output) => output.OutputKey === REVIEW_API_URL_OUTPUT)?.OutputValue ??
    fail(`stack ${values.prefix} has no ${REVIEW_API_URL_OUTPUT} output: deploy this version first`);
}
// The region the API lives in, from its URL (https://<id>.execute-api.<region>.amazonaws.com/...), else --region.
const region =
  /\.execute-api\.([a-z0-9-]+)\.amazonaws\.com$/.exec(new URL(apiUrl).hostname)?.[1] ??
  values.region ??
  fail("say --region: it cannot be read from the API's URL");
const running = await startReviewConsole({
  apiUrl,
  region,
  credentials: defaultProvider(values.profile === undefined ? {} : { profile: values.profile }),
  port: Number(values.port ?? 4100),
});
process.stdout.write(
  `review-console: open ${running.url} (calls signed with your AWS credentials; Ctrl-C stops)\n`,
);
process.once("SIGINT", () => void running.close().then(() => process.exit(0)));
