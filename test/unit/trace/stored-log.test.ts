/**
 * The trace logs kept with the store, against a real LMDB in a temp dir and a real redis-server
 * (skipped, with the reason printed, where redis-server is missing): one table of behaviour for
 * both (a split, long, receipted message in order; found by any of its ids; kept over a close
 * and reopen; bounded by count and age, the oldest out first), then what each does alone.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { open as openLmdb } from "lmdb";
import { EmbeddedTraceLog, TRACE_DIRNAME } from "../../../lib/trace/embedded-log";
import type { TraceEvent, TraceQuery } from "../../../lib/trace/event";
import { RedisTraceLog } from "../../../lib/trace/redis-log";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";

const ID = "0191f7a3-5e2b-7c4d-9a10-3b2c1d0e9f8a";
const PHONE = "+447911123456";
const HOUR = 3_600_000;

/** A log as the table uses it: the clock the test sets, and a way to close and open it again. */
interface Subject {
  append(batch: TraceEvent[]): Promise<unknown>;
  find(query: TraceQuery): Promise<TraceEvent[]>;
  /** Closes the log and opens a new one on the same data: a restart. */
  reopen(): Promise<void>;
  /** Applies the bounds (the embedded log prunes in the background too; the Redis one on each write). */
  prune(): Promise<void>;
  /** Messages (Redis) or events (embedded) held now. */
  held(): Promise<number>;
  close(): Promise<void>;
}

interface Backend {
  skip?: string;
  open(options: { now: () => number; maxCount?: number }): Promise<Subject>;
  cleanup(): Promise<void>;
}

/** A three-part MT, as the nodes record it, in the turns it happens in: each inner array is one write. */
function splitLongReceiptedMessage(t0: number): TraceEvent[][] {
  return [
    [{ at: t0, step: "courier-request", id: ID, phone: PHONE, via: "ch" }],
    [
      { at: t0 + 12, sentAt: t0 + 2, step: "submit", id: ID, phone: PHONE, via: "b1", part: 1, parts: 3, ok: true, status: 0, smscIds: ["A1"] },
      { at: t0 + 12, sentAt: t0 + 2, step: "submit", id: ID, phone: PHONE, via: "b1", part: 2, parts: 3, ok: true, status: 0, smscIds: ["A2"] },
    ],
    [
      { at: t0 + 14, sentAt: t0 + 2, step: "submit", id: ID, phone: PHONE, via: "b1", part: 3, parts: 3, ok: true, status: 0, smscIds: ["A3"] },
      { at: t0 + 15, step: "courier-answer", id: ID, phone: PHONE, via: "ch", ok: true, status: 200 },
    ],
    [{ at: t0 + 900, step: "receipt", id: ID, smscIds: ["A2"], via: "b1", ok: true, status: "DELIVRD" }],
    [{ at: t0 + 901, step: "status", id: ID, smscIds: ["A1"], via: "ch", ok: true, status: "delivered" }],
    [
      { at: t0 + 950, step: "receipt", id: ID, smscIds: ["A1"], via: "b1", ok: true, status: "DELIVRD" },
      { at: t0 + 960, step: "receipt", id: ID, smscIds: ["A3"], via: "b1", ok: true, status: "DELIVRD" },
    ],
    [{ at: t0 + 990, step: "courier-call", id: ID, via: "ch", ok: true, status: 200, detail: "delivered" }],
  ];
}

function steps(events: TraceEvent[]): string[] {
  return events.map((e) => `${e.step}${e.part ? ` ${e.part}/${e.parts}` : ""}`);
}

const EXPECTED_STEPS = ["courier-request", "submit 1/3", "submit 2/3", "submit 3/3", "courier-answer", "receipt", "status", "receipt", "receipt", "courier-call"];

function storedLogSemantics(name: string, backend: Backend): void {
  describe(`${name} trace log`, { skip: backend.skip }, () => {
    after(() => backend.cleanup());

    test("a split, long, receipted message: every step in order, by id, by any part's SMSC id, by number", async () => {
      let now = 1_000_000;
      const log = await backend.open({ now: () => now });
      try {
        await log.append([{ at: now - 5, step: "courier-request", id: "other", phone: "+15550001111" }]);
        const turns = splitLongReceiptedMessage(now);
        for (const batch of turns) await log.append(batch);
        await log.append([{ at: now + 2_000, step: "receipt", id: "other", smscIds: ["B1"] }]);
        now += 5_000;
        const all = turns.flat();
        assert.deepEqual(await log.find({ id: ID }), all);
        assert.deepEqual(steps(await log.find({ id: ID })), EXPECTED_STEPS);
        assert.deepEqual(await log.find({ smscId: "A3" }), all);
        assert.deepEqual(await log.find({ phone: "+44 7911 123456" }), all, "digits only are compared");
        assert.deepEqual(await log.find({ smscId: "nope" }), []);
        assert.deepEqual(steps(await log.find({ smscId: "B1" })), ["courier-request", "receipt"]);
      } finally {
        await log.close();
      }
    });

    test("kept over a restart: closed and opened again, the message is all there, and new events join it", async () => {
      let now = 5_000_000;
      const log = await backend.open({ now: () => now });
      const turns = splitLongReceiptedMessage(now);
      for (const batch of turns.slice(0, 3)) await log.append(batch);
      await log.reopen();
      try {
        assert.deepEqual(steps(await log.find({ id: ID })), EXPECTED_STEPS.slice(0, 5));
        // The receipts come after the restart.
        for (const batch of turns.slice(3)) await log.append(batch);
        now += 2_000;
        assert.deepEqual(await log.find({ id: ID }), turns.flat());
        await log.reopen();
        assert.deepEqual(await log.find({ smscId: "A2" }), turns.flat());
      } finally {
        await log.close();
      }
    });

    test("an unmatched receipt and an MO are found by their SMSC id and number alone", async () => {
      const now = 9_000_000;
      const log = await backend.open({ now: () => now });
      try {
        await log.append([
          { at: now, step: "receipt", smscIds: ["Z9"], ok: true, status: "DELIVRD", detail: "unmatched" },
          { at: now, step: "mo-handed-over", phone: "250788000001", via: "b1", parts: 1, ok: true },
        ]);
        assert.deepEqual(steps(await log.find({ smscId: "Z9" })), ["receipt"]);
        assert.deepEqual(steps(await log.find({ phone: "+250 788 000 001" })), ["mo-handed-over"]);
      } finally {
        await log.close();
      }
    });

    test("bounded by count: the oldest go first", async () => {
      let now = 20_000_000;
      const log = await backend.open({ now: () => now, maxCount: 5 });
      try {
        for (let i = 0; i < 12; i++) {
          await log.append([{ at: now, step: "courier-request", id: `m${i}`, phone: `+1555000${String(i).padStart(4, "0")}`, smscIds: [`s${i}`] }]);
          now += 10;
        }
        await log.prune();
        assert.equal(await log.held(), 5);
        for (let i = 0; i < 7; i++) assert.deepEqual(await log.find({ id: `m${i}` }), [], `m${i} went`);
        for (let i = 7; i < 12; i++) assert.equal((await log.find({ id: `m${i}` })).length, 1, `m${i} stays`);
        assert.deepEqual(await log.find({ smscId: "s3" }), []);
        assert.equal((await log.find({ smscId: "s11" })).length, 1);
      } finally {
        await log.close();
      }
    });

    test("bounded by age: past 72 h an event is not shown, and pruning lets it go", async () => {
      let now = 30_000_000;
      const log = await backend.open({ now: () => now });
      try {
        await log.append([{ at: now, step: "courier-request", id: "old" }]);
        now += 71 * HOUR;
        await log.append([{ at: now, step: "courier-request", id: "new" }]);
        now += HOUR + 1;
        assert.deepEqual(await log.find({ id: "old" }), []);
        assert.equal((await log.find({ id: "new" })).length, 1);
        await log.append([{ at: now, step: "courier-request", id: "newer" }]);
        await log.prune();
        assert.equal(await log.held(), 2, "the old message is gone, the two recent ones stay");
      } finally {
        await log.close();
      }
    });

    test("a hostile, very long id is kept bounded and still finds its events", async () => {
      const now = 40_000_000;
      const log = await backend.open({ now: () => now });
      try {
        const id = "x".repeat(1000);
        await log.append([{ at: now, step: "courier-request", id, detail: "d".repeat(10_000) }]);
        const found = await log.find({ id });
        assert.equal(found.length, 1);
        assert.ok(found[0].id!.length <= 201 && found[0].detail!.length <= 501, "fields are cut");
      } finally {
        await log.close();
      }
    });
  });
}

// --- the embedded log -------------------------------------------------------------------------

const tempDirs: string[] = [];

storedLogSemantics("embedded", {
  async open({ now, maxCount }) {
    const storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "rp-trace-"));
    tempDirs.push(storeDir);
    const open = () => EmbeddedTraceLog.open({ storeDir, now, maxEvents: maxCount });
    let log = await open();
    return {
      append: (batch) => log.append(batch),
      find: (query) => log.find(query),
      reopen: async () => {
        await log.close();
        log = await open();
      },
      prune: async () => void (await log.prune()),
      held: async () => log.size,
      close: () => log.close(),
    };
  },
  async cleanup() {
    for (const dir of tempDirs.splice(0)) fs.rmSync(dir, { recursive: true, force: true });
  },
});

describe("embedded trace log, alone", () => {
  let storeDir: string;
  before(() => {
    storeDir = fs.mkdtempSync(path.join(os.tmpdir(), "rp-trace-alone-"));
  });
  after(() => fs.rmSync(storeDir, { recursive: true, force: true }));

  test("its own environment in trace/ beside the store's files; one write is one LMDB entry, kept without fsync", async () => {
    const log = await EmbeddedTraceLog.open({ storeDir });
    await log.append(splitLongReceiptedMessage(Date.now()).flat());
    await log.close();
    assert.ok(fs.existsSync(path.join(storeDir, TRACE_DIRNAME, "data.mdb")));
    const raw = openLmdb({ path: path.join(storeDir, TRACE_DIRNAME), encoding: "binary", readOnly: true });
    try {
      assert.equal(Array.from(raw.getKeys({})).length, 1, "ten events, one entry");
    } finally {
      await raw.close();
    }
  });

  test("bounded by bytes too: a log over maxBytes drops its oldest batches", async () => {
    const dir = fs.mkdtempSync(path.join(storeDir, "bytes-"));
    const log = await EmbeddedTraceLog.open({ storeDir: dir, maxBytes: 4_000 });
    try {
      for (let i = 0; i < 20; i++) await log.append([{ at: Date.now(), step: "status", id: `b${i}`, detail: "y".repeat(400) }]);
      await log.prune();
      assert.ok(log.size < 20 && log.size >= 5, `kept ${log.size}`);
      assert.deepEqual(await log.find({ id: "b0" }), []);
      assert.equal((await log.find({ id: "b19" })).length, 1);
    } finally {
      await log.close();
    }
  });

  test("pruning far over the bound goes in steps of 500 batches and reaches it", async () => {
    const dir = fs.mkdtempSync(path.join(storeDir, "steps-"));
    const log = await EmbeddedTraceLog.open({ storeDir: dir, maxEvents: 100 });
    try {
      // Written as one turn each, without waiting: lmdb commits them together.
      await Promise.all(Array.from({ length: 1_200 }, (_, i) => log.append([{ at: Date.now(), step: "courier-request", id: `p${i}` }])));
      await log.prune();
      assert.equal(log.size, 100);
      assert.deepEqual(await log.find({ id: "p1099" }), []);
      assert.equal((await log.find({ id: "p1100" })).length, 1);
    } finally {
      await log.close();
    }
  });

  test("left open when the machine stopped (another boot id, no clean close): made again empty, with a reason; a process crash keeps it", async () => {
    const dir = fs.mkdtempSync(path.join(storeDir, "torn-"));
    const marker = path.join(dir, TRACE_DIRNAME, "opened.json");
    const cases: Array<[string, { bootId: string; closed: boolean } | undefined, string, number]> = [
      ["closed cleanly, opened in a later boot", { bootId: "boot-1", closed: true }, "boot-2", 1],
      ["left open by a process that died, same boot", { bootId: "boot-2", closed: false }, "boot-2", 1],
      ["left open, and the machine restarted since", { bootId: "boot-2", closed: false }, "boot-3", 0],
      ["files without a note", undefined, "boot-3", 0],
    ];
    for (const [name, left, bootId, kept] of cases) {
      const seed = await EmbeddedTraceLog.open({ storeDir: dir, bootId: left?.bootId ?? bootId });
      await seed.append([{ at: Date.now(), step: "courier-request", id: name }]);
      await seed.close();
      assert.deepEqual(JSON.parse(fs.readFileSync(marker, "utf8")), { bootId: left?.bootId ?? bootId, closed: true });
      if (left) fs.writeFileSync(marker, JSON.stringify(left));
      else fs.rmSync(marker);
      const reasons: string[] = [];
      const log = await EmbeddedTraceLog.open({ storeDir: dir, bootId, onBackgroundError: (err) => reasons.push(err.message) });
      try {
        assert.equal((await log.find({ id: name })).length, kept, name);
        assert.equal(reasons.length, 1 - kept, name);
        if (!kept) assert.match(reasons[0], left ? /machine stopped while it was open.*starts again empty/ : /no note of being closed.*starts again empty/);
      } finally {
        await log.close();
      }
    }
  });
});

// --- the Redis log ----------------------------------------------------------------------------

const skip = redisSkipReason || undefined;
if (skip) console.log(`# Redis trace log tests skipped: ${skip}`);
let redis: RedisServer | undefined;
let prefixes = 0;

storedLogSemantics("redis", {
  skip,
  async open({ now, maxCount }) {
    redis ??= await startRedis();
    const url = redis.url;
    const prefix = `t${++prefixes}:`;
    const open = () => new RedisTraceLog({ url, prefix, now, maxMessages: maxCount });
    let log = open();
    const raw = new Redis(url);
    return {
      append: (batch) => log.append(batch),
      find: (query) => log.find(query),
      reopen: async () => {
        await log.close();
        log = open();
      },
      // Each write's script applies the bounds: nothing more to do.
      prune: async () => undefined,
      held: () => raw.zcard(`${prefix}trace:messages`),
      close: async () => {
        raw.disconnect();
        await log.close();
      },
    };
  },
  async cleanup() {
    await redis?.stop();
    redis = undefined;
  },
});

describe("redis trace log, alone", { skip }, () => {
  let server: RedisServer;
  before(async () => {
    server = await startRedis();
  });
  after(() => server.stop());

  test("two instances on one Redis: each sees the other's events of one message, in order", async () => {
    const a = new RedisTraceLog({ url: server.url, prefix: "two:" });
    const b = new RedisTraceLog({ url: server.url, prefix: "two:" });
    try {
      const turns = splitLongReceiptedMessage(Date.now());
      // Instance a took courier's request and submitted; b got the receipts.
      for (const batch of turns.slice(0, 3)) await a.append(batch);
      for (const batch of turns.slice(3)) await b.append(batch);
      assert.deepEqual(steps(await a.find({ id: ID })), EXPECTED_STEPS);
      assert.deepEqual(await b.find({ smscId: "A1" }), turns.flat());
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  test("a write removes at most 100 messages over the bound: pruning comes in steps as small as the writes", async () => {
    const raw = new Redis(server.url);
    const big = new RedisTraceLog({ url: server.url, prefix: "steps:", maxMessages: 1_000 });
    const small = new RedisTraceLog({ url: server.url, prefix: "steps:", maxMessages: 10 });
    try {
      const at = Date.now();
      await big.append(Array.from({ length: 600 }, (_, i) => ({ at: at + i, step: "courier-request" as const, id: `q${i}` })));
      assert.equal(await raw.zcard("steps:trace:messages"), 600);
      // Lowered to 10: each write takes the 100 oldest, no more.
      assert.equal(await small.append([{ at: at + 600, step: "courier-request", id: "q600" }]), 100);
      assert.equal(await raw.zcard("steps:trace:messages"), 501);
      assert.equal(await raw.exists("steps:trace:m:q99"), 0);
      assert.equal(await raw.exists("steps:trace:m:q100"), 1);
      for (let i = 0; i < 5; i++) await small.append([{ at: at + 601 + i, step: "courier-request", id: `r${i}` }]);
      assert.equal(await raw.zcard("steps:trace:messages"), 10);
    } finally {
      raw.disconnect();
      await Promise.all([big.close(), small.close()]);
    }
  });

  test("every key it writes expires, and a damaged value is passed over", async () => {
    const log = new RedisTraceLog({ url: server.url, prefix: "ttl:", maxAgeMs: 10 * HOUR });
    const raw = new Redis(server.url);
    try {
      await log.append(splitLongReceiptedMessage(Date.now()).flat());
      const keys = await raw.keys("ttl:trace:*");
      assert.ok(keys.length >= 5, keys.join(", "));
      for (const key of keys) {
        const ttl = await raw.pttl(key);
        if (key === "ttl:trace:messages") assert.equal(ttl, -1, "the message index is bounded by pruning, not expiry");
        else assert.ok(ttl > 9 * HOUR && ttl <= 10 * HOUR, `${key}: ${ttl}`);
      }
      await raw.rpush(`ttl:trace:m:${ID}`, "{not json", JSON.stringify({ foreign: true }));
      assert.deepEqual(steps(await log.find({ id: ID })), EXPECTED_STEPS);
    } finally {
      raw.disconnect();
      await log.close();
    }
  });

  test("Redis down: a write and a query fail with a reason, without the password", async () => {
    const guarded = await startRedis({ password: "trace-s3cret" });
    const log = new RedisTraceLog({ url: guarded.url, prefix: "down:", onBackgroundError: () => undefined });
    try {
      await log.append([{ at: Date.now(), step: "courier-request", id: "before" }]);
      await guarded.pause();
      await assert.rejects(log.append([{ at: Date.now(), step: "courier-request", id: "during" }]), (err: Error) => /trace log \(.*\): write failed/.test(err.message) && !err.message.includes("trace-s3cret"));
      await assert.rejects(log.find({ id: "before" }), /query failed/);
    } finally {
      await log.close();
      await guarded.stop();
    }
  });
});
