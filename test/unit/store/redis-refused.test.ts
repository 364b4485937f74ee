/**
 * Writes that Redis refuses as a whole for a moment, as a new master does after a Sentinel
 * failover until its replica is back ("NOREPLICAS Not enough good replicas to write", with
 * `min-replicas-to-write 1` as docs/deploy.md asks): the ones that end a hold are sent again
 * (lib/store/redis-connection.ts retryRefused) instead of leaving the hold to run out. Played on
 * one redis-server by setting min-replicas-to-write 1 (no replica: every write refused) for a
 * moment and back to 0.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { RedisLocks } from "../../../lib/store/redis-lock";
import { RedisPartGroups } from "../../../lib/store/parts-redis";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis refused-write tests skipped: ${skip}`);

const ID = "0191e180-7d60-7000-a000-0000000000d2";

describe("Redis holds given back while the server refuses writes for a moment", { skip }, () => {
  let redis: RedisServer;
  let admin: Redis;
  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.port, "127.0.0.1");
  });
  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  /** Every write refused with NOREPLICAS from now for `ms`. */
  const refuseWritesFor = async (ms: number) => {
    await admin.config("SET", "min-replicas-to-write", "1");
    setTimeout(() => void admin.config("SET", "min-replicas-to-write", "0"), ms);
  };

  test("the NOREPLICAS refusal this plays is what Redis answers a script's write", async () => {
    await refuseWritesFor(200);
    await assert.rejects(admin.eval("return redis.call('SET', KEYS[1], '1')", 1, "probe"), /^ReplyError: NOREPLICAS|NOREPLICAS/);
    await new Promise((r) => setTimeout(r, 400));
  });

  test("message lock (redis-lock.ts): a release refused at first is sent again; the next receipt of the message gets the lock at once", async () => {
    const locks = new RedisLocks({ url: redis.url, prefix: "refused1:", onError: () => undefined });
    try {
      await locks.run(ID, () => refuseWritesFor(300));
      // Before: the refused release was dropped and the lock held for HOLD_MS (60 s).
      assert.equal(await admin.exists(`refused1:lock:${ID}`), 0, "the lock is released");
    } finally {
      await locks.close();
    }
  });

  test("long MO parts (parts-redis.ts): a claim given back while writes are refused is given back", async () => {
    const parts = new RedisPartGroups({ url: redis.url, bind: "b1", prefix: "refused2:" });
    const options = () => ({ now: Date.now(), claimMs: 90_000, ttlMs: 60_000 });
    try {
      await parts.add("g1", 1, 2, "part-1", options());
      assert.equal((await parts.add("g1", 2, 2, "part-2", options())).status, "complete");
      await refuseWritesFor(300);
      await parts.unclaim("g1");
      assert.equal(await admin.hget("refused2:mo-parts:b1:g:g1", "claim"), null);
      // The SMSC delivers the last part again: this instance completes it now, not after claimMs.
      assert.equal((await parts.add("g1", 2, 2, "part-2", options())).status, "complete");
    } finally {
      await parts.close();
    }
  });
});
