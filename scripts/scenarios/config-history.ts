import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";
import { communication, fhir, type Message } from "./fhir-subscription.js";

/**
 * Writes the configuration-history scenarios (R18: tenant configuration as dated data) to
 * test/fixtures/scenarios/: FHIR deliveries and the configuration versions a practice pushes between them
 * (`configs`, each one's fields over the scenario's `config`). Synthetic patients, clinicians and NPIs (valid
 * check digits only). Their expected claim lines are worked out by hand in the `.expected.jsonl` beside each file
 * (not by this script).
 *
 *   npx tsx scripts/scenarios/config-history.ts
 */

const adams = { practitionerId: "dr-adams", npi: "1003000126", credential: "MD", name: "Synthetic Adams" };
const baker = { practitionerId: "np-baker", npi: "1003000134", credential: "NP", name: "Synthetic Baker" };
const grant = { practitionerId: "dr-grant", npi: "1003000183", credential: "MD", name: "Synthetic Grant" };
const hale = { practitionerId: "dr-hale", npi: "1003000191", credential: "DO", name: "Synthetic Hale" };
const base = (roster: object[]) => ({ timezone: "America/New_York", consent: "not-tracked", roster });

/** Each message delivered a minute after it was sent (or saved), in a notification of its own. */
function delivered(name: string, messages: Message[]) {
  return messages.map((message, index) => {
    const at = new Date(Date.parse(message.updated ?? message.sent) + 60_000)
      .toISOString()
      .replace(".000", "");
    return fhir(at, `notification-${name}-${index + 1}`, index + 1, [{ resource: communication(message) }]);
  });
}

const inquiry = (id: string, patient: string, sent: string): Message => ({ id, version: 1, patient, sent });
const reply = (
  id: string,
  patient: string,
  sent: string,
  practitioner: string,
  minutes: number,
  inResponseTo: string,
): Message => ({ id, version: 1, patient, sent, practitioner, minutes, inResponseTo });

const scenarios: Record<string, unknown> = {
  // A March thread billed at the default fees; a schedule from 1 April is pushed; the March reply is corrected
  // afterwards (re-deciding March under the new version) and an April thread is billed.
  "config-new-fee-schedule": (() => {
    const patient = "pub-fee";
    const r2 = reply("fee-r2", patient, "2026-03-03T15:00:00Z", "np-baker", 6, "fee-m1");
    return {
      config: base([adams, baker]),
      configs: [
        {
          at: "2026-03-20T14:00:00Z",
          config: {
            feeSchedules: [
              {
                effectiveFrom: "2026-04-01",
                fees: {
                  "99421": 1500,
                  "99422": 2950,
                  "99423": 4650,
                  "98970": 1170,
                  "98971": 2210,
                  "98972": 3350,
                },
              },
            ],
          },
        },
      ],
      deliveries: delivered("fee", [
        inquiry("fee-m1", patient, "2026-03-02T14:00:00Z"),
        reply("fee-r1", patient, "2026-03-02T19:00:00Z", "dr-adams", 8, "fee-m1"),
        r2,
        { ...r2, version: 2, minutes: 7, updated: "2026-04-02T15:00:00Z" },
        inquiry("fee-m2", patient, "2026-04-06T13:00:00Z"),
        reply("fee-r3", patient, "2026-04-06T17:00:00Z", "dr-adams", 9, "fee-m2"),
        reply("fee-r4", patient, "2026-04-07T14:00:00Z", "np-baker", 3, "fee-m2"),
      ]),
      finalizeAt: ["2026-03-12T13:00:00Z", "2026-04-16T13:00:00Z"],
    };
  })(),
  // Dr Grant leaves at the end of March: the push dates the entry's end. Their March line stays when March is
  // decided again (the inquiry re-saved in April); their time after it is an unknown clinician's.
  "config-clinician-leaves": (() => {
    const patient = "pub-leave";
    const m1 = inquiry("leave-m1", patient, "2026-03-02T14:00:00Z");
    return {
      config: base([adams, baker, grant]),
      configs: [
        {
          at: "2026-03-31T20:00:00Z",
          config: { roster: [adams, baker, { ...grant, effectiveTo: "2026-03-31" }] },
        },
      ],
      deliveries: delivered("leave", [
        m1,
        reply("leave-r1", patient, "2026-03-02T19:00:00Z", "dr-grant", 12, "leave-m1"),
        { ...m1, version: 2, updated: "2026-04-06T12:00:00Z" },
        inquiry("leave-m2", patient, "2026-04-06T13:00:00Z"),
        reply("leave-r2", patient, "2026-04-06T17:00:00Z", "dr-adams", 6, "leave-m2"),
        inquiry("leave-other-m1", "pub-leave-later", "2026-04-07T13:00:00Z"),
        reply("leave-other-r1", "pub-leave-later", "2026-04-08T14:00:00Z", "dr-grant", 10, "leave-other-m1"),
      ]),
      finalizeAt: ["2026-03-12T13:00:00Z", "2026-04-17T13:00:00Z"],
    };
  })(),
  // A locum's March time arrives before the roster holds them (unattributed); the push adds them for March and
  // the next run decides and bills that time.
  "config-locum-added": (() => {
    const patient = "pub-locum";
    return {
      config: base([adams, baker]),
      configs: [
        {
          at: "2026-03-16T14:00:00Z",
          config: {
            roster: [adams, baker, { ...hale, effectiveFrom: "2026-03-01", effectiveTo: "2026-03-31" }],
          },
        },
      ],
      deliveries: delivered("locum", [
        inquiry("locum-m1", patient, "2026-03-02T14:00:00Z"),
        reply("locum-r1", patient, "2026-03-02T19:00:00Z", "dr-hale", 9, "locum-m1"),
        reply("locum-r2", patient, "2026-03-03T15:00:00Z", "dr-adams", 4, "locum-m1"),
      ]),
      finalizeAt: ["2026-03-12T13:00:00Z", "2026-03-16T15:00:00Z"],
    };
  })(),
  // Corrections dated back over a sent line: Dr Adams's NPI was entered wrong (fixed for every date), then the
  // practice's own fees from 1 January arrive late.
  "config-dated-back-correction": (() => {
    const patient = "pub-back";
    const mistyped = { ...adams, npi: "1003000209" };
    return {
      config: base([mistyped, baker]),
      configs: [
        { at: "2026-03-20T14:00:00Z", config: { roster: [adams, baker] } },
        {
          at: "2026-03-25T14:00:00Z",
          config: {
            roster: [adams, baker],
            feeSchedules: [
              {
                effectiveFrom: "2026-01-01",
                fees: {
                  "99421": 1480,
                  "99422": 2900,
                  "99423": 4580,
                  "98970": 1150,
                  "98971": 2170,
                  "98972": 3290,
                },
              },
            ],
          },
        },
      ],
      deliveries: delivered("back", [
        inquiry("back-m1", patient, "2026-03-02T14:00:00Z"),
        reply("back-r1", patient, "2026-03-02T19:00:00Z", "dr-adams", 8, "back-m1"),
        reply("back-r2", patient, "2026-03-03T15:00:00Z", "np-baker", 6, "back-m1"),
      ]),
      finalizeAt: ["2026-03-12T13:00:00Z", "2026-03-20T15:00:00Z", "2026-03-25T15:00:00Z"],
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
