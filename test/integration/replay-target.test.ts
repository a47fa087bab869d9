import { readFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import { createServer, type Server } from "node:http";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, inject, it } from "vitest";
import { backfillCommand } from "../../bin/backfill/backfill-command.js";
import { readProgress } from "../../bin/backfill/progress-file.js";
import { LocalPipeline } from "../../bin/local/pipeline.js";
import { devSigningSecrets } from "../../bin/local/sign-delivery.js";
import { isolatedResources } from "../support/integration.js";

const fixture = (name: string) => new URL(`../fixtures/scenarios/${name}`, import.meta.url).pathname;
const SCENARIO = fixture("two-clinicians-pooled.json");
const scenario = JSON.parse(readFileSync(SCENARIO, "utf8"));
const expected = readFileSync(fixture("two-clinicians-pooled.expected.jsonl"), "utf8")
  .split("\n")
  .filter((line) => line.trim() !== "")
  .map((line) => JSON.parse(line));

/** What the stand-in answers instead of the stack, for the n-th request (1-based); undefined passes it on. */
type Interference = (request: number, body: string) => { status: number; retryAfter?: string } | undefined;

const servers: Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => new Promise((resolve) => server.close(resolve))));
});

/**
 * A deployed stack stood in for by the local pipeline: an HTTP server in front of the real ingest handler (which
 * verifies every signature with the format's secret, here the development one the "Secrets Manager" of the test
 * hands out), with a queue and table of its own. `interfere` plays API Gateway throttling or an outage.
 */
async function deployedStandIn(interfere: Interference = () => undefined) {
  const pipeline = new LocalPipeline({
    endpoints: inject("localAws"),
    resources: await isolatedResources(),
    tenant: scenario.config,
  });
  const requests: Array<{ body: string; status: number }> = [];
  const server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (chunk: Buffer) => chunks.push(chunk));
    request.on("end", async () => {
      const body = Buffer.concat(chunks);
      const format = /^\/prod\/webhooks\/([^/]+)$/.exec(request.url ?? "")?.[1] ?? "";
      const instead = interfere(requests.length + 1, body.toString());
      const headers: Record<string, string> = {};
      for (const [name, value] of Object.entries(request.headers))
        if (typeof value === "string") headers[name] = value;
      const answer =
        instead === undefined
          ? await pipeline.invokeIngest({ format, headers, body })
          : {
              statusCode: instead.status,
              headers: {
                "content-type": "application/problem+json",
                ...(instead.retryAfter === undefined ? {} : { "retry-after": instead.retryAfter }),
              },
              body: JSON.stringify({
                type: "about:blank",
                title: `stand-in ${instead.status}`,
                status: instead.status,
              }),
            };
      requests.push({ body: body.toString(), status: answer.statusCode });
      response.writeHead(answer.statusCode, answer.headers as Record<string, string>);
      response.end(answer.body);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  // The path a deployed stage gives: the stage name before /webhooks/ (Healthie signs the path with it).
  return { pipeline, requests, url: `http://127.0.0.1:${port}/prod/webhooks/` };
}

async function backfill(url: string, progress: string) {
  const out: string[] = [];
  const err: string[] = [];
  const sleeps: number[] = [];
  const code = await backfillCommand(
    SCENARIO,
    { target: "acme-portaltime", url, rate: "50/s", progress },
    {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
      signingSecrets: async () => devSigningSecrets,
      sleep: async (ms) => void sleeps.push(ms),
    },
  );
  return { code, out, err, sleeps };
}

const progressFile = async () => join(await mkdtemp(join(tmpdir(), "backfill-")), "progress.json");
const accepted = (requests: ReadonlyArray<{ body: string; status: number }>) =>
  requests.filter((request) => request.status < 300).map((request) => request.body);

/** The stand-in's own pipeline applies what it accepted and runs its finalizer now, as the deployed one would. */
async function claimLines(pipeline: LocalPipeline) {
  await pipeline.applyInbox();
  await pipeline.finalize();
  const lines = await pipeline.takeClaims();
  const keys = Object.keys(expected[0] ?? {});
  return lines.map((line) => Object.fromEntries(keys.map((key) => [key, line[key as keyof typeof line]])));
}

describe("npm run replay -- FILE --target <stack>: backfill into a deployed stack", () => {
  it("sends every delivery signed with the stack's secrets, retries a 429, and the stack bills what the file says", async () => {
    // Prepare: the second request is throttled once.
    const stack = await deployedStandIn((n) => (n === 2 ? { status: 429, retryAfter: "1" } : undefined));
    const progress = await progressFile();

    // Act
    const { code, out, err, sleeps } = await backfill(stack.url, progress);

    // Assess
    expect(code).toBe(0);
    expect(out.map((line) => JSON.parse(line))).toEqual(
      [0, 1, 2].map((index) => ({ delivery: index, format: "fhir", status: 200 })),
    );
    expect(stack.requests.map((request) => request.status)).toEqual([200, 429, 200, 200]);
    expect(sleeps).toContain(1_000);
    expect(err).toContainEqual("replay: deliveries.1 (fhir): 429, attempt 1; again in 1000 ms");
    expect(readProgress(progress)).toMatchObject({ acknowledged: 3, lastIndex: 2 });
    expect(await claimLines(stack.pipeline)).toEqual(expected);
  });

  it.each([
    [
      "a 4xx stops at once",
      401,
      "refused: 401 stand-in 401: about:blank; 1 deliveries acknowledged, a rerun resumes at this one once it is fixed",
    ],
    [
      "an outage outlasting the retries stops",
      503,
      "still 503 after 8 attempts; 1 deliveries acknowledged, a rerun resumes at this one",
    ],
  ])(
    "%s; a rerun resumes after the last acknowledged delivery and sends none twice",
    async (_, status, message) => {
      // Prepare: the stack refuses everything after the first delivery until the operator reruns.
      let down = true;
      const stack = await deployedStandIn((n) => (down && n >= 2 ? { status } : undefined));
      const progress = await progressFile();

      // Act
      const first = await backfill(stack.url, progress);
      down = false;
      const second = await backfill(stack.url, progress);
      const third = await backfill(stack.url, progress);

      // Assess
      expect(first.code).toBe(1);
      expect(first.err.at(-1)).toBe(
        `replay: stopped: deliveries.1 (fhir) ${message}`.replace("(fhir) still", "(fhir): still"),
      );
      expect(first.out).toHaveLength(1);
      expect(second.code).toBe(0);
      expect(second.err).toContainEqual(
        `replay: resuming after 1 deliveries acknowledged earlier (${progress})`,
      );
      expect(second.out.map((line) => JSON.parse(line).delivery)).toEqual([1, 2]);
      expect(third.out).toEqual([]);
      const bodies = accepted(stack.requests);
      expect(bodies).toHaveLength(3);
      expect(new Set(bodies).size).toBe(3);
      expect(await claimLines(stack.pipeline)).toEqual(expected);
    },
  );

  it("a progress file of another target is never resumed", async () => {
    // Prepare
    const stack = await deployedStandIn();
    const progress = await progressFile();
    await backfill(stack.url, progress);
    const other = await deployedStandIn();

    // Act
    const { code, err } = await backfill(other.url, progress);

    // Assess
    expect(code).toBe(1);
    expect(err.at(-1)).toMatch(
      /^replay: stopped: .*progress.json records a backfill of acme-portaltime at http:\/\/127.0.0.1:\d+\/prod\/webhooks\/: pass --progress <another file> for this target$/,
    );
    expect(other.requests).toEqual([]);
  });
});
