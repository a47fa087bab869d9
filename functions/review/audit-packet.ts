import * as z from "zod";
import type { Attestation, Fact } from "../domain/facts.js";
import type { ClaimLineHistory, StoredDecision } from "../store/audit-store.js";

/**
 * The audit packet of one claim line (issue 15): every revision sent, the decision record behind each, read rule
 * by rule with its evidence, every other decision of the episode (those that sent nothing too), and the
 * attestations the decisions used, with who attested and when. Built from append-only records only, so the
 * packet of a line is the same whenever it is asked for. Pure: the store reads, this arranges.
 */

const finding = z.object({ rule: z.string(), title: z.string(), finding: z.string() });

export const auditRevisionSchema = z.object({
  revision: z.number().int(),
  action: z.enum(["original", "void", "replacement"]),
  adjusts: z.number().int().optional(),
  /** The decision that sent it: its episode and commit (see `decisions`). */
  episodeId: z.string(),
  commit: z.string(),
  decidedAt: z.string(),
  line: z.record(z.string(), z.unknown()),
});

export const auditDecisionSchema = z.object({
  episodeId: z.string(),
  commit: z.string(),
  decidedAt: z.string(),
  decision: z.string(),
  configVersion: z.number().int().optional(),
  outcome: z.string().optional(),
  reasons: z.array(z.string()),
  /** The revision this decision sent, if any. */
  sent: z.object({ revision: z.number().int(), action: z.string() }).optional(),
  rules: z.array(finding),
  /** The record as written: evidence ids, minutes by clinician, policies, code-set year. */
  record: z.record(z.string(), z.unknown()),
});

export const auditAttestationSchema = z.object({
  id: z.string(),
  action: z.string(),
  by: z.string(),
  at: z.string(),
  episodeId: z.string().optional(),
  /** The action's fields (consent date, diagnosis codes, visit and relatedness, practitioner, reason). */
  fields: z.record(z.string(), z.unknown()),
  retracted: z.boolean(),
  /** Commits of the decisions that used it. */
  usedBy: z.array(z.string()),
});

export const auditPacketSchema = z
  .object({
    claimLineId: z.string(),
    patientId: z.string(),
    revisions: z.array(auditRevisionSchema),
    decisions: z.array(auditDecisionSchema),
    attestations: z.array(auditAttestationSchema),
  })
  .meta({
    title: "Audit packet",
    description: "Every revision of a claim line and the decisions behind it.",
  });
export type AuditPacket = z.infer<typeof auditPacketSchema>;

/** The attestation ids a decision record names (R19 `evidence.attestations`). */
export function attestationIdsOf(history: ClaimLineHistory): string[] {
  const ids = new Set<string>();
  for (const { record } of history.decisions)
    for (const id of evidenceOf(record).attestations ?? []) ids.add(id);
  return [...ids].sort();
}

export function auditPacket(
  claimLineId: string,
  history: ClaimLineHistory,
  facts: readonly Fact[],
): AuditPacket {
  const revisions: AuditPacket["revisions"] = [];
  const decisions: AuditPacket["decisions"] = [];
  for (const decision of history.decisions) {
    const line = lineOf(decision.record);
    const sent = line?.claimLineId === claimLineId ? line : undefined;
    const decidedAt = String(decision.record.decidedAt ?? "");
    if (sent !== undefined)
      revisions.push({
        revision: sent.revision,
        action: sent.action,
        ...(sent.adjusts !== undefined && { adjusts: sent.adjusts }),
        episodeId: decision.episodeId,
        commit: decision.commit,
        decidedAt,
        line: sent as unknown as Record<string, unknown>,
      });
    decisions.push({
      episodeId: decision.episodeId,
      commit: decision.commit,
      decidedAt,
      decision: String(decision.record.decision ?? "decided"),
      ...(typeof decision.record.configVersion === "number" && {
        configVersion: decision.record.configVersion,
      }),
      ...(typeof decision.record.outcome === "string" && { outcome: decision.record.outcome }),
      reasons: stringsOf(decision.record.reasons),
      ...(sent !== undefined && { sent: { revision: sent.revision, action: sent.action } }),
      rules: rulesOf(decision),
      record: decision.record,
    });
  }
  revisions.sort((a, b) => a.revision - b.revision);
  const attestations = facts
    .filter((fact): fact is Attestation => fact.kind === "attestation")
    .map((fact) => {
      const { action, ...fields } = fact.resolution;
      return {
        id: fact.id,
        action,
        by: fact.by,
        at: fact.at,
        ...(fact.episodeId !== undefined && { episodeId: fact.episodeId }),
        fields,
        retracted: fact.retracted === true,
        usedBy: history.decisions
          .filter((decision) => (evidenceOf(decision.record).attestations ?? []).includes(fact.id))
          .map((decision) => decision.commit),
      };
    })
    .sort((a, b) => (a.at < b.at ? -1 : a.at > b.at ? 1 : a.id < b.id ? -1 : 1));
  return { claimLineId, patientId: history.patientId, revisions, decisions, attestations };
}

interface Evidence {
  inquiries?: string[];
  counted?: string[];
  uncounted?: string[];
  visits?: string[];
  consents?: string[];
  attestations?: string[];
  enrollments?: string[];
  consults?: string[];
}

const lineSchema = z
  .object({
    claimLineId: z.string(),
    revision: z.number().int(),
    action: z.enum(["original", "void", "replacement"]),
    adjusts: z.number().int().optional(),
  })
  .loose();
const lineOf = (record: Record<string, unknown>) => {
  const parsed = lineSchema.safeParse(record.line);
  return parsed.success ? parsed.data : undefined;
};
const evidenceOf = (record: Record<string, unknown>): Evidence =>
  typeof record.evidence === "object" && record.evidence !== null ? (record.evidence as Evidence) : {};
const stringsOf = (value: unknown): string[] =>
  Array.isArray(value) ? value.filter((item): item is string => typeof item === "string") : [];
const count = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

/**
 * The decision read rule by rule (DOMAIN.md R1-R19), in the words of docs/RULES.md: what the record says each
 * rule found. Only what the record holds; nothing is decided again here.
 */
function rulesOf({ record }: StoredDecision): AuditPacket["decisions"][number]["rules"] {
  if (record.decision === "superseded")
    return [
      { rule: "R16", title: "Settling and corrections", finding: String(record.reason ?? "superseded") },
    ];
  const evidence = evidenceOf(record);
  const reasons = new Set(stringsOf(record.reasons));
  const rules: AuditPacket["decisions"][number]["rules"] = [];
  const add = (rule: string, title: string, text: string) => rules.push({ rule, title, finding: text });
  const family = String(record.family ?? "digital-em");
  if (family !== "digital-em" && family !== "digital-assessment") {
    familyRules(family, record, evidence, reasons, add);
    return rules;
  }
  add(
    "R1",
    "Patient-initiated",
    reasons.has("not-patient-initiated")
      ? "no patient inquiry opened this time (not-patient-initiated)"
      : `opened by ${count(evidence.inquiries?.length ?? 0, "patient inquiry", "patient inquiries")}: ${(evidence.inquiries ?? []).join(", ")}`,
  );
  add(
    "R2-R3",
    "Window",
    `${String(record.windowStart)} to ${String(record.windowEnd)} (opened ${String(record.openedAt ?? record.windowStart)})`,
  );
  const clinicians = Array.isArray(record.minutesByClinician)
    ? (record.minutesByClinician as Array<Record<string, unknown>>)
    : [];
  add(
    "R4-R5",
    "Who counts, pooled",
    `${count(evidence.counted?.length ?? 0, "activity", "activities")} counted, ${count(evidence.uncounted?.length ?? 0, "activity", "activities")} seen and not counted; ` +
      (clinicians.length === 0
        ? "no clinician time"
        : clinicians
            .map(
              (c) =>
                `${String(c.practitionerId)} (${String(c.credential)}, NPI ${String(c.npi)}) ${String(c.minutes)} min`,
            )
            .join("; ")) +
      (record.renderingPractitionerId === undefined
        ? ""
        : `; rendering ${String(record.renderingPractitionerId)}`),
  );
  add(
    "R6",
    "Tiers",
    `${String(record.totalMinutes ?? 0)} min (${String(record.totalSeconds ?? 0)} s) → ` +
      (record.procedureCode === undefined ? "no code" : String(record.procedureCode)) +
      (reasons.has("below-threshold") ? " (below-threshold)" : ""),
  );
  const visits = evidence.visits ?? [];
  const bundled = record.bundledVisit as { visitId?: string; minutes?: number } | undefined;
  add(
    "R8-R10",
    "Visits",
    [
      visits.length === 0 ? "no visit considered" : `visits considered: ${visits.join(", ")}`,
      record.priorVisitId === undefined ? undefined : `prior visit ${String(record.priorVisitId)}`,
      reasons.has("related-prior-visit")
        ? "a related visit in the 7 days before (related-prior-visit)"
        : undefined,
      reasons.has("relatedness-unknown")
        ? "relatedness to a prior visit not known (relatedness-unknown)"
        : undefined,
      bundled === undefined ? undefined : `bundled into visit ${String(bundled.visitId)}`,
    ]
      .filter((part) => part !== undefined)
      .join("; "),
  );
  add(
    "R11",
    "Consent",
    reasons.has("consent-missing")
      ? "no consent in force (consent-missing)"
      : (evidence.consents ?? []).length === 0
        ? "no consent fact used: none required, or one recorded by an attestation (R19)"
        : `consent: ${(evidence.consents ?? []).join(", ")}`,
  );
  add("R15", "Date of service", String(record.serviceDate ?? "none"));
  const diagnoses = stringsOf(record.diagnosisCodes);
  add("R8, R16", "Diagnoses", diagnoses.length === 0 ? "none (diagnosis-missing)" : diagnoses.join(", "));
  add(
    "R18",
    "Configuration in force",
    `configuration version ${String(record.configVersion ?? "?")}, code-set year ${String(record.codeSetYear ?? "?")}` +
      (record.chargeCents === undefined ? "" : `, charge ${String(record.chargeCents)} cents`),
  );
  add(
    "R19",
    "Attestations",
    (evidence.attestations ?? []).length === 0
      ? "none used"
      : `used: ${(evidence.attestations ?? []).join(", ")}`,
  );
  add(
    "Outcome",
    "Outcome",
    `${String(record.outcome ?? "?")}${reasons.size === 0 ? "" : ` (${[...reasons].join(", ")})`}`,
  );
  return rules;
}

/** The families after the e-visits (R21-R25), read rule by rule from what the record holds. */
function familyRules(
  family: string,
  record: Record<string, unknown>,
  evidence: Evidence,
  reasons: ReadonlySet<string>,
  add: (rule: string, title: string, text: string) => void,
): void {
  const list = (ids: readonly string[] | undefined) => (ids ?? []).join(", ") || "none";
  const code =
    record.procedureCode === undefined
      ? "no code"
      : `${String(record.procedureCode)}${Number(record.units ?? 1) > 1 ? ` x${String(record.units)}` : ""}`;
  const window = `${String(record.windowStart)} to ${String(record.windowEnd)}`;
  if (family === "image-review") {
    add(
      "R21",
      "Image review",
      `photo inquiry ${list(evidence.inquiries)}; evaluation and follow-up ${list(evidence.counted)}; window ${window}` +
        (reasons.has("no-follow-up")
          ? "; no follow-up to the patient within 24 business hours (no-follow-up)"
          : "") +
        (reasons.has("counted-elsewhere")
          ? "; the e-visit holding the evaluation bills (counted-elsewhere, R24)"
          : "") +
        ` → ${code}`,
    );
  } else if (family === "interprofessional") {
    add(
      "R25",
      "Interprofessional consult",
      `request and report ${list(evidence.consults)}; ${String(record.totalMinutes ?? 0)} min by ${String(record.renderingPractitionerId)} → ${code}` +
        (reasons.has("transfer-of-care") ? "; care moved to the consultant (transfer-of-care)" : "") +
        (reasons.has("frequency-limit")
          ? "; the consultant reported within the 7 days before (frequency-limit)"
          : "") +
        (reasons.has("below-threshold") ? " (below-threshold)" : ""),
    );
  } else {
    add(
      "R22",
      "Enrollment",
      `enrollment ${list(evidence.enrollments)}, billing practitioner ${String(record.renderingPractitionerId)}` +
        (reasons.has("enrollment-incomplete")
          ? "; too few conditions or no care plan by the month's end (enrollment-incomplete)"
          : "") +
        (reasons.has("counted-elsewhere") ? "; another program bills this month (counted-elsewhere)" : ""),
    );
    add(
      "R23",
      "Month's time",
      `${window}: ${String(record.totalMinutes ?? 0)} min counted from ${count(evidence.counted?.length ?? 0, "entry", "entries")} → ${code}` +
        (reasons.has("below-threshold") ? " (below-threshold)" : ""),
    );
    add(
      "R24",
      "Counted once",
      `not counted here (another family's line, or not this code's time): ${list(evidence.uncounted)}`,
    );
  }
  add("R8-R10", "Visits", `visits considered: ${list(evidence.visits)}`);
  add(
    "R11",
    "Consent",
    reasons.has("consent-missing")
      ? "no consent in force (consent-missing)"
      : evidence.enrollments !== undefined
        ? "consent dated by the enrollment, or recorded by an attestation (R19)"
        : `consent: ${list(evidence.consents)}`,
  );
  add("R15", "Date of service", String(record.serviceDate ?? "none"));
  add("Diagnoses", "Diagnoses", list(stringsOf(record.diagnosisCodes)));
  add(
    "R18",
    "Configuration in force",
    `configuration version ${String(record.configVersion ?? "?")}` +
      (record.chargeCents === undefined ? "" : `, charge ${String(record.chargeCents)} cents`),
  );
  add(
    "R19",
    "Attestations",
    (evidence.attestations ?? []).length === 0 ? "none used" : `used: ${list(evidence.attestations)}`,
  );
  add(
    "Outcome",
    "Outcome",
    `${String(record.outcome ?? "?")}${reasons.size === 0 ? "" : ` (${[...reasons].join(", ")})`}`,
  );
}

const htmlEscape = (text: unknown): string =>
  String(text).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** The packet as a printable page: everything in it, escaped, no script. */
export function auditPacketHtml(packet: AuditPacket): string {
  const rows = (cells: unknown[][]) =>
    cells.map((row) => `<tr>${row.map((cell) => `<td>${htmlEscape(cell)}</td>`).join("")}</tr>`).join("\n");
  const revisions = rows(
    packet.revisions.map((r) => [
      r.revision,
      r.action,
      r.adjusts ?? "",
      String(r.line.procedureCode ?? ""),
      String(r.line.units ?? ""),
      String(r.line.serviceDate ?? ""),
      String(r.line.renderingProviderNpi ?? ""),
      String(r.line.chargeCents ?? ""),
      r.decidedAt,
    ]),
  );
  const decisions = packet.decisions
    .map(
      (d) => `<section class="decision">
<h3>Decision ${htmlEscape(d.commit)} · ${htmlEscape(d.decidedAt)} · ${htmlEscape(d.decision)}${d.outcome === undefined ? "" : ` · ${htmlEscape(d.outcome)}`}${
        d.sent === undefined
          ? ""
          : ` · sent revision ${htmlEscape(d.sent.revision)} (${htmlEscape(d.sent.action)})`
      }</h3>
<p>Episode ${htmlEscape(d.episodeId)}; configuration version ${htmlEscape(d.configVersion ?? "?")}</p>
<table><thead><tr><th>Rule</th><th>Title</th><th>Finding</th></tr></thead><tbody>
${rows(d.rules.map((rule) => [rule.rule, rule.title, rule.finding]))}
</tbody></table>
<details><summary>Policies and record</summary><pre>${htmlEscape(JSON.stringify(d.record, null, 2))}</pre></details>
</section>`,
    )
    .join("\n");
  const attestations = rows(
    packet.attestations.map((a) => [
      a.id,
      a.action,
      JSON.stringify(a.fields),
      a.by,
      a.at,
      a.retracted ? "retracted" : "",
      a.usedBy.join(", "),
    ]),
  );
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Audit packet ${htmlEscape(packet.claimLineId)}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:2rem;color:#111}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
td,th{border:1px solid #bbb;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#eee}
pre{white-space:pre-wrap;font-size:12px}
@media print{details{display:block}details>pre{display:block}}
</style></head><body>
<h1>Audit packet: claim line ${htmlEscape(packet.claimLineId)}</h1>
<p>Patient ${htmlEscape(packet.patientId)}</p>
<h2>Revisions sent</h2>
<table><thead><tr><th>Revision</th><th>Action</th><th>Adjusts</th><th>Code</th><th>Units</th><th>Date of service</th><th>Rendering NPI</th><th>Charge (cents)</th><th>Decided at</th></tr></thead><tbody>
${revisions}
</tbody></table>
<h2>Decisions</h2>
${decisions}
<h2>Attestations</h2>
<table><thead><tr><th>Id</th><th>Action</th><th>Fields</th><th>By</th><th>At</th><th></th><th>Used by</th></tr></thead><tbody>
${attestations}
</tbody></table>
</body></html>
`;
}
