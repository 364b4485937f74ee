/** The one back-off: doubling up to a cap, jitter within [floor·ceiling, ceiling], reset, and sleeps a close cuts short. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { Backoff, Sleeps, backoffDelay } from "../../lib/backoff";

describe("backoffDelay", () => {
  const options = { initialMs: 100, maxMs: 1_000 };
  const cases: Array<[attempt: number, random: number, expected: number]> = [
    [0, 0, 50], // floor 0.5 of the first ceiling
    [0, 1, 100],
    [1, 1, 200], // doubles
    [3, 1, 800],
    [4, 1, 1_000], // capped
    [4, 0, 500],
    [1_000, 1, 1_000], // a huge attempt count neither overflows nor passes the cap
  ];
  for (const [attempt, random, expected] of cases) {
    test(`attempt ${attempt}, random ${random} → ${expected} ms`, () => {
      assert.equal(backoffDelay(attempt, options, () => random), expected);
    });
  }
  test("floor 1 is a plain doubling without jitter", () => {
    assert.deepEqual([0, 1, 2, 3].map((a) => backoffDelay(a, { initialMs: 20, maxMs: 50, floor: 1 }, Math.random)), [20, 40, 50, 50]);
  });
});

describe("Backoff", () => {
  test("counts failures, doubles, and starts again after reset", () => {
    const b = new Backoff({ initialMs: 10, maxMs: 1_000, floor: 1 });
    assert.deepEqual([b.next(), b.next(), b.next()], [10, 20, 40]);
    assert.equal(b.failures, 3);
    b.reset();
    assert.equal(b.next(), 10);
  });
});

describe("Sleeps", () => {
  test("a sleep runs its time and says so", async () => {
    assert.equal(await new Sleeps().sleep(5), true);
  });
  test("cancel ends every current sleep at once, and every later one never starts", async () => {
    const sleeps = new Sleeps();
    const long = [sleeps.sleep(60_000), sleeps.sleep(60_000)];
    sleeps.cancel();
    assert.deepEqual(await Promise.all(long), [false, false]);
    assert.equal(await sleeps.sleep(60_000), false);
  });
});
