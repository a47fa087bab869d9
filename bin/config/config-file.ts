import { readFile } from "node:fs/promises";
import { parseTenantConfig, type TenantConfig } from "../../functions/domain/config.js";
import { ConfigurationError } from "../../functions/domain/errors.js";
import { OpsError, oneLine } from "../ops/errors.js";
import { InvalidInputError } from "./errors.js";

/** A tenant configuration file: its name, the JSON as written (what is pushed), the configuration it is. */
export interface ConfigFile {
  file: string;
  input: unknown;
  config: TenantConfig;
}

/**
 * Reads and validates a tenant configuration file with the tenant schema. Not JSON, or invalid: one line
 * `FILE: invalid at <field path>: <reason>` (exit 2). Unreadable: exit 1.
 */
export async function readConfigFile(file: string): Promise<ConfigFile> {
  const input = parseJson(file, await readText(file));
  try {
    return { file, input, config: parseTenantConfig(input) };
  } catch (error) {
    if (error instanceof ConfigurationError)
      throw new InvalidInputError(`${file}: invalid at ${error.field}: ${error.reason}`, { cause: error });
    throw error;
  }
}

/** The text of a file the operator named; a missing or unreadable one is one line naming it. */
export async function readText(file: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "a directory" : oneLine(error);
    throw new OpsError(`cannot read ${file}: ${why}`, { cause: error });
  }
}

function parseJson(file: string, text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(`${file}: invalid at (root): not JSON: ${oneLine(error)}`, { cause: error });
  }
}
