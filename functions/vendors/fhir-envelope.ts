import { createHash } from "node:crypto";
import type { z } from "zod";
import { InvalidEnvelopeError } from "./errors.js";

/** Reading an envelope the FHIR formats share: JSON of the verified bytes, schema failures as paths, key digests. */

export function readJsonBody(body: Buffer): unknown {
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new InvalidEnvelopeError("body", "not JSON");
  }
}

/**
 * Parses `value` or throws naming the first failing path. Paths hold only schema keys and indices, and zod 4
 * messages state what was expected, never the value, so no PHI reaches the 400 answer.
 */
export function parseEnvelope<S extends z.ZodType>(schema: S, value: unknown, root?: string): z.output<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const path = [...(root === undefined ? [] : [root]), ...(issue?.path ?? []).map(String)].join(".");
  throw new InvalidEnvelopeError(path || "body", issue?.message ?? "does not match the envelope schema");
}

/** Keys and FIFO groups name payload values (references, bodies) only through this digest. */
export const sha256Hex = (data: string | Buffer): string => createHash("sha256").update(data).digest("hex");

/** FIFO group ids: the first 32 hex characters of the digest are plenty to spread and to keep order. */
export const groupKeyOf = (reference: string): string => sha256Hex(reference).slice(0, 32);
