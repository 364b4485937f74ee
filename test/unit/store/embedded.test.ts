import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { fork, spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { open } from "lmdb";
import { EmbeddedStore, lmdbMapSize, type MapSizeSystem } from "../../../lib/store/embedded";
import { EmbeddedQueue } from "../../../lib/store/queue-embedded";
import { storeSemantics } from "./semantics";
import { WRITER_MARKER, writerIds, type WriterMode } from "./fixtures/durable-writer";

const tempDirs: string[] = [];
function tempDir(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "rapidpro-sms-embedded-"));
  tempDirs.push(dir);
  return dir;
}
after(() => {
  for (const dir of tempDirs) rmSync(dir, { recursive: true, force: true });
});

storeSemantics("embedded", { open: (ttlMs) => EmbeddedStore.open({ dir: tempDir(), ttlMs }) });

describe("embedded store on disk", () => {
  test("entries and part states survive closing and reopening", async () => {
    const dir = tempDir();
    const first = await EmbeddedStore.open({ dir });
    await first.put("rp-1", ["a", "b"]);
    await first.markPart("a", "delivered");
    await first.close();

    const second = await EmbeddedStore.open({ dir });
    const found = await second.findByPart("b");
    assert.deepEqual(found?.submissions[0].states, ["delivered", "pending"]);
    assert.equal(found?.reported, "sent");
    assert.deepEqual((await second.markPart("b", "delivered"))?.report, { status: "delivered", smscId: "a" });
    await second.close();
  });

  test("the sweep removes expired entries (ttl after their first submission) and their part index, but not a reused part id", async () => {
    let now = 1_000_000;
    const store = await EmbeddedStore.open({ dir: tempDir(), ttlMs: 10_000, now: () => now });
    await store.put("old", ["p1", "shared"]);
    await store.put("resent", ["r1"], "t");
    now += 5_000;
    await store.put("young", ["p2"]);
    await store.put("resent", ["r2"], "t"); // RapidPro sent it again: the same entry grew
    now += 6_000; // "old" and "resent" are 11 s old, "young" 6 s
    await store.put("newer", ["shared"]); // a new submission took over the part id
    assert.equal(await store.sweep(), 2);
    assert.equal(await store.findByPart("p1"), undefined);
    assert.equal(await store.findByPart("r1"), undefined);
    assert.equal(await store.findByPart("r2"), undefined);
    assert.equal((await store.findByPart("p2"))?.rapidproId, "young");
    assert.equal((await store.findByPart("shared"))?.rapidproId, "newer");
    now += 100_000;
    assert.equal(await store.sweep(), 2);
    assert.equal(await store.findByMessage("resent"), undefined);
    assert.equal(await store.findByPart("shared"), undefined);
    await store.close();
  });

  test("a damaged record gives a clear error and leaves the others readable", async () => {
    const dir = tempDir();
    const store = await EmbeddedStore.open({ dir });
    await store.put("good", ["g1"]);
    await store.put("bad", ["b1"]);
    await store.put("dangling", ["d1"]);
    await store.close();

    // Damage the stored bytes behind the store's back.
    const raw = open({ path: dir, maxDbs: 8 });
    const parts = raw.openDB<Buffer, string>({ name: "parts", encoding: "binary" });
    const records = raw.openDB<Buffer, [number, string]>({ name: "records", encoding: "binary" });
    const badKey = JSON.parse(parts.get("b1")!.toString()) as [number, string];
    await records.put(badKey, Buffer.from("{\"rapidproId\": 42"));
    await parts.put("d1", Buffer.from("\"not a record key\""));
    await raw.close();

    const reopened = await EmbeddedStore.open({ dir });
    await assert.rejects(reopened.findByPart("b1"), /corrupt correlation record \(part "b1"\)/);
    await assert.rejects(reopened.markPart("b1", "delivered"), /markPart for part "b1" failed: corrupt correlation record/);
    await assert.rejects(reopened.findByPart("d1"), /corrupt correlation record \(part "d1"\): the part index entry is not a record key/);
    assert.equal((await reopened.findByPart("g1"))?.rapidproId, "good");
    assert.deepEqual((await reopened.markPart("g1", "delivered"))?.report, { status: "delivered", smscId: "g1" });
    await reopened.close();
  });

  test("entries written by 0.1.0 (one record per submission, no text digest) read, take receipts and grow", async () => {
    const dir = tempDir();
    await (await EmbeddedStore.open({ dir })).close();
    // 0.1.0's layout, as its EmbeddedStore.put wrote it: records, parts and messages indexes.
    const raw = open({ path: dir, maxDbs: 8, encoding: "json" });
    const records = raw.openDB<unknown, [number, string]>({ name: "records", encoding: "json" });
    const parts = raw.openDB<unknown, string>({ name: "parts", encoding: "json" });
    const messages = raw.openDB<unknown, string>({ name: "messages", encoding: "json" });
    const at = Date.now();
    const key: [number, string] = [at, "0b1c2d3e-legacy"];
    await records.put(key, { rapidproId: "rp-old", parts: ["o1", "o2"], states: ["delivered", "pending"], reported: "sent", createdAt: at });
    await parts.put("o1", key);
    await parts.put("o2", key);
    await messages.put("rp-old", key);
    await raw.close();

    const store = await EmbeddedStore.open({ dir });
    const found = await store.findByPart("o2");
    assert.deepEqual(found, { rapidproId: "rp-old", submissions: [{ parts: ["o1", "o2"], states: ["delivered", "pending"], at }], reported: "sent", createdAt: at });
    assert.deepEqual(await store.markPart("o2", "delivered"), { rapidproId: "rp-old", report: { status: "delivered", smscId: "o1" } });
    // A later part of the same id joins the old entry; the old submission (no digest) matches no resend.
    await store.put("rp-old", ["n1"], "digest");
    const grown = await store.findByMessage("rp-old");
    assert.deepEqual(grown?.submissions.map((x) => [x.text, x.parts]), [[undefined, ["o1", "o2"]], ["digest", ["n1"]]]);
    assert.equal((await store.findByPart("o1"))?.submissions.length, 2);
    await store.close();
  });

  test("records of the wrong shape are refused with the reason", async () => {
    const dir = tempDir();
    const store = await EmbeddedStore.open({ dir });
    await store.put("rp", ["x"]);
    await store.close();
    const raw = open({ path: dir, maxDbs: 8, encoding: "json" });
    const parts = raw.openDB({ name: "parts", encoding: "json" });
    const records = raw.openDB({ name: "records", encoding: "json" });
    const key = parts.get("x") as [number, string];
    await records.put(key, { rapidproId: "rp", parts: ["x"], states: ["lost"], createdAt: Date.now() });
    await raw.close();

    const reopened = await EmbeddedStore.open({ dir });
    await assert.rejects(reopened.findByPart("x"), /states holds an unknown state/);
    await reopened.close();
  });

  test("a put with an id over lmdb's 1,978-byte key limit rejects with a reason and leaves no half record", async () => {
    const store = await EmbeddedStore.open({ dir: tempDir() });
    const hostile = "p".repeat(3000); // a part id from a hostile SMSC
    await assert.rejects(store.put("rp-long", ["ok-part", hostile]), /put: an id is longer than 1024 bytes/);
    assert.equal(await store.findByMessage("rp-long"), undefined);
    assert.equal(await store.findByPart("ok-part"), undefined);
    await store.put("rp-next", ["next-part"]);
    assert.equal((await store.findByPart("next-part"))?.rapidproId, "rp-next");
    await store.close();
  });

  test("the database file is mapped into memory once however much it grows, so RSS counts its pages once", { skip: process.platform !== "linux" ? "reads /proc/self/smaps, Linux only" : false }, async () => {
    const dir = tempDir();
    const store = await EmbeddedStore.open({ dir });
    // About 20 MB of records: lmdb's own default map (128 KB, then grown) would be mapped anew many times over.
    for (let batch = 0; batch < 20; batch++) {
      await Promise.all(Array.from({ length: 1_000 }, (_, i) => store.put(`rp-${batch}-${i}-${"x".repeat(400)}`, [`part-${batch}-${i}`])));
    }
    assert.equal((await store.findByPart("part-0-0"))?.rapidproId.slice(0, 7), "rp-0-0-");
    const dataFile = path.join(dir, "data.mdb");
    const maps = readFileSync("/proc/self/smaps", "utf8").split("\n").filter((line) => /^[0-9a-f]+-[0-9a-f]+ /.test(line) && line.endsWith(dataFile));
    await store.close();
    assert.equal(maps.length, 1, `data.mdb mapped ${maps.length} times`);
  });

  const limits = (soft: string, hard: string) =>
    `Limit                     Soft Limit           Hard Limit           Units     \nMax open files            1024                 524288               files     \nMax address space         ${soft.padEnd(20)} ${hard.padEnd(20)} bytes     \n`;
  const mapSizeCases: Array<{ name: string; system: MapSizeSystem; expected: number | undefined }> = [
    { name: "Linux, 64-bit, no address-space limit: 4 GiB reserved", system: { limits: limits("unlimited", "unlimited"), platform: "linux", arch: "x64" }, expected: 4 * 1024 ** 3 },
    { name: "arm64 likewise", system: { limits: limits("unlimited", "unlimited"), platform: "linux", arch: "arm64" }, expected: 4 * 1024 ** 3 },
    { name: "a soft limit (ulimit -S -v) under an unlimited hard one: lmdb's own map", system: { limits: limits("3072000000", "unlimited"), platform: "linux", arch: "x64" }, expected: undefined },
    { name: "a hard limit: lmdb's own map", system: { limits: limits("3072000000", "3072000000"), platform: "linux", arch: "x64" }, expected: undefined },
    { name: "32-bit: lmdb's own map", system: { limits: limits("unlimited", "unlimited"), platform: "linux", arch: "arm" }, expected: undefined },
    { name: "Windows (LMDB would make the file as large as the map): lmdb's own map", system: { limits: undefined, platform: "win32", arch: "x64" }, expected: undefined },
    { name: "no /proc/self/limits to read: lmdb's own map", system: { limits: undefined, platform: "linux", arch: "x64" }, expected: undefined },
  ];
  for (const c of mapSizeCases) {
    test(`map size: ${c.name}`, () => assert.equal(lmdbMapSize(c.system), c.expected));
  }

  test("under an address-space limit (ulimit -v 3 GB) the store opens and works instead of crashing the process", { skip: process.platform !== "linux" ? "uses bash's ulimit and /proc/self/limits, Linux only" : false }, () => {
    const dir = tempDir();
    const script = `
      const { EmbeddedStore } = require(${JSON.stringify(require.resolve("../../../lib/store/embedded"))});
      EmbeddedStore.open({ dir: ${JSON.stringify(dir)} })
        .then(async (store) => { await store.put("rp-1", ["p-1"]); console.log((await store.findByPart("p-1")).rapidproId); await store.close(); });`;
    const run = spawnSync("bash", ["-c", `ulimit -S -v 3000000 && exec "$0" -e "$1"`, process.execPath, script], { encoding: "utf8", timeout: 30_000 });
    assert.equal(run.signal, null, `killed by ${run.signal}: ${run.stderr}`);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout.trim(), "rp-1");
  });

  test("a directory that cannot be used gives a clear error", async () => {
    const file = path.join(tempDir(), "a-file");
    writeFileSync(file, "not a directory");
    await assert.rejects(EmbeddedStore.open({ dir: file }), /embedded store: cannot open the database in .*a-file/);
  });

  test("a bad TTL is refused", async () => {
    await assert.rejects(EmbeddedStore.open({ dir: tempDir(), ttlMs: 0 }), /ttlMs must be a positive number/);
  });
});

/**
 * Runs the writer in `mode` until it acknowledged at least `atLeast` writes, kills it with
 * SIGKILL, and returns the highest k it acknowledged.
 */
async function writeUntilKilled(mode: WriterMode, dir: string, atLeast: number): Promise<number> {
  const writer = path.join(__dirname, "fixtures", "durable-writer.js");
  const child = fork(writer, [WRITER_MARKER, mode, dir, "1000000"], { stdio: ["ignore", "pipe", "pipe", "ipc"] });
  let acked = -1;
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<NodeJS.Signals | number | null>((resolve) => child.on("exit", (code, signal) => resolve(signal ?? code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`writer (${mode}) acked only ${acked + 1} writes in 60 s; stderr: ${stderr}`));
    }, 60_000);
    let buffered = "";
    child.stdout?.on("data", (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        const match = /^acked (\d+)$/.exec(line);
        if (match) acked = Math.max(acked, Number(match[1]));
      }
      if (acked + 1 >= atLeast && child.exitCode === null) {
        clearTimeout(timer);
        // Killed while it is in the middle of more writes.
        child.kill("SIGKILL");
        resolve();
      }
    });
    child.on("exit", () => {
      clearTimeout(timer);
      if (acked + 1 < atLeast) reject(new Error(`writer (${mode}) exited after ${acked + 1} acks; stderr: ${stderr}`));
    });
  });
  assert.equal(await exited, "SIGKILL");
  return acked;
}

describe("durability under kill -9", () => {
  test("every put acknowledged before SIGKILL is there after reopening", async () => {
    const dir = tempDir();
    const acked = await writeUntilKilled("put", dir, 60);
    const store = await EmbeddedStore.open({ dir });
    try {
      for (let k = 0; k <= acked; k++) {
        const { rapidproId, parts } = writerIds(k);
        assert.equal((await store.findByPart(parts[1]))?.rapidproId, rapidproId, `put ${k} was acknowledged but is missing`);
      }
    } finally {
      await store.close();
    }
  });

  test("every markPart acknowledged before SIGKILL is there after reopening", async () => {
    const dir = tempDir();
    const acked = await writeUntilKilled("mark", dir, 60);
    const store = await EmbeddedStore.open({ dir });
    try {
      for (let k = 0; k <= acked; k++) {
        const found = await store.findByPart(writerIds(k).parts[0]);
        assert.deepEqual(found?.submissions[0].states, ["delivered", "pending"], `markPart ${k} was acknowledged but is missing`);
        assert.equal(found?.reported, "sent");
      }
    } finally {
      await store.close();
    }
  });

  test("every queue item acknowledged before SIGKILL is there after reopening, in order", async () => {
    const dir = tempDir();
    const acked = await writeUntilKilled("push", dir, 60);
    const queue = await EmbeddedQueue.open<{ k: number }>({ dir, name: "mo" });
    try {
      const items: number[] = [];
      for (let round = 0; round < 1_000_000; round++) {
        const [head] = await queue.peek(1);
        if (!head) break;
        items.push(head.value.k);
        await queue.ack(head.id);
      }
      assert.ok(items.length >= acked + 1, `queue holds ${items.length} items, ${acked + 1} were acknowledged`);
      assert.deepEqual(items.slice(0, acked + 1), Array.from({ length: acked + 1 }, (_, k) => k), "acknowledged items missing or out of order");
    } finally {
      await queue.close();
    }
  });
});
