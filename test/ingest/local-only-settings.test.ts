import { describe, expect, it } from "vitest";
import { devFormatSecrets } from "../../bin/local/dev-secrets.js";
import { configFromEnv, ingestConfigSchema, RuntimeConfigError } from "../../functions/runtime-config.js";
import { settingVariables } from "../../functions/settings.js";

/** What the stack gives the deployed ingest function, and what only the local stack adds. */
const deployed = {
  [settingVariables.enabledFormats]: "bridge",
  [settingVariables.secretPrefix]: "portaltime/webhooks",
  [settingVariables.inboxQueueUrl]: "https://sqs.us-east-1.amazonaws.com/123456789012/portaltime-inbox.fifo",
};
const localOnly = {
  [settingVariables.localSecrets]: JSON.stringify(devFormatSecrets),
  [settingVariables.sqsEndpoint]: "http://127.0.0.1:9324",
};
const lambdaRuntime = { AWS_EXECUTION_ENV: "AWS_Lambda_nodejs24.x" };

describe("settings only the local stack may use", () => {
  it("a deployed function refuses to start with development secrets or local endpoints, naming them", () => {
    const start = () => configFromEnv(ingestConfigSchema, { ...deployed, ...localOnly, ...lambdaRuntime });

    expect(start).toThrow(RuntimeConfigError);
    expect(start).toThrow(/LOCAL_SECRETS is for the local stack only/);
    expect(start).toThrow(new RegExp(`${settingVariables.sqsEndpoint} is for the local stack only`));
  });

  it("a deployed function without them starts", () => {
    expect(configFromEnv(ingestConfigSchema, { ...deployed, ...lambdaRuntime }).localSecrets).toBeUndefined();
  });

  it("the local stack (no Lambda runtime) uses them", () => {
    const config = configFromEnv(ingestConfigSchema, { ...deployed, ...localOnly });
    expect(config.localSecrets).toEqual(devFormatSecrets);
  });
});
