/**
 * ucp-bind, ucp-out and ucp-in in Node-RED's runtime (node-red-node-test-helper), with the
 * SMSC played by sim/ucp on 127.0.0.1. Reference aggregator-protocols.md §2.2.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Status } from "../../lib/contract";
import { pendingAcks } from "../../nodes/shared/pending";
import { startUcpSmsc, type UcpSim } from "../../sim/ucp";
import { helper, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { waitFor } from "../helpers/wait";
import { mt, smscNodesFlow, type MoMsg as SmscMoMsg, type StatusMsg, type SubmitMsg } from "../helpers/smsc-nodes";

const USERNAME = "4470";
const PASSWORD = "pw-Node-RED-ucp";
const modules = () => nodeModules("ucp-bind", "ucp-out", "ucp-in");

function flow(port: number, bind: Record<string, unknown> = {}, input: Record<string, unknown> = {}) {
  return smscNodesFlow("ucp", { bind: { port, window: 10, alphabet: "gsm", ...bind }, out: { referenceBits: "8" }, in: input });
}
const credentials = { b1: { username: USERNAME, password: PASSWORD } };

type MoMsg = SmscMoMsg<{ ucp: { parts: number } }>;


describe("ucp nodes", () => {
  let sim: UcpSim;

  beforeEach(async () => {
    sim = await startUcpSmsc({ credentials: { username: USERNAME, password: PASSWORD }, notifyDelayMs: 30 });
    await startHelper();
  });
  afterEach(async () => {
    await stopHelper();
    await sim.close();
  });

  const load = async (bind: Record<string, unknown> = {}, input: Record<string, unknown> = {}) => {
    await helper.load(modules(), flow(sim.port, bind, input), credentials);
    await waitFor(() => sim.counters.logins === 1, "the login");
  };

  test("§2.2 'A//<ADC>:<SCTS>/ is the message reference used later by OT 53': MT accepted, its notification a status, answered A only after settle", async () => {
    await load();
    const submitted = nextMessage<SubmitMsg>("h1");
    const status = nextMessage<StatusMsg>("st");
    helper.getNode("out1").receive({ payload: mt("msg-1") });
    const out = await submitted;
    const reference = `${sim.submitted[0].recipient}:${sim.submitted[0].scts}`;
    assert.deepEqual(out.submit, { accepted: true, parts: 1, smscIds: [reference] });
    const st = await status;
    assert.deepEqual(st.payload, { id: "msg-1", status: "delivered", smscId: reference });
    assert.equal(sim.counters.answers.positive, 0, "answered before RapidPro took it");
    assert.ok(st.ack && pendingAcks.settle(st.ack, { ok: true }));
    await waitFor(() => sim.counters.answers.positive === 1, "A for the notification");
  });

  test("a long UCS-2 MT goes as parts; one status for the whole message", async () => {
    await load();
    const submitted = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-long", "Привет мир ".repeat(12)) });
    const out = await submitted;
    assert.deepEqual([out.submit.accepted, out.submit.parts, out.submit.smscIds.length], [true, 2, 2]);
    assert.ok(sim.submitted.every((s) => s.fields.MT === "4" && s.fields.XSER.startsWith("0106050003")));
    const statuses: Status[] = [];
    (helper.getNode("st") as unknown as NodeJS.EventEmitter).on("input", (msg: StatusMsg) => {
      statuses.push(msg.payload);
      if (msg.ack) pendingAcks.settle(msg.ack, { ok: true });
    });
    await waitFor(() => statuses.some((s) => s.status === "delivered"), "delivered");
    assert.deepEqual(statuses.map((s) => s.status), ["sent", "delivered"].slice(-statuses.length));
  });

  test("MO of 3 parts out of order: one MO with the text joined, each part answered A", async () => {
    await load();
    const mo = nextMessage<MoMsg>("mo");
    const text = "A long message from a phone that needs three SMS parts to carry all of it. ".repeat(5).trim();
    const answers = sim.sendMo({ from: "4790000002", to: "2020", text, reverse: true });
    const msg = await mo;
    assert.deepEqual([msg.payload.text, msg.ucp.parts], [text, 3]);
    assert.ok(msg.ack && pendingAcks.settle(msg.ack, { ok: true }));
    assert.deepEqual(await answers, ["A", "A", "A"]);
  });

  test("RapidPro refused the MO for good: N/02; not taken in time: N/04 (decisions 22, 23)", async () => {
    await load({}, { ackTimeout: 1 });
    const first = nextMessage<MoMsg>("mo");
    const refused = sim.sendMo({ from: "4790000002", to: "2020", text: "bad" });
    const msg = await first;
    pendingAcks.settle(msg.ack!, { ok: false, temporary: false, reason: "courier said 400" });
    assert.deepEqual(await refused, ["N/02"]);
    assert.deepEqual(await sim.sendMo({ from: "4790000002", to: "2020", text: "nobody acks" }), ["N/04"]);
  });

  test("a notification for no known submit: output 3, answered A", async () => {
    await load();
    const unmatched = nextMessage<{ payload: { key: string } }>("un");
    const answer = sim.sendNotification({ recipient: "4790000009", scts: "051226101500" }, "delivered");
    assert.equal((await unmatched).payload.key, "4790000009:051226101500");
    assert.equal(await answer, "A");
  });

  test("bad input: not an MT and an unsendable text are refused with a reason, nothing submitted", async () => {
    await load();
    for (const payload of [{ text: "no id" }, mt("msg-bad", "x".repeat(2000))]) {
      const out = nextMessage<SubmitMsg>("h1");
      const caught = nextMessage<{ error: { message: string } }>("hc");
      helper.getNode("out1").receive({ payload });
      const msg = await out;
      assert.equal(msg.submit.accepted, false);
      assert.match((await caught).error.message, /UCP submit not accepted: .+/);
    }
    assert.equal(sim.submitted.length, 0);
  });

  test("wrong password: status shows the refusal, the password appears nowhere", async () => {
    const statuses: string[] = [];
    await helper.load(modules(), flow(sim.port), { b1: { username: USERNAME, password: "wrong-secret-1" } });
    (helper.getNode("out1") as unknown as NodeJS.EventEmitter).on("call:status", (call: { args: [{ text?: string }] }) => statuses.push(call.args[0].text ?? ""));
    await waitFor(() => sim.counters.loginsRefused >= 1, "a refused login");
    await waitFor(() => statuses.some((s) => /reconnecting/.test(s)), "the reconnecting status");
    assert.ok(statuses.every((s) => !s.includes("wrong-secret-1")));
  });

  test("misconfigured bind (window 500): ucp-out answers BIND_MISCONFIGURED with the reason", async () => {
    await helper.load(modules(), flow(sim.port, { window: 500 }), credentials);
    const out = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-x") });
    const msg = await out;
    assert.deepEqual([msg.submit.error?.code, msg.submit.error?.text], ["BIND_MISCONFIGURED", 'window "500" is not 1 to 100']);
  });
});
