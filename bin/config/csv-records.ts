import { InvalidInputError } from "./errors.js";

/** One record of a CSV file, with the line it starts on (a quoted field may span lines). */
export interface CsvRecord {
  line: number;
  fields: string[];
}

/**
 * Reads CSV text as RFC 4180 says: fields separated by commas, records by CRLF or LF, a field in double quotes
 * may hold commas, line breaks and doubled quotes (`""`). A byte order mark and the final line break are
 * ignored. A quote that never closes, or one in the middle of a field, fails naming its line.
 */
export function parseCsv(text: string): CsvRecord[] {
  const source = text.startsWith("\uFEFF") ? text.slice(1) : text;
  const records: CsvRecord[] = [];
  let fields: string[] = [];
  let field = "";
  let line = 1;
  let recordLine = 1;
  let atFieldStart = true;
  let inRecord = false;
  const isBreak = (at: number) => source[at] === "\n" || source[at] === "\r";
  /** Past the line break at `at` (CRLF, LF or a lone CR), counting the line. */
  const skipBreak = (at: number) => {
    line++;
    return source[at] === "\r" && source[at + 1] === "\n" ? at + 2 : at + 1;
  };

  let i = 0;
  while (i < source.length) {
    const char = source[i];
    inRecord = true;
    if (char === '"' && atFieldStart) {
      const openedOn = line;
      i++;
      for (;;) {
        if (i >= source.length)
          throw new InvalidInputError(`CSV line ${openedOn}: unbalanced quotes: a quoted field never closes`);
        if (source[i] === '"') {
          if (source[i + 1] !== '"') break;
          field += '"';
          i += 2;
        } else if (isBreak(i)) {
          const next = skipBreak(i);
          field += source.slice(i, next);
          i = next;
        } else {
          field += source[i];
          i++;
        }
      }
      i++;
      if (i < source.length && source[i] !== "," && !isBreak(i))
        throw new InvalidInputError(
          `CSV line ${line}: text after a closing quote (a quote inside a field is "")`,
        );
      atFieldStart = false;
    } else if (char === ",") {
      fields.push(field);
      field = "";
      atFieldStart = true;
      i++;
    } else if (isBreak(i)) {
      fields.push(field);
      records.push({ line: recordLine, fields });
      fields = [];
      field = "";
      atFieldStart = true;
      inRecord = false;
      i = skipBreak(i);
      recordLine = line;
    } else if (char === '"') {
      throw new InvalidInputError(
        `CSV line ${line}: a quote inside an unquoted field (quote the whole field)`,
      );
    } else {
      field += char;
      atFieldStart = false;
      i++;
    }
  }
  if (inRecord) {
    fields.push(field);
    records.push({ line: recordLine, fields });
  }
  return records;
}
