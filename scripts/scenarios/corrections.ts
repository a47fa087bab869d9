import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { communication, fhir, type Message } from "./fhir-subscription.js";

/**
 * Writes the correction scenarios (R16: corrections at the source) to test/fixtures/scenarios/: FHIR and Medplum
 * deliveries as those servers send them, with synthetic patients and clinicians. Their expected claim lines are
 * worked out by hand in the `.expected.jsonl` beside each file (not by this script).
 *
 *   npx tsx scripts/scenarios/corrections.ts
 */

const CONFIG = { timezone: "America/New_York", consent: "not-tracked" };

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
