import { readFileSync } from "node:fs";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ResourceFetchError, UnmappableDeliveryError } from "../../../functions/vendors/errors.js";
import { ResourceGoneError } from "../../../functions/vendors/fhir/fetcher.js";
import type { AcceptedDelivery } from "../../../functions/vendors/format.js";
import {
  createHealthieFetcher,
  type HealthieFetcherOptions,
} from "../../../functions/vendors/healthie/fetcher.js";
import { healthie } from "../../../functions/vendors/healthie/format.js";

/**
 * The Healthie fetcher against a real local HTTP server playing Healthie's GraphQL API: it answers `note`,
 * `conversation` + `notes`, and `appointment` queries from Healthie-shaped records built from the vendor
 * fixtures, and checks the API key headers.
 */

const apiKey = "gh_sbox_synthetic_key_0001";
/** The synthetic patient's name, in every fixture note: no error message may carry it. */
const phi = "Quinn Harlow";

const fixtureJson = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../fixtures/vendors/healthie/${name}`, import.meta.url), "utf8"));

interface GraphqlRequest {
  method: string | undefined;
  path: string | undefined;
  authorization: string | undefined;
  authorizationSource: string | undefined;
  contentType: string | undefined;
  query: string;
  variables: Record<string, unknown>;
}

/** A scripted answer; `hang` never answers. */
type Reply = { status: number; headers?: Record<string, string>; body?: string } | "hang";

let server: Server;
let apiUrl: string;

/** Healthie's records as its API types them, and server state; reset before each test. */
const api = {
  requests: [] as GraphqlRequest[],
  /** Answers given instead of the records, in order. */
  replies: [] as Reply[],
  notes: new Map<string, Record<string, unknown>>(),
  conversations: new Map<string, Record<string, unknown>>(),
  /** The earliest note of each conversation. */
  firstNotes: new Map<string, string>(),
  appointments: new Map<string, Record<string, unknown>>(),
  noteSchedulers: new Map<string, Record<string, unknown>>(),
  /** Users (clients) with their diagnoses, as `user(id:)` answers them. */
  users: new Map<string, Record<string, unknown>>(),
  /** Filled-out forms, answered by `formAnswerGroups(user_id:, custom_module_form_id:)`, `pageSize` a page. */
  formAnswerGroups: [] as Array<Record<string, unknown>>,
  pageSize: 100,
};

/** A fixture projection (healthie/format.ts's shape) back as Healthie's Note, in conversation `conversationId`. */
function healthieNote(name: string, conversationId: string): Record<string, unknown> {
  const { conversation: _, ...note } = fixtureJson(name);
  return { ...note, conversation_id: conversationId };
}

beforeAll(async () => {
  server = createServer((request, response) => {
    handle(request, response).catch(() => {
      response.statusCode = 500;
      response.end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/graphql`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

beforeEach(() => {
  api.requests = [];
  api.replies = [];
  api.notes = new Map([
    ["88120456", healthieNote("note-from-patient.json", "5501")],
    ["88120777", healthieNote("note-from-provider.json", "5501")],
  ]);
  api.conversations = new Map([
    [
      "5501",
      {
        id: "5501",
        patient_id: null,
        owner: { id: "100070", is_patient: false },
        invitees: [{ id: "131391", is_patient: true }],
      },
    ],
  ]);
  api.firstNotes = new Map([["5501", "88120456"]]);
  const { user, ...appointment } = fixtureJson("appointment-occurred.json");
  api.appointments = new Map([["597220", { ...appointment, user, is_group: false, is_blocker: false }]]);
  api.noteSchedulers = new Map([["46000", { id: "46000", invitees_count: 1, note: { id: "88120777" } }]]);
  const client = fixtureJson("user-diagnoses.json").data.user;
  api.users = new Map([[client.id, client]]);
  // The fixture's forms are of consent template 811; one more of another template (an intake form).
  api.formAnswerGroups = [
    ...fixtureJson("form-answer-groups.json").data.formAnswerGroups.nodes.map(
      (form: Record<string, unknown>) => ({ ...form, custom_module_form_id: "811" }),
    ),
    {
      ...fixtureJson("form-answer-groups.json").data.formAnswerGroups.nodes[0],
      id: "30560",
      custom_module_form_id: "900",
    },
  ];
  api.pageSize = 100;
});

async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
  const { query, variables } = JSON.parse(await bodyOf(request));
  api.requests.push({
    method: request.method,
    path: request.url,
    authorization: request.headers.authorization,
    authorizationSource: request.headers.authorizationsource as string | undefined,
    contentType: request.headers["content-type"],
    query,
    variables,
  });
  const scripted = api.replies.shift();
  if (scripted === "hang") return;
  if (scripted !== undefined) {
    response.writeHead(scripted.status, { "content-type": "application/json", ...scripted.headers });
    response.end(scripted.body ?? JSON.stringify({ errors: [{ message: `${phi} is not allowed` }] }));
    return;
  }
  if (request.headers.authorization !== `Basic ${apiKey}` || request.headers.authorizationsource !== "API") {
    response.writeHead(401).end();
    return;
  }
  response.writeHead(200, { "content-type": "application/json" });
  response.end(JSON.stringify({ data: answer(query, variables) }));
}

/** What Healthie would answer: the records the query's root fields name, null when it has none. */
function answer(query: string, variables: Record<string, string>): Record<string, unknown> {
  if (/\bnote_scheduler\(id: \$id\)/.test(query))
    return { note_scheduler: api.noteSchedulers.get(variables.id ?? "") ?? null };
  if (/\bnote\(id: \$id\)/.test(query)) return { note: api.notes.get(variables.id ?? "") ?? null };
  if (/\bappointment\(id: \$id\)/.test(query))
    return { appointment: api.appointments.get(variables.id ?? "") ?? null };
  if (/\buser\(id: \$id\)/.test(query)) return { user: api.users.get(variables.id ?? "") ?? null };
  if (/\bformAnswerGroups\(/.test(query)) {
    // Cursor pagination as Healthie's connections page: the cursor is the last node's position.
    const matching = api.formAnswerGroups.filter(
      (form) =>
        form.user_id === variables.user_id && form.custom_module_form_id === variables.custom_module_form_id,
    );
    const start = variables.after === undefined ? 0 : Number(variables.after);
    const nodes = matching
      .slice(start, start + api.pageSize)
      .map(({ custom_module_form_id, ...form }) => form);
    const end = start + nodes.length;
    return {
      formAnswerGroups: {
        nodes,
        page_info: {
          has_next_page: end < matching.length,
          end_cursor: nodes.length > 0 ? String(end) : null,
        },
      },
    };
  }
  if (/\bconversation\(id: \$conversation_id\)/.test(query)) {
    const id = variables.conversation_id ?? "";
    const first = api.firstNotes.get(id);
    return {
      conversation: api.conversations.get(id) ?? null,
      notes: { nodes: first === undefined ? [] : [{ id: first }] },
    };
  }
  throw new Error("unexpected query");
}

async function bodyOf(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString("utf8");
}

/** A fetcher against the local server; `sleeps` records waits, which take no time. */
function client(options: Partial<HealthieFetcherOptions> = {}) {
  const sleeps: number[] = [];
  const fetchResource = createHealthieFetcher({
    apiUrl,
    apiKey,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    ...options,
  });
  return { fetchResource, sleeps };
}

/** The error a promise rejects with, which must not carry PHI; fails the test when it resolves. */
async function rejectionOf(promise: Promise<unknown>): Promise<Error> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(Error);
    expect((error as Error).message).not.toContain(phi);
    expect((error as Error).message).not.toContain(apiKey);
    return error as Error;
  }
  throw new Error("expected a rejection");
}

/** A delivery as `healthie.accept` makes it from a webhook body (authentication is not under test). */
const deliveryOf = (envelope: unknown): AcceptedDelivery =>
  healthie.accept({
    method: "POST",
    path: "/webhooks/healthie",
    rawQuery: "",
    headers: {},
    body: Buffer.from(JSON.stringify(envelope)),
  });

/** healthie/chart.ts's projection of the fixtures' client, with these consent forms. */
const chartProjection = (consentForms: unknown[]) => ({
  id: "131391",
  diagnoses: fixtureJson("user-diagnoses.json").data.user.diagnoses,
  consent_forms: consentForms,
});

const messageCreated = (noteId: string) => ({ ...fixtureJson("message-created.json"), resource_id: noteId });

describe("Healthie fetcher: messages", () => {
  it("queries the note, then its conversation and first note, with the API key headers", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    await fetchResource("message/88120777");

    // Assess
    expect(api.requests.map(({ query, ...request }) => request)).toEqual([
      {
        method: "POST",
        path: "/graphql",
        authorization: `Basic ${apiKey}`,
        authorizationSource: "API",
        contentType: "application/json",
        variables: { id: "88120777" },
      },
      {
        method: "POST",
        path: "/graphql",
        authorization: `Basic ${apiKey}`,
        authorizationSource: "API",
        contentType: "application/json",
        variables: { conversation_id: "5501" },
      },
    ]);
    const [noteRequest, conversationRequest] = api.requests.map((request) =>
      request.query.replace(/\s+/g, " "),
    );
    expect(noteRequest).toContain("note(id: $id) { id created_at updated_at content conversation_id");
    expect(noteRequest).toContain("creator { id is_patient qualifications npi }");
    expect(conversationRequest).toContain("conversation(id: $conversation_id) { id patient_id");
    expect(conversationRequest).toContain("owner { id is_patient } invitees { id is_patient }");
    expect(conversationRequest).toContain(
      "notes(conversation_id: $conversation_id, order_by: CREATED_AT_ASC, first: 1) { nodes { id } }",
    );
  });

  it.each([
    ["a provider's reply", "88120777", "note-from-provider.json"],
    ["the patient's opening note", "88120456", "note-from-patient.json"],
  ])("returns %s as healthie/format.ts's projection", async (_, id, projection) => {
    // Prepare
    const { fetchResource } = client();

    // Act
    const note = await fetchResource(`message/${id}`);

    // Assess
    expect(note).toEqual(fixtureJson(projection));
  });

  it.each([
    ["a patient's note", "88120456", "note-from-patient.json"],
    ["a provider's reply", "88120777", "note-from-provider.json"],
  ])("maps %s end to end to the facts the fixture projection maps to", async (_, id, projection) => {
    // Prepare
    const delivery = deliveryOf(messageCreated(id));
    const { fetchResource } = client();

    // Act
    const mapped = await healthie.toFacts(delivery, fetchResource);

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.facts).toHaveLength(1);
    expect(mapped).toEqual(
      await healthie.toFacts(delivery, async (reference) =>
        reference === "client_chart/131391" ? chartProjection([]) : fixtureJson(projection),
      ),
    );
  });

  it("credits a provider's reply to the conversation's client, whoever owns the conversation", async () => {
    // Prepare
    api.conversations.set("5501", {
      id: "5501",
      patient_id: null,
      owner: { id: "131391", is_patient: true },
      invitees: [{ id: "100070", is_patient: false }],
    });
    const { fetchResource } = client();

    // Act
    const mapped = await healthie.toFacts(deliveryOf(messageCreated("88120777")), fetchResource);

    // Assess
    expect(mapped.facts).toEqual([
      expect.objectContaining({
        kind: "clinician-activity",
        patientId: "131391",
        practitionerId: "100070",
        inResponseTo: "healthie:message/88120456",
        seconds: 540,
      }),
    ]);
  });

  it("falls back to Healthie's patient_id when no member is marked a patient", async () => {
    // Prepare
    api.conversations.set("5501", { id: "5501", patient_id: 131391, owner: null, invitees: [] });
    const { fetchResource } = client();

    // Act
    const note = await fetchResource("message/88120777");

    // Assess
    expect(note).toMatchObject({ conversation: { patient_id: "131391", first_note_id: "88120456" } });
  });

  it("takes a note as its conversation's opener when Healthie lists no earlier note", async () => {
    // Prepare
    api.firstNotes.delete("5501");
    const { fetchResource } = client();

    // Act
    const note = await fetchResource("message/88120777");

    // Assess
    expect(note).toMatchObject({ conversation: { first_note_id: "88120777" } });
  });

  it.each([
    [
      "several clients",
      [
        { id: "131391", is_patient: true },
        { id: "131392", is_patient: true },
      ],
      "several",
    ],
    ["no client", [{ id: "100071", is_patient: false }], "no"],
  ])("refuses a provider's note in a conversation with %s as unmappable", async (_, invitees, count) => {
    // Prepare
    api.conversations.set("5501", {
      id: "5501",
      patient_id: null,
      owner: { id: "100070", is_patient: false },
      invitees,
    });
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("message/88120777"));

    // Assess
    expect(error).toBeInstanceOf(UnmappableDeliveryError);
    expect(error.message).toContain(`${count} clients`);
  });

  it("refuses a note whose answer does not have Healthie's Note shape, naming the field only", async () => {
    // Prepare
    api.notes.set("88120777", { id: "88120777", content: phi, created_at: 1 });
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("message/88120777"));

    // Assess
    expect(error).toBeInstanceOf(UnmappableDeliveryError);
    expect(error.message).toContain("created_at");
  });
});

describe("Healthie fetcher: the client's chart (diagnoses and consent forms)", () => {
  it("queries the client's diagnoses, then each consent template's filled-out forms, every page", async () => {
    // Prepare: pages of one form, so the three forms of template 811 take three pages.
    api.pageSize = 1;
    const { fetchResource } = client({ consentFormIds: ["811"] });

    // Act
    const chart = await fetchResource("client_chart/131391");

    // Assess: Healthie's objects as it gives them; template 900's form is not asked for.
    const nodes = fixtureJson("form-answer-groups.json").data.formAnswerGroups.nodes;
    expect(chart).toEqual(chartProjection(nodes));
    expect(api.requests.map((request) => request.variables)).toEqual([
      { id: "131391" },
      { user_id: "131391", custom_module_form_id: "811" },
      { user_id: "131391", custom_module_form_id: "811", after: "1" },
      { user_id: "131391", custom_module_form_id: "811", after: "2" },
    ]);
    const [userRequest, formsRequest] = api.requests.map((request) => request.query.replace(/\s+/g, " "));
    expect(userRequest).toContain(
      "user(id: $id) { id diagnoses { id active primary first_symptom_date end_date icd_code { code } } }",
    );
    expect(formsRequest).toContain(
      "formAnswerGroups(user_id: $user_id, custom_module_form_id: $custom_module_form_id, first: 100, after: $after)",
    );
    expect(formsRequest).toContain(
      "nodes { id user_id created_at updated_at finished deleted_at } page_info { has_next_page end_cursor }",
    );
  });

  it("with no consent template configured, reads only the diagnoses", async () => {
    const { fetchResource } = client();

    const chart = await fetchResource("client_chart/131391");

    expect(chart).toEqual(chartProjection([]));
    expect(api.requests).toHaveLength(1);
  });

  it("R8, R11: maps a patient's note end to end with the chart's diagnoses and consent", async () => {
    // Prepare
    const { fetchResource } = client({ consentFormIds: ["811"] });

    // Act
    const mapped = await healthie.toFacts(deliveryOf(messageCreated("88120456")), fetchResource);

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.facts).toEqual([
      expect.objectContaining({ kind: "inquiry", diagnosisCodes: ["E11.65", "I10", "F41.1"] }),
      expect.objectContaining({ kind: "consent", id: "healthie:form_answer_group/30551", retracted: false }),
      expect.objectContaining({ kind: "consent", id: "healthie:form_answer_group/30552", retracted: true }),
    ]);
  });

  it("reports a client Healthie does not have as gone", async () => {
    const { fetchResource } = client();

    const error = await rejectionOf(fetchResource("client_chart/131392"));

    expect(error).toBeInstanceOf(ResourceGoneError);
  });

  it("refuses a forms page without Healthie's connection shape, naming the field only", async () => {
    // Prepare
    const { fetchResource } = client({ consentFormIds: ["811"] });
    api.replies = [
      { status: 200, body: JSON.stringify({ data: { user: api.users.get("131391") } }) },
      {
        status: 200,
        body: JSON.stringify({
          data: { formAnswerGroups: { nodes: [], page_info: { has_next_page: phi } } },
        }),
      },
    ];

    // Act
    const error = await rejectionOf(fetchResource("client_chart/131391"));

    // Assess
    expect(error).toBeInstanceOf(UnmappableDeliveryError);
    expect(error.message).toContain("Healthie formAnswerGroups fails its schema at page_info.has_next_page");
  });

  it("refuses a forms page that says there is more but gives no cursor", async () => {
    const { fetchResource } = client({ consentFormIds: ["811"] });
    api.replies = [
      { status: 200, body: JSON.stringify({ data: { user: api.users.get("131391") } }) },
      {
        status: 200,
        body: JSON.stringify({
          data: { formAnswerGroups: { nodes: [], page_info: { has_next_page: true, end_cursor: null } } },
        }),
      },
    ];

    const error = await rejectionOf(fetchResource("client_chart/131391"));

    expect(error).toBeInstanceOf(UnmappableDeliveryError);
  });
});

describe("Healthie fetcher: appointments", () => {
  it("queries the appointment and returns healthie/format.ts's projection", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    const appointment = await fetchResource("appointment/597220");

    // Assess
    expect(appointment).toEqual(fixtureJson("appointment-occurred.json"));
    expect(api.requests).toHaveLength(1);
    expect(api.requests[0]?.variables).toEqual({ id: "597220" });
    expect(api.requests[0]?.query.replace(/\s+/g, " ")).toContain(
      "appointment(id: $id) { id date updated_at pm_status contact_type is_group is_blocker user { id }" +
        " provider { id qualifications npi } }",
    );
  });

  it("maps an appointment end to end to the facts the fixture projection maps to", async () => {
    // Prepare
    const delivery = deliveryOf(fixtureJson("appointment-updated.json"));
    const { fetchResource } = client();

    // Act
    const mapped = await healthie.toFacts(delivery, fetchResource);

    // Assess
    expect(mapped.facts).toEqual([expect.objectContaining({ kind: "visit", status: "finished" })]);
    expect(mapped).toEqual(
      await healthie.toFacts(delivery, async () => fixtureJson("appointment-occurred.json")),
    );
  });

  it.each(["is_group", "is_blocker"])("drops the client of an appointment marked %s", async (flag) => {
    // Prepare
    api.appointments.set("597220", { ...api.appointments.get("597220"), [flag]: true });
    const { fetchResource } = client();

    // Act
    const mapped = await healthie.toFacts(deliveryOf(fixtureJson("appointment-updated.json")), fetchResource);

    // Assess
    expect(mapped.facts).toEqual([]);
    expect(mapped.ignored?.map((part) => part.reason)).toEqual(["no-patient"]);
  });
});

describe("Healthie fetcher: scheduled messages", () => {
  it("queries the NoteScheduler, then the message it sent as message/<id>", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    const scheduled = await fetchResource("scheduled_message/46000");

    // Assess
    expect(scheduled).toEqual({
      id: "46000",
      invitees_count: 1,
      note: fixtureJson("note-from-provider.json"),
    });
    expect(api.requests.map((request) => request.variables)).toEqual([
      { id: "46000" },
      { id: "88120777" },
      { conversation_id: "5501" },
    ]);
    expect(api.requests[0]?.query.replace(/\s+/g, " ")).toContain(
      "note_scheduler(id: $id) { id invitees_count note { id } }",
    );
  });

  it("maps a sent scheduled message end to end to the provider's reply it sent", async () => {
    // Prepare
    const { fetchResource } = client();

    // Act
    const mapped = await healthie.toFacts(
      deliveryOf(fixtureJson("scheduled-message-sent.json")),
      fetchResource,
    );

    // Assess
    expect(mapped.skipped).toEqual([]);
    expect(mapped.facts).toEqual([
      expect.objectContaining({
        kind: "clinician-activity",
        id: "healthie:message/88120777",
        patientId: "131391",
        inResponseTo: "healthie:message/88120456",
      }),
    ]);
  });

  it("does not fetch the note of a blast to several clients", async () => {
    // Prepare
    api.noteSchedulers.set("46000", { id: "46000", invitees_count: 2, note: { id: "88120777" } });
    const { fetchResource } = client();

    // Act
    const scheduled = await fetchResource("scheduled_message/46000");

    // Assess
    expect(scheduled).toEqual({ id: "46000", invitees_count: 2, note: null });
    expect(api.requests).toHaveLength(1);
  });

  it("reports a scheduler Healthie does not have as gone", async () => {
    api.noteSchedulers.clear();
    const { fetchResource } = client();

    expect(await rejectionOf(fetchResource("scheduled_message/46000"))).toBeInstanceOf(ResourceGoneError);
  });
});

describe("Healthie fetcher: failures", () => {
  it.each([
    ["a null resource", () => api.notes.delete("88120777")],
    [
      "a not-found error code",
      () => {
        api.replies = [
          {
            status: 200,
            body: JSON.stringify({
              data: { note: null },
              errors: [{ message: phi, extensions: { code: "NOT_FOUND" } }],
            }),
          },
        ];
      },
    ],
    [
      "a not-found error message",
      () => {
        api.replies = [{ status: 200, body: JSON.stringify({ errors: [{ message: "Note not found" }] }) }];
      },
    ],
    ["a 404", () => api.replies.push({ status: 404 })],
  ])("throws ResourceGoneError for %s, without retrying", async (_, arrange) => {
    // Prepare
    arrange();
    const { fetchResource, sleeps } = client();

    // Act
    const error = await rejectionOf(fetchResource("message/88120777"));

    // Assess
    expect(error).toBeInstanceOf(ResourceGoneError);
    expect(error).toMatchObject({ reference: "message/88120777", status: 404, retryable: false });
    expect(api.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("throws ResourceGoneError when the note's conversation is gone", async () => {
    // Prepare
    api.conversations.delete("5501");
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("message/88120777"));

    // Assess
    expect(error).toBeInstanceOf(ResourceGoneError);
  });

  it("throws any other GraphQL error as a retryable ResourceFetchError, without its message", async () => {
    // Prepare
    api.replies = [{ status: 200 }];
    const { fetchResource, sleeps } = client();

    // Act
    const error = await rejectionOf(fetchResource("appointment/597220"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ reference: "appointment/597220", status: 200, retryable: true });
    expect(api.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("on a 429, waits the Retry-After seconds and retries", async () => {
    // Prepare
    api.replies = [{ status: 429, headers: { "retry-after": "1" } }];
    const { fetchResource, sleeps } = client();

    // Act
    const appointment = await fetchResource("appointment/597220");

    // Assess
    expect(appointment).toEqual(fixtureJson("appointment-occurred.json"));
    expect(sleeps).toEqual([1_000]);
    expect(api.requests).toHaveLength(2);
  });

  it("retries Healthie's TOO_MANY_REQUESTS error with backoff", async () => {
    // Prepare
    const throttled = {
      errors: [
        { message: "Too many requests. Please try again later.", extensions: { code: "TOO_MANY_REQUESTS" } },
      ],
    };
    api.replies = [{ status: 200, body: JSON.stringify(throttled) }];
    const { fetchResource, sleeps } = client({ baseDelayMs: 200 });

    // Act
    const appointment = await fetchResource("appointment/597220");

    // Assess
    expect(appointment).toEqual(fixtureJson("appointment-occurred.json"));
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toBeGreaterThanOrEqual(100);
    expect(sleeps[0]).toBeLessThanOrEqual(200);
  });

  it("gives up at once when Retry-After asks for longer than the longest wait", async () => {
    // Prepare
    api.replies = [{ status: 429, headers: { "retry-after": "120" } }];
    const { fetchResource, sleeps } = client();

    // Act
    const error = await rejectionOf(fetchResource("appointment/597220"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: 429 });
    expect(sleeps).toEqual([]);
  });

  it("after three 5xx, throws a retryable ResourceFetchError, having backed off", async () => {
    // Prepare
    api.replies = [{ status: 500 }, { status: 502 }, { status: 503 }];
    const { fetchResource, sleeps } = client();

    // Act
    const error = await rejectionOf(fetchResource("message/88120777"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ reference: "message/88120777", status: 503, retryable: true });
    expect(api.requests).toHaveLength(3);
    expect(sleeps).toHaveLength(2);
  });

  it("times out a request that never answers, and retries it", async () => {
    // Prepare
    api.replies = ["hang", "hang"];
    const { fetchResource } = client({ timeoutMs: 50, maxAttempts: 2 });

    // Act
    const error = await rejectionOf(fetchResource("appointment/597220"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status: undefined, retryable: true });
    expect(api.requests).toHaveLength(2);
  });

  it.each([
    ["a redirect", { status: 302, headers: { location: "http://169.254.169.254/latest/meta-data/" } }, 302],
    ["a 200 that is not GraphQL", { status: 200, body: `<html>${phi}</html>` }, 200],
  ])("throws %s as ResourceFetchError without retrying or following", async (_, reply, status) => {
    // Prepare
    api.replies = [reply];
    const { fetchResource } = client();

    // Act
    const error = await rejectionOf(fetchResource("appointment/597220"));

    // Assess
    expect(error).toBeInstanceOf(ResourceFetchError);
    expect(error).toMatchObject({ status });
    expect(api.requests).toHaveLength(1);
  });

  it("with the wrong API key, is refused (401) twice, the key re-read between, and says so without the key", async () => {
    // Prepare
    const { fetchResource } = client({ apiKey: "wrong-key" });

    // Act
    const error = await rejectionOf(fetchResource("appointment/597220"));

    // Assess
    expect(error).toMatchObject({ status: 401, credential: true });
    expect(error.message).not.toContain("wrong-key");
    expect(api.requests).toHaveLength(2);
  });

  it("refuses references it does not serve before any request", async () => {
    // Prepare
    const { fetchResource } = client();
    const references = [
      "Communication/m1",
      "note/88120777",
      "message/",
      "message/88120777/extra",
      "message/../graphql",
      "appointment/59 7220",
      `${apiUrl}/appointment/597220`,
      "",
    ];

    for (const reference of references) {
      // Act
      const error = await rejectionOf(fetchResource(reference));

      // Assess
      expect(error, reference).toBeInstanceOf(UnmappableDeliveryError);
    }
    expect(api.requests).toHaveLength(0);
  });
});
