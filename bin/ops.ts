import { runOps } from "./ops/ops-command.js";

/** `npm run ops -- <command>`: operator commands on the local or a deployed stack (bin/ops/ops-command.ts). */
process.exitCode = await runOps(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
