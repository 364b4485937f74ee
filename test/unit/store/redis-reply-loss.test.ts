/**
 * Every Redis write the bridge relies on, with its reply lost once: Redis ran the command, the
 * connection was cut before the reply came back (a Redis restart does that to what it ran in its
 * last instant), and ioredis sent the command again after reconnecting (lib/store/redis-connection.ts
 * sets autoResendUnfulfilledCommands). Each must come out as if it ran once: no lost receipt, no
 * second item, no lock waited for by its own holder. Found by test/e2e/faults.test.ts "Redis
 * restarted mid-run", where receipts of the messages whose lock was being taken at the restart
 * stayed unanswered past the test's settling time.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisLocks } from "../../../lib/store/redis-lock";
import { RedisStore } from "../../../lib/store/redis";
import { RedisQueue } from "../../../lib/store/queue-redis";
import { RedisPartGroups } from "../../../lib/store/parts-redis";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";
import { startRelay, type Relay } from "./relay";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis reply-loss tests skipped: ${skip}`);

const ID = "0191e180-7d60-7000-a000-0000000000d1";

describe("Redis writes whose reply was lost and that ioredis sent again", { skip }, () => {
  let redis: RedisServer;
  let relay: Relay;
  let url: string;
  let n = 0;
  const prefix = () => `loss${++n}:`;
  before(async () => {
    redis = await startRedis();
    relay = await startRelay(redis.port);
    url = `redis://127.0.0.1:${relay.port}`;
  });
  after(async () => {
    await relay?.close();
    await redis?.stop();
  });

  test("message lock (redis-lock.ts): taken once, the resent take finds its own token and goes on", async () => {
    const locks = new RedisLocks({ url, prefix: prefix(), onError: () => undefined });
    try {
      await locks.run("warm-up", async () => undefined); // loads the scripts, so the next evalsha runs
      const lost = relay.lost;
      // The first command naming the lock's key is the take.
      relay.loseReplyTo(`lock:${ID}`);
      let ran = 0;
      // Before: the resent SET NX found the lock taken (by itself) and waited until waitMs, then threw.
      await locks.run(ID, async () => void ran++, { waitMs: 3_000 });
      assert.equal(relay.lost, lost + 1, "a reply was lost");
      assert.equal(ran, 1);
      // And it was given back: the next holder gets it at once.
      await locks.run(ID, async () => void ran++, { waitMs: 3_000 });
      assert.equal(ran, 2);
    } finally {
      await locks.close();
    }
  });

  test("correlation put (redis.ts createEntry): one entry, one submission", async () => {
    const store = new RedisStore({ url, prefix: prefix() });
    try {
      await store.put("warm-up", ["w-1"]);
      relay.loseReplyTo("evalsha");
      await store.put(ID, ["sms-1"], "text-1");
      const entry = await store.findByMessage(ID);
      assert.equal(entry?.submissions.length, 1);
      assert.deepEqual(entry?.submissions[0].parts, ["sms-1"]);
    } finally {
      await store.close();
    }
  });

  test("receipt mark (redis.ts compareAndSet): the part is marked, the update reported", async () => {
    const store = new RedisStore({ url, prefix: prefix() });
    try {
      await store.put(ID, ["sms-1"]);
      await store.markPart("sms-1", "sent"); // loads compareAndSet
      relay.loseReplyTo("evalsha");
      const update = await store.markPart("sms-1", "delivered");
      assert.equal(update?.report?.status, "delivered");
      assert.deepEqual((await store.findByPart("sms-1"))?.submissions[0].states, ["delivered"]);
    } finally {
      await store.close();
    }
  });

  for (const command of ["incr", "evalsha"]) {
    test(`outbox push (queue-redis.ts), the reply to ${command.toUpperCase()} lost: queued once`, async () => {
      const queue = new RedisQueue<string>({ url, name: "loss", prefix: prefix() });
      try {
        await queue.ack((await queue.push("warm-up", "x")).id); // loads the scripts, so the next evalsha runs
        const lost = relay.lost;
        relay.loseReplyTo(command);
        await queue.push("status:1", "delivered");
        assert.equal(relay.lost, lost + 1, "a reply was lost");
        assert.deepEqual((await queue.peek(10)).map((i) => i.value), ["delivered"]);
      } finally {
        await queue.close();
      }
    });
  }

  test("outbox push with a once-id (queue-redis.ts pushOnce): queued once, and a status pushed again is still a repeat", async () => {
    const queue = new RedisQueue<string>({ url, name: "loss", prefix: prefix() });
    try {
      await queue.pushOnce("warm-up", "x", "warm-up");
      const [warm] = await queue.peek(1);
      await queue.ack(warm.id);
      relay.loseReplyTo("evalsha");
      await queue.pushOnce("status:1", "delivered", "status\n1\ndelivered\n");
      assert.equal(await queue.pushOnce("status:1", "delivered", "status\n1\ndelivered\n"), false);
      assert.deepEqual((await queue.peek(10)).map((i) => i.value), ["delivered"]);
    } finally {
      await queue.close();
    }
  });

  test("outbox peek and ack (queue-redis.ts claimHeads, ackItem): the item is handed out, then gone", async () => {
    const queue = new RedisQueue<string>({ url, name: "loss", prefix: prefix() });
    try {
      await queue.push("status:1", "sent");
      await queue.push("status:1", "delivered");
      await queue.ack((await queue.peek(1))[0].id); // loads both scripts
      relay.loseReplyTo("evalsha");
      const [item] = await queue.peek(1);
      assert.equal(item?.value, "delivered");
      relay.loseReplyTo("evalsha");
      await queue.ack(item.id);
      assert.equal(await queue.size(), 0);
    } finally {
      await queue.close();
    }
  });

  test("the last part of a long MO (parts-redis.ts addPart): complete, not 'busy' with its own claim", async () => {
    const parts = new RedisPartGroups({ url, bind: "b1", prefix: prefix() });
    const options = () => ({ now: Date.now(), claimMs: 30_000, ttlMs: 60_000 });
    try {
      assert.deepEqual(await parts.add("g1", 1, 2, "part-1", options()), { status: "kept" });
      relay.loseReplyTo("evalsha");
      const outcome = await parts.add("g1", 2, 2, "part-2", options());
      assert.equal(outcome.status, "complete");
      assert.deepEqual(outcome.status === "complete" ? outcome.parts.sort() : [], ["part-1"]);
    } finally {
      await parts.close();
    }
  });
});
