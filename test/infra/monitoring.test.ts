import type { Template } from "aws-cdk-lib/assertions";
import { beforeAll, describe, expect, it, vi } from "vitest";
import type { DeploymentConfigInput } from "../../lib/deployment-config.js";
import { demoConfig, synthTemplate } from "./synth.js";

/**
 * The alarms (README "Alarms"): what each watches, when it fires, and where it goes. Each alarm is found by its
 * name, which operators see in the e-mail and the console.
 */
// Tests that synthesize their own configuration take seconds on a busy machine.
vi.setConfig({ testTimeout: 60_000 });
let template: Template;
beforeAll(() => {
  template = synthTemplate(demoConfig());
}, 60_000);

type Resource = { Properties: Record<string, unknown> };
const alarmsOf = (of: Template) =>
  Object.values(of.findResources("AWS::CloudWatch::Alarm")) as unknown as Resource[];
const alarmNamed = (name: string, of: Template = template): Record<string, unknown> => {
  const found = alarmsOf(of).filter((alarm) => alarm.Properties.AlarmName === `portaltime-${name}`);
  expect(found, name).toHaveLength(1);
  return (found[0] as Resource).Properties;
};
const topicId = (of: Template = template) => {
  const ids = Object.keys(of.findResources("AWS::SNS::Topic"));
  expect(ids).toHaveLength(1);
  return ids[0] as string;
};
/** The metrics an alarm's `Metrics` list reads, as `Namespace/MetricName` with their dimensions. */
const metricsRead = (alarm: Record<string, unknown>) =>
  (alarm.Metrics as Array<{ MetricStat?: { Metric: Record<string, unknown>; Period: number; Stat: string } }>)
    .flatMap((entry) => (entry.MetricStat ? [entry.MetricStat] : []))
    .map(({ Metric, Period, Stat }) => ({
      metric: `${Metric.Namespace}/${Metric.MetricName}`,
      dimensions: Object.fromEntries(
        (Metric.Dimensions as Array<{ Name: string; Value: unknown }>).map(({ Name, Value }) => [
          Name,
          typeof Value === "string" ? Value : JSON.stringify(Value),
        ]),
      ),
      period: Period,
      stat: Stat,
    }));
const expressionOf = (alarm: Record<string, unknown>) =>
  (alarm.Metrics as Array<{ Expression?: string; ReturnData?: boolean }>).find(
    (entry) => entry.Expression !== undefined && entry.ReturnData !== false,
  )?.Expression;
const withConfig = (change: (config: DeploymentConfigInput) => void): Template => {
  const config = demoConfig();
  change(config);
  return synthTemplate(config);
};

const formats = ["fhir", "medplum", "elation", "healthie", "bridge"];

describe("alarm routing", () => {
  it("sends every alarm and its recovery to the encrypted topic that e-mails the configured address", () => {
    const topic = topicId();
    template.hasResourceProperties("AWS::SNS::Subscription", {
      Protocol: "email",
      Endpoint: "billing-oncall@synthetic-clinic.org",
      TopicArn: { Ref: topic },
    });
    for (const alarm of alarmsOf(template)) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topic }]);
      expect(alarm.Properties.ActionsEnabled).toBe(true);
    }
  });

  it("also sends every alarm and recovery to the pager topic when the deployment names one", () => {
    const pager = "arn:aws:sns:us-east-1:123456789012:oncall-pager";
    const paged = withConfig((config) => Object.assign(config, { alarmPagerTopicArn: pager }));
    const topic = topicId(paged);
    const alarms = alarmsOf(paged);
    expect(alarms.length).toBeGreaterThan(20);
    for (const alarm of alarms) {
      expect(alarm.Properties.AlarmActions).toEqual([{ Ref: topic }, pager]);
      expect(alarm.Properties.OKActions).toEqual([{ Ref: topic }, pager]);
    }
  });

  it("has exactly these alarms for the demo's five formats", () => {
    const perFormat = formats.flatMap((format) => [`${format}-signature-failures`, `${format}-silent`]);
    expect(
      alarmsOf(template)
        .map((alarm) => alarm.Properties.AlarmName)
        .sort(),
    ).toEqual(
      [
        "inbox-oldest-message",
        "inbox-dlq-not-empty",
        "inbox-dlq-oldest-message",
        "claims-oldest-message",
        "claims-dlq-not-empty",
        "claims-dlq-oldest-message",
        "ingest-errors",
        "ingest-throttles",
        "apply-errors",
        "apply-throttles",
        "finalize-errors",
        "finalize-throttles",
        "review-errors",
        "review-throttles",
        "review-server-errors",
        "api-server-errors",
        ...perFormat,
        "webhook-secrets-unreadable",
        "vendor-credential-failures",
        "fhir-event-gaps",
        "finalizer-lag",
        "quarantined-patients",
        "patients-retrying",
        "table-throttles",
      ]
        .map((name) => `portaltime-${name}`)
        .sort(),
    );
  });
});

describe("queues: nothing waits until SQS deletes it", () => {
  const queueName = (name: string) => {
    const ids = Object.keys(template.findResources("AWS::SQS::Queue", { Properties: { QueueName: name } }));
    expect(ids).toHaveLength(1);
    return JSON.stringify({ "Fn::GetAtt": [ids[0], "QueueName"] });
  };

  it.each([
    ["inbox", "portaltime-inbox.fifo", 3600],
    ["claims", "portaltime-claims.fifo", 86_400],
    ["inbox-dlq", "portaltime-inbox-dlq.fifo", 3 * 86_400],
    ["claims-dlq", "portaltime-claims-dlq.fifo", 3 * 86_400],
  ])("%s: alarms on the age of its oldest message, days before the 14-day expiry", (name, queue, seconds) => {
    const alarm = alarmNamed(`${name}-oldest-message`);
    expect(metricsRead(alarm)).toEqual([
      {
        metric: "AWS/SQS/ApproximateAgeOfOldestMessage",
        dimensions: { QueueName: queueName(queue) },
        period: 300,
        stat: "Maximum",
      },
    ]);
    expect(alarm).toMatchObject({
      Threshold: seconds,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "notBreaching",
    });
    expect(alarm.Threshold as number).toBeLessThan(14 * 86_400);
  });

  it("a live queue's age alarm needs two of three periods; a dead-letter one fires at once", () => {
    expect(alarmNamed("inbox-oldest-message")).toMatchObject({ EvaluationPeriods: 3, DatapointsToAlarm: 2 });
    expect(alarmNamed("inbox-dlq-oldest-message")).toMatchObject({
      EvaluationPeriods: 1,
      DatapointsToAlarm: 1,
    });
  });

  it.each(["inbox", "claims"])(
    "%s DLQ: alarms on one message, and says to redrive it after the fix",
    (name) => {
      const alarm = alarmNamed(`${name}-dlq-not-empty`);
      expect(metricsRead(alarm)).toEqual([
        {
          metric: "AWS/SQS/ApproximateNumberOfMessagesVisible",
          dimensions: { QueueName: queueName(`portaltime-${name}-dlq.fifo`) },
          period: 300,
          stat: "Maximum",
        },
      ]);
      expect(alarm).toMatchObject({
        Threshold: 0,
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 1,
        DatapointsToAlarm: 1,
      });
      expect(JSON.stringify(alarm.AlarmDescription)).toContain(`npm run ops -- redrive ${name}`);
    },
  );

  it("takes the age thresholds from the deployment configuration", () => {
    const tuned = withConfig((config) =>
      Object.assign(config, {
        alarms: {
          inboxOldestMessageMinutes: 15,
          claimsOldestMessageHours: 6,
          deadLetterOldestMessageDays: 7,
        },
      }),
    );
    expect(alarmNamed("inbox-oldest-message", tuned).Threshold).toBe(15 * 60);
    expect(alarmNamed("claims-oldest-message", tuned).Threshold).toBe(6 * 3600);
    expect(alarmNamed("claims-dlq-oldest-message", tuned).Threshold).toBe(7 * 86_400);
  });
});

describe("webhooks: refused signatures, silent formats, unreadable secrets", () => {
  it.each(formats)(
    "%s: alarms when over 10% of its deliveries fail their signature, two periods of three",
    (format) => {
      const alarm = alarmNamed(`${format}-signature-failures`);
      const read = metricsRead(alarm);
      const rejected = read.filter((entry) => entry.metric === "portaltime/DeliveriesRejected");
      expect(
        rejected
          .map((entry) => entry.dimensions)
          .sort((a, b) => String(a.reason).localeCompare(String(b.reason))),
      ).toEqual(
        ["bad-signature", "future-timestamp", "missing-signature", "stale-timestamp"].map((reason) => ({
          format,
          reason,
          service: "ingest",
        })),
      );
      const accepted = read.filter((entry) => entry.metric === "portaltime/DeliveriesAccepted");
      expect(accepted.map((entry) => entry.dimensions.kind).sort()).toEqual([
        "event",
        "handshake",
        "heartbeat",
        "query",
      ]);
      expect(read.every((entry) => entry.dimensions.format === format && entry.period === 300)).toBe(true);
      // A percentage of all the format's deliveries, counted only from three refusals in five minutes on.
      expect(expressionOf(alarm)).toMatch(/^IF\(\(.+\) >= 3, 100 \* \(.+\) \/ \(\(.+\) \+ .+\), 0\)$/);
      expect(alarm).toMatchObject({
        Threshold: 10,
        ComparisonOperator: "GreaterThanThreshold",
        EvaluationPeriods: 3,
        DatapointsToAlarm: 2,
      });
    },
  );

  it.each(formats)("%s: alarms when no delivery of any kind was accepted for 24 hours", (format) => {
    const alarm = alarmNamed(`${format}-silent`);
    const read = metricsRead(alarm);
    expect(read.map((entry) => entry.dimensions.kind).sort()).toEqual([
      "event",
      "handshake",
      "heartbeat",
      "query",
    ]);
    for (const entry of read) {
      expect(entry).toMatchObject({ metric: "portaltime/DeliveriesAccepted", period: 3600, stat: "Sum" });
      expect(entry.dimensions.format).toBe(format);
    }
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: "LessThanThreshold",
      EvaluationPeriods: 24,
      DatapointsToAlarm: 24,
      TreatMissingData: "breaching",
    });
  });

  it("takes the silence window per format, and leaves out a format configured to be quiet", () => {
    const tuned = withConfig((config) =>
      Object.assign(config, { alarms: { silentFormatHours: { fhir: 6, bridge: false } } }),
    );
    expect(alarmNamed("fhir-silent", tuned)).toMatchObject({ EvaluationPeriods: 6, DatapointsToAlarm: 6 });
    expect(alarmNamed("healthie-silent", tuned)).toMatchObject({ EvaluationPeriods: 24 });
    expect(alarmsOf(tuned).map((alarm) => alarm.Properties.AlarmName)).not.toContain(
      "portaltime-bridge-silent",
    );
  });

  it("alarms when deliveries are refused because a signing secret is unreadable or empty", () => {
    const alarm = alarmNamed("webhook-secrets-unreadable");
    const read = metricsRead(alarm);
    expect(new Set(read.map((entry) => entry.dimensions.reason))).toEqual(
      new Set(["secrets-unavailable", "no-active-secret"]),
    );
    expect(new Set(read.map((entry) => entry.dimensions.format))).toEqual(new Set(formats));
    expect(alarm).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
  });
});

describe("vendor APIs, FHIR subscriptions and the finalizer", () => {
  it("alarms when the apply function cannot authenticate to a vendor API, two periods of three", () => {
    const alarm = alarmNamed("vendor-credential-failures");
    expect(metricsRead(alarm)).toEqual([
      {
        metric: "portaltime/VendorCredentialFailures",
        dimensions: { service: "apply" },
        period: 300,
        stat: "Sum",
      },
    ]);
    expect(alarm).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
  });

  it("alarms on one FHIR event-number gap: events were lost", () => {
    const alarm = alarmNamed("fhir-event-gaps");
    expect(metricsRead(alarm)).toEqual([
      {
        metric: "portaltime/SubscriptionEventGaps",
        dimensions: { service: "apply" },
        period: 300,
        stat: "Sum",
      },
    ]);
    expect(alarm).toMatchObject({ Threshold: 1, EvaluationPeriods: 1, DatapointsToAlarm: 1 });
  });

  it("alarms on finalizer lag over the threshold, and when the finalizer stops reporting", () => {
    const alarm = alarmNamed("finalizer-lag");
    expect(metricsRead(alarm)).toEqual([
      {
        metric: "portaltime/FinalizerLagSeconds",
        dimensions: { service: "finalize" },
        period: 600,
        stat: "Maximum",
      },
    ]);
    expect(alarm).toMatchObject({
      Threshold: 30 * 60,
      ComparisonOperator: "GreaterThanThreshold",
      TreatMissingData: "breaching",
    });
  });

  it("alarms when one finalizer run reports a patient waiting in quarantine, and says what to do", () => {
    const alarm = alarmNamed("quarantined-patients");
    expect(metricsRead(alarm)).toEqual([
      {
        metric: "portaltime/QuarantinedPatients",
        dimensions: { service: "finalize" },
        period: 300,
        stat: "Maximum",
      },
    ]);
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 2,
      DatapointsToAlarm: 1,
      TreatMissingData: "ignore",
    });
    const description = JSON.stringify(alarm.AlarmDescription);
    expect(description).toContain("npm run ops -- quarantine list");
    expect(description).toContain("npm run ops -- quarantine retry");
    expect(description).toContain("--prefix portaltime");
  });

  it("alarms when a patient has been retried automatically for an hour (12 five-minute periods)", () => {
    const alarm = alarmNamed("patients-retrying");
    expect(metricsRead(alarm)).toEqual([
      {
        metric: "portaltime/PatientsRetrying",
        dimensions: { service: "finalize" },
        period: 300,
        stat: "Maximum",
      },
    ]);
    expect(alarm).toMatchObject({ EvaluationPeriods: 12, DatapointsToAlarm: 12 });
  });
});

describe("functions, API and table", () => {
  it.each(["ingest", "apply", "finalize", "review"])(
    "%s: alarms on errors and throttles in two of three periods",
    (name) => {
      const functionRef = JSON.stringify({
        Ref: Object.keys(
          template.findResources("AWS::Lambda::Function", {
            Properties: { FunctionName: `portaltime-${name}` },
          }),
        )[0],
      });
      for (const [alarmName, metric] of [
        ["errors", "AWS/Lambda/Errors"],
        ["throttles", "AWS/Lambda/Throttles"],
      ]) {
        const alarm = alarmNamed(`${name}-${alarmName}`);
        expect(metricsRead(alarm)).toEqual([
          { metric, dimensions: { FunctionName: functionRef }, period: 300, stat: "Sum" },
        ]);
        expect(alarm).toMatchObject({
          Threshold: 0,
          ComparisonOperator: "GreaterThanThreshold",
          EvaluationPeriods: 3,
          DatapointsToAlarm: 2,
        });
      }
    },
  );

  it("alarms when the review API answers billers with 500, which its errors alarm cannot see, two periods of three", () => {
    const alarm = alarmNamed("review-server-errors");
    expect(metricsRead(alarm)).toEqual([
      {
        metric: "portaltime/ReviewRequests",
        dimensions: { service: "review", status: "500" },
        period: 300,
        stat: "Sum",
      },
    ]);
    expect(alarm).toMatchObject({
      Threshold: 1,
      ComparisonOperator: "GreaterThanOrEqualToThreshold",
      EvaluationPeriods: 3,
      DatapointsToAlarm: 2,
      TreatMissingData: "notBreaching",
    });
  });

  it("alarms on the 5xx rate and on DynamoDB throttles of the table and its indexes", () => {
    expect(expressionOf(alarmNamed("api-server-errors"))).toBe("100 * errors / requests");
    expect(alarmNamed("api-server-errors")).toMatchObject({ Threshold: 1, DatapointsToAlarm: 2 });
    const throttles = alarmNamed("table-throttles");
    expect(metricsRead(throttles)).toContainEqual(
      expect.objectContaining({
        metric: "AWS/DynamoDB/WriteThrottleEvents",
        dimensions: expect.objectContaining({ GlobalSecondaryIndexName: "due" }),
      }),
    );
    expect(throttles).toMatchObject({ Threshold: 1, EvaluationPeriods: 3, DatapointsToAlarm: 2 });
  });

  it("shows every alarm on the dashboard", () => {
    const dashboard = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]);
    for (const alarm of Object.keys(template.findResources("AWS::CloudWatch::Alarm"))) {
      expect(dashboard).toContain(alarm);
    }
  });
});

it("keeps the dashboard's breakdowns and the business line", () => {
  const dashboard = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]);
  for (const search of [
    String.raw`{portaltime,format,kind,service} MetricName=\\\"DeliveriesAccepted\\\"`,
    String.raw`{portaltime,format,reason,service} MetricName=\\\"DeliveriesRejected\\\"`,
    String.raw`{portaltime,format,service} MetricName=\\\"DeliveriesDeadLettered\\\"`,
    String.raw`{portaltime,format,reason,service} MetricName=\\\"DeliveriesIgnored\\\"`,
    String.raw`{portaltime,outcome,service} MetricName=\\\"EpisodesFinalized\\\"`,
    String.raw`{portaltime,action,service} MetricName=\\\"ClaimLinesSent\\\"`,
    String.raw`{portaltime,status,service} MetricName=\\\"ReviewRequests\\\"`,
  ]) {
    expect(dashboard).toContain(search);
  }
  for (const metric of [
    "BillableMinutes",
    "ChargesCents",
    "ApproximateAgeOfOldestMessage",
    "QuarantinedPatients",
  ]) {
    expect(dashboard).toContain(metric);
  }
});

it("shows the capture figures (issue 15): outcomes per week, capture rate, reasons not billed, open items, minutes per clinician", () => {
  const dashboard = JSON.stringify(Object.values(template.findResources("AWS::CloudWatch::Dashboard"))[0]);
  for (const shown of [
    String.raw`{portaltime,outcome,service} MetricName=\\\"CaptureEpisodes\\\"', 'Sum', 604800)`,
    "100 * billable / withTime",
    "CaptureEpisodesWithTime",
    String.raw`{portaltime,reason,service} MetricName=\\\"CaptureEpisodesNotBilled\\\"`,
    String.raw`{portaltime,kind,service} MetricName=\\\"OpenReviewItems\\\"`,
    String.raw`{portaltime,kind,service} MetricName=\\\"OldestOpenReviewItemHours\\\"`,
    String.raw`filter message = \\\"clinician minutes\\\"`,
    "stats sum(minutes) as minutes by practitionerId",
  ]) {
    expect(dashboard, shown).toContain(shown);
  }
});
