import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import type { Attestation } from "../domain/facts.js";
import { attestationIdPrefix, type DynamoAuditStore } from "../store/audit-store.js";
import type { FactWriter } from "../store/fact-store.js";
import type { DynamoFiguresStore } from "../store/figures-store.js";
import type { DynamoReviewStore, ReviewItem } from "../store/review-store.js";
import type { ReviewStatus } from "../store/table-design.js";
import { type AuditPacket, attestationIdsOf, auditPacket } from "./audit-packet.js";
import { ResolutionConflictError, ReviewError } from "./errors.js";
import { type CaptureFigures, captureFigures } from "./figures.js";
import { attestationOf, type ResolutionRequest } from "./resolution.js";

/**
 * The biller's worklist and audit (issue 15) behind the review API, whatever serves it (the deployed function,
 * `npm start`, `npm run audit`): list items, resolve one with an attestation fact (R19) written as every fact
 * is (the patient is due again from what it resolves, so the next finalizer run decides it and R16 lines follow),
 * and assemble a claim line's audit packet.
 */

export interface ReviewServiceDependencies {
  reviews: DynamoReviewStore;
  audit: DynamoAuditStore;
  figures: DynamoFiguresStore;
  facts: FactWriter;
  now: () => Date;
  /** Random suffix of attestation ids (tests give a fixed one). */
  random?: () => string;
}

export class ReviewItemNotFoundError extends ReviewError {
  constructor() {
    super("no review item has this id", 404);
    this.name = "ReviewItemNotFoundError";
  }
}

export class ClaimLineNotFoundError extends ReviewError {
  constructor() {
    super("no claim line with this id was sent", 404);
    this.name = "ClaimLineNotFoundError";
  }
}

export interface Resolved {
  item: ReviewItem;
  attestation: Attestation;
}

export class ReviewService {
  private readonly random: () => string;

  constructor(private readonly deps: ReviewServiceDependencies) {
    this.random = deps.random ?? (() => randomBytes(6).toString("hex"));
  }

  list(status: ReviewStatus, cursor?: string, limit?: number) {
    return this.deps.reviews.listReviewItems(status, cursor, limit);
  }

  /**
   * Records a biller's resolution of an item as an attestation fact. 404 for an id the API never gave or an
   * item that no longer exists; 409 for an item already resolved, a quarantined patient (an operator releases
   * it), or an action the item cannot take (a clinician mapping where no unknown clinician's time is).
   */
  async resolve(itemId: string, request: ResolutionRequest): Promise<Resolved> {
    const key = await this.deps.reviews.keyOf(itemId);
    if (key === undefined) throw new ReviewItemNotFoundError();
    const item = await this.deps.reviews.getReviewItem(key);
    if (item === undefined) throw new ReviewItemNotFoundError();
    if (item.kind === "quarantined-patient")
      throw new ResolutionConflictError(
        request.action,
        "a quarantined patient is released by an operator (npm run ops -- quarantine retry), not resolved here",
      );
    if (item.status === "resolved")
      throw new ResolutionConflictError(
        request.action,
        "the item is resolved: a later decision no longer needs review",
      );
    const subject = key.subject as string;
    const now = this.deps.now().toISOString();
    const evidence = item.evidence as { unknownActivityIds?: string[]; at?: string; factId?: string };
    const attestation = attestationOf(
      request,
      item.kind === "episode"
        ? {
            patientId: item.patientId,
            episodeId: item.episodeId,
            unknownActivityIds: evidence.unknownActivityIds ?? [],
            startsAt: item.windowStart,
          }
        : {
            patientId: item.patientId,
            unknownActivityIds: evidence.factId === undefined ? [] : [evidence.factId],
            startsAt: evidence.at,
          },
      { id: `${attestationIdPrefix(subject)}${now}:${this.random()}`, at: now },
    );
    await this.deps.facts.put(attestation);
    // Time no window holds has no decision to resolve its item: the mapping does (after the fact is safe, so a
    // crash between the two leaves the item open with the attestation applied, and a second try is harmless).
    if (item.kind === "unattributed-time" && evidence.factId !== undefined)
      await this.deps.reviews.resolveUnattributedTime(item.patientId, evidence.factId, {
        attestationId: attestation.id,
        by: attestation.by,
        at: attestation.at,
      });
    return { item, attestation };
  }

  /** The capture figures of the last `weeks` ISO weeks (this one included) and the open items' ages. */
  async figures(weeks: number): Promise<CaptureFigures> {
    const now = this.deps.now();
    const names = Array.from(
      { length: weeks },
      (_, back) =>
        DateTime.fromJSDate(now, { zone: "utc" })
          .minus({ weeks: weeks - 1 - back })
          .toISOWeekDate()
          ?.slice(0, 8) ?? "",
    );
    const [episodes, open] = await Promise.all([
      Promise.all(names.map(async (week) => ({ week, episodes: await this.deps.figures.week(week) }))),
      this.deps.figures.openItems(),
    ]);
    return captureFigures(episodes, open, now.getTime());
  }

  /** Every revision of a line, the decisions behind them and the attestations involved (404 when never sent). */
  async auditPacket(claimLineId: string): Promise<AuditPacket> {
    const history = await this.deps.audit.claimLineHistory(claimLineId);
    if (history === undefined) throw new ClaimLineNotFoundError();
    const used = await this.deps.audit.facts(history.patientId, attestationIdsOf(history));
    const episodes = [...new Set(history.decisions.map((decision) => decision.episodeId))];
    const about = (
      await Promise.all(
        episodes.map((episodeId) => this.deps.audit.attestationsAbout(history.patientId, episodeId)),
      )
    ).flat();
    const byId = new Map([...used, ...about].map((fact) => [fact.id, fact]));
    return auditPacket(claimLineId, history, [...byId.values()]);
  }
}
