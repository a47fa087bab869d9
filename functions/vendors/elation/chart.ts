import * as z from "zod";
import { type FactInput, icd10Code, instant } from "../../domain/facts.js";
import type { MappedDelivery, ResourceFetcher } from "../format.js";

/**
 * What a patient's Elation chart says that Elation's messages do not: the diagnoses (DOMAIN R8, and a claim line
 * needs one) and the consent to communication-technology services (R11). Read through `fetchResource` in the apply
 * function when a message is mapped.
 *
 * - Diagnoses: the patient's problem list, `GET /problems/?patient=<id>` (Elation's Patient Profile API,
 *   https://docs.elationhealth.com/reference/problems_list; `PatientProblem`: `status` Active | Controlled |
 *   Resolved, `start_date` and `resolved_date` dates, `deleted_date`, `rank`, `verification_status`, `dx`: a list
 *   of `{ icd10: [...], icd9: [...], snomed }`). A message carries the ICD-10-CM codes of the problems on the list
 *   on its date: started by then, not resolved before it, not deleted, not refuted or entered in error, in the
 *   chart's rank order. Elation cannot say which problem a message is about, so every such problem is named.
 * - Consent: the chart's documents of Elation's report type `Consent`, `GET /reports/?patient=<id>` (Patient
 *   Document API, https://docs.elationhealth.com/reference/reports_list; `Report`: `report_type`, `document_date`,
 *   `deleted_date`), each a consent fact dated by its `document_date`. Elation files consent to treatment, to
 *   procedures and to virtual care alike under `Consent`: it cannot say what a document consents to. The
 *   Patient's `consents` are not read: they are consents to share data with applications (e.g. an HIE).
 *
 * Dates without an offset are UTC (elation/format.ts); a problem's dates are compared with the message's UTC date.
 */

const elationId = z.union([z.number().int().nonnegative(), z.string().regex(/^\d{1,20}$/)]).transform(String);

export const elationInstant = z
  .string()
  .transform((value) => (/(Z|[+-]\d{2}:?\d{2})$/.test(value) ? value : `${value}Z`))
  .pipe(instant);

const date = z.string().regex(/^\d{4}-\d{2}-\d{2}/);

const problemSchema = z.object({
  id: elationId,
  status: z.enum(["Active", "Controlled", "Resolved"]),
  start_date: date.nullish(),
  resolved_date: date.nullish(),
  deleted_date: z.string().nullish(),
  rank: z.number().int().nullish(),
  verification_status: z.string().nullish(),
  dx: z.array(z.object({ icd10: z.array(z.string()).nullish() })).nullish(),
});
type Problem = z.infer<typeof problemSchema>;

const reportSchema = z.object({
  id: elationId,
  patient: elationId,
  report_type: z.string(),
  document_date: elationInstant,
  deleted_date: z.string().nullish(),
});

/** Elation's report type for consent documents (its `ReportTypeEnum`). */
const CONSENT_REPORT_TYPE = "Consent";

/** Problems that never held: a refuted diagnosis, or one entered in error. */
const voidVerification = new Set(["refuted", "entered_in_error"]);

/** The fact schema's bound on a fact's diagnosis codes. */
const MAX_CODES = 50;

/** What every consent fact from one event shares. */
export interface ChartEvent {
  dedupeKey: string;
  version: number;
}

export interface PatientChart {
  /** R8: the ICD-10-CM codes of the problems on the list at `at`, in the chart's order. */
  diagnosesAt(at: string): string[];
  /** R11: a consent fact per consent document. */
  consents: FactInput[];
  /** What could not be read (a list that fails its schema): reported, never a reason to drop the message. */
  skipped: MappedDelivery["skipped"];
}

/** Reads the patient's problem list and consent documents. Throws what `fetchResource` throws. */
export async function readPatientChart(
  patient: string,
  event: ChartEvent,
  fetchResource: ResourceFetcher,
): Promise<PatientChart> {
  const [problemList, reportList] = await Promise.all([
    fetchResource(`problems?patient=${patient}`),
    fetchResource(`reports?patient=${patient}`),
  ]);
  const skipped: MappedDelivery["skipped"] = [];
  const problems = listOf(problemSchema, problemList, `elation:problems?patient=${patient}`, skipped);
  const reports = listOf(reportSchema, reportList, `elation:reports?patient=${patient}`, skipped);
  const ranked = [...problems].sort(
    (a, b) =>
      (a.rank ?? Number.MAX_SAFE_INTEGER) - (b.rank ?? Number.MAX_SAFE_INTEGER) ||
      (a.start_date ?? "").localeCompare(b.start_date ?? "") ||
      a.id.length - b.id.length ||
      a.id.localeCompare(b.id),
  );
  return {
    diagnosesAt: (at) => diagnosesOn(ranked, at.slice(0, 10)),
    consents: reports
      .filter((report) => report.report_type === CONSENT_REPORT_TYPE && report.patient === patient)
      .map((report) => consentFact(report, event)),
    skipped,
  };
}

/** A `reports` event's document as a consent fact; undefined for any other type of report. */
export function consentOfReport(
  data: unknown,
  event: ChartEvent & { deleted: boolean },
): FactInput | undefined {
  const report = reportSchema.safeParse(data);
  if (!report.success || report.data.report_type !== CONSENT_REPORT_TYPE) return undefined;
  const fact = consentFact(report.data, event);
  return { ...fact, retracted: fact.retracted || event.deleted };
}

function consentFact(report: z.infer<typeof reportSchema>, event: ChartEvent): FactInput {
  return {
    kind: "consent",
    id: `elation:reports/${report.id}`,
    version: event.version,
    dedupeKey: event.dedupeKey,
    patientId: report.patient,
    retracted: Boolean(report.deleted_date),
    at: report.document_date,
    status: "active",
  };
}

/** The ICD-10-CM codes of the problems on the list on `day` (YYYY-MM-DD), deduplicated, in order. */
function diagnosesOn(problems: readonly Problem[], day: string): string[] {
  const codes = new Set<string>();
  for (const problem of problems) {
    if (!onListOn(problem, day)) continue;
    for (const dx of problem.dx ?? [])
      for (const code of dx.icd10 ?? []) {
        const normalized = code.trim().toUpperCase();
        if (icd10Code.safeParse(normalized).success) codes.add(normalized);
      }
  }
  return [...codes].slice(0, MAX_CODES);
}

function onListOn(problem: Problem, day: string): boolean {
  if (problem.deleted_date) return false;
  if (voidVerification.has(problem.verification_status ?? "")) return false;
  if (problem.start_date && problem.start_date.slice(0, 10) > day) return false;
  if (problem.status !== "Resolved") return true;
  // A resolved problem still held on the days before its resolution; without a date it is not shown to.
  return problem.resolved_date ? problem.resolved_date.slice(0, 10) >= day : false;
}

/** The items of a fetched `{ results }` that pass `schema`; the others are reported once, by path. */
function listOf<T extends z.ZodType>(
  schema: T,
  list: unknown,
  reference: string,
  skipped: MappedDelivery["skipped"],
): Array<z.infer<T>> {
  const parsed = z.object({ results: z.array(z.unknown()) }).safeParse(list);
  if (!parsed.success) {
    skipped.push({ reference, reason: "fetched list is not a list of results" });
    return [];
  }
  const items: Array<z.infer<T>> = [];
  for (const [index, item] of parsed.data.results.entries()) {
    const one = schema.safeParse(item);
    if (one.success) items.push(one.data);
    else skipped.push({ reference, reason: `item ${index} fails its schema at ${pathOf(one.error)}` });
  }
  return items;
}

/** The dotted path of the first failing field (never a value). */
const pathOf = (error: z.ZodError): string => error.issues[0]?.path.join(".") || "(root)";
