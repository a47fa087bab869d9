import * as z from "zod";
import { ResourceFetchError, ResourceGoneError, UnmappableDeliveryError } from "../errors.js";
import type { ResourceFetcher } from "../format.js";
import {
  createVendorApi,
  keyAuthorization,
  parseApiUrl,
  parseJson,
  type RetryOptions,
} from "../http/api-client.js";
import { type Credential, fixedCredential, readCredential, type SecretReader } from "../http/credential.js";
import type { healthieApi } from "./api.js";

/**
 * Fetches what healthie/format.ts asks for (`message/<id>`, `appointment/<id>`, `scheduled_message/<id>`,
 * `client_chart/<user id>`) from
 * Healthie's GraphQL API
 * (`POST https://api.gethealthie.com/graphql`, staging `https://staging-api.gethealthie.com/graphql`), with the
 * headers `Authorization: Basic <api key>` and `AuthorizationSource: API` (and `AuthorizationShard` for
 * sharded accounts). It returns exactly the projection healthie/format.ts parses, built from Healthie's types:
 *
 * `message/<id>`: two requests, the Note then its Conversation.
 * - `id`, `created_at`, `updated_at`, `content`: the Note's fields of those names (`note(id:)`).
 * - `creator { id is_patient qualifications npi }`: the Note's `creator`, a User with those fields.
 * - `conversation.patient_id`: not Healthie's `Conversation.patient_id`, which Healthie sets only on
 *   conversations it created on a provider assignment and tells integrators to replace with `invitees`. It is
 *   the note's creator when the creator is a patient; otherwise the one user with `is_patient` among the
 *   conversation's `owner` and `invitees` (Healthie's `patient_id` only when neither names any patient). A
 *   provider's note in a conversation with no or several clients cannot be credited to a patient: refused as
 *   unmappable.
 * - `conversation.first_note_id`: Healthie has no such field. It is the first node of
 *   `notes(conversation_id:, order_by: CREATED_AT_ASC, first: 1)`, the conversation's earliest note.
 *
 * `appointment/<id>`: one request, `appointment(id:)`.
 * - `id`, `date`, `updated_at`, `pm_status`, `contact_type`, `provider { id qualifications npi }`: the
 *   Appointment's fields of those names.
 * - `user { id }`: the Appointment's `user` ("the client in a 1:1 appointment"), forced to null for group
 *   appointments (`is_group`) and blocks (`is_blocker`), which credit no single client.
 *
 * `scheduled_message/<id>`: `note_scheduler(id:)`, the NoteScheduler `scheduled_message.sent` names.
 * - `id`, `invitees_count`: its fields of those names.
 * - `note`: the message it sent, fetched as `message/<id>` above (two more requests); null when it names none,
 *   and for a blast to several clients (`invitees_count` over 1), which credits no single patient.
 *
 * `client_chart/<user id>` (healthie/chart.ts): one request for the client, then one per consent form template.
 * - `id`, `diagnoses`: the User's (`user(id:)`), each Diagnosis with `id active primary first_symptom_date
 *   end_date icd_code { code }`, as Healthie gives them.
 * - `consent_forms`: for each of `consentFormIds`, the client's filled-out forms of that template,
 *   `formAnswerGroups(user_id:, custom_module_form_id:)`, every page (cursor pagination: `first`, `after`,
 *   `page_info { has_next_page end_cursor }`), each FormAnswerGroup with `id user_id created_at updated_at finished
 *   deleted_at`, as Healthie gives them. A list longer than 50 pages is refused, never cut short. None configured:
 *   an empty list (the episodes show `consent-missing`).
 *
 * Requests go through the shared mechanism (http/api-client.ts). Failures: `ResourceGoneError` (404) when
 * Healthie answers 404 or 410, answers a null resource, or reports an error coded or worded "not found"; a 401
 * re-reads the API key and tries once more (a rotated key), a second 401 is a credential failure; transient
 * failures (network, timeout, 408, 429, 5xx, and Healthie's `TOO_MANY_REQUESTS` error) are retried with backoff,
 * then thrown as `ResourceFetchError`; any other GraphQL error, status or unreadable answer is a
 * `ResourceFetchError` at once (SQS retries the message). Neither
 * bodies nor GraphQL error messages reach an error: they may carry PHI.
 */

export interface HealthieFetcherOptions extends RetryOptions {
  /** Healthie's GraphQL endpoint, e.g. `https://api.gethealthie.com/graphql`. */
  apiUrl: string;
  /** The API key: a value, or a credential re-read from its secret when Healthie refuses it. */
  apiKey: string | Credential<string>;
  /** The `AuthorizationShard` header, for accounts on a shard. */
  authorizationShard?: string;
  /** Per request. Default 5 s. */
  timeoutMs?: number;
  /** The form templates (`CustomModuleForm` ids) whose filled-out forms are the practice's consent forms. */
  consentFormIds?: readonly string[];
}

const noteQuery = `query portaltimeNote($id: ID) {
  note(id: $id) {
    id
    created_at
    updated_at
    content
    conversation_id
    creator { id is_patient qualifications npi }
  }
}`;

const conversationQuery = `query portaltimeConversation($conversation_id: ID) {
  conversation(id: $conversation_id) {
    id
    patient_id
    owner { id is_patient }
    invitees { id is_patient }
  }
  notes(conversation_id: $conversation_id, order_by: CREATED_AT_ASC, first: 1) {
    nodes { id }
  }
}`;

const appointmentQuery = `query portaltimeAppointment($id: ID) {
  appointment(id: $id) {
    id
    date
    updated_at
    pm_status
    contact_type
    is_group
    is_blocker
    user { id }
    provider { id qualifications npi }
  }
}`;

const noteSchedulerQuery = `query portaltimeNoteScheduler($id: ID) {
  note_scheduler(id: $id) {
    id
    invitees_count
    note { id }
  }
}`;

const clientChartQuery = `query portaltimeClientChart($id: ID) {
  user(id: $id) {
    id
    diagnoses { id active primary first_symptom_date end_date icd_code { code } }
  }
}`;

const consentFormsQuery = `query portaltimeConsentForms($user_id: ID, $custom_module_form_id: ID, $after: String) {
  formAnswerGroups(user_id: $user_id, custom_module_form_id: $custom_module_form_id, first: 100, after: $after) {
    nodes { id user_id created_at updated_at finished deleted_at }
    page_info { has_next_page end_cursor }
  }
}`;

/** Healthie's `ID`: a string, though some fields (`user_id`) are integers. */
const healthieId = z.union([z.string().min(1), z.number().int()]).transform(String);

const member = z.object({ id: healthieId, is_patient: z.boolean().nullish() });

const noteSchema = z.object({
  id: healthieId,
  created_at: z.string(),
  updated_at: z.string(),
  content: z.string().nullish(),
  conversation_id: healthieId.nullish(),
  creator: z
    .object({
      id: healthieId,
      is_patient: z.boolean().nullish(),
      qualifications: z.string().nullish(),
      npi: z.string().nullish(),
    })
    .nullish(),
});
type Note = z.infer<typeof noteSchema>;

const conversationSchema = z.object({
  id: healthieId,
  patient_id: healthieId.nullish(),
  owner: member.nullish(),
  invitees: z.array(member).nullish(),
});
type Conversation = z.infer<typeof conversationSchema>;

const noteSchedulerSchema = z.object({
  id: healthieId,
  invitees_count: z.number().int().nonnegative().nullish(),
  note: z.object({ id: healthieId }).nullish(),
});

const firstNotesSchema = z.object({ nodes: z.array(z.object({ id: healthieId })).nullish() }).nullish();

const appointmentSchema = z.object({
  id: healthieId,
  date: z.string().nullish(),
  updated_at: z.string().nullish(),
  pm_status: z.string().nullish(),
  contact_type: z.string().nullish(),
  is_group: z.boolean().nullish(),
  is_blocker: z.boolean().nullish(),
  user: z.object({ id: healthieId }).nullish(),
  provider: z
    .object({ id: healthieId, qualifications: z.string().nullish(), npi: z.string().nullish() })
    .nullish(),
});

/** The client with their diagnoses, each as Healthie gives it (healthie/chart.ts reads them). */
const clientSchema = z.object({ id: healthieId, diagnoses: z.array(z.unknown()).nullish() });

/** One page of a `FormAnswerGroupPaginationConnection`: its nodes as Healthie gives them. */
const formPageSchema = z.object({
  nodes: z.array(z.unknown()).nullish(),
  page_info: z.object({ has_next_page: z.boolean(), end_cursor: z.string().nullish() }),
});

/** A client's consent forms longer than this many pages are refused, never cut short. */
const MAX_FORM_PAGES = 50;

/** A GraphQL response (spec §7.1): only `extensions.code` of an error is read, never its message. */
const graphqlResponseSchema = z.object({
  data: z.record(z.string(), z.unknown()).nullish(),
  errors: z
    .array(
      z.looseObject({
        message: z.unknown().optional(),
        extensions: z.looseObject({ code: z.unknown().optional() }).nullish(),
      }),
    )
    .nullish(),
});
type GraphqlError = NonNullable<z.infer<typeof graphqlResponseSchema>["errors"]>[number];

/** `message/<id>`, `appointment/<id>` or `scheduled_message/<id>`, as healthie/format.ts names them. */
const referencePattern = /^(message|appointment|scheduled_message|client_chart)\/([A-Za-z0-9_-]{1,64})$/;

const notFoundCodes = new Set(["NOT_FOUND", "RECORD_NOT_FOUND", "RESOURCE_NOT_FOUND"]);

/** The fetcher the apply function's `hydration.healthie` settings describe, its key read now from its secret. */
export async function fetcherFromSettings(
  settings: z.infer<typeof healthieApi.runtimeSettings>,
  readSecret: SecretReader,
): Promise<ResourceFetcher> {
  return createHealthieFetcher({
    ...settings,
    apiKey: await readCredential(readSecret, settings.apiKeySecretName, String),
  });
}

/** Creates the fetcher healthie/format.ts's `toFacts` is given. */
export function createHealthieFetcher(options: HealthieFetcherOptions): ResourceFetcher {
  const apiUrl = parseApiUrl(options.apiUrl, "Healthie API URL");
  const apiKey = typeof options.apiKey === "string" ? fixedCredential(options.apiKey) : options.apiKey;
  const post = createVendorApi({
    ...options,
    base: apiUrl,
    authorization: keyAuthorization(apiKey, (key) => ({
      authorization: `Basic ${key}`,
      authorizationsource: "API",
      ...(options.authorizationShard === undefined ? {} : { authorizationshard: options.authorizationShard }),
    })),
    accept: "application/json",
  });

  /** A 2xx answer's `data`, or a thrown error. */
  function dataOf(reference: string, text: string): Record<string, unknown> {
    const parsed = graphqlResponseSchema.safeParse(parseJson(text));
    // A 2xx that is not GraphQL (a proxy's page) says nothing about the resource: SQS retries later.
    if (!parsed.success) throw new ResourceFetchError(reference, 200, { transient: false });
    const { data, errors } = parsed.data;
    if (errors && errors.length > 0) {
      if (errors.some((error) => codeOf(error) === "TOO_MANY_REQUESTS"))
        throw new ResourceFetchError(reference, 429);
      if (errors.some(isNotFound)) throw new ResourceGoneError(reference, 404);
      throw new ResourceFetchError(reference, 200);
    }
    if (!data) throw new ResourceFetchError(reference, 200);
    return data;
  }

  const consentFormIds = [...new Set(options.consentFormIds ?? [])];

  const query = (reference: string, document: string, variables: Record<string, string>) =>
    post(apiUrl, reference, (text) => dataOf(reference, text), {
      method: "POST",
      body: JSON.stringify({ query: document, variables }),
      contentType: "application/json",
    });

  async function fetchNote(reference: string, id: string): Promise<unknown> {
    const note = parseField(noteSchema, (await query(reference, noteQuery, { id })).note, reference, "note");
    if (note.conversation_id === null || note.conversation_id === undefined)
      throw new UnmappableDeliveryError("Healthie note belongs to no conversation");
    const data = await query(reference, conversationQuery, { conversation_id: note.conversation_id });
    const conversation = parseField(conversationSchema, data.conversation, reference, "conversation");
    const firstNotes = firstNotesSchema.safeParse(data.notes);
    if (!firstNotes.success)
      throw new UnmappableDeliveryError(`Healthie notes fail their schema at ${pathOf(firstNotes.error)}`);
    return {
      id: note.id,
      created_at: note.created_at,
      updated_at: note.updated_at,
      content: note.content,
      creator: note.creator ?? undefined,
      conversation: {
        patient_id: patientOf(note, conversation),
        // The conversation's earliest note; none listed (yet) leaves this note as its opener.
        first_note_id: firstNotes.data?.nodes?.[0]?.id ?? note.id,
      },
    };
  }

  async function fetchAppointment(reference: string, id: string): Promise<unknown> {
    const data = await query(reference, appointmentQuery, { id });
    const { is_group, is_blocker, user, ...appointment } = parseField(
      appointmentSchema,
      data.appointment,
      reference,
      "appointment",
    );
    return { ...appointment, user: is_group || is_blocker ? null : user };
  }

  async function fetchScheduledMessage(reference: string, id: string): Promise<unknown> {
    const data = await query(reference, noteSchedulerQuery, { id });
    const scheduler = parseField(noteSchedulerSchema, data.note_scheduler, reference, "note_scheduler");
    const { invitees_count } = scheduler;
    const sent = scheduler.note && (invitees_count ?? 0) <= 1 ? scheduler.note : undefined;
    return {
      id: scheduler.id,
      invitees_count,
      note: sent === undefined ? null : await fetchNote(reference, sent.id),
    };
  }

  async function fetchClientChart(reference: string, id: string): Promise<unknown> {
    const data = await query(reference, clientChartQuery, { id });
    const client = parseField(clientSchema, data.user, reference, "user");
    const consentForms: unknown[] = [];
    for (const formId of consentFormIds) {
      let after: string | undefined;
      for (let pages = 0; ; pages += 1) {
        if (pages === MAX_FORM_PAGES)
          throw new UnmappableDeliveryError(
            `Healthie formAnswerGroups is longer than ${MAX_FORM_PAGES} pages`,
          );
        const variables = { user_id: id, custom_module_form_id: formId, ...(after ? { after } : {}) };
        const page = (await query(reference, consentFormsQuery, variables)).formAnswerGroups;
        const parsed = formPageSchema.safeParse(page);
        if (!parsed.success)
          throw new UnmappableDeliveryError(
            `Healthie formAnswerGroups fails its schema at ${pathOf(parsed.error)}`,
          );
        consentForms.push(...(parsed.data.nodes ?? []));
        const { has_next_page, end_cursor } = parsed.data.page_info;
        if (!has_next_page) break;
        if (!end_cursor)
          throw new UnmappableDeliveryError("Healthie formAnswerGroups has a next page but no cursor");
        after = end_cursor;
      }
    }
    return { id: client.id, diagnoses: client.diagnoses ?? [], consent_forms: consentForms };
  }

  return async (reference) => {
    const [, kind, id] = referencePattern.exec(reference) ?? [];
    if (kind === undefined || id === undefined)
      throw new UnmappableDeliveryError(
        "reference is not a Healthie message, appointment, scheduled message or client chart",
      );
    if (kind === "message") return fetchNote(reference, id);
    if (kind === "scheduled_message") return fetchScheduledMessage(reference, id);
    if (kind === "client_chart") return fetchClientChart(reference, id);
    return fetchAppointment(reference, id);
  };
}

/**
 * The patient a note is about: its creator when a patient wrote it, else the conversation's one client (see
 * the module comment). Throws `UnmappableDeliveryError` when there is no single client.
 */
function patientOf(note: Note, conversation: Conversation): string | undefined {
  if (note.creator === null || note.creator === undefined) return undefined;
  if (note.creator.is_patient) return note.creator.id;
  const members = [conversation.owner, ...(conversation.invitees ?? [])];
  const clients = new Set(members.filter((user) => user?.is_patient).map((user) => user?.id));
  const [client] = clients;
  if (clients.size === 1 && client !== undefined) return client;
  if (clients.size === 0 && conversation.patient_id) return conversation.patient_id;
  throw new UnmappableDeliveryError(
    `Healthie conversation has ${clients.size === 0 ? "no" : "several"} clients to credit a provider's note to`,
  );
}

/** A root field of `data`: null is a resource Healthie does not have; a wrong shape is unmappable. */
function parseField<T extends z.ZodType>(
  schema: T,
  value: unknown,
  reference: string,
  field: string,
): z.infer<T> {
  if (value === null || value === undefined) throw new ResourceGoneError(reference, 404);
  const parsed = schema.safeParse(value);
  if (!parsed.success)
    throw new UnmappableDeliveryError(`Healthie ${field} fails its schema at ${pathOf(parsed.error)}`);
  return parsed.data;
}

const codeOf = (error: GraphqlError): string | undefined => {
  const code = error.extensions?.code;
  return typeof code === "string" ? code.toUpperCase() : undefined;
};

/** Healthie reports a missing record by code, or only in words ("Note not found"). */
const isNotFound = (error: GraphqlError): boolean =>
  notFoundCodes.has(codeOf(error) ?? "") ||
  (typeof error.message === "string" && /\bnot found\b/i.test(error.message));

/** The dotted path of the first failing field (never a value). */
const pathOf = (error: z.ZodError): string => error.issues[0]?.path.join(".") || "(root)";
