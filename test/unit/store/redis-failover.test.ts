/**
 * The Redis store and outbox behind Sentinel (redis-url.ts, connectRedis in redis-connection.ts): a
 * master, a replica and three sentinels on 127.0.0.1. Writes go on while the master is
 * killed with SIGKILL and Sentinel promotes the replica; every write that resolved must be
 * there afterwards. Also: a Redis Cluster node is refused with the reason. Skipped, with the
 * reason printed, where redis-server or redis-sentinel is missing.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { RedisQueue } from "../../../lib/store/queue-redis";
import { RedisStore } from "../../../lib/store/redis";
import { freePort, redisSkipReason, waitUntilReady } from "../../helpers/redis-server";
import { sentinelSkipReason, startSentinelSet, type SentinelSet } from "../../helpers/redis-sentinel";

const skip = sentinelSkipReason || undefined;
if (skip) console.log(`# Redis Sentinel tests skipped: ${skip}`);

describe("Redis behind Sentinel", { skip }, () => {
  let set: SentinelSet;
  before(async () => {
    set = await startSentinelSet();
  });
  after(async () => {
    await set?.stop();
  });

  test("puts and pushes acknowledged before and during a failover are all there after it", async (t) => {
    const reports: string[] = [];
    const url = `${set.url}?waitMs=500`;
    const store = new RedisStore({ url, prefix: "fo:", maxRetriesPerRequest: 40, onBackgroundError: (e) => reports.push(e.message) });
    const queue = new RedisQueue<{ n: number }>({ url, name: "fo", prefix: "fo:", maxRetriesPerRequest: 40, onBackgroundError: (e) => reports.push(e.message) });
    try {
      const acknowledged: number[] = [];
      const refused: string[] = [];
      let stop = false;
      const writer = (async () => {
        for (let n = 0; n < 5_000 && !stop; n++) {
          try {
            await store.put(`rp-${n}`, [`part-${n}`]);
            await queue.push(`key-${n % 7}`, { n });
            acknowledged.push(n);
          } catch (err) {
            refused.push((err as Error).message);
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      })();
      const warm = Date.now() + 10_000;
      while (acknowledged.length < 50 && Date.now() < warm) await new Promise((r) => setTimeout(r, 50));
      const oldMaster = await set.masterPort();
      const before = acknowledged.length;
      await set.nodes.find((n) => n.port === oldMaster)!.kill();
      const newMaster = await set.waitForFailover(oldMaster, 20_000);
      // The old master comes back as a replica: with min-replicas-to-write 1 the new master takes writes again.
      await set.nodes.find((n) => n.port === oldMaster)!.start();
      const afterFailover = acknowledged.length;
      const until = Date.now() + 20_000;
      while (acknowledged.length < afterFailover + 50 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
      stop = true;
      await writer;
      t.diagnostic(`master ${oldMaster} -> ${newMaster}; acknowledged ${before} before the kill, ${acknowledged.length} in all; ${refused.length} writes refused meanwhile (${[...new Set(refused.map((m) => m.replace(/\d+/g, "N")))].slice(0, 3).join(" | ")})`);
      assert.ok(acknowledged.length > afterFailover, "writes go on after the failover");

      const missing: number[] = [];
      for (const n of acknowledged) if (!(await store.findByPart(`part-${n}`))) missing.push(n);
      assert.deepEqual(missing.slice(0, 10), [], "every acknowledged put survived the failover");
      const queued = new Set<number>();
      for (;;) {
        const items = await queue.peek(1_000);
        if (items.length === 0) break;
        for (const item of items) {
          queued.add(item.value.n);
          await queue.ack(item.id);
        }
      }
      const lost = acknowledged.filter((n) => !queued.has(n));
      assert.deepEqual(lost.slice(0, 10), [], "every acknowledged push survived the failover");
      assert.ok(!reports.join("\n").includes("undefined"), "background reports are plain messages");
    } finally {
      await store.close();
      await queue.close();
    }
  });
});

describe("Redis Cluster", { skip: redisSkipReason || undefined }, () => {
  test("a Cluster node is refused with the reason", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), "rapidpro-sms-cluster-"));
    const port = await freePort();
    const child = spawn("redis-server", ["--port", String(port), "--bind", "127.0.0.1", "--dir", dir, "--save", "", "--cluster-enabled", "yes", "--cluster-config-file", path.join(dir, "nodes.conf")], { stdio: "ignore" });
    try {
      await waitUntilReady(port, child);
      const reports: string[] = [];
      const store = new RedisStore({ url: `redis://127.0.0.1:${port}`, maxRetriesPerRequest: 1, onBackgroundError: (e) => reports.push(e.message) });
      try {
        const until = Date.now() + 5_000;
        while (reports.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
        assert.match(reports.join("\n"), /is a Redis Cluster node; .*Redis Cluster is not supported/);
        await assert.rejects(store.put("rp", ["p"]), /Redis Cluster is not supported/);
      } finally {
        await store.close();
      }
    } finally {
      child.kill("SIGKILL");
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
