import { execFile } from "node:child_process";
import { mkdtemp, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { afterAll, beforeAll, describe, expect, inject, it } from "vitest";
import { runConfig } from "../../bin/config/config-command.js";
import { localStackFile, writeLocalStackFile } from "../../bin/local/local-stack-file.js";
import { localDynamodbClient } from "../../bin/local/resources.js";
import { parseTenantConfig } from "../../functions/domain/config.js";
import { DynamoTenantConfigStore } from "../../functions/store/config-store.js";
import { isolatedResources } from "../support/integration.js";

const root = new URL("../../", import.meta.url).pathname;
const endpoint = inject("localAws").dynamodbEndpoint;
const dynamodb = localDynamodbClient(endpoint);
const documents = DynamoDBDocumentClient.from(dynamodb);

afterAll(() => dynamodb.destroy());

const adams = { practitionerId: "dr-adams", npi: "1003000126", credential: "MD" };
const version1 = { timezone: "America/New_York", roster: [adams] };
const version2 = {
  ...version1,
  settleHours: 72,
  roster: [
    adams,
    { practitionerId: "dr-baker", npi: "1003000134", credential: "NP", effectiveFrom: "2026-11-01" },
  ],
  feeSchedules: [{ effectiveFrom: "2027-01-01", fees: { "99421": 1600, "99422": 2900 } }],
};

/** runConfig with its output kept, as the CLI would print it, pushing at `now` as `ann`. */
async function config(args: string[], options: { now?: string; localStackDir?: string } = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runConfig(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    now: () => new Date(options.now ?? "2026-12-01T12:00:00Z"),
    operator: "ann",
    localStackDir: options.localStackDir,
  });
  return { code, out, err };
}

async function file(name: string, content: unknown): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "config-cli-")), name);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

describe("npm run config against DynamoDB Local", () => {
  let tableName: string;
  let target: string[];
  let first: string;
  let second: string;

  beforeAll(async () => {
    ({ tableName } = await isolatedResources());
    target = ["--endpoint", endpoint, "--table", tableName];
    first = await file("version1.json", version1);
    second = await file("version2.json", version2);
  });

  it("pushes two versions, then the same file again adds none", async () => {
    // Act
    const pushed1 = await config(["push", first, ...target], { now: "2026-11-01T15:00:00Z" });
    const pushed2 = await config(["push", second, "--by", "bob", ...target], { now: "2026-11-11T02:30:00Z" });
    const again = await config(["push", second, ...target], { now: "2026-11-12T10:00:00Z" });

    // Assess
    expect(pushed1).toEqual({
      code: 0,
      out: ["pushed version 1"],
      err: [`config: table ${tableName} at ${endpoint}`],
    });
    expect(pushed2.out).toEqual(["pushed version 2"]);
    expect(again.out).toEqual(["unchanged: version 2 is the same"]);
    const versions = await new DynamoTenantConfigStore(documents, tableName).versions();
    expect(versions.map(({ version, pushedAt, by }) => ({ version, pushedAt, by }))).toEqual([
      { version: 1, pushedAt: "2026-11-01T15:00:00.000Z", by: "ann" },
      { version: 2, pushedAt: "2026-11-11T02:30:00.000Z", by: "bob" },
    ]);
  });

  it("show --at picks the version in force then: a date ends at the practice's midnight", async () => {
    // Act: version 2 was pushed at 21:30 on 2026-11-10 in New York.
    const onTheNinth = await config(["show", "--at", "2026-11-09", ...target]);
    const onTheTenth = await config(["show", "--at", "2026-11-10", ...target]);
    const justBefore = await config(["show", "--at", "2026-11-11T02:29:59Z", ...target]);
    const latest = await config(["show", ...target]);

    // Assess
    expect(onTheNinth.out.slice(0, 2)).toEqual([
      "version 1, pushed 2026-11-01T15:00:00.000Z by ann",
      "followed by version 2, pushed 2026-11-11T02:30:00.000Z by bob",
    ]);
    expect(onTheTenth.out[0]).toBe("version 2, pushed 2026-11-11T02:30:00.000Z by bob");
    expect(justBefore.out[0]).toBe("version 1, pushed 2026-11-01T15:00:00.000Z by ann");
    expect(latest.out).toContain("  settleHours: 72");
    expect(latest.out).toContain("roster: 2 entries of 2 practitioners; by group: default 2");
    expect(latest.out).toContain("fee schedules: from 2027-01-01 (2 codes)");
  });

  it("show --json prints the stored configuration alone, which validates and pushes as the same version", async () => {
    // Act
    const { code, out, err } = await config(["show", "--json", "--at", "2026-11-09", ...target]);
    const saved = await file("saved.json", out.join("\n"));
    const pushed = await config(["push", saved, ...target]);

    // Assess
    expect(code).toBe(0);
    expect(JSON.parse(out.join("\n"))).toEqual(parseTenantConfig(version1));
    expect(err.at(-1)).toBe("config: version 1, pushed 2026-11-01T15:00:00.000Z by ann");
    expect(pushed.out).toEqual(["pushed version 3"]);
  });

  it("diff: what changes from the latest version, and the dates a push would decide again (R18)", async () => {
    // Prepare: version 3 is version 1 again; the file adds dr-baker from November and 2027's fees.
    // Act
    const { code, out } = await config(["diff", second, ...target]);
    const same = await config(["diff", first, ...target]);

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([
      `from version 3 (pushed 2026-12-01T12:00:00.000Z by ann) to ${second}:`,
      "  policy settleHours: 48 -> 72",
      "  roster entry added: dr-baker from 2026-11-01 on (NP, NPI 1003000134, group default)",
      "  fee schedule from 2027-01-01 added: 2 codes",
      "what a push would decide again (within the adjustment horizon):",
      "  time of dr-baker from 2026-11-01 on that was unattributed or unknown-clinician will be decided again",
      // The new schedule replaces the default and prices only two codes: the others lose their fee.
      // (The shipped default prices the other families' codes too: they lose theirs as well.)
      "  fees of 98970, 98971, 98972, 99421, 99422, 99423, 99424, 99425, 99426, 99427, 99437, 99439, 99446, 99451, " +
        "99452, 99487, 99489, 99490, 99491, G2010, G2250 differ for dates of service from 2027-01-01 on; " +
        "98970, 98971, 98972, 99423, 99424, 99425, 99426, 99427, 99437, 99439, 99446, 99451, 99452, 99487, 99489, " +
        "99490, 99491, G2010, G2250 have no fee then (needs-review, fee-missing)",
      "  lines with dates of service from 2026-11-01 on (within the adjustment horizon) will be decided again (R18)",
      "  policies are not dated: a changed policy applies to what is decided from the push on; a line already " +
        "sent changes with it only when its patient is decided again (R16)",
    ]);
    expect(same).toMatchObject({ code: 0, out: [`no change: ${first} is version 3`] });
  });

  it("roster import merges the CSV into the latest version, validated whole", async () => {
    // Prepare
    const csv = await file(
      "roster.csv",
      "practitionerId,npi,credential,name,group,effectiveFrom,effectiveTo\r\n" +
        'dr-adams,1003000126,MD,"Adams, Ann",,,\r\n',
    );

    // Act
    const { code, out, err } = await config(["roster", "import", csv, ...target]);

    // Assess
    expect(code).toBe(0);
    expect(parseTenantConfig(JSON.parse(out.join("\n"))).roster).toEqual([
      { ...adams, name: "Adams, Ann", group: "default" },
    ]);
    expect(err.at(-1)).toBe(`config: 1 roster entry from ${csv} into version 3`);
  });

  it("--local: finds the table through the file npm start writes for its port", async () => {
    // Prepare
    const localStackDir = await mkdtemp(join(tmpdir(), "config-local-"));
    writeLocalStackFile(localStackFile(4124, localStackDir), { dynamodbEndpoint: endpoint, tableName });

    // Act
    const { code, out } = await config(["show", "--local", "--port", "4124"], { localStackDir });

    // Assess
    expect(code).toBe(0);
    expect(out[0]).toBe("version 3, pushed 2026-12-01T12:00:00.000Z by ann");
  });

  it("a table with no version: show says how to push one, exit 1", async () => {
    // Prepare
    const empty = await isolatedResources();

    // Act
    const { code, err } = await config(["show", "--endpoint", endpoint, "--table", empty.tableName]);

    // Assess
    expect(code).toBe(1);
    expect(err.at(-1)).toBe(
      "config: no tenant configuration has been pushed to this table: npm run config -- push FILE <stack>",
    );
  });

  it("the CLI itself (npx tsx bin/config.ts) refuses an invalid file with exit 2 and the field path", async () => {
    // Prepare
    const bad = await file("bad.json", { ...version1, roster: [{ ...adams, npi: "1003000127" }] });

    // Act
    const run = promisify(execFile)("npx", ["tsx", "bin/config.ts", "validate", bad], {
      cwd: root,
      timeout: 30_000,
    });

    // Assess
    await expect(run).rejects.toMatchObject({
      code: 2,
      stdout: "",
      stderr: `${bad}: invalid at roster.0.npi: NPI check digit does not match\n`,
    });
  });
});
