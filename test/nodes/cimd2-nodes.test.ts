/**
 * cimd2-bind, cimd2-out and cimd2-in in Node-RED's runtime (node-red-node-test-helper), with the
 * SMSC played by sim/cimd2 on 127.0.0.1. Reference aggregator-protocols.md §3.3-3.5.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { pendingAcks } from "../../nodes/shared/pending";
import { startCimd2Sim, type Cimd2Sim } from "../../sim/cimd2";
import { helper, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { waitFor } from "../helpers/wait";
import { mt, smscNodesFlow, type MoMsg as SmscMoMsg, type StatusMsg, type SubmitMsg } from "../helpers/smsc-nodes";

const USERNAME = "rapidpro";
const PASSWORD = "pw-Node-RED-cimd2";
const modules = () => nodeModules("cimd2-bind", "cimd2-out", "cimd2-in");

function flow(port: number, bind: Record<string, unknown> = {}, input: Record<string, unknown> = {}, output: Record<string, unknown> = {}) {
  return smscNodesFlow("cimd2", { bind: { port, window: 1, ...bind }, out: { referenceBits: "8", ...output }, in: input });
}
const credentials = { b1: { username: USERNAME, password: PASSWORD } };

type MoMsg = SmscMoMsg<{ cimd2: { parts: number } }>;

const settleEvery = (id: string) =>
  (helper.getNode(id) as unknown as NodeJS.EventEmitter).on("input", (msg: { ack?: string }) => {
    if (msg.ack) pendingAcks.settle(msg.ack, { ok: true });
  });

describe("cimd2 nodes", () => {
  let sim: Cimd2Sim;

  beforeEach(async () => {
    sim = await startCimd2Sim({ credentials: { username: USERNAME, password: PASSWORD }, reportDelayMs: 30, redeliverMs: 100 });
    await startHelper();
  });
  afterEach(async () => {
    await stopHelper();
    await sim.close();
  });

  const load = async (bind: Record<string, unknown> = {}, input: Record<string, unknown> = {}, output: Record<string, unknown> = {}) => {
    await helper.load(modules(), flow(sim.port, bind, input, output), credentials);
    await waitFor(() => sim.counters.logins === 1, "the login");
  };

  test("§3.5 the report repeats 060 and 021: MT accepted, its report a status, answered 73 only after settle", async () => {
    await load();
    const submitted = nextMessage<SubmitMsg>("h1");
    const status = nextMessage<StatusMsg>("st");
    helper.getNode("out1").receive({ payload: mt("msg-1") });
    const out = await submitted;
    const key = `${sim.submitted[0].timestamp}:4790000001`;
    assert.deepEqual(out.submit, { accepted: true, parts: 1, smscIds: [key] });
    assert.equal(sim.submitted[0].statusReportRequest, 14);
    const st = await status;
    assert.deepEqual(st.payload, { id: "msg-1", status: "delivered", smscId: key });
    assert.equal(sim.counters.answered, 0, "answered before RapidPro took it");
    assert.ok(st.ack && pendingAcks.settle(st.ack, { ok: true }));
    await waitFor(() => sim.counters.answered === 1, "73 for the report");
  });

  test("a report RapidPro did not take is answered error 710 and comes again", async () => {
    await load();
    const statuses: StatusMsg[] = [];
    let first = true;
    (helper.getNode("st") as unknown as NodeJS.EventEmitter).on("input", (msg: StatusMsg) => {
      statuses.push(msg);
      pendingAcks.settle(msg.ack!, first ? { ok: false, temporary: true, reason: "RapidPro down" } : { ok: true });
      first = false;
    });
    helper.getNode("out1").receive({ payload: mt("msg-2") });
    await waitFor(() => sim.counters.answered === 1, "73 after the redelivery");
    assert.ok(sim.counters.refusedAnswers >= 1);
    assert.deepEqual(statuses.map((s) => s.payload.status), ["delivered", "delivered"]);
  });

  test("MO: 3 parts out of order reassembled, one MO; UCS-2 with an emoji; the no-056 option", async () => {
    await load({ omitStatusReportRequest: true });
    settleEvery("mo");
    const mo = nextMessage<MoMsg>("mo");
    const long = "This is a long MO with {braces} and [brackets] and the euro sign € " + "x".repeat(300);
    const answers = await sim.sendMo({ from: "+4790000002", to: "2020", text: long, order: [2, 0, 1] });
    const msg = await mo;
    assert.equal(msg.payload.text, long);
    assert.equal(msg.cimd2.parts, 3);
    assert.equal(msg.payload.from, "+4790000002");
    assert.deepEqual(answers, ["70", "70", "70"]);
    const emoji = nextMessage<MoMsg>("mo");
    await sim.sendMo({ from: "4790000003", to: "2020", text: "Привет 👋", encoding: "ucs2" });
    assert.equal((await emoji).payload.text, "Привет 👋");
    const submitted = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-3") });
    await submitted;
    assert.equal(sim.submitted[0].statusReportRequest, undefined);
  });

  test("a report of an unknown key goes to output 3 and is acknowledged", async () => {
    await load();
    const unmatched = nextMessage<{ payload: { key: string }; topic: string }>("un");
    const answer = await sim.sendReport({ destination: "4790000009", timestamp: "261205101010" }, 4);
    assert.equal((await unmatched).payload.key, "261205101010:4790000009");
    assert.equal(answer, "73");
  });

  test("bad input: an MT that is not one, a destination that is not a number, validity out of range: refused with a reason, nothing submitted", async () => {
    await load({}, {}, { validity: 60 });
    const cases: { payload: unknown; cimd2?: unknown; code: string }[] = [
      { payload: "hello", code: "INVALID_MT" },
      { payload: { id: "x1", to: "someone", from: "2020", text: "hi" }, code: "INVALID_DESTINATION" },
      { payload: { id: "x2", to: "+4790000001", from: "2020", text: "hi" }, cimd2: { validity: 10_000_000 }, code: "INVALID_OPTION" },
    ];
    for (const c of cases) {
      const out = nextMessage<SubmitMsg>("h1");
      helper.getNode("out1").receive({ payload: c.payload, cimd2: c.cimd2 });
      const msg = await out;
      assert.equal(msg.submit.accepted, false);
      assert.equal(msg.submit.error?.code, c.code);
    }
    assert.equal(sim.counters.submits, 0);
  });

  test("wrong credentials: the bind reports the refusal and retries; the password is in no status or error", async () => {
    await helper.load(modules(), flow(sim.port), { b1: { username: USERNAME, password: "wrong-password-xyz" } });
    await waitFor(() => sim.counters.refusedLogins >= 2, "a refused login and its retry", 10_000);
    const bind = helper.getNode("b1") as unknown as { session: { status: { state: string; lastError?: string } } };
    assert.notEqual(bind.session.status.state, "loggedIn");
    assert.match(bind.session.status.lastError ?? "", /100|login/);
    assert.ok(!JSON.stringify(bind.session.status).includes("wrong-password-xyz"));
  });

  test("a misconfigured bind (no host) refuses MTs as temporary with the reason", async () => {
    await helper.load(modules(), flow(sim.port, { host: "" }), credentials);
    const out = nextMessage<SubmitMsg>("h1");
    helper.getNode("out1").receive({ payload: mt("msg-5") });
    const msg = await out;
    assert.deepEqual(msg.submit.error, { code: "BIND_MISCONFIGURED", text: "SMSC host is empty", temporary: true });
  });
});
