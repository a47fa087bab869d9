import {
  GetQueueAttributesCommand,
  ListMessageMoveTasksCommand,
  ReceiveMessageCommand,
  SQSClient,
  StartMessageMoveTaskCommand,
} from "@aws-sdk/client-sqs";
import { mockClient } from "aws-sdk-client-mock";
import { describe, expect, it } from "vitest";
import { type RecordedLine, sendOrder } from "../../bin/ops/recorded-claim-lines.js";
import { redrive } from "../../bin/ops/redrive-command.js";
import { parseDate } from "../../bin/ops/resend-claims-command.js";
import type { QueuePair } from "../../bin/ops/stack-target.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";

const pair: QueuePair = {
  name: "inbox",
  url: "https://sqs.eu-west-1.amazonaws.com/1/acme-inbox.fifo",
  arn: "arn:aws:sqs:eu-west-1:1:acme-inbox.fifo",
  dlqUrl: "https://sqs.eu-west-1.amazonaws.com/1/acme-inbox-dlq.fifo",
  dlqArn: "arn:aws:sqs:eu-west-1:1:acme-inbox-dlq.fifo",
};

function deployedSqs(dlqDepths: Array<[visible: number, hidden: number]>) {
  const sqs = new SQSClient({ region: "eu-west-1", credentials: { accessKeyId: "x", secretAccessKey: "x" } });
  const mock = mockClient(sqs);
  let call = 0;
  mock.on(GetQueueAttributesCommand).callsFake(() => {
    const [visible, hidden] = dlqDepths[Math.min(call++, dlqDepths.length - 1)] ?? [0, 0];
    return {
      Attributes: {
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: String(hidden),
      },
    };
  });
  return { sqs, mock };
}

const output = () => {
  const out: string[] = [];
  const err: string[] = [];
  return { out, err, output: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) } };
};

describe("redrive on a deployed stack: SQS's own message move task (FIFO DLQs included)", () => {
  it("starts a move task from the DLQ to the named queue and waits for it to complete", async () => {
    // Prepare
    const { sqs, mock } = deployedSqs([
      [4, 0],
      [0, 0],
    ]);
    mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "task-1" });
    mock
      .on(ListMessageMoveTasksCommand)
      .resolvesOnce({ Results: [{ Status: "RUNNING", ApproximateNumberOfMessagesMoved: 1 }] })
      .resolves({ Results: [{ Status: "COMPLETED", ApproximateNumberOfMessagesMoved: 4 }] });
    const { out, output: o } = output();

    // Act
    const code = await redrive(sqs, pair, o, { dryRun: false, moveTask: true, sleep: async () => undefined });

    // Assess
    expect(code).toBe(0);
    expect(mock.commandCalls(StartMessageMoveTaskCommand)[0]?.args[0].input).toEqual({
      SourceArn: pair.dlqArn,
      DestinationArn: pair.arn,
    });
    expect(mock.commandCalls(ReceiveMessageCommand)).toHaveLength(0);
    expect(out).toEqual([
      "moved 4 messages from acme-inbox-dlq.fifo to acme-inbox.fifo; 0 left in acme-inbox-dlq.fifo",
    ]);
  });

  it("a failed move task is exit 1 with SQS's reason", async () => {
    // Prepare
    const { sqs, mock } = deployedSqs([[2, 0]]);
    mock.on(StartMessageMoveTaskCommand).resolves({ TaskHandle: "task-1" });
    mock.on(ListMessageMoveTasksCommand).resolves({
      Results: [{ Status: "FAILED", ApproximateNumberOfMessagesMoved: 0, FailureReason: "AccessDenied" }],
    });

    // Act, Assess
    await expect(redrive(sqs, pair, output().output, { dryRun: false, moveTask: true })).rejects.toThrow(
      "the move task failed after 0 messages: AccessDenied",
    );
  });

  it("--dry-run starts no task", async () => {
    // Prepare
    const { sqs, mock } = deployedSqs([[2, 1]]);
    const { out, output: o } = output();

    // Act
    const code = await redrive(sqs, pair, o, { dryRun: true, moveTask: true });

    // Assess
    expect(code).toBe(0);
    expect(mock.commandCalls(StartMessageMoveTaskCommand)).toHaveLength(0);
    expect(out).toEqual([
      "would move 2 messages from acme-inbox-dlq.fifo to acme-inbox.fifo (1 more being received now, not counted)",
    ]);
  });
});

describe("resend-claims", () => {
  const line = (action: ClaimLine["action"], windowStart: string, revision = 0) =>
    ({ claimLineId: `cl_${action}`, action, revision, windowStart }) as unknown as ClaimLine;
  const recorded = (patientId: string, commit: string, l: ClaimLine): RecordedLine => ({
    patientId,
    commit,
    decidedAt: "2026-03-13T12:00:00.000Z",
    line: l,
  });

  it("R16: per patient in commit order, and within one decision a void before the line that follows it", () => {
    // Prepare: one decision that moved an episode (its void and the new original), after an earlier one.
    const lines = [
      recorded("p", "0000000000002-0000000002", line("original", "2026-03-03T00:00:00Z")),
      recorded("p", "0000000000002-0000000002", line("void", "2026-03-02T00:00:00Z", 1)),
      recorded("q", "0000000000001-0000000001", line("replacement", "2026-03-02T00:00:00Z", 1)),
      recorded("p", "0000000000001-0000000001", line("original", "2026-03-02T00:00:00Z")),
    ];

    // Act
    const ordered = sendOrder(lines).map((r) => `${r.patientId} ${r.line.action} r${r.line.revision}`);

    // Assess
    expect(ordered).toEqual(["p original r0", "p void r1", "p original r0", "q replacement r1"]);
  });

  it.each([
    ["2026-03-13", "since", "2026-03-13T00:00:00.000Z"],
    ["2026-03-13", "until", "2026-03-14T00:00:00.000Z"],
    ["2026-03-13T08:30:00+01:00", "until", "2026-03-13T07:30:00.000Z"],
  ] as const)("the date %s as --%s is %s", (text, bound, instant) => {
    expect(new Date(parseDate(text, bound) ?? 0).toISOString()).toBe(instant);
  });

  it.each(["2026-02-30", "2026-03-13T08:30:00", "yesterday"])("%s is not a date", (text) => {
    expect(parseDate(text, "since")).toBeUndefined();
  });
});
