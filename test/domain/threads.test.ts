import { describe, expect, it } from "vitest";
import { threadsOf } from "../../functions/domain/episodes.js";
import type { Fact } from "../../functions/domain/facts.js";
import { activity, inquiry, staffActivity } from "../support/domain-builders.js";

/** R1's reply chains as threadsOf resolves them, inside a decision's scope and beyond it (decision-scope.ts). */

const ids = (facts: readonly Fact[], context = {}) =>
  threadsOf(facts, context).inquiries.map(({ fact }) => fact.id);

describe("R1: reply chains", () => {
  it("R17: a message several facts name is the patient's when any of them is an inquiry, in any order", () => {
    // Prepare: the patient's message m1 also carries a staff member's triage time; a patient reply to it.
    const facts = [
      staffActivity({
        id: "triage",
        at: "2026-03-02T14:05:00Z",
        staffId: "ma-1",
        minutes: 2,
        messageId: "m1",
      }),
      inquiry({ id: "q1", at: "2026-03-02T14:00:00Z", messageId: "m1" }),
      inquiry({ id: "q2", at: "2026-03-03T09:00:00Z", messageId: "m2", inResponseTo: "m1" }),
    ];
    // Act / Assess
    expect(ids(facts)).toEqual(["q1", "q2"]);
    expect(ids([...facts].reverse())).toEqual(["q1", "q2"]);
  });

  it("R1: a patient message without a message id is judged by the message it replies to", () => {
    // Prepare
    const opened = inquiry({ id: "q1", at: "2026-03-02T14:00:00Z", messageId: "m1" });
    const byClinician = activity({
      id: "a1",
      at: "2026-03-02T15:00:00Z",
      practitionerId: "dr-adams",
      minutes: 5,
      messageId: "m2",
    });
    const reply = (to: string) => ({
      ...inquiry({ id: "q9", at: "2026-03-03T09:00:00Z" }),
      messageId: undefined,
      inResponseTo: to,
    });
    // Act / Assess: into the patient's thread, into the clinician's, into one retracted, into one unseen.
    expect(ids([opened, reply("m1")])).toEqual(["q1", "q9"]);
    expect(ids([byClinician, reply("m2")])).toEqual([]);
    expect(ids([{ ...opened, retracted: true }, reply("m1")])).toEqual([]);
    expect(threadsOf([reply("m7")])).toMatchObject({ inquiries: [], missing: ["m7"] });
  });

  it("R1: a chain leaving the facts ends at the root an earlier decision cached, unless its parent is gone", () => {
    // Prepare: q2 replies to m1, which is out of scope; the last decision resolved q2's chain to the patient.
    const q2 = inquiry({ id: "q2", at: "2026-03-09T09:00:00Z", messageId: "m2", inResponseTo: "m1" });
    const roots = new Map([["m2", "patient" as const]]);
    // Act / Assess
    expect(ids([q2])).toEqual([]);
    expect(threadsOf([q2]).missing).toEqual(["m1"]);
    expect(ids([q2], { roots })).toEqual(["q2"]);
    // m1 fetched and found retracted: the cached root no longer holds.
    const gone = { ...inquiry({ id: "q1", at: "2026-02-02T09:00:00Z", messageId: "m1" }), retracted: true };
    expect(ids([q2], { roots, messages: [gone] })).toEqual([]);
    // m1 fetched: the chain is followed through it, and q2's own root is reported for the store to keep.
    const m1 = inquiry({ id: "q1", at: "2026-02-02T09:00:00Z", messageId: "m1" });
    const threads = threadsOf([q2], { messages: [m1] });
    expect(threads.inquiries.map(({ fact }) => fact.id)).toEqual(["q2"]);
    expect(threads.roots).toEqual(new Map([["m2", "patient"]]));
  });
});
