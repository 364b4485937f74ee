import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { TokenBucket } from "../../lib/throttle";

/** Runs a bucket on a fake clock: at each step, take as many tokens as it gives. */
function countTaken(rate: number, burst: number | undefined, stepMs: number, totalMs: number): number {
  let now = 0;
  const bucket = new TokenBucket({ rate, burst, now: () => now });
  let taken = 0;
  for (; now <= totalMs; now += stepMs) {
    for (let i = 0; i < 10_000 && bucket.tryTake(); i += 1) taken += 1;
  }
  return taken;
}

describe("token bucket: 'throughput (common) … float, msg/s, active throttling' (Kannel §3.1)", () => {
  const cases: Array<{ rate: number; burst?: number; stepMs: number; totalMs: number; expected: number }> = [
    { rate: 10, burst: 1, stepMs: 1, totalMs: 10_000, expected: 101 },
    { rate: 0.5, burst: 1, stepMs: 10, totalMs: 10_000, expected: 6 },
    // with a bucket of 1, each late wake-up (up to 7 ms here) is lost: 10, not 1 + 10
    { rate: 2.5, burst: 1, stepMs: 7, totalMs: 4_004, expected: 10 },
    // late wake-ups (every 250 ms) lose nothing when the bucket holds a quarter second
    { rate: 40, burst: 10, stepMs: 250, totalMs: 10_000, expected: 410 },
    // default burst: a tenth of the rate, at least 1
    { rate: 100, stepMs: 100, totalMs: 1_000, expected: 110 },
  ];
  for (const c of cases) {
    test(`rate ${c.rate}/s, burst ${c.burst ?? "default"}, wake every ${c.stepMs} ms for ${c.totalMs} ms → ${c.expected}`, () => {
      assert.equal(countTaken(c.rate, c.burst, c.stepMs, c.totalMs), c.expected);
    });
  }

  test("0 means no cap", () => {
    const bucket = new TokenBucket({ rate: 0 });
    for (let i = 0; i < 1000; i += 1) assert.ok(bucket.tryTake());
    assert.equal(bucket.waitMs(), 0);
  });

  test("waitMs says when the next token comes", () => {
    let now = 0;
    const bucket = new TokenBucket({ rate: 4, burst: 1, now: () => now });
    assert.equal(bucket.waitMs(), 0);
    assert.ok(bucket.tryTake());
    assert.equal(bucket.waitMs(), 250);
    now = 100;
    assert.equal(bucket.waitMs(), 150);
    now = 250;
    assert.ok(bucket.tryTake());
  });

  test("a clock that goes backwards adds no tokens", () => {
    let now = 1000;
    const bucket = new TokenBucket({ rate: 1, burst: 1, now: () => now });
    assert.ok(bucket.tryTake());
    now = 0;
    assert.equal(bucket.tryTake(), false);
  });

  for (const rate of [-1, Number.NaN]) {
    test(`rate ${rate} is refused`, () => assert.throws(() => new TokenBucket({ rate }), RangeError));
  }
});
