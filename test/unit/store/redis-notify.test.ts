/**
 * Puts seen across instances (lib/store/redis-notify.ts through openStore): two stores on one
 * Redis, opened under two spellings of its URL so that they are two entries as two Node-RED
 * instances would have; a watch on one ends when the other puts one of its parts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { openStore } from "../../../lib/store/index";
import { RedisPutNotifier } from "../../../lib/store/redis-notify";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";
import { waitFor } from "../../helpers/wait";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis put notice tests skipped: ${skip}`);

/**
 * Waits until Redis counts `count` subscribers on `channel`: a notifier subscribes in the
 * background (lib/store/redis-notify.ts) and a notice published before that is not heard, so a
 * fixed pause (200 ms, before) let the test fail whenever connecting and subscribing took longer.
 */
async function subscribed(admin: Redis, channel: string, count: number): Promise<void> {
  const subscribers = async () => Number(((await admin.call("PUBSUB", "NUMSUB", channel)) as [string, number])[1]);
  await waitFor(async () => (await subscribers()) >= count, `${count} subscribers on ${channel}`, 10_000);
}

describe("put notices across instances", { skip }, () => {
  let redis: RedisServer;
  let admin: Redis;
  before(async () => {
    redis = await startRedis();
    admin = new Redis(redis.url);
  });
  after(async () => {
    admin?.disconnect();
    await redis?.stop();
  });

  test("a watch on instance B ends when instance A puts one of its parts, not when A puts others", async () => {
    const a = await openStore({ url: redis.url });
    const b = await openStore({ url: `${redis.url}/0` });
    try {
      // The subscriptions are made while the stores open, without being waited for.
      await subscribed(admin, "rapidpro-sms:puts", 2);
      const watch = b.watchParts(["sub-1", "sub-2"]);
      const other = b.watchParts(["unrelated"]);
      const started = Date.now();
      await a.put("rp-1", ["sub-2"]);
      assert.equal(await watch.ended(5_000), true, "the watch ended on A's put");
      assert.ok(Date.now() - started < 5_000);
      assert.equal((await b.findByPart("sub-2"))?.rapidproId, "rp-1");
      assert.equal(await other.ended(200), false, "a watch on other parts goes on");
      other.cancel();
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("malformed notices are ignored", async () => {
    const heard: string[][] = [];
    const listener = new RedisPutNotifier({ url: redis.url, prefix: "n:", onPut: (ids) => heard.push(ids), onError: () => undefined });
    const sender = new RedisPutNotifier({ url: redis.url, prefix: "n:", onPut: () => undefined, onError: () => undefined });
    try {
      await subscribed(admin, "n:puts", 2);
      const raw = (sender as unknown as { publisher: { publish(c: string, m: string): Promise<number> } }).publisher;
      await raw.publish("n:puts", "not json");
      await raw.publish("n:puts", JSON.stringify([1, 2]));
      await raw.publish("n:puts", JSON.stringify({ ids: ["x"] }));
      sender.publish(["good"]);
      const until = Date.now() + 3_000;
      while (heard.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.deepEqual(heard, [["good"]]);
    } finally {
      await listener.close();
      await sender.close();
    }
  });
});
