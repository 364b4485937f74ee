import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { openQueue, openStore, EmbeddedStore, MemoryStore, RedisStore } from "../../../lib/store/index";
import { redisSkipReason, startRedis } from "../../helpers/redis-server";

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rapidpro-sms-factory-"));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

describe("openStore", () => {
  test("without a url opens the embedded store in dir, shared by every user and kept across reopen", async () => {
    const dir = tempDir();
    const [first, second] = await Promise.all([openStore({ dir }), openStore({ dir })]);
    await first.put("rp-1", ["p-1"]);
    assert.equal((await second.findByPart("p-1"))?.rapidproId, "rp-1");

    await first.close();
    await first.close(); // counts once
    await assert.rejects(first.findByPart("p-1"), /this store handle is closed/);
    assert.equal((await second.findByPart("p-1"))?.rapidproId, "rp-1", "closing one user must not close the store for the other");
    await second.close();

    const again = await openStore({ dir });
    assert.equal((await again.findByPart("p-1"))?.rapidproId, "rp-1");
    await again.close();
  });

  test("memory: is shared while open and gone once the last user closed it", async () => {
    const a = await openStore({ url: "memory:" });
    const b = await openStore({ url: "memory:" });
    const other = await openStore({ url: "memory:other" });
    await a.put("rp", ["p"]);
    assert.ok(await b.findByPart("p"));
    assert.equal(await other.findByPart("p"), undefined);
    await Promise.all([a.close(), b.close(), other.close()]);
    const fresh = await openStore({ url: "memory:" });
    assert.equal(await fresh.findByPart("p"), undefined, "the store should have been closed and dropped");
    await fresh.close();
  });

  test("a second user asking for another TTL is refused with the reason", async () => {
    const dir = tempDir();
    const first = await openStore({ dir, ttlMs: 60_000 });
    await assert.rejects(openStore({ dir, ttlMs: 120_000 }), /already open with ttlMs=60000.*got ttlMs=120000/);
    await first.close();
  });

  const badOptions: { name: string; options: Parameters<typeof openStore>[0]; error: RegExp; secret?: string }[] = [
    { name: "no url and no dir", options: {}, error: /embedded store needs a directory/ },
    { name: "an unknown scheme (password not echoed)", options: { url: "http://user:hunter2@example.test" }, error: /store url must be empty \(embedded\), memory: or redis:\/\/.*"http:"/, secret: "hunter2" },
    { name: "a malformed redis URL (password not echoed)", options: { url: "redis://:hunter2@[bad" }, error: /redis store: the URL is not valid/, secret: "hunter2" },
    { name: "a TTL of zero", options: { url: "memory:zero", ttlMs: 0 }, error: /ttlMs must be a positive number/ },
  ];
  for (const row of badOptions) {
    test(`refuses ${row.name}`, async () => {
      const err = await openStore(row.options).then(() => undefined, (e: Error) => e);
      assert.ok(err, "expected a rejection");
      assert.match(err.message, row.error);
      if (row.secret) assert.doesNotMatch(`${err.message}\n${err.stack}`, new RegExp(row.secret));
    });
  }

  test("a directory that cannot hold the store gives the reason, and a later open tries again", async () => {
    const file = path.join(tempDir(), "plain-file");
    writeFileSync(file, "x");
    await assert.rejects(openStore({ dir: file }), /embedded store: cannot open the database in .*plain-file/);
    await assert.rejects(openStore({ dir: file }), /embedded store: cannot open the database in .*plain-file/);
  });

  test("the implementations are exported for direct use", () => {
    assert.equal(typeof EmbeddedStore.open, "function");
    assert.equal(typeof MemoryStore, "function");
    assert.equal(typeof RedisStore, "function");
  });

  test("redis:// opens one shared Redis store", { skip: redisSkipReason || undefined }, async () => {
    const server = await startRedis();
    try {
      const a = await openStore({ url: server.url, ttlMs: 30_000 });
      const b = await openStore({ url: server.url, ttlMs: 30_000 });
      await a.put("rp", ["p"]);
      assert.equal((await b.findByPart("p"))?.rapidproId, "rp");
      await a.close();
      assert.ok(await b.findByPart("p"));
      await b.close();
    } finally {
      await server.stop();
    }
  });
});

describe("openQueue", () => {
  test("an embedded queue is shared by name and keeps its items across reopen", async () => {
    const dir = tempDir();
    const a = await openQueue<{ n: number }>({ dir, name: "mo" });
    const b = await openQueue<{ n: number }>({ dir, name: "mo" });
    const other = await openQueue<{ n: number }>({ dir, name: "status" });
    await a.push("k", { n: 1 });
    assert.equal(await b.size(), 1);
    assert.equal(await other.size(), 0);
    await Promise.all([a.close(), b.close(), other.close()]);
    const again = await openQueue<{ n: number }>({ dir, name: "mo" });
    assert.deepEqual((await again.peek(5)).map((i) => i.value), [{ n: 1 }]);
    await again.close();
  });

  test("redis:// opens a Redis queue, shared by url and name", { skip: redisSkipReason || undefined }, async () => {
    const server = await startRedis();
    try {
      const a = await openQueue<{ n: number }>({ url: server.url, name: "mo" });
      const b = await openQueue<{ n: number }>({ url: server.url, name: "mo" });
      const other = await openQueue<{ n: number }>({ url: server.url, name: "status" });
      await a.push("k", { n: 1 });
      assert.equal(await b.size(), 1);
      assert.equal(await other.size(), 0);
      await Promise.all([a.close(), b.close(), other.close()]);
    } finally {
      await server.stop();
    }
  });

  test("refuses an unknown scheme and a bad name, with reasons", async () => {
    await assert.rejects(openQueue({ url: "amqp://u:hunter2@127.0.0.1:1", name: "mo" }), (e: Error) => /queue url must be empty \(embedded\), memory: or redis:/.test(e.message) && !e.message.includes("hunter2"));
    await assert.rejects(openQueue({ dir: tempDir(), name: "a/b" }), /queue name must be/);
  });
});
