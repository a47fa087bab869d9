import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

/**
 * CPU time of this process and of DynamoDB Local (the JVM it started), to tell work from waiting: on a shared
 * 2-core machine wall time varies from run to run, CPU time spent on a fixed amount of work much less.
 * DynamoDB Local's CPU time is read from /proc, so it is only available on Linux.
 */
export interface CpuMeter {
  /** Milliseconds of CPU (user + system) used so far by this process and by DynamoDB Local, if found. */
  read(): { bench: number; dynamodb?: number };
}

export function cpuMeter(): CpuMeter {
  const dynamodbPid = process.platform === "linux" ? dynamodbLocalPid() : undefined;
  const msPerTick =
    dynamodbPid === undefined ? 0 : 1000 / Number(execFileSync("getconf", ["CLK_TCK"]).toString());
  return {
    read: () => {
      const usage = process.cpuUsage();
      const bench = (usage.user + usage.system) / 1000;
      if (dynamodbPid === undefined) return { bench };
      const fields = statFields(dynamodbPid);
      // Fields 14 and 15 of /proc/<pid>/stat: utime and stime, in clock ticks.
      return { bench, dynamodb: (Number(fields[14]) + Number(fields[15])) * msPerTick };
    },
  };
}

/** /proc/<pid>/stat split so that index n is field n (1-based); the command name may contain spaces. */
function statFields(pid: number): string[] {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const afterName = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return ["", String(pid), "(name)", ...afterName];
}

/** DynamoDB Local as started by bin/local/aws-servers.ts: a child of this process running DynamoDBLocal.jar. */
function dynamodbLocalPid(): number | undefined {
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const isChild = statFields(Number(entry))[4] === String(process.pid);
      if (isChild && readFileSync(`/proc/${entry}/cmdline`, "utf8").includes("DynamoDBLocal.jar")) {
        return Number(entry);
      }
    } catch {
      // The process ended while we looked.
    }
  }
  return undefined;
}
