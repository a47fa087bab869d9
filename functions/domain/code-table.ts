import type { Credential } from "./facts.js";

/** Code families an episode can end in (DOMAIN.md "Code families"). */
export const families = ["digital-em", "digital-assessment"] as const;
export type Family = (typeof families)[number];

/** Whom a credential makes: a counting clinician of a family, or clinical staff whose time never counts (R4). */
export const credentialRole: Readonly<Record<Credential, Family | "staff">> = {
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
  { code: "G2252", family: "virtual-check-in", effectiveFrom: "2021-01-01", payer: "all", description: "Extended virtual check-in (synchronous; never from messages)" },
];

const inEffect = (row: CodeRow, serviceDate: string): boolean =>
  row.effectiveFrom <= serviceDate && (row.effectiveTo === undefined || serviceDate <= row.effectiveTo);

const isTimedForFamily = (row: CodeRow, family: Family): boolean =>
  row.family === family && row.payer === "all" && row.minMinutes !== undefined;

/** Whether the family has any timed code on this date of service (false before 2020: `unsupported-date`). */
export function familyHasTimedCodes(
  family: Family,
  serviceDate: string,
  table: readonly CodeRow[] = codeTable,
): boolean {
  return table.some((row) => isTimedForFamily(row, family) && inEffect(row, serviceDate));
}

/** R6: the timed code for a family, whole minutes and date of service, or undefined when none applies. */
export function timedCodeFor(
  family: Family,
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
