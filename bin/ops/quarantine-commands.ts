import type { Quarantine, QuarantinedPatient } from "../../functions/store/quarantine-store.js";
import type { OpsOutput } from "./command-output.js";

/** `quarantine list`: one line per patient the finalizer set aside (or one JSON object per line), exit 0. */
export async function listQuarantine(
  quarantine: Quarantine,
  output: OpsOutput,
  options: { json: boolean; now: number },
): Promise<number> {
  const patients = await quarantine.list();
  if (patients.length === 0) {
    // JSON lines stay empty for a consumer; the person reading the terminal still gets an answer.
    if (options.json) output.err("no patient in quarantine");
    else output.out("no patient in quarantine");
    return 0;
  }
  for (const patient of patients)
    output.out(options.json ? JSON.stringify(asJson(patient)) : describe(patient, options.now));
  if (!options.json) {
    const waiting = patients.filter((patient) => patient.retryAt === undefined).length;
    output.out(
      `${count(patients.length, "patient")} in quarantine: ${waiting} ${waiting === 1 ? "waits" : "wait"} for an operator, ` +
        `${patients.length - waiting} ${patients.length - waiting === 1 ? "retries" : "retry"} automatically`,
    );
  }
  return 0;
}

export type RetryRequest = { all: true } | { all: false; patientIds: readonly string[] };

/**
 * `quarantine retry`: releases the patients (their due markers never left), so the next finalizer run decides
 * them again. Exit 1 when a named patient was not in quarantine, so a typo in an id is never taken for success.
 */
export async function retryQuarantine(
  quarantine: Quarantine,
  output: OpsOutput,
  request: RetryRequest,
): Promise<number> {
  const patientIds = request.all
    ? (await quarantine.list()).map((patient) => patient.patientId)
    : [...new Set(request.patientIds)];
  if (request.all && patientIds.length === 0) {
    output.out("no patient in quarantine");
    return 0;
  }
  let missing = 0;
  for (const patientId of patientIds) {
    if (await quarantine.release(patientId)) {
      output.out(`released patient ${patientId}: the next finalizer run decides it again`);
    } else if (request.all) {
      // Listed a moment ago: the finalizer released it in between, which is what retry asks for.
      output.out(`patient ${patientId} was released meanwhile by the finalizer`);
    } else {
      missing += 1;
      output.err(`patient ${patientId} was not in quarantine`);
    }
  }
  return missing > 0 ? 1 : 0;
}

function describe(patient: QuarantinedPatient, now: number): string {
  return [
    `patient ${patient.patientId}: ${waitsFor(patient, now)}`,
    `since ${patient.since}, ${count(patient.attempts, "attempt")}`,
    `${patient.error}: ${patient.reason}`,
    ...(patient.item === undefined ? [] : [`item ${patient.item}`]),
  ].join("; ");
}

function waitsFor(patient: QuarantinedPatient, now: number): string {
  if (patient.retryAt === undefined) return "waits for an operator";
  if (patient.retryAt <= now) return "retries automatically on the next finalizer run";
  return `retries automatically at ${new Date(patient.retryAt).toISOString()}`;
}

function asJson(patient: QuarantinedPatient) {
  const { retryAt, ...rest } = patient;
  return {
    ...rest,
    waitsForOperator: retryAt === undefined,
    ...(retryAt === undefined ? {} : { retryAt: new Date(retryAt).toISOString() }),
  };
}

const count = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
