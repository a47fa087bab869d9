import { describe, expect, it } from "vitest";
import { StartOptionsError, startOptions } from "../../bin/local/start-options.js";

/** What npm puts in the environment of `npm start` (npm 11), e.g. for `npm start --no-demo` without `--`. */
const viaNpm = (config: Record<string, string>) => ({
  npm_lifecycle_event: "start",
  ...Object.fromEntries(Object.entries(config).map(([name, value]) => [`npm_config_${name}`, value])),
});

const defaults = { demo: true, finalizeEverySeconds: 5, verbose: false };

describe("npm start options", () => {
  it.each([
    ["nothing", [], {}, defaults],
    ["--no-demo after --", ["--no-demo"], {}, { ...defaults, demo: false }],
    ["--no-demo without --", [], viaNpm({ demo: "" }), { ...defaults, demo: false }],
    ["--data-dir x after --", ["--data-dir", "x"], {}, { ...defaults, dataDir: "x" }],
    ["--data-dir x without --", ["x"], viaNpm({ data_dir: "true" }), { ...defaults, dataDir: "x" }],
    ["--data-dir=x without --", [], viaNpm({ data_dir: "x" }), { ...defaults, dataDir: "x" }],
    [
      "--finalize-every 2 without --",
      ["2"],
      viaNpm({ finalize_every: "true" }),
      { ...defaults, finalizeEverySeconds: 2 },
    ],
    [
      "--verbose without -- (npm's log level)",
      [],
      viaNpm({ loglevel: "verbose" }),
      { ...defaults, verbose: true },
    ],
    [
      "after -- over npm's",
      ["--data-dir", "y"],
      viaNpm({ data_dir: "x", demo: "" }),
      { ...defaults, demo: false, dataDir: "y" },
    ],
    // Another script's environment (npm test running this) is not read as ours.
    ["npm config of another script", [], { npm_lifecycle_event: "test", npm_config_demo: "" }, defaults],
  ])("%s", (_, args, env, expected) => {
    expect(startOptions(args, env)).toEqual(expected);
  });

  it.each([
    ["an unknown option", ["--bogus"], {}, "unknown option '--bogus'"],
    ["a stray argument", ["x"], {}, "unexpected argument 'x'"],
    ["--data-dir without a value", ["--data-dir"], {}, "argument missing"],
    ["--data-dir without a value, without --", [], viaNpm({ data_dir: "true" }), "--data-dir needs a value"],
    ["a finalizer period that is not a number", ["--finalize-every", "soon"], {}, "not 'soon'"],
    ["a finalizer period of 0", ["--finalize-every", "0"], {}, "above 0"],
    [
      "two separated values without --",
      ["x", "2"],
      viaNpm({ data_dir: "true", finalize_every: "true" }),
      "after `--`",
    ],
  ])("%s is a usage error", (_, args, env, message) => {
    expect(() => startOptions(args, env)).toThrow(StartOptionsError);
    expect(() => startOptions(args, env)).toThrow(message);
  });
});
