import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";

/**
 * docs/RULES.md lists every rule id with where it is decided and tested. This keeps it honest: each rule the
 * table says is decided has a test whose name carries its id, in a file the table names.
 */
const root = join(import.meta.dirname, "../..");
const table = readFileSync(join(root, "docs/RULES.md"), "utf8");
const rows = table
  .split("\n")
  .filter((line) => /^\| R\d+ /.test(line))
  .map((line) => {
    const cells = line.split("|").map((cell) => cell.trim());
    return {
      id: /^R\d+/.exec(cells[1] ?? "")?.[0] as string,
      decided: cells[3] ?? "",
      tested: cells[4] ?? "",
    };
  });

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : path.endsWith(".test.ts") ? [path] : [];
  });
}
const testSources = new Map(filesUnder(join(root, "test")).map((path) => [path, readFileSync(path, "utf8")]));

describe("docs/RULES.md", () => {
  it("lists R1 to R25, each once", () => {
    expect(rows.map((row) => row.id)).toEqual(Array.from({ length: 25 }, (_, index) => `R${index + 1}`));
  });

  it.each(rows.filter((row) => row.decided !== ""))(
    "$id: a test named with the id is in a file the table names",
    ({ id, tested }) => {
      const named = new RegExp(
        `(?:it|describe|test)(?:\\.each\\([\\s\\S]*?\\))?\\(\\s*["'\`][^"'\`]*\\b${id}\\b`,
      );
      const files = [...tested.matchAll(/`([^`]+\.test\.ts)`/g)].map((match) => match[1] as string);
      expect(files.length, `${id} names no test file`).toBeGreaterThan(0);
      const withTest = [...testSources].filter(
        ([path, source]) =>
          files.some((file) => path.endsWith(file.replace(/^test\//, ""))) && named.test(source),
      );
      expect(withTest.length, `${id}: no test named with it in ${files.join(", ")}`).toBeGreaterThan(0);
    },
  );
});
