import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { GetSecretValueCommand, SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { BackfillStoppedError, runBackfill } from "../../bin/backfill/backfill-run.js";
import { deployedSigningSecrets } from "../../bin/backfill/deployed-secrets.js";
import { openScenarioFile } from "../../bin/local/scenario-file.js";
import { devSigningSecrets } from "../../bin/local/sign-delivery.js";

/** A scenario file of its own: `count` bridge deliveries a second apart, and any extra deliveries given. */
async function scenarioFile(count: number, extra: unknown[] = []) {
  const directory = await mkdtemp(join(tmpdir(), "backfill-unit-"));
  const file = join(directory, "scenario.json");
  const deliveries = Array.from({ length: count }, (_, i) => ({
    at: `2026-03-02T14:00:0${i}Z`,
    format: "bridge",
    body: { n: i },
  }));
  await writeFile(
    file,
    JSON.stringify({ config: {}, deliveries: [...deliveries, ...extra], finalizeAt: "2026-03-12T13:00:00Z" }),
  );
  return { scenario: await openScenarioFile(file), progressFile: join(directory, "progress.json") };
}

/** A clock that moves only when the backfill sleeps, and a stack that answers 202 to everything. */
function fakeTime() {
  let now = Date.parse("2026-12-01T10:00:00Z");
  const starts: number[] = [];
  return {
    now: () => now,
    sleep: async (ms: number) => {
      now += ms;
    },
    starts,
    fetch: (async () => {
      starts.push(now);
      return new Response(null, { status: 202 });
    }) as typeof fetch,
  };
}

describe("backfill to a deployed stack", () => {
  it("starts at most --rate deliveries a second", async () => {
    // Prepare
    const { scenario, progressFile } = await scenarioFile(5);
    const time = fakeTime();

    // Act
    const summary = await runBackfill({
      scenario,
      progressFile,
      webhookBaseUrl: "https://api.example.test/prod/webhooks/",
      target: "acme",
      signingSecrets: async () => devSigningSecrets,
      ratePerSecond: 2,
      ...time,
    });

    // Assess
    expect(summary.sent).toBe(5);
    expect(time.starts.map((at) => at - (time.starts[0] ?? 0))).toEqual([0, 500, 1000, 1500, 2000]);
  });

  it("an unsigned Elation delivery stops the backfill before it is sent: the stack holds only Elation's public key", async () => {
    // Prepare
    const { scenario, progressFile } = await scenarioFile(1, [
      { at: "2026-03-03T14:00:00Z", format: "elation", body: { event_type: "saved" } },
    ]);
    const time = fakeTime();
    const secrets = new SecretsManagerClient({ region: "eu-west-1" });
    const sm = mockClient(secrets);
    sm.on(GetSecretValueCommand).resolves({
      SecretString: JSON.stringify({ active: [devSigningSecrets.bridge] }),
    });

    // Act
    const run = runBackfill({
      scenario,
      progressFile,
      webhookBaseUrl: "https://api.example.test/prod/webhooks/",
      target: "acme",
      signingSecrets: deployedSigningSecrets(secrets, "acme/webhooks"),
      ratePerSecond: 10,
      ...time,
    });

    // Assess
    await expect(run).rejects.toThrow(BackfillStoppedError);
    await expect(run).rejects.toThrow(
      "deliveries.1 (elation) is unsigned and there is no elation signing secret to sign it with (the stack holds " +
        "only Elation's public key): keep Elation's own signature; 1 deliveries acknowledged, a rerun resumes here",
    );
    expect(time.starts).toHaveLength(1);
    expect(sm.commandCalls(GetSecretValueCommand).map((call) => call.args[0].input.SecretId)).toEqual([
      "acme/webhooks/bridge",
    ]);
  });
});
