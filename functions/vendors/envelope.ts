import { createHash } from "node:crypto";
import type * as z from "zod";
import { InvalidEnvelopeError } from "./errors.js";

/** Reading an envelope, shared by every format: JSON of the verified bytes, schema failures as paths, key digests. */

/** Deeper than any vendor's envelope, and far below where serializing the inbox message would overflow the stack. */
export const MAX_JSON_DEPTH = 256;

export function readJsonBody(body: Buffer): unknown {
  const text = body.toString("utf8");
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new InvalidEnvelopeError("body", "not JSON");
  }
  checkQueueable(text);
  return json;
}

/**
 * An accepted body travels to the apply side as JSON in an SQS message, so it must survive that trip: nesting
 * deep enough to overflow `JSON.stringify`, or the noncharacters U+FFFE and U+FFFF (which JSON keeps and SQS
 * refuses), would otherwise fail every send and answer 503 to a delivery no retry can ever queue. `text` is valid
 * JSON: one pass tracks strings, escapes and depth.
 */
function checkQueueable(text: string): void {
  let depth = 0;
  let inString = false;
  for (let index = 0; index < text.length; index++) {
    const code = text.charCodeAt(index);
    if (code === 0xfffe || code === 0xffff) throw unqueueableCharacter();
    if (inString) {
      if (code === 0x5c) {
        // An escape: `\uXXXX` may spell a noncharacter; any other escape is one character long.
        if (text.charCodeAt(index + 1) === 0x75) {
          const escaped = Number.parseInt(text.slice(index + 2, index + 6), 16);
          if (escaped === 0xfffe || escaped === 0xffff) throw unqueueableCharacter();
          index += 5;
        } else {
          index += 1;
        }
      } else if (code === 0x22) {
        inString = false;
      }
    } else if (code === 0x22) {
      inString = true;
    } else if (code === 0x5b || code === 0x7b) {
      depth += 1;
      if (depth > MAX_JSON_DEPTH)
        throw new InvalidEnvelopeError("body", `nested deeper than ${MAX_JSON_DEPTH} levels`);
    } else if (code === 0x5d || code === 0x7d) {
      depth -= 1;
    }
  }
}

const unqueueableCharacter = (path = "body") =>
  new InvalidEnvelopeError(path, "contains the noncharacter U+FFFE or U+FFFF");

/** For header values that travel in the inbox message (dedupe keys, subscriptions): the same SQS limit. */
export const hasNoncharacter = (text: string): boolean => /[\uFFFE\uFFFF]/.test(text);

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
