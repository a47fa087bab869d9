import { DateTime } from "luxon";

/**
 * Time in the practice's zone. All arithmetic on local days goes through luxon's IANA zone support, so DST
 * changes (23- and 25-hour days) are handled by the zone database, never by hand-written offsets.
 */

export const toMillis = (iso: string): number => Date.parse(iso);

export const toIso = (millis: number, zone: string): string => {
  const iso = DateTime.fromMillis(millis, { zone }).toISO({ suppressMilliseconds: true });
  /* v8 ignore next -- luxon only returns null for an invalid zone, which the configuration schema rejects */
  if (iso === null) throw new RangeError("invalid instant or zone");
  return iso;
};

/** The local calendar date (YYYY-MM-DD) of an instant. */
export const localDate = (millis: number, zone: string): string =>
  DateTime.fromMillis(millis, { zone }).toISODate() as string;

/**
 * The start of the local day `days` calendar days after the day of `millis`. Shift first, then take the start of
 * that day: where a DST change skips midnight (e.g. America/Santiago), each day starts at its own first instant.
 */
export const localMidnight = (millis: number, zone: string, days = 0): number =>
  DateTime.fromMillis(millis, { zone }).plus({ days }).startOf("day").toMillis();

/** Shifts an instant by calendar years in the zone (R12's "3 years before"). */
export const minusYears = (millis: number, zone: string, years: number): number =>
  DateTime.fromMillis(millis, { zone }).minus({ years }).toMillis();

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

/** The last instant an ECMAScript date can hold: "always" for a reach (docs/STORE.md, "Bounded reads"). */
export const END_OF_TIME = 8_640_000_000_000_000;

/** The local date's first instant, for a YYYY-MM-DD date in the zone. */
export const startOfLocalDate = (date: string, zone: string): number =>
  DateTime.fromISO(date, { zone }).startOf("day").toMillis();

/** The start of the local calendar month `months` months after the month of `millis` (R23). */
export const localMonthStart = (millis: number, zone: string, months = 0): number =>
  DateTime.fromMillis(millis, { zone }).startOf("month").plus({ months }).startOf("day").toMillis();

/**
 * R21: the instant `hours` business hours after `millis`, counting only practice-local Monday to Friday (a
 * weekend adds nothing: Friday 15:00 plus 24 business hours is Monday 15:00).
 */
export function businessHoursAfter(millis: number, hours: number, zone: string): number {
  let cursor = DateTime.fromMillis(millis, { zone });
  let remaining = hours * HOUR;
  while (remaining > 0) {
    if (cursor.weekday >= 6) {
      cursor = cursor.plus({ days: 8 - cursor.weekday }).startOf("day");
      continue;
    }
    const dayEnd = cursor.plus({ days: 1 }).startOf("day");
    const step = Math.min(remaining, dayEnd.toMillis() - cursor.toMillis());
    cursor = cursor.plus({ milliseconds: step });
    remaining -= step;
  }
  return cursor.toMillis();
}
