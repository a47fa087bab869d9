import * as z from "zod";
import { ConfigurationError } from "./errors.js";
import { credential } from "./facts.js";

/** Whether the runtime's time zone database knows the zone (the same check luxon makes, without loading luxon). */
function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: zone });
    return zone.trim() !== "";
  } catch {
    return false;
  }
}

/** National Provider Identifier: 10 digits with the Luhn check digit computed over the `80840` prefix. */
export const npi = z
  .string()
  .regex(/^\d{10}$/, "expected a 10-digit NPI")
  .refine(isLuhnValidNpi, "NPI check digit does not match");

function isLuhnValidNpi(value: string): boolean {
  const digits = `80840${value}`;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** A practice-local calendar date, YYYY-MM-DD. */
export const localDate = z.iso.date();

/**
 * R18: a roster entry is in force from `effectiveFrom` to `effectiveTo` (practice-local dates, both included;
 * open-ended when absent). One practitioner may have several entries (a new NPI, credential or group), never
 * two in force on the same day.
 */
export const rosterEntrySchema = z
  .object({
    practitionerId: z.string().min(1),
    npi,
    credential,
    name: z.string().optional(),
    group: z.string().min(1).default("default"),
    effectiveFrom: localDate.optional(),
    effectiveTo: localDate.optional(),
  })
  .refine(
    (entry) =>
      entry.effectiveFrom === undefined ||
      entry.effectiveTo === undefined ||
      entry.effectiveFrom <= entry.effectiveTo,
    { path: ["effectiveTo"], message: "effectiveTo is before effectiveFrom" },
  );
export type RosterEntry = z.infer<typeof rosterEntrySchema>;

/** R18: a fee schedule in force from its practice-local date until the next one's. */
export const feeScheduleSchema = z.object({
  effectiveFrom: localDate,
  fees: z.record(
    z.string().regex(/^[0-9A-Z]{5}$/, "expected a 5-character procedure code"),
    z.number().int().min(0),
  ),
});
export type FeeSchedule = z.infer<typeof feeScheduleSchema>;

/**
 * The 2025 Medicare national non-facility amounts, in cents (DOMAIN.md's tables, from the 2025 RVU file and
 * conversion factor 32.3465): the demo's and the default fee schedule. Codes the domain gives no amount for
 * (99447-99449) are left out: a line for one needs the practice's schedule (`fee-missing`).
 */
export const defaultFeeSchedule: Readonly<Record<string, number>> = {
  // Digital E/M (R6)
  "99421": 1456,
  "99422": 2846,
  "99423": 4496,
  "98970": 1132,
  "98971": 2135,
  "98972": 3235,
  // Image review (R21)
  G2010: 1197,
  G2250: 1197,
  // Care management (R22, R23)
  "99490": 6049,
  "99439": 4593,
  "99491": 8216,
  "99437": 5758,
  "99487": 13165,
  "99489": 7052,
  "99424": 8087,
  "99425": 5887,
  "99426": 6178,
  "99427": 5046,
  // Interprofessional consultation (R25)
  "99446": 1714,
  "99451": 3299,
  "99452": 3364,
};

/** Every policy of DOMAIN.md, with its default. The single source of the tenant configuration's shape. */
export const tenantConfigSchema = z
  .object({
    timezone: z.string().refine(isTimeZone, "expected an IANA time zone"),
    windowStart: z.enum(["first-clinician-activity", "inquiry-sent"]).default("first-clinician-activity"),
    windowMode: z.enum(["calendar-days", "rolling-168h"]).default("calendar-days"),
    laterVisit: z.enum(["any-visit", "same-problem"]).default("any-visit"),
    consent: z.enum(["required", "not-tracked"]).default("required"),
    consentValidityDays: z.number().int().min(1).max(3650).default(365),
    establishedPatient: z.enum(["assume", "require-known-visit"]).default("assume"),
    dateOfService: z.enum(["last-activity", "window-start", "window-end"]).default("last-activity"),
    renderingProvider: z.enum(["most-minutes", "first-activity"]).default("most-minutes"),
    settleHours: z
      .number()
      .int()
      .min(0)
      .max(24 * 30)
      .default(48),
    placeOfService: z
      .string()
      .regex(/^\d{2}$/, "expected a two-digit place of service code")
      // R14: these are not telehealth services.
      .refine(
        (pos) => pos !== "02" && pos !== "10",
        "telehealth places of service (02, 10) are not allowed (R14)",
      )
      .default("11"),
    inquiryLookbackDays: z.number().int().min(1).max(31).default(7),
    /**
     * R20: an episode starting within 7 days after the date of service of a billed episode of the same patient,
     * for a related problem, needs review (`prior-e-visit`), or bills (`allow`).
     */
    priorEVisit: z.enum(["needs-review", "allow"]).default("needs-review"),
    /** R21: bill G2010/G2250 for an evaluation of patient-submitted images or video (`off` by default). */
    imageReview: z.enum(["off", "when-digital-em-does-not-bill"]).default("off"),
    /** R23: how many 99439 units a month may bill (Medicare: two). */
    ccmAddOnMax: z.number().int().min(0).max(10).default(2),
    /** R23: bill 99491 when the practitioner's own time reaches 30 minutes (`practitioner`), else 99490. */
    ccmPreference: z.enum(["practitioner", "clinical-staff"]).default("practitioner"),
    /** R23: a care-management month is dated on its last day, or on the day its base code's time was met. */
    careManagementDateOfService: z.enum(["month-end", "threshold-met"]).default("month-end"),
    /** R24: a clinician's minutes go to the e-visit episode they fall in when it bills, or to care management first. */
    sharedTime: z.enum(["digital-em-first", "care-management-first"]).default("digital-em-first"),
    roster: z.array(rosterEntrySchema).default([]),
    /**
     * R18: the practice's fee schedules, each in force from its date until the next one's (sorted here). Before
     * the first, the shipped default (2025 Medicare national non-facility amounts) is in force.
     */
    feeSchedules: z
      .array(feeScheduleSchema)
      .default([])
      .transform((schedules) => [...schedules].sort((a, b) => (a.effectiveFrom < b.effectiveFrom ? -1 : 1))),
  })
  .superRefine((config, ctx) => {
    const held = new Map<string, Array<{ from: string; to: string }>>();
    config.roster.forEach((entry, index) => {
      const range = { from: entry.effectiveFrom ?? "0000-01-01", to: entry.effectiveTo ?? "9999-12-31" };
      const ranges = held.get(entry.practitionerId) ?? [];
      if (ranges.some((other) => other.from <= range.to && range.from <= other.to)) {
        ctx.addIssue({
          code: "custom",
          path: ["roster", index, "practitionerId"],
          message: "practitionerId has another roster entry in force on some of the same days",
        });
      }
      held.set(entry.practitionerId, [...ranges, range]);
    });
    const dates = new Set<string>();
    config.feeSchedules.forEach((schedule) => {
      if (dates.has(schedule.effectiveFrom)) {
        ctx.addIssue({
          code: "custom",
          path: ["feeSchedules"],
          message: `two fee schedules take effect on ${schedule.effectiveFrom}`,
        });
      }
      dates.add(schedule.effectiveFrom);
    });
  });

export type TenantConfig = z.infer<typeof tenantConfigSchema>;
export type TenantConfigInput = z.input<typeof tenantConfigSchema>;

/** R18: the roster entry of a practitioner in force on a practice-local date, if any. */
export function rosterEntryOn(
  roster: ReadonlyMap<string, readonly RosterEntry[]>,
  practitionerId: string,
  date: string,
): RosterEntry | undefined {
  return roster
    .get(practitionerId)
    ?.find(
      (entry) =>
        (entry.effectiveFrom === undefined || entry.effectiveFrom <= date) &&
        (entry.effectiveTo === undefined || date <= entry.effectiveTo),
    );
}

/** The roster by practitioner, for `rosterEntryOn`. */
export function rosterByPractitioner(config: TenantConfig): Map<string, RosterEntry[]> {
  const roster = new Map<string, RosterEntry[]>();
  for (const entry of config.roster)
    roster.set(entry.practitionerId, [...(roster.get(entry.practitionerId) ?? []), entry]);
  return roster;
}

/** R18: the fees in force on a date of service: the practice's latest schedule by then, else the default. */
export function feesOn(config: TenantConfig, serviceDate: string): Readonly<Record<string, number>> {
  const schedule = config.feeSchedules.filter((candidate) => candidate.effectiveFrom <= serviceDate).at(-1);
  return schedule?.fees ?? defaultFeeSchedule;
}

/** Reads a tenant configuration, failing fast with the path of the first invalid field. */
export function parseTenantConfig(input: unknown): TenantConfig {
  const result = tenantConfigSchema.safeParse(input);
  if (!result.success) {
    const issue = result.error.issues[0];
    const path = issue?.path.length ? issue.path.join(".") : "(root)";
    throw new ConfigurationError(path, issue?.message ?? "invalid configuration");
  }
  return result.data;
}
