import { randomBytes } from "node:crypto";
import { DateTime } from "luxon";
import type { Attestation } from "../domain/facts.js";
import { attestationIdPrefix, type DynamoAuditStore } from "../store/audit-store.js";
import type { TenantConfigSource } from "../store/config-store.js";
import type { FactWriter } from "../store/fact-store.js";
import type { DynamoFiguresStore } from "../store/figures-store.js";
import type { DynamoReviewStore, ReviewItem } from "../store/review-store.js";
import type { ReviewStatus } from "../store/table-design.js";
import { type AuditPacket, attestationIdsOf, auditPacket } from "./audit-packet.js";
import { InvalidResolutionError, ResolutionConflictError, ReviewError } from "./errors.js";
import { type CaptureFigures, captureFigures } from "./figures.js";
import { attestationOf, type ResolutionRequest } from "./resolution.js";

/**
 * The biller's worklist and audit (issue 15) behind the review API, whatever serves it (the deployed function,
 * `npm start`, `npm run audit`): list items, resolve one with an attestation fact (R19) written as every fact
 * is (the patient is due again from what it resolves, so the next finalizer run decides it and R16 lines follow),
 * and assemble a claim line's audit packet.
 */

export interface ReviewServiceDependencies {
  /** The tenant configuration in force: the roster a clinician mapping must name, the practice's calendar. */
  tenant: TenantConfigSource;
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
    const evidence = item.evidence as {
      unknownActivityIds?: string[];
      at?: string;
      factId?: string;
      priorVisitId?: string;
      priorEpisodeId?: string;
      evidence?: { visits?: string[] };
    };
    await this.check(request, item, evidence);
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

  /**
   * A resolution must answer what the item needs: 409 when its action answers none of the item's reasons (the
   * decision would not change), 400 naming the field when it names what the item does not hold (a visit the
   * decision did not consider, a practitioner the roster does not hold).
   */
  private async check(
    request: ResolutionRequest,
    item: ReviewItem,
    evidence: { priorVisitId?: string; priorEpisodeId?: string; evidence?: { visits?: string[] } },
  ): Promise<void> {
    const reasons = new Set(item.reasons);
    const answers: Record<ResolutionRequest["action"], readonly string[] | undefined> = {
      "record-consent": ["consent-missing"],
      "supply-diagnoses": ["diagnosis-missing", "relatedness-unknown"],
      "decide-relatedness": ["relatedness-unknown", "prior-e-visit"],
      "map-clinician": ["unknown-clinician"],
      // Whatever the reasons: a biller may always decide an episode is not billed.
      "do-not-bill": undefined,
    };
    const needed = answers[request.action];
    if (needed !== undefined && !needed.some((reason) => reasons.has(reason)))
      throw new ResolutionConflictError(
        request.action,
        `the item needs none of what it answers (${needed.join(", ")}); its reasons are ${item.reasons.join(", ") || "none"}`,
      );
    if (request.action === "decide-relatedness") {
      const visits = new Set([
        ...(evidence.evidence?.visits ?? []),
        ...(evidence.priorVisitId === undefined ? [] : [evidence.priorVisitId]),
        // R20: the billed episode this one follows, decided like a visit.
        ...(evidence.priorEpisodeId === undefined ? [] : [evidence.priorEpisodeId]),
      ]);
      if (!visits.has(request.priorVisitId))
        throw new InvalidResolutionError("priorVisitId", "not a visit this episode's decision considered");
    }
    if (request.action === "map-clinician") {
      const { config } = await this.deps.tenant.get();
      if (!config.roster.some((entry) => entry.practitionerId === request.practitionerId))
        throw new InvalidResolutionError("practitionerId", "not a practitioner of the roster in force");
    }
  }

  /** The capture figures of the last `weeks` ISO weeks (this one included) and the open items' ages. */
  async figures(weeks: number): Promise<CaptureFigures> {
    const now = this.deps.now();
    // Weeks of the practice's calendar, as the finalizer names them (the window start's local ISO week).
    const { config } = await this.deps.tenant.get();
    const names = Array.from(
      { length: weeks },
      (_, back) =>
        DateTime.fromJSDate(now, { zone: config.timezone })
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
