import { describe, expect, it } from "vitest";
import { fixedTenantConfig } from "../../functions/store/config-store.js";
import { DynamoReviewStore, type ReviewItem } from "../../functions/store/review-store.js";
import { activity, consent, tenant } from "../support/domain-builders.js";
import { AS_OF, episode, finalizerWorld } from "../support/finalizer-world.js";

/**
 * The worklist's data layer (issue 15) against DynamoDB Local: the finalizer keeps one review item per episode
 * whose decision needs review, and `listReviewItems` lists them by status, with quarantined patients, page by
 * page. Consent is required (R11); the episodes open on Monday 2026-03-02 and are due by AS_OF.
 */

const CONSENT_REQUIRED = { tenant: fixedTenantConfig(tenant({ consent: "required" })) };

async function listAll(reviews: DynamoReviewStore, status: "open" | "resolved", limit: number) {
  const items: ReviewItem[] = [];
  let next: string | undefined;
  let pages = 0;
  do {
    const page = await reviews.listReviewItems(status, next, limit);
    items.push(...page.items);
    next = page.next;
    pages += 1;
  } while (next !== undefined);
  return { items, pages };
}

describe("review items (issue 15) against DynamoDB Local", () => {
  it("lists needs-review episodes with reasons and evidence, and quarantined patients; a resolved one moves to resolved", async () => {
    // Prepare: p-consent (12 min, no consent), p-unknown (Dr Unknown's 10 min beside Dr Adams's 12, consent on
    // file), p-billable (consent on file), and a quarantined patient.
    const world = await finalizerWorld();
    const reviews = new DynamoReviewStore(world.documents, world.resources.tableName);
    const onFile = (patientId: string) =>
      consent({ id: `${patientId}-consent`, patientId, at: "2025-12-01T12:00:00Z" });
    await world.seed([
      ...episode("p-consent", [{ practitionerId: "dr-adams", minutes: 12 }]),
      ...episode("p-unknown", [{ practitionerId: "dr-adams", minutes: 12 }]),
      activity({
        id: "p-unknown-x",
        patientId: "p-unknown",
        at: "2026-03-04T15:00:00Z",
        practitionerId: "dr-unknown",
        minutes: 10,
      }),
      onFile("p-unknown"),
      ...episode("p-billable", [{ practitionerId: "dr-adams", minutes: 12 }]),
      onFile("p-billable"),
    ]);
    await world.quarantine.add("p-broken", {
      reason: "an unreadable fact item: fact is not JSON",
      error: "CorruptItemError",
      at: AS_OF,
    });

    // Act
    await world.run(AS_OF, CONSENT_REQUIRED);
    const open = await listAll(reviews, "open", 10);
    const paged = await listAll(reviews, "open", 1);

    // Assess
    expect(open.items.map(({ kind, patientId, reasons }) => [kind, patientId, reasons])).toEqual([
      ["episode", "p-consent", ["consent-missing"]],
      ["episode", "p-unknown", ["unknown-clinician"]],
      ["quarantined-patient", "p-broken", ["quarantined"]],
    ]);
    const unknown = open.items[1];
    expect(unknown).toMatchObject({
      family: "digital-em",
      windowStart: "2026-03-02T00:00:00-05:00",
      windowEnd: "2026-03-09T00:00:00-04:00",
      totalMinutes: 12,
      evidence: { unknownActivityIds: ["p-unknown-x"], evidence: { uncounted: ["p-unknown-x"] } },
    });
    expect(paged.items).toEqual(open.items);
    expect(paged.pages).toBeGreaterThanOrEqual(3);
    expect((await reviews.listReviewItems("resolved")).items).toEqual([]);

    // Act: p-consent's consent arrives from the EHR (dated before the window): decided again, billable.
    await world.takeClaims();
    await world.seed([onFile("p-consent")]);
    await world.run(AS_OF + 60_000, CONSENT_REQUIRED);
    const lines = await world.takeClaims();
    const after = await listAll(reviews, "open", 10);
    const resolved = await listAll(reviews, "resolved", 10);

    // Assess
    expect(lines.map((line) => [line.patientId, line.action])).toEqual([["p-consent", "original"]]);
    expect(after.items.map(({ patientId }) => patientId)).toEqual(["p-unknown", "p-broken"]);
    expect(resolved.items.map(({ kind, patientId, reasons }) => [kind, patientId, reasons])).toEqual([
      ["episode", "p-consent", []],
    ]);
  });

  it("ids and cursors carry no patient id (they travel in URLs, which access logs keep)", async () => {
    // Prepare: three patients needing review and one quarantined.
    const world = await finalizerWorld();
    const reviews = new DynamoReviewStore(world.documents, world.resources.tableName);
    await world.seed([
      ...episode("p-alpha", [{ practitionerId: "dr-adams", minutes: 12 }]),
      ...episode("p-bravo", [{ practitionerId: "dr-adams", minutes: 12 }]),
      ...episode("p-charlie", [{ practitionerId: "dr-adams", minutes: 12 }]),
    ]);
    await world.quarantine.add("p-delta", {
      reason: "an unreadable fact item",
      error: "CorruptItemError",
      at: AS_OF,
    });
    await world.run(AS_OF, CONSENT_REQUIRED);

    // Act: one item a page, keeping every cursor given.
    const cursors: string[] = [];
    const ids: string[] = [];
    let next: string | undefined;
    do {
      const page = await reviews.listReviewItems("open", next, 1);
      ids.push(...page.items.map((item) => item.id));
      next = page.next;
      if (next !== undefined) cursors.push(next);
    } while (next !== undefined);

    // Assess
    expect(ids).toHaveLength(4);
    for (const id of ids) expect(id).toMatch(/^ri_[0-9a-f]{32}$/);
    for (const cursor of cursors)
      expect(Buffer.from(cursor, "base64url").toString()).not.toMatch(/p-(alpha|bravo|charlie|delta)/);
    expect(await Promise.all(ids.map((id) => reviews.keyOf(id)))).toEqual([
      { kind: "episode", patientId: "p-alpha", subject: expect.stringMatching(/^ep_/) },
      { kind: "episode", patientId: "p-bravo", subject: expect.stringMatching(/^ep_/) },
      { kind: "episode", patientId: "p-charlie", subject: expect.stringMatching(/^ep_/) },
      { kind: "quarantined-patient", patientId: "p-delta" },
    ]);
  });

  it("a quarantined patient released while the list is paged through loses nothing else and breaks no cursor", async () => {
    // Prepare: three patients in quarantine, listed one a page.
    const world = await finalizerWorld();
    const reviews = new DynamoReviewStore(world.documents, world.resources.tableName);
    for (const patientId of ["q-one", "q-two", "q-three"])
      await world.quarantine.add(patientId, {
        reason: "an unreadable fact item",
        error: "CorruptItemError",
        at: AS_OF,
      });
    const first = await reviews.listReviewItems("open", undefined, 1);

    // Act: the patient just listed is released, then the listing goes on.
    await world.quarantine.release(first.items[0]?.patientId ?? "");
    const rest: string[] = [];
    let next = first.next;
    while (next !== undefined) {
      const page = await reviews.listReviewItems("open", next, 1);
      rest.push(...page.items.map((item) => item.patientId));
      next = page.next;
    }

    // Assess: the other two, once each.
    expect([first.items[0]?.patientId, ...rest].sort()).toEqual(["q-one", "q-three", "q-two"]);
    expect(rest).toHaveLength(2);
  });

  it("a cursor it did not give out is refused", async () => {
    // Prepare
    const world = await finalizerWorld();
    const reviews = new DynamoReviewStore(world.documents, world.resources.tableName);

    // Act
    const listing = reviews.listReviewItems("open", "bm90IGEgY3Vyc29y");

    // Assess
    await expect(listing).rejects.toMatchObject({ name: "InvalidCursorError", retryable: false });
  });
});
