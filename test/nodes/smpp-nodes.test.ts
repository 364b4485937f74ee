/**
 * smpp-bind, smpp-out and smpp-in in Node-RED's runtime (node-red-node-test-helper), with
 * the SMSC played by sim/smsc on 127.0.0.1.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Status } from "../../lib/contract";
import { pendingAcks } from "../../nodes/shared/pending";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { helper, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { waitFor } from "../helpers/wait";
import { mt, smscNodesFlow, type MoMsg, type StatusMsg, type SubmitMsg } from "../helpers/smsc-nodes";

const SYSTEM_ID = "esme01";
const PASSWORD = "pw-Node-RED-1";
const modules = () => nodeModules("smpp-bind", "smpp-out", "smpp-in");

function flow(port: number, bind: Record<string, unknown> = {}, input: Record<string, unknown> = {}) {
  return smscNodesFlow("smpp", { bind: { port, mode: "transceiver", window: 10, idMode: "auto", ...bind }, out: { encoding: "auto", split: "udh8", registeredDelivery: "1" }, in: input });
}
const credentials = { b1: { systemId: SYSTEM_ID, password: PASSWORD } };



describe("smpp nodes", () => {
  let sim: SmscSim;

  beforeEach(async () => {
    sim = await startSmsc({ credentials: { systemId: SYSTEM_ID, password: PASSWORD }, receiptDelayMs: 30 });
    await startHelper();
  });
  afterEach(async () => {
    await stopHelper();
    await sim.close();
  });

  const load = async (bind: Record<string, unknown> = {}, input: Record<string, unknown> = {}) => {
    await helper.load(modules(), flow(sim.port, bind, input), credentials);
    await waitFor(() => sim.counters.binds.transceiver === 1, "the bind");
  };

  test("MT accepted: msg.submit carries the SMSC id; its receipt becomes a RapidPro status; acked after settle", async () => {
    await load();
    const submitted = nextMessage<SubmitMsg>("h1");
    const status = nextMessage<StatusMsg>("st");
    helper.getNode("out1").receive({ payload: mt("msg-1") });
    const out = await submitted;
    assert.deepEqual(out.submit, { accepted: true, parts: 1, smscIds: [sim.submitted[0].messageId] });
    const st = await status;
    assert.deepEqual(st.payload, { id: "msg-1", status: "delivered", smscId: sim.submitted[0].messageId });
    assert.equal(sim.counters.deliverResps[0] ?? 0, 0, "answered before RapidPro took it");
    assert.ok(st.ack && pendingAcks.settle(st.ack, { ok: true }));
    await waitFor(() => sim.counters.deliverResps[0] === 1, "ESME_ROK for the receipt");
  });

  test("a long MT goes as 2 UDH parts; one status for the whole message (delivered only when every part is)", async () => {
    await load();
    const submitted = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-long", "x".repeat(200)) });
    const out = await submitted;
    assert.equal(out.submit.accepted, true);
    assert.equal(out.submit.parts, 2);
    assert.equal(out.submit.smscIds.length, 2);
    const statuses: Status[] = [];
    (helper.getNode("st") as unknown as NodeJS.EventEmitter).on("input", (msg: StatusMsg) => {
      statuses.push(msg.payload);
      if (msg.ack) pendingAcks.settle(msg.ack, { ok: true });
    });
    await waitFor(() => statuses.some((s) => s.status === "delivered"), "the delivered status");
    assert.deepEqual(statuses.map((s) => [s.id, s.status]), [["msg-long", "sent"], ["msg-long", "delivered"]]);
    // Every status of the message names it by its first part's id, whichever part's receipt completed it.
    assert.deepEqual(statuses.map((s) => s.smscId), [out.submit.smscIds[0], out.submit.smscIds[0]]);
  });

  test("a status is recorded as reported only once handed on: a failed hand-over reports again on redelivery, a repeat after success reports nothing", async () => {
    await load({}, { ackTimeout: 5 });
    const statuses: StatusMsg[] = [];
    (helper.getNode("st") as unknown as NodeJS.EventEmitter).on("input", (msg: StatusMsg) => statuses.push(msg));
    const submitted = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-again") });
    const id = (await submitted).submit.smscIds[0];
    await waitFor(() => statuses.length === 1, "the first status");
    // RapidPro was down: the hand-over fails, the SMSC gets ESME_RX_T_APPN and delivers the receipt again.
    pendingAcks.settle(statuses[0].ack!, { ok: false, temporary: true, reason: "courier down" });
    await waitFor(() => sim.counters.deliverResps[0x64] === 1, "ESME_RX_T_APPN");
    const again = sim.sendReceipt(id, "DELIVRD");
    await waitFor(() => statuses.length === 2, "the status reported again");
    assert.deepEqual(statuses[1].payload, statuses[0].payload);
    pendingAcks.settle(statuses[1].ack!, { ok: true });
    assert.equal(await again, 0);
    // The same receipt once more (its ESME_ROK was lost, say): nothing new to report.
    assert.equal(await sim.sendReceipt(id, "DELIVRD"), 0);
    assert.equal(statuses.length, 2);
  });

  test("receipts of the parts of one message arriving together report each step once", async () => {
    await load();
    const statuses: Status[] = [];
    (helper.getNode("st") as unknown as NodeJS.EventEmitter).on("input", (msg: StatusMsg) => {
      statuses.push(msg.payload);
      if (msg.ack) setTimeout(() => pendingAcks.settle(msg.ack!, { ok: true }), 20);
    });
    const submitted = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-3", "y".repeat(400)) });
    const out = await submitted;
    assert.equal(out.submit.parts, 3);
    await waitFor(() => statuses.some((st) => st.status === "delivered"), "the delivered status");
    // the automatic receipts, then all three again at once: no step is reported twice
    await Promise.all(out.submit.smscIds.map((smscId) => sim.sendReceipt(smscId, "DELIVRD")));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(statuses.map((st) => st.status), ["sent", "delivered"]);
  });

  test("courier's resend of an MT the SMSC accepted is answered from the store, not submitted again", async () => {
    await load();
    const first = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-resent", "z".repeat(200)) });
    const accepted = (await first).submit;
    assert.equal(sim.counters.submits, 2);
    // Node-RED was killed before courier heard the answer: courier sends the same MT again.
    const second = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-resent", "z".repeat(200)) });
    assert.deepEqual((await second).submit, { ...accepted, repeat: true });
    assert.equal(sim.counters.submits, 2, "no second SMS");
  });

  test("two copies of one MT at once (courier timed out and resent): one submission, both answered alike", async () => {
    await load({}, {});
    const outputs: SubmitMsg[] = [];
    (helper.getNode("h1") as unknown as NodeJS.EventEmitter).on("input", (msg: SubmitMsg) => outputs.push(msg));
    helper.getNode("out1").receive({ payload: mt("msg-twice") });
    helper.getNode("out1").receive({ payload: mt("msg-twice") });
    await waitFor(() => outputs.length === 2, "both answers");
    assert.equal(sim.counters.submits, 1);
    assert.deepEqual(outputs[1].submit, { ...outputs[0].submit, repeat: true });
  });

  test("a message whose earlier submission failed is submitted anew when RapidPro resends it", async () => {
    await sim.close();
    sim = await startSmsc({ credentials: { systemId: SYSTEM_ID, password: PASSWORD }, receiptDelayMs: 30, receiptStat: "UNDELIV" });
    await load();
    const statuses: StatusMsg[] = [];
    (helper.getNode("st") as unknown as NodeJS.EventEmitter).on("input", (msg: StatusMsg) => {
      statuses.push(msg);
      if (msg.ack) pendingAcks.settle(msg.ack, { ok: true });
    });
    const first = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-failed") });
    const firstIds = (await first).submit.smscIds;
    await waitFor(() => statuses.some((st) => st.payload.status === "failed"), "the failed status");
    const second = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-failed") });
    const again = (await second).submit;
    assert.equal(again.accepted, true);
    assert.equal(again.repeat, undefined);
    assert.notDeepEqual(again.smscIds, firstIds);
    assert.equal(sim.counters.submits, 2);
  });

  test("priority and source TON/NPI from the node, registered_delivery, validity and priority from msg.smpp", async () => {
    await helper.load(
      modules(),
      flow(sim.port).map((n) => (n.id === "out1" ? { ...n, priority: "1", sourceTon: "2", sourceNpi: "9" } : n)),
      credentials,
    );
    await waitFor(() => sim.counters.binds.transceiver === 1, "the bind");
    const first = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-node") });
    await first;
    const second = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-msg"), smpp: { priority: 3, registeredDelivery: 0, validity: 60 } } as never);
    await second;
    const [a, b] = sim.submitted.map((r) => r.pdu);
    assert.deepEqual([a.priority_flag, a.source_addr_ton, a.source_addr_npi, a.registered_delivery], [1, 2, 9, 1]);
    assert.deepEqual([b.priority_flag, b.registered_delivery], [3, 0]);
    // the smpp package reads a relative validity period into the moment it ends: one hour from now
    const ends = new Date(b.validity_period as unknown as string).getTime();
    assert.ok(Math.abs(ends - Date.now() - 3_600_000) < 120_000, `validity ends ${new Date(ends).toISOString()}`);
  });

  test("an SMSC refusal: accepted false with the status classified, a Catch node sees the error", async () => {
    await load();
    sim.setFault({ statusNext: { status: 0x0b, count: 1 } });
    const submitted = nextMessage<SubmitMsg>("h1");
    const caught = nextMessage<{ error: { message: string } }>("hc");
    helper.getNode("out1").receive({ payload: mt("msg-bad") });
    const out = await submitted;
    assert.equal(out.submit.accepted, false);
    assert.equal(out.submit.error?.code, 0x0b);
    assert.equal(out.submit.error?.temporary, false);
    assert.match((await caught).error.message, /ESME_RINVDSTADR/);
  });

  const badInput: Array<[string, unknown, string]> = [
    ["no id", { to: "+4790000001", from: "2020", text: "x" }, "INVALID_MT"],
    ["a string payload", "hello", "INVALID_MT"],
    ["an unusable destination", { id: "m", to: "", from: "2020", text: "x" }, "INVALID_DESTINATION"],
  ];
  for (const [name, payload, code] of badInput) {
    test(`bad MT (${name}) → accepted false, ${code}, nothing sent`, async () => {
      await load();
      const submitted = nextMessage<SubmitMsg>("h1");
      helper.getNode("out1").receive({ payload });
      const out = await submitted;
      assert.equal(out.submit.accepted, false);
      assert.equal(out.submit.error?.code, code);
      assert.equal(sim.counters.submits, 0);
    });
  }

  describe("MO acknowledgement (DESIGN.md: 'acknowledged with success only after RapidPro accepted it')", () => {
    const cases: Array<{ name: string; settle?: { ok: boolean; temporary?: boolean }; expected: number }> = [
      { name: "RapidPro accepted → ESME_ROK", settle: { ok: true }, expected: 0 },
      { name: "RapidPro down (temporary) → ESME_RX_T_APPN 0x64", settle: { ok: false, temporary: true }, expected: 0x64 },
      { name: "RapidPro refused for good → ESME_RX_P_APPN 0x65", settle: { ok: false, temporary: false }, expected: 0x65 },
      { name: "nobody settles msg.ack in time → ESME_RX_T_APPN 0x64", expected: 0x64 },
    ];
    for (const c of cases) {
      test(c.name, async () => {
        await load();
        const mo = nextMessage<MoMsg>("mo");
        const answered = sim.sendMo({ from: "4790000002", to: "2020", text: "Hi there" });
        const msg = await mo;
        assert.equal(msg.payload.text, "Hi there");
        assert.equal(msg.payload.from, "4790000002");
        assert.match(msg.payload.date, /^\d{4}-\d\d-\d\dT/);
        if (c.settle) assert.ok(msg.ack && pendingAcks.settle(msg.ack, c.settle));
        assert.deepEqual(await answered, [c.expected]);
      });
    }

    test("a long MO in 3 UDH parts arrives once, reassembled", async () => {
      await load();
      const text = "A long message from the phone. ".repeat(12).trim();
      const mo = nextMessage<MoMsg>("mo");
      const answered = sim.sendMo({ from: "4790000002", to: "2020", text, reverse: true });
      const msg = await mo;
      assert.equal(msg.payload.text, text);
      assert.ok(msg.ack && pendingAcks.settle(msg.ack, { ok: true }));
      assert.deepEqual(await answered, [0, 0, 0]);
    });

    test("a long MO RapidPro could not take: the redelivered last part completes it again", async () => {
      await load();
      const text = "Parts must not be lost when RapidPro is down. ".repeat(8).trim();
      const first = nextMessage<MoMsg>("mo");
      const answered = sim.sendMo({ from: "4790000002", to: "2020", text, reference: 42 });
      const msg1 = await first;
      assert.ok(msg1.ack && pendingAcks.settle(msg1.ack, { ok: false, temporary: true }));
      const statuses = await answered;
      assert.deepEqual(statuses.slice(0, -1).every((s) => s === 0), true);
      assert.equal(statuses[statuses.length - 1], 0x64);
      const again = nextMessage<MoMsg>("mo");
      const redelivered = sim.sendMo({ from: "4790000002", to: "2020", text, reference: 42, only: [statuses.length] });
      const msg2 = await again;
      assert.equal(msg2.payload.text, text);
      assert.ok(msg2.ack && pendingAcks.settle(msg2.ack, { ok: true }));
      assert.deepEqual(await redelivered, [0]);
    });

    test("ackMode 'at once' answers ESME_ROK without waiting", async () => {
      await load({}, { ackMode: "receipt" });
      const mo = nextMessage<MoMsg>("mo");
      assert.deepEqual(await sim.sendMo({ from: "4790000002", to: "2020", text: "quick" }), [0]);
      assert.equal((await mo).ack, undefined);
    });
  });

  // unmatchedWait 0.2 s and an SMSC that does not deliver again: the one delivery must wait the whole wait and give
  // up, or the receipt never reaches output 3 (test/unit/delivery/receipts-wait.test.ts plays the loaded machine).
  test("a receipt for an unknown message id goes to output 3 and is acknowledged", async () => {
    await load();
    const unmatched = nextMessage<{ payload: { messageId: string } }>("un");
    const answered = sim.sendReceipt("77777", "DELIVRD");
    assert.equal((await unmatched).payload.messageId, "77777");
    assert.equal(await answered, 0);
  });

  test("the bind's state shows on the nodes; closing unbinds and leaves no connection", async () => {
    await load();
    // The helper does not load message catalogues, so texts may stay as their keys.
    const seen: string[] = [];
    const out = helper.getNode("out1") as unknown as { status: (s: { fill?: string; shape?: string; text?: string }) => void };
    const original = out.status.bind(out);
    out.status = (s) => {
      seen.push(`${s.fill}/${s.shape}/${s.text}`);
      original(s);
    };
    sim.drop();
    await waitFor(() => seen.some((t) => /^red\/ring\/.*reconnecting/.test(t)), `a red 'reconnecting' status in ${JSON.stringify(seen)}`);
    await waitFor(() => seen.some((t) => /^green\/dot\/.*bound/.test(t)), `a green 'bound' status in ${JSON.stringify(seen)}`);
    await helper.unload();
    assert.equal(sim.counters.unbinds, 1);
    await waitFor(() => sim.counters.openConnections === 0, "no connection left");
  });

  test("a misconfigured bind (no host) refuses submits as temporary and never connects", async () => {
    await helper.load(modules(), flow(sim.port, { host: "" }), credentials);
    const submitted = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-x") });
    const out = await submitted;
    assert.equal(out.submit.accepted, false);
    assert.equal(out.submit.error?.code, "BIND_MISCONFIGURED");
    assert.match(out.submit.error?.text ?? "", /host is empty/);
    assert.equal(sim.counters.connections, 0);
  });

  test("the password can come from the environment (${SMPP_PASSWORD})", async () => {
    process.env.SMPP_PASSWORD_TEST = PASSWORD;
    try {
      await helper.load(modules(), flow(sim.port), { b1: { systemId: SYSTEM_ID, password: "${SMPP_PASSWORD_TEST}" } });
      await waitFor(() => sim.counters.binds.transceiver === 1, "the bind");
      assert.equal(sim.counters.bindsRefused, 0);
    } finally {
      delete process.env.SMPP_PASSWORD_TEST;
    }
  });
});
