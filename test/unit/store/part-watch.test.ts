/**
 * Watches on part ids (lib/store/part-watch.ts): a receipt that overtook its correlation write
 * (smpp-and-gateways.md §5, Jasmin: "A DLR that arrives before its id mapping is looked up
 * again") looks again as soon as the write has ended, not after a fixed wait.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { PartWatches } from "../../../lib/store/part-watch";
import { openStore } from "../../../lib/store/index";

/** Each case: what is watched, what happens, and what `ended(wait)` resolves with. */
const cases: Array<{ name: string; watch: string[]; act: (w: PartWatches, cancel: () => void) => void; when: "before" | "during"; wait: number; fired: boolean }> = [
  { name: "a put of a watched part ended before the wait began", watch: ["a"], act: (w) => w.putEnded(["a"]), when: "before", wait: 5_000, fired: true },
  { name: "a put of a watched part ends during the wait", watch: ["a"], act: (w) => w.putEnded(["a"]), when: "during", wait: 5_000, fired: true },
  { name: "a put naming one of several watched ids (auto id mode keys)", watch: ["0x1f", "31"], act: (w) => w.putEnded(["x", "31"]), when: "during", wait: 5_000, fired: true },
  { name: "a put of other parts does not end the wait", watch: ["a"], act: (w) => w.putEnded(["b"]), when: "during", wait: 50, fired: false },
  { name: "nothing happens: the wait times out", watch: ["a"], act: () => undefined, when: "during", wait: 30, fired: false },
  { name: "cancelled during the wait", watch: ["a"], act: (_w, cancel) => cancel(), when: "during", wait: 5_000, fired: false },
  { name: "cancelled before a put: the put no longer counts", watch: ["a"], act: (w, cancel) => (cancel(), w.putEnded(["a"])), when: "before", wait: 30, fired: false },
];

describe("PartWatches", () => {
  for (const c of cases) {
    test(c.name, async () => {
      const watches = new PartWatches();
      const watch = watches.watch(c.watch);
      const started = Date.now();
      let fired: boolean;
      if (c.when === "before") {
        c.act(watches, () => watch.cancel());
        fired = await watch.ended(c.wait);
      } else {
        const waiting = watch.ended(c.wait);
        setTimeout(() => c.act(watches, () => watch.cancel()), 5);
        fired = await waiting;
      }
      assert.equal(fired, c.fired);
      if (c.wait >= 5_000) assert.ok(Date.now() - started < 1_000, "ended by the event, not by the time limit");
      watch.cancel();
      assert.equal(watches.size, 0, "no watch is left behind");
    });
  }

  test("one put ends every watch on its parts, and each only once", async () => {
    const watches = new PartWatches();
    const first = watches.watch(["a"]);
    const second = watches.watch(["a", "a"]);
    watches.putEnded(["a"]);
    assert.deepEqual(await Promise.all([first.ended(5_000), second.ended(5_000)]), [true, true]);
    assert.equal(watches.size, 0);
  });
});

describe("openStore: a put ends the watches on its parts", () => {
  test("a put through one handle wakes a watch taken through another handle on the same store", async () => {
    const writer = await openStore({ url: "memory:watch" });
    const reader = await openStore({ url: "memory:watch" });
    try {
      const watch = reader.watchParts(["sms-1"]);
      assert.equal(await reader.findByPart("sms-1"), undefined);
      const waiting = watch.ended(5_000);
      await writer.put("rp-1", ["sms-1"]);
      assert.equal(await waiting, true);
      assert.equal((await reader.findByPart("sms-1"))?.rapidproId, "rp-1", "the record is there once the watch ended");
    } finally {
      await writer.close();
      await reader.close();
    }
  });

  test("stores of different URLs do not wake each other's watches", async () => {
    const a = await openStore({ url: "memory:watch-a" });
    const b = await openStore({ url: "memory:watch-b" });
    try {
      const watch = a.watchParts(["sms-1"]);
      await b.put("rp-1", ["sms-1"]);
      assert.equal(await watch.ended(50), false);
      watch.cancel();
    } finally {
      await a.close();
      await b.close();
    }
  });
});
