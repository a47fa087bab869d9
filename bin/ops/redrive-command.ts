import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  type Message,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
  type SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import type { OpsOutput } from "./command-output.js";
import { OpsError } from "./errors.js";
import type { QueuePair } from "./stack-target.js";

export interface RedriveOptions {
  dryRun: boolean;
  /**
   * SQS's own message move task (StartMessageMoveTask), which moves FIFO dead-letter queues too (the destination
   * must be FIFO as well); the local SQS server has none, and there the command moves the messages itself.
   */
  moveTask: boolean;
  /** How long a received DLQ message stays hidden while it is copied (seconds); a minute unless said. */
  hiddenSeconds?: number;
  /** Between polls of a running move task. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

/** How long a received DLQ message stays hidden while it is being copied: far longer than a send takes. */
const HIDDEN_SECONDS = 60;

/**
 * `redrive inbox|claims`: moves the messages of the queue's dead-letter queue back to the queue, each in its
 * message group (the patient or resource; claims: a hash of the patient), oldest first. Exit 0 when the DLQ is
 * empty afterwards (or would be moved, with --dry-run).
 */
export async function redrive(
  sqs: SQSClient,
  queues: QueuePair,
  output: OpsOutput,
  options: RedriveOptions,
): Promise<number> {
  const waiting = await count(sqs, queues.dlqUrl);
  const from = nameOf(queues.dlqUrl);
  const to = nameOf(queues.url);
  if (options.dryRun) {
    output.out(
      `would move ${plural(waiting.visible, "message")} from ${from} to ${to}` +
        (waiting.hidden > 0 ? ` (${waiting.hidden} more being received now, not counted)` : ""),
    );
    return 0;
  }
  if (waiting.visible === 0 && waiting.hidden === 0) {
    output.out(`nothing to move: ${from} is empty`);
    return 0;
  }
  const moved = options.moveTask
    ? await moveTask(sqs, queues, output, options)
    : await copyThenDelete(sqs, queues, output, options.hiddenSeconds ?? HIDDEN_SECONDS);
  const left = await count(sqs, queues.dlqUrl);
  output.out(
    `moved ${plural(moved, "message")} from ${from} to ${to}; ${left.visible + left.hidden} left in ${from}`,
  );
  return left.visible + left.hidden === 0 ? 0 : 1;
}

/**
 * Receive, send, then delete: a message leaves the DLQ only after the queue accepted its copy. The copy's
 * deduplication id is the DLQ message's own id, which stays the same however often it is received: a rerun after
 * a failure between send and delete sends the same id again, which SQS drops within its 5-minute window (after
 * that, the apply function's idempotence and the connector's claimLineId + revision dedup absorb the copy).
 * Only messages that were in the DLQ when the run started move: one that fails again at once comes back to the DLQ
 * as a new message, and moving it again would go round for as long as it keeps failing.
 */
async function copyThenDelete(
  sqs: SQSClient,
  queues: QueuePair,
  output: OpsOutput,
  hiddenSeconds: number,
): Promise<number> {
  // SQS's timestamps are its own clock: should it run ahead of this machine's, a message dead-lettered just before
  // the start counts as come back and stays (reported, exit 1; a rerun moves it), never as moved twice.
  const startedAt = Date.now();
  let moved = 0;
  let back = 0;
  for (;;) {
    const { Messages: messages = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queues.dlqUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: hiddenSeconds,
        WaitTimeSeconds: 1,
        MessageSystemAttributeNames: ["MessageGroupId", "SentTimestamp"],
        MessageAttributeNames: ["All"],
      }),
    );
    const before = messages.filter((message) => Number(message.Attributes?.SentTimestamp ?? 0) < startedAt);
    back += messages.length - before.length;
    if (before.length === 0) {
      // What came back stays hidden until its visibility timeout ends, then waits in the DLQ for a person.
      if (back > 0)
        output.err(
          `redrive: ${plural(back, "message")} failed again and came back to ${nameOf(queues.dlqUrl)}`,
        );
      return moved;
    }
    const sent = await sqs.send(
      new SendMessageBatchCommand({
        QueueUrl: queues.url,
        Entries: before.map((message, index) => ({
          Id: String(index),
          MessageBody: message.Body ?? "",
          MessageGroupId: message.Attributes?.MessageGroupId ?? "redrive",
          MessageDeduplicationId: redriveDeduplicationId(message),
          ...(message.MessageAttributes === undefined
            ? {}
            : { MessageAttributes: message.MessageAttributes }),
        })),
      }),
    );
    const accepted = new Set((sent.Successful ?? []).map((entry) => entry.Id));
    const toDelete = before
      .map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle ?? "" }))
      .filter((entry) => accepted.has(entry.Id));
    if (toDelete.length > 0) {
      const deleted = await sqs.send(
        new DeleteMessageBatchCommand({ QueueUrl: queues.dlqUrl, Entries: toDelete }),
      );
      moved += deleted.Successful?.length ?? 0;
    }
    const refused = sent.Failed ?? [];
    if (refused.length > 0)
      throw new OpsError(
        `${nameOf(queues.url)} refused ${plural(refused.length, "message")} (${[...new Set(refused.map((f) => f.Code))].join(", ")}): ` +
          `they stay in ${nameOf(queues.dlqUrl)}; ${moved} moved so far, run the command again`,
      );
    if (Math.floor(moved / 100) > Math.floor((moved - toDelete.length) / 100))
      output.err(`redrive: ${moved} moved`);
  }
}

/** A DLQ message's copy is the same message however often the copy is sent: its id in the DLQ. */
export const redriveDeduplicationId = (message: Message): string => `redrive-${message.MessageId ?? ""}`;

async function moveTask(
  sqs: SQSClient,
  queues: QueuePair,
  output: OpsOutput,
  options: RedriveOptions,
): Promise<number> {
  const sleep = options.sleep ?? ((ms: number) => new Promise((resolve) => setTimeout(resolve, ms)));
  // The destination named: messages the apply function dead-lettered itself have no source queue SQS knows.
  const started = await sqs.send(
    new StartMessageMoveTaskCommand({ SourceArn: queues.dlqArn, DestinationArn: queues.arn }),
  );
  output.err(`redrive: SQS message move task started (${started.TaskHandle ?? "no handle"})`);
  for (;;) {
    const { Results: tasks = [] } = await sqs.send(
      new ListMessageMoveTasksCommand({ SourceArn: queues.dlqArn, MaxResults: 1 }),
    );
    const task = tasks[0];
    if (task === undefined) throw new OpsError("SQS lists no move task for the dead-letter queue");
    if (task.Status === "COMPLETED") return task.ApproximateNumberOfMessagesMoved ?? 0;
    if (task.Status === "FAILED" || task.Status === "CANCELLED")
      throw new OpsError(
        `the move task ${task.Status.toLowerCase()} after ${task.ApproximateNumberOfMessagesMoved ?? 0} messages: ${task.FailureReason ?? "no reason given"}`,
      );
    output.err(
      `redrive: ${task.ApproximateNumberOfMessagesMoved ?? 0} of ${task.ApproximateNumberOfMessagesToMove ?? "?"} moved`,
    );
    await sleep(options.pollMs ?? 2_000);
  }
}

async function count(sqs: SQSClient, url: string): Promise<{ visible: number; hidden: number }> {
  const { Attributes: attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: url,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return {
    visible: Number(attributes.ApproximateNumberOfMessages ?? 0),
    hidden: Number(attributes.ApproximateNumberOfMessagesNotVisible ?? 0),
  };
}

const nameOf = (url: string): string => url.split("/").pop() ?? url;
const plural = (n: number, noun: string): string => `${n} ${noun}${n === 1 ? "" : "s"}`;
