/**
 * lib/delivery/receipts.ts across instances: receipts of one message are taken one at a time in
 * this process, and through the store's `exclusive` (lib/store/redis-lock.ts with Redis) across
 * every instance sharing the store (docs/design.md decision 10: each step of a message reported
 * once). Here the other instance is played by the `exclusive` of a fake store, which writes
 * the entry the way another instance's receipt would before it lets this one in.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Status } from "../../../lib/contract";
import { ReceiptDesk, type PartReceipt, type ReceiptStore } from "../../../lib/delivery/receipts";
import { MemoryStore } from "../../../lib/store/memory";
import type { Correlation } from "../../../lib/store/types";

const ID = "0191e180-7d60-7000-a000-0000000000e1";

/** Lookups give copies, as a store shared by instances (Redis) does: a later write does not change an entry read before it. */
function copying(memory: MemoryStore): ReceiptStore {
  const copy = (found: Correlation | undefined) => found && structuredClone(found);
  return {
    put: (rapidproId, partIds, text) => memory.put(rapidproId, partIds, text),
    findByPart: async (partId) => copy(await memory.findByPart(partId)),
    findByMessage: async (rapidproId) => copy(await memory.findByMessage(rapidproId)),
    markPart: (partId, state, reason) => memory.markPart(partId, state, reason),
    close: () => memory.close(),
  };
}

interface Fixture {
  store: ReceiptStore;
  statuses: Status[];
  locked: string[];
  desk: ReceiptDesk;
}

/** A store with one single-SMS message `sms-1`, whose `exclusive` runs `before` first, then the receipt's work with `waited`. */
async function fixture(exclusive?: { waited: boolean; before?: (store: MemoryStore) => Promise<void>; fail?: string }): Promise<Fixture> {
  const memory = new MemoryStore();
  await memory.put(ID, ["sms-1"]);
  const locked: string[] = [];
  const store = copying(memory);
  if (exclusive) {
    store.exclusive = async <T>(rapidproId: string, fn: (waited: boolean) => Promise<T>): Promise<T> => {
      locked.push(rapidproId);
      if (exclusive.fail) throw new Error(exclusive.fail);
      await exclusive.before?.(memory);
      return fn(exclusive.waited);
    };
  }
  const statuses: Status[] = [];
  const desk = new ReceiptDesk(async () => store, { waitMs: 0, lookups: 0, giveUpAfterMs: 0 }, {
    handOver: async (status) => (statuses.push(status), { kind: "rapidpro" }),
    unmatched: () => assert.fail("the id is in the store"),
  });
  return { store, statuses, locked, desk };
}

const delivered = (): PartReceipt => ({ messageId: "sms-1", keys: ["sms-1"], state: "delivered" });

describe("ReceiptDesk: receipts of one message one at a time across instances (store.exclusive)", () => {
  test("the receipt's work runs inside the store's exclusive, named by the RapidPro message id", async () => {
    const f = await fixture({ waited: false });
    const handling = await f.desk.handle(delivered());
    assert.equal(handling.kind, "reported");
    assert.deepEqual(f.locked, [ID]);
    assert.deepEqual(f.statuses.map((s) => s.status), ["delivered"]);
  });

  const raced: { name: string; waited: boolean; statuses: string[] }[] = [
    // The entry is read again: the other instance's report is seen, and nothing is reported twice.
    { name: "told to read again (waited), it sees the other instance's report and reports nothing", waited: true, statuses: [] },
    // The lock's contract: `waited` false means nobody could have come between (redis-lock.ts always says true).
    { name: "told nothing came between (not waited), it works on the entry it read", waited: false, statuses: ["delivered"] },
  ];
  for (const row of raced) {
    test(`another instance took the same receipt between the lookup and the lock: ${row.name}`, async () => {
      const f = await fixture({
        waited: row.waited,
        // The SMSC delivered this receipt to the other instance's bind too, which reported it and wrote the store.
        before: async (memory) => void (await memory.markPart("sms-1", "delivered")),
      });
      const handling = await f.desk.handle(delivered());
      assert.deepEqual(f.statuses.map((s) => s.status), row.statuses);
      assert.equal(handling.answer, "taken");
    });
  }

  test("the other instance holds the message too long: answered 'again' with the lock's reason, nothing reported", async () => {
    const f = await fixture({ waited: true, fail: "another instance has held message for over 20000 ms" });
    const handling = await f.desk.handle(delivered());
    assert.equal(handling.kind, "store-error");
    assert.equal(handling.answer, "again");
    assert.match(handling.kind === "store-error" ? handling.reason : "", /held message/);
    assert.deepEqual(f.statuses, []);
    assert.equal((await f.store.findByPart("sms-1"))?.submissions[0].states[0], "pending", "the store is not written");
  });

  test("a store without exclusive (embedded, memory): one at a time in this process only, reported once", async () => {
    const f = await fixture();
    const answers = await Promise.all([f.desk.handle(delivered()), f.desk.handle(delivered())]);
    assert.deepEqual(answers.map((a) => a.answer), ["taken", "taken"]);
    assert.deepEqual(f.statuses.map((s) => s.status), ["delivered"]);
  });
});
