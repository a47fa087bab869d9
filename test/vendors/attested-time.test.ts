import { describe, expect, it } from "vitest";
import { attestedSeconds } from "../../functions/vendors/attested-time.js";

describe("attested time in message bodies", () => {
  it.each([
    ["Thanks for the update.\nTime spent: 9 min", 540],
    ["Total time spent: 12.5 minutes", 750],
    ["<p>Reviewed labs.</p><p>Time spent: 9 min</p>", 540],
    ["Reviewed labs.<br/>Time&nbsp;spent: 4 mins", 240],
    ["<div>Time spent: 3 min</div><div>Time spent: 6 min</div>", 360],
    ["Time spent: 4 min<br>Follow up next week", 240],
    ["No time noted", 0],
    ["I spent time spent: 9 min thinking", 0],
    [null, 0],
  ])("%j attests %i seconds", (body, seconds) => {
    expect(attestedSeconds(body)).toBe(seconds);
  });
});
