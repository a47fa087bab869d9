import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { EpisodeRecord, LocalPipeline } from "./pipeline.js";
import type { ScenarioFile } from "./scenario-file.js";

export interface ReplayObserver {
  /** A claim line exactly as read from the claims queue. */
  claim(line: ClaimLine): void;
  /** A delivery the ingest handler refused (the replay goes on: a vendor's bad delivery is data too). */
  rejected?(index: number, format: string, status: number, problem: string): void;
  progress?(deliveries: number, finalizations: number): void;
}

export interface ReplaySummary {
  deliveries: number;
  rejected: number;
  finalizations: number;
  lines: number;
  episodes: EpisodeRecord[];
}

/** Deliveries accepted between two inbox drains: the apply side keeps up without a round trip per delivery. */
const APPLY_EVERY = 100;

/**
 * Runs a scenario through the pipeline in time order: each delivery posted at its instant (every handler sees
 * that instant as now), the inbox applied, and each finalizer run at its instant after every delivery before
 * it has been applied. Claim lines are reported as the claims queue gives them.
 */
export async function runReplay(
  scenario: ScenarioFile,
  pipeline: LocalPipeline,
  observer: ReplayObserver,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = { deliveries: 0, rejected: 0, finalizations: 0, lines: 0, episodes: [] };
  let pending = 0;
  for await (const step of scenario.steps()) {
    pipeline.setClock(new Date(step.at));
    if (step.kind === "delivery") {
      const answer = await pipeline.post(step.delivery);
      summary.deliveries += 1;
      if (answer.statusCode >= 300) {
        summary.rejected += 1;
        observer.rejected?.(
          step.index,
          step.delivery.format,
          answer.statusCode,
          String(JSON.parse(answer.body).type ?? ""),
        );
      } else if (++pending >= APPLY_EVERY) {
        await pipeline.applyInbox();
        pending = 0;
      }
      if (summary.deliveries % 1000 === 0) observer.progress?.(summary.deliveries, summary.finalizations);
      continue;
    }
    await pipeline.applyInbox();
    pending = 0;
    await pipeline.finalize();
    summary.finalizations += 1;
    for (const line of await pipeline.takeClaims()) {
      summary.lines += 1;
      observer.claim(line);
    }
  }
  await pipeline.applyInbox();
  summary.episodes = await pipeline.decidedEpisodes();
  return summary;
}
