import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { DlrResolver, parseDlrPush, AttemptCounter } from "../../../lib/rapporto/dlr";
import type { PushParams } from "../../../lib/rapporto/mo";
import { MemoryStore } from "../../../lib/store/memory";
import type { CorrelationStore } from "../../../lib/store/types";

describe("DLR push parameters (http_status.rst)", () => {
  const cases: { name: string; input: PushParams; expected: object }[] = [
    {
      name: "the docs' example `msgType=SMS&transactionId=7986985&ptag=test&status=2`: delivered",
      input: { msgType: "SMS", transactionId: "7986985", ptag: "test", status: "2" },
      expected: { msgType: "SMS", transactionId: "7986985", ptag: "test", code: "2", status: "delivered", meaning: "delivered" },
    },
    {
      name: "status 0 = sent to operator, final unknown: sent",
      input: { transactionId: "1", status: "0" },
      expected: { transactionId: "1", code: "0", status: "sent", meaning: "sent to operator, final status unknown" },
    },
    {
      name: "status 5 = not delivered: failed, reason from unifiedExtStatus",
      input: { transactionId: "1", status: "5", unifiedExtStatus: "5" },
      expected: { transactionId: "1", code: "5", status: "failed", meaning: "not delivered", unifiedExtStatus: "5", reason: "memory full (unifiedExtStatus 5)" },
    },
    {
      name: "status 5 without unifiedExtStatus: reason \"not delivered\"",
      input: { transactionId: "1", status: "5" },
      expected: { transactionId: "1", code: "5", status: "failed", meaning: "not delivered", reason: "not delivered" },
    },
    {
      name: "status 5 with an undocumented unifiedExtStatus keeps the number",
      input: { transactionId: "1", status: "5", unifiedExtStatus: "99" },
      expected: { transactionId: "1", code: "5", status: "failed", meaning: "not delivered", unifiedExtStatus: "99", reason: "unifiedExtStatus 99" },
    },
    {
      name: "status 9 = read (VK/Viber/WhatsApp/Push): delivered",
      input: { msgType: "VIBER", transactionId: "1", status: "9", partnerMsgId: "p-1" },
      expected: { msgType: "VIBER", transactionId: "1", partnerMsgId: "p-1", code: "9", status: "delivered", meaning: "read" },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const parsed = parseDlrPush(c.input);
      assert.ok(parsed.ok, !parsed.ok ? parsed.reason : "");
      const { params: _params, ...rest } = parsed.value;
      assert.deepEqual(JSON.parse(JSON.stringify(rest)), c.expected);
    });
  }

  const reasons: [string, string][] = [
    ["1", "unknown"], ["2", "subscriber absent"], ["3", "subscriber barred or blocked"], ["4", "SS7 transport error"],
    ["5", "memory full"], ["6", "SMS service not provisioned"], ["7", "switch not responding"], ["8", "bad or long-inactive number"],
    ["9", "platform duplicate filter"], ["10", "platform filter (spam)"], ["11", "routing error"], ["12", "operator black list"],
    ["13", "unregistered sender name"], ["14", "operator text spam filter"],
  ];
  for (const [code, text] of reasons) {
    test(`unifiedExtStatus ${code}: ${text}`, () => {
      const parsed = parseDlrPush({ transactionId: "1", status: "5", unifiedExtStatus: code });
      assert.ok(parsed.ok);
      assert.equal(parsed.value.reason, `${text} (unifiedExtStatus ${code})`);
    });
  }

  const bad: { name: string; input: PushParams; reason: string }[] = [
    { name: "transactionId is required", input: { status: "2" }, reason: "missing transactionId" },
    { name: "status is required", input: { transactionId: "1" }, reason: "missing status" },
    { name: "undocumented status", input: { transactionId: "1", status: "3" }, reason: 'unknown status "3"' },
    { name: "status given twice", input: { transactionId: "1", status: ["2", "5"] }, reason: "parameter status is given 2 times" },
  ];
  for (const c of bad) test(`refuses: ${c.name}`, () => assert.deepEqual(parseDlrPush(c.input), { ok: false, reason: c.reason }));
});

describe("DlrResolver: \"Partner answers 200 (final) — 400 (unknown transactionId/ptag) or 500 make the provider retry\"", () => {
  const stores: CorrelationStore[] = [];
  after(async () => {
    for (const s of stores) await s.close();
  });
  function setup(maxTries = 3) {
    const store = new MemoryStore();
    stores.push(store);
    return { store, resolver: new DlrResolver(store, { maxTries }) };
  }

  test("known id: the RapidPro id from the store, answered 200 after commit", async () => {
    const { store, resolver } = setup();
    await store.put("rp-1", ["100"]);
    const d = await resolver.handle({ transactionId: "100", status: "5", unifiedExtStatus: "2", ptag: "rp-1" });
    assert.equal(d.kind, "report");
    if (d.kind !== "report") return;
    assert.deepEqual(d.status, { id: "rp-1", status: "failed", smscId: "100", reason: "subscriber absent (unifiedExtStatus 2)" });
    assert.equal(d.answer.status, 200);
    assert.ok(d.commit);
    await d.commit();
    assert.equal((await store.findByPart("100"))?.reported, "failed");
  });

  test("a report not committed (hand-on failed) is reported again on the retry", async () => {
    const { store, resolver } = setup();
    await store.put("rp-1", ["100"]);
    const first = await resolver.handle({ transactionId: "100", status: "2" });
    const second = await resolver.handle({ transactionId: "100", status: "2" });
    assert.equal(first.kind, "report");
    assert.equal(second.kind, "report");
  });

  test("a repeat after commit is answered 200 without a second report", async () => {
    const { store, resolver } = setup();
    await store.put("rp-1", ["100"]);
    const first = await resolver.handle({ transactionId: "100", status: "2" });
    if (first.kind === "report") await first.commit?.();
    const again = await resolver.handle({ transactionId: "100", status: "2" });
    assert.equal(again.kind, "no-change");
    assert.equal(again.answer.status, 200);
  });

  test("statuses never go backwards: sent after delivered is not reported", async () => {
    const { store, resolver } = setup();
    await store.put("rp-1", ["100"]);
    const delivered = await resolver.handle({ transactionId: "100", status: "2" });
    if (delivered.kind === "report") await delivered.commit?.();
    const sent = await resolver.handle({ transactionId: "100", status: "0" });
    assert.equal(sent.kind, "no-change");
  });

  test("unknown id (receipt overtook the MT reply): 400 until maxTries, then reported from ptag", async () => {
    const { resolver } = setup(3);
    const params = { transactionId: "200", status: "2", ptag: "rp-2" };
    const first = await resolver.handle(params);
    const second = await resolver.handle(params);
    const third = await resolver.handle(params);
    assert.deepEqual([first.kind, first.answer.status, second.kind, second.answer.status], ["retry-later", 400, "retry-later", 400]);
    assert.equal(third.kind, "report");
    if (third.kind === "report") {
      assert.deepEqual(third.status, { id: "rp-2", status: "delivered", smscId: "200" });
      assert.equal(third.commit, undefined);
    }
  });

  test("unknown id answered 400 then found once the MT reply recorded it", async () => {
    const { store, resolver } = setup(5);
    const early = await resolver.handle({ transactionId: "300", status: "2" });
    assert.equal(early.answer.status, 400);
    await store.put("rp-3", ["300"]);
    const later = await resolver.handle({ transactionId: "300", status: "2" });
    assert.equal(later.kind, "report");
    if (later.kind === "report") assert.equal(later.status.id, "rp-3");
  });

  test("unknown id without ptag/partnerMsgId after maxTries: second output, answered 200", async () => {
    const { resolver } = setup(2);
    await resolver.handle({ transactionId: "400", status: "5" });
    const last = await resolver.handle({ transactionId: "400", status: "5" });
    assert.equal(last.kind, "unknown");
    assert.equal(last.answer.status, 200);
  });

  test("partnerMsgId is the fallback id when there is no ptag", async () => {
    const { resolver } = setup(1);
    const d = await resolver.handle({ transactionId: "500", status: "0", partnerMsgId: "rp-5" });
    assert.equal(d.kind, "report");
    if (d.kind === "report") assert.deepEqual(d.status, { id: "rp-5", status: "sent", smscId: "500" });
  });

  test("malformed push: 400 with the reason", async () => {
    const { resolver } = setup();
    const d = await resolver.handle({ status: "2" });
    assert.deepEqual(d, { kind: "malformed", reason: "missing transactionId", answer: { status: 400, body: "missing transactionId", contentType: "text/plain; charset=utf-8" } });
  });

  test("store failure: 500 so Rapporto retries, no throw", async () => {
    const broken: CorrelationStore = {
      put: async () => undefined,
      findByPart: async () => {
        throw new Error("disk gone");
      },
      findByMessage: async () => undefined,
      markPart: async () => undefined,
      close: async () => undefined,
    };
    const d = await new DlrResolver(broken, { maxTries: 3 }).handle({ transactionId: "1", status: "2" });
    assert.equal(d.kind, "store-error");
    assert.equal(d.answer.status, 500);
    if (d.kind === "store-error") assert.match(d.reason, /disk gone/);
  });
});

describe("AttemptCounter", () => {
  test("counts per key within the window and forgets after it", () => {
    let now = 0;
    const counter = new AttemptCounter(1000, 10, () => now);
    assert.deepEqual([counter.hit("a"), counter.hit("a"), counter.hit("b")], [1, 2, 1]);
    now = 1001;
    assert.equal(counter.hit("a"), 1);
  });

  test("bounded: the oldest key goes first", () => {
    const counter = new AttemptCounter(60_000, 2);
    counter.hit("a");
    counter.hit("b");
    counter.hit("c");
    assert.equal(counter.hit("a"), 1);
    assert.equal(counter.hit("c"), 2);
  });
});
