import { type CodeRow, codesOn, credentialRole, type Family } from "./code-table.js";
import { feesOn, type RosterEntry, rosterEntryOn } from "./config.js";
import { compareStrings } from "./episodes.js";
import type { Enrollment, Program } from "./facts.js";
import {
  distinctCodes,
  type FamilyContext,
  type FamilyOutcome,
  MAX_LINE_DIAGNOSES,
} from "./family-outcome.js";
import type { Reason } from "./outcome.js";
import { localDate, localMonthStart } from "./time.js";

/**
 * R22-R23: care management, per practice-local calendar month and program. The engine hands it the time R24
 * leaves for care management (staff time on the patient's messages, clinicians' time no billed e-visit or image
 * review holds, time entries marked as care management's); this decides each month's base line and add-on line.
 */

/** A piece of time care management may count: whose, when, and which program it was marked for (R13), if any. */
export interface CareTime {
  factId: string;
  at: number;
  personId: string;
  credential: string;
  seconds: number;
  /** A time entry marked as another service's counts only there (R13, R24). */
  service?: "ccm" | "pcm";
}

/** The programs in R22's order: the first that reaches its threshold in a month bills it; the others do not. */
const programOrder: readonly Program[] = ["ccm-complex", "ccm", "pcm"];

/** R22: how many chronic conditions a program needs. */
const conditionsNeeded: Readonly<Record<Program, number>> = { ccm: 2, "ccm-complex": 2, pcm: 1 };

const counts = (enrollment: Enrollment): boolean =>
  enrollment.status === "active" || enrollment.status === "finished";

const covers = (enrollment: Enrollment, date: string): boolean =>
  enrollment.startDate <= date && (enrollment.endDate === undefined || date <= enrollment.endDate);

/**
 * R22: the enrollment of a program in force in a month (the month's first and last local dates): of several, the
 * one that started last (then the greater id), so one practitioner bills a program per month.
 */
function enrollmentOf(
  enrollments: readonly Enrollment[],
  program: Program,
  first: string,
  last: string,
): Enrollment | undefined {
  let chosen: Enrollment | undefined;
  for (const enrollment of enrollments) {
    if (enrollment.program !== program || !counts(enrollment)) continue;
    if (enrollment.startDate > last || (enrollment.endDate !== undefined && enrollment.endDate < first))
      continue;
    if (
      chosen === undefined ||
      enrollment.startDate > chosen.startDate ||
      (enrollment.startDate === chosen.startDate && compareStrings(enrollment.id, chosen.id) > 0)
    )
      chosen = enrollment;
  }
  return chosen;
}

/** Whether any enrollment in force could make a month from `from` on a care-management month (for the reach). */
export const enrolledFrom = (enrollments: readonly Enrollment[], fromDate: string): boolean =>
  enrollments.some(
    (enrollment) =>
      counts(enrollment) && (enrollment.endDate === undefined || enrollment.endDate >= fromDate),
  );

export interface CareManagementInput {
  enrollments: readonly Enrollment[];
  /** Time R24 leaves for care management, any month. */
  time: readonly CareTime[];
  /** Time in those months R24 gave to another family's billed line (listed in the evidence as not counted). */
  countedElsewhere: ReadonlyArray<{ factId: string; at: number }>;
  roster: ReadonlyMap<string, readonly RosterEntry[]>;
}

export function decideCareManagement(input: CareManagementInput, context: FamilyContext): FamilyOutcome[] {
  const zone = context.config.timezone;
  const byMonth = new Map<number, CareTime[]>();
  // The engine hands over time with seconds only (R4: zero time counts nowhere).
  for (const time of input.time) {
    const month = localMonthStart(time.at, zone);
    const held = byMonth.get(month);
    if (held === undefined) byMonth.set(month, [time]);
    else held.push(time);
  }
  const outcomes: FamilyOutcome[] = [];
  for (const [monthStart, times] of [...byMonth].sort(([a], [b]) => a - b)) {
    const monthEnd = localMonthStart(monthStart, zone, 1);
    const first = localDate(monthStart, zone);
    const last = localDate(monthEnd - 1, zone);
    const enrolled = new Map<Program, Enrollment>();
    for (const program of programOrder) {
      const enrollment = enrollmentOf(input.enrollments, program, first, last);
      if (enrollment !== undefined) enrolled.set(program, enrollment);
    }
    if (enrolled.size === 0) continue;
    // R24: time marked for a program counts there; other time goes to the first program in R22's order whose
    // enrollment covers its date.
    const assigned = new Map<Program, CareTime[]>();
    const unassigned: string[] = [];
    for (const time of times) {
      const date = localDate(time.at, zone);
      const candidates: readonly Program[] =
        time.service === "pcm" ? ["pcm"] : time.service === "ccm" ? ["ccm-complex", "ccm"] : programOrder;
      // Any enrollment of the program in force on the time's date counts it (a renewal mid-month, or a change
      // of practitioner: the month is billed once, by the enrollment that started last).
      const program = candidates.find(
        (p) =>
          enrolled.has(p) && input.enrollments.some((e) => e.program === p && counts(e) && covers(e, date)),
      );
      if (program === undefined) unassigned.push(time.factId);
      else assigned.set(program, [...(assigned.get(program) ?? []), time]);
    }
    const elsewhere = [
      ...input.countedElsewhere
        .filter(({ at }) => at >= monthStart && at < monthEnd)
        .map(({ factId }) => factId),
      // Time on a day no enrollment covers is seen and not counted.
      ...unassigned,
    ];
    let monthTaken = false;
    for (const program of programOrder) {
      const enrollment = enrolled.get(program);
      const programTimes = assigned.get(program);
      if (enrollment === undefined || programTimes === undefined) continue;
      const decided = decideMonth(program, enrollment, programTimes, {
        monthStart,
        monthEnd,
        lastDate: last,
        taken: monthTaken,
        elsewhere,
        roster: input.roster,
        context,
      });
      // R22: once a program reaches its threshold this month, no later program bills it.
      if (!decided.base.applicable.has("below-threshold") && !decided.base.applicable.has("unsupported-date"))
        monthTaken = true;
      outcomes.push(decided.base, ...(decided.addOn === undefined ? [] : [decided.addOn]));
    }
  }
  return outcomes;
}

interface Month {
  monthStart: number;
  monthEnd: number;
  lastDate: string;
  /** A program earlier in R22's order reached its threshold this month. */
  taken: boolean;
  elsewhere: readonly string[];
  roster: ReadonlyMap<string, readonly RosterEntry[]>;
  context: FamilyContext;
}

function decideMonth(
  program: Program,
  enrollment: Enrollment,
  times: readonly CareTime[],
  month: Month,
): { base: FamilyOutcome; addOn?: FamilyOutcome } {
  const { config } = month.context;
  const zone = config.timezone;
  const family: Family = program;
  const monthDate = localDate(month.monthStart, zone);
  const key = [program, monthDate];
  const attested = month.context.attestedFor(family, [...key, "base"]);
  const used = new Set<string>();
  const applicable = new Set<Reason>();
  const sorted = [...times].sort((a, b) => a.at - b.at || compareStrings(a.factId, b.factId));
  const personal = sorted.filter((time) => time.personId === enrollment.billingPractitionerId);
  const seconds = (list: readonly CareTime[]) => list.reduce((sum, time) => sum + time.seconds, 0);
  // R23: full minutes only.
  const minutesOf = {
    personal: Math.floor(seconds(personal) / 60),
    "clinical-staff": Math.floor(seconds(sorted) / 60),
  };

  // R23: one base code a month, the practitioner's own first under `ccmPreference: practitioner`.
  const bases = codesOn(
    family,
    month.lastDate,
    (row) => row.minMinutes !== undefined && row.addOnTo === undefined,
  );
  const preferred = config.ccmPreference === "practitioner" ? "personal" : "clinical-staff";
  const ordered = [...bases].sort((a, b) => (a.time === preferred ? 0 : 1) - (b.time === preferred ? 0 : 1));
  // Every care-management base row says whose time it counts.
  const base = ordered.find(
    (row) => minutesOf[row.time as keyof typeof minutesOf] >= (row.minMinutes as number),
  );
  if (bases.length === 0) applicable.add("unsupported-date");
  else if (base === undefined) applicable.add("below-threshold");
  const timeKind = base?.time ?? "clinical-staff";
  const counted = timeKind === "personal" ? personal : sorted;
  const minutes = minutesOf[timeKind];

  // R23: the date of service: the month's last day, or the day the base code's time was met.
  let serviceDate = month.lastDate;
  if (base !== undefined && config.careManagementDateOfService === "threshold-met") {
    let sum = 0;
    for (const time of counted) {
      sum += time.seconds;
      if (Math.floor(sum / 60) >= (base.minMinutes as number)) {
        serviceDate = localDate(time.at, zone);
        break;
      }
    }
  }

  if (month.taken) applicable.add("counted-elsewhere");
  if (attested?.doNotBill !== undefined) {
    used.add(attested.doNotBill.attestationId);
    applicable.add("do-not-bill");
  }
  // R22: consent documented on or before the local day of the month's first counted minute.
  const firstDate = localDate((sorted[0] as CareTime).at, zone);
  if (config.consent === "required") {
    const recorded = attested?.consent;
    if (enrollment.consentDate !== undefined && enrollment.consentDate <= firstDate) {
      // the enrollment's own documentation
    } else if (recorded !== undefined && recorded.consentDate <= firstDate) used.add(recorded.attestationId);
    else applicable.add("consent-missing");
  }
  // R22: the program's chronic conditions and a care plan made by the month's end.
  if (
    enrollment.conditions.length < conditionsNeeded[program] ||
    enrollment.carePlanDate === undefined ||
    enrollment.carePlanDate > month.lastDate
  )
    applicable.add("enrollment-incomplete");
  if (attested?.diagnoses !== undefined) used.add(attested.diagnoses.attestationId);
  const diagnosisCodes = distinctCodes(
    enrollment.conditions,
    attested?.diagnoses?.diagnosisCodes ?? [],
  ).slice(0, MAX_LINE_DIAGNOSES);
  if (diagnosisCodes.length === 0) applicable.add("diagnosis-missing");
  const practitioner = rosterEntryOn(month.roster, enrollment.billingPractitionerId, serviceDate);
  if (practitioner === undefined) applicable.add("unknown-clinician");
  // R22: the billing practitioner is a physician or a qualified health professional who bills E/M (R4's roles);
  // an enrollment naming anyone else cannot be billed as it stands.
  else if (credentialRole[practitioner.credential] !== "digital-em") applicable.add("enrollment-incomplete");

  const fees = feesOn(config, serviceDate);
  const fee = base === undefined ? undefined : fees[base.code];
  if (base !== undefined && fee === undefined) applicable.add("fee-missing");

  const clinicians = peopleOf(sorted);
  const shared = {
    family,
    group: practitioner?.group ?? "default",
    start: month.monthStart,
    end: month.monthEnd,
    openedAt: (sorted[0] as CareTime).at,
    clinicians,
    renderingPractitionerId: enrollment.billingPractitionerId,
    renderingNpi: practitioner?.npi,
    serviceDate,
    diagnosisCodes,
  };
  const evidence = {
    inquiries: [],
    counted: counted.map((time) => time.factId),
    uncounted: [
      ...sorted.filter((time) => !counted.includes(time)).map((time) => time.factId),
      ...month.elsewhere,
    ].sort(compareStrings),
    visits: [],
    consents: [],
    attestations: [...used].sort(compareStrings),
    enrollments: [enrollment.id],
  };
  const baseOutcome: FamilyOutcome = {
    ...shared,
    key: [...key, "base"],
    totalSeconds: seconds(counted),
    totalMinutes: minutes,
    procedureCode: base?.code,
    units: 1,
    chargeCents: fee,
    applicable,
    evidence,
  };
  if (base === undefined) return { base: baseOutcome };

  // R23: the add-on as one line with units: each further full block of its minutes; 99439 capped by policy.
  const addOnRow: CodeRow | undefined = codesOn(
    family,
    month.lastDate,
    (row) => row.addOnTo === base.code,
  )[0];
  if (addOnRow === undefined) return { base: baseOutcome };
  const blocks = Math.floor((minutes - (base.minMinutes as number)) / (addOnRow.minutesPerUnit as number));
  const units = addOnRow.code === "99439" ? Math.min(blocks, config.ccmAddOnMax) : blocks;
  if (units < 1) return { base: baseOutcome };
  const addOnFee = fees[addOnRow.code];
  const addOnApplicable = new Set(applicable);
  if (addOnFee === undefined) addOnApplicable.add("fee-missing");
  return {
    base: baseOutcome,
    addOn: {
      ...shared,
      key: [...key, "add-on"],
      totalSeconds: seconds(counted),
      totalMinutes: minutes,
      procedureCode: addOnRow.code,
      units,
      chargeCents: addOnFee === undefined ? undefined : addOnFee * units,
      applicable: addOnApplicable,
      evidence,
    },
  };
}

/** Minutes per person, most first (ties: the earliest time, then the id). */
function peopleOf(times: readonly CareTime[]): FamilyOutcome["clinicians"] {
  const people = new Map<string, { credential: string; seconds: number; first: number }>();
  for (const time of times) {
    const held = people.get(time.personId) ?? { credential: time.credential, seconds: 0, first: time.at };
    held.seconds += time.seconds;
    people.set(time.personId, held);
  }
  return [...people]
    .sort(([a, x], [b, y]) => y.seconds - x.seconds || x.first - y.first || compareStrings(a, b))
    .map(([practitionerId, { credential, seconds }]) => ({
      practitionerId,
      credential,
      seconds,
      minutes: Math.floor(seconds / 60),
    }));
}
