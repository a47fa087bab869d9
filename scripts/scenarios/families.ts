import { execFileSync } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { fileURLToPath } from "node:url";

/**
 * Writes the public scenarios of the families after the e-visits (R21-R25) to test/fixtures/scenarios/: `bridge`
 * 1.2 deliveries (one event per fact, delivered a minute after it happened) for synthetic patients and
 * clinicians (NPIs with valid check digits only). The expected claim lines are worked out by hand below, from
 * DOMAIN.md and docs/RULES.md, and written to the `.expected.jsonl` beside each file by hand (not by this script).
 *
 *   npx tsx scripts/scenarios/families.ts
 *
 * ccm-month-with-e-visit (America/New_York, EST -05:00; consent not tracked): pub-ccm is enrolled in CCM from
 * 2026-01-01 (dr-adams, E11.9 and I10, care plan 2026-01-01). January: staff time ma-ford 10 min on 01-06, 01-13,
 * 01-20, 01-27 (40) and rn-diaz (RN, staff) 15 min on 01-22: 55 staff minutes. An e-visit on 01-14 (inquiry
 * 09:00, dr-adams 12 min at 10:00): 99422, 2846, dated 01-14; its 12 minutes are the e-visit's (R24). Another on
 * 01-28 (inquiry 09:00, dr-adams 4 min at 10:00): below threshold, so its 4 minutes go to CCM (R24,
 * digital-em-first). January's CCM time: 55 + 4 = 59 minutes; dr-adams's own 4 (< 30, no 99491): 99490 (6049),
 * and 99439 x floor((59 - 20) / 20) = 1 (4593), both dated 01-31 (month-end), 59 minutes, NPI 1003000126.
 * R20: the 01-28 e-visit starts 14 days after 01-14's date of service, no prior e-visit (and bills nothing).
 * Settled: January 2026-02-03T05:00Z, the 01-28 window (to 02-04 00:00 EST) 2026-02-06T05:00Z. Finalized
 * 2026-02-07T12:00Z.
 *
 * image-review-photo (imageReview on): pub-photo sends a photo (image/jpeg) Friday 2026-03-06 15:00 EST;
 * dr-adams answers it Monday 2026-03-09 11:00 EDT, 3 minutes, to the patient. 24 business hours from Friday
 * 15:00: 9 hours on Friday, none on the weekend, 15 on Monday: Monday 15:00 EDT, so 11:00 is in time. The e-visit
 * (3 minutes) is below threshold, so it bills nothing and G2010 bills: 1197, dated 03-09, totalMinutes 3
 * (contract 1.1, an untimed code), NPI 1003000126. pub-photo-late sends a video Wednesday 03-11 09:00 EDT,
 * answered Thursday 03-12 10:00 (the deadline was Thursday 09:00): no-follow-up, nothing. Finalized
 * 2026-03-19T12:00Z (the last e-visit window, 03-12 to 03-19 00:00 EDT, is not yet settled; nothing in it bills).
 *
 * interprofessional-consult: dr-adams asks np-baker about pub-consult on 2026-03-02 14:00Z (9:00 EST), 18
 * minutes of his own, M54.50; np-baker's written report 2026-03-03 16:00Z, 9 minutes. Consultant: 99451 (written,
 * 5+ minutes), 3299, dated 03-03, NPI 1003000134; requester: 99452 (16+ minutes), 3364, dated 03-02, NPI
 * 1003000126; both 9 and 18 minutes. pub-consult-seen: the same consult, and np-baker sees the patient in person
 * on 03-10 (within 14 days after the report): bundled-into-visit, nothing. The windows end 14 local days after the
 * report (03-18 00:00 EDT) and settle 48 hours later. Finalized 2026-03-21T12:00Z.
 */

const roster = [
  { practitionerId: "dr-adams", npi: "1003000126", credential: "MD", name: "Synthetic Adams" },
  { practitionerId: "np-baker", npi: "1003000134", credential: "NP", name: "Synthetic Baker" },
  { practitionerId: "rn-diaz", npi: "1003000159", credential: "RN", name: "Synthetic Diaz" },
];

type BridgeFact = Record<string, unknown> & { id: string; at: string };

/** One bridge 1.2 event per fact, delivered a minute after its time, in time order. */
function deliveries(patientId: string, facts: BridgeFact[]) {
  return facts.map((fact) => ({
    at: new Date(Date.parse(fact.at) + 60_000).toISOString().replace(".000", ""),
    format: "bridge",
    body: { schemaVersion: "1.2", patientId, facts: [fact] },
  }));
}

const staff = (id: string, at: string, minutes: number): BridgeFact => ({
  kind: "staff-activity",
  id,
  at,
  staffId: "ma-ford",
  minutes,
});
const inquiry = (id: string, at: string, extra: Record<string, unknown> = {}): BridgeFact => ({
  kind: "inquiry",
  id,
  at,
  author: "patient",
  messageId: id,
  diagnosisCodes: ["E11.9"],
  ...extra,
});
const reply = (id: string, at: string, practitionerId: string, minutes: number, to: string): BridgeFact => ({
  kind: "clinician-activity",
  id,
  at,
  practitionerId,
  minutes,
  messageId: id,
  inResponseTo: to,
  diagnosisCodes: ["E11.9"],
});

const ccm = {
  config: { timezone: "America/New_York", consent: "not-tracked", roster },
  deliveries: deliveries("pub-ccm", [
    {
      kind: "enrollment",
      id: "enr-1",
      at: "2026-01-02T15:00:00Z",
      program: "ccm",
      status: "active",
      billingPractitionerId: "dr-adams",
      conditions: ["E11.9", "I10"],
      startDate: "2026-01-01",
      consentDate: "2026-01-01",
      carePlanDate: "2026-01-01",
    },
    staff("s1", "2026-01-06T16:00:00Z", 10),
    staff("s2", "2026-01-13T16:00:00Z", 10),
    inquiry("q1", "2026-01-14T14:00:00Z"),
    reply("a1", "2026-01-14T15:00:00Z", "dr-adams", 12, "q1"),
    staff("s3", "2026-01-20T16:00:00Z", 10),
    reply("rn1", "2026-01-22T16:00:00Z", "rn-diaz", 15, "q1"),
    staff("s4", "2026-01-27T16:00:00Z", 10),
    inquiry("q2", "2026-01-28T14:00:00Z"),
    reply("a2", "2026-01-28T15:00:00Z", "dr-adams", 4, "q2"),
  ]),
  finalizeAt: "2026-02-07T12:00:00Z",
};

const photo = {
  config: {
    timezone: "America/New_York",
    consent: "not-tracked",
    imageReview: "when-digital-em-does-not-bill",
    roster,
  },
  deliveries: [
    ...deliveries("pub-photo", [
      inquiry("p1", "2026-03-06T20:00:00Z", { attachments: [{ kind: "image", contentType: "image/jpeg" }] }),
      { ...reply("p1r", "2026-03-09T15:00:00Z", "dr-adams", 3, "p1"), recipient: "patient" },
    ]),
    ...deliveries("pub-photo-late", [
      inquiry("p2", "2026-03-11T13:00:00Z", { attachments: [{ kind: "video", contentType: "video/mp4" }] }),
      reply("p2r", "2026-03-12T14:00:00Z", "dr-adams", 2, "p2"),
    ]),
  ],
  finalizeAt: "2026-03-19T12:00:00Z",
};

const consult = (suffix: string): BridgeFact[] => [
  {
    kind: "consult-request",
    id: `cr-${suffix}`,
    at: "2026-03-02T14:00:00Z",
    requesterId: "dr-adams",
    consultantId: "np-baker",
    minutes: 18,
    diagnosisCodes: ["M54.50"],
  },
  {
    kind: "consult-report",
    id: `rp-${suffix}`,
    at: "2026-03-03T16:00:00Z",
    requestId: `cr-${suffix}`,
    consultantId: "np-baker",
    report: "written",
    minutes: 9,
  },
];
const consults = {
  config: { timezone: "America/New_York", consent: "not-tracked", roster },
  deliveries: [
    ...deliveries("pub-consult", consult("1")),
    ...deliveries("pub-consult-seen", [
      ...consult("2"),
      {
        kind: "visit",
        id: "v2",
        at: "2026-03-10T15:00:00Z",
        status: "finished",
        modality: "in-person",
        source: "encounter",
        practitionerId: "np-baker",
        diagnosisCodes: ["M54.50"],
      },
    ]),
  ],
  finalizeAt: "2026-03-21T12:00:00Z",
};

const out = fileURLToPath(new URL("../../test/fixtures/scenarios/", import.meta.url));
for (const [name, scenario] of Object.entries({
  "ccm-month-with-e-visit": ccm,
  "image-review-photo": photo,
  "interprofessional-consult": consults,
})) {
  const file = `${out}${name}.json`;
  await writeFile(file, `${JSON.stringify(scenario, null, 2)}\n`);
  execFileSync("npx", ["biome", "format", "--write", file], { stdio: "ignore" });
  process.stdout.write(`wrote test/fixtures/scenarios/${name}.json\n`);
}
