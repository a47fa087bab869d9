import { createHash } from "node:crypto";
import { END_OF_TIME } from "../domain/time.js";

/**
 * The episode store's single-table design, shared by the DynamoDB adapters, the CDK stack and the local stack
 * (one source of truth for names, keys, indexes and TTL). docs/STORE.md explains the items and access patterns.
 */
export const tableDesign = {
  partitionKey: "pk",
  sortKey: "sk",
  /** Epoch seconds after which DynamoDB may delete the item (retention, never a timer: ARCHITECTURE inv. 5). */
  ttlAttribute: "expiresAt",
  /**
   * Sparse global index of items that need the finalizer: only items carrying `dueAt` appear in it. The
   * partition key is one of `dueShards` values chosen by patient, so a backfill's writes spread out.
   */
  dueIndex: {
    name: "due",
    partitionKey: "dueShard",
    /** Epoch milliseconds at which the item's patient must be looked at again. */
    sortKey: "dueAt",
    /** The earliest instant the change touches (epoch ms): where the patient's next decision starts. */
    projected: ["changedAt"],
  },
  /**
   * Sparse global index of clinicians' time: each clinician activity and time entry by its practitioner and
   * instant, keys only (the table key names the patient). A configuration version that changes how a
   * practitioner's time counts on some dates, or the fees on some dates of service, finds the patients to decide
   * again through it (R18).
   */
  clinicianIndex: {
    name: "clinician",
    partitionKey: "clinician",
    /** Epoch milliseconds of the time. */
    sortKey: "clinicianAt",
  },
  /**
   * Sparse global index of the decision records that sent a claim line, by the line's id, keys only: the audit
   * packet of a line (issue 15) finds its patient and episodes through it. Only records that sent a revision
   * carry `claimLineId`, so the index holds one entry per revision.
   */
  claimLineIndex: {
    name: "claimLine",
    partitionKey: "claimLineId",
    /** The table's sort key: the record's `EPISODE#<episodeId>#<commit>`. */
    sortKey: "sk",
  },
  /**
   * Local index of a patient's items by `reach`: the last instant a decision may need the item. A decision
   * from instant D reads `reach >= D - look-back` and nothing older (functions/domain/decision-scope.ts).
   */
  reachIndex: {
    name: "reach",
    sortKey: "reach",
    sortKeyType: "N",
    projected: ["fact", "version", "dueAt", "changedAt", "threadRoot", "head", "epoch", "line"],
  },
  /** Local index of a patient's message facts by message id: R1's chains that reach before the scope. */
  messageIndex: {
    name: "message",
    sortKey: "messageId",
    sortKeyType: "S",
    projected: ["fact", "threadRoot"],
  },
  /**
   * Local index of a patient's visits and consents by their time: read only when a practice's policy looks back
   * further than their reach (R12 `require-known-visit`, R11 validity over 365 days).
   */
  lookbackIndex: {
    name: "lookback",
    sortKey: "lookbackAt",
    sortKeyType: "N",
    projected: ["fact"],
  },
} as const;

/** The table's name under a deployment's prefix: the same for the CDK stack, the local stack and `npm run ops`. */
export const episodeTableName = (prefix: string): string => `${prefix}-episodes`;

/** The local indexes, as the CDK stack and the local stack create them: all by patient, all sparse but `reach`. */
export const localIndexes = [
  tableDesign.reachIndex,
  tableDesign.messageIndex,
  tableDesign.lookbackIndex,
] as const;
export type LocalIndex = (typeof localIndexes)[number];

/** Shards of the due index; a patient's items always use the same one. */
export const DUE_SHARDS = 16;

/** The due-index partition of a patient's items (a hash, so the shard says nothing about the patient). */
export const dueShardOf = (patientId: string): string =>
  `due#${(createHash("sha256").update(patientId).digest()[0] as number) % DUE_SHARDS}`;

export const allDueShards = (): string[] => Array.from({ length: DUE_SHARDS }, (_, index) => `due#${index}`);

/** The reach of items every read of the patient needs: its state and lines waiting to be sent. */
export const ALWAYS_READ = END_OF_TIME;

export const PATIENT_PREFIX = "PAT#";
export const patientKey = (patientId: string): string => `${PATIENT_PREFIX}${patientId}`;
export const FACT_PREFIX = "FACT#";
export const factSortKey = (factId: string): string => `${FACT_PREFIX}${factId}`;
export const STATE_SORT_KEY = "STATE";
/** One item per decision of an episode, never rewritten: `EPISODE#<episodeId>#<commit>` (docs/STORE.md). */
export const EPISODE_PREFIX = "EPISODE#";
export const episodeSortKey = (episodeId: string, commit: string): string =>
  `${EPISODE_PREFIX}${episodeId}#${commit}`;
/**
 * Audit of a clinician's time no window holds because the roster held no entry for them on its date (R18):
 * `UNATTRIBUTED#<factId>#<commit>`, never read to decide (no `reach`).
 */
export const UNATTRIBUTED_PREFIX = "UNATTRIBUTED#";
export const unattributedSortKey = (factId: string, commit: string): string =>
  `${UNATTRIBUTED_PREFIX}${factId}#${commit}`;
/** A claim line committed and not yet confirmed sent: `OUTBOX#<commit>#<seq>`, deleted once sent. */
export const OUTBOX_PREFIX = "OUTBOX#";
export const outboxSortKey = (commit: string, seq: number): string =>
  `${OUTBOX_PREFIX}${commit}#${String(seq).padStart(4, "0")}`;
/** A commit's identity: the state's epoch and version, sortable as text. */
export const commitId = (epoch: number, version: number): string =>
  `${String(epoch).padStart(13, "0")}-${String(version).padStart(10, "0")}`;

/** Where a source resource's current version lives (R16), one item per fact id, in a partition of its own. */
export const factLocationKey = (factId: string): string => `LOC#${factId}`;
export const FACT_LOCATION_SORT_KEY = "LOC";

/** The tenant configuration's versions, one item each, never rewritten: `V#<version>` (config-store.ts). */
export const TENANT_CONFIG_KEY = "TENANT_CONFIG";
export const tenantConfigSortKey = (version: number): string => `V#${String(version).padStart(10, "0")}`;

/** Which configuration version the finalizer last looked at for changes to act on (R18). */
export const CONFIG_PROGRESS_KEY = "TENANT_CONFIG_APPLIED";

/** A patient to decide again because a configuration version changed what its facts mean (R18). */
export const RECHECK_PREFIX = "RECHECK#";
export const recheckSortKey = (version: number): string =>
  `${RECHECK_PREFIX}${String(version).padStart(10, "0")}`;

/**
 * The biller's worklist (issue 15): one item per episode whose decision was `needs-review`, in a partition of its
 * own, its sort key led by its status: `open#<patientId>#<subject>` while the latest decision needs review,
 * `resolved#<patientId>#<subject>` once a later decision does not (or, for unattributed time, once a biller maps
 * it). A mutable projection of the decision
 * records (the audit stays in them), written in the same transaction.
 */
export const REVIEW_KEY = "REVIEW";
export const reviewStatuses = ["open", "resolved"] as const;
export type ReviewStatus = (typeof reviewStatuses)[number];
export const reviewSortKey = (status: ReviewStatus, patientId: string, subject: string): string =>
  `${status}#${patientId}#${subject}`;
/**
 * What a worklist item is about: an episode (its id), or a clinician's time no window holds because the roster
 * held no entry for its author (R4, R18): `time:<factId>`.
 */
export const reviewSubject = {
  episode: (episodeId: string) => episodeId,
  unattributedTime: (factId: string) => `time:${factId}`,
};

/**
 * Capture figures (issue 15): one small item per episode in the partition of the ISO week its window starts in
 * (`FIGURES#2026-W47`, sort key `<patientId>#<episodeId>`), overwritten by each decision of the episode and
 * deleted when the episode is superseded, in the decision's transaction. A week's figures are one Query.
 */
export const FIGURES_PREFIX = "FIGURES#";
export const figuresKey = (week: string): string => `${FIGURES_PREFIX}${week}`;

/**
 * A worklist item's id as the review API gives it: a hash of its kind, patient and subject, so no URL, cursor or
 * log line that carries an id carries a patient id. `REVIEWID#<id>` holds what it names, written with the item.
 */
export const reviewItemIdOf = (kind: string, patientId: string, subject?: string): string =>
  `ri_${createHash("sha256")
    .update(JSON.stringify([kind, patientId, subject ?? null]))
    .digest("hex")
    .slice(0, 32)}`;
export const reviewIdKey = (id: string): string => `REVIEWID#${id}`;
export const REVIEW_ID_SORT_KEY = "REVIEWID";

/** Patients the finalizer set aside, one item each, in a partition of their own. */
export const QUARANTINE_KEY = "QUARANTINE";

export const subscriptionKey = (format: string, subscription: string): string =>
  `SUB#${format}#${subscription}`;
