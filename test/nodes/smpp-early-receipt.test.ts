/**
 * A receipt that overtakes its submit_sm_resp (smpp-and-gateways.md §5: Jasmin "A DLR that
 * arrives before its id mapping is looked up again"): the SMSC here sends each part's receipt the
 * moment it answered that part, so for a 3-part message the first receipts arrive before the last
 * submit_sm_resp, and so before smpp-out stored the correlation. They must be held and matched.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { Status } from "../../lib/contract";
import { ESME_RX_T_APPN } from "../../lib/smpp/command-status";
import { pendingAcks } from "../../nodes/shared/pending";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { helper, nodeModules, startHelper, stopHelper } from "../helpers/red";

interface Bridge {
  sim: SmscSim;
  /** Statuses from smpp-in's second output, each acknowledged as RapidPro would. */
  statuses: Status[];
  /** Receipts handed to the third output (unmatched). */
  unmatched: () => number;
  /** Submits an MT through smpp-out. */
  submit: (id: string, text: string) => void;
}

/** smpp-bind, smpp-out and smpp-in against an SMSC simulator that sends receipts at once; bound. */
async function withBridge(unmatchedWait: number, run: (bridge: Bridge) => Promise<void>): Promise<void> {
  const sim = await startSmsc({ receiptDelayMs: 0 });
  await startHelper();
  try {
    await helper.load(
      nodeModules("smpp-bind", "smpp-out", "smpp-in"),
      [
        { id: "t1", type: "tab" },
        { id: "b1", type: "smpp-bind", host: "127.0.0.1", port: sim.port, mode: "transceiver", storeUrl: "memory:", window: 10, idMode: "auto" },
        { id: "out1", z: "t1", type: "smpp-out", bind: "b1", encoding: "auto", smart: true, split: "udh8", maxParts: 10, registeredDelivery: "1", wires: [["h1"]] },
        { id: "h1", z: "t1", type: "helper" },
        { id: "in1", z: "t1", type: "smpp-in", bind: "b1", ackMode: "rapidpro", ackTimeout: 5, unmatchedWait, wires: [["mo"], ["st"], ["un"]] },
        { id: "mo", z: "t1", type: "helper" },
        { id: "st", z: "t1", type: "helper" },
        { id: "un", z: "t1", type: "helper" },
      ] as never,
      { b1: { systemId: "esme", password: "pw" } },
    );
    const statuses: Status[] = [];
    let unmatched = 0;
    (helper.getNode("st") as unknown as NodeJS.EventEmitter).on("input", (msg: { payload: Status; ack?: string }) => {
      statuses.push(msg.payload);
      if (msg.ack) pendingAcks.settle(msg.ack, { ok: true });
    });
    (helper.getNode("un") as unknown as NodeJS.EventEmitter).on("input", () => unmatched++);
    const end = Date.now() + 5_000;
    while (sim.counters.binds.transceiver < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const submit = (id: string, text: string) => helper.getNode("out1").receive({ payload: { id, to: "+4790000001", from: "2020", text } } as never);
    await run({ sim, statuses, unmatched: () => unmatched, submit });
  } finally {
    await stopHelper();
    await sim.close();
  }
}

async function until(done: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
}

test("receipts that arrive before the correlation is stored are held, then matched: one sent, one delivered, none unmatched", { timeout: 20_000 }, async () => {
  await withBridge(1, async ({ sim, statuses, unmatched, submit }) => {
    submit("early-1", "z".repeat(400));
    await until(() => statuses.some((s) => s.status === "delivered"), 10_000);

    assert.equal(sim.counters.receiptsSent, 3);
    assert.deepEqual(statuses.map((s) => [s.id, s.status]), [["early-1", "sent"], ["early-1", "delivered"]]);
    assert.equal(unmatched(), 0);
    await until(() => (sim.counters.deliverResps[0] ?? 0) >= 3, 2_000);
    assert.equal(sim.counters.deliverResps[0], 3, "every receipt acknowledged ESME_ROK");
  });
});

test("a held receipt is looked up again as soon as its correlation is written, not after unmatchedWait's retry interval", { timeout: 20_000 }, async () => {
  // unmatchedWait 60 s: the timed retries come after 30 s, beyond this test's timeout; only
  // the store's signal that smpp-out wrote the correlation can match these receipts in time.
  await withBridge(60, async ({ statuses, unmatched, submit }) => {
    const sent = Date.now();
    submit("early-2", "z".repeat(400));
    await until(() => statuses.some((s) => s.status === "delivered"), 15_000);

    assert.deepEqual(statuses.map((s) => [s.id, s.status]), [["early-2", "sent"], ["early-2", "delivered"]]);
    assert.ok(Date.now() - sent < 10_000, "matched long before the first timed retry (30 s)");
    assert.equal(unmatched(), 0);
  });
});

test("a receipt still waiting for its correlation when the flow stops is answered 'try again later' at once", { timeout: 20_000 }, async () => {
  await withBridge(60, async ({ sim, unmatched }) => {
    const answer = sim.sendReceipt("never-submitted", "DELIVRD");
    await new Promise((r) => setTimeout(r, 300));
    const stopping = Date.now();
    await helper.unload();
    assert.equal(await answer, ESME_RX_T_APPN, "the SMSC is told to deliver it again later");
    assert.ok(Date.now() - stopping < 4_000, "answered while stopping, not left to the SMSC's timeout");
    assert.equal(unmatched(), 0, "not handed on as unmatched: it was never looked up to the end");
  });
});
