import * as z from "zod";
import type { EpisodeFigures, OpenItem } from "../store/figures-store.js";

/**
 * The capture figures (issue 15): what a practice bills of the clinician time its portal carries, and what
 * stands in the way. Pure: the store reads the weeks and the open items, this counts.
 */

export const captureFiguresSchema = z
  .object({
    weeks: z.array(z.string()),
    episodesByOutcomePerWeek: z.array(
      z.object({ week: z.string(), outcome: z.string(), episodes: z.number() }),
    ),
    /** Billable episodes / episodes with clinician time, over the weeks; null when there were none. */
    captureRate: z.number().nullable(),
    billableEpisodes: z.number(),
    episodesWithClinicianTime: z.number(),
    chargeCents: z.number(),
    minutesByClinician: z.array(z.object({ practitionerId: z.string(), minutes: z.number() })),
    /** Reasons of the episodes that did not bill, most frequent first (an episode counts for each it lists). */
    topReasonsNotBilled: z.array(z.object({ reason: z.string(), episodes: z.number() })),
    openReviewItems: z.array(
      z.object({ kind: z.string(), open: z.number(), oldestAgeHours: z.number().nullable() }),
    ),
  })
  .meta({ title: "Capture figures" });
export type CaptureFigures = z.infer<typeof captureFiguresSchema>;

const TOP_REASONS = 10;

export function captureFigures(
  weeks: ReadonlyArray<{ week: string; episodes: readonly EpisodeFigures[] }>,
  open: readonly OpenItem[],
  now: number,
): CaptureFigures {
  const byOutcome: CaptureFigures["episodesByOutcomePerWeek"] = [];
  const minutes = new Map<string, number>();
  const reasons = new Map<string, number>();
  let billable = 0;
  let withTime = 0;
  let chargeCents = 0;
  for (const { week, episodes } of weeks) {
    const outcomes = new Map<string, number>();
    for (const episode of episodes) {
      outcomes.set(episode.outcome, (outcomes.get(episode.outcome) ?? 0) + 1);
      if (episode.totalMinutes > 0) withTime += 1;
      if (episode.outcome === "billable") {
        billable += 1;
        chargeCents += episode.chargeCents ?? 0;
      } else for (const reason of episode.reasons) reasons.set(reason, (reasons.get(reason) ?? 0) + 1);
      for (const [practitionerId, spent] of Object.entries(episode.minutesByClinician))
        minutes.set(practitionerId, (minutes.get(practitionerId) ?? 0) + spent);
    }
    for (const [outcome, count] of [...outcomes].sort(([a], [b]) => (a < b ? -1 : 1)))
      byOutcome.push({ week, outcome, episodes: count });
  }
  const kinds = ["episode", "unattributed-time", "quarantined-patient"] as const;
  return {
    weeks: weeks.map(({ week }) => week),
    episodesByOutcomePerWeek: byOutcome,
    captureRate: withTime === 0 ? null : billable / withTime,
    billableEpisodes: billable,
    episodesWithClinicianTime: withTime,
    chargeCents,
    minutesByClinician: [...minutes]
      .map(([practitionerId, total]) => ({ practitionerId, minutes: total }))
      .sort((a, b) => b.minutes - a.minutes || (a.practitionerId < b.practitionerId ? -1 : 1)),
    topReasonsNotBilled: [...reasons]
      .map(([reason, episodes]) => ({ reason, episodes }))
      .sort((a, b) => b.episodes - a.episodes || (a.reason < b.reason ? -1 : 1))
      .slice(0, TOP_REASONS),
    openReviewItems: kinds.map((kind) => {
      const ofKind = open.filter((item) => item.kind === kind);
      const oldest = Math.min(...ofKind.map((item) => item.openedAt));
      return {
        kind,
        open: ofKind.length,
        oldestAgeHours: ofKind.length === 0 ? null : Math.floor((now - oldest) / 3_600_000),
      };
    }),
  };
}
