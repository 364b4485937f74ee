import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { HeldParts, holdsParts, type PartHandle, type StoredPart } from "../../../lib/sms/held-parts";
import type { Fragment, PartialMessage } from "../../../lib/sms/reassembly";
import type { DurableQueue } from "../../../lib/store/queue";
import { EmbeddedQueue } from "../../../lib/store/queue-embedded";
import { MemoryQueue } from "../../../lib/store/queue-memory";

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempDir = () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "held-parts-"));
  dirs.push(dir);
  return dir;
};

const TEXTS = ["Long messages ", "come in parts, ", "and all must arrive."];

/** Part `seq` of a 3-part MO, as readDeliverSm gives it to the reassembler. */
function part(seq: number, handle: PartHandle = {}): Fragment<PartHandle> {
  return {
    from: "+250788123123",
    to: "2020",
    concat: { reference: 42, referenceBits: 8, total: 3, seq },
    octets: Buffer.from(TEXTS[seq - 1], "latin1"),
    alphabet: "gsm7",
    context: handle,
  };
}

function heldOn(queue: DurableQueue<StoredPart>, options: { now?: () => number; timeoutMs?: number } = {}) {
  const flushed: PartialMessage<PartHandle>[] = [];
  const held = new HeldParts(queue, { ...options, onFlush: (p) => flushed.push(p) });
  return { held, flushed };
}

/** Adds a part and, when it waits for siblings, keeps it, as smpp-in does before answering ESME_ROK. */
async function receive(held: HeldParts, seq: number) {
  const handle: PartHandle = {};
  const added = held.reassembler.add(part(seq, handle));
  if (added.status === "pending") await held.keep(handle);
  return added;
}

describe("holdsParts: whether a hand-over has kept parts to let go or put back", () => {
  const kept = Promise.resolve("part:1");
  const cases: Array<{ name: string; handles: PartHandle[]; want: boolean }> = [
    { name: "a whole SMS, never kept", handles: [{}], want: false },
    { name: "no handle at all", handles: [], want: false },
    { name: "a part kept in the queue", handles: [{ kept }], want: true },
    { name: "a part of a shared group", handles: [{ group: "g1" }], want: true },
    { name: "the completing part (not kept) and the kept ones", handles: [{ kept }, { kept }, {}], want: true },
  ];
  for (const c of cases) test(c.name, () => assert.equal(holdsParts(c.handles), c.want));
});

describe("parts of long MOs kept across a restart", () => {
  test("parts kept before a restart complete the message after it, and are let go once it is handed over", async () => {
    const dir = tempDir();
    const before = await EmbeddedQueue.open<StoredPart>({ dir, name: "parts" });
    const first = heldOn(before);
    assert.equal((await receive(first.held, 1)).status, "pending");
    assert.equal((await receive(first.held, 2)).status, "pending");
    await before.close(); // kill -9 after both were acknowledged

    const queue = await EmbeddedQueue.open<StoredPart>({ dir, name: "parts" });
    const { held } = heldOn(queue);
    assert.deepEqual(await held.restore(), { parts: 2, complete: [], dropped: [] });
    const done = await receive(held, 3);
    assert.equal(done.status, "complete");
    if (done.status !== "complete") return;
    assert.equal(done.message.text, TEXTS.join(""));
    assert.equal(await queue.size(), 2, "kept until the message is handed over");
    await held.release(done.message.contexts);
    assert.equal(await queue.size(), 0);
    await queue.close();
  });

  test("a hand-over that failed puts the kept parts back; the SMSC's redelivery of the last part completes it again", async () => {
    const queue = new MemoryQueue<StoredPart>();
    const { held } = heldOn(queue);
    await receive(held, 1);
    await receive(held, 2);
    const done = await receive(held, 3);
    assert.equal(done.status, "complete");
    if (done.status !== "complete") return;
    held.putBack(done.message.contexts); // RapidPro down: part 3 answered ESME_RX_T_APPN
    const again = await receive(held, 3);
    assert.equal(again.status, "complete");
    if (again.status === "complete") assert.equal(again.message.text, TEXTS.join(""));
    assert.equal(await queue.size(), 2, "nothing kept twice");
  });

  test("a part that cannot be kept is taken back, so its redelivery is not taken for a duplicate", async () => {
    const inner = new MemoryQueue<StoredPart>();
    let failing = true;
    const queue: DurableQueue<StoredPart> = {
      push: (key, value) => (failing ? Promise.reject(new Error("disk full")) : inner.push(key, value)),
      pushOnce: (key, value, onceId) => inner.pushOnce(key, value, onceId),
      peek: (limit, skip) => inner.peek(limit, skip),
      ack: (id) => inner.ack(id),
      size: () => inner.size(),
      close: () => inner.close(),
    };
    const { held } = heldOn(queue);
    await assert.rejects(receive(held, 1), /disk full/);
    failing = false;
    assert.equal((await receive(held, 1)).status, "pending", "the redelivered part is held anew");
    assert.equal(await inner.size(), 1);
  });

  test("a restored part keeps its arrival time: a group that waited too long before the restart is given up at once", async () => {
    const dir = tempDir();
    let now = 1_000_000;
    const before = await EmbeddedQueue.open<StoredPart>({ dir, name: "parts" });
    await receive(heldOn(before, { now: () => now }).held, 1);
    await before.close();
    now += 60_000;
    const queue = await EmbeddedQueue.open<StoredPart>({ dir, name: "parts" });
    const { held, flushed } = heldOn(queue, { now: () => now, timeoutMs: 30_000 });
    await held.restore();
    assert.equal(held.reassembler.sweep(), 1);
    assert.deepEqual(flushed.map((p) => [p.text, p.missing, p.firstAt]), [[TEXTS[0], [2, 3], 1_000_000]]);
    await held.release(flushed[0].contexts);
    assert.equal(await queue.size(), 0);
    await queue.close();
  });

  test("restore lets go, with reasons, of a damaged part and of a part kept twice", async () => {
    const queue = new MemoryQueue<StoredPart>();
    const stored = (seq: number): StoredPart => ({ from: "+250788123123", to: "2020", concat: part(seq).concat, octets: Buffer.from("x").toString("base64"), alphabet: "gsm7", receivedAt: Date.now() });
    await queue.push("a", stored(1));
    await queue.push("b", stored(1));
    await queue.push("c", { broken: true } as unknown as StoredPart);
    const { held } = heldOn(queue);
    const restored = await held.restore();
    assert.equal(restored.parts, 3);
    assert.equal(restored.dropped.length, 2);
    assert.match(restored.dropped.join("; "), /kept twice/);
    assert.match(restored.dropped.join("; "), /damaged/);
    assert.equal(await queue.size(), 1);
  });
});
