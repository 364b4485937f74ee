/**
 * lib/delivery/receipts.ts: how long one delivery of a receipt with an unknown id waits, under
 * load. SMPP, UCP and CIMD2 wait `unmatchedWait` and give up in that same delivery (waitMs ===
 * giveUpAfterMs): the SMSC gets "taken" and the receipt goes to the unmatched output. A delivery
 * that stopped short of the wait answered "not yet" (ESME_RX_T_APPN), and an SMSC that does not
 * deliver it again never saw it handed on (test/nodes/smpp-nodes.test.ts "a receipt for an unknown
 * message id goes to output 3", intermittent in the full suite).
 *
 * Both ways of stopping short are played here with a clock the desk is given:
 * - its timers end a few ms early by Date.now(), since Node arms them from the loop's cached clock
 *   (after a long tick): played by a clock that runs slower than the timers;
 * - its first lookup is slow (a loaded machine, a store round trip): the wait must count from the
 *   receipt's arrival, not from after that lookup.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ReceiptDesk, UNMATCHED_LOOKUPS, type PartReceipt, type ReceiptHandling, type ReceiptStore } from "../../../lib/delivery/receipts";
import { MemoryStore } from "../../../lib/store/memory";
import { PartWatches } from "../../../lib/store/part-watch";

const WAIT_MS = 200;

/** A clock that reads `rate` ms per real ms from its creation: below 1, timers end early by it. */
function slowClock(rate: number): () => number {
  const origin = Date.now();
  return () => origin + Math.floor((Date.now() - origin) * rate);
}

/** A memory store, its puts watchable or not; its first `slowLookups` lookups take `lookupMs`. */
function store(options: { watched: boolean; slowLookups?: number; lookupMs?: number }): ReceiptStore {
  const memory = new MemoryStore();
  const watches = new PartWatches();
  let slow = options.slowLookups ?? 0;
  return {
    put: async (rapidproId, partIds, text) => {
      await memory.put(rapidproId, partIds, text);
      watches.putEnded(partIds);
    },
    findByPart: async (partId) => {
      if (slow-- > 0) await new Promise((r) => setTimeout(r, options.lookupMs));
      return memory.findByPart(partId);
    },
    findByMessage: (rapidproId) => memory.findByMessage(rapidproId),
    markPart: (partId, state, reason) => memory.markPart(partId, state, reason),
    close: () => memory.close(),
    ...(options.watched ? { watchParts: (partIds: readonly string[]) => watches.watch(partIds) } : {}),
  };
}

const cases: { name: string; now: () => () => number; slowLookups?: number; lookupMs?: number }[] = [
  { name: "its timers end early by Date.now() (a clock at half the timers' speed)", now: () => slowClock(0.5) },
  { name: "its timers end a little early by Date.now() (a clock at 0.95 of the timers' speed)", now: () => slowClock(0.95) },
  { name: "its first lookup takes 120 ms", now: () => Date.now, slowLookups: 1, lookupMs: 120 },
  { name: "its first lookup takes 120 ms and its timers end early", now: () => slowClock(0.8), slowLookups: 1, lookupMs: 120 },
];

describe("ReceiptDesk: one delivery of an unknown id waits the whole wait, then gives up (waitMs = giveUpAfterMs, as SMPP, UCP and CIMD2 set it)", () => {
  for (const watched of [false, true]) {
    for (const c of cases) {
      test(`${watched ? "watched store" : "polled store"}, ${c.name}: handed on as unmatched, answered taken`, async () => {
        const unmatched: string[] = [];
        const now = c.now();
        const desk = new ReceiptDesk(
          async () => store({ watched, slowLookups: c.slowLookups, lookupMs: c.lookupMs }),
          { waitMs: WAIT_MS, lookups: UNMATCHED_LOOKUPS, giveUpAfterMs: WAIT_MS },
          {
            handOver: async () => assert.fail("the id is not in the store"),
            unmatched: (r) => void unmatched.push(r.messageId),
          },
          now,
        );
        const receipt: PartReceipt = { messageId: "77777", keys: ["77777"], state: "delivered" };
        const arrived = now();
        const handling: ReceiptHandling = await desk.handle(receipt);
        const waited = now() - arrived;
        desk.close();
        assert.deepEqual(handling, { kind: "unmatched", answer: "taken", emitted: true }, `after ${waited} ms by the desk's clock`);
        assert.ok(waited >= WAIT_MS, `waited the whole wait by the desk's clock (${waited} ms)`);
        assert.deepEqual(unmatched, ["77777"]);
      });
    }
  }

  test("a wait shorter than the give-up time still answers 'not yet', the give-up coming with a later delivery (Rapporto's window)", async () => {
    const unmatched: string[] = [];
    const now = slowClock(0.5);
    const desk = new ReceiptDesk(async () => store({ watched: true }), { waitMs: 40, lookups: 1, giveUpAfterMs: 150 }, {
      handOver: async () => assert.fail("the id is not in the store"),
      unmatched: (r) => void unmatched.push(r.messageId),
    }, now);
    const receipt: PartReceipt = { messageId: "88888", keys: ["88888"], state: "delivered" };
    assert.deepEqual(await desk.handle(receipt), { kind: "not-yet", answer: "not-yet", deliveries: 1 });
    const results: ReceiptHandling[] = [];
    for (let i = 0; i < 50 && results.at(-1)?.kind !== "unmatched"; i++) results.push(await desk.handle(receipt));
    desk.close();
    assert.deepEqual(results.at(-1), { kind: "unmatched", answer: "taken", emitted: true });
    assert.deepEqual(unmatched, ["88888"]);
  });

  test("a put during the wait ends it: found and reported", async () => {
    const s = store({ watched: true });
    const statuses: string[] = [];
    const desk = new ReceiptDesk(async () => s, { waitMs: 5_000, lookups: UNMATCHED_LOOKUPS, giveUpAfterMs: 5_000 }, {
      handOver: async (status) => (statuses.push(status.status), { kind: "rapidpro" }),
      unmatched: () => assert.fail("its put came"),
    });
    const handling = desk.handle({ messageId: "99999", keys: ["99999"], state: "delivered" });
    await new Promise((r) => setTimeout(r, 20));
    await s.put("0191e180-7d60-7000-a000-0000000000f1", ["99999"]);
    const result = await handling;
    desk.close();
    assert.equal(result.kind, "reported");
    assert.deepEqual(statuses, ["delivered"]);
  });
});
