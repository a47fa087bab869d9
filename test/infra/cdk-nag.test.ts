import { readFileSync } from "node:fs";
import { join } from "node:path";
import { type Acknowledgment, Validations } from "aws-cdk-lib";
import * as sqs from "aws-cdk-lib/aws-sqs";
import type { CloudAssembly } from "aws-cdk-lib/cx-api";
import { AwsSolutionsChecks, HIPAASecurityChecks } from "cdk-nag";
import type { IConstruct } from "constructs";
import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { demoConfig, portaltimeApp } from "./synth.js";

// Tests that synthesize the stack take seconds, more on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

/** The packs bin/portaltime.ts registers, run directly over a construct tree. */
function findings(root: IConstruct): Array<{ rule: string; path: string }> {
  return [new AwsSolutionsChecks(), new HIPAASecurityChecks()].flatMap((pack) =>
    pack.validateScope(root).violations.flatMap((violation) =>
      violation.violatingResources.map((resource) => ({
        rule: violation.ruleName,
        path: resource.constructPath ?? "",
      })),
    ),
  );
}

describe("cdk-nag: AWS Solutions and HIPAA Security", () => {
  /** The demo app synthesized once; synthesis itself throws the report when a plugin reports an error. */
  let assembly: CloudAssembly;
  beforeAll(() => {
    assembly = portaltimeApp(demoConfig()).app.synth();
  }, 60_000);

  afterEach(() => {
    vi.restoreAllMocks();
  });

  it("synthesizes with no unacknowledged finding: no error, no warning, from any validation plugin", () => {
    const report = JSON.parse(readFileSync(join(assembly.directory, "validation-report.json"), "utf8"));
    expect(report.pluginReports).toEqual([]);
  });

  it("fails synthesis on a finding nobody acknowledged", () => {
    const { app, stack } = portaltimeApp(demoConfig());
    new sqs.Queue(stack, "Unencrypted", { encryption: sqs.QueueEncryption.UNENCRYPTED });

    expect(() => app.synth()).toThrow(/AwsSolutions-SQS2/);
  });

  it("acknowledges only real findings, each next to its resource with a reason", () => {
    const acknowledged: Array<{ at: string } & Acknowledgment> = [];
    vi.spyOn(Validations.prototype, "acknowledge").mockImplementation(function (
      this: Validations,
      ...rules: Acknowledgment[]
    ) {
      const at = (this as unknown as { scope: IConstruct }).scope.node.path;
      acknowledged.push(...rules.map((rule) => ({ at, ...rule })));
    });
    const { app } = portaltimeApp(demoConfig());

    const found = findings(app);

    // Without the acknowledgements, every finding is one of them, on or under the construct acknowledging it...
    const covers = (ack: { at: string; id: string }, finding: { rule: string; path: string }) =>
      ack.id === finding.rule && (finding.path === ack.at || finding.path.startsWith(`${ack.at}/`));
    expect(found.filter((finding) => !acknowledged.some((ack) => covers(ack, finding)))).toEqual([]);
    // ...and every acknowledgement answers at least one finding, with a reason a reviewer can weigh.
    for (const ack of acknowledged) {
      expect(
        found.some((finding) => covers(ack, finding)),
        `${ack.at} ${ack.id} answers no finding`,
      ).toBe(true);
      expect(ack.reason.length, `${ack.at} ${ack.id}`).toBeGreaterThan(150);
    }
    expect([...new Set(acknowledged.map((ack) => ack.id))].sort()).toEqual([
      "AwsSolutions-APIG2",
      "AwsSolutions-APIG4",
      "AwsSolutions-COG4",
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
      "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AmazonAPIGatewayPushToCloudWatchLogs]",
      "AwsSolutions-IAM5[Resource::*]",
      // The review routes with a path parameter, in the billers' policy (lib/review-api.ts).
      "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<IngestApi9A114750>/v1/GET/review/claim-lines/*]",
      "AwsSolutions-IAM5[Resource::arn:<AWS::Partition>:execute-api:<AWS::Region>:<AWS::AccountId>:<IngestApi9A114750>/v1/POST/review/items/*/resolutions]",
      "AwsSolutions-SMG4",
      "HIPAA.Security-APIGWCacheEnabledAndEncrypted",
      "HIPAA.Security-APIGWSSLEnabled",
      "HIPAA.Security-IAMNoInlinePolicy",
      "HIPAA.Security-LambdaConcurrency",
      "HIPAA.Security-LambdaDLQ",
      "HIPAA.Security-LambdaInsideVPC",
      "HIPAA.Security-SecretsManagerRotationEnabled",
    ]);
  });

  it("writes the acknowledgements into the template metadata for auditors", () => {
    const template = assembly.getStackByName("portaltime").template;

    // The demo backs the table up with its own plan: the role AWS Backup assumes carries its acknowledgement.
    const backupRole = Object.entries(template.Resources).find(
      ([id, resource]) =>
        (resource as { Type: string }).Type === "AWS::IAM::Role" && id.startsWith("EpisodeStoreBackupPlan"),
    )?.[1] as { Metadata: { cdk_nag: { rules_to_suppress: Array<{ id: string; reason: string }> } } };
    expect(backupRole.Metadata.cdk_nag.rules_to_suppress).toEqual([
      {
        id: "AwsSolutions-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup]",
        reason: expect.stringContaining("AWS Backup"),
      },
    ]);
  });
});
