import { parseArgs } from "node:util";

/**
 * `npm start`'s options, given after `--` or not. Without `--`, npm takes them as its own configuration: it
 * passes `--no-demo` as npm_config_demo="" (false), `--data-dir=x` as npm_config_data_dir=x, and `--data-dir x`
 * as npm_config_data_dir=true with `x` left as an argument; `--verbose` becomes npm's own log level. Those are
 * read back here, so both spellings mean the same, and anything else is a usage error rather than a stack trace.
 */
export const startUsage =
  "usage: npm start -- [--no-demo] [--data-dir <dir>] [--finalize-every <seconds>] [--verbose]";

export interface StartOptions {
  demo: boolean;
  /** DynamoDB Local's database directory; in memory when absent. */
  dataDir?: string;
  finalizeEverySeconds: number;
  verbose: boolean;
}

export class StartOptionsError extends Error {
  override readonly name = "StartOptionsError";
}

const DEFAULT_FINALIZE_EVERY_SECONDS = 5;

export function startOptions(args: string[], env: NodeJS.ProcessEnv): StartOptions {
  let parsed: ReturnType<typeof parseCommandLine>;
  try {
    parsed = parseCommandLine(args);
  } catch (error) {
    const { code, message } = error as NodeJS.ErrnoException;
    // Node's own text goes on about positional arguments after `--`, which npm start has none of.
    const option = /'([^']+)'/.exec(message)?.[1];
    throw new StartOptionsError(
      code === "ERR_PARSE_ARGS_UNKNOWN_OPTION" && option !== undefined
        ? `unknown option '${option}'`
        : message,
    );
  }
  const { values } = parsed;
  const leftover = [...parsed.positionals];
  const fromNpm = env.npm_lifecycle_event === "start" ? npmValues(env, leftover) : {};
  if (leftover.length > 0) throw new StartOptionsError(`unexpected argument '${leftover[0]}'`);

  const finalizeEvery = values["finalize-every"] ?? fromNpm.finalizeEvery;
  const finalizeEverySeconds =
    finalizeEvery === undefined ? DEFAULT_FINALIZE_EVERY_SECONDS : Number(finalizeEvery);
  if (!Number.isFinite(finalizeEverySeconds) || finalizeEverySeconds <= 0)
    throw new StartOptionsError(`--finalize-every takes a number of seconds above 0, not '${finalizeEvery}'`);
  const dataDir = values["data-dir"] ?? fromNpm.dataDir;
  if (dataDir === "") throw new StartOptionsError("--data-dir takes a directory");
  return {
    demo: !(values["no-demo"] ?? false) && fromNpm.demo !== false,
    ...(dataDir === undefined ? {} : { dataDir }),
    finalizeEverySeconds,
    verbose: (values.verbose ?? false) || fromNpm.verbose === true,
  };
}

const parseCommandLine = (args: string[]) =>
  parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      "no-demo": { type: "boolean" },
      "data-dir": { type: "string" },
      "finalize-every": { type: "string" },
      verbose: { type: "boolean" },
    },
  });

/** The options npm kept as its configuration; takes the arguments npm left behind for `--opt value` forms. */
function npmValues(
  env: NodeJS.ProcessEnv,
  leftover: string[],
): { demo?: boolean; dataDir?: string; finalizeEvery?: string; verbose?: boolean } {
  const separated = ["data_dir", "finalize_every"].filter((name) => env[`npm_config_${name}`] === "true");
  // npm does not say in which order `--data-dir x --finalize-every 2` came, so two such values are ambiguous.
  if (separated.length > 1)
    throw new StartOptionsError("give --data-dir and --finalize-every after `--`, or as --option=value");
  const value = (name: string): string | undefined => {
    const raw = env[`npm_config_${name}`];
    if (raw !== "true") return raw;
    const taken = leftover.shift();
    if (taken === undefined) throw new StartOptionsError(`--${name.replace("_", "-")} needs a value`);
    return taken;
  };
  const demo = env.npm_config_demo;
  return {
    ...(demo === "" || demo === "false" ? { demo: false } : {}),
    ...(env.npm_config_data_dir === undefined ? {} : { dataDir: value("data_dir") }),
    ...(env.npm_config_finalize_every === undefined ? {} : { finalizeEvery: value("finalize_every") }),
    ...(env.npm_config_loglevel === "verbose" || env.npm_config_loglevel === "silly"
      ? { verbose: true }
      : {}),
  };
}
