import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { open } from "lmdb";
import type { DurableQueue, QueueItem } from "../../../lib/store/queue";
import { MemoryQueue } from "../../../lib/store/queue-memory";
import { EmbeddedQueue, embeddedQueueDir } from "../../../lib/store/queue-embedded";
import { QueueConsumer, type DeliveryOutcome } from "../../../lib/store/queue-consumer";
import { RedisQueue } from "../../../lib/store/queue-redis";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";

interface Msg {
  n: number;
}

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rapidpro-sms-queue-"));
  tempDirs.push(dir);
  return dir;
}
let redis: RedisServer | undefined;
let redisQueues = 0;
after(async () => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
  await redis?.stop();
});

const implementations: { name: string; open: (rememberMs?: number) => Promise<DurableQueue<Msg>>; skip?: string }[] = [
  { name: "memory", open: async (rememberMs) => new MemoryQueue<Msg>(Date.now, rememberMs) },
  { name: "embedded", open: (rememberMs) => EmbeddedQueue.open<Msg>({ dir: tempDir(), name: "test", rememberMs }) },
  {
    name: "redis",
    skip: redisSkipReason || undefined,
    async open(rememberMs) {
      redis ??= await startRedis();
      // A prefix per queue keeps tests apart on the one server.
      return new RedisQueue<Msg>({ url: redis.url, name: "test", prefix: `q${++redisQueues}:`, rememberMs });
    },
  },
];

const values = (items: QueueItem<Msg>[]) => items.map((i) => `${i.key}:${i.value.n}`);

for (const impl of implementations) {
  describe(`${impl.name} queue`, { skip: impl.skip }, () => {
    const opened: DurableQueue<Msg>[] = [];
    const openQueue = async (rememberMs?: number) => {
      const queue = await impl.open(rememberMs);
      opened.push(queue);
      return queue;
    };
    afterEach(async () => {
      while (opened.length > 0) await opened.pop()?.close();
    });

    test("hands out items oldest first", async () => {
      const queue = await openQueue();
      for (const [key, n] of [["x", 1], ["y", 2], ["z", 3]] as const) await queue.push(key, { n });
      assert.deepEqual(values(await queue.peek(10)), ["x:1", "y:2", "z:3"]);
      assert.deepEqual(values(await queue.peek(2)), ["x:1", "y:2"]);
      assert.equal(await queue.size(), 3);
    });

    test("shows only the oldest item of each key, so one key's items stay in order", async () => {
      const queue = await openQueue();
      const pushed: QueueItem<Msg>[] = [];
      for (const [key, n] of [["m1", 1], ["m2", 2], ["m1", 3], ["m1", 4], ["m2", 5]] as const) pushed.push(await queue.push(key, { n }));
      assert.deepEqual(values(await queue.peek(10)), ["m1:1", "m2:2"]);
      await queue.ack(pushed[0].id);
      assert.deepEqual(values(await queue.peek(10)), ["m2:2", "m1:3"]);
      assert.deepEqual(values(await queue.peek(10, new Set(["m2"]))), ["m1:3"]);
      await queue.ack(pushed[2].id);
      await queue.ack(pushed[1].id);
      assert.deepEqual(values(await queue.peek(10)), ["m1:4", "m2:5"]);
    });

    test("ack removes exactly one item; acking again or an unknown id is harmless", async () => {
      const queue = await openQueue();
      const a = await queue.push("k", { n: 1 });
      await queue.push("k", { n: 2 });
      await queue.ack(a.id);
      await queue.ack(a.id);
      await queue.ack("999999");
      assert.deepEqual(values(await queue.peek(10)), ["k:2"]);
      assert.equal(await queue.size(), 1);
    });

    test("an item comes back as it was pushed, id and time included", async () => {
      const queue = await openQueue();
      const value = { n: 7, text: "Hej på dig 👋", nested: { list: [1, "two", null] } } as unknown as Msg;
      const pushed = await queue.push("key", value);
      const [peeked] = await queue.peek(1);
      assert.deepEqual(peeked, pushed);
      assert.deepEqual(peeked.value, value);
    });

    const badPushes: { name: string; key: unknown; value: unknown; error: RegExp }[] = [
      { name: "an empty key", key: "", value: { n: 1 }, error: /key must be a non-empty string/ },
      { name: "undefined", key: "k", value: undefined, error: /value of type undefined cannot be stored/ },
      { name: "a function", key: "k", value: () => 1, error: /value of type function cannot be stored/ },
      { name: "a circular object", key: "k", value: (() => { const o: Record<string, unknown> = {}; o.self = o; return o; })(), error: /queue push: value cannot be stored as JSON: .*circular/i },
    ];
    for (const row of badPushes) {
      test(`push refuses ${row.name} with a reason and stores nothing`, async () => {
        const queue = await openQueue();
        await assert.rejects(queue.push(row.key as string, row.value as Msg), row.error);
        assert.equal(await queue.size(), 0);
      });
    }

    test("pushOnce queues an event once however often it comes, and other events as usual", async () => {
      const queue = await openQueue();
      assert.equal(await queue.pushOnce("m1", { n: 1 }, "m1 sent"), true);
      assert.equal(await queue.pushOnce("m1", { n: 1 }, "m1 sent"), false);
      assert.equal(await queue.pushOnce("m1", { n: 2 }, "m1 delivered"), true);
      await queue.push("m1", { n: 3 });
      assert.equal(await queue.pushOnce("m1", { n: 1 }, "m1 sent"), false);
      assert.equal(await queue.size(), 3);
      const [head] = await queue.peek(10);
      await queue.ack(head.id);
      // Delivered and gone from the queue, and still remembered: a late repeat stays out.
      assert.equal(await queue.pushOnce("m1", { n: 1 }, "m1 sent"), false);
      assert.equal(await queue.size(), 2);
    });

    test("pushOnce called many times at once for one event queues it exactly once", async () => {
      const queue = await openQueue();
      const answers = await Promise.all(Array.from({ length: 20 }, () => queue.pushOnce("k", { n: 1 }, "same")));
      assert.equal(answers.filter((a) => a).length, 1, JSON.stringify(answers));
      assert.equal(await queue.size(), 1);
    });

    test("pushOnce forgets an event after rememberMs", async () => {
      const queue = await openQueue(300);
      assert.equal(await queue.pushOnce("k", { n: 1 }, "e"), true);
      assert.equal(await queue.pushOnce("k", { n: 1 }, "e"), false);
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(await queue.pushOnce("k", { n: 1 }, "e"), true);
      assert.equal(await queue.size(), 2);
    });

    const badOnceIds: { name: string; onceId: unknown }[] = [
      { name: "an empty once-id", onceId: "" },
      { name: "a once-id that is not a string", onceId: 7 },
      { name: "a once-id over 512 characters", onceId: "x".repeat(513) },
    ];
    for (const row of badOnceIds) {
      test(`pushOnce refuses ${row.name} with a reason and stores nothing`, async () => {
        const queue = await openQueue();
        await assert.rejects(queue.pushOnce("k", { n: 1 }, row.onceId as string), /onceId must be a non-empty string of at most 512 characters/);
        assert.equal(await queue.size(), 0);
      });
    }

    test("peek refuses a limit that is not a positive integer", async () => {
      const queue = await openQueue();
      await assert.rejects(queue.peek(0), /limit must be a positive integer/);
    });

    test("a closed queue refuses work with a reason", async () => {
      const queue = await impl.open();
      await queue.close();
      await assert.rejects(queue.push("k", { n: 1 }), /closed/);
      await assert.rejects(queue.peek(1), /closed/);
    });
  });
}

describe("embedded queue across restarts", () => {
  test("items, order and the next id survive closing and reopening", async () => {
    const dir = tempDir();
    const first = await EmbeddedQueue.open<Msg>({ dir, name: "status" });
    const a = await first.push("m1", { n: 1 });
    await first.push("m2", { n: 2 });
    await first.push("m1", { n: 3 });
    await first.ack(a.id);
    await first.close();

    const second = await EmbeddedQueue.open<Msg>({ dir, name: "status" });
    const later = await second.push("m3", { n: 4 });
    assert.ok(Number(later.id) > Number(a.id) + 2, "ids must keep growing after a restart");
    assert.deepEqual(values(await second.peek(10)), ["m2:2", "m1:3", "m3:4"]);
    await second.close();
  });

  test("a peek gives the same heads whether the process pushed the items (their keys known) or reopened the queue (keys read back)", async () => {
    const dir = tempDir();
    const pushes: Array<[string, number]> = [["a", 1], ["a", 2], ["b", 3], ["c", 4], ["b", 5], ["d", 6], ["a", 7]];
    const first = await EmbeddedQueue.open<Msg>({ dir, name: "heads" });
    const ids = new Map<number, string>();
    // Odd ones by push, even ones by pushOnce: both remember the key of what they wrote.
    for (const [key, n] of pushes) {
      if (n % 2) ids.set(n, (await first.push(key, { n })).id);
      else assert.equal(await first.pushOnce(key, { n }, `once-${n}`), true);
    }
    const views = async (q: EmbeddedQueue<Msg>) => [values(await q.peek(10)), values(await q.peek(2, new Set(["a"]))), values(await q.peek(10, new Set(["a", "b"])))];
    const expected = [["a:1", "b:3", "c:4", "d:6"], ["b:3", "c:4"], ["c:4", "d:6"]];
    assert.deepEqual(await views(first), expected);
    await first.ack(ids.get(3)!);
    await first.ack(ids.get(1)!);
    const afterAcks = [["a:2", "c:4", "b:5", "d:6"], ["c:4", "b:5"], ["c:4", "d:6"]];
    assert.deepEqual(await views(first), afterAcks);
    await first.close();

    const second = await EmbeddedQueue.open<Msg>({ dir, name: "heads" });
    assert.deepEqual(await views(second), afterAcks);
    await second.close();
  });

  test("once-ids survive closing and reopening, and the sweep forgets only expired ones", async () => {
    const dir = tempDir();
    let now = 1_000_000;
    const first = await EmbeddedQueue.open<Msg>({ dir, name: "once", rememberMs: 10_000, now: () => now });
    assert.equal(await first.pushOnce("k", { n: 1 }, "old"), true);
    now += 6_000;
    assert.equal(await first.pushOnce("k", { n: 2 }, "new"), true);
    await first.close();
    const second = await EmbeddedQueue.open<Msg>({ dir, name: "once", rememberMs: 10_000, now: () => now });
    assert.equal(await second.pushOnce("k", { n: 1 }, "old"), false);
    now += 5_000; // "old" is 11 s old, "new" 5 s
    assert.equal(await second.sweep(), 1);
    assert.equal(await second.pushOnce("k", { n: 2 }, "new"), false);
    assert.equal(await second.pushOnce("k", { n: 1 }, "old"), true);
    assert.equal(await second.size(), 3);
    await second.close();
  });

  test("queues of different names are separate", async () => {
    const dir = tempDir();
    const mo = await EmbeddedQueue.open<Msg>({ dir, name: "mo" });
    const status = await EmbeddedQueue.open<Msg>({ dir, name: "status" });
    await mo.push("k", { n: 1 });
    assert.equal(await status.size(), 0);
    await mo.close();
    await status.close();
  });

  test("a bad queue name is refused", async () => {
    await assert.rejects(EmbeddedQueue.open({ dir: tempDir(), name: "../escape" }), /queue name must be/);
  });

  test("a damaged item is set aside with a report, and the items behind it still flow", async () => {
    const dir = tempDir();
    const queue = await EmbeddedQueue.open<Msg>({ dir, name: "mo" });
    await queue.push("k1", { n: 1 });
    const broken = await queue.push("k2", { n: 2 });
    await queue.push("k3", { n: 3 });
    await queue.close();

    const raw = open({ path: embeddedQueueDir(dir, "mo"), maxDbs: 8 });
    const items = raw.openDB<Buffer, number>({ name: "items", encoding: "binary" });
    await items.put(Number(broken.id), Buffer.from("{ not json"));
    await raw.close();

    const reports: string[] = [];
    const reopened = await EmbeddedQueue.open<Msg>({ dir, name: "mo", onBackgroundError: (err) => reports.push(err.message) });
    assert.deepEqual(values(await reopened.peek(10)), ["k1:1", "k3:3"]);
    assert.equal(reports.length, 1);
    assert.match(reports[0], /set aside 1 damaged item\(s\) \(2\)/);
    assert.equal(await reopened.size(), 2);

    // The number of a set-aside item is not given out again, even once the queue is empty.
    for (const item of await reopened.peek(10)) await reopened.ack(item.id);
    await reopened.close();
    const emptied = await EmbeddedQueue.open<Msg>({ dir, name: "mo" });
    assert.ok(Number((await emptied.push("k4", { n: 4 })).id) > Number(broken.id));
    await emptied.close();

    // Set aside, not deleted: the bytes are still there for a person to look at.
    const check = open({ path: embeddedQueueDir(dir, "mo"), maxDbs: 8 });
    const damaged = check.openDB<Buffer, number>({ name: "damaged", encoding: "binary" });
    assert.equal(damaged.get(Number(broken.id))?.toString(), "{ not json");
    await check.close();
  });
});

/** Polls (bounded) until the condition holds. */
async function eventually(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

describe("queue consumer", () => {
  test("delivers everything, in order per key, acking only what was accepted", async () => {
    const queue = new MemoryQueue<Msg>();
    const plan: [string, number][] = [["a", 1], ["b", 1], ["a", 2], ["c", 1], ["b", 2], ["a", 3], ["c", 2], ["a", 4]];
    for (const [key, n] of plan) await queue.push(key, { n });
    const seen = new Map<string, number[]>();
    let inFlight = 0;
    let maxInFlight = 0;
    const consumer = new QueueConsumer<Msg>(queue, async (item) => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((resolve) => setTimeout(resolve, 5));
      seen.set(item.key, [...(seen.get(item.key) ?? []), item.value.n]);
      inFlight--;
      return "done";
    }, { concurrency: 3, pollMs: 50 });
    consumer.start();
    await eventually(async () => (await queue.size()) === 0, "the queue to drain");
    await consumer.stop();
    assert.deepEqual(Object.fromEntries(seen), { a: [1, 2, 3, 4], b: [1, 2], c: [1, 2] });
    assert.ok(maxInFlight > 1 && maxInFlight <= 3, `in flight at once: ${maxInFlight}`);
  });

  test("an item that fails is retried later and keeps its key's later items waiting", async () => {
    const queue = new MemoryQueue<Msg>();
    await queue.push("m1", { n: 1 });
    await queue.push("m1", { n: 2 });
    await queue.push("m2", { n: 1 });
    const attempts: string[] = [];
    let failuresLeft = 2;
    const errors: string[] = [];
    const consumer = new QueueConsumer<Msg>(queue, async (item) => {
      attempts.push(`${item.key}:${item.value.n}`);
      if (item.key === "m1" && item.value.n === 1 && failuresLeft > 0) {
        failuresLeft--;
        if (failuresLeft === 0) throw new Error("courier unreachable");
        return "retry";
      }
      return "done";
    }, { concurrency: 2, retryDelayMs: 20, pollMs: 50, onError: (err) => errors.push(err.message) });
    consumer.start();
    await eventually(async () => (await queue.size()) === 0, "the queue to drain");
    await consumer.stop();
    const m1 = attempts.filter((a) => a.startsWith("m1"));
    assert.deepEqual(m1, ["m1:1", "m1:1", "m1:1", "m1:2"]);
    assert.ok(attempts.includes("m2:1"));
    assert.equal(errors.length, 1);
    assert.match(errors[0], /delivery of item \d+ failed, will retry: courier unreachable/);
  });

  test("a refused item is dropped with a report; a stopped consumer leaves the rest queued", async () => {
    const queue = new MemoryQueue<Msg>();
    await queue.push("bad", { n: 1 });
    const errors: string[] = [];
    let release: (() => void) | undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const outcomes: Record<string, DeliveryOutcome> = { bad: "drop", slow: "done" };
    let slowStarted = false;
    const consumer = new QueueConsumer<Msg>(queue, async (item) => {
      if (item.key === "slow") {
        slowStarted = true;
        await gate;
      }
      return outcomes[item.key] ?? "retry";
    }, { pollMs: 20, onError: (err) => errors.push(err.message) });
    consumer.start();
    await eventually(async () => (await queue.size()) === 0, "the refused item to be dropped");
    assert.match(errors.join("\n"), /refused for good and is dropped/);

    await queue.push("slow", { n: 1 });
    await queue.push("never", { n: 1 });
    consumer.notify();
    await eventually(() => slowStarted, "the slow delivery to start");
    const stopping = consumer.stop();
    release?.();
    await stopping;
    // "slow" finished and was acked; "never" keeps failing and stays for the next start.
    assert.deepEqual(values(await queue.peek(10)), ["never:1"]);
  });

  test("items not accepted before a restart are delivered, in order, by the next consumer", async () => {
    const dir = tempDir();
    const first = await EmbeddedQueue.open<Msg>({ dir, name: "mo" });
    for (let n = 1; n <= 3; n++) await first.push("m", { n });
    let tries = 0;
    const down = new QueueConsumer<Msg>(first, async () => {
      tries++;
      return "retry"; // RapidPro unreachable
    }, { retryDelayMs: 10, pollMs: 20 });
    down.start();
    await eventually(() => tries >= 2, "a few failed tries");
    await down.stop();
    await first.close();

    const reopened = await EmbeddedQueue.open<Msg>({ dir, name: "mo" });
    const delivered: number[] = [];
    const up = new QueueConsumer<Msg>(reopened, async (item) => {
      delivered.push(item.value.n);
      return "done";
    }, { pollMs: 20 });
    up.start();
    await eventually(async () => (await reopened.size()) === 0, "the queue to drain");
    await up.stop();
    await reopened.close();
    assert.deepEqual(delivered, [1, 2, 3]);
  });

  test("a queue that cannot be read is reported, and the consumer keeps trying", async () => {
    let failing = true;
    const inner = new MemoryQueue<Msg>();
    await inner.push("k", { n: 1 });
    const flaky: DurableQueue<Msg> = {
      push: (key, value) => inner.push(key, value),
      pushOnce: (key, value, onceId) => inner.pushOnce(key, value, onceId),
      peek: async (limit, skip) => {
        if (failing) throw new Error("disk I/O error");
        return inner.peek(limit, skip);
      },
      ack: (id) => inner.ack(id),
      size: () => inner.size(),
      close: () => inner.close(),
    };
    const errors: string[] = [];
    const consumer = new QueueConsumer<Msg>(flaky, async () => "done", { pollMs: 20, onError: (err) => errors.push(err.message) });
    consumer.start();
    await eventually(() => errors.length >= 2, "two reports of the failing queue");
    assert.match(errors[0], /reading the queue failed, will look again: disk I\/O error/);
    failing = false;
    await eventually(async () => (await inner.size()) === 0, "the queue to drain once readable");
    await consumer.stop();
  });
});

describe("redis queue shared by several instances", { skip: redisSkipReason || undefined }, () => {
  let server: RedisServer;
  const queues: RedisQueue<Msg>[] = [];
  let prefixes = 0;
  const instance = (prefix: string, leaseMs?: number) => {
    const queue = new RedisQueue<Msg>({ url: server.url, name: "shared", prefix, leaseMs });
    queues.push(queue);
    return queue;
  };
  before(async () => {
    server = await startRedis({ appendonly: true });
  });
  afterEach(async () => {
    while (queues.length > 0) await queues.pop()?.close();
  });
  after(async () => {
    await server?.stop();
  });

  test("a key being delivered by one instance is not handed to another until acked", async () => {
    const prefix = `s${++prefixes}:`;
    const [a, b] = [instance(prefix), instance(prefix)];
    const first = await a.push("m1", { n: 1 });
    await b.push("m1", { n: 2 });
    await a.push("m2", { n: 1 });
    await b.push("m3", { n: 1 });
    assert.deepEqual(values(await a.peek(2)), ["m1:1", "m2:1"]);
    assert.deepEqual(values(await b.peek(10)), ["m3:1"], "b must not get m1 or m2 while a holds them");
    await a.ack(first.id);
    // b still holds m3 itself, so it sees m3 again (a consumer skips the keys it is busy with).
    assert.deepEqual(values(await b.peek(10)), ["m1:2", "m3:1"]);
    assert.deepEqual(values(await a.peek(10)), ["m2:1"], "a keeps m2, and m1 and m3 now belong to b");
    assert.equal(await a.size(), 3);
  });

  test("the key of an instance that went silent is handed to another after the lease", async () => {
    const prefix = `s${++prefixes}:`;
    const [a, b] = [instance(prefix, 200), instance(prefix, 200)];
    await a.push("m1", { n: 1 });
    assert.deepEqual(values(await a.peek(10)), ["m1:1"]);
    assert.deepEqual(values(await b.peek(10)), []);
    // Silent: its connection is gone, so its lease is no longer renewed (a live one keeps it, queue-redis-lease.test.ts).
    (a as unknown as { client: { disconnect(): void } }).client.disconnect();
    await eventually(async () => (await b.peek(10)).length === 1, "the lease to run out");
  });

  test("items survive a redis-server restart, in order, and ids keep growing", async () => {
    const prefix = `s${++prefixes}:`;
    const queue = instance(prefix);
    const pushed: QueueItem<Msg>[] = [];
    for (let n = 1; n <= 20; n++) pushed.push(await queue.push(`k${n % 4}`, { n }));
    await server.restart();
    const later = await queue.push("k0", { n: 21 });
    assert.ok(Number(later.id) > Number(pushed.at(-1)!.id));
    assert.equal(await queue.size(), 21);
    const drained: number[] = [];
    for (let round = 0; round < 30 && drained.length < 21; round++) {
      const [head] = await queue.peek(1);
      if (!head) break;
      drained.push(head.value.n);
      await queue.ack(head.id);
    }
    assert.deepEqual(drained, Array.from({ length: 21 }, (_, i) => i + 1));
  });

  test("a damaged item is set aside with a report and the rest flows", async () => {
    const prefix = `s${++prefixes}:`;
    const reports: string[] = [];
    const queue = new RedisQueue<Msg>({ url: server.url, name: "shared", prefix, onBackgroundError: (err) => reports.push(err.message) });
    queues.push(queue);
    await queue.push("k1", { n: 1 });
    const broken = await queue.push("k2", { n: 2 });
    const probe = instance(prefix);
    await probe.close();
    const raw = new (await import("ioredis")).default(server.url);
    await raw.set(`${prefix}q:shared:item:${broken.id}`, "{ not json");
    raw.disconnect();
    assert.deepEqual(values(await queue.peek(10)), ["k1:1"]);
    assert.match(reports.join("\n"), new RegExp(`set aside 1 damaged item\\(s\\) \\(${broken.id}\\)`));
    assert.equal(await queue.size(), 1);
  });

  test("two consumers on two instances deliver every item once, in order per key", async () => {
    const prefix = `s${++prefixes}:`;
    const [a, b] = [instance(prefix), instance(prefix)];
    for (let n = 0; n < 40; n++) await (n % 2 ? a : b).push(`m${n % 5}`, { n });
    const delivered = new Map<string, number[]>();
    const deliver = async (item: QueueItem<Msg>): Promise<DeliveryOutcome> => {
      await new Promise((resolve) => setTimeout(resolve, 2));
      delivered.set(item.key, [...(delivered.get(item.key) ?? []), item.value.n]);
      return "done";
    };
    const consumers = [new QueueConsumer(a, deliver, { concurrency: 3, pollMs: 20 }), new QueueConsumer(b, deliver, { concurrency: 3, pollMs: 20 })];
    for (const c of consumers) c.start();
    await eventually(async () => (await a.size()) === 0, "both consumers to drain the queue");
    await Promise.all(consumers.map((c) => c.stop()));
    for (let k = 0; k < 5; k++) {
      const expected = Array.from({ length: 8 }, (_, i) => i * 5 + k);
      assert.deepEqual(delivered.get(`m${k}`), expected, `key m${k}`);
    }
  });
});
