import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runConfig, usage } from "../../bin/config/config-command.js";
import { showConfig } from "../../bin/config/config-commands.js";
import { parseTenantConfig } from "../../functions/domain/config.js";
import { configDigest, type StoredConfig } from "../../functions/store/config-store.js";

/** runConfig with its output kept, the local-stack file looked up in a directory of the test's own. */
async function config(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runConfig(args, {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    localStackDir: await mkdtemp(join(tmpdir(), "config-")),
  });
  return { code, out, err };
}

/** A file of the test's own with the given content (JSON unless a string). */
async function file(name: string, content: unknown): Promise<string> {
  const path = join(await mkdtemp(join(tmpdir(), "config-file-")), name);
  await writeFile(path, typeof content === "string" ? content : JSON.stringify(content));
  return path;
}

const tenant = {
  timezone: "America/New_York",
  roster: [{ practitionerId: "dr-adams", npi: "1003000126", credential: "MD" }],
  feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { "99421": 1500 } }],
};

describe("npm run config: the command line", () => {
  it.each([
    [[], "no command"],
    [["publish", "a.json"], "unknown command: publish a.json"],
    [["roster"], "unknown command: roster"],
    [["validate"], "validate needs FILE"],
    [["validate", "a.json", "b.json"], "validate takes one FILE: a.json b.json"],
    [["validate", "a.json", "--local"], "validate reads only FILE: it takes no stack"],
    [["diff", "a.json"], "say which stack: --local, --prefix <prefix> or --endpoint <url> --table <name>"],
    [["push", "a.json", "--local", "--by", " "], "--by needs a name"],
    [["diff", "a.json", "--local", "--by", "ann"], "--by goes with push"],
    [["push", "a.json", "--local", "--json"], "--json goes with show"],
    [["show", "a.json", "--local"], "show takes no file: a.json"],
    [
      ["show", "--local", "--at", "yesterday"],
      "--at is not a date (YYYY-MM-DD) or an instant with its zone (ISO 8601): yesterday",
    ],
    [
      ["show", "--local", "--at", "2026-11-10T12:00:00"],
      "--at is not a date (YYYY-MM-DD) or an instant with its zone (ISO 8601): 2026-11-10T12:00:00",
    ],
    [["show", "--local", "--out", "x.json"], "--out goes with roster import"],
    [["roster", "import", "--local"], "roster import needs CSV"],
    [
      ["roster", "import", "r.csv"],
      "say which stack: --local, --prefix <prefix> or --endpoint <url> --table <name>",
    ],
    [
      ["roster", "import", "r.csv", "--base", "a.json", "--local"],
      "roster import takes --base FILE or a stack, not both",
    ],
    [["show", "--local", "--verbose"], "unknown option --verbose"],
    [["show", "--local", "--table", "t"], "--local takes no --prefix, --region, --table or --endpoint"],
  ])("%j: exits 2 with one line saying why, then the usage", async (args, problem) => {
    // Act
    const { code, out, err } = await config(...args);

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toEqual([`config: ${problem}`, usage]);
  });

  it("--help prints the usage and exits 0", async () => {
    // Act
    const { code, out } = await config("--help");

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([usage]);
  });

  it("a stack that is not running: one line, exit 1, and the file was read first", async () => {
    // Prepare
    const valid = await file("tenant.json", tenant);

    // Act
    const { code, err } = await config("push", valid, "--local");

    // Assess
    expect(code).toBe(1);
    expect(err).toEqual(["config: no local stack is running: start it with npm start"]);
  });

  it("an invalid file is refused before any stack is looked for (nothing half-applied)", async () => {
    // Prepare
    const invalid = await file("tenant.json", { ...tenant, settleHours: -1 });

    // Act
    const { code, err } = await config("push", invalid, "--local");

    // Assess
    expect(code).toBe(2);
    expect(err).toEqual([`${invalid}: invalid at settleHours: Too small: expected number to be >=0`]);
  });
});

describe("npm run config -- validate", () => {
  it("a valid file: one line of summary, exit 0", async () => {
    // Prepare
    const valid = await file("tenant.json", tenant);

    // Act
    const { code, out, err } = await config("validate", valid);

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([`${valid}: valid; timezone America/New_York, 1 roster entry, 1 fee schedule`]);
    expect(err).toEqual([]);
  });

  it.each([
    [
      "an NPI with a bad check digit",
      { ...tenant, roster: [{ ...tenant.roster[0], npi: "1003000127" }] },
      "invalid at roster.0.npi: NPI check digit does not match",
    ],
    ["no time zone", { roster: [] }, "invalid at timezone: "],
    ["not JSON", "{ timezone:", "invalid at (root): not JSON: "],
  ])("%s: one line naming the field, exit 2", async (_name, content, problem) => {
    // Prepare
    const invalid = await file("tenant.json", content);

    // Act
    const { code, out, err } = await config("validate", invalid);

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err).toHaveLength(1);
    expect(err[0]).toContain(`${invalid}: ${problem}`);
  });

  it("a file that is not there: one line, exit 1", async () => {
    // Act
    const { code, err } = await config("validate", "/nonexistent/tenant.json");

    // Assess
    expect(code).toBe(1);
    expect(err).toEqual(["config: cannot read /nonexistent/tenant.json: no such file"]);
  });
});

describe("npm run config -- roster import --base", () => {
  it("writes the base with the CSV as its roster to --out", async () => {
    // Prepare
    const base = await file("tenant.json", tenant);
    const csv = await file(
      "roster.csv",
      "practitionerId,npi,credential,name,group,effectiveFrom,effectiveTo\n" +
        'dr-baker,1003000134,NP,"Baker, Bo",north,2026-11-01,\n',
    );
    const out = join(await mkdtemp(join(tmpdir(), "config-out-")), "new.json");

    // Act
    const result = await config("roster", "import", csv, "--base", base, "--out", out);

    // Assess
    expect(result).toMatchObject({ code: 0, out: [`1 roster entry from ${csv} into ${base}: wrote ${out}`] });
    expect(JSON.parse(await readFile(out, "utf8"))).toEqual({
      ...tenant,
      roster: [
        {
          practitionerId: "dr-baker",
          npi: "1003000134",
          credential: "NP",
          name: "Baker, Bo",
          group: "north",
          effectiveFrom: "2026-11-01",
        },
      ],
    });
  });

  it("R18: overlapping rows: one line naming the row and column, exit 2, nothing written", async () => {
    // Prepare
    const base = await file("tenant.json", tenant);
    const csv = await file(
      "roster.csv",
      "practitionerId,npi,credential,name,group,effectiveFrom,effectiveTo\n" +
        'dr-baker,1003000134,NP,"Baker,\nBo",,,2026-12-31\n' +
        "dr-chen,1003000142,PA,,,,\n" +
        "dr-baker,1003000159,MD,,,2026-12-01,\n",
    );
    const out = join(await mkdtemp(join(tmpdir(), "config-out-")), "new.json");

    // Act
    const result = await config("roster", "import", csv, "--base", base, "--out", out);

    // Assess
    expect(result).toEqual({
      code: 2,
      out: [],
      err: [
        "CSV row 3 (line 5), column practitionerId: practitionerId has another roster entry in force on some of " +
          "the same days (dr-baker is also on row 1)",
      ],
    });
    await expect(readFile(out)).rejects.toThrow("ENOENT");
  });

  it("CSV row 7 (line 8): an NPI of 9 digits is named by its row, line and column", async () => {
    // Prepare
    const base = await file("tenant.json", tenant);
    const rows = [1, 2, 3, 4, 5, 6].map((n) => `dr-${n},1003000126,MD,,,,`);
    const csv = await file(
      "roster.csv",
      [
        "practitionerId,npi,credential,name,group,effectiveFrom,effectiveTo",
        ...rows,
        "dr-7,100300012,MD,,,,",
      ].join("\n"),
    );

    // Act
    const { code, err } = await config("roster", "import", csv, "--base", base);

    // Assess
    expect(code).toBe(2);
    expect(err).toEqual(["CSV row 7 (line 8), column npi: expected a 10-digit NPI"]);
  });
});

describe("show --at", () => {
  const stored = (version: number, pushedAt: string, settleHours: number): StoredConfig => {
    const parsed = parseTenantConfig({ timezone: "America/New_York", settleHours });
    return { version, pushedAt, by: "ann", digest: configDigest(parsed), config: parsed };
  };
  // Version 2 was pushed at 21:30 in New York on 2026-11-10, already the 11th in UTC.
  const versions = [stored(1, "2026-11-01T15:00:00.000Z", 48), stored(2, "2026-11-11T02:30:00.000Z", 72)];
  const store = { latest: async () => versions.at(-1), versions: async () => versions };

  async function show(at: { date: string } | { instant: string }) {
    const out: string[] = [];
    const code = await showConfig(
      store,
      { out: (line) => out.push(line), err: () => {} },
      { at, json: false },
    );
    return { code, out };
  }

  it.each([
    [{ date: "2026-11-10" }, "version 2, pushed 2026-11-11T02:30:00.000Z by ann"],
    [{ date: "2026-11-09" }, "version 1, pushed 2026-11-01T15:00:00.000Z by ann"],
    [{ instant: "2026-11-11T02:29:59Z" }, "version 1, pushed 2026-11-01T15:00:00.000Z by ann"],
    [{ instant: "2026-11-11T02:30:00Z" }, "version 2, pushed 2026-11-11T02:30:00.000Z by ann"],
  ])("%j: the last version pushed by then (a date ends at the practice's midnight)", async (at, first) => {
    // Act
    const { code, out } = await show(at);

    // Assess
    expect(code).toBe(0);
    expect(out[0]).toBe(first);
  });

  it("says which version followed, and the policies, roster and fee schedules", async () => {
    // Act
    const { out } = await show({ date: "2026-11-09" });

    // Assess
    expect(out).toContain("followed by version 2, pushed 2026-11-11T02:30:00.000Z by ann");
    expect(out).toContain("  settleHours: 48");
    expect(out).toContain("roster: 0 entries of 0 practitioners");
    expect(out.at(-1)).toBe(
      "fee schedules: none (the shipped default, 2025 Medicare national non-facility amounts, is in force)",
    );
  });

  it("before the first version: fails naming the first", async () => {
    // Act
    const show = () =>
      showConfig(store, { out: () => {}, err: () => {} }, { at: { date: "2026-10-31" }, json: false });

    // Assess
    await expect(show).rejects.toThrow(
      "no version was in force at the end of 2026-10-31: the first, version 1, was pushed at 2026-11-01T15:00:00.000Z",
    );
  });
});
