import { describe, mock, test } from "node:test";
import assert from "node:assert/strict";
import { RateLimiter, RateLimitError } from "../../../lib/rapporto/rate";

describe("RateLimiter (\"peak traffic doesn't exceed 10 messages per second\")", () => {
  test("starts keep to a 1/rate grid, in arrival order", async () => {
    // On the mocked clock a start is seen at the time the limiter let it go: on a loaded machine
    // a real clock read in .then() also counts the time the process waited for a core.
    mock.timers.enable({ apis: ["setTimeout", "Date"], now: 1_000 });
    try {
      const limiter = new RateLimiter(50); // 20 ms apart
      const starts: number[] = [];
      const order: number[] = [];
      const all = Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          limiter.acquire().then(() => {
            starts.push(Date.now());
            order.push(i);
          }),
        ),
      );
      for (let step = 0; step < 400 && starts.length < 10; step++) {
        await new Promise((r) => setImmediate(r));
        // Uneven steps: a timer that fires late must not push the grid.
        mock.timers.tick(step % 3 === 0 ? 7 : 1);
      }
      await all;
      limiter.close();
      assert.deepEqual(order, [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
      for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[0] >= i * 20, `start ${i} after ${starts[i] - starts[0]} ms`);
      assert.ok(starts[9] - starts[0] < 9 * 20.2 + 7, `late timers pushed the grid: start 9 after ${starts[9] - starts[0]} ms`);
    } finally {
      mock.timers.reset();
    }
  });

  test("a slot that cannot come before the deadline is refused at once, without taking a slot", async () => {
    const limiter = new RateLimiter(1); // 1 s apart
    await limiter.acquire();
    await assert.rejects(limiter.acquire(Date.now() + 100), RateLimitError);
    assert.equal(limiter.queued, 0);
    limiter.close();
  });

  test("pause delays everyone, including those already waiting", async () => {
    const limiter = new RateLimiter(1000);
    await limiter.acquire();
    const t0 = Date.now();
    const waiting = limiter.acquire();
    limiter.pause(150);
    await waiting;
    assert.ok(Date.now() - t0 >= 140, `waited only ${Date.now() - t0} ms`);
    limiter.close();
  });

  test("bounded queue: beyond maxWaiting is refused with a reason", async () => {
    const limiter = new RateLimiter(1, 2);
    await limiter.acquire();
    const a = limiter.acquire();
    const b = limiter.acquire();
    await assert.rejects(limiter.acquire(), /more than 2 messages waiting/);
    limiter.close();
    await assert.rejects(a, /closed/);
    await assert.rejects(b, /closed/);
  });

  test("a bad rate is refused with a reason", () => {
    for (const rate of [0, -1, Number.NaN, Infinity]) assert.throws(() => new RateLimiter(rate), /positive number/);
  });
});
