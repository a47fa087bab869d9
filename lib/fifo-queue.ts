import { Duration, RemovalPolicy } from "aws-cdk-lib";
import * as iam from "aws-cdk-lib/aws-iam";
import type * as kms from "aws-cdk-lib/aws-kms";
import * as sqs from "aws-cdk-lib/aws-sqs";
import { Construct } from "constructs";
import { dlqName, fifoName, type QueueDesign } from "../functions/queue/queue-design.js";
import { grantKeyViaService } from "./keys.js";

/** KMS use SQS makes with the sender's credentials to encrypt a message under a customer key. */
const SEND_KEY_ACTIONS = ["kms:GenerateDataKey", "kms:Decrypt"];

export interface FifoQueueWithDlqProps {
  /** The shared design (functions/queue/queue-design.ts): names, redrive, visibility, retention. */
  design: QueueDesign;
  prefix: string;
  key: kms.IKey;
}

/**
 * A FIFO queue of the shared design and its FIFO dead-letter queue, both under the queue key and refusing
 * any request that is not TLS (`aws:SecureTransport` deny in the queue policy).
 */
export class FifoQueueWithDlq extends Construct {
  readonly queue: sqs.Queue;
  readonly deadLetterQueue: sqs.Queue;
  readonly design: QueueDesign;
  private readonly key: kms.IKey;

  constructor(scope: Construct, id: string, props: FifoQueueWithDlqProps) {
    super(scope, id);
    this.design = props.design;
    this.key = props.key;
    const encrypted = {
      fifo: true,
      encryption: sqs.QueueEncryption.KMS,
      encryptionMasterKey: props.key,
      enforceSSL: true,
      // Messages in flight carry PHI and claim lines: deleting the stack must not delete them with the queue.
      removalPolicy: RemovalPolicy.RETAIN,
    } as const;
    this.deadLetterQueue = new sqs.Queue(this, "DeadLetterQueue", {
      ...encrypted,
      queueName: dlqName(props.prefix, props.design.name),
      // The longest SQS allows: what lands here waits for a person.
      retentionPeriod: Duration.days(14),
    });
    this.queue = new sqs.Queue(this, "Queue", {
      ...encrypted,
      queueName: fifoName(props.prefix, props.design.name),
      visibilityTimeout: Duration.seconds(props.design.visibilityTimeoutSeconds),
      retentionPeriod: Duration.seconds(props.design.retentionSeconds),
      deadLetterQueue: { queue: this.deadLetterQueue, maxReceiveCount: props.design.maxReceiveCount },
    });
  }

  /** `sqs:SendMessage` (which also covers SendMessageBatch) on the queue, and the key through SQS only. */
  grantSend(grantee: iam.IGrantable): void {
    this.grantSendTo(this.queue, grantee);
  }

  /** For a consumer that moves what can never succeed to the DLQ itself, with the reason. */
  grantSendToDeadLetterQueue(grantee: iam.IGrantable): void {
    this.grantSendTo(this.deadLetterQueue, grantee);
  }

  private grantSendTo(queue: sqs.IQueue, grantee: iam.IGrantable): void {
    iam.Grant.addToPrincipal({ grantee, actions: ["sqs:SendMessage"], resourceArns: [queue.queueArn] });
    grantKeyViaService(this.key, grantee, "sqs", SEND_KEY_ACTIONS);
  }
}
