import { CloudFormationClient, DescribeStacksCommand } from "@aws-sdk/client-cloudformation";
import { mockClient } from "aws-sdk-client-mock";
import { beforeEach, describe, expect, it } from "vitest";
import { backfillCommand } from "../../bin/backfill/backfill-command.js";
import { deployedWebhookBaseUrl } from "../../bin/backfill/deployed-url.js";

const cloudFormation = mockClient(CloudFormationClient);
const URL_OUTPUT = "https://abc123.execute-api.us-east-1.amazonaws.com/prod/webhooks/";

describe("replay --target without --url: the stack's WebhookBaseUrl output", () => {
  beforeEach(() => cloudFormation.reset());

  it("reads the output of the stack named after the deployment's prefix", async () => {
    cloudFormation.on(DescribeStacksCommand, { StackName: "acme-portaltime" }).resolves({
      Stacks: [
        {
          StackName: "acme-portaltime",
          CreationTime: new Date(),
          StackStatus: "UPDATE_COMPLETE",
          Outputs: [
            { OutputKey: "ClaimsQueueUrl", OutputValue: "https://sqs.example/claims" },
            { OutputKey: "WebhookBaseUrl", OutputValue: URL_OUTPUT },
          ],
        },
      ],
    });

    const url = await deployedWebhookBaseUrl(
      new CloudFormationClient({ region: "us-east-1" }),
      "acme-portaltime",
    );

    expect(url).toBe(URL_OUTPUT);
  });

  it("says so when the stack has no such output", async () => {
    cloudFormation.on(DescribeStacksCommand).resolves({
      Stacks: [{ StackName: "other", CreationTime: new Date(), StackStatus: "CREATE_COMPLETE", Outputs: [] }],
    });

    await expect(
      deployedWebhookBaseUrl(new CloudFormationClient({ region: "us-east-1" }), "other"),
    ).rejects.toThrow("stack other has no WebhookBaseUrl output");
  });

  it("the command stops with exit 2 and asks for --url when the lookup fails, before reading the file", async () => {
    const err: string[] = [];
    const code = await backfillCommand(
      "no-such-file.json",
      { target: "acme-portaltime" },
      {
        out: () => undefined,
        err: (line) => err.push(line),
        webhookBaseUrl: () => Promise.reject(new Error("Stack with id acme-portaltime does not exist")),
      },
    );

    expect(code).toBe(2);
    expect(err.join("\n")).toContain("cannot read the webhook URL of stack acme-portaltime");
    expect(err.join("\n")).toContain("pass --url <WebhookBaseUrl>");
  });

  it("the command uses the looked-up URL when --url is absent", async () => {
    const err: string[] = [];
    const code = await backfillCommand(
      "no-such-file.json",
      { target: "acme-portaltime" },
      { out: () => undefined, err: (line) => err.push(line), webhookBaseUrl: async () => "not a url" },
    );

    // The looked-up value is checked as --url would be.
    expect(code).toBe(2);
    expect(err.join("\n")).toContain("--url is not an http(s) URL: not a url");
  });
});
