import { randomUUID } from "node:crypto";
import type { LocalEndpoints, LocalResources } from "../../bin/local/resources.js";
import { createResources } from "../../bin/local/resources.js";

/** What every section measuring against the bench's own local servers shares. */
export interface BenchContext {
  endpoints: LocalEndpoints;
  /** A fresh table and queues, so one section's items never weigh on another's figures. */
  freshResources(label: string): Promise<LocalResources>;
  progress(message: string): void;
}

export function benchContext(endpoints: LocalEndpoints, progress: (message: string) => void): BenchContext {
  const run = randomUUID().slice(0, 8);
  return {
    endpoints,
    freshResources: (label) => createResources({ ...endpoints, prefix: `bench-${run}-${label}` }),
    progress,
  };
}

/** One line of the summary table: a measured figure and, when the architecture sets one, its target. */
export interface Finding {
  measure: string;
  value: string;
  target: string;
  /** Undefined for figures without a target. */
  met?: boolean;
}

export interface SectionResult {
  title: string;
  findings: Finding[];
  /** Markdown: how it was measured and the detailed figures. */
  details: string;
  /** Markdown: for a missed target, what limits it, from measurements taken in the same run. */
  limits?: string;
}

/** A Markdown table. */
export function markdownTable(headers: readonly string[], rows: readonly (readonly string[])[]): string {
  const line = (cells: readonly string[]) => `| ${cells.join(" | ")} |`;
  return [line(headers), line(headers.map(() => "---")), ...rows.map(line)].join("\n");
}
