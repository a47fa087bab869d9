import { readFileSync, renameSync, writeFileSync } from "node:fs";
import * as z from "zod";

/**
 * Where a backfill to a deployed stack stands: how many deliveries of the scenario file (in its time order) the
 * stack acknowledged, and the file index of the last one, so a rerun resumes after it and can tell a changed file.
 */
export const backfillProgressSchema = z.object({
  target: z.string().min(1),
  webhookBaseUrl: z.url(),
  acknowledged: z.number().int().nonnegative(),
  lastIndex: z.number().int().nonnegative().optional(),
});
export type BackfillProgress = z.infer<typeof backfillProgressSchema>;

/** The progress the file records; undefined when there is none yet. A file that is not one stops the backfill. */
export function readProgress(file: string): BackfillProgress | undefined {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw error;
  }
  return backfillProgressSchema.parse(JSON.parse(text));
}

/** Written whole and renamed into place: a backfill killed mid-write leaves the previous progress, never half. */
export function writeProgress(file: string, progress: BackfillProgress): void {
  const partial = `${file}.${process.pid}.tmp`;
  writeFileSync(partial, `${JSON.stringify(progress)}\n`);
  renameSync(partial, file);
}
