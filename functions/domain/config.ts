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

export const rosterEntrySchema = z.object({
  practitionerId: z.string().min(1),
  npi,
  credential,
  name: z.string().optional(),
  group: z.string().min(1).default("default"),
});
export type RosterEntry = z.infer<typeof rosterEntrySchema>;

/** The 2025 Medicare national non-facility amounts, in cents: the demo's and the default fee schedule. */
export const defaultFeeSchedule: Readonly<Record<string, number>> = {
  "99421": 1456,
  "99422": 2846,
  "99423": 4496,
  "98970": 1132,
  "98971": 2135,
  "98972": 3235,
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
    roster: z.array(rosterEntrySchema).default([]),
    feeSchedule: z
      .record(
        z.string().regex(/^[0-9A-Z]{5}$/, "expected a 5-character procedure code"),
        z.number().int().min(0),
      )
      .default({})
      .transform((fees) => ({ ...defaultFeeSchedule, ...fees })),
  })
  .superRefine((config, ctx) => {
    const seen = new Set<string>();
    config.roster.forEach((entry, index) => {
      if (seen.has(entry.practitionerId)) {
        ctx.addIssue({
          code: "custom",
          path: ["roster", index, "practitionerId"],
          message: "practitionerId appears twice in the roster",
        });
      }
      seen.add(entry.practitionerId);
    });
  });

export type TenantConfig = z.infer<typeof tenantConfigSchema>;
export type TenantConfigInput = z.input<typeof tenantConfigSchema>;

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
