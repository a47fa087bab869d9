import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { NEVER_LOG_EVENTS, observability } from "../observability.js";
import {
  type FinalizeDependencies,
  type FinalizeReport,
  finalizeDueEpisodes,
} from "./finalize-due-episodes.js";

/** Time kept back from the Lambda timeout: the patient in progress finishes, then the run returns. */
const SAFETY_MARGIN_MS = 30_000;

/** The finalize Lambda (EventBridge schedule in): a thin middy chain around `finalizeDueEpisodes`. */
export function createFinalizeHandler(
  deps: Omit<FinalizeDependencies, "budgetMs"> & { maxBudgetMs: number },
) {
  const { logger, metrics, tracer } = observability("finalize");

  const record = (report: FinalizeReport) => {
    for (const [outcome, count] of Object.entries(report.episodesFinalized)) {
      const metric = metrics.singleMetric();
      metric.addDimension("outcome", outcome);
      metric.addMetric("EpisodesFinalized", MetricUnit.Count, count);
    }
    for (const [action, count] of Object.entries(report.linesSent)) {
      const metric = metrics.singleMetric();
      metric.addDimension("action", action);
      metric.addMetric("ClaimLinesSent", MetricUnit.Count, count);
    }
    metrics.addMetric("BillableMinutes", MetricUnit.Count, report.billableMinutes);
    metrics.addMetric("ChargesCents", MetricUnit.Count, report.chargeCents);
    metrics.addMetric(
      "FinalizerLagSeconds",
      MetricUnit.Seconds,
      Math.max(0, Math.round(report.lagMs / 1000)),
    );
    metrics.addMetric("PatientsDecided", MetricUnit.Count, report.patientsDecided);
    metrics.addMetric("FinalizerConflicts", MetricUnit.Count, report.conflicts);
    // Invariant 10: a patient set aside is counted, and the alarm watches those waiting for a person.
    metrics.addMetric("PatientsQuarantined", MetricUnit.Count, report.patientsQuarantined);
    metrics.addMetric("QuarantinedPatients", MetricUnit.Count, report.quarantinedPatients);
    metrics.addMetric("PatientsRetrying", MetricUnit.Count, report.patientsRetrying);
    // R18: time no roster entry covered (counted, never dropped), and patients a configuration change re-opened.
    metrics.addMetric("UnknownClinicianMinutes", MetricUnit.Count, report.unknownClinicianMinutes);
    metrics.addMetric("PatientsRechecked", MetricUnit.Count, report.patientsRechecked);
    logger.info("finalizer run", { ...report });
  };

  return middy(async (_event: unknown, context: Context): Promise<FinalizeReport> => {
    const budgetMs = Math.max(
      0,
      Math.min(deps.maxBudgetMs, context.getRemainingTimeInMillis() - SAFETY_MARGIN_MS),
    );
    const report = await finalizeDueEpisodes({
      ...deps,
      budgetMs,
      // A hash of the patient id and the reason: what an operator needs, and no PHI.
      onQuarantine: (event) => logger.error("patient quarantined", event),
    });
    record(report);
    return report;
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, NEVER_LOG_EVENTS))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
