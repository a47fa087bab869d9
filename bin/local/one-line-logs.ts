import { Console } from "node:console";

/**
 * A console for the handlers' Powertools logs (dev mode writes each entry as indented JSON, a dozen lines) that
 * writes each entry as one line: level, message and its own keys, without the keys every entry carries.
 * `npm start` uses it unless --verbose; anything that is not a Powertools entry passes through unchanged.
 */
export function oneLineLogConsole(stream: NodeJS.WritableStream): Console {
  const console = new Console({ stdout: stream, stderr: stream });
  for (const method of ["log", "info", "warn", "error", "debug", "trace"] as const) {
    const original = console[method].bind(console);
    console[method] = (...args: unknown[]) => {
      const line = args.length === 1 && typeof args[0] === "string" ? oneLine(args[0]) : undefined;
      if (line === undefined) original(...args);
      else stream.write(`${line}\n`);
    };
  }
  return console;
}

/** Keys every Powertools entry carries, which say nothing about the event itself. */
const COMMON_KEYS = new Set([
  "level",
  "message",
  "timestamp",
  "service",
  "sampling_rate",
  "xray_trace_id",
  "cold_start",
  "function_arn",
  "function_memory_size",
  "function_name",
  "function_request_id",
]);

export function oneLine(text: string): string | undefined {
  let entry: unknown;
  try {
    entry = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof entry !== "object" || entry === null || !("level" in entry) || !("message" in entry))
    return undefined;
  const record = entry as Record<string, unknown>;
  const fields = Object.entries(record)
    .filter(([key]) => !COMMON_KEYS.has(key))
    .map(([key, value]) => `${key}=${describe(value)}`);
  return [`[${String(record.level)}]`, String(record.message), ...fields].join(" ");
}

const describe = (value: unknown): string => {
  if (typeof value === "string") return value;
  if (typeof value === "object" && value !== null && "message" in value && "name" in value)
    return `${String(value.name)}: ${String(value.message)}`;
  return JSON.stringify(value);
};
