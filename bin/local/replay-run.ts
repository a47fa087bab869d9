import type { ClaimLine } from "../../functions/domain/claim-line.js";
import type { FinalizeReport } from "../../functions/finalize/finalize-due-episodes.js";
import type { PushResult } from "../../functions/store/config-store.js";
import type { EpisodeRecord, LocalPipeline } from "./pipeline.js";
import type { ScenarioFile } from "./scenario-file.js";

export interface ReplayObserver {
  /** A claim line exactly as read from the claims queue. */
  claim(line: ClaimLine): void;
  /** A delivery the ingest handler refused (the replay goes on: a vendor's bad delivery is data too). */
  rejected?(index: number, format: string, status: number, problem: string): void;
  progress?(deliveries: number, finalizations: number): void;
  /** A finalizer run's report (what it decided, sent, and counted). */
  finalized?(report: FinalizeReport): void;
  /** A configuration version pushed (or found unchanged) at its instant. */
  configPushed?(index: number, result: PushResult): void;
}

export interface ReplaySummary {
  deliveries: number;
  rejected: number;
  configPushes: number;
  finalizations: number;
  lines: number;
  episodes: EpisodeRecord[];
}

/** Deliveries accepted between two inbox drains: the apply side keeps up without a round trip per delivery. */
const APPLY_EVERY = 100;

/**
 * Runs a scenario through the pipeline in time order: each delivery posted at its instant (every handler sees
 * that instant as now), the inbox applied, and each finalizer run at its instant after every delivery before
 * it has been applied. A configuration version is pushed at its instant (its fields over the pipeline's base
 * configuration), as an operator would push it. Claim lines are reported as the claims queue gives them.
 */
export async function runReplay(
  scenario: ScenarioFile,
  pipeline: LocalPipeline,
  observer: ReplayObserver,
): Promise<ReplaySummary> {
  const summary: ReplaySummary = {
    deliveries: 0,
    rejected: 0,
    configPushes: 0,
    finalizations: 0,
    lines: 0,
    episodes: [],
  };
  let pending = 0;
  for await (const step of scenario.steps()) {
    pipeline.setClock(new Date(step.at));
    if (step.kind === "config") {
      // What arrived before the push is applied under the configuration it arrived under.
      await pipeline.applyInbox();
      pending = 0;
      const result = await pipeline.pushConfig({ ...pipeline.baseConfig, ...step.config }, "replay");
      summary.configPushes += 1;
      observer.configPushed?.(step.index, result);
      continue;
    }
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
    const report = await pipeline.finalize();
    observer.finalized?.(report);
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
