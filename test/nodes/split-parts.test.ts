/**
 * Courier splits a text longer than the channel's `max_length` (UTF-8 bytes) into several
 * requests that carry the same id and differ in text ("Every part carries the same
 * {{id}}/{{uuid}}. No part number, part count or UDH is provided", reference
 * rapidpro-external-channel.md §4.1). Each part must reach the phone once; only a request
 * that repeats id and text is a resend. Run against both bridges' out nodes in Node-RED.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MT, SubmitResult } from "../../lib/contract";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { startRapportoSim, type RapportoSim } from "../../sim/rapporto";
import { helper, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { waitFor } from "../helpers/wait";

type SubmitMsg = { payload: MT; submit: SubmitResult };

/** Courier's own test case with max_length 30 (handler_test.go): three parts of one uuid. */
const ID = "0191e180-7d60-7000-a000-000000000001";
const PARTS = ["This is a long message that", "will be longer than 30.......", "characters"];

async function sendParts(nodeId: string, outId: string, texts: readonly string[]): Promise<SubmitResult[]> {
  const results: SubmitResult[] = [];
  for (const text of texts) {
    const out = nextMessage<SubmitMsg>(outId);
    helper.getNode(nodeId).receive({ payload: { id: ID, to: "+4790000001", from: "2020", text } });
    results.push((await out).submit);
  }
  return results;
}

describe("courier's split parts through smpp-out", () => {
  let sim: SmscSim;
  beforeEach(async () => {
    sim = await startSmsc({ credentials: { systemId: "esme01", password: "pw" }, receiptDelayMs: 30 });
    await startHelper();
    const flow = [
      { id: "t1", type: "tab" },
      { id: "b1", type: "smpp-bind", host: "127.0.0.1", port: sim.port, mode: "transceiver", storeUrl: "memory:", window: 10, idMode: "auto" },
      { id: "out1", z: "t1", type: "smpp-out", bind: "b1", encoding: "auto", smart: true, split: "udh8", maxParts: 10, registeredDelivery: "1", wires: [["h1"]] },
      { id: "h1", z: "t1", type: "helper" },
    ];
    await helper.load(nodeModules("smpp-bind", "smpp-out"), flow, { b1: { systemId: "esme01", password: "pw" } });
    await waitFor(() => sim.counters.binds.transceiver === 1, "the bind");
  });
  afterEach(async () => {
    await stopHelper();
    await sim.close();
  });

  test("three parts of one id: each submitted once, none answered as a repeat", async () => {
    const results = await sendParts("out1", "h1", PARTS);
    assert.deepEqual(results.map((r) => [r.accepted, r.repeat]), [[true, undefined], [true, undefined], [true, undefined]]);
    assert.deepEqual(sim.submitted.map((s) => (s.pdu.short_message as { message?: string }).message), PARTS);
  });

  test("courier's resend of all three parts submits nothing more", async () => {
    const first = await sendParts("out1", "h1", PARTS);
    const again = await sendParts("out1", "h1", PARTS);
    assert.deepEqual(again, first.map((r) => ({ ...r, repeat: true })));
    assert.equal(sim.counters.submits, 3);
  });
});

describe("courier's split parts through rapporto-mt", () => {
  let sim: RapportoSim;
  beforeEach(async () => {
    sim = await startRapportoSim({ pass: "p4ss" });
    await startHelper();
    const flow = [
      { id: "t1", type: "tab" },
      { id: "acc", type: "rapporto-account", url: sim.mtUrl, serviceId: "login", source: "Brand", profile: "v5", method: "GET", output: "text", rate: 10, allowedIps: "", storeUrl: "memory:" },
      { id: "mt", z: "t1", type: "rapporto-mt", account: "acc", partnerMsgId: true, budget: 5, wires: [["h-mt"]] },
      { id: "h-mt", z: "t1", type: "helper" },
    ];
    await helper.load(nodeModules("rapporto-account", "rapporto-mt"), flow, { acc: { pass: "p4ss" } });
  });
  afterEach(async () => {
    await stopHelper();
    await sim.close();
  });

  test("three parts of one id: each sent once (partnerMsgId differs per part), none answered as a repeat", async () => {
    const results = await sendParts("mt", "h-mt", PARTS);
    assert.deepEqual(results.map((r) => [r.accepted, r.repeat]), [[true, undefined], [true, undefined], [true, undefined]]);
    assert.deepEqual(sim.sent.map((s) => s.message), PARTS);
    assert.equal(new Set(sim.sent.map((s) => s.partnerMsgId)).size, 3);
  });

  test("courier's resend of all three parts sends nothing more", async () => {
    const first = await sendParts("mt", "h-mt", PARTS);
    const again = await sendParts("mt", "h-mt", PARTS);
    assert.deepEqual(again, first.map((r) => ({ ...r, repeat: true })));
    assert.equal(sim.sent.length, 3);
  });
});
