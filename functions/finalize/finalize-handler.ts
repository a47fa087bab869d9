import { injectLambdaContext } from "@aws-lambda-powertools/logger/middleware";
import { MetricUnit } from "@aws-lambda-powertools/metrics";
import { logMetrics } from "@aws-lambda-powertools/metrics/middleware";
import { captureLambdaHandler } from "@aws-lambda-powertools/tracer/middleware";
import middy from "@middy/core";
import type { Context } from "aws-lambda";
import { NEVER_LOG_EVENTS, observability } from "../observability.js";
import { captureFigures } from "../review/figures.js";
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
    // Capture (issue 15), net of earlier decisions of the same episodes (an episode counts once, as last
    // decided): episodes by outcome, those with clinician time (the capture rate is billable / with time), and the
    // reasons of those not billed, a closed list, so a dimension each.
    const { capture } = report;
    metrics.addMetric("CaptureEpisodesWithTime", MetricUnit.Count, capture.withTime);
    for (const [dimension, name, counts] of [
      ["outcome", "CaptureEpisodes", capture.outcomes],
      ["reason", "CaptureEpisodesNotBilled", capture.notBilled],
    ] as const)
      for (const [value, count] of Object.entries(counts)) {
        const metric = metrics.singleMetric();
        metric.addDimension(dimension, value);
        metric.addMetric(name, MetricUnit.Count, count);
      }
    // A single metric is flushed at its first value: one per metric and kind.
    for (const item of report.openReviewItems ?? [])
      for (const [name, value] of [
        ["OpenReviewItems", item.open],
        ["OldestOpenReviewItemHours", item.oldestAgeHours ?? 0],
      ] as const) {
        const metric = metrics.singleMetric();
        metric.addDimension("kind", item.kind);
        metric.addMetric(name, MetricUnit.Count, value);
      }
    // Minutes per clinician: one log line each (a metric per clinician would cost per practitioner per month);
    // the dashboard sums them with Logs Insights. Practitioner ids and minutes only: no patient.
    for (const [practitionerId, minutes] of Object.entries(capture.minutes))
      logger.info("clinician minutes", { practitionerId, minutes });
    const { capture: _capture, ...summary } = report;
    logger.info("finalizer run", { ...summary });
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
    if (deps.worklist !== undefined)
      report.openReviewItems = captureFigures(
        [],
        await deps.worklist.openItems(),
        deps.clock(),
      ).openReviewItems;
    record(report);
    return report;
  })
    .use(captureLambdaHandler(tracer))
    .use(injectLambdaContext(logger, NEVER_LOG_EVENTS))
    .use(logMetrics(metrics, { captureColdStartMetric: true }));
}
