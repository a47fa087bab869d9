import { runConfig } from "./config/config-command.js";

/** `npm run config -- <command>`: the tenant configuration's versions in the table (bin/config/config-command.ts). */
process.exitCode = await runConfig(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
