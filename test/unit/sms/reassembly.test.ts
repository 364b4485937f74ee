import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { Reassembler, type Fragment, type PartialMessage } from "../../../lib/sms/reassembly";
import type { Alphabet } from "../../../lib/sms/alphabet";

function fragment(seq: number, total: number, text: string, extra: Partial<Fragment<string>> = {}): Fragment<string> {
  const alphabet: Alphabet = extra.alphabet ?? "gsm7";
  const octets = alphabet === "ucs2" ? Buffer.from(text, "utf16le").swap16() : Buffer.from(text, "latin1");
  return {
    from: "250788000001",
    to: "1234",
    concat: { reference: 7, referenceBits: 8, total, seq },
    octets,
    alphabet,
    context: `pdu-${seq}`,
    ...extra,
  };
}

function setup(options: { timeoutMs?: number; maxGroups?: number } = {}) {
  let now = 1_000;
  const flushed: PartialMessage<string>[] = [];
  const reassembler = new Reassembler<string>({ ...options, now: () => now, onFlush: (p) => flushed.push(p) });
  return { reassembler, flushed, advance: (ms: number) => (now += ms) };
}

describe("reassembling concatenated parts", () => {
  const orders = [
    { name: "parts in order", order: [1, 2, 3] },
    { name: "parts out of order", order: [3, 1, 2] },
  ];
  for (const c of orders) {
    test(c.name, () => {
      const { reassembler } = setup();
      const texts = ["Hello ", "there, ", "friend"];
      const results = c.order.map((seq) => reassembler.add(fragment(seq, 3, texts[seq - 1])));
      assert.deepEqual(results.slice(0, 2).map((r) => r.status), ["pending", "pending"]);
      const last = results[2];
      assert.equal(last.status, "complete");
      if (last.status !== "complete") return;
      assert.equal(last.message.text, "Hello there, friend");
      assert.deepEqual(last.message.contexts, ["pdu-1", "pdu-2", "pdu-3"], "contexts come back in part order");
      assert.equal(reassembler.size, 0, "a finished group is released");
    });
  }

  test("a surrogate pair a sender cut across two parts is mended by joining octets first", () => {
    const { reassembler } = setup();
    const whole = Buffer.from("😀", "utf16le").swap16();
    reassembler.add({ ...fragment(1, 2, "", { alphabet: "ucs2" }), octets: whole.subarray(0, 2) });
    const done = reassembler.add({ ...fragment(2, 2, "", { alphabet: "ucs2" }), octets: whole.subarray(2) });
    assert.equal(done.status === "complete" && done.message.text, "😀");
  });

  test("parts with different references, senders or totals are kept apart", () => {
    const { reassembler } = setup();
    reassembler.add(fragment(1, 2, "a"));
    reassembler.add(fragment(1, 2, "b", { concat: { reference: 8, referenceBits: 8, total: 2, seq: 1 } }));
    reassembler.add(fragment(1, 2, "c", { from: "other" }));
    reassembler.add(fragment(1, 3, "d"));
    reassembler.add(fragment(1, 2, "e", { concat: { reference: 7, referenceBits: 16, total: 2, seq: 1 } }));
    assert.equal(reassembler.size, 5);
  });

  test("the same part again (a redelivery) is a duplicate and is not stored twice", () => {
    const { reassembler } = setup();
    reassembler.add(fragment(1, 2, "a"));
    assert.equal(reassembler.add(fragment(1, 2, "a")).status, "duplicate");
    const done = reassembler.add(fragment(2, 2, "b"));
    assert.equal(done.status === "complete" && done.message.text, "ab");
  });

  const invalid = [
    { name: "part number 0", seq: 0, total: 2 },
    { name: "part number above the total", seq: 3, total: 2 },
    { name: "total 0", seq: 1, total: 0 },
  ];
  for (const c of invalid) {
    test(`malformed numbering is refused with a reason: ${c.name}`, () => {
      const { reassembler } = setup();
      const result = reassembler.add(fragment(c.seq, c.total, "x"));
      assert.equal(result.status, "invalid");
      assert.equal(reassembler.size, 0);
    });
  }
});

describe("bounded memory: timeouts and eviction flush partial messages, never drop them silently", () => {
  test("reference §9.8: 'reassemble ... with a configurable timeout': a group older than the timeout is flushed", () => {
    const { reassembler, flushed, advance } = setup({ timeoutMs: 60_000 });
    reassembler.add(fragment(1, 3, "Hello "));
    reassembler.add(fragment(3, 3, "friend"));
    advance(59_999);
    assert.equal(reassembler.sweep(), 0, "not yet");
    advance(1);
    assert.equal(reassembler.sweep(), 1);
    assert.equal(flushed.length, 1);
    assert.deepEqual(
      { text: flushed[0].text, missing: flushed[0].missing, reason: flushed[0].reason, contexts: flushed[0].contexts },
      { text: "Hello friend", missing: [2], reason: "timeout", contexts: ["pdu-1", "pdu-3"] },
    );
    assert.equal(reassembler.size, 0);
  });

  test("adding a part also flushes groups that timed out", () => {
    const { reassembler, flushed, advance } = setup({ timeoutMs: 1000 });
    reassembler.add(fragment(1, 2, "old"));
    advance(1000);
    reassembler.add(fragment(1, 2, "new", { from: "someone else" }));
    assert.equal(flushed.length, 1);
    assert.equal(flushed[0].text, "old");
  });

  test("at maxGroups the oldest group is evicted to make room", () => {
    const { reassembler, flushed } = setup({ maxGroups: 2 });
    reassembler.add(fragment(1, 2, "first", { from: "a" }));
    reassembler.add(fragment(1, 2, "second", { from: "b" }));
    reassembler.add(fragment(1, 2, "third", { from: "c" }));
    assert.equal(reassembler.size, 2);
    assert.deepEqual(flushed.map((p) => [p.from, p.reason]), [["a", "evicted"]]);
  });

  test("flushAll hands back everything held, e.g. on close", () => {
    const { reassembler, flushed } = setup();
    reassembler.add(fragment(1, 2, "x", { from: "a" }));
    reassembler.add(fragment(2, 2, "y", { from: "b" }));
    assert.equal(reassembler.flushAll(), 2);
    assert.deepEqual(flushed.map((p) => [p.text, p.missing, p.reason]), [["x", [2], "flushed"], ["y", [1], "flushed"]]);
    assert.equal(reassembler.size, 0);
  });

  test("a group restored with an older arrival time is flushed even when it sits behind a newer group", () => {
    const { reassembler, flushed, advance } = setup({ timeoutMs: 1_000 });
    reassembler.add(fragment(1, 2, "new", { concat: { reference: 1, referenceBits: 8, total: 2, seq: 1 } }));
    reassembler.add(fragment(1, 2, "old", { concat: { reference: 2, referenceBits: 8, total: 2, seq: 1 }, receivedAt: -5_000 }));
    assert.equal(reassembler.sweep(), 1);
    assert.deepEqual(flushed.map((p) => p.text), ["old"]);
    advance(1_000);
    assert.equal(reassembler.sweep(), 1);
  });
});

describe("taking a part back", () => {
  test("remove takes back exactly the part held, and a group left empty is forgotten", () => {
    const { reassembler } = setup();
    const first = fragment(1, 2, "a");
    reassembler.add(first);
    assert.equal(reassembler.remove(fragment(1, 2, "a")), false, "an equal part that is not the one held");
    assert.equal(reassembler.remove(first), true);
    assert.equal(reassembler.size, 0);
    assert.equal(reassembler.add(fragment(1, 2, "a")).status, "pending", "the redelivery is not a duplicate");
  });
});
