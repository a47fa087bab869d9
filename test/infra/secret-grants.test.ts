import type { SecretsProvider } from "@aws-lambda-powertools/parameters/secrets";
import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it, vi } from "vitest";
import { resourceFetchers } from "../../functions/apply/resource-fetchers.js";
import { secretsManagerSource } from "../../functions/ingest/secrets.js";
import {
  applyConfigSchema,
  configFromEnv,
  finalizeConfigSchema,
  ingestConfigSchema,
  initialConfigSchema,
  reviewConfigSchema,
} from "../../functions/runtime-config.js";
import { formatNames } from "../../functions/vendors/format.js";
import type { DeploymentConfigInput } from "../../lib/deployment-config.js";
import { demoConfig, synthTemplate } from "./synth.js";

// Tests that synthesize the stack take seconds, more on a busy machine.
vi.setConfig({ testTimeout: 60_000 });

/**
 * Every secret a function reads exists under exactly the name it reads, and is granted to that function's role
 * and to no other. What a function reads is found by running its own code (the ingest secret source, the apply
 * function's resource fetchers) on the settings the stack gives it, with a Secrets Manager stand-in that records
 * each name asked for: the names cannot drift apart between lib/ and functions/ without this failing.
 */

/** Each function's settings schema (functions/runtime-config.ts), by the name in `<prefix>-<name>`. */
const functionSchemas = {
  ingest: ingestConfigSchema,
  apply: applyConfigSchema,
  finalize: finalizeConfigSchema,
  "initial-config": initialConfigSchema,
  review: reviewConfigSchema,
};

/** The Secrets Manager names a function's code reads, given the environment the stack sets. */
async function secretsReadBy(name: string, environment: Record<string, unknown>): Promise<string[]> {
  const schema = functionSchemas[name as keyof typeof functionSchemas];
  if (schema === undefined) throw new Error(`function ${name} is unknown here: say which secrets it reads`);
  // Deploy-time references (Ref, Fn::GetAtt) are not secret names: only the plain settings are read.
  const env = Object.fromEntries(
    Object.entries(environment).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
  const read: string[] = [];
  if ("secretPrefix" in schema.shape) {
    const settings = configFromEnv(
      ingestConfigSchema.pick({ secretPrefix: true, enabledFormats: true }),
      env,
    );
    const provider = {
      get: async (secretName: string) => {
        read.push(secretName);
        return { active: ["recorded"] };
      },
    } as unknown as SecretsProvider;
    const source = secretsManagerSource(settings.secretPrefix, provider);
    for (const format of settings.enabledFormats) await source(format);
  }
  if ("hydration" in schema.shape) {
    const { hydration } = configFromEnv(applyConfigSchema.pick({ hydration: true }), env);
    // The stand-in refuses every read, so no client is built and nothing leaves the machine.
    const fetcherFor = resourceFetchers(hydration, async (secretName) => {
      read.push(secretName);
      throw new Error("recorded");
    });
    for (const format of formatNames) await fetcherFor(format)("Probe/1").catch(() => undefined);
  }
  return read;
}

interface Reader {
  function: string;
  role: string;
  reads: string[];
}

async function readersOf(template: Template, prefix: string): Promise<Reader[]> {
  return Promise.all(
    Object.values(template.findResources("AWS::Lambda::Function")).map(async ({ Properties }) => ({
      function: Properties.FunctionName,
      role: Properties.Role["Fn::GetAtt"][0],
      reads: await secretsReadBy(
        String(Properties.FunctionName).slice(`${prefix}-`.length),
        Properties.Environment?.Variables ?? {},
      ),
    })),
  );
}

/** The roles allowed `secretsmanager:GetSecretValue` on each secret, by the secret's logical id. */
function secretReadGrants(template: Template): Map<string, Set<string>> {
  const grants = new Map<string, Set<string>>();
  for (const policy of Object.values(template.findResources("AWS::IAM::Policy"))) {
    const roles = (policy.Properties.Roles as Array<{ Ref: string }>).map((role) => role.Ref);
    for (const statement of policy.Properties.PolicyDocument.Statement) {
      if (![statement.Action].flat().includes("secretsmanager:GetSecretValue")) continue;
      for (const resource of [statement.Resource].flat()) {
        const secret = (resource as { Ref?: string }).Ref ?? JSON.stringify(resource);
        grants.set(secret, new Set([...(grants.get(secret) ?? []), ...roles]));
      }
    }
  }
  return grants;
}

const variants: Array<[string, () => DeploymentConfigInput]> = [
  ["the demo configuration (every format, every vendor API)", demoConfig],
  [
    "another prefix, Healthie's webhook and API only",
    () => {
      const { fhir: _fhir, elation: _elation, ...config } = demoConfig();
      return { ...config, prefix: "acme", enabledFormats: ["healthie"] };
    },
  ],
];

describe.each(variants)("secrets the functions read, %s", (_, config) => {
  let template: Template;
  let readers: Reader[];
  const { prefix } = config() as { prefix: string };
  beforeAll(async () => {
    template = synthTemplate(config());
    readers = await readersOf(template, prefix);
  }, 60_000);

  const secretsByName = () =>
    Object.entries(template.findResources("AWS::SecretsManager::Secret")).map(([id, secret]) => ({
      id,
      name: secret.Properties.Name as string,
    }));

  it("exist in the template under exactly the names the functions read", () => {
    const names = secretsByName().map((secret) => secret.name);
    const read = readers.flatMap((reader) => reader.reads);

    expect(read.length).toBeGreaterThan(0);
    for (const name of read)
      expect(
        names.filter((candidate) => candidate === name),
        name,
      ).toHaveLength(1);
    // And nothing is created that no function reads (a secret under a name no function asks for).
    expect(names.filter((name) => !read.includes(name))).toEqual([]);
  });

  it("are granted to the role of each function that reads them, and to no other", () => {
    const grants = secretReadGrants(template);

    for (const secret of secretsByName()) {
      const readBy = readers
        .filter((reader) => reader.reads.includes(secret.name))
        .map((reader) => reader.role);
      expect([...(grants.get(secret.id) ?? [])].sort(), secret.name).toEqual(readBy.sort());
    }
    // No grant names a secret the template does not hold.
    const ids = new Set(secretsByName().map((secret) => secret.id));
    expect([...grants.keys()].filter((id) => !ids.has(id))).toEqual([]);
  });
});
