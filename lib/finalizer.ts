import { Duration } from "aws-cdk-lib";
import * as events from "aws-cdk-lib/aws-events";
import * as targets from "aws-cdk-lib/aws-events-targets";
import type * as kms from "aws-cdk-lib/aws-kms";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { FunctionSettings } from "../functions/runtime-config.js";
import type { DeploymentConfig } from "./deployment-config.js";
import type { EpisodeStore } from "./episode-store.js";
import type { FifoQueueWithDlq } from "./fifo-queue.js";
import { PortaltimeFunction } from "./portaltime-function.js";

export interface FinalizerProps {
  config: DeploymentConfig;
  /** The settings this function needs besides its own queue (functions/runtime-config.ts). */
  settings: FunctionSettings;
  store: EpisodeStore;
  claims: FifoQueueWithDlq;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/** The longest finalizer run; a backlog is worked off over consecutive runs. */
const MAX_TIMEOUT_SECONDS = 300;
/** The finalizer stops this long before its timeout, so the patient in progress finishes (finalize-handler.ts). */
const SAFETY_MARGIN_SECONDS = 30;

/**
 * The finalize function on an EventBridge schedule: it queries only due episodes, decides them and sends claim
 * lines to the claims queue. A run lasts at most one schedule interval, so runs do not overlap in normal
 * operation (conditional writes make an overlap safe anyway); a failed run is not retried, the next one
 * redoes its work.
 */
export class Finalizer extends Construct {
  readonly finalize: PortaltimeFunction;
  readonly schedule: events.Rule;

  constructor(scope: Construct, id: string, props: FinalizerProps) {
    super(scope, id);
    const { config } = props;
    const interval = Duration.minutes(config.finalizeScheduleMinutes);
    const timeoutSeconds = Math.min(interval.toSeconds(), MAX_TIMEOUT_SECONDS);

    this.finalize = new PortaltimeFunction(this, "Finalize", {
      name: "finalize",
      prefix: config.prefix,
      timeout: Duration.seconds(timeoutSeconds),
      memorySize: 1024,
      settings: {
        ...props.settings,
        claimsQueueUrl: props.claims.queue.queueUrl,
        retentionDays: config.retentionDays,
        adjustmentHorizonDays: config.adjustmentHorizonDays,
        finalizeBudgetMs: (timeoutSeconds - SAFETY_MARGIN_SECONDS) * 1000,
      },
      logsKey: props.logsKey,
      logRetention: props.logRetention,
      retryAttempts: 0,
    });
    const fn = this.finalize.function;
    props.store.grantFinalizerAccess(fn);
    props.claims.grantSend(fn);

    this.schedule = new events.Rule(this, "Schedule", {
      description: `portaltime: finalize due episodes every ${config.finalizeScheduleMinutes} min`,
      schedule: events.Schedule.rate(interval),
      targets: [new targets.LambdaFunction(fn, { retryAttempts: 2, maxEventAge: interval })],
    });

    this.finalize.acknowledge(
      {
        id: "HIPAA.Security-LambdaConcurrency",
        reason:
          "The only trigger is one scheduled invocation per interval, and a run ends within the interval (timeout = min(interval, 5 min)), so concurrency stays at one in normal operation. Reserving concurrency would take capacity from the customer's account and could fail the deploy in accounts with a low concurrency quota.",
      },
      {
        id: "HIPAA.Security-LambdaDLQ",
        reason:
          "A scheduled invocation carries no data to keep: its work is the due index in DynamoDB, which the next run reads again. Retries are off on purpose (the next run is the retry); a failed run raises the errors alarm and, if it persists, the finalizer lag alarm.",
      },
    );
  }
}
