import { Aws, Duration } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import type * as logs from "aws-cdk-lib/aws-logs";
import * as sns from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import {
  type CustomThreshold,
  DefaultDashboardFactory,
  MonitoringFacade,
  multipleActions,
  notifySns,
} from "cdk-monitoring-constructs";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../functions/observability.js";
import { tableDesign } from "../functions/store/table-design.js";
import { DEFAULT_SILENT_FORMAT_HOURS, type DeploymentConfig } from "./deployment-config.js";
import type { FifoQueueWithDlq } from "./fifo-queue.js";
import type { FunctionName } from "./lambda-bundling.js";
import { BODY_SIZE_RULE, type WebhookFirewall } from "./webhook-firewall.js";

export interface MonitoringProps {
  config: DeploymentConfig;
  stage: apigateway.Stage;
  firewall: WebhookFirewall;
  functions: Record<FunctionName, lambda.IFunction>;
  /** The finalizer's log group: minutes per clinician are log lines summed by Logs Insights (issue 15). */
  finalizeLogGroup: logs.ILogGroup;
  inbox: FifoQueueWithDlq;
  claims: FifoQueueWithDlq;
  table: dynamodb.ITable;
  alarmsKey: kms.IKey;
}

const FIVE_MINUTES = Duration.minutes(5);

/**
 * A metric the functions emit through Powertools (namespace `portaltime`, dimension `service`), with the
 * breakdown dimensions it was emitted with (`format`, `reason`, ...), if any.
 */
const appMetric = (
  service: FunctionName,
  metricName: string,
  statistic = "Sum",
  label?: string,
  dimensions: Readonly<Record<string, string>> = {},
) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { ...dimensions, service },
    statistic,
    period: FIVE_MINUTES,
    label: label ?? metricName,
  });

/**
 * One line per combination of the breakdown dimensions that occurs (format, reason, outcome, action), labelled
 * with their values. Powertools adds the `service` dimension to every metric, so the search names it too.
 */
const breakdown = (metricName: string, dimensions: readonly string[]) =>
  new cloudwatch.MathExpression({
    expression: `SEARCH('{${[METRICS_NAMESPACE, ...dimensions, "service"].join(",")}} MetricName="${metricName}"', 'Sum', 300)`,
    usingMetrics: {},
    label: dimensions.map((dimension) => `\${PROP('Dim.${dimension}')}`).join(" "),
    period: FIVE_MINUTES,
  });

/** The rejection reasons that say a signature did not verify (functions/ingest/problem.ts). */
const signatureFailureReasons = ["missing-signature", "bad-signature", "stale-timestamp", "future-timestamp"];
/** Every kind of accepted delivery (functions/vendors/format.ts): a heartbeat shows a subscription alive. */
const deliveryKinds = ["event", "handshake", "heartbeat", "query"];
/** Fewer refusals than this in five minutes are a stray caller, not a vendor whose secret changed. */
const MIN_SIGNATURE_FAILURES = 3;

/** `InboxDlqNotEmpty` -> `inbox-dlq-not-empty`. */
const kebab = (id: string) => id.replace(/(?<=[a-z0-9])([A-Z])/g, "-$1").toLowerCase();

/**
 * What tells an operator whether portaltime is healthy and what it earned: one dashboard, and alarms that
 * e-mail the configured address through a KMS-encrypted topic when something needs a person.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  /** The customer's pager or chat topic, when the deployment names one. */
  readonly pagerTopic?: sns.ITopic;
  readonly alarms: cloudwatch.AlarmBase[];

  constructor(scope: Construct, id: string, props: MonitoringProps) {
    super(scope, id);
    const { config, stage, functions, inbox, claims, table } = props;
    const prefix = config.prefix;

    this.topic = new sns.Topic(this, "AlarmTopic", {
      displayName: `portaltime alarms (${prefix})`,
      masterKey: props.alarmsKey,
      enforceSSL: true,
    });
    this.topic.addSubscription(new EmailSubscription(config.alarmEmail));
    if (config.alarmPagerTopicArn !== undefined) {
      this.pagerTopic = sns.Topic.fromTopicArn(this, "PagerTopic", config.alarmPagerTopicArn);
    }

    // API
    const requests = stage.metricCount({ period: FIVE_MINUTES, statistic: "Sum", label: "Requests" });
    const clientErrors = stage.metricClientError({ period: FIVE_MINUTES, statistic: "Sum", label: "4xx" });
    const serverErrors = stage.metricServerError({ period: FIVE_MINUTES, statistic: "Sum", label: "5xx" });
    const latencyP99 = stage.metricLatency({ period: FIVE_MINUTES, statistic: "p99", label: "p99 latency" });
    const oversizeBlocked = new cloudwatch.Metric({
      namespace: "AWS/WAFV2",
      metricName: "BlockedRequests",
      dimensionsMap: { WebACL: props.firewall.metricName, Region: Aws.REGION, Rule: BODY_SIZE_RULE },
      statistic: "Sum",
      period: FIVE_MINUTES,
      label: "Blocked: over size limit",
    });
    const serverErrorPercent = new cloudwatch.MathExpression({
      expression: "100 * errors / requests",
      usingMetrics: { errors: serverErrors, requests },
      label: "5xx %",
      period: FIVE_MINUTES,
    });

    // Queues
    const depth = (queue: FifoQueueWithDlq["queue"], label: string) =>
      queue.metricApproximateNumberOfMessagesVisible({
        period: Duration.minutes(1),
        statistic: "Maximum",
        label,
      });
    const oldest = (queue: FifoQueueWithDlq["queue"], label: string) =>
      queue.metricApproximateAgeOfOldestMessage({ period: Duration.minutes(1), statistic: "Maximum", label });
    const inboxDlqDepth = depth(inbox.deadLetterQueue, "Inbox DLQ");
    const claimsDlqDepth = depth(claims.deadLetterQueue, "Claims DLQ");

    // Functions
    const names = Object.keys(functions) as FunctionName[];
    const perFunction = (metric: (name: FunctionName, fn: lambda.IFunction) => cloudwatch.IMetric) =>
      names.map((name) => metric(name, functions[name]));

    // DynamoDB: the table and the due index, reads and writes.
    const tableMetric = (metricName: string, label: string, index?: string) =>
      new cloudwatch.Metric({
        namespace: "AWS/DynamoDB",
        metricName,
        dimensionsMap: {
          TableName: table.tableName,
          ...(index ? { GlobalSecondaryIndexName: index } : {}),
        },
        statistic: "Sum",
        period: FIVE_MINUTES,
        label,
      });
    const dueIndex = tableDesign.dueIndex.name;
    const throttleEvents = {
      tableReads: tableMetric("ReadThrottleEvents", "Table read throttles"),
      tableWrites: tableMetric("WriteThrottleEvents", "Table write throttles"),
      indexReads: tableMetric("ReadThrottleEvents", "Due index read throttles", dueIndex),
      indexWrites: tableMetric("WriteThrottleEvents", "Due index write throttles", dueIndex),
    };
    const allThrottles = new cloudwatch.MathExpression({
      expression: "FILL(tableReads, 0) + FILL(tableWrites, 0) + FILL(indexReads, 0) + FILL(indexWrites, 0)",
      usingMetrics: throttleEvents,
      label: "DynamoDB throttle events",
      period: FIVE_MINUTES,
    });

    // Business
    const finalizerLag = appMetric("finalize", "FinalizerLagSeconds", "Maximum", "Finalizer lag (s)");
    // Invariant 10: patients set aside in a run, and, at the start of each run, those waiting in quarantine.
    const quarantine = {
      added: appMetric("finalize", "PatientsQuarantined", "Sum", "Newly quarantined"),
      waiting: appMetric("finalize", "QuarantinedPatients", "Maximum", "Waiting for an operator"),
      retrying: appMetric("finalize", "PatientsRetrying", "Maximum", "Retrying by themselves"),
    };
    const charges = new cloudwatch.MathExpression({
      expression: "cents / 100",
      usingMetrics: { cents: appMetric("finalize", "ChargesCents") },
      label: "Charges (USD)",
      period: FIVE_MINUTES,
    });

    // Alarms: cdk-monitoring-constructs builds them (README "Alarms"), each named and described here, every one
    // sending its alarm and its recovery to the e-mail topic and, when configured, the pager topic.
    const alarmFacade = new MonitoringFacade(this, "Alarms", {
      alarmFactoryDefaults: {
        alarmNamePrefix: prefix,
        actionsEnabled: true,
        action: multipleActions(
          notifySns(this.topic, this.topic),
          ...(this.pagerTopic ? [notifySns(this.pagerTopic, this.pagerTopic)] : []),
        ),
        // Two of three datapoints unless an alarm says otherwise: one bad period is noise (a deploy, a retry).
        datapointsToAlarm: 2,
        evaluationPeriods: 3,
      },
      metricFactoryDefaults: { namespace: METRICS_NAMESPACE },
      // The dashboard below is portaltime's own (business line, breakdowns by format and reason).
      dashboardFactory: new DefaultDashboardFactory(this, "AlarmsOnly", {
        dashboardNamePrefix: prefix,
        createDashboard: false,
        createSummaryDashboard: false,
        createAlarmDashboard: false,
      }),
    });
    const named = (id: string, description: string) => ({
      alarmNameOverride: `${prefix}-${kebab(id)}`,
      alarmDescriptionOverride: description,
    });
    const once = { datapointsToAlarm: 1, evaluationPeriods: 1 };
    const days = (seconds: number) => Math.round(seconds / 86_400);

    // Queues: nothing may wait until SQS deletes it (14 days). The inbox drains in seconds and the claims queue
    // as fast as the connector reads; what is in a DLQ waits for a person, who must act before it expires.
    const { alarms: thresholds } = config;
    for (const [id, queues, maxAgeInSeconds, reader] of [
      ["Inbox", inbox, thresholds.inboxOldestMessageMinutes * 60, "the apply function"],
      ["Claims", claims, thresholds.claimsOldestMessageHours * 3600, "the clearinghouse connector"],
    ] as const) {
      const dlqMaxAge = thresholds.deadLetterOldestMessageDays * 86_400;
      alarmFacade.monitorSqsQueueWithDlq({
        queue: queues.queue,
        deadLetterQueue: queues.deadLetterQueue,
        alarmFriendlyName: id,
        addQueueMaxMessageAgeAlarm: {
          Critical: {
            maxAgeInSeconds,
            treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
            ...named(
              `${id}OldestMessage`,
              `A message has waited in ${queues.queue.queueName} longer than ${maxAgeInSeconds / 60} min: ${reader} is not reading it. SQS deletes it after 14 days. Look at ${reader}'s errors and its access to the queue key.`,
            ),
          },
        },
        addDeadLetterQueueMaxSizeAlarm: {
          Critical: {
            maxMessageCount: 0,
            ...once,
            treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
            ...named(
              `${id}DlqNotEmpty`,
              `A message is in ${queues.deadLetterQueue.queueName}: someone must act on it (README "Day-2 runbooks"). Inspect it, fix the cause, then \`npm run ops -- redrive ${id.toLowerCase()}\`.`,
            ),
          },
        },
        addDeadLetterQueueMaxMessageAgeAlarm: {
          Critical: {
            maxAgeInSeconds: dlqMaxAge,
            ...once,
            treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
            ...named(
              `${id}DlqOldestMessage`,
              `A message has waited ${days(dlqMaxAge)} days in ${queues.deadLetterQueue.queueName}; SQS deletes it at 14 days. Act on it now (README "Day-2 runbooks").`,
            ),
          },
        },
      });
    }

    for (const name of names) {
      const title = name[0]?.toUpperCase() + name.slice(1);
      alarmFacade.monitorLambdaFunction({
        lambdaFunction: functions[name],
        alarmFriendlyName: title,
        addFaultCountAlarm: {
          Critical: {
            maxErrorCount: 0,
            ...named(
              `${title}Errors`,
              `The ${name} function failed in two of the last three five-minute periods.`,
            ),
          },
        },
        addThrottlesCountAlarm: {
          Critical: {
            maxErrorCount: 0,
            ...named(
              `${title}Throttles`,
              `The ${name} function was throttled in two of the last three five-minute periods.`,
            ),
          },
        },
      });
    }

    const custom = (
      id: string,
      description: string,
      metric: cloudwatch.Metric | cloudwatch.MathExpression,
      threshold: Omit<CustomThreshold, "alarmNameOverride" | "alarmDescriptionOverride">,
    ) =>
      alarmFacade.monitorCustom({
        alarmFriendlyName: id,
        metricGroups: [
          {
            title: id,
            metrics: [
              {
                metric,
                alarmFriendlyName: id,
                addAlarm: { Critical: { ...threshold, ...named(id, description) } },
              },
            ],
          },
        ],
      });
    const atLeast = cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD;

    custom(
      "ApiServerErrors",
      `More than ${config.apiServerErrorAlarmPercent}% of API requests (webhooks and the review API) got a 5xx answer in two of three five-minute periods; vendors retry, but deliveries are delayed, and billers' calls fail.`,
      serverErrorPercent,
      {
        threshold: config.apiServerErrorAlarmPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );

    // The review function answers a failed store call with 500 itself, so its Lambda errors alarm never sees it.
    custom(
      "ReviewServerErrors",
      "The review API answered billers with 500 (a DynamoDB or KMS call failed) in two of three five-minute periods; see the review function's log for the route and error.",
      appMetric("review", "ReviewRequests", "Sum", "Review 500s", { status: "500" }),
      {
        threshold: 1,
        comparisonOperator: atLeast,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );

    // Per enabled format: deliveries refused for their signature (a vendor rotated its secret and retries for
    // days before it gives up), and a format gone quiet (a subscription switched off).
    const ingestMetric = (metricName: string, dimensions: Record<string, string>) =>
      appMetric("ingest", metricName, "Sum", undefined, dimensions);
    const sumOf = (metrics: Record<string, cloudwatch.IMetric>) =>
      Object.keys(metrics)
        .map((key) => `FILL(${key}, 0)`)
        .join(" + ");
    for (const format of config.enabledFormats) {
      const title = `${format[0]?.toUpperCase()}${format.slice(1)}`;
      const failures = Object.fromEntries(
        signatureFailureReasons.map((reason, index) => [
          `f${index}`,
          ingestMetric("DeliveriesRejected", { format, reason }),
        ]),
      );
      const accepted = Object.fromEntries(
        deliveryKinds.map((kind, index) => [
          `a${index}`,
          ingestMetric("DeliveriesAccepted", { format, kind }),
        ]),
      );
      custom(
        `${title}SignatureFailures`,
        `More than ${thresholds.signatureFailurePercent}% of ${format} deliveries were refused for their signature in two of three five-minute periods (at least ${MIN_SIGNATURE_FAILURES} each). The vendor's secret and portaltime's differ: compare the vendor's current secret with \`<prefix>/webhooks/${format}\` (README "Deploying into your AWS account", step 1: rotation). The vendor retries for a while, then stops.`,
        new cloudwatch.MathExpression({
          expression: `IF((${sumOf(failures)}) >= ${MIN_SIGNATURE_FAILURES}, 100 * (${sumOf(failures)}) / ((${sumOf(failures)}) + ${sumOf(accepted)}), 0)`,
          usingMetrics: { ...failures, ...accepted },
          label: `${format} signature failures (%)`,
          period: FIVE_MINUTES,
        }),
        {
          threshold: thresholds.signatureFailurePercent,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
          treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
      const silentHours = thresholds.silentFormatHours[format] ?? DEFAULT_SILENT_FORMAT_HOURS;
      if (silentHours !== false) {
        const hourly = Object.fromEntries(
          Object.entries(accepted).map(([key, metric]) => [key, metric.with({ period: Duration.hours(1) })]),
        );
        custom(
          `${title}Silent`,
          `No ${format} delivery (event, handshake or heartbeat) was accepted for ${silentHours} h. The vendor may have switched the subscription off or be refused before the firewall; check the subscription's status at the vendor and the firewall's blocked requests.`,
          new cloudwatch.MathExpression({
            expression: sumOf(hourly),
            usingMetrics: hourly,
            label: `${format} deliveries accepted`,
            period: Duration.hours(1),
          }),
          {
            threshold: 1,
            comparisonOperator: cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
            datapointsToAlarm: silentHours,
            evaluationPeriods: silentHours,
            period: Duration.hours(1),
            treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
          },
        );
      }
    }

    const rejectedAll = (reasons: readonly string[]) =>
      Object.fromEntries(
        config.enabledFormats.flatMap((format) =>
          reasons.map((reason) => [
            `r${format}${reason.replaceAll("-", "")}`,
            ingestMetric("DeliveriesRejected", { format, reason }),
          ]),
        ),
      );
    const unreadable = rejectedAll(["secrets-unavailable", "no-active-secret"]);
    custom(
      "WebhookSecretsUnreadable",
      "Deliveries were refused because a format's signing secret could not be read (Secrets Manager or KMS refused the ingest function) or holds no active value, in two of three five-minute periods. Check `<prefix>/webhooks/<format>` and the data key's grants.",
      new cloudwatch.MathExpression({
        expression: sumOf(unreadable),
        usingMetrics: unreadable,
        label: "Refused: secret unreadable or empty",
        period: FIVE_MINUTES,
      }),
      {
        threshold: 1,
        comparisonOperator: atLeast,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    custom(
      "VendorCredentialFailures",
      "The apply function could not authenticate to a vendor API (the FHIR server's token endpoint, Healthie or Elation) in two of three five-minute periods: deliveries that need a fetch wait in the inbox. Check the vendor API credential secret and whether the vendor revoked it.",
      appMetric("apply", "VendorCredentialFailures"),
      {
        threshold: 1,
        comparisonOperator: atLeast,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    // One gap is already events the FHIR server never delivered: no second datapoint is needed to be sure.
    custom(
      "FhirEventGaps",
      "A FHIR subscription's event numbers skipped: the server sent events portaltime never received. Ask the server for the missing events ($events or the subscription's status) and replay them (README \"Day-2 runbooks\").",
      appMetric("apply", "SubscriptionEventGaps"),
      {
        threshold: 1,
        comparisonOperator: atLeast,
        ...once,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );

    // Every run reports its lag, so no data at all means the finalizer is not running: that breaches too. The
    // period spans two schedule intervals so a run always falls inside one.
    custom(
      "FinalizerLag",
      `The finalizer decided due work more than ${config.finalizerLagAlarmMinutes} min late, or has not reported for two schedule intervals.`,
      finalizerLag.with({ period: Duration.minutes(Math.max(5, 2 * config.finalizeScheduleMinutes)) }),
      {
        threshold: config.finalizerLagAlarmMinutes * 60,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        ...once,
        treatMissingDataOverride: cloudwatch.TreatMissingData.BREACHING,
      },
    );
    // A patient waits for an operator from the run after the one that set it aside until someone releases it,
    // and every run reports how many wait: one report is enough to be sure, so 1 of 2 five-minute periods
    // alarms. Two periods, so that the window holds a run even when runs drift across a period boundary; a
    // window without a run (longer schedules) keeps the state rather than flapping to OK, and runs that stop
    // altogether are the finalizer lag alarm's to report.
    custom(
      "QuarantinedPatients",
      [
        "Patients wait in quarantine for an operator: deciding or saving them failed in a way that does not pass",
        "by itself, and the finalizer skips them (no claim lines) until they are released. See who and why with",
        `\`npm run ops -- quarantine list --prefix ${prefix} --region ${Aws.REGION}\`,`,
        "repair the cause, then `npm run ops -- quarantine retry <patientId>...` with the same options.",
        "The README's runbook has the details.",
      ].join(" "),
      quarantine.waiting,
      {
        threshold: 1,
        comparisonOperator: atLeast,
        evaluationPeriods: 2,
        datapointsToAlarm: 1,
        treatMissingDataOverride: cloudwatch.TreatMissingData.IGNORE,
      },
    );
    // A failure that should pass by itself (throttling, a service fault) is retried 15 minutes later, then
    // twice as late each time: a patient still retrying after an hour is one that does not pass.
    custom(
      "PatientsRetrying",
      [
        "A patient has been retried automatically for an hour: deciding or saving it keeps failing with an error",
        "that usually passes (throttling, a service fault). Its claim lines wait. See which and why with",
        `\`npm run ops -- quarantine list --prefix ${prefix} --region ${Aws.REGION}\`,`,
        "and look at the table-throttles alarm and DynamoDB's health.",
      ].join(" "),
      quarantine.retrying,
      {
        threshold: 1,
        comparisonOperator: atLeast,
        evaluationPeriods: 12,
        datapointsToAlarm: 12,
        treatMissingDataOverride: cloudwatch.TreatMissingData.IGNORE,
      },
    );
    custom(
      "TableThrottles",
      "DynamoDB throttled requests to the episode table or its indexes in two of three five-minute periods.",
      allThrottles,
      {
        threshold: 1,
        comparisonOperator: atLeast,
        treatMissingDataOverride: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    this.alarms = alarmFacade.createdAlarms().map((created) => created.alarm);

    // Dashboard
    const graph = (title: string, left: cloudwatch.IMetric[], width: number, right?: cloudwatch.IMetric[]) =>
      new cloudwatch.GraphWidget({ title, left, right, width, height: 6 });
    this.dashboard = new cloudwatch.Dashboard(this, "Dashboard", {
      dashboardName: prefix,
      defaultInterval: Duration.days(1),
    });
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: "## Webhooks in", width: 24, height: 1 }),
      graph("API requests", [requests], 6),
      graph("API 4xx and 5xx", [clientErrors, serverErrors], 6),
      graph("API p99 latency (ms)", [latencyP99], 6),
      graph("Firewall: blocked requests", [oversizeBlocked], 6),
      graph(
        "Deliveries accepted by format and kind",
        [breakdown("DeliveriesAccepted", ["format", "kind"])],
        12,
      ),
      graph(
        "Deliveries rejected by format and reason",
        [breakdown("DeliveriesRejected", ["format", "reason"])],
        12,
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: "## Queues", width: 24, height: 1 }),
      graph("Inbox: depth and oldest message (s)", [depth(inbox.queue, "Visible")], 8, [
        oldest(inbox.queue, "Oldest (s)"),
      ]),
      graph("Claims: depth and oldest message (s)", [depth(claims.queue, "Visible")], 8, [
        oldest(claims.queue, "Oldest (s)"),
      ]),
      graph("Dead-letter queues", [inboxDlqDepth, claimsDlqDepth], 8, [
        breakdown("DeliveriesDeadLettered", ["format"]),
      ]),
      // Authenticated deliveries with nothing billable: recorded and counted, never dead-lettered (no alarm).
      graph(
        "Deliveries with nothing billable, by format and reason",
        [breakdown("DeliveriesIgnored", ["format", "reason"])],
        24,
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: "## Functions and table", width: 24, height: 1 }),
      graph(
        "Function errors",
        perFunction((name, fn) => fn.metricErrors({ period: FIVE_MINUTES, label: name })),
        6,
      ),
      graph(
        "Function throttles",
        perFunction((name, fn) => fn.metricThrottles({ period: FIVE_MINUTES, label: name })),
        6,
      ),
      graph(
        "Function p99 duration (ms)",
        perFunction((name, fn) => fn.metricDuration({ period: FIVE_MINUTES, statistic: "p99", label: name })),
        6,
      ),
      graph(
        "Function concurrency",
        perFunction((name, fn) =>
          fn.metric("ConcurrentExecutions", { period: FIVE_MINUTES, statistic: "Maximum", label: name }),
        ),
        6,
      ),
      graph("DynamoDB throttle events", Object.values(throttleEvents), 12),
      graph(
        "DynamoDB consumed capacity",
        [
          tableMetric("ConsumedReadCapacityUnits", "Read units"),
          tableMetric("ConsumedWriteCapacityUnits", "Write units"),
        ],
        12,
      ),
    );
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: "## Business", width: 24, height: 1 }),
      graph("Episodes finalized by outcome", [breakdown("EpisodesFinalized", ["outcome"])], 8),
      graph("Claim lines sent by action", [breakdown("ClaimLinesSent", ["action"])], 8),
      graph(
        "Billable minutes and charges (USD)",
        [appMetric("finalize", "BillableMinutes", "Sum", "Billable minutes")],
        8,
        [charges],
      ),
      graph(
        "Facts applied",
        [
          appMetric("apply", "FactsApplied"),
          appMetric("apply", "FactsUnchanged"),
          appMetric("apply", "SubscriptionEventGaps"),
        ],
        8,
      ),
      graph(
        "Finalizer runs",
        [appMetric("finalize", "PatientsDecided"), appMetric("finalize", "FinalizerConflicts")],
        8,
        [finalizerLag],
      ),
      graph("Quarantined patients", Object.values(quarantine), 8),
    );
    // Capture (issue 15): what the practice bills of the clinician time its portal carries, and what stands in
    // the way. The billers' page shows the same figures per week from the table (GET /review/figures).
    // Net counts: an episode decided again takes back its earlier count, so each counts once, as last decided.
    const billable = appMetric("finalize", "CaptureEpisodes", "Sum", "Billable", { outcome: "billable" });
    const withTime = appMetric("finalize", "CaptureEpisodesWithTime", "Sum", "With clinician time");
    this.dashboard.addWidgets(
      new cloudwatch.TextWidget({ markdown: "## Capture", width: 24, height: 1 }),
      graph(
        "Episodes by outcome per week",
        [
          new cloudwatch.MathExpression({
            expression: `SEARCH('{${METRICS_NAMESPACE},outcome,service} MetricName="CaptureEpisodes"', 'Sum', 604800)`,
            usingMetrics: {},
            label: `\${PROP('Dim.outcome')}`,
            period: Duration.days(7),
          }),
        ],
        8,
      ),
      graph(
        "Capture rate (%): billable / episodes with clinician time",
        [
          new cloudwatch.MathExpression({
            expression: "100 * billable / withTime",
            usingMetrics: {
              billable: billable.with({ period: Duration.days(1) }),
              withTime: withTime.with({ period: Duration.days(1) }),
            },
            label: "Capture rate (%)",
            period: Duration.days(1),
          }),
        ],
        8,
      ),
      graph("Why episodes did not bill", [breakdown("CaptureEpisodesNotBilled", ["reason"])], 8),
      graph("Open review items by kind", [breakdown("OpenReviewItems", ["kind"])], 12, [
        new cloudwatch.MathExpression({
          expression: `SEARCH('{${METRICS_NAMESPACE},kind,service} MetricName="OldestOpenReviewItemHours"', 'Maximum', 300)`,
          usingMetrics: {},
          label: `oldest (h) \${PROP('Dim.kind')}`,
          period: FIVE_MINUTES,
        }),
      ]),
      new cloudwatch.LogQueryWidget({
        title: "Minutes per clinician (finalized episodes)",
        logGroupNames: [props.finalizeLogGroup.logGroupName],
        queryLines: [
          "fields practitionerId, minutes",
          'filter message = "clinician minutes"',
          "stats sum(minutes) as minutes by practitionerId",
          "sort minutes desc",
          "limit 50",
        ],
        view: cloudwatch.LogQueryVisualizationType.TABLE,
        width: 12,
        height: 6,
      }),
    );
    this.dashboard.addWidgets(
      // The billers' review API (issue 15), by the status it answered; 403s of unsigned calls stop at API Gateway.
      graph("Review requests by status", [breakdown("ReviewRequests", ["status"])], 24),
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24, height: 4 }),
    );
  }
}
