import type { EpisodeAttestations } from "./attestations.js";
import type { Family } from "./code-table.js";
import type { TenantConfig } from "./config.js";
import type { Consent, Visit } from "./facts.js";
import type { Reason } from "./outcome.js";

/**
 * What a family after the e-visits (R21-R25) decides for one episode, before the engine names it and writes its
 * line: the same fields every episode carries, so the store, the audit packet and the worklist read them alike.
 */
export interface FamilyOutcome {
  family: Family;
  /** What makes the episode itself within the patient (e.g. the program and month): its id is a digest of it. */
  key: readonly (string | number)[];
  group: string;
  /** Epoch ms, [start, end). */
  start: number;
  end: number;
  openedAt: number;
  totalSeconds: number;
  totalMinutes: number;
  clinicians: Array<{
    practitionerId: string;
    credential: string;
    npi?: string;
    seconds: number;
    minutes: number;
  }>;
  renderingPractitionerId: string;
  renderingNpi?: string;
  serviceDate: string;
  diagnosisCodes: string[];
  procedureCode?: string;
  /** R23: an add-on code's count; 1 otherwise. */
  units: number;
  chargeCents?: number;
  applicable: Set<Reason>;
  bundledVisit?: { visitId: string; minutes: number };
  priorVisitId?: string;
  evidence: {
    inquiries: string[];
    counted: string[];
    uncounted: string[];
    visits: string[];
    consents: string[];
    attestations: string[];
    enrollments?: string[];
    consults?: string[];
  };
}

/** What every family after the e-visits reads besides its own facts. */
export interface FamilyContext {
  patientId: string;
  config: TenantConfig;
  /** Visits that took place (R10), in time order. */
  visits: readonly Visit[];
  consents: readonly Consent[];
  /** R19: the attestations in force about an episode, by the id the engine gives it. */
  attestedFor(family: Family, key: readonly (string | number)[]): EpisodeAttestations | undefined;
}

/** At most 12 diagnosis codes on a line (DOMAIN "Claim line"), in order of first appearance. */
export const MAX_LINE_DIAGNOSES = 12;

/** Codes in order of first appearance, upper-cased, without repeats. */
export const distinctCodes = (...lists: ReadonlyArray<readonly string[]>): string[] => [
  ...new Set(lists.flat().map((code) => code.toUpperCase())),
];
