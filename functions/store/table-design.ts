/**
 * The episode store's single-table design, shared by the DynamoDB adapter, the CDK stack and the local stack
 * (one source of truth for names, keys, index and TTL). docs/STORE.md explains the access patterns.
 */
export const tableDesign = {
  partitionKey: "pk",
  sortKey: "sk",
  /** Epoch seconds after which DynamoDB may delete the item (retention, never a timer: ARCHITECTURE inv. 5). */
  ttlAttribute: "expiresAt",
  /** Sparse index of items that need the finalizer: only items carrying `dueAt` appear in it. */
  dueIndex: {
    name: "due",
    partitionKey: "dueShard",
    /** Epoch milliseconds at which the item's patient must be decided again. */
    sortKey: "dueAt",
  },
} as const;

/** The one value of `dueShard`: a practice's volume fits one index partition, and one Query reads due work in order. */
export const DUE_SHARD = "due";

export const patientKey = (patientId: string): string => `PAT#${patientId}`;
export const factSortKey = (factId: string): string => `FACT#${factId}`;
export const STATE_SORT_KEY = "STATE";
export const subscriptionKey = (format: string, subscription: string): string =>
  `SUB#${format}#${subscription}`;
