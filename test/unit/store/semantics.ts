/**
 * The behaviour every CorrelationStore must have (lib/store/types.ts), written once and run
 * against each implementation by memory.test.ts, embedded.test.ts and redis.test.ts.
 */
import { after, afterEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Correlation, CorrelationStore, PartState, PartUpdate } from "../../../lib/store/types";

export interface StoreUnderTest {
  /** A fresh, empty store with this TTL (default: the store's own). */
  open(ttlMs?: number): Promise<CorrelationStore>;
  /**
   * A second store on the same data (another Node-RED instance), where the implementation
   * allows one; concurrency is then also tested across the two.
   */
  openPeer?(first: CorrelationStore): Promise<CorrelationStore>;
  /** Removes what the suite left behind (temp dirs, servers). */
  cleanup?(): Promise<void>;
}

type Event = [part: string, state: PartState, reason?: string];
type Report = { status: string; reason?: string } | undefined;

const sent: Report = { status: "sent" };
const delivered: Report = { status: "delivered" };
const failed = (reason?: string): Report => ({ status: "failed", reason });
/** The report without its smscId, which the tests of the round's id check on their own. */
const reportOf = (update: PartUpdate | undefined): Report => {
  if (!update?.report) return undefined;
  const { status, reason } = update.report;
  return status === "failed" ? { status, reason } : { status };
};
/** States of the entry's submissions, in order. */
const statesOf = (record: Correlation | undefined) => record?.submissions.map((s) => s.states);

/** One message, one part: what each receipt reports. */
const SINGLE_PART: { name: string; events: PartState[]; reports: Report[] }[] = [
  { name: "sent then delivered", events: ["sent", "delivered"], reports: [sent, delivered] },
  { name: "delivered straight away", events: ["delivered"], reports: [delivered] },
  { name: "failed straight away", events: ["failed"], reports: [failed(undefined)] },
  { name: "a late 'sent' after delivered is not reported", events: ["delivered", "sent"], reports: [delivered, undefined] },
  { name: "delivered after failed does not go back", events: ["failed", "delivered"], reports: [failed(undefined), undefined] },
  { name: "a repeated receipt is reported once", events: ["delivered", "delivered"], reports: [delivered, undefined] },
  { name: "a repeated 'sent' is reported once", events: ["sent", "sent", "delivered"], reports: [sent, undefined, delivered] },
  { name: "pending reports nothing", events: ["pending", "sent"], reports: [undefined, sent] },
];

/** One message of three parts a, b, c: what each receipt reports. */
const MULTI_PART: { name: string; events: Event[]; reports: Report[] }[] = [
  {
    name: "delivered only when every part is",
    events: [["a", "delivered"], ["b", "delivered"], ["c", "delivered"]],
    reports: [sent, undefined, delivered],
  },
  {
    name: "failed as soon as one part failed, with its reason",
    events: [["a", "delivered"], ["b", "failed", "EXPIRED"], ["c", "delivered"]],
    reports: [sent, failed("EXPIRED"), undefined],
  },
  {
    name: "the first failure's reason is kept",
    events: [["a", "failed", "first"], ["b", "failed", "second"], ["c", "failed", "third"]],
    reports: [failed("first"), undefined, undefined],
  },
  {
    name: "sent parts, then all delivered in another order",
    events: [["c", "sent"], ["b", "sent"], ["a", "sent"], ["b", "delivered"], ["c", "delivered"], ["a", "delivered"]],
    reports: [sent, undefined, undefined, undefined, undefined, delivered],
  },
  {
    name: "a final part state is not replaced by a late one",
    events: [["a", "delivered"], ["a", "sent"], ["a", "failed", "late"], ["b", "delivered"], ["c", "delivered"]],
    reports: [sent, undefined, undefined, undefined, delivered],
  },
  {
    name: "redelivered receipts after completion report nothing",
    events: [["a", "delivered"], ["b", "delivered"], ["c", "delivered"], ["c", "delivered"], ["b", "failed", "x"]],
    reports: [sent, undefined, delivered, undefined, undefined],
  },
];

export function storeSemantics(name: string, sut: StoreUnderTest | { skip: string }): void {
  if ("skip" in sut) {
    describe(`${name} store semantics`, { skip: sut.skip }, () => undefined);
    return;
  }
  describe(`${name} store semantics`, () => {
    const open: CorrelationStore[] = [];
    let counter = 0;
    /** Ids unique per test, so tests on a shared backend never see each other. */
    const uid = (label: string) => `${label}-${process.pid}-${++counter}-${Math.random().toString(36).slice(2, 8)}`;
    const openStore = async (ttlMs?: number) => {
      const store = await sut.open(ttlMs);
      open.push(store);
      return store;
    };

    afterEach(async () => {
      while (open.length > 0) await open.pop()?.close();
    });
    after(async () => {
      await sut.cleanup?.();
    });

    test("put then findByPart finds the message by any of its parts, all parts pending", async () => {
      const store = await openStore();
      const [rp, p1, p2] = [uid("rp"), uid("p1"), uid("p2")];
      const before = Date.now();
      await store.put(rp, [p1, p2]);
      for (const part of [p1, p2]) {
        const found = await store.findByPart(part);
        assert.ok(found, `part ${part} not found`);
        assert.equal(found.rapidproId, rp);
        assert.deepEqual(found.submissions.map((x) => x.parts), [[p1, p2]]);
        assert.deepEqual(statesOf(found), [["pending", "pending"]]);
        assert.equal(found.reported, undefined);
        assert.ok(found.createdAt >= before - 1000 && found.createdAt <= Date.now() + 1000);
      }
    });

    test("an unknown part is not found and markPart on it changes nothing", async () => {
      const store = await openStore();
      assert.equal(await store.findByPart(uid("nope")), undefined);
      assert.equal(await store.markPart(uid("nope"), "delivered"), undefined);
    });

    test("ids are compared exactly", async () => {
      const store = await openStore();
      const part = uid("AbC");
      await store.put(uid("rp"), [part]);
      assert.equal(await store.findByPart(part.toLowerCase()), undefined);
      assert.equal(await store.findByPart(` ${part}`), undefined);
      assert.ok(await store.findByPart(part));
    });

    for (const row of SINGLE_PART) {
      test(`single part: ${row.name}`, async () => {
        const store = await openStore();
        const [rp, part] = [uid("rp"), uid("part")];
        await store.put(rp, [part]);
        const reports: Report[] = [];
        for (const state of row.events) {
          const update = await store.markPart(part, state);
          assert.equal(update?.rapidproId, rp);
          reports.push(reportOf(update));
        }
        assert.deepEqual(reports, row.reports);
      });
    }

    for (const row of MULTI_PART) {
      test(`multi-part: ${row.name}`, async () => {
        const store = await openStore();
        const rp = uid("rp");
        const ids: Record<string, string> = { a: uid("a"), b: uid("b"), c: uid("c") };
        await store.put(rp, [ids.a, ids.b, ids.c]);
        const reports: Report[] = [];
        for (const [part, state, reason] of row.events) {
          const update = await store.markPart(ids[part], state, reason);
          reports.push(reportOf(update));
        }
        assert.deepEqual(reports, row.reports);
      });
    }

    test("the record shows each part's state and the status reported", async () => {
      const store = await openStore();
      const [rp, a, b] = [uid("rp"), uid("a"), uid("b")];
      await store.put(rp, [a, b]);
      await store.markPart(b, "failed", "REJECTD");
      const found = await store.findByPart(a);
      assert.deepEqual(statesOf(found), [["pending", "failed"]]);
      assert.equal(found?.reported, "failed");
      assert.equal(found?.reason, "REJECTD");
    });

    test("courier's parts of one id (other texts) are submissions of one entry; its status adds them all up", async () => {
      const store = await openStore();
      const [rp, a1, a2, b1] = [uid("rp"), uid("a1"), uid("a2"), uid("b1")];
      await store.put(rp, [a1, a2], "text-a");
      await store.put(rp, [b1], "text-b");
      const entry = await store.findByMessage(rp);
      assert.deepEqual(entry?.submissions.map((x) => [x.text, x.parts]), [["text-a", [a1, a2]], ["text-b", [b1]]]);
      assert.equal((await store.findByPart(b1))?.rapidproId, rp);
      const reports = [];
      for (const id of [b1, a2, a1]) reports.push(reportOf(await store.markPart(id, "delivered")));
      assert.deepEqual(reports, [sent, undefined, delivered]);
    });

    test("a failed part submitted again begins a new round: its statuses are reported again, with the new round's id", async () => {
      const store = await openStore();
      const [rp, a, b, b2] = [uid("rp"), uid("a"), uid("b"), uid("b2")];
      await store.put(rp, [a], "text-a");
      await store.put(rp, [b], "text-b");
      assert.deepEqual(await store.markPart(a, "delivered"), { rapidproId: rp, report: { status: "sent", smscId: a } });
      assert.deepEqual(await store.markPart(b, "failed", "UNDELIV"), { rapidproId: rp, report: { status: "failed", reason: "UNDELIV", smscId: a } });
      // RapidPro resends: part a is answered from the store, part b is submitted anew.
      await store.put(rp, [b2], "text-b");
      const entry = await store.findByMessage(rp);
      assert.equal(entry?.reported, undefined);
      assert.equal(entry?.round, 2);
      // A late receipt of the superseded submission changes nothing.
      assert.equal(reportOf(await store.markPart(b, "delivered")), undefined);
      assert.deepEqual(await store.markPart(b2, "delivered"), { rapidproId: rp, report: { status: "delivered", smscId: b2 } });
    });

    test("a new round does not report the failure of a part RapidPro has not resent yet", async () => {
      const store = await openStore();
      const [rp, a, b, a2] = [uid("rp"), uid("a"), uid("b"), uid("a2")];
      await store.put(rp, [a], "text-a");
      await store.put(rp, [b], "text-b");
      await store.markPart(a, "failed", "x");
      await store.markPart(b, "failed", "y");
      await store.put(rp, [a2], "text-a");
      assert.deepEqual(reportOf(await store.markPart(a2, "sent")), sent);
    });

    test("findByMessage finds every submission of a RapidPro id, and nothing for an unknown one", async () => {
      const store = await openStore();
      const [rp, first, second] = [uid("rp"), uid("first"), uid("second")];
      assert.equal(await store.findByMessage(rp), undefined);
      await store.put(rp, [first], "t");
      assert.deepEqual((await store.findByMessage(rp))?.submissions.map((x) => x.parts), [[first]]);
      await store.markPart(first, "failed", "x");
      assert.equal((await store.findByMessage(rp))?.reported, "failed");
      await store.put(rp, [second], "t");
      assert.deepEqual(statesOf(await store.findByMessage(rp)), [["failed"], ["pending"]]);
      assert.equal(await store.findByMessage(rp.toUpperCase()), undefined);
    });

    test("parts of one id put at once all land in its entry", async () => {
      const store = await openStore();
      const peer = sut.openPeer ? await sut.openPeer(store) : store;
      if (peer !== store) open.push(peer);
      const rp = uid("rp");
      const parts = Array.from({ length: 8 }, (_, i) => uid(`part${i}`));
      await Promise.all(parts.map((part, i) => (i % 2 === 0 ? store : peer).put(rp, [part], `text-${i}`)));
      const entry = await store.findByMessage(rp);
      assert.deepEqual(entry?.submissions.map((x) => x.parts[0]).sort(), [...parts].sort());
      for (const part of parts) assert.equal((await store.findByPart(part))?.rapidproId, rp);
    });

    test("concurrent receipts for every part of one message: one 'delivered', nothing lost", async () => {
      const store = await openStore();
      const peer = sut.openPeer ? await sut.openPeer(store) : store;
      if (peer !== store) open.push(peer);
      const rp = uid("rp");
      const parts = Array.from({ length: 12 }, (_, i) => uid(`part${i}`));
      await store.put(rp, parts);
      // Alternate between the two instances, all at once.
      const updates = await Promise.all(parts.map((part, i) => (i % 2 === 0 ? store : peer).markPart(part, "delivered")));
      const reports = updates.map((u) => u?.report?.status).filter((s) => s !== undefined);
      assert.equal(reports.filter((s) => s === "delivered").length, 1, `reports: ${JSON.stringify(reports)}`);
      assert.ok(reports.filter((s) => s === "sent").length <= 1, `reports: ${JSON.stringify(reports)}`);
      const found = await store.findByPart(parts[0]);
      assert.deepEqual(statesOf(found), [parts.map(() => "delivered")]);
      assert.equal(found?.reported, "delivered");
    });

    test("concurrent receipts with one failure: failed once, never delivered", async () => {
      const store = await openStore();
      const rp = uid("rp");
      const parts = Array.from({ length: 8 }, (_, i) => uid(`part${i}`));
      await store.put(rp, parts);
      const updates = await Promise.all(parts.map((part, i) => store.markPart(part, i === 5 ? "failed" : "delivered", i === 5 ? "boom" : undefined)));
      const statuses = updates.map((u) => u?.report?.status).filter((s) => s !== undefined);
      assert.equal(statuses.filter((s) => s === "failed").length, 1, JSON.stringify(statuses));
      assert.equal(statuses.includes("delivered"), false, JSON.stringify(statuses));
      assert.equal((await store.findByPart(parts[0]))?.reported, "failed");
    });

    test("entries expire after the TTL", async () => {
      const ttlMs = 400;
      const store = await openStore(ttlMs);
      const [rp, part] = [uid("rp"), uid("part")];
      await store.put(rp, [part]);
      assert.ok(await store.findByPart(part), "found before the TTL");
      assert.ok(await store.findByMessage(rp), "found by message before the TTL");
      await new Promise((resolve) => setTimeout(resolve, ttlMs * 3));
      assert.equal(await store.findByPart(part), undefined);
      assert.equal(await store.findByMessage(rp), undefined);
      assert.equal(await store.markPart(part, "delivered"), undefined);
    });

    const badPuts: { name: string; rp: unknown; parts: unknown; text?: string; error: RegExp }[] = [
      { name: "empty RapidPro id", rp: "", parts: ["p"], error: /rapidproId must be a non-empty string/ },
      { name: "no parts", rp: "rp", parts: [], error: /partIds must be a non-empty list/ },
      { name: "an empty part id", rp: "rp", parts: ["p", ""], error: /every part id must be a non-empty string/ },
      { name: "a part id that is not a string", rp: "rp", parts: [42], error: /every part id must be a non-empty string/ },
      { name: "the same part twice", rp: "rp", parts: ["p", "p"], error: /part ids must be distinct/ },
      { name: "a part id over 1,024 bytes (lmdb's key limit is 1,978)", rp: "rp", parts: ["p", "é".repeat(513)], error: /an id is longer than 1024 bytes/ },
      { name: "a RapidPro id over 1,024 bytes", rp: "r".repeat(1025), parts: ["p"], error: /an id is longer than 1024 bytes/ },
      { name: "a text digest over 128 characters", rp: "rp", parts: ["p"], text: "d".repeat(129), error: /the text digest must be a string of 1 to 128 characters/ },
    ];
    for (const row of badPuts) {
      test(`put refuses ${row.name} with a reason`, async () => {
        const store = await openStore();
        await assert.rejects(store.put(row.rp as string, row.parts as string[], row.text), row.error);
      });
    }

    test("markPart refuses an unknown state with a reason", async () => {
      const store = await openStore();
      const part = uid("part");
      await store.put(uid("rp"), [part]);
      await assert.rejects(store.markPart(part, "read" as PartState), /unknown part state "read"/);
      assert.deepEqual(statesOf(await store.findByPart(part)), [["pending"]]);
    });

    test("a closed store refuses work with a reason instead of hanging", async () => {
      const store = await sut.open();
      await store.close();
      await assert.rejects(store.put(uid("rp"), [uid("p")]), /closed/);
      await assert.rejects(store.findByPart(uid("p")), /closed/);
      await store.close(); // a second close is harmless
    });
  });
}
