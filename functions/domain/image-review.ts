import { codesOn } from "./code-table.js";
import { feesOn } from "./config.js";
import { byTimeThenId, type ClassifiedActivity, compareStrings, type DatedInquiry } from "./episodes.js";
import type { ClinicianActivity, Fact } from "./facts.js";
import {
  distinctCodes,
  type FamilyContext,
  type FamilyOutcome,
  MAX_LINE_DIAGNOSES,
} from "./family-outcome.js";
import { consentFor, priorRelatedVisit, type Reason } from "./outcome.js";
import { businessHoursAfter, HOUR, localDate, toMillis } from "./time.js";

/**
 * R21: remote evaluation of patient-submitted images or video (G2010 for E/M clinicians, G2250 for the others).
 * One episode per inquiry carrying recorded images or video that a counted clinician evaluated in its thread.
 */

/** R21: the follow-up to the patient is due within 24 business hours of the patient's submission. */
export const FOLLOW_UP_BUSINESS_HOURS = 24;
/** R21: a visit within 24 hours after the evaluation takes the work. */
const VISIT_AFTER = 24 * HOUR;

/** R21's window for an inquiry: from it to a day past its follow-up deadline (a visit then still matters). */
export const imageWindowOf = (inquiryAt: number, zone: string): { start: number; end: number } => ({
  start: inquiryAt,
  end: businessHoursAfter(inquiryAt, FOLLOW_UP_BUSINESS_HOURS, zone) + VISIT_AFTER,
});

export interface ImageReviewInput {
  /** R1's inquiries (patient-initiated threads), in time order. */
  inquiries: readonly DatedInquiry[];
  /** Counted clinicians' message activity (roster or payload credential), any time. */
  activities: readonly ClassifiedActivity[];
  /** Every message fact, to walk reply chains (R1's `inResponseTo`). */
  messages: readonly Fact[];
  /** R24: whether the e-visit episode holding an activity bills. */
  heldByBilledEVisit(activity: ClassifiedActivity): boolean;
}

export function decideImageReviews(input: ImageReviewInput, context: FamilyContext): FamilyOutcome[] {
  const { config } = context;
  if (config.imageReview === "off") return [];
  const zone = config.timezone;
  const parentOf = new Map<string, string>();
  for (const fact of input.messages) {
    if (!("messageId" in fact) || fact.messageId === undefined || fact.retracted) continue;
    if (fact.inResponseTo !== undefined && !parentOf.has(fact.messageId))
      parentOf.set(fact.messageId, fact.inResponseTo);
  }
  /** Whether a message's reply chain passes through `root` (a bounded walk: chains can loop in bad data). */
  const inThreadOf = (activity: ClassifiedActivity, root: string): boolean => {
    // Only clinicians' messages are looked at (time entries have no thread).
    let id: string | undefined = (activity.fact as ClinicianActivity).inResponseTo;
    for (let step = 0; id !== undefined && step < 1000; step++) {
      if (id === root) return true;
      id = parentOf.get(id);
    }
    return false;
  };
  const byTime = [...input.activities]
    .filter((activity) => activity.fact.kind === "clinician-activity")
    .sort(byTimeThenId);

  const outcomes: FamilyOutcome[] = [];
  const used = new Set<string>();
  for (const { fact: inquiry, at } of input.inquiries) {
    const imaging = (inquiry.attachments ?? []).some((a) => a.kind === "image" || a.kind === "video");
    if (!imaging || inquiry.messageId === undefined) continue;
    const root = inquiry.messageId;
    // Only work inside the window is this inquiry's evaluation: later work is another matter.
    const window = imageWindowOf(at, zone);
    // Work already an earlier photo's evaluation or follow-up (one reply to two photos of a thread) is that one's.
    const thread = byTime.filter(
      (activity) =>
        activity.at >= at &&
        activity.at < window.end &&
        !used.has(activity.fact.id) &&
        inThreadOf(activity, root),
    );
    const evaluation = thread[0];
    if (evaluation === undefined) continue;
    const deadline = window.end - VISIT_AFTER;
    const followUp = thread.find(
      (activity) =>
        activity.at >= evaluation.at &&
        activity.fact.kind === "clinician-activity" &&
        (activity.fact.recipient ?? "patient") === "patient",
    );
    used.add(evaluation.fact.id);
    if (followUp !== undefined) used.add(followUp.fact.id);
    const key = [inquiry.id];
    const attested = context.attestedFor("image-review", key);
    const attestationsUsed = new Set<string>();
    const applicable = new Set<Reason>();
    const visits: string[] = [];
    if (followUp === undefined || followUp.at > deadline) applicable.add("no-follow-up");
    // R24: never both: not when the e-visit holding the evaluation or the follow-up bills.
    if (
      input.heldByBilledEVisit(evaluation) ||
      (followUp !== undefined && input.heldByBilledEVisit(followUp))
    )
      applicable.add("counted-elsewhere");
    if (attested?.doNotBill !== undefined) {
      attestationsUsed.add(attested.doNotBill.attestationId);
      applicable.add("do-not-bill");
    }
    if (attested?.diagnoses !== undefined) attestationsUsed.add(attested.diagnoses.attestationId);
    const allCodes = distinctCodes(
      inquiry.diagnosisCodes,
      evaluation.fact.diagnosisCodes,
      attested?.diagnoses?.diagnosisCodes ?? [],
    );
    // A visit within 24 hours after the evaluation takes the work (the earliest is named).
    let bundledVisit: FamilyOutcome["bundledVisit"];
    for (const visit of context.visits) {
      const visitAt = toMillis(visit.at);
      if (visitAt < evaluation.at || visitAt >= evaluation.at + VISIT_AFTER || bundledVisit !== undefined)
        continue;
      bundledVisit = { visitId: visit.id, minutes: Math.floor(evaluation.fact.seconds / 60) };
      visits.push(visit.id);
      applicable.add("bundled-into-visit");
    }
    // A related visit in the 7 days before the evaluation (R8's days and relatedness; the latest is named).
    const priorVisitId = priorRelatedVisit(
      evaluation.at,
      context.visits,
      allCodes,
      config,
      attested,
      attestationsUsed,
      applicable,
      visits,
    );
    const consents = consentFor(
      at,
      evaluation.at,
      context.consents,
      config,
      attested,
      attestationsUsed,
      applicable,
    );
    if (evaluation.npi === undefined) applicable.add("unknown-clinician");
    const diagnosisCodes = allCodes.slice(0, MAX_LINE_DIAGNOSES);
    if (diagnosisCodes.length === 0) applicable.add("diagnosis-missing");
    // Dated on the follow-up; the code follows the evaluating clinician's family (R4's roles).
    const serviceDate = localDate((followUp ?? evaluation).at, zone);
    const code = codesOn("image-review", serviceDate, (row) => row.role === evaluation.role)[0];
    if (code === undefined) applicable.add("unsupported-date");
    const fee = code === undefined ? undefined : feesOn(config, serviceDate)[code.code];
    if (code !== undefined && fee === undefined) applicable.add("fee-missing");
    outcomes.push({
      family: "image-review",
      key,
      group: evaluation.group,
      ...window,
      openedAt: at,
      totalSeconds: evaluation.fact.seconds,
      totalMinutes: Math.floor(evaluation.fact.seconds / 60),
      clinicians: [
        {
          practitionerId: evaluation.practitionerId,
          credential: evaluation.credential as string,
          npi: evaluation.npi,
          seconds: evaluation.fact.seconds,
          minutes: Math.floor(evaluation.fact.seconds / 60),
        },
      ],
      renderingPractitionerId: evaluation.practitionerId,
      renderingNpi: evaluation.npi,
      serviceDate,
      diagnosisCodes,
      procedureCode: code?.code,
      units: 1,
      chargeCents: fee,
      applicable,
      bundledVisit,
      priorVisitId,
      evidence: {
        inquiries: [inquiry.id],
        counted: [evaluation.fact.id, ...(followUp && followUp !== evaluation ? [followUp.fact.id] : [])],
        uncounted: [],
        visits: [...new Set(visits)],
        consents,
        attestations: [...attestationsUsed].sort(compareStrings),
      },
    });
  }
  return outcomes;
}
