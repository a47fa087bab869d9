import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * Writes the correction scenarios (R16: corrections at the source) to test/fixtures/scenarios/: FHIR and Medplum
 * deliveries as those servers send them, with synthetic patients and clinicians. Their expected claim lines are
 * worked out by hand in the `.expected.jsonl` beside each file (not by this script).
 *
 *   npx tsx scripts/scenarios/corrections.ts
 */

const BASE = "https://ehr.example.org/fhir";
const TIME_SPENT = "https://portaltime.dev/fhir/StructureDefinition/time-spent";
const ICD10 = "http://hl7.org/fhir/sid/icd-10-cm";
const CONFIG = { timezone: "America/New_York", consent: "not-tracked" };

interface Message {
  id: string;
  version: number;
  patient: string;
  sent: string;
  /** A clinician's reply with the minutes documented, else the patient's message. */
  practitioner?: string;
  minutes?: number;
  inResponseTo?: string;
}

/** A Communication as a FHIR server stores it (Medplum's ids and versions are opaque; these are readable). */
function communication(message: Message) {
  return {
    resourceType: "Communication",
    id: message.id,
    meta: { versionId: String(message.version), lastUpdated: message.sent },
    ...(message.minutes === undefined
      ? {}
      : {
          extension: [
            {
              url: TIME_SPENT,
              valueDuration: {
                value: message.minutes,
                unit: "minutes",
                system: "http://unitsofmeasure.org",
                code: "min",
              },
            },
          ],
        }),
    status: "completed",
    subject: { reference: `Patient/${message.patient}` },
    sent: message.sent,
    sender: {
      reference:
        message.practitioner === undefined
          ? `Patient/${message.patient}`
          : `Practitioner/${message.practitioner}`,
    },
    ...(message.inResponseTo === undefined
      ? {}
      : { inResponseTo: [{ reference: `Communication/${message.inResponseTo}` }] }),
    payload: [{ contentString: "Synthetic message text for testing only." }],
    reasonCode: [{ coding: [{ system: ICD10, code: "E11.9" }] }],
  };
}

interface Entry {
  resource?: ReturnType<typeof communication>;
  /** A deletion: the resource named, no content. */
  deleted?: string;
}

/** An R4 Subscriptions Backport `history` notification, full-resource, one event per entry. */
function notification(id: string, eventNumber: number, timestamp: string, entries: Entry[]) {
  const focusOf = (entry: Entry) => entry.deleted ?? `Communication/${entry.resource?.id}`;
  return {
    resourceType: "Bundle",
    id,
    type: "history",
    timestamp,
    entry: [
      {
        fullUrl: `urn:uuid:00000000-0000-4000-8000-${String(eventNumber).padStart(12, "0")}`,
        resource: {
          resourceType: "Parameters",
          meta: {
            profile: [
              "http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition/backport-subscription-status-r4",
            ],
          },
          parameter: [
            { name: "subscription", valueReference: { reference: `${BASE}/Subscription/sub-communication` } },
            { name: "topic", valueCanonical: `${BASE}/SubscriptionTopic/communication` },
            { name: "status", valueCode: "active" },
            { name: "type", valueCode: "event-notification" },
            {
              name: "events-since-subscription-start",
              valueString: String(eventNumber + entries.length - 1),
            },
            ...entries.map((entry, index) => ({
              name: "notification-event",
              part: [
                { name: "event-number", valueString: String(eventNumber + index) },
                { name: "timestamp", valueInstant: timestamp },
                { name: "focus", valueReference: { reference: `${BASE}/${focusOf(entry)}` } },
              ],
            })),
          ],
        },
        request: { method: "GET", url: `${BASE}/Subscription/sub-communication/$status` },
        response: { status: "200" },
      },
      ...entries.map((entry) =>
        entry.deleted === undefined
          ? {
              fullUrl: `${BASE}/Communication/${entry.resource?.id}`,
              resource: entry.resource,
              request: { method: "PUT", url: `Communication/${entry.resource?.id}` },
              response: { status: "200" },
            }
          : {
              fullUrl: `${BASE}/${entry.deleted}`,
              request: { method: "DELETE", url: entry.deleted },
              response: { status: "204" },
            },
      ),
    ],
  };
}

const fhir = (at: string, id: string, eventNumber: number, entries: Entry[]) => ({
  at,
  format: "fhir",
  body: notification(id, eventNumber, at, entries),
});

/**
 * Medplum's versionIds are UUIDs, unique per version (its dedupe key names them); versions are ordered by
 * `lastUpdated`. A synthetic one per resource and version.
 */
const medplumVersioned = (resource: ReturnType<typeof communication>, version: number) => {
  const hex = Buffer.from(`${resource.id}#${version}`).toString("hex").padEnd(32, "0").slice(0, 32);
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
  return { ...resource, meta: { ...resource.meta, versionId: uuid } };
};

const medplum = (at: string, interaction: "create" | "delete", body: unknown, deleted?: string) => ({
  at,
  format: "medplum",
  headers: {
    "x-medplum-subscription": "sub-portaltime",
    "x-medplum-interaction": interaction,
    ...(deleted === undefined ? {} : { "x-medplum-deleted-resource": deleted }),
  },
  body,
});

/** A patient's message and clinicians' replies on Monday 2 and Tuesday 3 March 2026 (14 minutes: 99422). */
const thread = (patient: string): Message[] => [
  { id: `${patient}-m1`, version: 1, patient, sent: "2026-03-02T14:00:00Z" },
  {
    id: `${patient}-r1`,
    version: 1,
    patient,
    sent: "2026-03-02T19:00:00Z",
    practitioner: "dr-adams",
    minutes: 8,
    inResponseTo: `${patient}-m1`,
  },
  {
    id: `${patient}-r2`,
    version: 1,
    patient,
    sent: "2026-03-03T15:00:00Z",
    practitioner: "np-baker",
    minutes: 6,
    inResponseTo: `${patient}-m1`,
  },
];

const scenarios: Record<string, unknown> = {
  // A message and its reply filed under the wrong patient, billed, then moved to the right one.
  "chart-move-after-line": (() => {
    const filed: Message[] = [
      { id: "mv-m1", version: 1, patient: "pub-move-a", sent: "2026-03-02T14:00:00Z" },
      {
        id: "mv-r1",
        version: 1,
        patient: "pub-move-a",
        sent: "2026-03-02T19:00:00Z",
        practitioner: "dr-adams",
        minutes: 12,
        inResponseTo: "mv-m1",
      },
    ];
    const moved = filed.map((message) => ({ ...message, version: 2, patient: "pub-move-b" }));
    return {
      config: CONFIG,
      deliveries: [
        fhir("2026-03-02T14:01:00Z", "notification-move-1", 1, [
          { resource: communication(filed[0] as Message) },
        ]),
        fhir("2026-03-02T19:01:00Z", "notification-move-2", 2, [
          { resource: communication(filed[1] as Message) },
        ]),
        fhir(
          "2026-03-12T15:00:00Z",
          "notification-move-3",
          3,
          moved.map((message) => ({ resource: communication(message) })),
        ),
      ],
      finalizeAt: ["2026-03-12T13:00:00Z", "2026-03-12T16:00:00Z"],
    };
  })(),
  // Two replies billed as 99422; Medplum then deletes one (its delete has no body).
  "medplum-delete-reply": {
    config: CONFIG,
    deliveries: [
      ...thread("pub-del-m").map((message) =>
        medplum(
          message.sent.replace(":00:00Z", ":01:00Z"),
          "create",
          medplumVersioned(communication(message), message.version),
        ),
      ),
      medplum("2026-03-12T15:00:00Z", "delete", {}, "Communication/pub-del-m-r2"),
    ],
    finalizeAt: ["2026-03-12T13:00:00Z", "2026-03-12T16:00:00Z"],
  },
  // The same through a FHIR server's subscription: a history entry that deletes.
  "fhir-delete-entry": {
    config: CONFIG,
    deliveries: [
      ...thread("pub-del-f").map((message, index) =>
        fhir(message.sent.replace(":00:00Z", ":01:00Z"), `notification-del-${index + 1}`, index + 1, [
          { resource: communication(message) },
        ]),
      ),
      fhir("2026-03-12T15:00:00Z", "notification-del-4", 4, [{ deleted: "Communication/pub-del-f-r2" }]),
    ],
    finalizeAt: ["2026-03-12T13:00:00Z", "2026-03-12T16:00:00Z"],
  },
  // A reply billed alone in its window; an earlier reply arrives late and moves the window's start.
  "late-earlier-reply": (() => {
    const patient = "pub-late";
    const inquiry: Message = { id: "late-m1", version: 1, patient, sent: "2026-03-02T14:00:00Z" };
    const wednesday: Message = {
      id: "late-r2",
      version: 1,
      patient,
      sent: "2026-03-04T15:00:00Z",
      practitioner: "dr-adams",
      minutes: 7,
      inResponseTo: "late-m1",
    };
    const monday: Message = {
      id: "late-r1",
      version: 1,
      patient,
      sent: "2026-03-02T16:00:00Z",
      practitioner: "np-baker",
      minutes: 5,
      inResponseTo: "late-m1",
    };
    return {
      config: CONFIG,
      deliveries: [
        fhir("2026-03-02T14:01:00Z", "notification-late-1", 1, [{ resource: communication(inquiry) }]),
        fhir("2026-03-04T15:01:00Z", "notification-late-2", 2, [{ resource: communication(wednesday) }]),
        fhir("2026-03-13T15:00:00Z", "notification-late-3", 3, [{ resource: communication(monday) }]),
      ],
      finalizeAt: ["2026-03-13T13:00:00Z", "2026-03-13T16:00:00Z"],
    };
  })(),
};

const written: string[] = [];
for (const [name, scenario] of Object.entries(scenarios)) {
  const file = fileURLToPath(new URL(`../../test/fixtures/scenarios/${name}.json`, import.meta.url));
  await writeFile(file, `${JSON.stringify(scenario, null, 2)}\n`);
  written.push(file);
  process.stdout.write(`wrote test/fixtures/scenarios/${name}.json\n`);
}
// In the repository's JSON style, so a regenerated file differs only where its content does.
execFileSync("npx", ["biome", "format", "--write", ...written], { stdio: "ignore" });
