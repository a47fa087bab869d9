import { parseTenantConfig, type TenantConfig } from "../../functions/domain/config.js";
import { ConfigurationError } from "../../functions/domain/errors.js";
import { parseCsv } from "./csv-records.js";
import { InvalidInputError } from "./errors.js";

/** The roster CSV's columns, in this order: the roster entry's fields (functions/domain/config.ts). */
export const rosterColumns = [
  "practitionerId",
  "npi",
  "credential",
  "name",
  "group",
  "effectiveFrom",
  "effectiveTo",
] as const;
type RosterColumn = (typeof rosterColumns)[number];

/** Columns that may be empty: the entry then has no such field (the schema's default, or open-ended dates). */
const optionalColumns: ReadonlySet<RosterColumn> = new Set(["name", "group", "effectiveFrom", "effectiveTo"]);

/** A roster row as read, before validation, with the line of the file it starts on. */
export interface RosterRow {
  line: number;
  entry: Partial<Record<RosterColumn, string>>;
}

/**
 * The rows of a roster CSV: a header of exactly `rosterColumns`, then one entry per record. Fields are trimmed;
 * an empty optional field is left out. Fails on a wrong header or a record with another number of columns.
 */
export function rosterRows(text: string): RosterRow[] {
  const [header, ...records] = parseCsv(text);
  const expected = rosterColumns.join(",");
  if (header === undefined) throw new InvalidInputError(`CSV is empty: expected the header ${expected}`);
  const got = header.fields.map((name) => name.trim()).join(",");
  if (got !== expected) throw new InvalidInputError(`CSV header is ${got}: expected ${expected}`);
  return records.map((record, index) => {
    if (record.fields.length !== rosterColumns.length)
      throw new InvalidInputError(
        `${rowName(index, record.line)}: ${record.fields.length} columns, expected ${rosterColumns.length} (${expected})`,
      );
    const entry: Partial<Record<RosterColumn, string>> = {};
    rosterColumns.forEach((column, at) => {
      const value = (record.fields[at] as string).trim();
      if (value !== "" || !optionalColumns.has(column)) entry[column] = value;
    });
    return { line: record.line, entry };
  });
}

/**
 * The base configuration with the CSV's rows as its roster, validated whole. A failing roster field is named
 * by its CSV row and column (the zod path `roster.<index>.<field>` mapped back), so the CSV is what gets fixed.
 */
export function configWithRoster(base: TenantConfig | Record<string, unknown>, csv: string) {
  const rows = rosterRows(csv);
  const candidate = { ...base, roster: rows.map((row) => row.entry) };
  let config: TenantConfig;
  try {
    config = parseTenantConfig(candidate);
  } catch (error) {
    if (error instanceof ConfigurationError) throw rosterProblem(error, rows);
    throw error;
  }
  return { candidate, config, rows: rows.length };
}

function rosterProblem(error: ConfigurationError, rows: readonly RosterRow[]): InvalidInputError {
  const [root, index, column] = error.field.split(".");
  const row = index === undefined ? undefined : rows[Number(index)];
  if (root !== "roster")
    return new InvalidInputError(`invalid at ${error.field}: ${error.reason}`, { cause: error });
  if (row === undefined) return new InvalidInputError(`CSV: ${error.reason}`, { cause: error });
  const at = rowName(Number(index), row.line);
  if (column === undefined) return new InvalidInputError(`${at}: ${error.reason}`, { cause: error });
  const others = column === "practitionerId" ? sameIdRows(row, rows) : "";
  return new InvalidInputError(`${at}, column ${column}: ${error.reason}${others}`, { cause: error });
}

/** The other rows of the row's practitioner (an overlap is reported on one; the operator needs to see both). */
function sameIdRows(row: RosterRow, rows: readonly RosterRow[]): string {
  const others = rows.flatMap((other, index) =>
    other !== row && other.entry.practitionerId === row.entry.practitionerId ? [index + 1] : [],
  );
  if (others.length === 0) return "";
  return ` (${row.entry.practitionerId} is also on row${others.length === 1 ? "" : "s"} ${others.join(", ")})`;
}

/** Rows are counted from the first after the header; lines from the top of the file. */
const rowName = (index: number, line: number): string => `CSV row ${index + 1} (line ${line})`;
