import { createHash } from "node:crypto";
import { SendMessageBatchCommand, type SQSClient } from "@aws-sdk/client-sqs";
import type { ClaimLine } from "../domain/claim-line.js";

/** Where claim lines go: the customer's clearinghouse connector reads this queue. */
export interface ClaimSink {
  /** Sends every line or throws; lines already sent again are dropped by the FIFO dedup id within 5 minutes. */
  send(lines: readonly ClaimLine[]): Promise<void>;
}

/** SQS's batch limit. */
const BATCH_SIZE = 10;

/** A line sent twice is recognisable forever by claimLineId + revision; the FIFO dedup id is exactly that. */
export const claimDeduplicationId = (line: ClaimLine): string => `${line.claimLineId}-r${line.revision}`;

/** Lines of one patient stay in order; the group id is a hash so no patient identifier shows in queue metadata. */
export const claimGroupId = (line: ClaimLine): string =>
  createHash("sha256").update(line.patientId).digest("hex").slice(0, 32);

export class SqsClaimSink implements ClaimSink {
  constructor(
    private readonly client: SQSClient,
    private readonly queueUrl: string,
  ) {}

  async send(lines: readonly ClaimLine[]): Promise<void> {
    for (let start = 0; start < lines.length; start += BATCH_SIZE) {
      const batch = lines.slice(start, start + BATCH_SIZE);
      const result = await this.client.send(
        new SendMessageBatchCommand({
          QueueUrl: this.queueUrl,
          Entries: batch.map((line, index) => ({
            Id: String(index),
            MessageBody: JSON.stringify(line),
            MessageGroupId: claimGroupId(line),
            MessageDeduplicationId: claimDeduplicationId(line),
          })),
        }),
      );
      if ((result.Failed ?? []).length > 0) {
        throw new ClaimSendError((result.Failed ?? []).map((failure) => failure.Code ?? "unknown"));
      }
    }
  }
}

/** Some lines of a batch were not accepted by SQS: the outbox keeps them and the next run sends them again. */
export class ClaimSendError extends Error {
  readonly retryable = true;
  constructor(readonly codes: string[]) {
    super(`claims queue refused ${codes.length} line(s): ${[...new Set(codes)].join(", ")}`);
    this.name = "ClaimSendError";
  }
}
