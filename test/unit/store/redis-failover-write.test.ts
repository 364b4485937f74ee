/**
 * Issue #17: a write the old master answered, which its replica never got, and a WAIT that the
 * client sent again over its new connection to the promoted replica, where it passed at once
 * (the client had written nothing there). Every write the guarantees rest on must be on the new
 * master when the call resolves: an outbox push, an outbox removal (ack), a correlation put, a
 * kept long-MO part, and the lease of a peek (or two instances post the same items at once).
 * The failover is staged step by step (failover-pair.ts), so nothing here depends on timing.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { RedisQueue } from "../../../lib/store/queue-redis";
import { RedisStore } from "../../../lib/store/redis";
import { RedisPartGroups, type AddOutcome } from "../../../lib/store/parts-redis";
import { redisSkipReason } from "../../helpers/redis-server";
import { startFailoverPair, type FailoverPair } from "./failover-pair";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis failover write tests skipped: ${skip}`);

const ID = "0191e180-7d60-7000-a000-0000000000f7";

describe("a write answered by a master that died before its replica had it", { skip, timeout: 120_000 }, () => {
  let pair: FailoverPair;
  beforeEach(async () => {
    pair = await startFailoverPair();
  });
  afterEach(async () => {
    await pair?.stop();
  });

  test("outbox push: the item is on the new master, under the id push returned", async () => {
    const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:" });
    try {
      pair.replicationRelay.pause();
      const staged = pair.failoverAtNextWait();
      const item = await queue.push("status:1", "delivered");
      await staged.done();
      // Before: push resolved with id 1, and the new master had no item at all.
      assert.equal(await pair.onReplica.zscore("fw:q:fw:order", item.id), item.id);
      assert.equal(JSON.parse((await pair.onReplica.get(`fw:q:fw:item:${item.id}`)) ?? "{}").value, "delivered");
      assert.deepEqual((await queue.peek(10)).map((i) => [i.id, i.value]), [[item.id, "delivered"]]);
    } finally {
      await queue.close();
    }
  });

  test("outbox push whose item another instance delivered from the new master before this one looked: not pushed again", async () => {
    const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:" });
    const delivered: string[] = [];
    // Another instance takes the item on the promoted replica and acks it before this client moves there.
    const staged = pair.failoverWithOtherInstance(
      async () => (await pair.onReplica.zcard("fw:q:fw:order")) > 0,
      async (url) => {
        const other = new RedisQueue<string>({ url, name: "fw", prefix: "fw:" });
        for (const item of await other.peek(10)) {
          delivered.push(item.value);
          await other.ack(item.id);
        }
        await other.close();
      },
    );
    try {
      await queue.push("status:1", "delivered");
      await staged.done();
      assert.deepEqual(delivered, ["delivered"], "the other instance delivered it once");
      // Before: push found no item:<id> on the new master and pushed it again, for a second post.
      assert.equal(await pair.onReplica.zcard("fw:q:fw:order"), 0, "not pushed again");
    } finally {
      await queue.close();
    }
  });

  test("outbox push cut between taking its id and storing the item: the new master's seq moves on, no later push overwrites it", async () => {
    const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:" });
    try {
      pair.replicationRelay.pause();
      // The request that stores the item (after INCR seq answered on the old master) goes to the new one.
      const staged = pair.failoverAtNext("fw:q:fw:item:");
      const first = await queue.push("status:1", "sent");
      await staged.done();
      const second = await queue.push("status:1", "delivered");
      // Before: the new master's seq was behind, the second push got the same id and overwrote the first.
      assert.notEqual(second.id, first.id);
      assert.deepEqual((await queue.peek(10)).map((i) => [i.id, i.value]), [[first.id, "sent"]]);
      assert.equal(await queue.size(), 2);
    } finally {
      await queue.close();
    }
  });

  test("outbox push with a once-id: queued on the new master, and a repeat is still a repeat", async () => {
    const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:" });
    try {
      pair.replicationRelay.pause();
      const staged = pair.failoverAtNextWait();
      assert.equal(await queue.pushOnce("status:1", "sent", "status\n1\nsent\n"), true);
      await staged.done();
      assert.equal(await queue.pushOnce("status:1", "sent", "status\n1\nsent\n"), false);
      assert.deepEqual((await queue.peek(10)).map((i) => i.value), ["sent"]);
    } finally {
      await queue.close();
    }
  });

  for (const failover of [true, false]) {
    const name = failover
      ? "outbox ack: the item is gone from the new master, so it is not posted again"
      : "outbox ack no replica confirms (no failover): the caller goes on, and it is reported once";
    test(name, async () => {
      const reports: string[] = [];
      const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:", onBackgroundError: (e) => reports.push(e.message) });
      try {
        await queue.push("status:1", "sent");
        const [item] = await queue.peek(10);
        pair.replicationRelay.pause();
        const staged = failover ? pair.failoverAtNextWait() : undefined;
        // Without a failover the ack waits FAILOVER_PATIENCE_MS for the replica first.
        await queue.ack(item.id);
        await staged?.done();
        if (failover) {
          // Before: ack resolved and the item was still waiting on the new master (courier got it twice).
          assert.equal(await pair.onReplica.zcard("fw:q:fw:order"), 0);
          assert.equal(await pair.onReplica.exists(`fw:q:fw:item:${item.id}`), 0);
          assert.deepEqual(reports, []);
        } else {
          // Before: the shortfall was dropped without a word.
          assert.equal(reports.length, 1);
          assert.match(reports[0], /replicating the ack of item \d+ failed: the write reached 0 of 1 replica/);
          assert.equal(await queue.size(), 0);
        }
      } finally {
        await queue.close();
      }
    });
  }

  test("correlation put: the new master's entry holds the submission", async () => {
    const store = new RedisStore({ url: pair.url, prefix: "fw:" });
    try {
      await store.put("warm-up", ["w-1"]);
      pair.replicationRelay.pause();
      const staged = pair.failoverAtNextWait();
      await store.put(ID, ["sms-1", "sms-2"], "text-1");
      await staged.done();
      // Before: put resolved and no instance could find the message's parts (receipts unmatched).
      const onReplica = new RedisStore({ url: `redis://127.0.0.1:${pair.replica.port}`, prefix: "fw:" });
      const entry = await onReplica.findByPart("sms-2").finally(() => onReplica.close());
      assert.deepEqual(entry?.submissions.map((s) => s.parts), [["sms-1", "sms-2"]]);
      assert.deepEqual((await store.findByMessage(ID))?.submissions.length, 1);
    } finally {
      await store.close();
    }
  });

  test("correlation put onto an existing entry: one more submission, not two", async () => {
    const store = new RedisStore({ url: pair.url, prefix: "fw:" });
    try {
      await store.put(ID, ["sms-1"], "text-1");
      pair.replicationRelay.pause();
      const staged = pair.failoverAtNextWait();
      await store.put(ID, ["sms-2"], "text-1");
      await staged.done();
      assert.deepEqual((await store.findByMessage(ID))?.submissions.map((s) => s.parts), [["sms-1"], ["sms-2"]]);
    } finally {
      await store.close();
    }
  });

  test("long MO part kept: the part is on the new master, and the last part completes the message", async () => {
    const parts = new RedisPartGroups({ url: pair.url, bind: "b1", prefix: "fw:" });
    const options = () => ({ now: Date.now(), claimMs: 30_000, ttlMs: 60_000 });
    try {
      pair.replicationRelay.pause();
      const staged = pair.failoverAtNextWait();
      assert.deepEqual(await parts.add("g1", 1, 2, "part-1", options()), { status: "kept" });
      await staged.done();
      // Before: "kept" was answered (the SMSC told ok) and the part was gone with the old master.
      assert.equal(await pair.onReplica.hexists("fw:mo-parts:b1:g:g1", "p:1"), 1);
      const outcome = await parts.add("g1", 2, 2, "part-2", options());
      assert.deepEqual(outcome.status === "complete" ? outcome.parts : outcome, ["part-1"]);
    } finally {
      await parts.close();
    }
  });

  test("long MO part kept, then the message completed and handed over by another instance on the new master before this one looked: not kept again", async () => {
    const parts = new RedisPartGroups({ url: pair.url, bind: "b1", prefix: "fw:" });
    const options = () => ({ now: Date.now(), claimMs: 30_000, ttlMs: 60_000 });
    let completedElsewhere: AddOutcome | undefined;
    // Another instance gets part 2 on the promoted replica, completes the message and lets its
    // parts go before this client moves there.
    const staged = pair.failoverWithOtherInstance(
      async () => (await pair.onReplica.hexists("fw:mo-parts:b1:g:g1", "p:1")) === 1,
      async (url) => {
        const other = new RedisPartGroups({ url, bind: "b1", prefix: "fw:" });
        completedElsewhere = await other.add("g1", 2, 2, "part-2", options());
        await other.release("g1");
        await other.close();
      },
    );
    try {
      assert.deepEqual(await parts.add("g1", 1, 2, "part-1", options()), { status: "kept" });
      await staged.done();
      assert.deepEqual(completedElsewhere, { status: "complete", parts: ["part-1"] }, "the other instance completed the message with part 1");
      // Before: part 1 was not in the group (gone with the hand-over), so it was added again, to go on as a partial MO.
      assert.equal(await pair.onReplica.exists("fw:mo-parts:b1:g:g1"), 0, "part 1 not kept again");
      assert.equal(await pair.onReplica.zcard("fw:mo-parts:b1:groups"), 0);
    } finally {
      await parts.close();
    }
  });

  test("long MO handed over: its parts are gone from the new master, so they do not go on again as a partial MO", async () => {
    const parts = new RedisPartGroups({ url: pair.url, bind: "b1", prefix: "fw:" });
    const options = () => ({ now: Date.now(), claimMs: 30_000, ttlMs: 60_000 });
    try {
      await parts.add("g1", 1, 2, "part-1", options());
      assert.equal((await parts.add("g1", 2, 2, "part-2", options())).status, "complete");
      pair.replicationRelay.pause();
      const staged = pair.failoverAtNextWait();
      await parts.release("g1");
      // Before: the release sent no WAIT; the failover then comes right after it.
      await staged.done().catch(() => pair.failover());
      // Before: the group was still on the new master, to be swept and handed on once more.
      assert.equal(await pair.onReplica.exists("fw:mo-parts:b1:g:g1"), 0);
      assert.equal(await pair.onReplica.zcard("fw:mo-parts:b1:groups"), 0);
    } finally {
      await parts.close();
    }
  });

  test("outbox peek: the lease is on the new master, so another instance does not take the same item", async () => {
    const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:" });
    const other = new RedisQueue<string>({ url: `redis://127.0.0.1:${pair.replica.port}`, name: "fw", prefix: "fw:" });
    try {
      await queue.push("status:1", "sent");
      pair.replicationRelay.pause();
      const staged = pair.failoverAtNextWait();
      assert.deepEqual((await queue.peek(10)).map((i) => i.value), ["sent"]);
      // Before: the claim sent no WAIT at all; the failover then comes right after it.
      await staged.done().catch(() => pair.failover());
      // Before: the lease stayed with the old master and the other instance posted the item too.
      assert.deepEqual(await other.peek(10), []);
    } finally {
      await other.close();
      await queue.close();
    }
  });

  test("a reconnect to the same master (no failover): the write is found there and not made twice", async () => {
    const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:" });
    try {
      const cut = new Promise<void>((resolve) =>
        pair.clientRelay.onCommand("wait", async () => {
          pair.clientRelay.cutAll();
          resolve();
        }),
      );
      const item = await queue.push("status:1", "sent");
      await cut;
      // Found there, it is fenced (a PUBLISH the WAIT then covers) instead of pushed again.
      assert.equal(pair.clientRelay.count("publish"), 1);
      assert.deepEqual((await queue.peek(10)).map((i) => [i.id, i.value]), [[item.id, "sent"]]);
      assert.equal(await queue.size(), 1);
    } finally {
      await queue.close();
    }
  });

  test("an empty peek sends no WAIT; a peek that took an item sends one", async () => {
    const queue = new RedisQueue<string>({ url: pair.url, name: "fw", prefix: "fw:" });
    try {
      assert.deepEqual(await queue.peek(10), []);
      assert.equal(pair.clientRelay.count("wait"), 0);
      await queue.push("status:1", "sent");
      const afterPush = pair.clientRelay.count("wait");
      assert.equal((await queue.peek(10)).length, 1);
      assert.equal(pair.clientRelay.count("wait"), afterPush + 1);
    } finally {
      await queue.close();
    }
  });
});
