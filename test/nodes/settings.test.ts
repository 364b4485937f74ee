import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { countUpTo, positive, seconds } from "../../nodes/shared/settings";

// The editor sends every field as a string; an empty one means "the default" in every node.
describe("node settings", () => {
  const secondsCases: Array<[unknown, number, boolean, number]> = [
    ["", 30, false, 30_000],
    [undefined, 30, false, 30_000],
    ["5", 30, false, 5_000],
    ["0", 30, false, 30_000],
    ["0", 30, true, 0],
    ["-1", 30, true, 30_000],
    ["abc", 30, false, 30_000],
    [2.5, 30, false, 2_500],
  ];
  for (const [value, fallback, zero, ms] of secondsCases) {
    test(`seconds(${JSON.stringify(value)}, ${fallback}${zero ? ", zero allowed" : ""}) = ${ms} ms`, () => assert.equal(seconds(value, fallback, zero), ms));
  }

  const positiveCases: Array<[unknown, number]> = [["", 7], ["0", 7], ["-3", 7], ["x", 7], ["12.5", 12.5], [40, 40]];
  for (const [value, expected] of positiveCases) {
    test(`positive(${JSON.stringify(value)}, 7) = ${expected}`, () => assert.equal(positive(value, 7), expected));
  }

  const countCases: Array<[unknown, number | string]> = [
    ["", 10],
    [" ", 10],
    ["1", 1],
    ["100", 100],
    ["101", 'window "101" is not 1 to 100'],
    ["0", 'window "0" is not 1 to 100'],
    ["2.5", 'window "2.5" is not 1 to 100'],
    ["ten", 'window "ten" is not 1 to 100'],
  ];
  for (const [value, expected] of countCases) {
    test(`countUpTo(window ${JSON.stringify(value)}, default 10, max 100) → ${JSON.stringify(expected)}`, () => {
      const got = countUpTo("window", value, 10, 100);
      assert.deepEqual(got, typeof expected === "number" ? expected : { error: expected });
    });
  }
});
