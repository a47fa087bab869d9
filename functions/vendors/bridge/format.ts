import { timingSafeEqual } from "node:crypto";
import { Webhook } from "standardwebhooks";
import type * as z from "zod";
import { factSchema } from "../../domain/facts.js";
import { groupKeyOf, hasNoncharacter, parseEnvelope, readJsonBody } from "../envelope.js";
import { InvalidEnvelopeError, UnauthorizedDeliveryError, UnmappableDeliveryError } from "../errors.js";
import type { MappedDelivery, VendorFormat } from "../format.js";
import { type BridgeFact, bridgeEventSchema } from "./event.js";

/**
 * Standard Webhooks carrying portaltime's own event JSON (bridge/event.ts).
 *
 * `Webhook.verify` reads `Date.now()` and takes no clock, so the 5-minute window (the package's tolerance)
 * is checked here against the injected `now`, and the signature is computed with the package's `Webhook.sign`
 * and compared in constant time with every `v1,` signature sent.
 * Fact ids, message ids, reply references and a consult report's `requestId` are the sender's, prefixed `bridge:`
 * so they never collide with another format's. Practitioner ids are not: they are the roster's (DOMAIN "Policies").
 */

const toleranceSeconds = 5 * 60;

export const bridge: VendorFormat = {
  name: "bridge",
  contentTypes: ["application/json"],
  acceptedStatus: 202,

  authenticate(request, secrets, now) {
    const id = request.headers["webhook-id"];
    const timestamp = request.headers["webhook-timestamp"];
    const signatures = request.headers["webhook-signature"];
    if (!id || !timestamp || !signatures) throw new UnauthorizedDeliveryError("missing-signature");
    if (!/^\d{1,12}$/.test(timestamp)) throw new UnauthorizedDeliveryError("bad-signature");
    const sentAt = Number(timestamp);
    const skew = Math.floor(now.getTime() / 1000) - sentAt;
    if (skew > toleranceSeconds) throw new UnauthorizedDeliveryError("stale-timestamp");
    if (skew < -toleranceSeconds) throw new UnauthorizedDeliveryError("future-timestamp");

    const offered = signatures
      .split(" ")
      .filter((signature) => signature.startsWith("v1,"))
      .map((signature) => Buffer.from(signature));
    const signedBy = (secret: string) => {
      let signer: Webhook;
      try {
        signer = new Webhook(secret);
      } catch {
        // A secret that is not Standard Webhooks base64 (`whsec_...`) verifies nothing; the others still may.
        return false;
      }
      const expected = Buffer.from(signer.sign(id, new Date(sentAt * 1000), request.body));
      return offered.some(
        (signature) => signature.length === expected.length && timingSafeEqual(signature, expected),
      );
    };
    if (!secrets.some(signedBy)) throw new UnauthorizedDeliveryError("bad-signature");
  },

  accept(request) {
    const dedupeKey = request.headers["webhook-id"];
    if (!dedupeKey) throw new InvalidEnvelopeError("headers.webhook-id", "required");
    if (hasNoncharacter(dedupeKey)) {
      throw new InvalidEnvelopeError("headers.webhook-id", "contains the noncharacter U+FFFE or U+FFFF");
    }
    const event = parseEnvelope(bridgeEventSchema, readJsonBody(request.body));
    return {
      format: "bridge",
      kind: "event",
      dedupeKey,
      groupKey: groupKeyOf(event.patientId),
      payload: event,
    };
  },

  async toFacts(delivery) {
    const parsed = bridgeEventSchema.safeParse(delivery.payload);
    if (!parsed.success)
      throw new UnmappableDeliveryError(`payload fails the bridge event schema at ${pathOf(parsed.error)}`);
    const { patientId, facts } = parsed.data;
    const mapped: MappedDelivery = { facts: [], retractions: [], skipped: [] };
    for (const fact of facts) {
      if (fact.kind === "retraction") {
        const { kind: _kind, ...retraction } = fact;
        mapped.retractions?.push(retraction);
        continue;
      }
      const result = factSchema.safeParse(domainFact(fact, patientId, delivery.dedupeKey));
      if (result.success) mapped.facts.push(result.data);
      else
        mapped.skipped.push({
          reference: bridgeId(fact.id),
          reason: `invalid fact at ${pathOf(result.error)}`,
        });
    }
    return mapped;
  },
};

const bridgeId = (senderId: string): string => `bridge:${senderId}`;

function domainFact(fact: Exclude<BridgeFact, { kind: "retraction" }>, patientId: string, dedupeKey: string) {
  const isMessage =
    fact.kind === "inquiry" || fact.kind === "clinician-activity" || fact.kind === "staff-activity";
  const replyChain = isMessage && {
    messageId: fact.messageId === undefined ? undefined : bridgeId(fact.messageId),
    inResponseTo: fact.inResponseTo === undefined ? undefined : bridgeId(fact.inResponseTo),
  };
  // A report names its request by the id the sender gave it, which portaltime holds prefixed like every bridge id.
  const request = fact.kind === "consult-report" && { requestId: bridgeId(fact.requestId) };
  return { ...inSeconds(fact), ...replyChain, ...request, id: bridgeId(fact.id), patientId, dedupeKey };
}

/** Minutes as sent, to the whole seconds facts hold (a consult request may leave them out: the domain's 0). */
function inSeconds(fact: BridgeFact) {
  if (!("minutes" in fact) || fact.minutes === undefined) return fact;
  const { minutes, ...rest } = fact;
  return { ...rest, seconds: Math.round(minutes * 60) };
}

/** The dotted path of the first failing field, for skip reasons (never a value). */
const pathOf = (error: z.ZodError): string => error.issues[0]?.path.join(".") || "(root)";
