import { Duration } from "aws-cdk-lib";
import type * as kms from "aws-cdk-lib/aws-kms";
import { SqsEventSource } from "aws-cdk-lib/aws-lambda-event-sources";
import type * as logs from "aws-cdk-lib/aws-logs";
import { Construct } from "constructs";
import type { FunctionSettings } from "../functions/runtime-config.js";
import { apiOf, apiVendors } from "../functions/vendors/api-registry.js";
import type { DeploymentConfig } from "./deployment-config.js";
import type { EpisodeStore } from "./episode-store.js";
import type { FifoQueueWithDlq } from "./fifo-queue.js";
import { PortaltimeFunction } from "./portaltime-function.js";
import type { NamedSecret, WebhookSecrets } from "./webhook-secrets.js";

export interface ApplyProps {
  config: DeploymentConfig;
  /** The settings this function needs besides its own queues (functions/runtime-config.ts). */
  settings: FunctionSettings;
  inbox: FifoQueueWithDlq;
  store: EpisodeStore;
  secrets: WebhookSecrets;
  logsKey: kms.IKey;
  logRetention: logs.RetentionDays;
}

/** The most records one invocation takes from the FIFO inbox (the FIFO maximum). */
const BATCH_SIZE = 10;

/**
 * The apply function on the inbox: FIFO batches with partial failures (a failed record is retried with the
 * rest of its message group, the others are deleted), at most the configured number of concurrent batches,
 * and a function timeout at most a sixth of the inbox visibility timeout (AWS guidance for SQS event sources).
 */
export class Apply extends Construct {
  readonly apply: PortaltimeFunction;

  constructor(scope: Construct, id: string, props: ApplyProps) {
    super(scope, id);
    const { config, inbox } = props;
    const timeout = Duration.seconds(Math.floor(inbox.design.visibilityTimeoutSeconds / 6));
    const { apiCredentials } = props.secrets;
    // The vendor APIs thin payloads are fetched from, each with the name of the secret holding its credential;
    // the function is granted exactly the secrets it is told the names of.
    const read: NamedSecret[] = [];
    const nameOf = (credential: NamedSecret) => {
      read.push(credential);
      return credential.name;
    };
    const hydration = Object.fromEntries(
      apiVendors.flatMap((vendor) => {
        const settings = config[vendor];
        const credential = apiCredentials[vendor];
        if (settings === undefined || credential === undefined) return [];
        return [[vendor, { ...settings, [apiOf(vendor).credential.setting]: nameOf(credential) }]];
      }),
    ) as NonNullable<FunctionSettings["hydration"]>;

    this.apply = new PortaltimeFunction(this, "Apply", {
      name: "apply",
      prefix: config.prefix,
      timeout,
      memorySize: 512,
      settings: {
        ...props.settings,
        inboxDlqUrl: inbox.deadLetterQueue.queueUrl,
        retentionDays: config.retentionDays,
        ...(Object.keys(hydration).length > 0 ? { hydration } : {}),
      },
      logsKey: props.logsKey,
      logRetention: props.logRetention,
    });
    const fn = this.apply.function;
    fn.addEventSource(
      new SqsEventSource(inbox.queue, {
        batchSize: BATCH_SIZE,
        reportBatchItemFailures: true,
        maxConcurrency: config.applyMaxConcurrency,
      }),
    );
    props.store.grantApplyWrites(fn);
    inbox.grantSendToDeadLetterQueue(fn);
    for (const { secret } of read) secret.grantRead(fn);

    this.apply.acknowledge(
      {
        id: "HIPAA.Security-LambdaConcurrency",
        reason:
          "Apply concurrency is bounded by the inbox event source's maximum concurrency (configuration applyMaxConcurrency). Reserved concurrency would take capacity from the customer's account and could fail the deploy in accounts with a low concurrency quota.",
      },
      {
        id: "HIPAA.Security-LambdaDLQ",
        reason:
          "Invoked only by the SQS event source, where a Lambda DLQ never receives anything. Failed deliveries go to the inbox's FIFO dead-letter queue: by redrive after maxReceiveCount receives, or directly with the reason when they can never apply. Any message there raises an alarm.",
      },
    );
  }
}
