import { describe, expect, it } from "vitest";
import { parseCsv } from "../../bin/config/csv-records.js";
import { InvalidInputError } from "../../bin/config/errors.js";

describe("parseCsv (RFC 4180)", () => {
  it.each([
    [
      "plain fields, LF",
      "a,b\nc,d\n",
      [
        ["a", "b"],
        ["c", "d"],
      ],
    ],
    [
      "CRLF, no final line break",
      "a,b\r\nc,d",
      [
        ["a", "b"],
        ["c", "d"],
      ],
    ],
    [
      "empty fields",
      "a,,\n,,c\n",
      [
        ["a", "", ""],
        ["", "", "c"],
      ],
    ],
    ["a comma inside quotes", '"Adams, Ann",b\n', [["Adams, Ann", "b"]]],
    ["doubled quotes inside quotes", '"say ""hi""",b\n', [['say "hi"', "b"]]],
    ["an empty quoted field", '"",b\n', [["", "b"]]],
    ["a line break inside quotes", '"two\nlines",b\n', [["two\nlines", "b"]]],
    ["a CRLF inside quotes stays as written", '"two\r\nlines",b\r\n', [["two\r\nlines", "b"]]],
    ["a byte order mark", "\uFEFFa,b\n", [["a", "b"]]],
    ["nothing", "", []],
  ])("%s", (_name, text, fields) => {
    // Act
    const records = parseCsv(text);

    // Assess
    expect(records.map((record) => record.fields)).toEqual(fields);
  });

  it("numbers each record by the line it starts on, past quoted line breaks", () => {
    // Act
    const records = parseCsv('h1,h2\n"a\nb\nc",x\r\nd,e\n');

    // Assess
    expect(records.map((record) => record.line)).toEqual([1, 2, 5]);
  });

  it.each([
    [
      "a quote that never closes",
      'h\nok\n"open,\nmore\n',
      "CSV line 3: unbalanced quotes: a quoted field never closes",
    ],
    [
      "text after a closing quote",
      'h\n"a"b,c\n',
      'CSV line 2: text after a closing quote (a quote inside a field is "")',
    ],
    [
      "a quote inside an unquoted field",
      'h\nab"c\n',
      "CSV line 2: a quote inside an unquoted field (quote the whole field)",
    ],
  ])("fails on %s with one line naming the line", (_name, text, message) => {
    // Act
    const parse = () => parseCsv(text);

    // Assess
    expect(parse).toThrow(InvalidInputError);
    expect(parse).toThrow(message);
  });
});
