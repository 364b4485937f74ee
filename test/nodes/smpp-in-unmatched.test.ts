/**
 * smpp-in and a receipt that never finds its record (its submit_sm_resp was lost with the
 * connection, so the bridge never learnt the SMSC's id): the SMSC's deliver_sm_resp timeout
 * (5 s in sim/smsc) is shorter than `unmatchedWait`, so it delivers the receipt again while
 * smpp-in waits. The wait must count from the first delivery, or no delivery is ever answered
 * in time and a store-and-forward SMSC sends the receipt forever (found by the fault tests).
 */
import { afterEach, beforeEach, test } from "node:test";
import assert from "node:assert/strict";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { helper, nodeModules, startHelper, stopHelper } from "../helpers/red";

let sim: SmscSim;

beforeEach(async () => {
  sim = await startSmsc({ redeliverMs: 200 });
  await startHelper();
});
afterEach(async () => {
  await stopHelper();
  await sim.close();
});

test("an unmatched receipt is answered ESME_ROK once unmatchedWait has passed since its first delivery, and handed on once", { timeout: 30_000 }, async () => {
  const flow = [
    { id: "t1", type: "tab" },
    { id: "b1", type: "smpp-bind", host: "127.0.0.1", port: sim.port, mode: "transceiver", storeUrl: "memory:", window: 10, idMode: "auto" },
    { id: "in1", z: "t1", type: "smpp-in", bind: "b1", ackMode: "rapidpro", ackTimeout: 2, unmatchedWait: 7, wires: [[], [], ["un"]] },
    { id: "un", z: "t1", type: "helper" },
  ];
  await helper.load(nodeModules("smpp-bind", "smpp-in"), flow, { b1: { systemId: "esme", password: "pw" } });
  const until = Date.now() + 5_000;
  while (sim.counters.binds.transceiver === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  const unmatched: unknown[] = [];
  (helper.getNode("un") as unknown as NodeJS.EventEmitter).on("input", (msg: unknown) => unmatched.push(msg));

  const started = Date.now();
  // Resolves with the status of the delivery that was finally acknowledged (redeliverMs set).
  const status = await sim.sendReceipt("4242", "DELIVRD");
  const took = Date.now() - started;
  assert.equal(status, 0, "acknowledged ESME_ROK in the end");
  assert.ok(sim.counters.redeliveries >= 1, "the SMSC timed out the first delivery and sent it again");
  assert.ok(took >= 6_500 && took < 12_000, `answered about unmatchedWait after the first delivery (took ${took} ms)`);
  await new Promise((r) => setTimeout(r, 300));
  assert.equal(unmatched.length, 1, "output 3 had it once");
});
