/**
 * The Redis store against a real redis-server that each suite starts on a free loopback port
 * and stops afterwards. Without redis-server on the machine these tests are skipped, with
 * the reason printed.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import Redis from "ioredis";
import { RedisStore } from "../../../lib/store/redis";
import { parseRedisUrl } from "../../../lib/store/redis-url";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";
import { storeSemantics } from "./semantics";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis store tests skipped: ${skip}`);

let shared: RedisServer | undefined;
let opened = 0;
const prefixOf = new WeakMap<object, string>();

storeSemantics(
  "redis",
  skip
    ? { skip }
    : {
        async open(ttlMs) {
          shared ??= await startRedis();
          // Each store gets its own prefix, so tests never see each other's keys.
          const prefix = `t${++opened}:`;
          const store = new RedisStore({ url: shared.url, ttlMs, prefix });
          prefixOf.set(store, prefix);
          return store;
        },
        async openPeer(first) {
          // A second connection on the same keys: another Node-RED instance.
          return new RedisStore({ url: shared!.url, prefix: prefixOf.get(first) });
        },
        async cleanup() {
          await shared?.stop();
          shared = undefined;
        },
      },
);

describe("redis store on a real server", { skip }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis({ appendonly: true });
  });
  after(async () => {
    await server?.stop();
  });

  test("entries written by 0.1.0 (one rec: per submission, no text digest) read, take receipts and grow", async () => {
    const store = new RedisStore({ url: server.url, prefix: "old:" });
    const probe = new Redis(server.url);
    try {
      // 0.1.0's keys, as its RedisStore.put wrote them.
      const at = Date.now();
      const record = { rapidproId: "rp-old", parts: ["o1", "o2"], states: ["delivered", "pending"], reported: "sent", createdAt: at };
      await probe.set("old:rec:legacy-1", JSON.stringify({ rev: "r1", record }), "PX", 60_000);
      await probe.set("old:part:o1", "old:rec:legacy-1", "PX", 60_000);
      await probe.set("old:part:o2", "old:rec:legacy-1", "PX", 60_000);
      await probe.set("old:msg:rp-old", "old:rec:legacy-1", "PX", 60_000);

      assert.deepEqual(await store.findByPart("o2"), { rapidproId: "rp-old", submissions: [{ parts: ["o1", "o2"], states: ["delivered", "pending"], at }], reported: "sent", createdAt: at });
      assert.deepEqual(await store.markPart("o2", "delivered"), { rapidproId: "rp-old", report: { status: "delivered", smscId: "o1" } });
      await store.put("rp-old", ["n1"], "digest");
      const grown = await store.findByMessage("rp-old");
      assert.deepEqual(grown?.submissions.map((x) => [x.text, x.parts]), [[undefined, ["o1", "o2"]], ["digest", ["n1"]]]);
      assert.equal(await probe.get("old:part:n1"), "old:rec:legacy-1", "the new part points at the old entry");
    } finally {
      probe.disconnect();
      await store.close();
    }
  });

  test("entries carry the TTL as Redis expiry", async () => {
    const store = new RedisStore({ url: server.url, ttlMs: 60_000, prefix: "ttl:" });
    const probe = new Redis(server.url);
    try {
      await store.put("rp", ["p1", "p2"]);
      const keys = (await probe.keys("ttl:*")).sort();
      // The record, one index entry per part, and the message index.
      assert.equal(keys.length, 4, keys.join(", "));
      assert.ok(keys.includes("ttl:msg:rp"), keys.join(", "));
      for (const key of keys) {
        const ttl = await probe.pttl(key);
        assert.ok(ttl > 0 && ttl <= 60_000, `${key} expires in ${ttl} ms`);
      }
      // Updating a record keeps its expiry.
      await store.markPart("p1", "delivered");
      const recordKey = keys.find((k) => k.startsWith("ttl:rec:"))!;
      assert.ok((await probe.pttl(recordKey)) > 0);
    } finally {
      probe.disconnect();
      await store.close();
    }
  });

  test("a restart of redis-server mid-run loses no acknowledged write, and the store keeps working", async (t) => {
    const store = new RedisStore({ url: server.url, prefix: "restart:" });
    const acked: number[] = [];
    const failedWrites: string[] = [];
    try {
      // Writes keep going while the server restarts; each one either resolves (and must
      // then be there) or rejects with a reason (the caller would answer "try again").
      const writes = (async () => {
        for (let k = 0; k < 300; k++) {
          try {
            await store.put(`rp-${k}`, [`part-${k}`]);
            acked.push(k);
          } catch (err) {
            failedWrites.push((err as Error).message);
          }
          if (k % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
        }
      })();
      while (acked.length < 50) await new Promise((resolve) => setTimeout(resolve, 5));
      const ackedBeforeRestart = acked.length;
      await server.restart();
      const ackedAfterRestart = acked.length;
      await writes;
      t.diagnostic(`acked ${ackedBeforeRestart} before the restart, ${ackedAfterRestart} when it was back, ${acked.length} in all; ${failedWrites.length} rejected`);
      assert.ok(ackedAfterRestart < 300, "the restart did not happen during the writes");

      assert.ok(acked.length > 50, `acked ${acked.length}`);
      for (const message of failedWrites) assert.match(message, /redis store \(redis:\/\/127\.0\.0\.1:\d+\/?\): put for message "rp-\d+" failed: /);
      for (const k of acked) {
        assert.equal((await store.findByPart(`part-${k}`))?.rapidproId, `rp-${k}`, `acknowledged entry ${k} is missing`);
      }
      assert.deepEqual((await store.markPart(`part-${acked[0]}`, "delivered"))?.report, { status: "delivered", smscId: `part-${acked[0]}` });
    } finally {
      await store.close();
    }
  });

  test("with Redis down, a write rejects with a reason instead of hanging, and works again once it is back", async () => {
    const store = new RedisStore({ url: server.url, prefix: "down:", maxRetriesPerRequest: 2 });
    try {
      await store.put("before", ["b0"]);
      await server.pause();
      await assert.rejects(store.put("while-down", ["d1"]), /redis store \(redis:\/\/127\.0\.0\.1:\d+\/?\): put for message "while-down" failed: /);
      await server.resume();
      // The client reconnects on its own schedule; retry the way a caller would (bounded).
      let stored = false;
      for (let attempt = 0; attempt < 50 && !stored; attempt++) {
        stored = await store.put("after", ["a1"]).then(() => true, () => false);
        if (!stored) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      assert.ok(stored, "no write succeeded after Redis came back");
      assert.equal((await store.findByPart("b0"))?.rapidproId, "before");
      assert.equal((await store.findByPart("a1"))?.rapidproId, "after");
    } finally {
      await store.close();
    }
  });

  test("a damaged record gives a clear error, other records stay readable", async () => {
    const store = new RedisStore({ url: server.url, prefix: "corrupt:" });
    const probe = new Redis(server.url);
    try {
      await store.put("good", ["g1"]);
      await probe.set("corrupt:part:b1", "corrupt:rec:broken");
      await probe.set("corrupt:rec:broken", "{ not json");
      await probe.set("corrupt:part:b2", "corrupt:rec:shape");
      await probe.set("corrupt:rec:shape", JSON.stringify({ rev: "r", record: { rapidproId: "x", parts: ["b2"], states: [], createdAt: 1 } }));
      await assert.rejects(store.findByPart("b1"), /corrupt correlation record \(part "b1"\)/);
      await assert.rejects(store.markPart("b2", "delivered"), /corrupt correlation record \(part "b2"\): states does not match parts/);
      assert.equal((await store.findByPart("g1"))?.rapidproId, "good");
    } finally {
      probe.disconnect();
      await store.close();
    }
  });
});

describe("redis store secrets", { skip }, () => {
  const password = "s3cr3t-Pa55word";
  let server: RedisServer;
  before(async () => {
    server = await startRedis({ password });
  });
  after(async () => {
    await server?.stop();
  });

  test("works with the password from the URL", async () => {
    const store = new RedisStore({ url: server.url, prefix: "auth:" });
    try {
      await store.put("rp", ["p"]);
      assert.equal((await store.findByPart("p"))?.rapidproId, "rp");
      assert.doesNotMatch(store.location, new RegExp(password));
    } finally {
      await store.close();
    }
  });

  test("a wrong password never shows up in errors or background reports", async (t) => {
    const wrong = "Wr0ng-Pa55word-xyz";
    const reports: string[] = [];
    const store = new RedisStore({
      url: `redis://:${wrong}@127.0.0.1:${server.port}`,
      prefix: "auth:",
      maxRetriesPerRequest: 1,
      onBackgroundError: (err) => reports.push(err.message),
    });
    try {
      const err = await store.put("rp", ["p"]).then(() => undefined, (e: Error) => e);
      assert.ok(err, "a put with a wrong password must fail");
      t.diagnostic(`error: ${err.message}; background reports: ${reports.length}`);
      const everything = [err.message, String(err.stack), JSON.stringify(err), ...reports].join("\n");
      assert.doesNotMatch(everything, new RegExp(wrong));
      assert.match(err.message, /redis store \(redis:\/\/:\*\*\*@127\.0\.0\.1:\d+\/?\)/);
    } finally {
      await store.close();
    }
  });

});

describe("redis URL description", () => {
  test("hides the password however it is spelled", () => {
    const { location, secrets } = parseRedisUrl("redis://user:p%40ss%20word@redis.example:6380/2");
    assert.equal(location, "redis://user:***@redis.example:6380/2");
    assert.deepEqual(secrets.sort(), ["p%40ss%20word", "p@ss word"].sort());
    assert.throws(() => parseRedisUrl("http://user:hunter2@x"), (e: Error) => /redis:\/\/ or rediss:\/\//.test(e.message) && !e.message.includes("hunter2"));
    assert.throws(() => parseRedisUrl("not a url hunter2"), (e: Error) => !e.message.includes("hunter2"));
  });
});
