import type { Template } from "aws-cdk-lib/assertions";
import { Match } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { DeploymentConfigInput } from "../../lib/deployment-config.js";
import { demoConfig, portaltimeApp, synthTemplate } from "./synth.js";

/** The API's edge (TLS, firewall) and what outlives a deleted stack (issue "Operations" 2 and 3). */
vi.setConfig({ testTimeout: 60_000 });
let template: Template;
beforeAll(() => {
  template = synthTemplate(demoConfig());
}, 60_000);

const withConfig = (change: (config: DeploymentConfigInput) => void): Template => {
  const config = demoConfig();
  change(config);
  return synthTemplate(config);
};
type Rule = { Name: string; Priority: number; Statement: Record<string, unknown>; Action?: unknown };
const rulesOf = (of: Template): Rule[] =>
  (Object.values(of.findResources("AWS::WAFv2::WebACL"))[0] as { Properties: { Rules: Rule[] } }).Properties
    .Rules;

describe("the edge", () => {
  it("refuses TLS 1.0 and 1.1: an enhanced TLS 1.2+ security policy with strict endpoint access", () => {
    template.hasResourceProperties("AWS::ApiGateway::RestApi", {
      SecurityPolicy: "SecurityPolicy_TLS13_1_2_PFS_PQ_2025_09",
      EndpointAccessMode: "STRICT",
      EndpointConfiguration: { Types: ["REGIONAL"] },
    });
  });

  it("takes a TLS 1.3-only policy from the deployment configuration", () => {
    const tls13 = withConfig((config) =>
      Object.assign(config, { edge: { securityPolicy: "SecurityPolicy_TLS13_1_3_2025_09" } }),
    );
    tls13.hasResourceProperties("AWS::ApiGateway::RestApi", {
      SecurityPolicy: "SecurityPolicy_TLS13_1_3_2025_09",
    });
  });

  it("blocks a source address over its five-minute request budget with 429, after the other rules", () => {
    const rules = rulesOf(template);
    const rate = rules.find((rule) => rule.Name === "RequestsPerIp");
    expect(rate).toMatchObject({
      Statement: { RateBasedStatement: { Limit: 3000, AggregateKeyType: "IP", EvaluationWindowSec: 300 } },
      Action: { Block: { CustomResponse: { ResponseCode: 429, CustomResponseBodyKey: "tooManyRequests" } } },
    });
    expect(Math.max(...rules.map((rule) => rule.Priority))).toBe(rate?.Priority);
  });

  it("applies AWS's managed IP reputation list", () => {
    expect(rulesOf(template).find((rule) => rule.Name === "AmazonIpReputation")).toMatchObject({
      OverrideAction: { None: {} },
      Statement: {
        ManagedRuleGroupStatement: { VendorName: "AWS", Name: "AWSManagedRulesAmazonIpReputationList" },
      },
    });
  });

  it("has no allow-list rule unless the deployment gives a vendor's addresses", () => {
    expect(rulesOf(template).map((rule) => rule.Name)).toEqual([
      "BodyOverLimit",
      "AmazonIpReputation",
      "RequestsPerIp",
    ]);
    template.resourceCountIs("AWS::WAFv2::IPSet", 0);
  });

  it("lets only a vendor's listed addresses (IPv4 and IPv6) reach its format's path, 403 otherwise", () => {
    const listed = withConfig((config) =>
      Object.assign(config, {
        edge: {
          requestsPerIpPerFiveMinutes: 20_000,
          vendorIpAllowList: { healthie: ["203.0.113.0/24", "2001:db8::/32"], elation: ["198.51.100.7/32"] },
        },
      }),
    );
    listed.hasResourceProperties("AWS::WAFv2::IPSet", {
      IPAddressVersion: "IPV4",
      Addresses: ["203.0.113.0/24"],
      Scope: "REGIONAL",
    });
    listed.hasResourceProperties("AWS::WAFv2::IPSet", {
      IPAddressVersion: "IPV6",
      Addresses: ["2001:db8::/32"],
    });
    listed.hasResourceProperties("AWS::WAFv2::IPSet", {
      IPAddressVersion: "IPV4",
      Addresses: ["198.51.100.7/32"],
    });
    const rules = rulesOf(listed);
    const healthie = rules.find((rule) => rule.Name === "OnlyVendorAddresses-healthie");
    expect(healthie).toMatchObject({
      Action: { Block: { CustomResponse: { ResponseCode: 403 } } },
      Statement: {
        AndStatement: {
          Statements: [
            {
              ByteMatchStatement: {
                FieldToMatch: { UriPath: {} },
                PositionalConstraint: "ENDS_WITH",
                SearchString: "/webhooks/healthie",
              },
            },
            { NotStatement: { Statement: { OrStatement: { Statements: expect.any(Array) } } } },
          ],
        },
      },
    });
    const elation = rules.find((rule) => rule.Name === "OnlyVendorAddresses-elation");
    expect(elation?.Statement).toMatchObject({
      AndStatement: {
        Statements: [
          expect.anything(),
          { NotStatement: { Statement: { IPSetReferenceStatement: expect.anything() } } },
        ],
      },
    });
    expect(rules.find((rule) => rule.Name === "RequestsPerIp")?.Statement).toMatchObject({
      RateBasedStatement: { Limit: 20_000 },
    });
    expect(new Set(rules.map((rule) => rule.Priority)).size).toBe(rules.length);
  });
});

describe("lifecycle", () => {
  it("protects the stack from termination", () => {
    expect(portaltimeApp(demoConfig()).stack.terminationProtection).toBe(true);
  });

  it("keeps every queue, dead-letter queue and secret when the stack is deleted", () => {
    for (const type of ["AWS::SQS::Queue", "AWS::SecretsManager::Secret"]) {
      const resources = Object.values(template.findResources(type));
      expect(resources.length).toBeGreaterThan(0);
      for (const resource of resources) {
        expect(resource).toMatchObject({ DeletionPolicy: "Retain", UpdateReplacePolicy: "Retain" });
      }
    }
    expect(Object.keys(template.findResources("AWS::SQS::Queue"))).toHaveLength(4);
  });

  it("backs the table up daily and monthly into a retained vault under the data key, as chosen", () => {
    template.hasResource("AWS::Backup::BackupVault", { DeletionPolicy: "Retain" });
    template.hasResourceProperties("AWS::Backup::BackupPlan", {
      BackupPlan: {
        BackupPlanRule: Match.arrayWith([
          Match.objectLike({ RuleName: "Daily", Lifecycle: { DeleteAfterDays: 35 } }),
          Match.objectLike({ RuleName: "Monthly", Lifecycle: { DeleteAfterDays: 2190 } }),
        ]),
      },
    });
    const table = Object.keys(template.findResources("AWS::DynamoDB::Table"))[0];
    template.hasResourceProperties("AWS::Backup::BackupSelection", {
      BackupSelection: { Resources: [{ "Fn::GetAtt": [table, "Arn"] }] },
    });
  });

  it("copies monthly recovery points to another account's vault when asked", () => {
    const vault = "arn:aws:backup:us-west-2:210987654321:backup-vault:portaltime-copies";
    const copied = withConfig((config) =>
      Object.assign(config, { backup: { mode: "plan", copyToVaultArn: vault } }),
    );
    copied.hasResourceProperties("AWS::Backup::BackupPlan", {
      BackupPlan: {
        BackupPlanRule: Match.arrayWith([
          Match.objectLike({
            RuleName: "Monthly",
            CopyActions: [{ DestinationBackupVaultArn: vault, Lifecycle: { DeleteAfterDays: 2190 } }],
          }),
        ]),
      },
    });
  });

  it("leaves backups to the organization's policy only when told, tagging the table for it", () => {
    const tagged = withConfig((config) =>
      Object.assign(config, {
        backup: { mode: "organization-policy", tag: { key: "backup-plan", value: "phi-6-years" } },
      }),
    );
    tagged.resourceCountIs("AWS::Backup::BackupPlan", 0);
    tagged.hasResourceProperties("AWS::DynamoDB::Table", {
      Tags: Match.arrayWith([{ Key: "backup-plan", Value: "phi-6-years" }]),
    });
  });
});
