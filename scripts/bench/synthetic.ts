import { DateTime } from "luxon";
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

export interface FamilyHistoryOptions {
  patientId: string;
  /** First Monday (local date): the enrollment starts that day. */
  from: string;
  weeks: number;
  /** Consults only in the weeks before this one, so none reaches into a later decision's scope. */
  consultsBefore: number;
  /** With the CCM enrollment (R22), or the same facts without it. */
  enrolled: boolean;
}

/** Image review (R21): every fourth week's inquiry carries a photo, and the reply (3 minutes) bills no e-visit. */
const PHOTO_EVERY = 4;
const PHOTO_REPLY_SECONDS = 180;
/** R25: a consult every eighth week, from Dr. Adams to Dr. Evans. */
const CONSULT_EVERY = 8;
/** R22-R24: a medical assistant's time on Tuesday and Thursday (days after Monday). */
const STAFF_DAYS = [1, 3] as const;

/**
 * The weekly e-visits of `weeklyFacts` with every other family on as well: an open-ended CCM enrollment of Dr.
 * Adams from the first Monday (R22) unless `enrolled` is false, 5-10 minutes of staff time two days a week
 * (about 65 minutes a month: 99490 and two units of 99439, R23), a photo inquiry every fourth week (G2010, R21)
 * and a consult request and report every eighth week (99446 and 99452, R25). One array per week, in order.
 */
export async function familyFacts(options: FamilyHistoryOptions): Promise<Fact[][]> {
  const { patientId } = options;
  const { scenario } = weeklyHistory(options);
  const zone = scenario.config.timezone;
  const weeks = await weeklyFacts(options);
  const fact = (week: number, fields: Record<string, unknown>): Fact =>
    factSchema.parse({ patientId, dedupeKey: `msg_family_${patientId}_${week}`, ...fields });
  const first = DateTime.fromISO(options.from, { zone }).startOf("day");
  return weeks.map((eVisits, week) => {
    const monday = first.plus({ weeks: week });
    const photo = week % PHOTO_EVERY === PHOTO_EVERY - 2;
    const facts = eVisits.map((each) => {
      if (!photo) return each;
      if (each.kind === "inquiry")
        return factSchema.parse({ ...each, attachments: [{ kind: "image", contentType: "image/jpeg" }] });
      if (each.kind === "clinician-activity")
        return factSchema.parse({ ...each, seconds: PHOTO_REPLY_SECONDS });
      return each;
    });
    if (week === 0 && options.enrolled) {
      const date = monday.toISODate() as string;
      facts.unshift(
        fact(week, {
          kind: "enrollment",
          id: `${patientId}-ccm`,
          at: iso(monday.set({ hour: 7 })),
          program: "ccm",
          status: "active",
          billingPractitionerId: "dr-adams",
          conditions: ["E11.9", "I10"],
          startDate: date,
          consentDate: date,
          carePlanDate: date,
        }),
      );
    }
    for (const day of STAFF_DAYS)
      facts.push(
        fact(week, {
          kind: "staff-activity",
          id: `${patientId}-s-${week}-${day}`,
          at: iso(monday.plus({ days: day }).set({ hour: 11 })),
          staffId: "ma-garcia",
          seconds: (5 + ((week + day) % 6)) * 60,
        }),
      );
    if (week % CONSULT_EVERY === CONSULT_EVERY - 3 && week < options.consultsBefore) {
      const requestId = `${patientId}-cr-${week}`;
      facts.push(
        fact(week, {
          kind: "consult-request",
          id: requestId,
          at: iso(monday.plus({ days: 1 }).set({ hour: 10 })),
          requesterId: "dr-adams",
          consultantId: "dr-evans",
          seconds: 16 * 60,
          diagnosisCodes: ["E11.9"],
        }),
        fact(week, {
          kind: "consult-report",
          id: `${patientId}-cp-${week}`,
          at: iso(monday.plus({ days: 3 }).set({ hour: 16 })),
          requestId,
          consultantId: "dr-evans",
          report: "verbal-and-written",
          seconds: 12 * 60,
        }),
      );
    }
    return facts;
  });
}
