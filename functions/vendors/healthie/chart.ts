import * as z from "zod";
import { type Fact, factSchema, icd10Code, instant } from "../../domain/facts.js";
import type { MappedDelivery, ResourceFetcher } from "../format.js";

/**
 * What a client's Healthie chart says that Healthie's messages do not: the diagnoses (DOMAIN R8, and a claim line
 * needs one) and the consent to communication-technology services (R11). Read through `fetchResource` in the apply
 * function when a message is mapped, as `client_chart/<user id>`, which the fetcher (functions/vendors/healthie/fetcher.ts) answers
 * with Healthie's own objects:
 *
 * - `diagnoses`: the client's `User.diagnoses`, each a Healthie `Diagnosis` (`active`, `primary`,
 *   `first_symptom_date`, `end_date`, `icd_code { code }`;
 *   https://docs.gethealthie.com/reference/2026-01-01/objects/diagnosis). A message carries the ICD-10-CM codes of
 *   the diagnoses the client had on its date: first symptom not after it, and active, or ended on or after it; the
 *   primary diagnosis first, then in Healthie's order. Healthie cannot say which diagnosis a message is about, so
 *   every such diagnosis is named.
 * - `consent_forms`: the client's filled-out forms (`FormAnswerGroup`: `id`, `user_id`, `created_at`,
 *   `updated_at`, `finished`, `deleted_at`;
 *   https://docs.gethealthie.com/reference/2026-01-01/objects/formanswergroup) of the form templates the deployment names as its consent forms (`consentFormIds`). Healthie has no consent
 *   record of its own: practices collect consent with a form template they build, so which template is a consent
 *   is the practice's to say. Each finished form is a consent fact dated by its `created_at` ("the date on which
 *   the filled form was saved"); a deleted one is retracted, as Healthie's `form_answer_group.deleted` retracts it.
 *
 * Diagnosis dates are compared as calendar dates with the message's date as Healthie wrote it (its offset).
 */

/** Healthie's ISO 8601, or its older `2024-07-12 10:00:00 -0400`. */
export const healthieInstant = z
  .string()
  .transform((value) =>
    value.replace(/^(\d{4}-\d{2}-\d{2}) (\d{2}:\d{2}:\d{2}) ([+-]\d{2})(\d{2})$/, "$1T$2$3:$4"),
  )
  .pipe(instant);

/** Healthie's `ID`, read as a string. */
export const healthieId = z
  .union([z.string().min(1).max(64), z.number().int().nonnegative()])
  .transform(String);

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}/);

const diagnosisSchema = z.object({
  id: healthieId,
  active: z.boolean(),
  primary: z.boolean().nullish(),
  first_symptom_date: date.nullish(),
  end_date: date.nullish(),
  icd_code: z.object({ code: z.string().nullish() }).nullish(),
});
type Diagnosis = z.infer<typeof diagnosisSchema>;

const consentFormSchema = z.object({
  id: healthieId,
  user_id: healthieId,
  created_at: healthieInstant,
  updated_at: healthieInstant,
  finished: z.boolean(),
  deleted_at: z.string().nullish(),
});
type ConsentForm = z.infer<typeof consentFormSchema>;

const chartSchema = z.object({
  id: healthieId,
  diagnoses: z.array(z.unknown()),
  consent_forms: z.array(z.unknown()),
});

/** The fact schema's bound on a fact's diagnosis codes. */
const MAX_CODES = 50;

/** What `fetchResource` is asked for: the client's chart. */
export const clientChartReference = (patient: string): string => `client_chart/${patient}`;

/**
 * R8, R11: each message (not a deletion) carries its client's diagnoses on its date, and the client's consent forms
 * come with it as consent facts. A chart that fails its schema is reported in `skipped`: the messages still apply,
 * and their episodes show what is missing (`diagnosis-missing`, `consent-missing`). Throws what `fetchResource`
 * throws.
 */
export async function withClientChart(
  messages: MappedDelivery,
  dedupeKey: string,
  fetchResource: ResourceFetcher,
): Promise<MappedDelivery> {
  const patients = [
    ...new Set(
      messages.facts
        .filter((fact) => !fact.retracted && (fact.kind === "inquiry" || fact.kind === "clinician-activity"))
        .map((fact) => fact.patientId),
    ),
  ];
  if (patients.length === 0) return messages;
  const result: MappedDelivery = { ...messages, facts: [...messages.facts], skipped: [...messages.skipped] };
  for (const patient of patients) {
    const chart = readClientChart(patient, await fetchResource(clientChartReference(patient)), dedupeKey);
    result.skipped.push(...chart.skipped);
    result.facts = result.facts.map((fact) =>
      fact.patientId === patient &&
      !fact.retracted &&
      (fact.kind === "inquiry" || fact.kind === "clinician-activity")
        ? { ...fact, diagnosisCodes: chart.diagnosesOn(fact.at.slice(0, 10)) }
        : fact,
    );
    result.facts.push(...chart.consents);
  }
  return result;
}

interface ClientChart {
  /** R8: the ICD-10-CM codes of the client's diagnoses on `day` (YYYY-MM-DD), primary first. */
  diagnosesOn(day: string): string[];
  /** R11: a consent fact per consent form. */
  consents: Fact[];
  skipped: MappedDelivery["skipped"];
}

function readClientChart(patient: string, resource: unknown, dedupeKey: string): ClientChart {
  const reference = `healthie:${clientChartReference(patient)}`;
  const skipped: MappedDelivery["skipped"] = [];
  const chart = chartSchema.safeParse(resource);
  if (!chart.success || chart.data.id !== patient) {
    skipped.push({
      reference,
      reason: chart.success
        ? "fetched chart is not the client's"
        : `fetched chart fails its schema at ${pathOf(chart.error)}`,
    });
    return { diagnosesOn: () => [], consents: [], skipped };
  }
  const diagnoses = itemsOf(diagnosisSchema, chart.data.diagnoses, reference, "diagnoses", skipped);
  const forms = itemsOf(consentFormSchema, chart.data.consent_forms, reference, "consent_forms", skipped);
  // Primary first; otherwise Healthie's order (a stable sort).
  const ranked = [...diagnoses].sort((a, b) => Number(Boolean(b.primary)) - Number(Boolean(a.primary)));
  const consents: Fact[] = [];
  for (const form of forms.filter((one) => one.finished && one.user_id === patient)) {
    const fact = consentFact(form, dedupeKey);
    if (fact.success) consents.push(fact.data);
    else skipped.push({ reference, reason: `consent form is invalid at ${pathOf(fact.error)}` });
  }
  return { diagnosesOn: (day) => diagnosesOn(ranked, day), consents, skipped };
}

function consentFact(form: ConsentForm, dedupeKey: string) {
  return factSchema.safeParse({
    kind: "consent",
    id: `healthie:form_answer_group/${form.id}`,
    version: Date.parse(form.updated_at),
    dedupeKey,
    patientId: form.user_id,
    retracted: Boolean(form.deleted_at),
    at: form.created_at,
    status: "active",
  });
}

/** The ICD-10-CM codes of the diagnoses the client had on `day`, deduplicated, in order. */
function diagnosesOn(diagnoses: readonly Diagnosis[], day: string): string[] {
  const codes = new Set<string>();
  for (const diagnosis of diagnoses) {
    if (!heldOn(diagnosis, day)) continue;
    const code = diagnosis.icd_code?.code?.trim().toUpperCase() ?? "";
    if (icd10Code.safeParse(code).success) codes.add(code);
  }
  return [...codes].slice(0, MAX_CODES);
}

function heldOn(diagnosis: Diagnosis, day: string): boolean {
  if (diagnosis.first_symptom_date && diagnosis.first_symptom_date.slice(0, 10) > day) return false;
  if (diagnosis.active) return true;
  // An inactive diagnosis still held on the days up to its end date; without one it is not shown to.
  return diagnosis.end_date ? diagnosis.end_date.slice(0, 10) >= day : false;
}

/** The items that pass `schema`; each other one is reported by its index and failing path. */
function itemsOf<T extends z.ZodType>(
  schema: T,
  items: unknown[],
  reference: string,
  field: string,
  skipped: MappedDelivery["skipped"],
): Array<z.infer<T>> {
  const passed: Array<z.infer<T>> = [];
  for (const [index, item] of items.entries()) {
    const one = schema.safeParse(item);
    if (one.success) passed.push(one.data);
    else skipped.push({ reference, reason: `${field}.${index} fails its schema at ${pathOf(one.error)}` });
  }
  return passed;
}

/** The dotted path of the first failing field (never a value). */
const pathOf = (error: z.ZodError): string => error.issues[0]?.path.join(".") || "(root)";
