/**
 * The Redis outbox shared by two instances (lib/store/queue-redis.ts, QueueConsumer on each):
 * one consumer "dies" with deliveries under way (they never finish, its connection is cut, no
 * ack); the survivor delivers everything, the dead one's leased items after the lease, and
 * each key's items in push order. The only repeats are the items the dead one had in flight.
 * A live instance keeps its leases as long as it has the items out, however slow.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { QueueConsumer, type DeliveryOutcome } from "../../../lib/store/queue-consumer";
import { RedisQueue } from "../../../lib/store/queue-redis";
import type { QueueItem } from "../../../lib/store/queue";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis outbox lease tests skipped: ${skip}`);

interface Call {
  key: string;
  n: number;
}

describe("Redis outbox with two instances, one killed", { skip }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    await redis?.stop();
  });

  test("the survivor delivers the dead instance's items after the lease, in order per key", async () => {
    const keys = ["m1", "m2", "m3", "m4", "m5", "m6"];
    const perKey = 8;
    const leaseMs = 400;
    const a = new RedisQueue<Call>({ url: redis.url, name: "lease", prefix: "lease:", leaseMs });
    const b = new RedisQueue<Call>({ url: redis.url, name: "lease", prefix: "lease:", leaseMs });
    for (let n = 0; n < perKey; n++) for (const key of keys) await a.push(key, { key, n });

    const done: Array<{ by: "a" | "b"; call: Call }> = [];
    const inFlightAtDeath: Call[] = [];
    let aDead = false;
    let aDone = 0;
    const deliverA = async (item: QueueItem<Call>): Promise<DeliveryOutcome> => {
      if (aDead || aDone >= 5) {
        // Killed: this delivery never finishes, and nothing is acked any more.
        aDead = true;
        inFlightAtDeath.push(item.value);
        return new Promise<DeliveryOutcome>(() => undefined);
      }
      aDone += 1;
      done.push({ by: "a", call: item.value });
      return "done";
    };
    const deliverB = async (item: QueueItem<Call>): Promise<DeliveryOutcome> => {
      await new Promise((r) => setTimeout(r, 5));
      done.push({ by: "b", call: item.value });
      return "done";
    };
    const consumerA = new QueueConsumer(a, deliverA, { concurrency: 4, pollMs: 50 });
    const consumerB = new QueueConsumer(b, deliverB, { concurrency: 4, pollMs: 50 });
    consumerA.start();
    consumerB.start();
    const until = Date.now() + 20_000;
    while (!aDead && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    // The kill: A's connection goes, its deliveries under way never end.
    void consumerA.stop();
    a["client"].disconnect();
    while ((await b.size()) > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    await consumerB.stop();
    await b.close();

    const check = new RedisQueue<Call>({ url: redis.url, name: "lease", prefix: "lease:" });
    assert.equal(await check.size(), 0, "nothing left in the outbox");
    await check.close();
    assert.ok(inFlightAtDeath.length > 0, "the killed instance had deliveries under way");
    assert.ok(done.some((d) => d.by === "a") && done.some((d) => d.by === "b"), "both instances delivered");
    for (const key of keys) {
      const seen = done.filter((d) => d.call.key === key).map((d) => d.call.n);
      // Every item once, in push order; a repeat only of an item the dead instance had in flight.
      const firsts = seen.filter((n, i) => seen.indexOf(n) === i);
      assert.deepEqual(firsts, Array.from({ length: perKey }, (_, n) => n), `key ${key}: every item, in push order (${seen.join(",")})`);
      const repeats = seen.filter((n, i) => seen.indexOf(n) !== i);
      for (const n of repeats) assert.ok(inFlightAtDeath.some((c) => c.key === key && c.n === n), `key ${key}: item ${n} repeated without having been in flight`);
      // The dead instance's unfinished head was delivered by the survivor, not lost.
      for (const c of inFlightAtDeath.filter((c) => c.key === key)) assert.ok(done.some((d) => d.by === "b" && d.call.key === key && d.call.n === c.n));
    }
  });

  test("an item out longer than the lease stays with its instance: the lease is renewed until the ack", async () => {
    // Renewed every third of the lease: long enough that a stall of a loaded machine (under two
    // thirds, 667 ms) does not let the other instance in.
    const leaseMs = 1000;
    const errors: string[] = [];
    const a = new RedisQueue<Call>({ url: redis.url, name: "renew", prefix: "renew:", leaseMs, onBackgroundError: (e) => errors.push(e.message) });
    const b = new RedisQueue<Call>({ url: redis.url, name: "renew", prefix: "renew:", leaseMs });
    try {
      await a.push("m1", { key: "m1", n: 0 });
      await a.push("m1", { key: "m1", n: 1 });
      const [first] = await a.peek(10);
      assert.equal(first.value.n, 0);
      // A slow courier: four leases long. Without renewal b would take item 0 after one lease.
      await new Promise((r) => setTimeout(r, 4 * leaseMs));
      assert.deepEqual(await b.peek(10), [], "the other instance gets nothing of the key while a has its head out");
      await a.ack(first.id);
      const next = await b.peek(10);
      assert.deepEqual(next.map((i) => i.value.n), [1], "after the ack the key's next item is free, in order");
      await b.ack(next[0].id);
      assert.deepEqual(errors, []);
    } finally {
      await a.close();
      await b.close();
    }
  });

  test("a lease found gone while the item is out is reported: another instance may deliver it too", async () => {
    const leaseMs = 300;
    const errors: string[] = [];
    const a = new RedisQueue<Call>({ url: redis.url, name: "lost", prefix: "lost:", leaseMs, onBackgroundError: (e) => errors.push(e.message) });
    try {
      await a.push("m1", { key: "m1", n: 0 });
      const [item] = await a.peek(10);
      // As if this instance had stalled past its lease and another had taken the key.
      await a["client"].set("lost:q:lost:lease:m1", "another-instance");
      const until = Date.now() + 5_000;
      while (errors.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
      assert.equal(errors.length, 1, "reported once");
      assert.match(errors[0], /lease of 1 item\(s\) ran out .*another instance may deliver them too/);
      assert.equal(await a["client"].get("lost:q:lost:lease:m1"), "another-instance", "the other instance's lease is left alone");
      await a.ack(item.id);
    } finally {
      await a.close();
    }
  });
});
