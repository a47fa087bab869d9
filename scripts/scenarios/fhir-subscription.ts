/**
 * FHIR deliveries for the public scenarios, as a server speaking the R4 Subscriptions Backport sends them:
 * `history` notification bundles carrying full Communication resources (or deletions). Synthetic patients and
 * clinicians only.
 */

const BASE = "https://ehr.example.org/fhir";
const TIME_SPENT = "https://portaltime.dev/fhir/StructureDefinition/time-spent";
const ICD10 = "http://hl7.org/fhir/sid/icd-10-cm";

export interface Message {
  id: string;
  version: number;
  patient: string;
  sent: string;
  /** When this version was saved (a correction's time); the sent time when absent. */
  updated?: string;
  /** A clinician's reply with the minutes documented, else the patient's message. */
  practitioner?: string;
  minutes?: number;
  inResponseTo?: string;
}

/** A Communication as a FHIR server stores it (Medplum's ids and versions are opaque; these are readable). */
export function communication(message: Message) {
  return {
    resourceType: "Communication",
    id: message.id,
    meta: { versionId: String(message.version), lastUpdated: message.updated ?? message.sent },
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

export interface Entry {
  resource?: ReturnType<typeof communication>;
  /** A deletion: the resource named, no content. */
  deleted?: string;
}

/** An R4 Subscriptions Backport `history` notification, full-resource, one event per entry. */
export function notification(id: string, eventNumber: number, timestamp: string, entries: Entry[]) {
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

export const fhir = (at: string, id: string, eventNumber: number, entries: Entry[]) => ({
  at,
  format: "fhir",
  body: notification(id, eventNumber, at, entries),
});
