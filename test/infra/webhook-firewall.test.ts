import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { integerGreaterThan } from "../../lib/webhook-firewall.js";

/** The Content-Length rule: the regular expression must match exactly the lengths over the limit. */
describe("integerGreaterThan", () => {
  it("matches a decimal Content-Length exactly when it exceeds the limit", () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.nat(100_000_000), fc.nat(3), (limit, value, zeros) => {
        const pattern = new RegExp(integerGreaterThan(limit));

        expect(pattern.test(`${"0".repeat(zeros)}${value}`)).toBe(value > limit);
      }),
    );
  });

  it("matches exactly the lengths just above the limit, not at or below it", () => {
    fc.assert(
      fc.property(fc.nat(10_000_000), fc.integer({ min: -1000, max: 1000 }), (limit, delta) => {
        const value = Math.max(0, limit + delta);

        expect(new RegExp(integerGreaterThan(limit)).test(String(value))).toBe(value > limit);
      }),
    );
  });

  it("holds at the edges of the default limit", () => {
    const pattern = new RegExp(integerGreaterThan(245_760));

    expect(["245760", "245759", "0", "99999", ""].map((value) => pattern.test(value))).toEqual([
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(["245761", "245770", "246000", "300000", "1000000", "0245761"].every((v) => pattern.test(v))).toBe(
      true,
    );
    expect(["245761 ", "-1", "2.5e6", "abc"].some((value) => pattern.test(value))).toBe(false);
  });

  it("stays within WAF's 512-character regex limit", () => {
    expect(integerGreaterThan(240 * 1024).length).toBeLessThan(512);
    expect(integerGreaterThan(8_888_888_888).length).toBeLessThan(512);
  });
});
