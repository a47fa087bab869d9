import { createHash } from "node:crypto";
import { PurgeQueueCommand, SendMessageCommand } from "@aws-sdk/client-sqs";
import { DateTime } from "luxon";
import { demoPractice } from "../../bin/local/demo-practice.js";
import { devFormatSecrets } from "../../bin/local/dev-secrets.js";
import { LocalPipeline } from "../../bin/local/pipeline.js";
import { localSqsClient } from "../../bin/local/resources.js";
import { signWithDevSecret } from "../../bin/local/sign-delivery.js";
import { ingestDelivery } from "../../functions/ingest/ingest-delivery.js";
import { ingestDependencies } from "../../functions/ingest/ingest-handler.js";
import { bridge } from "../../functions/vendors/bridge/format.js";
import { groupKeyOf } from "../../functions/vendors/envelope.js";
import type { InboundRequest } from "../../functions/vendors/format.js";
import { type BenchContext, markdownTable, type SectionResult } from "./context.js";
import { scaled } from "./scale.js";
import { fixed, median, quantile, ratio } from "./stats.js";
import { syntheticEpisode } from "./synthetic.js";

const WARM_UP_ROUNDS = scaled(300, 20);
const REPETITIONS = 5;
const ROUNDS_PER_REPETITION = scaled(600, 30);
const TARGET_RATIO = 1.3;

/** The three sides timed in each round, in an order that rotates from round to round. */
const sides = ["handler", "core", "bare"] as const;
type Side = (typeof sides)[number];

interface Repetition {
  p50: Record<Side, number>;
  p99: Record<Side, number>;
  authenticateMedianMs: number;
  acceptMedianMs: number;
}

/**
 * Section 2: the ingest handler's time per delivery against a bare SQS SendMessage of a message of the same size
 * to the same inbox on the same server, one at a time, interleaved. A third side, the handler's core
 * (`ingestDelivery` without the middy chain), and the signature check and envelope parse timed on their own
 * split the difference into what the Powertools middleware adds and what the format's work adds.
 */
export async function measureIngest(context: BenchContext): Promise<SectionResult> {
  context.progress(
    `ingest overhead: ${WARM_UP_ROUNDS} warm-up rounds, then ${REPETITIONS} x ${ROUNDS_PER_REPETITION} interleaved`,
  );
  const resources = await context.freshResources("ingest");
  const sqs = localSqsClient(context.endpoints.sqsEndpoint);
  const pipeline = new LocalPipeline({
    endpoints: context.endpoints,
    resources,
    tenant: demoPractice,
    clients: { sqs },
  });
  const core = ingestDependencies(pipeline.config, sqs);
  const template = syntheticEpisode({
    patientId: "ingest",
    activityAt: DateTime.fromISO("2026-03-03T15:00:00Z"),
    practitionerId: "dr-adams",
    minutes: 12,
    diagnosisCode: "E11.9",
    consent: true,
    nurseReply: true,
    split: false,
  }).deliveries[0];
  if (template === undefined) throw new Error("no template delivery");

  let sequence = 0;
  /** A fresh signed delivery (its own webhook id and patient), signed outside the timed region. */
  const nextRequest = (): InboundRequest => {
    sequence += 1;
    const patientId = `ingest-${sequence}`;
    const body = Buffer.from(JSON.stringify({ ...template.body, patientId }));
    const unsigned = {
      method: "POST",
      path: "/webhooks/bridge",
      rawQuery: "",
      body,
      headers: { "content-type": "application/json", "webhook-id": `msg_ingest_${sequence}` },
    };
    return { ...unsigned, headers: signWithDevSecret("bridge", unsigned, new Date()) };
  };
  /** What the handler would enqueue for this request: same size, group and dedup id. */
  const bareSend = (request: InboundRequest) => {
    const webhookId = request.headers["webhook-id"] as string;
    const payload = JSON.parse(request.body.toString("utf8")) as { patientId: string };
    return new SendMessageCommand({
      QueueUrl: resources.inboxUrl,
      MessageBody: JSON.stringify({
        v: 1,
        format: "bridge",
        kind: "event",
        dedupeKey: webhookId,
        groupKey: groupKeyOf(payload.patientId),
        receivedAt: new Date().toISOString(),
        payload,
      }),
      MessageGroupId: groupKeyOf(payload.patientId),
      MessageDeduplicationId: createHash("sha256").update(`bridge\n${webhookId}`).digest("hex"),
    });
  };
  const run: Record<Side, (request: InboundRequest) => Promise<unknown>> = {
    handler: (request) =>
      pipeline.invokeIngest({ format: "bridge", headers: { ...request.headers }, body: request.body }),
    core: (request) => ingestDelivery("bridge", request, core),
    bare: (request) => sqs.send(bareSend(request)),
  };

  const round = async (
    index: number,
    samples: Record<Side, number[]>,
    cpu: { auth: number[]; accept: number[] },
  ) => {
    for (let k = 0; k < sides.length; k++) {
      const side = sides[(index + k) % sides.length] as Side;
      const request = nextRequest();
      const started = performance.now();
      await run[side](request);
      samples[side].push(performance.now() - started);
    }
    const request = nextRequest();
    let started = performance.now();
    bridge.authenticate(request, devFormatSecrets.bridge, new Date());
    cpu.auth.push(performance.now() - started);
    started = performance.now();
    bridge.accept(request);
    cpu.accept.push(performance.now() - started);
  };
  const emptySamples = (): Record<Side, number[]> => ({ handler: [], core: [], bare: [] });

  try {
    for (let i = 0; i < WARM_UP_ROUNDS; i++) await round(i, emptySamples(), { auth: [], accept: [] });
    const repetitions: Repetition[] = [];
    for (let r = 0; r < REPETITIONS; r++) {
      await sqs.send(new PurgeQueueCommand({ QueueUrl: resources.inboxUrl }));
      const samples = emptySamples();
      const cpu = { auth: [] as number[], accept: [] as number[] };
      for (let i = 0; i < ROUNDS_PER_REPETITION; i++) await round(i, samples, cpu);
      const at = (q: number) =>
        Object.fromEntries(sides.map((side) => [side, quantile(samples[side], q)])) as Record<Side, number>;
      repetitions.push({
        p50: at(0.5),
        p99: at(0.99),
        authenticateMedianMs: median(cpu.auth),
        acceptMedianMs: median(cpu.accept),
      });
      context.progress(`  ingest repetition ${r + 1}/${REPETITIONS}`);
    }
    return report(repetitions, nextRequest().body.byteLength);
  } finally {
    sqs.destroy();
  }
}

function report(repetitions: readonly Repetition[], bodyBytes: number): SectionResult {
  const med = (pick: (r: Repetition) => number) => median(repetitions.map(pick));
  const p50Ratio = med((r) => r.p50.handler / r.p50.bare);
  const p99Ratio = med((r) => r.p99.handler / r.p99.bare);
  const handler = med((r) => r.p50.handler);
  const bare = med((r) => r.p50.bare);
  const middleware = med((r) => r.p50.handler - r.p50.core);
  const formatWork = med((r) => r.p50.core - r.p50.bare);
  const authenticate = med((r) => r.authenticateMedianMs);
  const accept = med((r) => r.acceptMedianMs);
  const labels: Record<Side, string> = {
    handler: "ingest handler (middy chain, as Lambda invokes it)",
    core: "ingestDelivery alone (no middy chain)",
    bare: "bare SQS SendMessage, same size",
  };
  const ms = (value: number) => fixed(value, 3);
  const part = (label: string, value: number) => [label, ms(value), fixed(value / bare)];
  const met = p50Ratio <= TARGET_RATIO;
  const details = [
    `One delivery at a time: a signed \`bridge\` event (3 facts, ${bodyBytes} bytes) per call, each with its own ` +
      `webhook id and patient. Each round times the three sides in rotating order; ${WARM_UP_ROUNDS} warm-up ` +
      `rounds, then ${REPETITIONS} repetitions of ${ROUNDS_PER_REPETITION} rounds (the inbox purged between them); ` +
      "figures are medians over the repetitions, and the target is judged on p50 (p99 is shown). The SQS server " +
      "(fauxqs) runs in the benchmark's process, as in `npm start`, so both sides pay the same server cost. Handler " +
      "logs (INFO, as deployed) and EMF metrics go to a sink that discards them; tracing is off outside Lambda.",
    "",
    markdownTable(
      ["side", "p50 (ms)", "p99 (ms)", "p50 / bare", "p99 / bare"],
      sides.map((side) => [
        labels[side],
        ms(med((r) => r.p50[side])),
        ms(med((r) => r.p99[side])),
        ratio(med((r) => r.p50[side] / r.p50.bare)),
        ratio(med((r) => r.p99[side] / r.p99.bare)),
      ]),
    ),
    "",
    markdownTable(
      ["part of the handler's time (p50)", "ms", "/ bare send"],
      [
        part("bare SQS send", bare),
        part("signature check (bridge.authenticate, timed alone)", authenticate),
        part("envelope parse (bridge.accept, timed alone)", accept),
        part("ingestDelivery minus the send (check, parse, message, dedup id)", formatWork),
        part("middy chain (Powertools logger, metrics, tracer): handler minus ingestDelivery", middleware),
      ],
    ),
  ].join("\n");
  return {
    title: "2. Ingest overhead",
    findings: [
      {
        measure: "Ingest handler time / bare SQS send, p50 (p99)",
        value: `${ratio(p50Ratio)} (${ratio(p99Ratio)}); ${ms(handler)} vs ${ms(bare)} ms`,
        target: `<= ${TARGET_RATIO}x`,
        met,
      },
    ],
    details,
    limits: met
      ? undefined
      : `Ingest: of the handler's p50 of ${ms(handler)} ms, the bare send is ${ms(bare)} ms; the middy chain adds ` +
        `${ms(middleware)} ms and the format's own work ${ms(formatWork)} ms (signature check ${ms(authenticate)} ` +
        `ms and envelope parse ${ms(accept)} ms, timed alone).`,
  };
}
