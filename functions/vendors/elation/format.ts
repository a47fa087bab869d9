import { createPublicKey, verify } from "node:crypto";
import * as z from "zod";
import { ConfigurationError } from "../../domain/errors.js";
import { type FactInput, factSchema, type VisitStatus } from "../../domain/facts.js";
import { attestedSeconds } from "../attested-time.js";
import { groupKeyOf, parseEnvelope, readJsonBody } from "../envelope.js";
import { ResourceGoneError, UnauthorizedDeliveryError, UnmappableDeliveryError } from "../errors.js";
import type { MappedDelivery, ResourceFetcher, VendorFormat } from "../format.js";
import { ignore, skip } from "../mapped.js";
import { consentOfReport, elationInstant, readPatientChart } from "./chart.js";

/**
 * Elation event subscriptions: the full resource in `data`, signed with Ed25519 over the raw body.
 *
 * Conventions portaltime chose where Elation documents nothing:
 * - Author: a thread message's `sender` is a practice user (physician or office staff) and maps to clinician
 *   activity, whose time the tenant roster then counts or not (R4); a message without a sender was written by
 *   the patient in Passport and is an inquiry. Letters are practice-authored: their signer is the author.
 * - Time spent: the message or letter body attests it on a line of its own, `Time spent: <n> min` (also
 *   `Total time spent: <n> minutes`; decimals allowed; the last such line wins). Without one: zero minutes,
 *   kept for audit, as a FHIR Communication without the time-spent extension.
 * - Threads (R1): Elation threads are flat, so every message replies to its thread's first message (earliest
 *   `send_date`). A lone `thread_messages` event fetches `message_threads/<thread>` to learn that message;
 *   a `message_threads` event carries all of them. Both give a message the same fact id.
 * - Order: a fact's version is its event's time, the millisecond timestamp of the UUIDv7 `event_uuid` (else
 *   `event_id`), so the latest event about a resource wins (R10: the latest status).
 * - Datetimes without an offset (`send_date`) are UTC. An appointment without a status is Scheduled.
 *
 * Thin events: a large resource comes as `resource_url` with `data` null or empty, fetched in the apply function
 * (https://help.elationhealth.com/articles/rest/event-subscription-api/event-subscriptions/the-published-event-object),
 * and a thread may list its `messages` by id only (https://docs.elationhealth.com/reference/the-message-thread-object):
 * they are fetched as the thread's messages, `GET /thread_messages/?thread=<id>`.
 *
 * Diagnoses and consent: Elation's messages carry neither, so every message is mapped with what the patient's chart
 * says on its date (elation/chart.ts): the problem list's ICD-10-CM codes, and consent documents as consent facts.
 * A `reports` event for a consent document is a consent fact too (its deletion retracts it).
 */

const elationId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String);

const envelopeSchema = z
  .object({
    data: z.record(z.string(), z.unknown()).nullable(),
    action: z.enum(["saved", "deleted"]),
    event_id: z.number().int().nonnegative().optional(),
    event_uuid: z.uuid().optional(),
    resource: z.string().min(1).max(64),
    resource_url: z
      .url({ protocol: /^https?$/ })
      .max(2048)
      .nullish(),
    application_id: z.union([z.number().int(), z.string()]).optional(),
  })
  .refine((envelope) => envelope.event_uuid !== undefined || envelope.event_id !== undefined, {
    path: ["event_uuid"],
    message: "event_uuid or event_id is required",
  })
  .refine((envelope) => !isThin(envelope) || Boolean(envelope.resource_url), {
    path: ["data"],
    message: "data or resource_url is required",
  });
type Envelope = z.infer<typeof envelopeSchema>;

/** Just enough of any resource to group its deliveries by patient. */
const groupingFields = z.object({
  id: elationId.optional().catch(undefined),
  patient: elationId.nullish().catch(undefined),
});

const appointmentSchema = z.object({
  id: elationId,
  patient: elationId.nullable(),
  physician: elationId.nullish(),
  scheduled_date: elationInstant,
  mode: z.enum(["IN_PERSON", "VIDEO"]),
  status: z.object({ status: z.string() }).nullish(),
  deleted_date: z.string().nullish(),
});

/** An event whose resource is not in `data`: it is fetched from `resource_url`. */
const isThin = (envelope: { data: Record<string, unknown> | null }): boolean =>
  envelope.data === null || Object.keys(envelope.data).length === 0;

const threadMessageSchema = z.object({
  id: elationId,
  thread: elationId.optional(),
  patient: elationId.optional(),
  sender: elationId.nullish(),
  send_date: elationInstant,
  body: z.string().nullish(),
});
type ThreadMessage = z.infer<typeof threadMessageSchema>;

/** A thread as Elation sends it: its messages, or only their ids. */
const messageThreadSchema = z.object({
  id: elationId,
  patient: elationId,
  messages: z.array(z.union([threadMessageSchema, elationId])),
  deleted_date: z.string().nullish(),
});
type ListedThread = z.infer<typeof messageThreadSchema>;
type MessageThread = Omit<ListedThread, "messages"> & { messages: ThreadMessage[] };

/** `GET /thread_messages/?thread=<id>`, as the fetcher returns it. */
const threadMessagesSchema = z.object({ results: z.array(threadMessageSchema) });

const letterSchema = z.object({
  id: elationId,
  patient: elationId,
  signed_by: elationId.nullish(),
  sign_date: elationInstant.nullish(),
  body: z.string().nullish(),
  deleted_date: z.string().nullish(),
});

/** Elation's `status.status` values (R10 decides which took place). */
const visitStatusByElationStatus = new Map<string, VisitStatus>([
  ["Scheduled", "scheduled"],
  ["Confirmed", "scheduled"],
  ["Checked In", "arrived"],
  ["In Room", "in-progress"],
  ["In Room - Vitals Taken", "in-progress"],
  ["With Doctor", "in-progress"],
  ["Checked Out", "checked-out"],
  ["Billed", "finished"],
  ["Cancelled", "cancelled"],
  ["Not Seen", "no-show"],
]);

/** What every fact from one event shares. */
interface EventContext {
  dedupeKey: string;
  version: number;
  deleted: boolean;
}

export const elation: VendorFormat = {
  name: "elation",
  contentTypes: ["application/json"],
  acceptedStatus: 200,

  authenticate(request, secrets) {
    const header = request.headers["el8-ed25519-signature"];
    if (!header) throw new UnauthorizedDeliveryError("missing-signature");
    const signature = Buffer.from(header, "base64");
    const signedBy = (secret: string) =>
      signature.length === 64 && verify(null, request.body, signingKey(secret), signature);
    if (!secrets.some(signedBy)) throw new UnauthorizedDeliveryError("bad-signature");
  },

  accept(request) {
    const envelope = parseEnvelope(envelopeSchema, readJsonBody(request.body));
    const { id, patient } = groupingFields.parse(envelope.data ?? {});
    // A thin event names its resource only by URL: its deliveries are grouped by it.
    const resource = id === undefined && envelope.resource_url ? envelope.resource_url : id;
    return {
      format: "elation",
      kind: "event",
      dedupeKey: envelope.event_uuid ?? String(envelope.event_id),
      groupKey: groupKeyOf(patient ?? `elation:${envelope.resource}/${resource ?? ""}`),
      payload: envelope,
    };
  },

  async toFacts(delivery, fetchResource) {
    const parsed = envelopeSchema.safeParse(delivery.payload);
    if (!parsed.success)
      throw new UnmappableDeliveryError(`payload fails the Elation envelope at ${pathOf(parsed.error)}`);
    const envelope = parsed.data;
    const event: EventContext = {
      dedupeKey: delivery.dedupeKey,
      version: eventVersion(envelope),
      deleted: envelope.action === "deleted",
    };
    const data = await resourceOf(envelope, fetchResource);
    if (data === undefined)
      return skip(`elation:${envelope.resource}`, "resource_url names a resource that is gone");
    switch (envelope.resource) {
      case "appointments":
        return mapAppointment(data, event);
      case "thread_messages":
        return withChart(await mapThreadMessage(data, event, fetchResource), event, fetchResource);
      case "message_threads":
        return withChart(await mapMessageThread(data, event, fetchResource), event, fetchResource);
      case "letters":
        return withChart(mapLetter(data, event), event, fetchResource);
      case "reports":
        return mapReport(data, event);
      default:
        return ignore(`elation:${envelope.resource}`, "unmapped-type");
    }
  },
};

/** The event's resource: `data`, or for a thin event what its `resource_url` answers (undefined: gone). */
async function resourceOf(envelope: Envelope, fetchResource: ResourceFetcher): Promise<unknown> {
  if (!isThin(envelope)) return envelope.data;
  try {
    return await fetchResource(envelope.resource_url as string);
  } catch (error) {
    if (error instanceof ResourceGoneError) return undefined;
    throw error;
  }
}

/**
 * R8, R11: each message (not a deletion) carries its patient's problem-list diagnoses on its date, and the
 * patient's consent documents come with it. A list Elation answers with the wrong shape is reported in `skipped`;
 * the messages still apply, and their episodes show what is missing (`diagnosis-missing`, `consent-missing`).
 */
async function withChart(
  messages: MappedDelivery,
  event: EventContext,
  fetchResource: ResourceFetcher,
): Promise<MappedDelivery> {
  const live = messages.facts.filter((fact) => !fact.retracted);
  const patients = [...new Set(live.map((fact) => fact.patientId))];
  if (patients.length === 0) return messages;
  const charts = new Map(
    await Promise.all(
      patients.map(
        async (patient) => [patient, await readPatientChart(patient, event, fetchResource)] as const,
      ),
    ),
  );
  const facts = messages.facts.map((fact) => {
    const chart = charts.get(fact.patientId);
    if (chart === undefined || fact.retracted) return fact;
    if (fact.kind !== "inquiry" && fact.kind !== "clinician-activity") return fact;
    return { ...fact, diagnosisCodes: chart.diagnosesAt(fact.at) };
  });
  const result: MappedDelivery = { ...messages, facts, skipped: [...messages.skipped] };
  for (const chart of charts.values()) {
    result.skipped.push(...chart.skipped);
    for (const consent of chart.consents) {
      const one = mapped(String(consent.id), consent);
      result.facts.push(...one.facts);
      result.skipped.push(...one.skipped);
    }
  }
  return result;
}

function mapReport(data: unknown, event: EventContext): MappedDelivery {
  const reference = referenceOf("reports", data);
  const consent = consentOfReport(data, event);
  if (consent === undefined) return skip(reference, "report is not a consent document");
  return mapped(reference, consent);
}

function mapAppointment(data: unknown, event: EventContext): MappedDelivery {
  const reference = referenceOf("appointments", data);
  const parsed = appointmentSchema.safeParse(data);
  if (!parsed.success) return skip(reference, `appointment fails its schema at ${pathOf(parsed.error)}`);
  const appointment = parsed.data;
  if (appointment.patient === null) return ignore(reference, "no-patient");
  const retracted = event.deleted || Boolean(appointment.deleted_date);
  const elationStatus = appointment.status?.status ?? "Scheduled";
  const status =
    visitStatusByElationStatus.get(elationStatus) ?? (retracted ? "entered-in-error" : undefined);
  if (status === undefined) return ignore(reference, "unknown-status");
  return mapped(reference, {
    kind: "visit",
    id: reference,
    version: event.version,
    dedupeKey: event.dedupeKey,
    patientId: appointment.patient,
    retracted,
    at: appointment.scheduled_date,
    status,
    modality: appointment.mode === "VIDEO" ? "virtual" : "in-person",
    source: "appointment",
    practitionerId: appointment.physician ?? undefined,
  });
}

async function mapThreadMessage(
  data: unknown,
  event: EventContext,
  fetchResource: ResourceFetcher,
): Promise<MappedDelivery> {
  const reference = referenceOf("thread_messages", data);
  const parsed = threadMessageSchema.required({ thread: true }).safeParse(data);
  if (!parsed.success) return skip(reference, `thread message fails its schema at ${pathOf(parsed.error)}`);
  const message = parsed.data;
  if (event.deleted) {
    // A deleted message that names no patient is retracted by its id, wherever it lives (R16).
    if (message.patient === undefined)
      return { facts: [], retractions: [{ factId: reference, version: event.version }], skipped: [] };
    return mapped(reference, messageFact(message, { patient: message.patient, opener: undefined }, event));
  }
  const listed = messageThreadSchema.safeParse(await fetchResource(`message_threads/${message.thread}`));
  if (!listed.success) return skip(reference, `its thread fails its schema at ${pathOf(listed.error)}`);
  const thread = await withMessages(listed.data, fetchResource);
  if (typeof thread === "string") return skip(reference, thread);
  return mapped(reference, messageFact(message, threadContext(thread), event));
}

async function mapMessageThread(
  data: unknown,
  event: EventContext,
  fetchResource: ResourceFetcher,
): Promise<MappedDelivery> {
  const reference = referenceOf("message_threads", data);
  const parsed = messageThreadSchema.safeParse(data);
  if (!parsed.success) return skip(reference, `message thread fails its schema at ${pathOf(parsed.error)}`);
  const thread = await withMessages(parsed.data, fetchResource);
  if (typeof thread === "string") return skip(reference, thread);
  if (thread.messages.length === 0) return ignore(reference, "empty");
  const context = threadContext(thread);
  const threadEvent = { ...event, deleted: event.deleted || Boolean(thread.deleted_date) };
  const result: MappedDelivery = { facts: [], skipped: [] };
  for (const message of thread.messages) {
    const one = mapped(`elation:thread_messages/${message.id}`, messageFact(message, context, threadEvent));
    result.facts.push(...one.facts);
    result.skipped.push(...one.skipped);
  }
  return result;
}

function mapLetter(data: unknown, event: EventContext): MappedDelivery {
  const reference = referenceOf("letters", data);
  const parsed = letterSchema.safeParse(data);
  if (!parsed.success) return skip(reference, `letter fails its schema at ${pathOf(parsed.error)}`);
  const letter = parsed.data;
  // An unsigned letter has no author or time to credit yet.
  if (!letter.signed_by || !letter.sign_date) return ignore(reference, "no-time");
  return mapped(reference, {
    kind: "clinician-activity",
    id: reference,
    version: event.version,
    dedupeKey: event.dedupeKey,
    patientId: letter.patient,
    retracted: event.deleted || Boolean(letter.deleted_date),
    messageId: reference,
    at: letter.sign_date,
    practitionerId: letter.signed_by,
    seconds: attestedSeconds(letter.body),
  });
}

/**
 * The thread with its messages: as listed when Elation embedded them, else its messages fetched as
 * `GET /thread_messages/?thread=<id>` (one request, not one per id). A string says why they cannot be had.
 */
async function withMessages(
  thread: ListedThread,
  fetchResource: ResourceFetcher,
): Promise<MessageThread | string> {
  const embedded = thread.messages.filter((message) => typeof message !== "string");
  if (embedded.length === thread.messages.length) return { ...thread, messages: embedded };
  const fetched = threadMessagesSchema.safeParse(await fetchResource(`thread_messages?thread=${thread.id}`));
  if (!fetched.success) return `its thread's messages fail their schema at ${pathOf(fetched.error)}`;
  return { ...thread, messages: fetched.data.results };
}

/** The thread's patient and first message (R1: every later message replies to it). */
interface ThreadContext {
  patient: string;
  opener: string | undefined;
}

function threadContext(thread: MessageThread): ThreadContext {
  const [opener] = [...thread.messages].sort(
    (a, b) =>
      Date.parse(a.send_date) - Date.parse(b.send_date) ||
      a.id.length - b.id.length ||
      (a.id < b.id ? -1 : 1),
  );
  return { patient: thread.patient, opener: opener?.id };
}

function messageFact(message: ThreadMessage, thread: ThreadContext, event: EventContext): FactInput {
  const id = `elation:thread_messages/${message.id}`;
  const common = {
    id,
    version: event.version,
    dedupeKey: event.dedupeKey,
    patientId: message.patient ?? thread.patient,
    retracted: event.deleted,
    messageId: id,
    inResponseTo:
      thread.opener === undefined || thread.opener === message.id
        ? undefined
        : `elation:thread_messages/${thread.opener}`,
    at: message.send_date,
  };
  if (message.sender === null || message.sender === undefined) {
    return { ...common, kind: "inquiry", author: "patient" };
  }
  return {
    ...common,
    kind: "clinician-activity",
    practitionerId: message.sender,
    seconds: attestedSeconds(message.body),
  };
}

/** A UUIDv7 starts with its creation time (48 bits of milliseconds); else the sequential `event_id`. */
function eventVersion(envelope: Envelope): number {
  if (envelope.event_uuid?.[14] === "7")
    return Number.parseInt(envelope.event_uuid.replaceAll("-", "").slice(0, 12), 16);
  return envelope.event_id ?? 0;
}

function mapped(reference: string, fact: FactInput): MappedDelivery {
  const result = factSchema.safeParse(fact);
  if (!result.success) return skip(reference, `mapped fact is invalid at ${pathOf(result.error)}`);
  return { facts: [result.data], skipped: [] };
}

function referenceOf(resource: string, data: unknown): string {
  const { id } = groupingFields.parse(data);
  return `elation:${resource}/${id ?? "unknown"}`;
}

/** The subscription's `signing_pub_key`: 32 raw bytes, wrapped as SPKI DER for node:crypto. */
function signingKey(secret: string) {
  const raw = Buffer.from(secret, "base64");
  if (raw.length !== 32)
    throw new ConfigurationError("elation signing_pub_key", "expected 32 base64-encoded bytes");
  return createPublicKey({ key: Buffer.concat([ed25519SpkiPrefix, raw]), format: "der", type: "spki" });
}

const ed25519SpkiPrefix = Buffer.from("302a300506032b6570032100", "hex");

/** The dotted path of the first failing field, for skip reasons (never a value). */
const pathOf = (error: z.ZodError): string => error.issues[0]?.path.join(".") || "(root)";
