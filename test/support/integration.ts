import { randomUUID } from "node:crypto";
import { inject } from "vitest";
import { createResources, type LocalResources } from "../../bin/local/resources.js";

/**
 * A table and queues of the shared designs under a prefix of their own, so a test file sees only its own
 * items and messages while other integration files run in parallel. Call it once per file (beforeAll); the
 * prefix is for any further resource the file makes.
 */
export async function isolatedResources(): Promise<LocalResources & { prefix: string }> {
  const prefix = `${inject("localAwsPrefix")}-${randomUUID().slice(0, 8)}`;
  return { prefix, ...(await createResources({ ...inject("localAws"), prefix })) };
}
