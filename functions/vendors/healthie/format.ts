import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import * as z from "zod";
import {
  type Credential,
  credential,
  type FactInput,
  factSchema,
  type VisitStatus,
} from "../../domain/facts.js";
import { attestedSeconds } from "../attested-time.js";
import { groupKeyOf, parseEnvelope, readJsonBody, sha256Hex } from "../envelope.js";
import { UnauthorizedDeliveryError, UnmappableDeliveryError } from "../errors.js";
import type { InboundRequest, MappedDelivery, VendorFormat } from "../format.js";
import { ignore, skip } from "../mapped.js";
import { healthieId, healthieInstant, withClientChart } from "./chart.js";

/**
 * Healthie webhooks: a thin body naming a resource, fetched in the apply Lambda through `fetchResource`.
 *
 * Authentication, as Healthie's published verifier computes it (docs.gethealthie.com/guides/webhooks, "Signed
 * payloads", `verify-signature.js`): HMAC-SHA256 over
 * `"<method lowercase> <path> <query> <digest> application/json <length>"`, where `<digest>` is the value of
 * `Content-Digest` after its `=` (the sample's `split('=')[1]`) and `<length>` the byte length of the body as
 * received: never the `Content-Length` header, which API Gateway REST APIs do not pass for binary media types.
 * The signature is the value after `sig1=` in `Signature`: hex as the sample compares it, or base64 (also as
 * HTTP Message Signatures write it, `sig1=:<base64>:`). The string covers the body only through the digest, so
 * the digest is checked against the raw body too: otherwise a replayed set of headers would vouch for any body
 * of the same length.
 *
 * What `fetchResource` returns: portaltime's projection of Healthie's GraphQL types, built by the fetcher.
 * - `message/<id>`: the Note's `id`, `created_at`, `updated_at`, `content`,
 *   `creator { id is_patient qualifications npi }`, plus `conversation { patient_id first_note_id }`: the
 *   conversation's client, and its first note, which every later note replies to (R1: conversations are
 *   flat).
 * - `appointment/<id>`: `id`, `date`, `updated_at`, `pm_status`, `contact_type`, `user { id }` (the client;
 *   none for group appointments and blocks), `provider { id qualifications npi }`.
 * - `scheduled_message/<id>` (`scheduled_message.sent` names a NoteScheduler): its `id`, `invitees_count`, and
 *   `note`, the message it sent, in the projection of `message/<id>`. The fact is that message's, under the
 *   message's id, so a later `message.deleted` retracts it.
 *
 * Diagnoses and consent: Healthie's messages carry neither, so every message is mapped with what the client's
 * chart says on its date (healthie/chart.ts, fetched as `client_chart/<user id>`): the client's diagnoses'
 * ICD-10-CM codes, and the consent forms the deployment names as consent facts.
 *
 * Conventions portaltime chose where Healthie documents nothing:
 * - Time spent: Elation's convention, a line of its own in the note, `Time spent: <n> min`. Without one: zero
 *   minutes, kept for audit.
 * - Qualification (R4 fallback): the first token of the provider's free-text `qualifications` that is a known
 *   credential ("M.D., FACP" is MD).
 * - Order: a fact's version is the resource's `updated_at` in epoch milliseconds. A deletion is final in
 *   Healthie, so it carries the highest version.
 * - Modality: `contact_type` "In Person" is in person; every other contact type (video, phone, chat) is
 *   virtual. An appointment without a `pm_status` is scheduled; an unknown one is skipped, never guessed
 *   (R10).
 */

const envelopeSchema = z.object({
  resource_id: healthieId,
  resource_id_type: z.string().min(1).max(64),
  event_type: z.string().regex(/^[a-z_]+\.[a-z_]+$/, "expected <resource>.<event>"),
  changed_fields: z.array(z.string()).nullish(),
});
type Envelope = z.infer<typeof envelopeSchema>;

const providerSchema = z.object({
  id: healthieId,
  qualifications: z.string().nullish(),
  npi: z.string().nullish(),
});

const noteSchema = z.object({
  id: healthieId,
  created_at: healthieInstant,
  updated_at: healthieInstant,
  content: z.string().nullish(),
  creator: providerSchema.extend({ is_patient: z.boolean() }),
  conversation: z.object({ patient_id: healthieId, first_note_id: healthieId }),
});

type Note = z.infer<typeof noteSchema>;

const scheduledMessageSchema = z.object({
  id: healthieId,
  invitees_count: z.number().int().nonnegative().nullish(),
  note: noteSchema.nullish(),
});

const appointmentSchema = z.object({
  id: healthieId,
  date: healthieInstant,
  updated_at: healthieInstant,
  pm_status: z.string().nullish(),
  contact_type: z.string().nullish(),
  user: z.object({ id: healthieId }).nullish(),
  provider: providerSchema.nullish(),
});

/**
 * Healthie's appointment statuses, with "Late Cancellation" and "Checked-In" where a practice enables them (R10
 * decides which took place: a checked-in client arrived, a late cancellation did not happen); none set means
 * booked.
 */
const visitStatusByPmStatus = new Map<string, VisitStatus>([
  ["", "scheduled"],
  ["Checked-In", "arrived"],
  ["Occurred", "finished"],
  ["No-Show", "no-show"],
  ["No Show", "no-show"],
  ["Cancelled", "cancelled"],
  ["Late Cancellation", "cancelled"],
  ["Re-Scheduled", "cancelled"],
]);

export const healthie: VendorFormat = {
  name: "healthie",
  contentTypes: ["application/json"],
  acceptedStatus: 202,

  authenticate(request, secrets) {
    const { signature, "content-digest": contentDigest } = request.headers;
    if (!signature) throw new UnauthorizedDeliveryError("missing-signature", "signature");
    if (!contentDigest) throw new UnauthorizedDeliveryError("missing-signature", "content-digest");
    if (!digestMatches(contentDigest, request.body))
      throw new UnauthorizedDeliveryError("bad-signature", "content-digest");
    const offered = signatureBytes(signature);
    if (offered === undefined) throw new UnauthorizedDeliveryError("bad-signature", "signature");
    const candidates = signedStrings(request, contentDigest);
    // Every secret and reading is tried, so the time taken does not say which one matched.
    const matches = secrets.flatMap((secret) =>
      candidates.map((signed) => {
        const expected = createHmac("sha256", secret).update(signed).digest();
        return offered.length === expected.length && timingSafeEqual(offered, expected);
      }),
    );
    if (!matches.includes(true)) throw new UnauthorizedDeliveryError("bad-signature", "signature");
  },

  accept(request) {
    const envelope = parseEnvelope(envelopeSchema, readJsonBody(request.body));
    return {
      format: "healthie",
      kind: "event",
      // No event id: a retry repeats the exact body.
      dedupeKey: sha256Hex(request.body),
      groupKey: groupKeyOf(factIdOf(envelope)),
      payload: envelope,
    };
  },

  async toFacts(delivery, fetchResource) {
    const parsed = envelopeSchema.safeParse(delivery.payload);
    if (!parsed.success)
      throw new UnmappableDeliveryError(`payload fails the Healthie envelope at ${pathOf(parsed.error)}`);
    const envelope = parsed.data;
    const reference = referenceOf(envelope);
    const factId = factIdOf(envelope);
    switch (envelope.event_type) {
      case "message.created":
        return withClientChart(
          mapMessage(envelope, await fetchResource(reference), delivery.dedupeKey),
          delivery.dedupeKey,
          fetchResource,
        );
      case "scheduled_message.sent":
        return withClientChart(
          mapScheduledMessage(envelope, await fetchResource(reference), delivery.dedupeKey),
          delivery.dedupeKey,
          fetchResource,
        );
      case "appointment.created":
      case "appointment.updated":
        return mapAppointment(envelope, await fetchResource(reference), delivery.dedupeKey);
      case "message.deleted":
      case "appointment.deleted":
      // A deleted consent form retracts its consent (healthie/chart.ts); any other form is no fact of ours.
      case "form_answer_group.deleted":
        // Healthie's delete names only the resource: the fact held under its id is retracted (R16).
        return { facts: [], retractions: [{ factId }], skipped: [] };
      default:
        return ignore(factId, "unmapped-type");
    }
  },
};

function mapMessage(envelope: Envelope, resource: unknown, dedupeKey: string): MappedDelivery {
  const factId = factIdOf(envelope);
  const parsed = noteSchema.safeParse(resource);
  if (!parsed.success) return skip(factId, `fetched message fails its schema at ${pathOf(parsed.error)}`);
  if (parsed.data.id !== envelope.resource_id)
    return skip(factId, "fetched message is not the one the event names");
  return mapNote(parsed.data, dedupeKey);
}

function mapScheduledMessage(envelope: Envelope, resource: unknown, dedupeKey: string): MappedDelivery {
  const reference = factIdOf(envelope);
  const parsed = scheduledMessageSchema.safeParse(resource);
  if (!parsed.success)
    return skip(reference, `fetched scheduled message fails its schema at ${pathOf(parsed.error)}`);
  const scheduled = parsed.data;
  if (scheduled.id !== envelope.resource_id)
    return skip(reference, "fetched scheduled message is not the one the event names");
  // A blast goes to several clients at once: its time belongs to no one patient.
  if ((scheduled.invitees_count ?? 0) > 1) return ignore(reference, "no-patient");
  if (!scheduled.note) return ignore(reference, "empty");
  return mapNote(scheduled.note, dedupeKey);
}

/** A message, under its own id whichever event brought it. */
function mapNote(note: Note, dedupeKey: string): MappedDelivery {
  const factId = `healthie:message/${note.id}`;
  const common = {
    id: factId,
    version: Date.parse(note.updated_at),
    dedupeKey,
    messageId: factId,
    inResponseTo:
      note.conversation.first_note_id === note.id
        ? undefined
        : `healthie:message/${note.conversation.first_note_id}`,
    at: note.created_at,
  };
  if (note.creator.is_patient) {
    return mapped(factId, { ...common, kind: "inquiry", patientId: note.creator.id, author: "patient" });
  }
  return mapped(factId, {
    ...common,
    kind: "clinician-activity",
    patientId: note.conversation.patient_id,
    practitionerId: note.creator.id,
    qualification: qualificationOf(note.creator.qualifications),
    npi: note.creator.npi || undefined,
    seconds: attestedSeconds(note.content),
  });
}

function mapAppointment(envelope: Envelope, resource: unknown, dedupeKey: string): MappedDelivery {
  const factId = factIdOf(envelope);
  const parsed = appointmentSchema.safeParse(resource);
  if (!parsed.success) return skip(factId, `fetched appointment fails its schema at ${pathOf(parsed.error)}`);
  const appointment = parsed.data;
  if (appointment.id !== envelope.resource_id)
    return skip(factId, "fetched appointment is not the one the event names");
  // A group appointment or a block has no single client.
  if (!appointment.user) return ignore(factId, "no-patient");
  const status = visitStatusByPmStatus.get(appointment.pm_status ?? "");
  if (status === undefined) return ignore(factId, "unknown-status");
  return mapped(factId, {
    kind: "visit",
    id: factId,
    version: Date.parse(appointment.updated_at),
    dedupeKey,
    patientId: appointment.user.id,
    at: appointment.date,
    status,
    modality: /^in[ -]?person$/i.test(appointment.contact_type ?? "") ? "in-person" : "virtual",
    source: "appointment",
    practitionerId: appointment.provider?.id,
  });
}

/** The convention above: the first token of `qualifications` that is a credential portaltime knows. */
function qualificationOf(qualifications: string | null | undefined): Credential | undefined {
  const tokens = (qualifications ?? "")
    .toUpperCase()
    .replaceAll(".", "")
    .split(/[\s,;/]+/);
  return tokens.map((token) => credential.safeParse(token)).find((result) => result.success)?.data;
}

/** The value after `sig1=`: hex, or base64 (optionally wrapped in colons, RFC 9421). */
function signatureBytes(header: string): Buffer | undefined {
  const value = /(?:^|[\s,])sig1=:?([A-Za-z0-9+/=]+):?(?:$|[\s,;])/.exec(header)?.[1];
  if (value === undefined) return undefined;
  const bytes = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, "hex") : Buffer.from(value, "base64");
  return bytes.length === 32 ? bytes : undefined;
}

/** `Content-Digest: sha-256=<base64>` (or RFC 9530's `sha-256=:<base64>:`; hex tolerated) of the raw body. */
function digestMatches(header: string, body: Buffer): boolean {
  const value = /(?:^|[\s,])sha-256=:?([A-Za-z0-9+/=]+):?(?:$|[\s,;])/i.exec(header)?.[1];
  if (value === undefined) return false;
  const offered = /^[0-9a-f]{64}$/i.test(value) ? Buffer.from(value, "hex") : Buffer.from(value, "base64");
  const actual = createHash("sha256").update(body).digest();
  return offered.length === actual.length && timingSafeEqual(offered, actual);
}

/**
 * The strings Healthie may have signed. The published sample takes `split('=')[1]` of `Content-Digest`, which
 * drops a padded base64 digest's trailing `=` (`sha-256=<43 characters>=`); read as "the value after the `=`",
 * the padding stays. Both readings are tried when they differ; either way the digest matched the body.
 */
function signedStrings(request: InboundRequest, contentDigest: string): string[] {
  const readings = new Set([
    contentDigest.split("=")[1] ?? "",
    contentDigest.slice(contentDigest.indexOf("=") + 1),
  ]);
  return [...readings].map((digest) =>
    [
      request.method.toLowerCase(),
      request.path,
      request.rawQuery,
      digest,
      "application/json",
      String(request.body.byteLength),
    ].join(" "),
  );
}

/** What `fetchResource` is asked for: `message/<id>`, `appointment/<id>`, `scheduled_message/<id>`. */
const referenceOf = (envelope: Envelope): string =>
  `${envelope.event_type.split(".")[0]}/${envelope.resource_id}`;

const factIdOf = (envelope: Envelope): string => `healthie:${referenceOf(envelope)}`;

function mapped(reference: string, fact: FactInput): MappedDelivery {
  const result = factSchema.safeParse(fact);
  if (!result.success) return skip(reference, `mapped fact is invalid at ${pathOf(result.error)}`);
  return { facts: [result.data], skipped: [] };
}

/** The dotted path of the first failing field, for skip reasons (never a value). */
const pathOf = (error: z.ZodError): string => error.issues[0]?.path.join(".") || "(root)";
