import { SendMessageCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { InboxSender } from "../ingest/ingest-delivery.js";

/** Sends accepted deliveries to the FIFO inbox: grouped by patient or resource, deduplicated by delivery. */
export class SqsInboxSender implements InboxSender {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(body: string, groupId: string, deduplicationId: string): Promise<void> {
    await this.client.send(
      new SendMessageCommand({
        QueueUrl: this.queueUrl,
        MessageBody: body,
        MessageGroupId: groupId,
        MessageDeduplicationId: deduplicationId,
      }),
    );
  }
}
