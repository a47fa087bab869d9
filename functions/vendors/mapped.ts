import type { IgnoredReason, MappedDelivery } from "./format.js";

/** The mapping outcomes every format builds, in one place. */

/** A part with nothing billable in it: recorded and counted by `reason`, never dead-lettered. */
export const ignore = (reference: string, reason: IgnoredReason): MappedDelivery => ({
  facts: [],
  ignored: [{ reference, reason }],
  skipped: [],
});

/** A part that cannot be read: `reason` (a path or cause, never a value) travels to the DLQ when nothing maps. */
export const skip = (reference: string, reason: string): MappedDelivery => ({
  facts: [],
  skipped: [{ reference, reason }],
});
