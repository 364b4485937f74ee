import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Status } from "../../../lib/contract";
import type { HandOver } from "../../../lib/delivery/answers";
import { parseDlrPush, type DlrPush } from "../../../lib/rapporto/dlr";
import { partnerMsgIdFor } from "../../../lib/rapporto/mt";
import { DlrReceiver } from "../../../lib/rapporto/receiver";
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

describe("DlrReceiver: \"Partner answers 200 (final) — 400 (unknown transactionId/ptag) or 500 make the provider retry\"", () => {
  const stores: CorrelationStore[] = [];
  after(async () => {
    for (const s of stores) await s.close();
  });
  /** A receiver whose hand-overs end as `take` says (RapidPro took it unless told otherwise). */
  function setup(maxTries = 3, take: () => HandOver = () => ({ kind: "rapidpro" }), store: CorrelationStore = new MemoryStore()) {
    stores.push(store);
    const statuses: Status[] = [];
    const unknown: DlrPush[] = [];
    const receiver = new DlrReceiver({ maxTries, waitMs: 0 }, store, {
      status: async (status) => (statuses.push(status), take()),
      unknown: (dlr) => unknown.push(dlr),
    });
    const push = (params: Record<string, string>) => receiver.handle({ params, internal: true });
    return { store, push, statuses, unknown };
  }

  test("known id: the RapidPro id from the store, answered 200 once handed over, then recorded", async () => {
    const { store, push, statuses } = setup();
    await store.put("rp-1", ["100"]);
    const d = await push({ transactionId: "100", status: "5", unifiedExtStatus: "2", ptag: "rp-1" });
    assert.deepEqual([d.kind, d.answer.status], ["report", 200]);
    assert.deepEqual(statuses, [{ id: "rp-1", status: "failed", smscId: "100", reason: "subscriber absent (unifiedExtStatus 2)" }]);
    assert.equal((await store.findByPart("100"))?.reported, "failed");
  });

  test("a hand-over that failed is answered 500, not recorded, and reported again on the retry", async () => {
    let down = true;
    const { store, push, statuses } = setup(3, () => (down ? { kind: "temporary", reason: "courier down" } : { kind: "rapidpro" }));
    await store.put("rp-1", ["100"]);
    const first = await push({ transactionId: "100", status: "2" });
    assert.deepEqual([first.kind, first.answer.status, first.note], ["not-handed-on", 500, "courier down"]);
    assert.equal((await store.findByPart("100"))?.reported, undefined);
    down = false;
    const second = await push({ transactionId: "100", status: "2" });
    assert.deepEqual([second.kind, second.answer.status, statuses.length], ["report", 200, 2]);
  });

  test("a repeat after a taken hand-over is answered 200 without a second report", async () => {
    const { store, push, statuses } = setup();
    await store.put("rp-1", ["100"]);
    await push({ transactionId: "100", status: "2" });
    const again = await push({ transactionId: "100", status: "2" });
    assert.deepEqual([again.kind, again.answer.status, statuses.length], ["no-change", 200, 1]);
  });

  test("statuses never go backwards: sent after delivered is not reported", async () => {
    const { store, push } = setup();
    await store.put("rp-1", ["100"]);
    await push({ transactionId: "100", status: "2" });
    assert.equal((await push({ transactionId: "100", status: "0" })).kind, "no-change");
  });

  test("unknown id (receipt overtook the MT reply): 400 until maxTries, then reported from ptag", async () => {
    const { push, statuses } = setup(3);
    const params = { transactionId: "200", status: "2", ptag: "rp-2" };
    const answers = [];
    for (let i = 0; i < 3; i++) {
      const d = await push(params);
      answers.push([d.kind, d.answer.status]);
    }
    assert.deepEqual(answers, [["retry-later", 400], ["retry-later", 400], ["report", 200]]);
    assert.deepEqual(statuses, [{ id: "rp-2", status: "delivered", smscId: "200" }]);
  });

  test("unknown id answered 400 then found once the MT reply recorded it", async () => {
    const { store, push, statuses } = setup(5);
    assert.equal((await push({ transactionId: "300", status: "2" })).answer.status, 400);
    await store.put("rp-3", ["300"]);
    assert.equal((await push({ transactionId: "300", status: "2" })).kind, "report");
    assert.equal(statuses[0].id, "rp-3");
  });

  test("unknown id without ptag/partnerMsgId after maxTries: second output once, answered 200", async () => {
    const { push, unknown } = setup(2);
    await push({ transactionId: "400", status: "5" });
    const last = await push({ transactionId: "400", status: "5" });
    const again = await push({ transactionId: "400", status: "5" });
    assert.deepEqual([last.kind, last.answer.status, again.kind, again.answer.status], ["unknown", 200, "unknown", 200]);
    assert.equal(unknown.length, 1);
  });

  test("partnerMsgId is the fallback id when there is no ptag; ours carries the RapidPro id before its text digest", async () => {
    const { push, statuses } = setup(1);
    await push({ transactionId: "500", status: "0", partnerMsgId: "rp-5" });
    await push({ transactionId: "501", status: "0", partnerMsgId: partnerMsgIdFor("0191e180-7d60-7000-a000-000000000001", "part two") });
    assert.deepEqual(statuses, [
      { id: "rp-5", status: "sent", smscId: "500" },
      { id: "0191e180-7d60-7000-a000-000000000001", status: "sent", smscId: "501" },
    ]);
  });

  test("malformed push: 400 with the reason", async () => {
    const { push } = setup();
    assert.deepEqual(await push({ status: "2" }), { kind: "malformed", note: "missing transactionId", answer: { status: 400, body: "missing transactionId", contentType: "text/plain; charset=utf-8" } });
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
    const d = await setup(3, undefined, broken).push({ transactionId: "1", status: "2" });
    assert.deepEqual([d.kind, d.answer.status], ["store-error", 500]);
    assert.match(d.note ?? "", /disk gone/);
  });
});
