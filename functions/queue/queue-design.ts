/**
 * The two FIFO queues and their dead-letter queues, shared by the SQS adapters, the CDK stack and the local
 * stack. Names get the `.fifo` suffix SQS requires.
 */
export interface QueueDesign {
  /** Logical name; the deployed name is `<prefix>-<name>.fifo`. */
  name: string;
  /** Receives before a message moves to the DLQ. */
  maxReceiveCount: number;
  /** Seconds; at least 6x the consuming function's timeout (AWS guidance for Lambda event sources). */
  visibilityTimeoutSeconds: number;
  retentionSeconds: number;
}

/** Deliveries accepted by the ingest function, applied by the apply function. */
export const inboxQueue: QueueDesign = {
  name: "inbox",
  maxReceiveCount: 5,
  visibilityTimeoutSeconds: 6 * 60,
  retentionSeconds: 14 * 24 * 3600,
};

/** Claim lines for the customer's clearinghouse connector. */
export const claimsQueue: QueueDesign = {
  name: "claims",
  maxReceiveCount: 10,
  visibilityTimeoutSeconds: 5 * 60,
  retentionSeconds: 14 * 24 * 3600,
};

export const fifoName = (prefix: string, name: string): string => `${prefix}-${name}.fifo`;
export const dlqName = (prefix: string, name: string): string => `${prefix}-${name}-dlq.fifo`;
