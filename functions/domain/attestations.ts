import { compareStrings } from "./episodes.js";
import type { Attestation, Fact } from "./facts.js";
import { toMillis } from "./time.js";

/**
 * R19: the biller's attestations in force for one patient. R17: among attestations of the same action about the
 * same thing, the latest attested wins (same instant: the greater id), whatever order they arrived in. "The same
 * thing" is the episode, except that a relatedness decision is about one visit of the episode and a clinician
 * mapping is about one activity (it may lie in no episode yet). Superseded ones decide nothing, but stay facts,
 * so the audit keeps every one.
 */

/** R4, R18: who a biller says authored an activity the roster could not attribute. */
export interface ClinicianMapping {
  attestationId: string;
  practitionerId: string;
}

/** What the attestations in force say about one episode. */
export interface EpisodeAttestations {
  /** R11: a consent on this practice-local date. */
  consent?: { attestationId: string; consentDate: string };
  /** Problem codes for the episode, after those the messages carry. */
  diagnoses?: { attestationId: string; diagnosisCodes: readonly string[] };
  /** R8 (and R9 under `same-problem`): relatedness decided per visit id. */
  relatedness: Map<string, { attestationId: string; related: boolean }>;
  doNotBill?: { attestationId: string };
}

export interface AttestationsInForce {
  /** By activity fact id. */
  mappings: ReadonlyMap<string, ClinicianMapping>;
  /** By episode id. */
  episodes: ReadonlyMap<string, EpisodeAttestations>;
}

const later = (a: Attestation, b: Attestation): boolean =>
  toMillis(a.at) > toMillis(b.at) || (toMillis(a.at) === toMillis(b.at) && compareStrings(a.id, b.id) > 0);

/** The attestations in force among one patient's current, unretracted facts. */
export function attestationsInForce(facts: readonly Fact[]): AttestationsInForce {
  const latest = new Map<string, Attestation>();
  const keep = (key: string, attestation: Attestation) => {
    const held = latest.get(key);
    if (held === undefined || later(attestation, held)) latest.set(key, attestation);
  };
  for (const fact of facts) {
    if (fact.kind !== "attestation") continue;
    const { resolution } = fact;
    if (resolution.action === "map-clinician") {
      for (const activityId of resolution.activityIds) keep(JSON.stringify(["map", activityId]), fact);
    } else if (resolution.action === "decide-relatedness") {
      keep(JSON.stringify([fact.episodeId, resolution.action, resolution.priorVisitId]), fact);
    } else keep(JSON.stringify([fact.episodeId, resolution.action]), fact);
  }

  const mappings = new Map<string, ClinicianMapping>();
  const episodes = new Map<string, EpisodeAttestations>();
  const ofEpisode = (episodeId: string): EpisodeAttestations => {
    const held = episodes.get(episodeId) ?? { relatedness: new Map() };
    episodes.set(episodeId, held);
    return held;
  };
  for (const [key, attestation] of latest) {
    const { resolution, id: attestationId } = attestation;
    const episodeId = attestation.episodeId as string;
    switch (resolution.action) {
      case "map-clinician": {
        const [, activityId] = JSON.parse(key) as [string, string];
        mappings.set(activityId, { attestationId, practitionerId: resolution.practitionerId });
        break;
      }
      case "record-consent":
        ofEpisode(episodeId).consent = { attestationId, consentDate: resolution.consentDate };
        break;
      case "supply-diagnoses":
        ofEpisode(episodeId).diagnoses = { attestationId, diagnosisCodes: resolution.diagnosisCodes };
        break;
      case "decide-relatedness":
        ofEpisode(episodeId).relatedness.set(resolution.priorVisitId, {
          attestationId,
          related: resolution.related,
        });
        break;
      case "do-not-bill":
        ofEpisode(episodeId).doNotBill = { attestationId };
        break;
    }
  }
  return { mappings, episodes };
}
