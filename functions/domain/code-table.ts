import type { Credential } from "./facts.js";

/** The e-visit families (DOMAIN.md "Code families"): 7-day windows of a clinician's time, R1-R20. */
export const eVisitFamilies = ["digital-em", "digital-assessment"] as const;
export type EVisitFamily = (typeof eVisitFamilies)[number];

/** Every family an episode can end in (DOMAIN.md "More families on the same engine"), in R24's order. */
export const families = [
  ...eVisitFamilies,
  "image-review",
  "ccm-complex",
  "ccm",
  "pcm",
  "interprofessional",
] as const;
export type Family = (typeof families)[number];

/**
 * A family as data: the shape of its windows, whose time counts, how codes and units follow from the time, what
 * excludes it, and its date of service. The engine decides each family with the rule set named here; the window
 * shape also tells the bounded decision which of its episodes a change can reach (decision-scope.ts).
 */
export interface FamilyRules {
  family: Family;
  /**
   * `7-day`: R2-R7's walk, a window opened by counted time after an inquiry; `per-inquiry`: one window from the
   * inquiry to its follow-up deadline and a day after; `calendar-month`: the practice-local month;
   * `per-consult`: from the request to 14 days after the report.
   */
  window: "7-day" | "per-inquiry" | "calendar-month" | "per-consult";
  whoseTime: string;
  units: "one line, one unit" | "a base line and an add-on line with units";
  exclusions: string;
  dateOfService: string;
  /** The rules that decide it (DOMAIN.md ids), in the order they are applied. */
  rules: readonly string[];
}

// biome-ignore format: one family per entry reads as the table it is
export const familyRules: Readonly<Record<Family, FamilyRules>> = {
  "digital-em": { family: "digital-em", window: "7-day", whoseTime: "MD, DO, NP, PA, CNS, CNM on the roster (R4)", units: "one line, one unit", exclusions: "R8 related prior visit, R9 visit in the window, R13 time of another service, R20 prior e-visit", dateOfService: "policy dateOfService (R15)", rules: ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "R20", "R24"] },
  "digital-assessment": { family: "digital-assessment", window: "7-day", whoseTime: "PT, OT, SLP, LCSW, PSYD, RD, LPC, LMFT on the roster (R4)", units: "one line, one unit", exclusions: "as digital-em", dateOfService: "policy dateOfService (R15)", rules: ["R1", "R2", "R3", "R4", "R5", "R6", "R7", "R8", "R9", "R10", "R11", "R12", "R13", "R14", "R15", "R20", "R24"] },
  "image-review": { family: "image-review", window: "per-inquiry", whoseTime: "the evaluating clinician's, untimed", units: "one line, one unit", exclusions: "the e-visit episode holding the evaluation bills (R24), a related visit in the 7 days before the evaluation, a visit within 24 hours after it", dateOfService: "the follow-up's local date", rules: ["R21", "R10", "R11", "R24"] },
  "ccm-complex": { family: "ccm-complex", window: "calendar-month", whoseTime: "clinical staff and the billing practitioner", units: "a base line and an add-on line with units", exclusions: "time billed in another family (R24); one program per month", dateOfService: "policy careManagementDateOfService", rules: ["R22", "R23", "R24"] },
  ccm: { family: "ccm", window: "calendar-month", whoseTime: "clinical staff and the billing practitioner; 99491/99437 the practitioner only", units: "a base line and an add-on line with units", exclusions: "time billed in another family (R24); one program per month", dateOfService: "policy careManagementDateOfService", rules: ["R22", "R23", "R24"] },
  pcm: { family: "pcm", window: "calendar-month", whoseTime: "99424/99425 the billing practitioner; 99426/99427 clinical staff and the practitioner", units: "a base line and an add-on line with units", exclusions: "time billed in another family (R24); one program per month", dateOfService: "policy careManagementDateOfService", rules: ["R22", "R23", "R24"] },
  interprofessional: { family: "interprofessional", window: "per-consult", whoseTime: "the named clinician's own documented time", units: "one line, one unit", exclusions: "the consultant saw the patient in the 14 days before; a transfer of care or a visit with the consultant in the 14 days after; once per consultant per patient in 7 days", dateOfService: "the report's local date (consultant), the request's (requester)", rules: ["R25", "R10", "R11"] },
};

export const isEVisitFamily = (family: string): family is EVisitFamily =>
  (eVisitFamilies as readonly string[]).includes(family);

/** The family a procedure code belongs to (a sent line names its code, not its family). */
export function familyOfCode(code: string): Family {
  const family = codeTable.find((row) => row.code === code)?.family;
  if (family === undefined || family === "virtual-check-in") throw new RangeError(`no family bills ${code}`);
  return family;
}

/** R23: whether a code is an add-on (its line repeats the base line's minutes). */
export const isAddOnCode = (code: string): boolean =>
  codeTable.some((row) => row.code === code && row.addOnTo !== undefined);

/** Whom a credential makes: a counting clinician of a family, or clinical staff whose time never counts (R4). */
export const credentialRole: Readonly<Record<Credential, EVisitFamily | "staff">> = {
  MD: "digital-em",
  DO: "digital-em",
  NP: "digital-em",
  PA: "digital-em",
  CNS: "digital-em",
  CNM: "digital-em",
  PT: "digital-assessment",
  OT: "digital-assessment",
  SLP: "digital-assessment",
  LCSW: "digital-assessment",
  PSYD: "digital-assessment",
  RD: "digital-assessment",
  LPC: "digital-assessment",
  LMFT: "digital-assessment",
  RN: "staff",
  LPN: "staff",
  MA: "staff",
  STAFF: "staff",
};

export interface CodeRow {
  code: string;
  family: Family | "virtual-check-in";
  /** Timed tier bounds in whole minutes; untimed codes have none and are never chosen by minutes. */
  minMinutes?: number;
  maxMinutes?: number;
  /** R23: an add-on code, one unit for each further `minutesPerUnit` beyond its base code's threshold. */
  addOnTo?: string;
  minutesPerUnit?: number;
  /** R23: whose minutes a care-management code counts: the billing practitioner's own, or everyone's counted. */
  time?: "personal" | "clinical-staff";
  /** R21: the credential role that bills an image-review code; R25: which party's line a consult code is. */
  role?: EVisitFamily;
  party?: "consultant-verbal-and-written" | "consultant-written" | "requester";
  /** Inclusive local dates of service, YYYY-MM-DD. */
  effectiveFrom: string;
  effectiveTo?: string;
  /** `all` codes are chosen by the engine; payer-specific rows are carried for reference only. */
  payer: "all" | "medicare";
  description: string;
}

/**
 * The code table as data, keyed by date of service: a new CPT year is a new row here, not new code.
 * Rows that are never emitted from message episodes are kept so the history is explicit and tested.
 */
// biome-ignore format: one row per line reads as the table it is
export const codeTable: readonly CodeRow[] = [
  { code: "99444", family: "digital-em", effectiveFrom: "2008-01-01", effectiveTo: "2019-12-31", payer: "all", description: "Online E/M, untimed (deleted)" },
  { code: "98969", family: "digital-assessment", effectiveFrom: "2008-01-01", effectiveTo: "2019-12-31", payer: "all", description: "Online assessment by a non-physician, untimed (deleted)" },
  { code: "99421", family: "digital-em", minMinutes: 5, maxMinutes: 10, effectiveFrom: "2020-01-01", payer: "all", description: "Online digital E/M, 5-10 minutes in 7 days" },
  { code: "99422", family: "digital-em", minMinutes: 11, maxMinutes: 20, effectiveFrom: "2020-01-01", payer: "all", description: "Online digital E/M, 11-20 minutes in 7 days" },
  { code: "99423", family: "digital-em", minMinutes: 21, effectiveFrom: "2020-01-01", payer: "all", description: "Online digital E/M, 21 or more minutes in 7 days" },
  { code: "98970", family: "digital-assessment", minMinutes: 5, maxMinutes: 10, effectiveFrom: "2020-01-01", payer: "all", description: "Online digital assessment, 5-10 minutes in 7 days" },
  { code: "98971", family: "digital-assessment", minMinutes: 11, maxMinutes: 20, effectiveFrom: "2020-01-01", payer: "all", description: "Online digital assessment, 11-20 minutes in 7 days" },
  { code: "98972", family: "digital-assessment", minMinutes: 21, effectiveFrom: "2020-01-01", payer: "all", description: "Online digital assessment, 21 or more minutes in 7 days" },
  { code: "G2061", family: "digital-assessment", minMinutes: 5, maxMinutes: 10, effectiveFrom: "2020-01-01", effectiveTo: "2020-12-31", payer: "medicare", description: "Medicare 2020 online assessment, 5-10 minutes" },
  { code: "G2062", family: "digital-assessment", minMinutes: 11, maxMinutes: 20, effectiveFrom: "2020-01-01", effectiveTo: "2020-12-31", payer: "medicare", description: "Medicare 2020 online assessment, 11-20 minutes" },
  { code: "G2063", family: "digital-assessment", minMinutes: 21, effectiveFrom: "2020-01-01", effectiveTo: "2020-12-31", payer: "medicare", description: "Medicare 2020 online assessment, 21 or more minutes" },
  { code: "G2012", family: "virtual-check-in", effectiveFrom: "2019-01-01", effectiveTo: "2024-12-31", payer: "all", description: "Virtual check-in (synchronous; never from messages)" },
  { code: "98016", family: "virtual-check-in", effectiveFrom: "2025-01-01", payer: "all", description: "Virtual check-in (synchronous; never from messages)" },
  { code: "G2010", family: "image-review", role: "digital-em", effectiveFrom: "2019-01-01", payer: "all", description: "Remote evaluation of recorded images or video, E/M clinician, with follow-up in 24 business hours" },
  { code: "G2250", family: "image-review", role: "digital-assessment", effectiveFrom: "2021-01-01", payer: "all", description: "Remote evaluation of recorded images or video, non-E/M clinician, with follow-up in 24 business hours" },
  { code: "99490", family: "ccm", time: "clinical-staff", minMinutes: 20, effectiveFrom: "2015-01-01", payer: "all", description: "CCM, first 20 minutes of clinical staff time in a month" },
  { code: "99439", family: "ccm", time: "clinical-staff", addOnTo: "99490", minutesPerUnit: 20, effectiveFrom: "2021-01-01", payer: "all", description: "CCM, each further 20 minutes of clinical staff time" },
  { code: "99491", family: "ccm", time: "personal", minMinutes: 30, effectiveFrom: "2019-01-01", payer: "all", description: "CCM, first 30 minutes personally by the practitioner in a month" },
  { code: "99437", family: "ccm", time: "personal", addOnTo: "99491", minutesPerUnit: 30, effectiveFrom: "2022-01-01", payer: "all", description: "CCM, each further 30 minutes personally by the practitioner" },
  { code: "99487", family: "ccm-complex", time: "clinical-staff", minMinutes: 60, effectiveFrom: "2015-01-01", payer: "all", description: "Complex CCM, first 60 minutes of clinical staff time in a month" },
  { code: "99489", family: "ccm-complex", time: "clinical-staff", addOnTo: "99487", minutesPerUnit: 30, effectiveFrom: "2015-01-01", payer: "all", description: "Complex CCM, each further 30 minutes" },
  { code: "99424", family: "pcm", time: "personal", minMinutes: 30, effectiveFrom: "2022-01-01", payer: "all", description: "PCM, first 30 minutes personally by the practitioner in a month" },
  { code: "99425", family: "pcm", time: "personal", addOnTo: "99424", minutesPerUnit: 30, effectiveFrom: "2022-01-01", payer: "all", description: "PCM, each further 30 minutes personally by the practitioner" },
  { code: "99426", family: "pcm", time: "clinical-staff", minMinutes: 30, effectiveFrom: "2022-01-01", payer: "all", description: "PCM, first 30 minutes of clinical staff time in a month" },
  { code: "99427", family: "pcm", time: "clinical-staff", addOnTo: "99426", minutesPerUnit: 30, effectiveFrom: "2022-01-01", payer: "all", description: "PCM, each further 30 minutes of clinical staff time" },
  { code: "99446", family: "interprofessional", party: "consultant-verbal-and-written", minMinutes: 5, maxMinutes: 10, effectiveFrom: "2014-01-01", payer: "all", description: "Interprofessional consult, verbal and written report, 5-10 minutes" },
  { code: "99447", family: "interprofessional", party: "consultant-verbal-and-written", minMinutes: 11, maxMinutes: 20, effectiveFrom: "2014-01-01", payer: "all", description: "Interprofessional consult, verbal and written report, 11-20 minutes" },
  { code: "99448", family: "interprofessional", party: "consultant-verbal-and-written", minMinutes: 21, maxMinutes: 30, effectiveFrom: "2014-01-01", payer: "all", description: "Interprofessional consult, verbal and written report, 21-30 minutes" },
  { code: "99449", family: "interprofessional", party: "consultant-verbal-and-written", minMinutes: 31, effectiveFrom: "2014-01-01", payer: "all", description: "Interprofessional consult, verbal and written report, 31 minutes or more" },
  { code: "99451", family: "interprofessional", party: "consultant-written", minMinutes: 5, effectiveFrom: "2019-01-01", payer: "all", description: "Interprofessional consult, written report only, 5 minutes or more" },
  { code: "99452", family: "interprofessional", party: "requester", minMinutes: 16, effectiveFrom: "2019-01-01", payer: "all", description: "Interprofessional referral by the treating clinician, 16-30 minutes" },
  { code: "G2252", family: "virtual-check-in", effectiveFrom: "2021-01-01", payer: "all", description: "Extended virtual check-in (synchronous; never from messages)" },
];

const inEffect = (row: CodeRow, serviceDate: string): boolean =>
  row.effectiveFrom <= serviceDate && (row.effectiveTo === undefined || serviceDate <= row.effectiveTo);

const isTimedForFamily = (row: CodeRow, family: EVisitFamily): boolean =>
  row.family === family && row.payer === "all" && row.minMinutes !== undefined;

/** The rows of a family in effect on a date of service that `matches` picks (the engine's families after R20). */
export function codesOn(
  family: Family,
  serviceDate: string,
  matches: (row: CodeRow) => boolean,
  table: readonly CodeRow[] = codeTable,
): CodeRow[] {
  return table.filter(
    (row) => row.family === family && row.payer === "all" && inEffect(row, serviceDate) && matches(row),
  );
}

/** Whether the family has any timed code on this date of service (false before 2020: `unsupported-date`). */
export function familyHasTimedCodes(
  family: EVisitFamily,
  serviceDate: string,
  table: readonly CodeRow[] = codeTable,
): boolean {
  return table.some((row) => isTimedForFamily(row, family) && inEffect(row, serviceDate));
}

/** R6: the timed code for a family, whole minutes and date of service, or undefined when none applies. */
export function timedCodeFor(
  family: EVisitFamily,
  minutes: number,
  serviceDate: string,
  table: readonly CodeRow[] = codeTable,
): CodeRow | undefined {
  return table.find(
    (row) =>
      isTimedForFamily(row, family) &&
      inEffect(row, serviceDate) &&
      minutes >= (row.minMinutes ?? Number.POSITIVE_INFINITY) &&
      (row.maxMinutes === undefined || minutes <= row.maxMinutes),
  );
}
