import { DateTime } from "luxon";
import type { ReplayDelivery } from "./scenario-file.js";

/**
 * A realistic synthetic week of a small practice, for `npm start`. Everything is synthetic. The week is placed
 * in the past (its windows closed and settled by now), so the real-time finalizer finds its episodes due at once:
 * the deliveries are replayed at their own instants in seconds, an accelerated clock.
 *
 * What it shows: two clinicians pooling time (99422), a social worker (98972), a physical therapist (98971) with
 * a nurse's uncounted time, a visit absorbing the online work, time below threshold, clinician-started time,
 * missing consent, a related visit the week before; FHIR and bridge deliveries, a duplicate delivery and a reply
 * delivered before the inquiry it answers.
 */
export function demoWeek(now: Date, zone = "America/New_York"): ReplayDelivery[] {
  const monday = DateTime.fromJSDate(now, { zone }).startOf("week").minus({ weeks: 2 });
  const at = (day: number, hour: number, minute = 0) =>
    monday.plus({ days: day, hours: hour, minutes: minute }).toUTC().toISO() as string;
  const consentLastYear = monday.minus({ months: 4 }).toUTC().toISO() as string;
  const deliveries: ReplayDelivery[] = [];
  const events = new Map<string, number>();

  /** A FHIR R4 backport notification carrying one resource, on the patient's own subscription. */
  const fhir = (deliveredAt: string, resource: Record<string, unknown>) => {
    const subscription = `demo-${String((resource.subject as { reference: string }).reference).split("/")[1]}`;
    const event = (events.get(subscription) ?? 0) + 1;
    events.set(subscription, event);
    const type = String(resource.resourceType);
    deliveries.push({
      at: deliveredAt,
      format: "fhir",
      body: {
        resourceType: "Bundle",
        id: `${subscription}-notification-${event}`,
        type: "history",
        timestamp: deliveredAt,
        entry: [
          {
            fullUrl: `urn:uuid:${subscription}-${event}`,
            resource: {
              resourceType: "Parameters",
              parameter: [
                {
                  name: "subscription",
                  valueReference: { reference: `https://ehr.example.org/fhir/Subscription/${subscription}` },
                },
                { name: "topic", valueCanonical: "https://ehr.example.org/fhir/SubscriptionTopic/portal" },
                { name: "status", valueCode: "active" },
                { name: "type", valueCode: "event-notification" },
                { name: "events-since-subscription-start", valueString: String(event) },
                {
                  name: "notification-event",
                  part: [
                    { name: "event-number", valueString: String(event) },
                    { name: "timestamp", valueInstant: deliveredAt },
                    {
                      name: "focus",
                      valueReference: { reference: `https://ehr.example.org/fhir/${type}/${resource.id}` },
                    },
                  ],
                },
              ],
            },
          },
          { fullUrl: `https://ehr.example.org/fhir/${type}/${resource.id}`, resource },
        ],
      },
    });
  };
  const icd = (code: string) => [{ coding: [{ system: "http://hl7.org/fhir/sid/icd-10-cm", code }] }];
  const message = (
    id: string,
    patient: string,
    sent: string,
    sender: string,
    dx: string,
    minutes?: number,
    replyTo?: string,
  ) => ({
    resourceType: "Communication",
    id,
    meta: { versionId: "1" },
    status: "completed",
    subject: { reference: `Patient/${patient}` },
    sent,
    sender: { reference: sender },
    payload: [{ contentString: "Synthetic message text for the demo." }],
    reasonCode: icd(dx),
    ...(replyTo === undefined ? {} : { inResponseTo: [{ reference: `Communication/${replyTo}` }] }),
    ...(minutes === undefined
      ? {}
      : {
          extension: [
            {
              url: "https://portaltime.dev/fhir/StructureDefinition/time-spent",
              valueDuration: {
                value: minutes,
                unit: "min",
                system: "http://unitsofmeasure.org",
                code: "min",
              },
            },
          ],
        }),
  });
  /** A bridge (Standard Webhooks) delivery of facts about one patient. */
  const bridge = (deliveredAt: string, webhookId: string, patientId: string, facts: unknown[]) =>
    deliveries.push({
      at: deliveredAt,
      format: "bridge",
      headers: { "webhook-id": webhookId },
      body: { schemaVersion: "1.0", patientId, facts },
    });
  const consent = (patientId: string) =>
    bridge(at(0, 7), `demo-consent-${patientId}`, patientId, [
      { kind: "consent", id: `consent-${patientId}`, at: consentLastYear, status: "active" },
    ]);

  // demo-01 (FHIR): an MD and an NP pool 8 + 6 minutes: 99422, rendered by the MD.
  consent("demo-01");
  fhir(at(0, 9, 1), message("d01-m1", "demo-01", at(0, 9), "Patient/demo-01", "E11.9"));
  fhir(at(0, 14, 1), message("d01-r1", "demo-01", at(0, 14), "Practitioner/dr-adams", "E11.9", 8, "d01-m1"));
  fhir(
    at(2, 10, 31),
    message("d01-r2", "demo-01", at(2, 10, 30), "Practitioner/np-baker", "E11.9", 6, "d01-m1"),
  );

  // demo-02 (bridge): a social worker's 14 + 11 minutes: 98972.
  consent("demo-02");
  bridge(at(1, 8, 1), "demo-02-a", "demo-02", [
    {
      kind: "inquiry",
      id: "d02-m1",
      messageId: "d02-m1",
      at: at(1, 8),
      author: "patient",
      diagnosisCodes: ["F41.1"],
    },
  ]);
  bridge(at(1, 16, 1), "demo-02-b", "demo-02", [
    {
      kind: "clinician-activity",
      id: "d02-r1",
      messageId: "d02-r1",
      inResponseTo: "d02-m1",
      at: at(1, 16),
      practitionerId: "lcsw-flores",
      minutes: 14,
      diagnosisCodes: ["F41.1"],
    },
  ]);
  bridge(at(3, 11, 1), "demo-02-c", "demo-02", [
    {
      kind: "time-entry",
      id: "d02-t1",
      at: at(3, 11),
      practitionerId: "lcsw-flores",
      minutes: 11,
      diagnosisCodes: ["F41.1"],
    },
  ]);

  // demo-03 (FHIR): 12 minutes, then an office visit on Thursday absorbs them (R9).
  consent("demo-03");
  fhir(at(0, 10, 1), message("d03-m1", "demo-03", at(0, 10), "Patient/demo-03", "I10"));
  fhir(at(0, 17, 1), message("d03-r1", "demo-03", at(0, 17), "Practitioner/dr-evans", "I10", 12, "d03-m1"));
  fhir(at(3, 15, 30), {
    resourceType: "Encounter",
    id: "d03-e1",
    meta: { versionId: "1" },
    status: "finished",
    class: { system: "http://terminology.hl7.org/CodeSystem/v3-ActCode", code: "AMB" },
    subject: { reference: "Patient/demo-03" },
    period: { start: at(3, 15), end: at(3, 15, 20) },
    reasonCode: icd("I10"),
  });

  // demo-04 (bridge): 3 minutes is below the 5-minute threshold (R6).
  consent("demo-04");
  bridge(at(2, 9, 1), "demo-04-a", "demo-04", [
    {
      kind: "inquiry",
      id: "d04-m1",
      messageId: "d04-m1",
      at: at(2, 9),
      author: "patient",
      diagnosisCodes: ["J30.9"],
    },
    {
      kind: "clinician-activity",
      id: "d04-r1",
      messageId: "d04-r1",
      inResponseTo: "d04-m1",
      at: at(2, 9),
      practitionerId: "dr-adams",
      minutes: 3,
      diagnosisCodes: ["J30.9"],
    },
  ]);

  // demo-05 (bridge): the clinician started the thread: not patient-initiated (R1).
  consent("demo-05");
  bridge(at(1, 13, 1), "demo-05-a", "demo-05", [
    {
      kind: "clinician-activity",
      id: "d05-r1",
      messageId: "d05-r1",
      at: at(1, 13),
      practitionerId: "dr-adams",
      minutes: 9,
      diagnosisCodes: ["E78.5"],
    },
  ]);

  // demo-06 (bridge): 15 minutes but no consent on file (R11): needs review.
  bridge(at(2, 12, 1), "demo-06-a", "demo-06", [
    {
      kind: "inquiry",
      id: "d06-m1",
      messageId: "d06-m1",
      at: at(2, 12),
      author: "patient",
      diagnosisCodes: ["M25.561"],
    },
    {
      kind: "clinician-activity",
      id: "d06-r1",
      messageId: "d06-r1",
      inResponseTo: "d06-m1",
      at: at(2, 18),
      practitionerId: "np-baker",
      minutes: 15,
      diagnosisCodes: ["M25.561"],
    },
  ]);

  // demo-07 (bridge): a visit for the same problem the week before (R8).
  consent("demo-07");
  bridge(at(-3, 11, 1), "demo-07-v", "demo-07", [
    {
      kind: "visit",
      id: "d07-v1",
      at: at(-3, 11),
      status: "finished",
      modality: "in-person",
      source: "encounter",
      diagnosisCodes: ["E11.65"],
    },
  ]);
  bridge(at(1, 10, 1), "demo-07-a", "demo-07", [
    {
      kind: "inquiry",
      id: "d07-m1",
      messageId: "d07-m1",
      at: at(1, 10),
      author: "patient",
      diagnosisCodes: ["E11.9"],
    },
    {
      kind: "clinician-activity",
      id: "d07-r1",
      messageId: "d07-r1",
      inResponseTo: "d07-m1",
      at: at(1, 15),
      practitionerId: "dr-adams",
      minutes: 9,
      diagnosisCodes: ["E11.9"],
    },
  ]);

  // demo-08 (bridge): a physical therapist's 7 + 4 minutes: 98971; the nurse's 5 minutes never count (R4). The
  // therapist's first reply reaches portaltime before the inquiry it answers, and the second reply twice.
  consent("demo-08");
  bridge(at(0, 12, 5), "demo-08-r1", "demo-08", [
    {
      kind: "clinician-activity",
      id: "d08-r1",
      messageId: "d08-r1",
      inResponseTo: "d08-m1",
      at: at(0, 12),
      practitionerId: "pt-chen",
      minutes: 7,
      diagnosisCodes: ["M54.50"],
    },
  ]);
  bridge(at(0, 12, 6), "demo-08-m1", "demo-08", [
    {
      kind: "inquiry",
      id: "d08-m1",
      messageId: "d08-m1",
      at: at(0, 8),
      author: "patient",
      diagnosisCodes: ["M54.50"],
    },
  ]);
  bridge(at(0, 13, 1), "demo-08-s1", "demo-08", [
    {
      kind: "staff-activity",
      id: "d08-s1",
      messageId: "d08-s1",
      inResponseTo: "d08-m1",
      at: at(0, 13),
      staffId: "rn-diaz",
      minutes: 5,
    },
  ]);
  for (const retry of [0, 2]) {
    bridge(at(4, 9, 1 + retry), "demo-08-r2", "demo-08", [
      {
        kind: "clinician-activity",
        id: "d08-r2",
        messageId: "d08-r2",
        inResponseTo: "d08-m1",
        at: at(4, 9),
        practitionerId: "pt-chen",
        minutes: 4,
        diagnosisCodes: ["M54.50"],
      },
    ]);
  }

  return deliveries.sort((a, b) => Date.parse(a.at) - Date.parse(b.at));
}
