import { createHash } from "node:crypto";
import type { Fact } from "./facts.js";

/** JSON with object keys sorted at every depth: the same fact always gives the same text. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(value, (_key, inner: unknown) =>
    inner !== null && typeof inner === "object" && !Array.isArray(inner)
      ? Object.fromEntries(Object.entries(inner).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : inner,
  );
}

/**
 * The digest that breaks ties between two versions of one fact with equal `version` (R17): the higher digest
 * wins, in the engine and in the store's conditional write alike, so arrival order never decides.
 */
export const factDigest = (fact: Fact): string =>
  createHash("sha256").update(canonicalJson(fact)).digest("hex");

/** Whether `candidate` replaces `held` as the fact's current version. */
export const supersedes = (candidate: Fact, held: Fact): boolean =>
  candidate.version > held.version ||
  (candidate.version === held.version && factDigest(candidate) > factDigest(held));
