import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { SQSRecord } from "aws-lambda";

/** Where a message goes when it can never apply: kept whole, with the reason, for a person to look at. */
export interface DeadLetterSink {
  send(record: SQSRecord, reason: string): Promise<void>;
}

/**
 * Moves an unusable message to the inbox DLQ at once instead of letting SQS retry it to exhaustion: the reason
 * travels as a message attribute (ids and causes only, never payload content), the body is kept unchanged.
 */
export class SqsDeadLetterSink implements DeadLetterSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(record: SQSRecord, reason: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: record.body,
        MessageGroupId: record.attributes.MessageGroupId ?? "dead-letter",
        MessageDeduplicationId: record.attributes.MessageDeduplicationId ?? record.messageId,
        MessageAttributes: {
          reason: { DataType: "String", StringValue: reason.slice(0, 1024) },
          sourceMessageId: { DataType: "String", StringValue: record.messageId },
        },
      }),
    );
  }
}
