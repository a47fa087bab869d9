import { runAudit } from "./audit/audit-command.js";

/** `npm run audit -- <claimLineId> <stack>`: a claim line's audit packet (bin/audit/audit-command.ts). */
process.exitCode = await runAudit(process.argv.slice(2), {
  out: (line) => process.stdout.write(`${line}\n`),
  err: (line) => process.stderr.write(`${line}\n`),
});
