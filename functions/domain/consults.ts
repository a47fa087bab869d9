import { type CodeRow, codesOn, credentialRole } from "./code-table.js";
import { feesOn, type RosterEntry, rosterEntryOn } from "./config.js";
import { compareStrings, factsByTime } from "./episodes.js";
import type { ConsultReport, ConsultRequest } from "./facts.js";
import {
  distinctCodes,
  type FamilyContext,
  type FamilyOutcome,
  MAX_LINE_DIAGNOSES,
} from "./family-outcome.js";
import { consentFor, type Reason } from "./outcome.js";
import { DAY, localDate, localMidnight, toMillis } from "./time.js";

/**
 * R25: interprofessional consultation. A request from a treating clinician to a consultant, answered by the
 * consultant's report, bills the consultant (99446-99449 with a verbal and written report, 99451 written only)
 * and the requester (99452). A party the practice's roster does not hold is not this practice's to bill.
 */

/** A report more than this long after its request is not this request's consult (its facts' reach, STORE.md). */
export const CONSULT_REPORT_DAYS = 30;
/** R25: visits with the consultant in the 14 days before the request or after the report exclude the consult. */
export const CONSULT_EXCLUSION_DAYS = 14;
/** R25: at most once per consultant per patient in 7 days. */
const FREQUENCY_DAYS = 7;

/** R25's window: from the request to the end of the 14th local day after the report. */
export const consultWindowOf = (request: ConsultRequest, report: ConsultReport, zone: string) => ({
  start: toMillis(request.at),
  end: localMidnight(toMillis(report.at), zone, CONSULT_EXCLUSION_DAYS + 1),
});

export interface ConsultInput {
  requests: readonly ConsultRequest[];
  reports: readonly ConsultReport[];
  roster: ReadonlyMap<string, readonly RosterEntry[]>;
}

export function decideConsults(input: ConsultInput, context: FamilyContext): FamilyOutcome[] {
  const zone = context.config.timezone;
  const outcomes: FamilyOutcome[] = [];
  const reports = [...input.reports].sort(factsByTime);
  const requests = [...input.requests].sort(factsByTime);
  /**
   * Each request's report: the latest within the time a report may take (a corrected report replaces the first;
   * an addendum after 30 days is not this request's consult and changes nothing), by request id. Only these
   * pairs are consults, for the 7-day limit too.
   */
  const reportOf = new Map<string, ConsultReport>();
  for (const request of requests) {
    const requestedAt = toMillis(request.at);
    const report = reports
      .filter(
        (r) =>
          r.requestId === request.id &&
          toMillis(r.at) >= requestedAt &&
          toMillis(r.at) <= requestedAt + CONSULT_REPORT_DAYS * DAY,
      )
      .at(-1);
    if (report !== undefined) reportOf.set(request.id, report);
  }
  for (const request of requests) {
    const requestedAt = toMillis(request.at);
    const report = reportOf.get(request.id);
    if (report === undefined) continue;
    const reportedAt = toMillis(report.at);
    const window = consultWindowOf(request, report, zone);
    const exclusions = new Set<Reason>();
    const visits: string[] = [];
    // The consultant saw the patient in the 14 days before the request (the latest such visit is named).
    const before = [...context.visits].reverse().find((visit) => {
      const at = toMillis(visit.at);
      return (
        visit.practitionerId === report.consultantId &&
        at >= localMidnight(requestedAt, zone, -CONSULT_EXCLUSION_DAYS) &&
        at < requestedAt
      );
    });
    if (before !== undefined) {
      exclusions.add("related-prior-visit");
      visits.push(before.id);
    }
    // ... or from the request to 14 days after the report (the consultant seeing the patient during the consult
    // is no interprofessional consult either), or care moved to the consultant.
    const after = context.visits.find((visit) => {
      const at = toMillis(visit.at);
      return visit.practitionerId === report.consultantId && at >= requestedAt && at < window.end;
    });
    if (after !== undefined) {
      exclusions.add("bundled-into-visit");
      visits.push(after.id);
    }
    if (report.transferOfCare) exclusions.add("transfer-of-care");
    // A visit in those 28 days whose practitioner the source did not name may be the consultant's: a biller decides
    // (R19 `decide-relatedness` on the visit: related means it was the consultant's), as R8 does for relatedness.
    const unnamed = context.visits.filter((visit) => {
      const at = toMillis(visit.at);
      return (
        visit.practitionerId === undefined &&
        at >= localMidnight(requestedAt, zone, -CONSULT_EXCLUSION_DAYS) &&
        at < window.end
      );
    });
    // At most once per consultant per patient in 7 days: another request's report of theirs in the 7 local days
    // before, unless care moved with it (never billed). Whether it billed otherwise is not looked at: its facts
    // say enough, and an earlier consult is decided from facts a later one's decision always reads.
    const frequent = [...reportOf.values()].some(
      (other) =>
        other.requestId !== report.requestId &&
        other.consultantId === report.consultantId &&
        !other.transferOfCare &&
        factsByTime(other, report) < 0 &&
        toMillis(other.at) >= localMidnight(reportedAt, zone, -FREQUENCY_DAYS),
    );
    const codes = distinctCodes(request.diagnosisCodes, report.diagnosisCodes);
    const parties = [
      {
        party:
          report.report === "written"
            ? ("consultant-written" as const)
            : ("consultant-verbal-and-written" as const),
        practitionerId: report.consultantId,
        seconds: report.seconds,
        at: reportedAt,
        frequent,
      },
      {
        party: "requester" as const,
        practitionerId: request.requesterId,
        seconds: request.seconds,
        at: requestedAt,
        frequent: false,
      },
    ];
    for (const { party, practitionerId, seconds, at, frequent: limited } of parties) {
      const serviceDate = localDate(at, zone);
      const entry = rosterEntryOn(input.roster, practitionerId, serviceDate);
      // Not on the practice's roster on that day: the other practice's line, not this one's. The consult codes are
      // a physician's or qualified health professional's (R4's E/M roles); nobody else's time bills them.
      if (entry === undefined || credentialRole[entry.credential] !== "digital-em") continue;
      const key = [request.id, party === "requester" ? "requester" : "consultant"];
      const attested = context.attestedFor("interprofessional", key);
      const used = new Set<string>();
      const applicable = new Set<Reason>(exclusions);
      const partyVisits = [...visits];
      for (const visit of unnamed) {
        const decided = attested?.relatedness.get(visit.id);
        if (decided === undefined) {
          applicable.add("relatedness-unknown");
          partyVisits.push(visit.id);
          continue;
        }
        used.add(decided.attestationId);
        if (!decided.related) continue;
        partyVisits.push(visit.id);
        applicable.add(toMillis(visit.at) < requestedAt ? "related-prior-visit" : "bundled-into-visit");
      }
      if (limited) applicable.add("frequency-limit");
      if (attested?.doNotBill !== undefined) {
        used.add(attested.doNotBill.attestationId);
        applicable.add("do-not-bill");
      }
      const consents = consentFor(
        requestedAt,
        requestedAt,
        context.consents,
        context.config,
        attested,
        used,
        applicable,
      );
      if (attested?.diagnoses !== undefined) used.add(attested.diagnoses.attestationId);
      const diagnosisCodes = distinctCodes(codes, attested?.diagnoses?.diagnosisCodes ?? []).slice(
        0,
        MAX_LINE_DIAGNOSES,
      );
      if (diagnosisCodes.length === 0) applicable.add("diagnosis-missing");
      const minutes = Math.floor(seconds / 60);
      const rows = codesOn("interprofessional", serviceDate, (row) => row.party === party);
      const code: CodeRow | undefined = rows.find(
        (row) =>
          minutes >= (row.minMinutes as number) &&
          (row.maxMinutes === undefined || minutes <= row.maxMinutes),
      );
      if (rows.length === 0) applicable.add("unsupported-date");
      else if (code === undefined) applicable.add("below-threshold");
      const fee = code === undefined ? undefined : feesOn(context.config, serviceDate)[code.code];
      if (code !== undefined && fee === undefined) applicable.add("fee-missing");
      outcomes.push({
        family: "interprofessional",
        key,
        group: entry.group,
        ...window,
        openedAt: requestedAt,
        totalSeconds: seconds,
        totalMinutes: minutes,
        clinicians: [{ practitionerId, credential: entry.credential, npi: entry.npi, seconds, minutes }],
        renderingPractitionerId: practitionerId,
        renderingNpi: entry.npi,
        serviceDate,
        diagnosisCodes,
        procedureCode: code?.code,
        units: 1,
        chargeCents: fee,
        applicable,
        ...(after !== undefined && { bundledVisit: { visitId: after.id, minutes } }),
        ...(before !== undefined && { priorVisitId: before.id }),
        evidence: {
          inquiries: [],
          counted: [],
          uncounted: [],
          visits: [...new Set(partyVisits)],
          consents,
          attestations: [...used].sort(compareStrings),
          consults: [request.id, report.id],
        },
      });
    }
  }
  return outcomes;
}
