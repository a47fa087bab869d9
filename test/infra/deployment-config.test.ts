import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it, vi } from "vitest";
import {
  DeploymentConfigError,
  deploymentConfigFromContext,
  parseDeploymentConfig,
} from "../../lib/deployment-config.js";
import { PROJECT_ROOT } from "../../lib/lambda-bundling.js";
import { demoConfig, portaltimeApp } from "./synth.js";

// Tests that synthesize the stack take seconds, more on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

/** A context reader over plain values, as `app.node` reads cdk.json and `--context`. */
const contextOf = (values: Record<string, unknown>) => ({ tryGetContext: (key: string) => values[key] });

/** The message of the DeploymentConfigError `run` throws (fails the test if it throws none). */
function configErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(error).toBeInstanceOf(DeploymentConfigError);
    return (error as Error).message;
  }
  throw new Error("expected a DeploymentConfigError");
}

describe("deployment configuration", () => {
  it("accepts the demo configuration cdk.json ships, with defaults filled in", () => {
    const config = parseDeploymentConfig(demoConfig(), "demo");

    expect(config.prefix).toBe("portaltime");
    expect(config.alarmEmail).toBe("billing-oncall@synthetic-clinic.org");
    expect(config.enabledFormats).toEqual(["fhir", "medplum", "elation", "healthie", "bridge"]);
    expect(config.maxBodyBytes).toBe(240 * 1024);
    expect(config.applyMaxConcurrency).toBe(5);
    expect(config.tenant?.placeOfService).toBe("11");
  });

  it("reads the FHIR subscriptions' secret headers lower-cased, Authorization unless set", () => {
    const input = { ...demoConfig(), fhirSecretHeaders: ["Authorization", "X-API-Key"] };

    expect(parseDeploymentConfig(demoConfig(), "demo").fhirSecretHeaders).toEqual(["authorization"]);
    expect(parseDeploymentConfig(input, "demo").fhirSecretHeaders).toEqual(["authorization", "x-api-key"]);
  });

  it("accepts a configuration without a tenant: the tenant configuration is then pushed after the deploy", () => {
    const { tenant: _initialVersion, ...withoutTenant } = demoConfig();

    expect(parseDeploymentConfig(withoutTenant, "demo").tenant).toBeUndefined();
  });

  type Input = ReturnType<typeof demoConfig> & Record<string, unknown>;
  it.each<[string, (input: Input) => void, string]>([
    ["alarmEmail", (input) => Object.assign(input, { alarmEmail: "billing team" }), "alarmEmail:"],
    [
      "tenant.roster.0.npi",
      (input) => Object.assign(input.tenant?.roster?.[0] ?? {}, { npi: "1003000127" }),
      "tenant.roster.0.npi: NPI check digit does not match",
    ],
    [
      "tenant.timezone",
      (input) => Object.assign(input.tenant ?? {}, { timezone: "Mars/Olympus" }),
      "tenant.timezone: expected an IANA time zone",
    ],
    [
      "enabledFormats.1",
      (input) => Object.assign(input, { enabledFormats: ["fhir", "athena"] }),
      "enabledFormats.1:",
    ],
    [
      "finalizeScheduleMinutes",
      (input) => Object.assign(input, { finalizeScheduleMinutes: 0 }),
      "finalizeScheduleMinutes:",
    ],
    [
      "logRetentionDays",
      (input) => Object.assign(input, { logRetentionDays: 100 }),
      "logRetentionDays: expected a CloudWatch Logs retention period",
    ],
    [
      "fhir.tokenUrl",
      (input) =>
        Object.assign(input, {
          fhir: { baseUrl: "https://f.example", tokenUrl: "http://f.example/t", clientId: "c" },
        }),
      "fhir.tokenUrl: expected an https:// URL",
    ],
    [
      "apiThrottle.burstLimit",
      (input) => Object.assign(input, { apiThrottle: { rateLimit: 100, burstLimit: 10 } }),
      "apiThrottle.burstLimit: must be at least apiThrottle.rateLimit",
    ],
    [
      "finalizerLagAlarmMinutes",
      (input) => Object.assign(input, { finalizeScheduleMinutes: 30, finalizerLagAlarmMinutes: 20 }),
      "finalizerLagAlarmMinutes: must be longer than finalizeScheduleMinutes",
    ],
    [
      "retentionDays",
      (input) => Object.assign(input, { retentionDays: 100, adjustmentHorizonDays: 365 }),
      "retentionDays: must be at least adjustmentHorizonDays",
    ],
    ...["billing@example.com", "oncall@alerts.example.org", "pager@clinic.test", "a@b.invalid"].map(
      (address) =>
        [
          `alarmEmail ${address}`,
          (input: Input) => Object.assign(input, { alarmEmail: address }),
          "alarmEmail: this domain receives no mail",
        ] as [string, (input: Input) => void, string],
    ),
    [
      "alarmPagerTopicArn",
      (input) => Object.assign(input, { alarmPagerTopicArn: "arn:aws:sqs:us-east-1:123456789012:q" }),
      "alarmPagerTopicArn: expected an SNS topic ARN",
    ],
    [
      "alarms.deadLetterOldestMessageDays",
      (input) => Object.assign(input, { alarms: { deadLetterOldestMessageDays: 14 } }),
      "alarms.deadLetterOldestMessageDays:",
    ],
    [
      "alarms.silentFormatHours",
      (input) => Object.assign(input, { alarms: { silentFormatHours: { fhir: 48 } } }),
      "alarms.silentFormatHours.fhir:",
    ],
    ["backup (never assumed)", (input) => Object.assign(input, { backup: undefined }), "backup:"],
    [
      "backup.tag",
      (input) => Object.assign(input, { backup: { mode: "organization-policy" } }),
      "backup.tag:",
    ],
    [
      "edge.securityPolicy",
      (input) => Object.assign(input, { edge: { securityPolicy: "TLS_1_0" } }),
      "edge.securityPolicy:",
    ],
    [
      "edge.vendorIpAllowList of a format not enabled",
      (input) =>
        Object.assign(input, {
          enabledFormats: ["fhir"],
          edge: { vendorIpAllowList: { healthie: ["203.0.113.0/24"] } },
        }),
      "edge.vendorIpAllowList.healthie: is not an enabled format",
    ],
    [
      "edge.vendorIpAllowList.fhir.0",
      (input) => Object.assign(input, { edge: { vendorIpAllowList: { fhir: ["203.0.113.7"] } } }),
      "edge.vendorIpAllowList.fhir.0: expected an IPv4 or IPv6 CIDR block",
    ],
    [
      "fhirSecretHeaders.0",
      (input) => Object.assign(input, { fhirSecretHeaders: ["Content-Type"] }),
      "fhirSecretHeaders.0: this header carries something else",
    ],
    [
      "fhirSecretHeaders.1",
      (input) => Object.assign(input, { fhirSecretHeaders: ["authorization", "X-Hub-Signature"] }),
      "fhirSecretHeaders.1: this header carries something else",
    ],
    [
      "fhirSecretHeaders.0",
      (input) => Object.assign(input, { fhirSecretHeaders: ["x api key"] }),
      "fhirSecretHeaders.0: expected a lower-case HTTP header name",
    ],
    ["fhirSecretHeaders", (input) => Object.assign(input, { fhirSecretHeaders: [] }), "fhirSecretHeaders:"],
    [
      "a misspelt key",
      (input) => Object.assign(input, { alarmEmial: "x@example.com" }),
      'Unrecognized key: "alarmEmial"',
    ],
    [
      "a misspelt tenant policy",
      (input) => Object.assign(input.tenant ?? {}, { settelHours: 4 }),
      'tenant: Unrecognized key: "settelHours"',
    ],
  ])("names the failing field: %s", (_field, change, expected) => {
    const input = demoConfig() as Input;
    change(input);

    const message = configErrorOf(() => parseDeploymentConfig(input, "test"));

    expect(message).toContain("invalid portaltime configuration (test):\n");
    expect(message).toContain(expected);
  });

  it("reads the file named by --context configFile, which wins over the cdk.json object", () => {
    const dir = mkdtempSync(join(tmpdir(), "portaltime-config-"));
    try {
      const file = join(dir, "customer.json");
      writeFileSync(file, JSON.stringify({ ...demoConfig(), prefix: "acme-clinic" }));

      const config = deploymentConfigFromContext(contextOf({ configFile: file, portaltime: demoConfig() }));

      expect(config.prefix).toBe("acme-clinic");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the file when it is invalid, unreadable or not JSON", () => {
    const reading = (text: string) => () =>
      deploymentConfigFromContext(contextOf({ configFile: "customer.json" }), () => text);

    expect(configErrorOf(reading(JSON.stringify({ ...demoConfig(), prefix: "Bad Prefix" })))).toContain(
      "(file customer.json):\n  prefix:",
    );
    expect(configErrorOf(reading("{ not json"))).toContain("is not JSON (file customer.json)");
    expect(
      configErrorOf(() =>
        deploymentConfigFromContext(contextOf({ configFile: join(tmpdir(), "missing.json") })),
      ),
    ).toContain("cannot read the portaltime configuration");
  });

  it("accepts the context as a JSON string (--context portaltime='{...}') and says when it is missing", () => {
    const config = deploymentConfigFromContext(contextOf({ portaltime: JSON.stringify(demoConfig()) }));

    expect(config.prefix).toBe("portaltime");
    expect(configErrorOf(() => deploymentConfigFromContext(contextOf({})))).toContain(
      "no portaltime configuration",
    );
  });

  it("fails synth of the app when the configuration is invalid, naming the field", () => {
    const message = configErrorOf(() => portaltimeApp({ ...demoConfig(), alarmEmail: "nobody" }));

    expect(message).toMatch(/^invalid portaltime configuration \(context portaltime\):\n {2}alarmEmail:/);
  });

  it("makes the CDK app entry point exit 1 with the field named, without a stack trace", () => {
    const outdir = mkdtempSync(join(tmpdir(), "portaltime-cdk-out-"));
    try {
      const result = spawnSync(join(PROJECT_ROOT, "node_modules/.bin/tsx"), ["bin/portaltime.ts"], {
        cwd: PROJECT_ROOT,
        env: {
          ...process.env,
          CDK_OUTDIR: outdir,
          CDK_CONTEXT_JSON: JSON.stringify({ portaltime: { ...demoConfig(), finalizeScheduleMinutes: 90 } }),
        },
        encoding: "utf8",
      });

      expect(result.status).toBe(1);
      expect(result.stderr).toContain("finalizeScheduleMinutes: Too big");
      expect(result.stderr).not.toContain("    at ");
    } finally {
      rmSync(outdir, { recursive: true, force: true });
    }
  }, 30_000);
});
