import type { DateTime } from "luxon";
import { type Fact, factSchema } from "../../functions/domain/facts.js";
import type { BridgeEvent, BridgeFact } from "../../functions/vendors/bridge/event.js";
import { bridge } from "../../functions/vendors/bridge/format.js";
import { type WeeklyHistoryOptions, weeklyHistory } from "../scenarios/weekly-history.js";

/**
 * Synthetic episodes for the benchmark, built twice from the same parameters: as `bridge` wire facts (what a
 * sender posts) and as the domain facts the bridge contract says they become (ids prefixed `bridge:`, minutes
 * in whole seconds, the delivery's webhook id as dedupe key). The expected outcomes are computed from the
 * domain facts with the engine, independently of what the pipeline does with the wire form.
 */

export interface SyntheticDelivery {
  webhookId: string;
  body: BridgeEvent;
  /** The domain facts this delivery carries. */
  facts: Fact[];
}

export interface SyntheticEpisode {
  patientId: string;
  deliveries: SyntheticDelivery[];
}

export interface EpisodeOptions {
  patientId: string;
  /** When the counted clinician activity happened; the inquiry is two hours before it. */
  activityAt: DateTime;
  practitionerId: string;
  minutes: number;
  diagnosisCode: string;
  consent: boolean;
  /** A nurse's reply as well: time that is recorded and never counted. */
  nurseReply: boolean;
  /** One delivery per fact group (inquiry and consent, activity, nurse reply) or all facts in one delivery. */
  split: boolean;
}

/** The demo practice's clinicians who count (MD, NP, DO bill 9942x; PT, LCSW bill 9897x). */
export const countingClinicians = ["dr-adams", "np-baker", "dr-evans", "pt-chen", "lcsw-flores"] as const;
const NURSE = "rn-diaz";

type Part = { wire: BridgeFact; fact: (patientId: string, dedupeKey: string) => Fact };

const iso = (at: DateTime): string => at.toUTC().toISO() as string;

const inquiryPart = (id: string, at: DateTime, diagnosisCode: string): Part => ({
  wire: {
    kind: "inquiry",
    id,
    version: 0,
    retracted: false,
    messageId: id,
    at: iso(at),
    author: "patient",
    diagnosisCodes: [diagnosisCode],
  },
  fact: (patientId, dedupeKey) =>
    factSchema.parse({
      kind: "inquiry",
      id: `bridge:${id}`,
      messageId: `bridge:${id}`,
      at: iso(at),
      author: "patient",
      diagnosisCodes: [diagnosisCode],
      patientId,
      dedupeKey,
    }),
});

const replyPart = (
  id: string,
  inResponseTo: string,
  at: DateTime,
  practitionerId: string,
  minutes: number,
  diagnosisCode: string,
): Part => ({
  wire: {
    kind: "clinician-activity",
    id,
    version: 0,
    retracted: false,
    messageId: id,
    inResponseTo,
    at: iso(at),
    practitionerId,
    minutes,
    diagnosisCodes: [diagnosisCode],
  },
  fact: (patientId, dedupeKey) =>
    factSchema.parse({
      kind: "clinician-activity",
      id: `bridge:${id}`,
      messageId: `bridge:${id}`,
      inResponseTo: `bridge:${inResponseTo}`,
      at: iso(at),
      practitionerId,
      seconds: Math.round(minutes * 60),
      diagnosisCodes: [diagnosisCode],
      patientId,
      dedupeKey,
    }),
});

const consentPart = (id: string, at: DateTime): Part => ({
  wire: { kind: "consent", id, version: 0, retracted: false, at: iso(at), status: "active" },
  fact: (patientId, dedupeKey) =>
    factSchema.parse({
      kind: "consent",
      id: `bridge:${id}`,
      at: iso(at),
      status: "active",
      patientId,
      dedupeKey,
    }),
});

/** One patient's episode: an inquiry, one counted reply, optionally a consent and a nurse's uncounted reply. */
export function syntheticEpisode(options: EpisodeOptions): SyntheticEpisode {
  const { patientId, activityAt } = options;
  // Sender ids are unique across patients, as the engine keys facts by id alone.
  const id = (local: string) => `${patientId}-${local}`;
  const inquiry = inquiryPart(id("q1"), activityAt.minus({ hours: 2 }), options.diagnosisCode);
  const groups: Part[][] = [
    [inquiry, ...(options.consent ? [consentPart(id("c1"), activityAt.minus({ days: 90 }))] : [])],
    [
      replyPart(
        id("a1"),
        id("q1"),
        activityAt,
        options.practitionerId,
        options.minutes,
        options.diagnosisCode,
      ),
    ],
    ...(options.nurseReply
      ? [[replyPart(id("a2"), id("q1"), activityAt.plus({ minutes: 30 }), NURSE, 4, options.diagnosisCode)]]
      : []),
  ];
  const deliveries = (options.split ? groups : [groups.flat()]).map((parts, index) => {
    const webhookId = `msg_bench_${patientId}_${index}`;
    return {
      webhookId,
      body: { schemaVersion: "1.0" as const, patientId, facts: parts.map((part) => part.wire) },
      facts: parts.map((part) => part.fact(patientId, webhookId)),
    };
  });
  return { patientId, deliveries };
}

export const factsOf = (episode: SyntheticEpisode): Fact[] =>
  episode.deliveries.flatMap((delivery) => delivery.facts);

/**
 * A patient's weekly e-visits as scripts/scenarios/weekly-history.ts has them sent (an inquiry every Monday, the
 * reply that afternoon, the year's consent on its first Monday), mapped to domain facts by the bridge format
 * itself: one array per week, in order.
 */
export async function weeklyFacts(options: WeeklyHistoryOptions & { patientId: string }): Promise<Fact[][]> {
  const { scenario } = weeklyHistory(options);
  const weeks: Fact[][] = [];
  let week: Fact[] = [];
  for (const [index, delivery] of scenario.deliveries.entries()) {
    const mapped = await bridge.toFacts(
      {
        format: "bridge",
        kind: "event",
        dedupeKey: `msg_weekly_${options.patientId}_${index}`,
        groupKey: options.patientId,
        payload: delivery.body,
      },
      () => Promise.reject(new Error("bridge events carry their facts")),
    );
    if (mapped.skipped.length > 0) throw new Error(`weekly history: ${mapped.skipped[0]?.reason}`);
    week.push(...mapped.facts);
    // Each week ends with the clinician's reply.
    if (mapped.facts.some((fact) => fact.kind === "clinician-activity")) {
      weeks.push(week);
      week = [];
    }
  }
  return weeks;
}
