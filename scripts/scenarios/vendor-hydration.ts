import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * Writes the Elation-only and Healthie-only public scenarios (issue 13: diagnoses and consent for vendors whose
 * messages carry none) to test/fixtures/scenarios/; each one's expected line is worked out by hand below.
 *
 *   npx tsx scripts/scenarios/vendor-hydration.ts
 *
 * Elation: `elation-chart-bills.json`, Elation webhooks as Elation sends them, and
 * `elation-chart-bills.api.json`, what Elation's API answers for the patient's chart (the problem list and chart
 * documents as Elation's Patient Profile and Patient Document APIs page them, and the thread's messages), which
 * the integration test serves from a stand-in API. Synthetic patient, clinician and NPI.
 *
 * The expected line (elation-chart-bills.expected.jsonl), worked out by hand from DOMAIN.md:
 * - R1: the patient's message (no sender: written in Passport) on Monday 2 March 2026 09:00 EST (14:00Z) opens
 *   the thread; both of Dr 131074's messages reply to it (Elation threads are flat).
 * - R2, R3: the window starts at the first clinician activity, 2 March 14:00 EST (19:00Z), and is the calendar
 *   days 2-8 March in America/New_York: windowStart 2026-03-02T00:00:00-05:00, windowEnd (local midnight after
 *   day 7; daylight saving time began on 8 March) 2026-03-09T00:00:00-04:00.
 * - R4, R5, R6: 131074 is an MD on the roster (NPI 1003000126): 8 + 6 = 14 minutes, 11-20 minutes: 99422.
 * - R8: no visit; the diagnoses are the problems on the list on 2 and 3 March in rank order: L23.9 (active since
 *   27 February, rank 1), E11.9 (controlled, rank 2); J20.9 was resolved in December 2025 and I10 starts in April.
 * - R11: the Consent document of 15 January 2026 lies within 365 days before the window start and before the
 *   first counted activity; the Lab document is not a consent.
 * - R14, R15: place of service 11 (the default); date of service is the last counted activity's local date,
 *   3 March (10:00 EST). 2,846 cents (default fees, 99422). First line for the episode: `original`, revision 0.
 * - R16: settled 48 hours after the window closes (9 March 00:00 EDT); the finalizer runs on 12 March.
 * The second delivery lists the thread's messages by id only (issue 13, item 6): they are fetched by thread.
 */

const OUT = fileURLToPath(new URL("../../test/fixtures/scenarios/", import.meta.url));
const PATIENT = 64058687489;
const THREAD = 346226779;
const PRACTICE = 65540;
const PHYSICIAN = 131074;

/** A UUIDv7 whose timestamp is `at`: Elation's `event_uuid`, which orders events (elation/format.ts). */
const uuid7 = (at: string, sequence: number): string => {
  const ms = Date.parse(at).toString(16).padStart(12, "0");
  const tail = sequence.toString(16).padStart(12, "0");
  return `${ms.slice(0, 8)}-${ms.slice(8, 12)}-7abc-9def-${tail}`;
};

const message = (id: number, sender: number | null, sendDate: string, body: string) => ({
  id,
  body,
  patient: PATIENT,
  practice: PRACTICE,
  thread: THREAD,
  sender,
  send_date: sendDate,
});

const messages = [
  message(346488926, null, "2026-03-02T14:00:00", "My rash is spreading up the arm since the weekend."),
  message(
    346488990,
    PHYSICIAN,
    "2026-03-02T19:00:00",
    "Reviewed your photos and chart; start the cream.\nTime spent: 8 min",
  ),
  message(
    346489011,
    PHYSICIAN,
    "2026-03-03T15:00:00",
    "Lab results reviewed, no change needed.\nTime spent: 6 min",
  ),
];

const thread = (listed: unknown[]) => ({
  id: THREAD,
  created_date: "2026-03-02T14:00:00Z",
  deleted_date: null,
  document_date: "2026-03-02T14:00:00Z",
  chart_date: "2026-03-02T14:00:00Z",
  patient: PATIENT,
  practice: PRACTICE,
  is_urgent: false,
  members: [
    { id: 346292316, thread: THREAD, user: PHYSICIAN, group: null, status: "Addressed", ack_time: null },
  ],
  messages: listed,
});

const event = (at: string, sequence: number, data: unknown) => ({
  at,
  format: "elation",
  body: {
    data,
    action: "saved",
    event_id: 918100 + sequence,
    event_uuid: uuid7(at, sequence),
    resource: "message_threads",
    application_id: 12345,
    resource_url: null,
  },
});

const problem = (
  id: number,
  description: string,
  status: string,
  icd10: string,
  rank: number,
  start: string,
  resolved: string | null = null,
) => ({
  id,
  description,
  synopsis: "",
  status,
  start_date: start,
  resolved_date: resolved,
  rank,
  verification_status: "confirmed",
  dx: [{ icd9: [], icd10: [icd10], snomed: "" }],
  patient: PATIENT,
  practice: PRACTICE,
  created_date: `${start}T15:00:00Z`,
  deleted_date: null,
});

const report = (id: number, reportType: string, title: string, documentDate: string) => ({
  id,
  report_type: reportType,
  custom_title: title,
  document_date: documentDate,
  chart_date: documentDate,
  reported_date: documentDate,
  created_date: documentDate,
  deleted_date: null,
  patient: PATIENT,
  physician: PHYSICIAN,
  practice: PRACTICE,
  signed_by: PHYSICIAN,
  signed_date: documentDate,
  is_urgent: false,
  requisition_number: null,
  tags: [],
  vendor: null,
  files: [],
  grids: [],
  images: [],
  routed_document_delegates: [],
});

const scenario = {
  config: {
    timezone: "America/New_York",
    consent: "required",
    roster: [
      { practitionerId: String(PHYSICIAN), npi: "1003000126", credential: "MD", name: "Synthetic Adams" },
    ],
  },
  deliveries: [
    event("2026-03-02T19:01:00Z", 1, thread(messages.slice(0, 2))),
    event("2026-03-03T15:01:00Z", 2, thread(messages.map((one) => one.id))),
  ],
  finalizeAt: "2026-03-12T12:00:00Z",
};

/** Elation's API for this patient: lists by path, as the stand-in pages them. */
const api = {
  "/problems/": [
    problem(140755100003, "Acute bronchitis", "Resolved", "J20.9", 3, "2025-11-02", "2025-12-01"),
    problem(
      140755100002,
      "Type 2 diabetes mellitus without complications",
      "Controlled",
      "E11.9",
      2,
      "2019-05-01",
    ),
    problem(140755100001, "Allergic contact dermatitis", "Active", "L23.9", 1, "2026-02-27"),
    problem(140755100004, "Essential hypertension", "Active", "I10", 4, "2026-04-01"),
  ],
  "/reports/": [
    report(140756100001, "Consent", "Consent to communication-technology services", "2026-01-15T15:00:00Z"),
    report(140756100002, "Lab", "Basic metabolic panel", "2026-02-10T14:00:00Z"),
  ],
  "/thread_messages/": messages,
};

/**
 * Healthie: `healthie-chart-bills.json`, Healthie's thin webhooks (`message.created`, `scheduled_message.sent`,
 * `appointment.updated`), and `healthie-chart-bills.api.json`, the records Healthie's GraphQL API holds for them,
 * as its types name their fields (Note, Conversation, NoteScheduler, Appointment, User with its Diagnoses,
 * FormAnswerGroup with its `custom_module_form`), which the integration test's stand-in answers queries from. The
 * deployment names form template 811 as the practice's consent form (`healthie.consentFormIds`). Synthetic client,
 * provider and NPI.
 *
 * The expected line (healthie-chart-bills.expected.jsonl), worked out by hand from DOMAIN.md:
 * - R1: the client's note of Monday 13 April 2026 09:20 EDT (13:20Z) opens conversation 6601; every later note
 *   replies to it (Healthie conversations are flat). Their second note (Tuesday 08:30 EDT) is an inquiry sent while
 *   the window is open: it joins the episode (R7).
 * - R2, R3: the window starts at the first clinician activity, Monday 15:05 EDT (19:05Z), and is the calendar days
 *   13-19 April in America/New_York: windowStart 2026-04-13T00:00:00-04:00, windowEnd 2026-04-20T00:00:00-04:00.
 * - R4, R5, R6: provider 100512 is an NP on the roster (NPI 1003000134): 7 (Monday) + 9 (Wednesday 14:10 EDT) + 6
 *   (the scheduled message sent Thursday 09:00 EDT) = 22 minutes, 21 or more: 99423, 4,496 cents (default fees).
 * - R8: no visit in the 7 days before 13 April. R9, R10: the appointment of Friday 17 April was cancelled, so it
 *   took place neither before nor during the window: nothing is bundled.
 * - Diagnoses: the client's diagnoses on 13-16 April, primary first: G43.909 (primary, first symptom 8 April), then
 *   F41.1 (active, no first-symptom date); J01.90 ended on 30 March and M25.561's first symptom is in May.
 * - R11: form 40101 of consent template 811, saved 2 June 2025, lies within the 365 days before 13 April 2026 (315
 *   days); 40100 (May 2024) is older; 40103 is an intake form (template 900), not a consent.
 * - R14, R15: place of service 11; date of service is the last counted activity's local date, 16 April. First line
 *   for the episode: `original`, revision 0.
 * - R16: settled 48 hours after the window closes (20 April 04:00Z); the finalizer runs on 23 April.
 */

const CLIENT = "2217301";
const PROVIDER = "100512";
const CONVERSATION = "6601";

const healthieEvent = (at: string, resourceId: string, resourceIdType: string, eventType: string) => ({
  at,
  format: "healthie",
  body: {
    resource_id: resourceId,
    resource_id_type: resourceIdType,
    event_type: eventType,
    changed_fields: [],
  },
});

const member = (id: string, isPatient: boolean) => ({ id, is_patient: isPatient });

const note = (id: string, author: "client" | "provider", createdAt: string, content: string) => ({
  id,
  created_at: createdAt,
  updated_at: createdAt,
  content,
  conversation_id: CONVERSATION,
  creator:
    author === "client"
      ? { id: CLIENT, is_patient: true, qualifications: null, npi: null }
      : { id: PROVIDER, is_patient: false, qualifications: "NP-C", npi: "1003000134" },
});

const diagnosis = (
  id: string,
  code: string,
  active: boolean,
  primary: boolean,
  firstSymptom: string | null,
  end: string | null,
) => ({
  id,
  active,
  primary,
  first_symptom_date: firstSymptom,
  end_date: end,
  icd_code: { code },
});

const filledForm = (id: string, template: string, createdAt: string) => ({
  id,
  user_id: CLIENT,
  created_at: createdAt,
  updated_at: createdAt,
  finished: true,
  deleted_at: null,
  custom_module_form: { id: template },
});

const healthieScenario = {
  config: {
    timezone: "America/New_York",
    consent: "required",
    roster: [{ practitionerId: PROVIDER, npi: "1003000134", credential: "NP", name: "Synthetic Baker" }],
  },
  deliveries: [
    healthieEvent("2026-04-13T13:20:05Z", "90100001", "Note", "message.created"),
    healthieEvent("2026-04-13T19:05:05Z", "90100002", "Note", "message.created"),
    healthieEvent("2026-04-14T12:30:05Z", "90100003", "Note", "message.created"),
    healthieEvent("2026-04-15T18:10:05Z", "90100004", "Note", "message.created"),
    healthieEvent("2026-04-16T13:00:05Z", "47001", "NoteScheduler", "scheduled_message.sent"),
    healthieEvent("2026-04-16T20:00:05Z", "601001", "Appointment", "appointment.updated"),
  ],
  finalizeAt: "2026-04-23T12:00:00Z",
};

/** Healthie's records, by type, as its GraphQL types name their fields. */
const healthieApi = {
  notes: [
    note("90100001", "client", "2026-04-13T13:20:00Z", "The migraines are back, three this week."),
    note(
      "90100002",
      "provider",
      "2026-04-13 15:05:00 -0400",
      "Reviewed your headache diary; start the preventive we discussed.\nTime spent: 7 min",
    ),
    note("90100003", "client", "2026-04-14T12:30:00Z", "Started it last night. Is nausea expected?"),
    note(
      "90100004",
      "provider",
      "2026-04-15T18:10:00Z",
      "Mild nausea is common the first week; take it with food.\nTime spent: 9 min",
    ),
    note("90100005", "provider", "2026-04-16T13:00:00Z", "Checking in on the nausea.\nTime spent: 6 min"),
  ],
  conversations: [
    { id: CONVERSATION, patient_id: null, owner: member(PROVIDER, false), invitees: [member(CLIENT, true)] },
  ],
  noteSchedulers: [{ id: "47001", invitees_count: 1, note: { id: "90100005" } }],
  appointments: [
    {
      id: "601001",
      date: "2026-04-17 10:00:00 -0400",
      updated_at: "2026-04-16 16:00:00 -0400",
      pm_status: "Cancelled",
      contact_type: "Healthie Video Call",
      is_group: false,
      is_blocker: false,
      user: { id: CLIENT },
      provider: { id: PROVIDER, qualifications: "NP-C", npi: "1003000134" },
    },
  ],
  users: [
    {
      id: CLIENT,
      diagnoses: [
        diagnosis("7201", "F41.1", true, false, null, null),
        diagnosis("7202", "J01.90", false, false, "2026-03-20", "2026-03-30T00:00:00-04:00"),
        diagnosis("7203", "G43.909", true, true, "2026-04-08", null),
        diagnosis("7204", "M25.561", true, false, "2026-05-02", null),
      ],
    },
  ],
  formAnswerGroups: [
    filledForm("40100", "811", "2024-05-20T14:00:00Z"),
    filledForm("40101", "811", "2025-06-02T14:00:00Z"),
    filledForm("40103", "900", "2026-04-10T15:00:00Z"),
  ],
};

await writeFile(`${OUT}elation-chart-bills.json`, `${JSON.stringify(scenario, null, 2)}\n`);
await writeFile(`${OUT}elation-chart-bills.api.json`, `${JSON.stringify(api, null, 2)}\n`);
await writeFile(`${OUT}healthie-chart-bills.json`, `${JSON.stringify(healthieScenario, null, 2)}\n`);
await writeFile(`${OUT}healthie-chart-bills.api.json`, `${JSON.stringify(healthieApi, null, 2)}\n`);
execFileSync("npx", ["biome", "format", "--write", OUT], { stdio: "inherit" });
