import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
} from "@aws-sdk/client-sqs";
import type { MiddlewareStack } from "@smithy/types";
import { afterAll, describe, expect, inject, it } from "vitest";
import { localSqsClient } from "../../bin/local/resources.js";
import { runOps } from "../../bin/ops/ops-command.js";
import { redrive } from "../../bin/ops/redrive-command.js";
import type { QueueName, QueuePair } from "../../bin/ops/stack-target.js";
import { isolatedResources } from "../support/integration.js";

const sqsEndpoint = inject("localAws").sqsEndpoint;
const sqs = localSqsClient(sqsEndpoint);
afterAll(() => sqs.destroy());

async function ops(...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(args, { out: (line) => out.push(line), err: (line) => err.push(line) });
  return { code, out, err };
}

/**
 * Queues of their own with three dead letters in the named DLQ: two of one message group (in order) and one of
 * another, each with the reason the apply function gives a message it dead-letters itself.
 */
async function deadLetters(queue: QueueName) {
  const resources = await isolatedResources();
  const url = queue === "inbox" ? resources.inboxUrl : resources.claimsUrl;
  const dlqUrl = queue === "inbox" ? resources.inboxDlqUrl : resources.claimsDlqUrl;
  const letters = [
    { body: '{"n":1}', group: "g-one" },
    { body: '{"n":2}', group: "g-one" },
    { body: '{"n":3}', group: "g-two" },
  ];
  for (const [index, letter] of letters.entries())
    await sqs.send(
      new SendMessageCommand({
        QueueUrl: dlqUrl,
        MessageBody: letter.body,
        MessageGroupId: letter.group,
        MessageDeduplicationId: `original-${index}`,
        MessageAttributes: { reason: { DataType: "String", StringValue: "hydration failed" } },
      }),
    );
  const arn = async (queueUrl: string) =>
    (await sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ["QueueArn"] })))
      .Attributes?.QueueArn ?? "";
  const pair: QueuePair = { name: queue, url, arn: await arn(url), dlqUrl, dlqArn: await arn(dlqUrl) };
  return { prefix: resources.prefix, pair, url, dlqUrl };
}

async function depth(queueUrl: string): Promise<number> {
  const { Attributes: attributes = {} } = await sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: ["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    }),
  );
  return (
    Number(attributes.ApproximateNumberOfMessages) + Number(attributes.ApproximateNumberOfMessagesNotVisible)
  );
}

/** Every message of the queue with its group, in the order a consumer gets them (each deleted once read). */
async function received(queueUrl: string) {
  const messages: Array<{ body: string; group: string; reason?: string }> = [];
  for (;;) {
    const { Messages: page = [] } = await sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        VisibilityTimeout: 300,
        MessageSystemAttributeNames: ["MessageGroupId"],
        MessageAttributeNames: ["All"],
      }),
    );
    if (page.length === 0) return messages;
    await sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: page.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    for (const message of page)
      messages.push({
        body: message.Body ?? "",
        group: message.Attributes?.MessageGroupId ?? "",
        reason: message.MessageAttributes?.reason?.StringValue,
      });
  }
}

describe("npm run ops -- redrive", () => {
  it.each(["inbox", "claims"] as const)(
    "%s: moves every dead letter back to its queue, in its group and order, and a rerun moves nothing",
    async (queue) => {
      // Prepare
      const { prefix, url, dlqUrl } = await deadLetters(queue);
      const target = ["--sqs-endpoint", sqsEndpoint, "--prefix", prefix];

      // Act
      const first = await ops("redrive", queue, ...target);
      const again = await ops("redrive", queue, ...target);

      // Assess
      expect(first.code).toBe(0);
      expect(first.out).toEqual([
        `moved 3 messages from ${prefix}-${queue}-dlq.fifo to ${prefix}-${queue}.fifo; 0 left in ${prefix}-${queue}-dlq.fifo`,
      ]);
      expect(again.code).toBe(0);
      expect(again.out).toEqual([`nothing to move: ${prefix}-${queue}-dlq.fifo is empty`]);
      expect(await depth(dlqUrl)).toBe(0);
      const moved = await received(url);
      expect(moved.filter((m) => m.group === "g-one").map((m) => m.body)).toEqual(['{"n":1}', '{"n":2}']);
      expect(moved.filter((m) => m.group === "g-two").map((m) => m.body)).toEqual(['{"n":3}']);
      expect(moved.map((m) => m.reason)).toEqual([
        "hydration failed",
        "hydration failed",
        "hydration failed",
      ]);
    },
  );

  it("--dry-run counts the dead letters and moves none", async () => {
    // Prepare
    const { prefix, url, dlqUrl } = await deadLetters("inbox");

    // Act
    const { code, out } = await ops(
      "redrive",
      "inbox",
      "--dry-run",
      "--sqs-endpoint",
      sqsEndpoint,
      "--prefix",
      prefix,
    );

    // Assess
    expect(code).toBe(0);
    expect(out).toEqual([`would move 3 messages from ${prefix}-inbox-dlq.fifo to ${prefix}-inbox.fifo`]);
    expect(await depth(dlqUrl)).toBe(3);
    expect(await depth(url)).toBe(0);
  });

  it("a run that fails after sending and before deleting loses nothing, and the rerun sends no second copy", async () => {
    // Prepare: a client whose deletes fail, as a run killed between the two calls would leave things.
    const { pair, url, dlqUrl } = await deadLetters("claims");
    const failing = localSqsClient(sqsEndpoint);
    (failing.middlewareStack as MiddlewareStack<object, object>).add(
      (next, context) => async (args) => {
        if ((context as { commandName?: string }).commandName === "DeleteMessageBatchCommand")
          throw new Error("killed before delete");
        return next(args);
      },
      { step: "initialize" },
    );
    const output = { out: () => undefined, err: () => undefined };

    // Act
    await expect(
      redrive(failing, pair, output, { dryRun: false, moveTask: false, hiddenSeconds: 1 }),
    ).rejects.toThrow(/killed/);
    failing.destroy();
    // What the failed run received comes back to the DLQ when its visibility timeout ends.
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const code = await redrive(sqs, pair, output, { dryRun: false, moveTask: false });

    // Assess: the DLQ is empty and the queue holds each message once.
    expect(code).toBe(0);
    expect(await depth(dlqUrl)).toBe(0);
    expect((await received(url)).map((m) => m.body).sort()).toEqual(['{"n":1}', '{"n":2}', '{"n":3}']);
  });

  it("messages that fail again at once come back to the DLQ and stay there: the run ends, exit 1", async () => {
    // Prepare: a consumer that dead-letters everything it reads, as the apply function does with what it cannot read.
    const { prefix, url, dlqUrl } = await deadLetters("inbox");
    let consuming = true;
    const consumer = (async () => {
      while (consuming) {
        const { Messages: page = [] } = await sqs.send(
          new ReceiveMessageCommand({
            QueueUrl: url,
            MaxNumberOfMessages: 10,
            MessageSystemAttributeNames: ["MessageGroupId"],
          }),
        );
        for (const message of page) {
          await sqs.send(
            new SendMessageCommand({
              QueueUrl: dlqUrl,
              MessageBody: message.Body,
              MessageGroupId: message.Attributes?.MessageGroupId,
              MessageDeduplicationId: `again-${message.MessageId}`,
            }),
          );
          await sqs.send(
            new DeleteMessageBatchCommand({
              QueueUrl: url,
              Entries: [{ Id: "0", ReceiptHandle: message.ReceiptHandle }],
            }),
          );
        }
        if (page.length === 0) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    })();

    // Act
    const { code, out, err } = await ops(
      "redrive",
      "inbox",
      "--sqs-endpoint",
      sqsEndpoint,
      "--prefix",
      prefix,
    );
    consuming = false;
    await consumer;

    // Assess: the run ended; every message is in the DLQ or, caught mid-failure, in the queue: none lost.
    expect(code).toBe(1);
    expect(out[0]).toMatch(/^moved \d+ messages from .*-inbox-dlq\.fifo to .*-inbox\.fifo; [1-3] left in /);
    expect(err).toContainEqual(
      expect.stringMatching(/^redrive: [1-3] messages? failed again and came back to /),
    );
    expect((await depth(dlqUrl)) + (await depth(url))).toBe(3);
  });

  it.each([
    [
      ["redrive", "inbox"],
      "ops: say which stack: --local, --prefix <prefix> [--region <region>] or --sqs-endpoint <url> --prefix <prefix>",
    ],
    [["redrive", "--prefix", "p"], "ops: redrive needs inbox or claims"],
    [["redrive", "outbox", "--prefix", "p"], "ops: redrive inbox or claims, not outbox"],
    [
      ["redrive", "inbox", "--sqs-endpoint", "http://127.0.0.1:1"],
      "ops: --sqs-endpoint needs --prefix <prefix> (of the queue names)",
    ],
  ])("refuses %j with a usage line and exit 2", async (args, message) => {
    // Act
    const { code, out, err } = await ops(...args);

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toBe(message);
  });
});
