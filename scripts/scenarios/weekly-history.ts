import { writeFile } from "node:fs/promises";
import { parseArgs } from "node:util";
import { DateTime } from "luxon";

/**
 * A chronic patient's years of weekly e-visits, as a replay scenario (`npm run replay`): every Monday at 09:00
 * the patient writes through the portal about one of two unrelated chronic problems, alternating (type 2
 * diabetes E11.9, essential hypertension I10), and Dr. Adams (MD) answers at 14:00 with 6 minutes of work. The
 * patient signs the practice's annual consent on the first Monday of each year, at 08:00. Deliveries use the
 * `bridge` format; the finalizer runs every Thursday at noon, after the previous week's window has settled.
 *
 * The lines it must give, worked out from the rules (docs/RULES.md), one per week: R1 the inquiry opens the
 * episode, R2/R3 the window is Monday 00:00 to the next Monday 00:00 (New York), R6 6 minutes is 99421, R11 the
 * consent of the year (or of the previous January, within 365 days) covers it, R15 the date of service is the
 * Monday, charge 1456 cents (2025 Medicare default), rendering NPI 1003000126, the week's one diagnosis.
 *
 *   npx tsx scripts/scenarios/weekly-history.ts --years 5 --out /tmp/five-years.json
 */

const ZONE = "America/New_York";
export const WEEKLY_HISTORY_START = "2021-01-04";
const PROBLEMS = ["E11.9", "I10"] as const;

export interface WeeklyHistoryOptions {
  patientId?: string;
  /** First Monday (local date). */
  from?: string;
  weeks: number;
}

/** The claim line each week must give, in the fields the expected-lines files use. */
export interface ExpectedWeeklyLine {
  patientId: string;
  procedureCode: "99421";
  serviceDate: string;
  windowStart: string;
  windowEnd: string;
  totalMinutes: 6;
  diagnosisCodes: [string];
  renderingProviderNpi: "1003000126";
  chargeCents: 1456;
  action: "original";
  revision: 0;
}

const at = (local: DateTime): string => local.toUTC().toISO({ suppressMilliseconds: true }) as string;

export function weeklyHistory(options: WeeklyHistoryOptions) {
  const patientId = options.patientId ?? "weekly-1";
  const first = DateTime.fromISO(options.from ?? WEEKLY_HISTORY_START, { zone: ZONE }).startOf("day");
  const deliveries: Array<{ at: string; format: "bridge"; body: unknown }> = [];
  const finalizeAt: string[] = [];
  const expected: ExpectedWeeklyLine[] = [];
  const event = (facts: unknown[]) => ({ schemaVersion: "1.0", patientId, facts });
  let consentYear = 0;
  for (let week = 0; week < options.weeks; week++) {
    const monday = first.plus({ weeks: week });
    const problem = PROBLEMS[week % 2] as string;
    if (monday.year !== consentYear) {
      consentYear = monday.year;
      const signed = monday.set({ hour: 8 });
      deliveries.push({
        at: at(signed.plus({ minutes: 1 })),
        format: "bridge",
        body: event([
          { kind: "consent", id: `${patientId}-consent-${consentYear}`, at: at(signed), status: "active" },
        ]),
      });
    }
    const asked = monday.set({ hour: 9 });
    const answered = monday.set({ hour: 14 });
    deliveries.push({
      at: at(asked.plus({ minutes: 1 })),
      format: "bridge",
      body: event([
        {
          kind: "inquiry",
          // The sender's ids are unique across its patients: a repeated id would move the fact (R16).
          id: `${patientId}-q-${week}`,
          messageId: `${patientId}-q-${week}`,
          at: at(asked),
          author: "patient",
          diagnosisCodes: [problem],
        },
      ]),
    });
    deliveries.push({
      at: at(answered.plus({ minutes: 1 })),
      format: "bridge",
      body: event([
        {
          kind: "clinician-activity",
          id: `${patientId}-a-${week}`,
          messageId: `${patientId}-a-${week}`,
          inResponseTo: `${patientId}-q-${week}`,
          at: at(answered),
          practitionerId: "dr-adams",
          minutes: 6,
          diagnosisCodes: [problem],
        },
      ]),
    });
    finalizeAt.push(at(monday.plus({ days: 10 }).set({ hour: 12 })));
    expected.push({
      patientId,
      procedureCode: "99421",
      serviceDate: monday.toISODate() as string,
      windowStart: monday.toISO({ suppressMilliseconds: true }) as string,
      windowEnd: monday.plus({ weeks: 1 }).toISO({ suppressMilliseconds: true }) as string,
      totalMinutes: 6,
      diagnosisCodes: [problem],
      renderingProviderNpi: "1003000126",
      chargeCents: 1456,
      action: "original",
      revision: 0,
    });
  }
  const scenario = { config: { timezone: ZONE, consent: "required" }, deliveries, finalizeAt };
  return { scenario, expected };
}

async function main() {
  const { values } = parseArgs({
    options: {
      years: { type: "string", default: "5" },
      out: { type: "string" },
      patient: { type: "string" },
    },
  });
  const weeks = Math.round(Number(values.years) * 52);
  if (!Number.isFinite(weeks) || weeks < 1) throw new Error("--years must be a positive number");
  const { scenario } = weeklyHistory({ weeks, patientId: values.patient });
  const text = JSON.stringify(scenario);
  if (values.out === undefined) process.stdout.write(`${text}\n`);
  else await writeFile(values.out, text);
}

if (import.meta.url === `file://${process.argv[1]}`) await main();
