import { describe, expect, it } from "vitest";
import { InvalidInputError } from "../../bin/config/errors.js";
import { configWithRoster, rosterColumns, rosterRows } from "../../bin/config/roster-csv.js";

const HEADER = rosterColumns.join(",");
const csv = (...rows: string[]): string => `${[HEADER, ...rows].join("\r\n")}\r\n`;

const base = {
  timezone: "America/New_York",
  settleHours: 72,
  roster: [{ practitionerId: "dr-gone", npi: "1003000126", credential: "MD" }],
  feeSchedules: [{ effectiveFrom: "2026-01-01", fees: { "99421": 1500 } }],
};

describe("roster import: the CSV", () => {
  it("reads one entry per row, leaving empty optional columns out and keeping quoted commas and quotes", () => {
    // Act
    const rows = rosterRows(
      csv(
        'dr-adams,1003000126,MD,"Adams, Ann ""Nan""",north,2026-01-01,2026-12-31',
        "dr-baker,1003000134,NP,,,,",
      ),
    );

    // Assess
    expect(rows).toEqual([
      {
        line: 2,
        entry: {
          practitionerId: "dr-adams",
          npi: "1003000126",
          credential: "MD",
          name: 'Adams, Ann "Nan"',
          group: "north",
          effectiveFrom: "2026-01-01",
          effectiveTo: "2026-12-31",
        },
      },
      { line: 3, entry: { practitionerId: "dr-baker", npi: "1003000134", credential: "NP" } },
    ]);
  });

  it.each([
    ["an empty file", "", `CSV is empty: expected the header ${HEADER}`],
    [
      "a wrong header",
      "practitionerId,npi,credential\ndr-a,1003000126,MD\n",
      `CSV header is practitionerId,npi,credential: expected ${HEADER}`,
    ],
    [
      "a row with too few columns",
      csv("dr-a,1003000126,MD,,,,", "dr-b,1003000134,NP,,,"),
      `CSV row 2 (line 3): 6 columns, expected 7 (${HEADER})`,
    ],
    [
      "a row whose comma was meant to be quoted",
      csv("dr-a,1003000126,MD,Adams, Ann,,,"),
      `CSV row 1 (line 2): 8 columns, expected 7 (${HEADER})`,
    ],
    [
      "unbalanced quotes",
      csv('dr-a,1003000126,MD,"Adams,,,'),
      "CSV line 2: unbalanced quotes: a quoted field never closes",
    ],
  ])("fails on %s with one clear line", (_name, text, message) => {
    // Act
    const read = () => rosterRows(text);

    // Assess
    expect(read).toThrow(InvalidInputError);
    expect(read).toThrow(message);
  });
});

describe("roster import: validated as the base configuration's roster", () => {
  it("replaces the base's roster and keeps its policies and fee schedules", () => {
    // Act
    const { candidate, config, rows } = configWithRoster(base, csv("dr-adams,1003000126,MD,,,2026-01-01,"));

    // Assess
    expect(rows).toBe(1);
    expect(candidate).toEqual({
      ...base,
      roster: [
        { practitionerId: "dr-adams", npi: "1003000126", credential: "MD", effectiveFrom: "2026-01-01" },
      ],
    });
    expect(config.settleHours).toBe(72);
    expect(config.roster).toEqual([
      {
        practitionerId: "dr-adams",
        npi: "1003000126",
        credential: "MD",
        group: "default",
        effectiveFrom: "2026-01-01",
      },
    ]);
  });

  it.each([
    [
      "an NPI of 9 digits",
      csv("dr-a,1003000126,MD,,,,", "dr-b,100300013,NP,,,,"),
      "CSV row 2 (line 3), column npi: expected a 10-digit NPI",
    ],
    [
      "an NPI with a bad check digit",
      csv("dr-a,1003000127,MD,,,,"),
      "CSV row 1 (line 2), column npi: NPI check digit does not match",
    ],
    [
      "a credential the roster does not know",
      csv("dr-a,1003000126,MDX,,,,"),
      "CSV row 1 (line 2), column credential: ",
    ],
    [
      "a date that is not YYYY-MM-DD",
      csv("dr-a,1003000126,MD,,,01/02/2026,"),
      "CSV row 1 (line 2), column effectiveFrom: ",
    ],
    [
      "an entry that ends before it starts",
      csv("dr-a,1003000126,MD,,,2026-06-01,2026-05-31"),
      "CSV row 1 (line 2), column effectiveTo: effectiveTo is before effectiveFrom",
    ],
    [
      "R18: two entries of one practitioner in force on the same days",
      csv("dr-a,1003000126,MD,,,,2026-06-30", "dr-b,1003000134,NP,,,,", "dr-a,1003000142,NP,,,2026-06-01,"),
      "CSV row 3 (line 4), column practitionerId: practitionerId has another roster entry in force on some of " +
        "the same days (dr-a is also on row 1)",
    ],
    [
      "an error after a quoted field spanning lines (row and line differ)",
      csv('dr-a,1003000126,MD,"Adams\nAnn",,,', "dr-b,1003000127,NP,,,,"),
      "CSV row 2 (line 4), column npi: NPI check digit does not match",
    ],
  ])("names the CSV row and column of %s", (_name, text, message) => {
    // Act
    const merge = () => configWithRoster(base, text);

    // Assess
    expect(merge).toThrow(InvalidInputError);
    expect(merge).toThrow(message);
  });

  it("R18: entries of one practitioner one after the other are fine", () => {
    // Act
    const { config } = configWithRoster(
      base,
      csv("dr-a,1003000126,MD,,,,2026-05-31", "dr-a,1003000142,NP,,,2026-06-01,"),
    );

    // Assess
    expect(config.roster.map((entry) => entry.credential)).toEqual(["MD", "NP"]);
  });
});
