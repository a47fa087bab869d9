import { DeleteMessageBatchCommand, ReceiveMessageCommand } from "@aws-sdk/client-sqs";
import { ScanCommand } from "@aws-sdk/lib-dynamodb";
import { describe, expect, inject, it } from "vitest";
import { runOps } from "../../bin/ops/ops-command.js";
import type { ClaimLine } from "../../functions/domain/claim-line.js";
import { claimGroupId } from "../../functions/queue/claims-sender.js";
import { activity, visit } from "../support/domain-builders.js";
import { AS_OF, episode, type FinalizerWorld, finalizerWorld, summary } from "../support/finalizer-world.js";
import { isolatedResources } from "../support/integration.js";

const { dynamodbEndpoint, sqsEndpoint } = inject("localAws");
const DAY = 86_400_000;

/**
 * The finalizer's own records: on 2026-03-12 it sends three originals; on 2026-03-13 a late visit voids one and
 * late minutes replace another (R16). The connector then loses lines: resend-claims sends them to a claims queue
 * of its own (a fresh prefix), because SQS would drop a resend within 5 minutes of the finalizer's own send.
 */
async function recordedWorld() {
  const world = await finalizerWorld();
  await world.seed([
    ...episode("late-visit", [{ practitionerId: "dr-adams", minutes: 6 }]),
    ...episode("late-time", [{ practitionerId: "dr-adams", minutes: 6 }]),
    ...episode("steady", [{ practitionerId: "dr-adams", minutes: 12 }]),
    // Below the threshold: decided and recorded, no line sent.
    ...episode("quiet", [{ practitionerId: "dr-adams", minutes: 3 }]),
  ]);
  await world.run(AS_OF);
  const originals = await world.takeClaims();
  await world.seed([
    visit({ id: "late-visit-v", patientId: "late-visit", at: "2026-03-05T15:00:00Z" }),
    activity({
      id: "late-time-a9",
      patientId: "late-time",
      at: "2026-03-04T16:00:00Z",
      practitionerId: "np-baker",
      minutes: 8,
      inResponseTo: "late-time-q",
    }),
  ]);
  await world.run(AS_OF + DAY);
  const adjustments = await world.takeClaims();
  const lost = await isolatedResources();
  return { world, originals, adjustments, lost };
}

async function resend(world: FinalizerWorld, prefix: string, ...args: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await runOps(
    [
      "resend-claims",
      ...args,
      "--sqs-endpoint",
      sqsEndpoint,
      "--prefix",
      prefix,
      "--endpoint",
      dynamodbEndpoint,
      "--table",
      world.resources.tableName,
    ],
    { out: (line) => out.push(line), err: (line) => err.push(line), now: () => AS_OF + 2 * DAY },
  );
  return { code, out, err };
}

/** What the connector reads from the queue: each line with the FIFO metadata it arrived under, in order. */
async function connectorReads(world: FinalizerWorld, queueUrl: string) {
  const messages: Array<{ line: ClaimLine; body: string; group: string; dedup: string }> = [];
  for (;;) {
    const { Messages: page = [] } = await world.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: 10,
        MessageSystemAttributeNames: ["MessageGroupId", "MessageDeduplicationId"],
      }),
    );
    if (page.length === 0) return messages;
    await world.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: queueUrl,
        Entries: page.map((message, index) => ({ Id: String(index), ReceiptHandle: message.ReceiptHandle })),
      }),
    );
    for (const message of page)
      messages.push({
        line: JSON.parse(message.Body ?? ""),
        body: message.Body ?? "",
        group: message.Attributes?.MessageGroupId ?? "",
        dedup: message.Attributes?.MessageDeduplicationId ?? "",
      });
  }
}

const everyItem = async (world: FinalizerWorld) =>
  (
    await world.documents.send(
      new ScanCommand({ TableName: world.resources.tableName, ConsistentRead: true }),
    )
  ).Items;

describe("npm run ops -- resend-claims", () => {
  it("re-emits exactly the lines recorded as sent in the range, byte for byte, with the finalizer's ids, and changes no item", async () => {
    // Prepare
    const { world, adjustments, lost } = await recordedWorld();
    const before = await everyItem(world);

    // Act: the connector lost what was sent on 2026-03-13.
    const { code, out } = await resend(world, lost.prefix, "--since", "2026-03-13", "--until", "2026-03-13");
    const received = await connectorReads(world, lost.claimsUrl);

    // Assess
    expect(code).toBe(0);
    expect(summary(received.map((m) => m.line))).toEqual(summary(adjustments));
    // The finalizer's bodies, read back as parsed JSON keeps them: the same bytes, field order included.
    expect(received.map((m) => m.body).sort()).toEqual(
      adjustments.map((line) => JSON.stringify(line)).sort(),
    );
    for (const { line, group, dedup } of received) {
      expect(dedup).toBe(`${line.claimLineId}-r${line.revision}`);
      expect(group).toBe(claimGroupId(line));
    }
    expect(out.at(-1)).toBe(
      "sent 2 claim lines of 2 patients decided from 2026-03-13T00:00:00.000Z until 2026-03-14T00:00:00.000Z to " +
        `${lost.prefix}-claims.fifo`,
    );
    expect(await everyItem(world)).toEqual(before);
  });

  it("--patient: that patient's lines in the order they were sent, the original before its void", async () => {
    // Prepare
    const { world, originals, adjustments, lost } = await recordedWorld();

    // Act
    const { code } = await resend(world, lost.prefix, "--since", "2026-03-01", "--patient", "late-visit");
    const received = await connectorReads(world, lost.claimsUrl);

    // Assess
    expect(code).toBe(0);
    const sentBefore = [...originals, ...adjustments].filter((line) => line.patientId === "late-visit");
    expect(received.map((m) => m.line)).toEqual(sentBefore);
    expect(received.map((m) => `${m.line.action} r${m.line.revision}`)).toEqual(["original r0", "void r1"]);
  });

  it("--dry-run prints what it would send and sends nothing", async () => {
    // Prepare
    const { world, originals, lost } = await recordedWorld();

    // Act
    const { code, out } = await resend(
      world,
      lost.prefix,
      "--since",
      "2026-03-12T00:00:00Z",
      "--until",
      "2026-03-13T00:00:00Z",
      "--dry-run",
    );

    // Assess
    expect(code).toBe(0);
    expect(out).toHaveLength(originals.length + 1);
    for (const line of originals)
      expect(out).toContainEqual(
        expect.stringContaining(`would send ${line.claimLineId}-r0 original; patient ${line.patientId}`),
      );
    expect(out.at(-1)).toMatch(
      /^would send 3 claim lines of 3 patients decided from 2026-03-12T00:00:00.000Z/,
    );
    expect(await connectorReads(world, lost.claimsUrl)).toEqual([]);
  });

  it.each([
    [["--until", "2026-03-13"], "ops: resend-claims needs --since <date>"],
    [["--since", "last tuesday"], "ops: --since is not a date: last tuesday"],
    [["--since", "2026-03-13", "--until", "2026-03-12"], "ops: --until is not after --since"],
  ])("refuses %j with a usage line and exit 2", async (args, message) => {
    // Act
    const out: string[] = [];
    const err: string[] = [];
    const code = await runOps(["resend-claims", ...args, "--prefix", "p"], {
      out: (line) => out.push(line),
      err: (line) => err.push(line),
    });

    // Assess
    expect(code).toBe(2);
    expect(out).toEqual([]);
    expect(err[0]).toBe(message);
  });
});
