import { Aws, Duration } from "aws-cdk-lib";
import type * as apigateway from "aws-cdk-lib/aws-apigateway";
import * as cloudwatch from "aws-cdk-lib/aws-cloudwatch";
import { SnsAction } from "aws-cdk-lib/aws-cloudwatch-actions";
import type * as dynamodb from "aws-cdk-lib/aws-dynamodb";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as lambda from "aws-cdk-lib/aws-lambda";
import * as sns from "aws-cdk-lib/aws-sns";
import { EmailSubscription } from "aws-cdk-lib/aws-sns-subscriptions";
import { Construct } from "constructs";
import { METRICS_NAMESPACE } from "../functions/observability.js";
import { tableDesign } from "../functions/store/table-design.js";
import type { DeploymentConfig } from "./deployment-config.js";
import type { FifoQueueWithDlq } from "./fifo-queue.js";
import type { FunctionName } from "./lambda-bundling.js";
import { BODY_SIZE_RULE, type WebhookFirewall } from "./webhook-firewall.js";

export interface MonitoringProps {
  config: DeploymentConfig;
  stage: apigateway.Stage;
  firewall: WebhookFirewall;
  functions: Record<FunctionName, lambda.IFunction>;
  inbox: FifoQueueWithDlq;
  claims: FifoQueueWithDlq;
  table: dynamodb.ITable;
  alarmsKey: kms.IKey;
}

const FIVE_MINUTES = Duration.minutes(5);

/** A metric the functions emit through Powertools (namespace `portaltime`, dimension `service`). */
const appMetric = (service: FunctionName, metricName: string, statistic = "Sum", label?: string) =>
  new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName,
    dimensionsMap: { service },
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

/** `InboxDlqNotEmpty` -> `inbox-dlq-not-empty`. */
const kebab = (id: string) => id.replace(/(?<=[a-z0-9])([A-Z])/g, "-$1").toLowerCase();

/**
 * What tells an operator whether portaltime is healthy and what it earned: one dashboard, and alarms that
 * e-mail the configured address through a KMS-encrypted topic when something needs a person.
 */
export class Monitoring extends Construct {
  readonly topic: sns.Topic;
  readonly dashboard: cloudwatch.Dashboard;
  readonly alarms: cloudwatch.Alarm[] = [];

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

    // Alarms
    const alarm = (
      id: string,
      description: string,
      props: cloudwatch.CreateAlarmOptions & { metric: cloudwatch.IMetric },
    ) => {
      const created = new cloudwatch.Alarm(this, id, {
        alarmName: `${prefix}-${kebab(id)}`,
        alarmDescription: description,
        ...props,
      });
      created.addAlarmAction(new SnsAction(this.topic));
      created.addOkAction(new SnsAction(this.topic));
      this.alarms.push(created);
      return created;
    };
    for (const [id, queue, metric] of [
      ["InboxDlqNotEmpty", inbox, inboxDlqDepth],
      ["ClaimsDlqNotEmpty", claims, claimsDlqDepth],
    ] as const) {
      alarm(
        id,
        `A message is in ${queue.deadLetterQueue.queueName}: inspect it, fix the cause, redrive it.`,
        {
          metric,
          threshold: 1,
          comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
          evaluationPeriods: 1,
          treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
        },
      );
    }
    alarm(
      "ApiServerErrors",
      `More than ${config.apiServerErrorAlarmPercent}% of webhook requests got a 5xx answer in five minutes; vendors retry, but deliveries are delayed.`,
      {
        metric: serverErrorPercent,
        threshold: config.apiServerErrorAlarmPercent,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      },
    );
    for (const name of names) {
      const fn = functions[name];
      const title = name[0]?.toUpperCase() + name.slice(1);
      alarm(`${title}Errors`, `The ${name} function failed at least once in five minutes.`, {
        metric: fn.metricErrors({ period: FIVE_MINUTES, statistic: "Sum" }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
      alarm(`${title}Throttles`, `The ${name} function was throttled in the last five minutes.`, {
        metric: fn.metricThrottles({ period: FIVE_MINUTES, statistic: "Sum" }),
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }
    // Every run reports its lag, so no data at all means the finalizer is not running: that breaches too. The
    // period spans two schedule intervals so a run always falls inside one.
    alarm(
      "FinalizerLag",
      `The finalizer decided due work more than ${config.finalizerLagAlarmMinutes} min late, or has not reported for two schedule intervals.`,
      {
        metric: finalizerLag.with({
          period: Duration.minutes(Math.max(5, 2 * config.finalizeScheduleMinutes)),
        }),
        threshold: config.finalizerLagAlarmMinutes * 60,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.BREACHING,
      },
    );
    // A patient waits for an operator from the run after the one that set it aside until someone releases it,
    // and every run reports how many wait: one report is enough to be sure, so 1 of 2 five-minute periods
    // alarms. Two periods, so that the window holds a run even when runs drift across a period boundary; a
    // window without a run (longer schedules) keeps the state rather than flapping to OK, and runs that stop
    // altogether are the finalizer lag alarm's to report.
    alarm(
      "QuarantinedPatients",
      [
        "Patients wait in quarantine for an operator: deciding or saving them failed in a way that does not pass",
        "by itself, and the finalizer skips them (no claim lines) until they are released. See who and why with",
        `\`npm run ops -- quarantine list --prefix ${prefix} --region ${Aws.REGION}\`,`,
        "repair the cause, then `npm run ops -- quarantine retry <patientId>...` with the same options.",
        "The README's runbook has the details.",
      ].join(" "),
      {
        metric: quarantine.waiting,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 2,
        datapointsToAlarm: 1,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      },
    );
    // A failure that should pass by itself (throttling, a service fault) is retried 15 minutes later, then
    // twice as late each time: a patient still retrying after an hour is one that does not pass.
    alarm(
      "PatientsRetrying",
      [
        "A patient has been retried automatically for an hour: deciding or saving it keeps failing with an error",
        "that usually passes (throttling, a service fault). Its claim lines wait. See which and why with",
        `\`npm run ops -- quarantine list --prefix ${prefix} --region ${Aws.REGION}\`,`,
        "and look at the table-throttles alarm and DynamoDB's health.",
      ].join(" "),
      {
        metric: quarantine.retrying,
        threshold: 1,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
        evaluationPeriods: 12,
        datapointsToAlarm: 12,
        treatMissingData: cloudwatch.TreatMissingData.IGNORE,
      },
    );
    alarm("TableThrottles", "DynamoDB throttled requests to the episode table or its due index.", {
      metric: allThrottles,
      threshold: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

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
      new cloudwatch.AlarmStatusWidget({ title: "Alarms", alarms: this.alarms, width: 24, height: 4 }),
    );
  }
}
