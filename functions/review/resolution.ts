import * as z from "zod";
import {
  type Attestation,
  type AttestedAction,
  attestationSchema,
  decideRelatednessSchema,
  doNotBillSchema,
  mapClinicianSchema,
  recordConsentSchema,
  supplyDiagnosesSchema,
} from "../domain/facts.js";
import { ResolutionConflictError } from "./errors.js";

/**
 * A biller's resolution of a review item, as the review API receives it (issue 15), turned into the attestation
 * fact the engine decides (R19). Pure: the caller gives the attestation's id and the instant it is recorded.
 */

const by = z.string().trim().min(1).max(256);

/**
 * The body of a resolution: one action with its fields, and who resolves. A clinician mapping names only the
 * roster entry: the activity it maps is the item's unknown clinician's time.
 */
export const resolutionRequestSchema = z.discriminatedUnion("action", [
  recordConsentSchema.extend({ by }),
  supplyDiagnosesSchema.extend({ by }),
  decideRelatednessSchema.extend({ by }),
  mapClinicianSchema.omit({ activityIds: true }).extend({ by }),
  doNotBillSchema.extend({ by }),
]);
export type ResolutionRequest = z.infer<typeof resolutionRequestSchema>;

/** What a review item resolves: its patient, its episode (none for unattributed time), its unknown clinician's time. */
export interface ReviewSubject {
  patientId: string;
  episodeId?: string;
  /** Fact ids of the activity by a clinician the roster does not hold (R4): what a mapping maps. */
  unknownActivityIds: readonly string[];
  /**
   * Where what the item is about starts (the episode's window start, the unattributed activity's time): the
   * patient is decided again from there (`concernsFrom` of the attestation).
   */
  startsAt?: string;
}

/** The attestation's identity and when it was attested, given by the caller (an id source and a clock). */
export interface Recording {
  id: string;
  at: string;
}

export function attestationOf(
  request: ResolutionRequest,
  subject: ReviewSubject,
  recording: Recording,
): Attestation {
  const { by: attestedBy, ...action } = request;
  let resolution: AttestedAction;
  if (action.action === "map-clinician") {
    if (subject.unknownActivityIds.length === 0)
      throw new ResolutionConflictError(action.action, "the item holds no unknown clinician's time");
    resolution = { ...action, activityIds: [...subject.unknownActivityIds] };
  } else {
    if (subject.episodeId === undefined)
      throw new ResolutionConflictError(action.action, "the item is not an episode");
    resolution = action;
  }
  return attestationSchema.parse({
    kind: "attestation",
    id: recording.id,
    version: 0,
    dedupeKey: `review:${recording.id}`,
    patientId: subject.patientId,
    at: recording.at,
    by: attestedBy,
    episodeId: subject.episodeId,
    concernsFrom: subject.startsAt,
    resolution,
  });
}
