import fc from "fast-check";
import { describe, expect, it } from "vitest";
import type { TenantConfig } from "../../functions/domain/config.js";
import { decideEpisodes, type Episode } from "../../functions/domain/engine.js";
import { type Fact, otherServices, programs } from "../../functions/domain/facts.js";
import {
  activity,
  consent,
  consultReport,
  consultRequest,
  enrollment,
  inquiry,
  staffActivity,
  tenant,
  timeEntry,
  visit,
} from "../support/domain-builders.js";

/**
 * Properties of the engine with every family on (R17, R24). Facts cover one or two patients over January and
 * February 2026 (America/New_York, EST all along): care-management enrollments, inquiries with and without image
 * or video attachments, clinician replies into earlier messages (roster clinicians of both e-visit families, an
 * RN, an unknown clinician; to the patient, a colleague or unstated), staff activity, time entries marked as CCM's, PCM's or
 * another service's, visits by the consultants and others, and consult requests and reports. Each patient also
 * has a core that makes every family appear: a photo inquiry np-baker answers, a CCM enrollment of dr-adams with
 * staff time, a consult from dr-adams to np-baker, and a consent (so `consent: required` still lets lines bill).
 * Patients' messages come as conversations: the inquiry and up to four replies in its thread within days.
 * `imageReview` is on; `sharedTime`, `ccmPreference`, `windowMode` and `consent` take both values.
 */

const RUNS = 100;
const PATIENTS = ["p1", "p2"] as const;
const START = Date.parse("2026-01-01T05:00:00Z"); // 2026-01-01 00:00 in New York
const MINUTES_IN_RANGE = 58 * 24 * 60; // to 2026-02-28
const CLINICIANS = ["dr-adams", "np-baker", "pt-chen", "dr-evans", "rn-diaz", "dr-unknown"] as const;
const CONSULTANTS = ["np-baker", "pt-chen", "dr-outside"] as const;
const DIAGNOSES = ["E11.9", "I10", "J06.9"] as const;
const CARE_FAMILIES: readonly string[] = programs;
const E_VISIT_FAMILIES: readonly string[] = ["digital-em", "digital-assessment"];

const instant = fc
  .integer({ min: 0, max: MINUTES_IN_RANGE })
  .map((minute) => new Date(START + minute * 60_000).toISOString().replace(".000Z", "Z"));
const diagnoses = fc.subarray([...DIAGNOSES], { maxLength: 2 });
const earlier = fc.option(fc.nat({ max: 15 }), { nil: undefined });

const factSpec = fc.oneof(
  fc.record({
    kind: fc.constant("enrollment" as const),
    program: fc.constantFrom(...programs),
    billingPractitionerId: fc.constantFrom("dr-adams", "dr-evans"),
    startDate: fc.constantFrom("2026-01-01", "2026-01-20", "2026-02-01"),
  }),
  {
    weight: 4,
    arbitrary: fc.record({
      kind: fc.constant("conversation" as const),
      at: instant,
      attachment: fc.constantFrom("image", "video", "other", "none"),
      diagnoses,
      replyTo: earlier,
      replies: fc.array(
        fc.record({
          afterMinutes: fc.integer({ min: 1, max: 4 * 24 * 60 }),
          practitionerId: fc.constantFrom(...CLINICIANS),
          seconds: fc.integer({ min: 0, max: 1500 }),
          recipient: fc.constantFrom("patient", "practitioner", undefined),
          toPrevious: fc.boolean(),
        }),
        { maxLength: 4 },
      ),
    }),
  },
  fc.record({
    kind: fc.constant("clinician-activity" as const),
    at: instant,
    practitionerId: fc.constantFrom(...CLINICIANS),
    seconds: fc.integer({ min: 0, max: 1500 }),
    recipient: fc.constantFrom("patient", "practitioner", undefined),
    diagnoses,
    replyTo: earlier,
  }),
  fc.record({
    kind: fc.constant("staff-activity" as const),
    at: instant,
    minutes: fc.integer({ min: 0, max: 30 }),
  }),
  fc.record({
    kind: fc.constant("time-entry" as const),
    at: instant,
    practitionerId: fc.constantFrom(...CLINICIANS),
    minutes: fc.integer({ min: 0, max: 40 }),
    countedBy: fc.option(fc.constantFrom(...otherServices), { nil: undefined }),
  }),
  fc.record({
    kind: fc.constant("visit" as const),
    at: instant,
    practitionerId: fc.constantFrom("np-baker", "pt-chen", "dr-adams", undefined),
    diagnoses,
  }),
  fc.record({
    kind: fc.constant("consult" as const),
    at: instant,
    consultantId: fc.constantFrom(...CONSULTANTS),
    requesterMinutes: fc.integer({ min: 0, max: 40 }),
    report: fc.option(
      fc.record({
        afterHours: fc.integer({ min: 1, max: 40 * 24 }),
        kind: fc.constantFrom("verbal-and-written", "written"),
        minutes: fc.integer({ min: 0, max: 40 }),
        transferOfCare: fc.boolean(),
      }),
      { nil: undefined },
    ),
  }),
);
type FactSpec = typeof factSpec extends fc.Arbitrary<infer T> ? T : never;

const plusMinutes = (at: string, minutes: number) =>
  new Date(Date.parse(at) + minutes * 60_000).toISOString().replace(".000Z", "Z");

function buildFacts(patientId: string, spec: FactSpec, index: number): Fact[] {
  const id = `${patientId}-f${index}`;
  const inResponseTo = (n: number | undefined) =>
    n === undefined ? {} : { inResponseTo: `${patientId}-f${n}` };
  switch (spec.kind) {
    case "enrollment":
      return [
        enrollment({
          id,
          patientId,
          at: `${spec.startDate}T08:00:00-05:00`,
          program: spec.program,
          billingPractitionerId: spec.billingPractitionerId,
          startDate: spec.startDate,
          consentDate: spec.startDate,
          carePlanDate: spec.startDate,
        }),
      ];
    case "conversation": {
      // A patient's message and the replies in its thread, in time order, each to the message or the reply before.
      let at = spec.at;
      return [
        inquiry({
          id,
          patientId,
          at,
          diagnosisCodes: spec.diagnoses,
          ...inResponseTo(spec.replyTo),
          ...(spec.attachment !== "none" && { attachments: [{ kind: spec.attachment }] }),
        }),
        ...spec.replies.map((reply, n) => {
          at = plusMinutes(at, reply.afterMinutes);
          return activity({
            id: `${id}-r${n}`,
            patientId,
            at,
            practitionerId: reply.practitionerId,
            seconds: reply.seconds,
            diagnosisCodes: spec.diagnoses,
            inResponseTo: n > 0 && reply.toPrevious ? `${id}-r${n - 1}` : id,
            ...(reply.recipient !== undefined && { recipient: reply.recipient }),
          });
        }),
      ];
    }
    case "clinician-activity":
      return [
        activity({
          id,
          patientId,
          at: spec.at,
          practitionerId: spec.practitionerId,
          seconds: spec.seconds,
          diagnosisCodes: spec.diagnoses,
          ...inResponseTo(spec.replyTo),
          ...(spec.recipient !== undefined && { recipient: spec.recipient }),
        }),
      ];
    case "staff-activity":
      return [staffActivity({ id, patientId, at: spec.at, staffId: "ma-1", minutes: spec.minutes })];
    case "time-entry":
      return [
        timeEntry({
          id,
          patientId,
          at: spec.at,
          practitionerId: spec.practitionerId,
          minutes: spec.minutes,
          countedBy: spec.countedBy,
        }),
      ];
    case "visit":
      return [
        visit({
          id,
          patientId,
          at: spec.at,
          diagnosisCodes: spec.diagnoses,
          ...(spec.practitionerId !== undefined && { practitionerId: spec.practitionerId }),
        }),
      ];
    case "consult": {
      const request = consultRequest({
        id,
        patientId,
        at: spec.at,
        requesterId: "dr-adams",
        consultantId: spec.consultantId,
        minutes: spec.requesterMinutes,
      });
      if (spec.report === undefined) return [request];
      return [
        request,
        consultReport({
          id: `${id}-report`,
          patientId,
          at: plusMinutes(spec.at, spec.report.afterHours * 60),
          requestId: id,
          consultantId: spec.consultantId,
          minutes: spec.report.minutes,
          report: spec.report.kind,
          transferOfCare: spec.report.transferOfCare,
        }),
      ];
    }
  }
}

/** Every family present: a photo np-baker evaluates, a CCM month with staff time, a consult. */
const core = (patientId: string): Fact[] => [
  inquiry({
    id: `${patientId}-photo`,
    patientId,
    at: "2026-01-14T09:00:00-05:00",
    attachments: [{ kind: "image" }],
  }),
  activity({
    id: `${patientId}-evaluation`,
    patientId,
    at: "2026-01-14T11:00:00-05:00",
    practitionerId: "np-baker",
    minutes: 3,
    inResponseTo: `${patientId}-photo`,
  }),
  consent({ id: `${patientId}-consent`, patientId, at: "2025-12-01T12:00:00-05:00" }),
  enrollment({ id: `${patientId}-ccm`, patientId, at: "2026-01-01T08:00:00-05:00" }),
  staffActivity({
    id: `${patientId}-staff`,
    patientId,
    at: "2026-01-21T11:00:00-05:00",
    staffId: "ma-1",
    minutes: 12,
  }),
  consultRequest({
    id: `${patientId}-consult`,
    patientId,
    at: "2026-02-02T09:00:00-05:00",
    requesterId: "dr-adams",
    consultantId: "np-baker",
    minutes: 20,
  }),
  consultReport({
    id: `${patientId}-consult-report`,
    patientId,
    at: "2026-02-03T09:00:00-05:00",
    requestId: `${patientId}-consult`,
    consultantId: "np-baker",
    minutes: 10,
  }),
];

const patientFacts = (patientId: string) =>
  fc
    .array(factSpec, { maxLength: 25 })
    .map((specs) => [
      ...core(patientId),
      ...specs.flatMap((spec, index) => buildFacts(patientId, spec, index)),
    ]);

const world = fc
  .uniqueArray(fc.constantFrom(...PATIENTS), { minLength: 1, maxLength: 2 })
  .chain((patients) => fc.tuple(...patients.map(patientFacts)))
  .map((lists) => lists.flat());

const config: fc.Arbitrary<TenantConfig> = fc
  .record({
    sharedTime: fc.constantFrom("digital-em-first", "care-management-first"),
    ccmPreference: fc.constantFrom("practitioner", "clinical-staff"),
    windowMode: fc.constantFrom("calendar-days", "rolling-168h"),
    consent: fc.constantFrom("required", "not-tracked"),
  } as const)
  .map((policies) => tenant({ imageReview: "when-digital-em-does-not-bill", ...policies }));

const AS_OF = "2026-04-30T00:00:00-04:00";
const decide = (facts: readonly Fact[], tenantConfig: TenantConfig): Episode[] =>
  decideEpisodes(facts, tenantConfig, AS_OF).episodes;

/**
 * The billed service an episode's line belongs to: a care-management month's base and add-on lines are one
 * service counting the same minutes (R23: the add-on counts the time beyond the base), every other line its own.
 */
const serviceOf = (episode: Episode): string =>
  CARE_FAMILIES.includes(episode.family)
    ? `${episode.patientId}|${episode.family}|${episode.windowStart}`
    : episode.episodeId;

/** Inserts copies of some of the facts at arbitrary positions. */
const withDuplicates = (facts: readonly Fact[]) =>
  fc
    .array(fc.record({ pick: fc.nat(), position: fc.nat() }), { minLength: 1, maxLength: 10 })
    .map((copies) => {
      const result = [...facts];
      for (const { pick, position } of copies)
        result.splice(position % (result.length + 1), 0, facts[pick % facts.length] as Fact);
      return result;
    });

describe("engine properties with every family", () => {
  it("R24: each minute (time fact) appears in at most one billed line across all families", () => {
    fc.assert(
      fc.property(world, config, (facts, tenantConfig) => {
        // Act
        const billable = decide(facts, tenantConfig).filter((e) => e.outcome === "billable");

        // Assess: no fact is counted by two billed services; care management never counts a billed e-visit's.
        const servicesOf = new Map<string, Set<string>>();
        for (const episode of billable)
          for (const factId of episode.evidence.counted)
            servicesOf.set(factId, (servicesOf.get(factId) ?? new Set()).add(serviceOf(episode)));
        const twice = [...servicesOf].filter(([, services]) => services.size > 1).map(([factId]) => factId);
        expect(twice).toEqual([]);
        const eVisitCounted = new Set(
          billable.filter((e) => E_VISIT_FAMILIES.includes(e.family)).flatMap((e) => e.evidence.counted),
        );
        const careCounted = billable
          .filter((e) => CARE_FAMILIES.includes(e.family))
          .flatMap((e) => e.evidence.counted);
        expect(careCounted.filter((factId) => eVisitCounted.has(factId))).toEqual([]);
      }),
      { numRuns: RUNS },
    );
  });

  it("R17: order independence and duplicates across families: the same facts shuffled and repeated give identical episodes", () => {
    fc.assert(
      fc.property(
        world.chain((facts) =>
          fc.tuple(
            fc.constant(facts),
            fc
              .shuffledSubarray(facts, { minLength: facts.length, maxLength: facts.length })
              .chain(withDuplicates),
          ),
        ),
        config,
        ([facts, shuffled], tenantConfig) => {
          // Act
          const original = decide(facts, tenantConfig);
          const again = decide(shuffled, tenantConfig);

          // Assess: every family is present, and the two decisions are the same, byte for byte.
          const families = new Set<string>(original.map((e) => e.family));
          for (const family of ["image-review", "interprofessional"]) expect(families).toContain(family);
          expect(CARE_FAMILIES.some((family) => families.has(family))).toBe(true);
          expect(JSON.stringify(again)).toBe(JSON.stringify(original));
        },
      ),
      { numRuns: RUNS },
    );
  });
});
