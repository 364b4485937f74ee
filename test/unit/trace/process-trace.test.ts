/**
 * The process's trace (lib/trace/log.ts) as the nodes use it: opened with the correlation store
 * by lib/store, one write per event-loop turn, kept over a close and reopen of the store (a
 * restart), shared through Redis, and in memory while no store is open or a write fails.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { open as openLmdb } from "lmdb";
import { openStore } from "../../../lib/store";
import { EMBEDDED_STORE_DIRNAME } from "../../../lib/store/embedded";
import { TRACE_DIRNAME } from "../../../lib/trace/embedded-log";
import type { TraceEvent } from "../../../lib/trace/event";
import { MEMORY_BESIDE_STORE, ProcessTrace, traceLog } from "../../../lib/trace/log";
import { TRACE_MAX_EVENTS } from "../../../lib/trace/memory-log";
import { RedisTraceLog } from "../../../lib/trace/redis-log";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";

function message(id: string, at: number): TraceEvent[] {
  return [
    { at, step: "courier-request", id, phone: "+250788383383", via: "ch" },
    { at: at + 1, step: "submit", id, phone: "+250788383383", via: "b1", part: 1, parts: 2, ok: true, status: 0, smscIds: [`${id}-1`] },
    { at: at + 2, step: "submit", id, phone: "+250788383383", via: "b1", part: 2, parts: 2, ok: true, status: 0, smscIds: [`${id}-2`] },
    { at: at + 3, step: "courier-answer", id, via: "ch", ok: true, status: 200 },
    { at: at + 50, step: "receipt", id, smscIds: [`${id}-2`], via: "b1", ok: true, status: "DELIVRD" },
  ];
}

describe("the process trace beside the embedded store", () => {
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "rp-process-trace-"));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  test("a store opened by lib/store brings the trace's log; one turn's events are one write; a reopen (a restart) keeps them", async () => {
    const store = await openStore({ dir });
    await traceLog.settled();
    assert.equal(traceLog.memory.limit, MEMORY_BESIDE_STORE, "no big copy in memory while the store holds the trace");
    const events = message("restart-1", Date.now());
    for (const e of events) traceLog.record(e);
    assert.deepEqual(await traceLog.find({ id: "restart-1" }), events);
    await store.close();
    assert.equal(traceLog.memory.limit, TRACE_MAX_EVENTS, "no store: the memory log takes the whole trace again");
    assert.equal(traceLog.memory.size, 0, "nothing was kept in memory");

    const traceDir = path.join(dir, EMBEDDED_STORE_DIRNAME, TRACE_DIRNAME);
    const raw = openLmdb({ path: traceDir, encoding: "binary", readOnly: true });
    try {
      assert.equal(Array.from(raw.getKeys({})).length, 1, "five events of one turn, one write");
    } finally {
      await raw.close();
    }

    const again = await openStore({ dir });
    try {
      assert.deepEqual(await traceLog.find({ id: "restart-1" }), events);
      assert.deepEqual(await traceLog.find({ smscId: "restart-1-1" }), events);
      assert.deepEqual(await traceLog.find({ phone: "+250 788 383 383" }), events);
    } finally {
      await again.close();
    }
  });

  test("no store open: the trace is in memory; a memory: store keeps it there too", async () => {
    const events = message("in-memory", Date.now());
    for (const e of events) traceLog.record(e);
    assert.deepEqual(await traceLog.find({ id: "in-memory" }), events);
    const store = await openStore({ url: "memory:" });
    try {
      await traceLog.settled();
      assert.equal(traceLog.memory.limit, TRACE_MAX_EVENTS);
      assert.deepEqual(await traceLog.find({ id: "in-memory" }), events);
    } finally {
      await store.close();
    }
  });

  test("trace off: nothing is recorded and no log is opened beside a store", async () => {
    const trace = new ProcessTrace();
    trace.enabled = false;
    assert.equal(trace.openBeside({ backend: "embedded", dir: path.join(dir, "off") }), undefined);
    trace.record({ at: Date.now(), step: "courier-request", id: "off" });
    assert.deepEqual(await trace.find({ id: "off" }), []);
    assert.equal(fs.existsSync(path.join(dir, "off")), false);
  });
});

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis process-trace tests skipped: ${skip}`);

describe("the process trace beside a Redis store", { skip }, () => {
  let redis: RedisServer;
  before(async () => {
    redis = await startRedis();
  });
  after(() => redis.stop());

  test("two instances: each records its own steps, each finds the whole message", async () => {
    const a = new ProcessTrace();
    const b = new ProcessTrace();
    const beside = [a.openBeside({ backend: "redis", url: redis.url }), b.openBeside({ backend: "redis", url: redis.url })];
    try {
      await Promise.all([a.settled(), b.settled()]);
      const events = message("shared-1", Date.now());
      for (const e of events.slice(0, 4)) a.record(e);
      b.record(events[4]);
      // Another instance's events are there once it wrote them (within a turn or so).
      await b.settled();
      assert.deepEqual(await a.find({ id: "shared-1" }), events);
      assert.deepEqual(await b.find({ smscId: "shared-1-1" }), events);
      assert.equal(a.memory.size + b.memory.size, 0);
    } finally {
      await Promise.all(beside.map((h) => h?.close()));
    }
  });

  test("an embedded and a Redis store open at once: the trace goes to Redis, where the other instances look", async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "rp-process-trace-both-"));
    const trace = new ProcessTrace();
    const handles = [trace.openBeside({ backend: "embedded", dir }), trace.openBeside({ backend: "redis", url: redis.url })];
    const other = new RedisTraceLog({ url: redis.url });
    try {
      await trace.settled();
      const events = message("both-1", Date.now());
      for (const e of events) trace.record(e);
      await trace.settled();
      assert.deepEqual(await other.find({ id: "both-1" }), events);
    } finally {
      await other.close();
      await Promise.all(handles.map((h) => h?.close()));
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test("Redis down: the events stay in memory, with one reason reported; the query says Redis failed", async () => {
    const trace = new ProcessTrace();
    const reasons: string[] = [];
    const handle = trace.openBeside({ backend: "redis", url: redis.url }, (err) => reasons.push(err.message));
    try {
      await trace.settled();
      await redis.pause();
      for (const e of message("during-outage", Date.now())) trace.record(e);
      await trace.settled();
      assert.equal(trace.memory.find({ id: "during-outage" }).length, 5);
      assert.ok(reasons.some((r) => /write failed.*these events stay in memory/.test(r)), reasons.join("\n"));
      await assert.rejects(trace.find({ id: "during-outage" }), /query failed/);
    } finally {
      await redis.resume();
      await handle?.close();
    }
  });
});
