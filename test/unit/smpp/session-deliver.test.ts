/**
 * deliver_sm handling: the session answers deliver_sm_resp only when the handler settles,
 * with the status it gives; a failing, throwing or slow handler is answered ESME_RX_T_APPN
 * (0x64) so the SMSC delivers again (DESIGN.md: "a deliver_sm … is acknowledged with success
 * only after RapidPro accepted it … otherwise it is answered with a temporary error").
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import type * as smpp from "smpp";
import type { DeliverHandler } from "../../../lib/smpp/session";
import { bound, params, rig, sleep, waitFor } from "./session-fixtures";

describe("deliver_sm_resp carries the handler's verdict", () => {
  const cases: Array<{ name: string; handler?: DeliverHandler; expected: number }> = [
    { name: "resolves 0 → ESME_ROK", handler: async () => 0, expected: 0 },
    { name: "resolves nothing → ESME_ROK", handler: async () => undefined, expected: 0 },
    { name: "returns a plain number", handler: () => 0x65, expected: 0x65 },
    { name: "resolves ESME_RX_P_APPN → passed on", handler: async () => 0x65, expected: 0x65 },
    { name: "rejects → ESME_RX_T_APPN", handler: async () => Promise.reject(new Error("courier said 503")), expected: 0x64 },
    { name: "throws synchronously → ESME_RX_T_APPN, no crash", handler: () => { throw new Error("bug in the flow"); }, expected: 0x64 },
    { name: "resolves an invalid status (-1) → ESME_RX_T_APPN (never acknowledge on doubt)", handler: async () => -1, expected: 0x64 },
    { name: "no handler registered → ESME_RX_T_APPN (acknowledging would lose it)", expected: 0x64 },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await rig();
      try {
        r.session.setDeliverHandler(c.handler);
        await bound(r);
        assert.deepEqual(await r.sim.sendMo({ from: "4790000001", to: "2222", text: "hello" }), [c.expected]);
        assert.equal(r.session.state, "bound");
      } finally {
        await r.close();
      }
    });
  }
});

describe("acknowledge only after the handler settled", () => {
  test("a slow handler: the response waits for it", async () => {
    const r = await rig();
    try {
      let settledAt = 0;
      r.session.setDeliverHandler(async () => {
        await sleep(200);
        settledAt = Date.now();
        return 0;
      });
      await bound(r);
      const statuses = await r.sim.sendMo({ from: "4790000001", to: "2222", text: "slow" });
      const answeredAt = Date.now();
      assert.deepEqual(statuses, [0]);
      assert.ok(settledAt > 0 && answeredAt >= settledAt, "answered before the handler settled");
    } finally {
      await r.close();
    }
  });

  test("a handler that never settles is answered ESME_RX_T_APPN after deliverTimeoutMs", async () => {
    const r = await rig({ deliverTimeoutMs: 150 });
    try {
      r.session.setDeliverHandler(() => new Promise<number>(() => undefined));
      await bound(r);
      const started = Date.now();
      assert.deepEqual(await r.sim.sendMo({ from: "4790000001", to: "2222", text: "stuck" }), [0x64]);
      assert.ok(Date.now() - started >= 140);
      assert.equal(r.session.state, "bound");
    } finally {
      await r.close();
    }
  });

  test("the link drops while the handler runs: no answer, no crash, a fresh bind", async () => {
    const r = await rig();
    try {
      let release: () => void = () => undefined;
      r.session.setDeliverHandler(() => new Promise<number>((resolve) => (release = () => resolve(0))));
      await bound(r);
      const mo = r.sim.sendMo({ from: "4790000001", to: "2222", text: "orphan" });
      await waitFor(() => r.session.status.state === "bound" && r.sim.counters.mosSent === 1, "the MO to be sent");
      await sleep(50);
      r.sim.drop();
      assert.deepEqual(await mo, [-1]);
      release();
      await waitFor(() => r.sim.counters.binds.transceiver === 2 && r.session.state === "bound", "a rebind");
      assert.ok(r.logs.some((l) => /not answered: link down/.test(l)));
    } finally {
      await r.close();
    }
  });

  test("close waits for a handler still running before it unbinds", async () => {
    const r = await rig({ drainTimeoutMs: 2_000 });
    try {
      r.session.setDeliverHandler(async () => {
        await sleep(200);
        return 0;
      });
      await bound(r);
      const mo = r.sim.sendMo({ from: "4790000001", to: "2222", text: "late" });
      await waitFor(() => r.sim.counters.mosSent === 1, "the MO to be sent");
      await sleep(20);
      await r.session.close();
      assert.deepEqual(await mo, [0]);
    } finally {
      await r.close();
    }
  });
});

describe("what the handler receives", () => {
  test("a long MO arrives as UDH parts (esm_class 0x40), one deliver_sm each", async () => {
    const r = await rig();
    try {
      const seen: smpp.PDU[] = [];
      r.session.setDeliverHandler(async (pdu) => {
        seen.push(pdu);
        return 0;
      });
      await bound(r);
      assert.deepEqual(await r.sim.sendMo({ from: "4790000001", to: "2222", text: "x".repeat(200) }), [0, 0]);
      assert.equal(seen.length, 2);
      assert.ok(seen.every((p) => (Number(p.esm_class) & 0x40) === 0x40));
    } finally {
      await r.close();
    }
  });

  test("a receipt for a submit: esm_class 0x04 with receipted_message_id and message_state (§5.2)", async () => {
    const r = await rig({}, { receiptDelayMs: 20, receiptStat: "UNDELIV" });
    try {
      const seen: smpp.PDU[] = [];
      r.session.setDeliverHandler(async (pdu) => {
        seen.push(pdu);
        return 0;
      });
      await bound(r);
      const outcome = await r.session.submit(params(1, { registered_delivery: 1 }));
      assert.ok(outcome.ok);
      await waitFor(() => seen.length === 1, "the receipt");
      assert.equal(Number(seen[0].esm_class) & 0x3c, 0x04);
      assert.equal(seen[0].receipted_message_id, outcome.messageId);
      assert.equal(seen[0].message_state, 5);
    } finally {
      await r.close();
    }
  });

  test("in transmitter+receiver mode deliveries come over the receiver link", async () => {
    const r = await rig({ mode: "transmitter+receiver" });
    try {
      let count = 0;
      r.session.setDeliverHandler(async () => {
        count += 1;
        return 0;
      });
      await bound(r);
      assert.deepEqual(await r.sim.sendMo({ from: "4790000001", to: "2222", text: "hi" }), [0]);
      assert.equal(count, 1);
    } finally {
      await r.close();
    }
  });
});
