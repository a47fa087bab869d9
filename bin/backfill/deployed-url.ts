import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";

/** The stack output vendors are given (lib/portaltime-stack.ts): the webhook URL before the format name. */
export const WEBHOOK_BASE_URL_OUTPUT = "WebhookBaseUrl";

/**
 * The `WebhookBaseUrl` output of the deployed stack named `stackName` (the deployment's prefix). Throws an error
 * saying what is missing: the stack, or the output (a stack of another application).
 */
export async function deployedWebhookBaseUrl(
  client: CloudFormationClient,
  stackName: string,
): Promise<string> {
  const { Stacks: stacks } = await client.send(new DescribeStacksCommand({ StackName: stackName }));
  const output = stacks?.[0]?.Outputs?.find((candidate) => candidate.OutputKey === WEBHOOK_BASE_URL_OUTPUT);
  if (output?.OutputValue === undefined) {
    throw new Error(`stack ${stackName} has no ${WEBHOOK_BASE_URL_OUTPUT} output: is it a portaltime stack?`);
  }
  return output.OutputValue;
}

/** A client for the lookup, in `region` when given (else the SDK's default chain). */
export const cloudFormationClient = (region: string | undefined) =>
  new CloudFormationClient(region === undefined ? {} : { region });
