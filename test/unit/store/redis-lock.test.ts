/**
 * The per-message lock across instances (lib/store/redis-lock.ts) against a real redis-server:
 * a holder that works longer than the hold keeps the name (it renews it), and one that died
 * blocks the name only until the hold runs out. Holds are short here (300 ms); the bridge's
 * is 20 s.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisLocks } from "../../../lib/store/redis-lock";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";
import { waitFor } from "../../helpers/wait";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis lock tests skipped: ${skip}`);

// Renewed every third of the hold: a stall of Node or redis-server longer than two thirds (here 667 ms)
// would let the other instance in, so the hold is long enough that a loaded machine does not.
const HOLD_MS = 1000;
const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("message locks shared by instances", { skip }, () => {
  let redis: RedisServer;
  const instances: RedisLocks[] = [];
  const instance = () => {
    const locks = new RedisLocks({ url: redis.url, prefix: "lock-test:", holdMs: HOLD_MS, onError: () => undefined });
    instances.push(locks);
    return locks;
  };
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const locks of instances) await locks.close().catch(() => undefined);
    await redis?.stop();
  });

  test("a holder working four holds long keeps the name: the other instance waits for its end", async () => {
    const [a, b] = [instance(), instance()];
    const events: string[] = [];
    const first = a.run(
      "m1",
      async () => {
        events.push("a starts");
        await pause(4 * HOLD_MS);
        events.push("a ends");
      },
    );
    // b asks once a holds the name (both connect at once; a fixed pause let b ask first on a slow machine).
    await waitFor(() => events.includes("a starts"), "a to hold the name", 10_000);
    await b.run("m1", async () => void events.push("b starts"), { waitMs: 10_000 });
    await first;
    assert.deepEqual(events, ["a starts", "a ends", "b starts"], "without renewal b would start after one hold, while a still works");
  });

  test("a holder that died blocks the name only until its hold runs out", async () => {
    const [a, b] = [instance(), instance()];
    let aStarted = false;
    // Dies while holding: its work never ends and its connection is gone, so nothing renews or releases.
    void a.run("m2", () => {
      aStarted = true;
      (a as unknown as { client: { disconnect(): void } }).client.disconnect();
      return new Promise<void>(() => undefined);
    }).catch(() => undefined);
    while (!aStarted) await pause(5);
    let bRan = false;
    await b.run("m2", async () => void (bRan = true), { waitMs: 10_000 });
    assert.ok(bRan, "the other instance took the name after the dead holder's hold");
  });
});
