/**
 * rapporto-account, rapporto-mt, rapporto-mo and rapporto-dlr in Node-RED's runtime
 * (node-red-node-test-helper), with Rapporto played by sim/rapporto on 127.0.0.1.
 */
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import type { Node } from "node-red";
import type { MT, Status, SubmitResult } from "../../lib/contract";
import { moSignature } from "../../lib/rapporto/mo";
import { partnerMsgIdFor } from "../../lib/rapporto/mt";
import { pendingAcks } from "../../nodes/shared/pending";
import type { RapportoAccountNode } from "../../nodes/rapporto-account/rapporto-account";
import { accountSettings, sourceRules } from "../../nodes/rapporto-account/rapporto-account";
import { helper, httpNodeApp, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { startRapportoSim, type RapportoSim } from "../../sim/rapporto";

const PASS = "s3cret-pass";
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require("@node-red/nodes/core/common/25-catch.js") as (RED: unknown) => void;
const modules = () => [...nodeModules("rapporto-account", "rapporto-mt", "rapporto-mo", "rapporto-dlr"), catchNode];

function flow(simUrl: string, account: Record<string, unknown> = {}, mo: Record<string, unknown> = {}, dlr: Record<string, unknown> = {}) {
  return [
    { id: "t1", type: "tab" },
    { id: "acc", type: "rapporto-account", url: simUrl, serviceId: "login", source: "Brand", profile: "v5", method: "GET", output: "text", rate: 10, allowedIps: "*", storeUrl: "memory:", ...account },
    { id: "mt", z: "t1", type: "rapporto-mt", account: "acc", partnerMsgId: true, budget: 5, wires: [["h-mt"]] },
    { id: "h-mt", z: "t1", type: "helper" },
    { id: "mo", z: "t1", type: "rapporto-mo", account: "acc", path: "/rapporto/mo", timeZone: "Europe/Moscow", ackMode: "rapidpro", replyTimeout: 0, wires: [["h-mo"]], ...mo },
    { id: "h-mo", z: "t1", type: "helper" },
    { id: "dlr", z: "t1", type: "rapporto-dlr", account: "acc", path: "/rapporto/dlr", maxTries: 2, ackMode: "rapidpro", wires: [["h-status"], ["h-unknown"]], ...dlr },
    { id: "h-status", z: "t1", type: "helper" },
    { id: "h-unknown", z: "t1", type: "helper" },
    { id: "catch-all", z: "t1", type: "catch", scope: null, wires: [["h-catch"]] },
    { id: "h-catch", z: "t1", type: "helper" },
  ];
}
const credentials = { acc: { pass: PASS } };

type MtOut = { payload: MT; submit: SubmitResult };
type MoOut = { payload: { from: string; to: string; text: string; date: string }; ack: string; onceId?: string; rapporto: { reply?: string; messageId?: string; params: Record<string, string> } };
type StatusOut = { payload: Status; ack: string };

const MO_QUERY = "clientId=79161234567&message=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%2B1&serviceId=login&receivedDate=2024-05-01%2013:00:00&shortNumber=0000&messageId=m-1";

describe("rapporto nodes", () => {
  let sim: RapportoSim;
  before(async () => {
    sim = await startRapportoSim({ pass: PASS });
  });
  after(async () => {
    await sim.close();
  });
  beforeEach(async () => {
    sim.sent.length = 0;
    sim.requests.length = 0;
    await startHelper();
  });
  afterEach(async () => {
    await stopHelper();
  });

  test("rapporto-mt: accepted, msg.submit set, correlation stored before the msg leaves", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const out = nextMessage<MtOut>("h-mt");
    helper.getNode("mt").receive({ payload: { id: "rp-100", to: "+79161234567", from: "", text: "Привет 😀 +" } } as never);
    const msg = await out;
    assert.deepEqual(msg.submit, { accepted: true, parts: 1, smscIds: [sim.sent[0].id] });
    assert.deepEqual([sim.sent[0].message, sim.sent[0].ptag, sim.sent[0].partnerMsgId, sim.sent[0].source], ["Привет 😀 +", "rp-100", partnerMsgIdFor("rp-100", "Привет 😀 +"), "Brand"]);
    const store = await (helper.getNode("acc") as unknown as RapportoAccountNode).store();
    assert.equal((await store.findByPart(sim.sent[0].id))?.rapidproId, "rp-100");
  });

  test("rapporto-mt: scheduled delivery window from msg.rapporto", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const out = nextMessage<MtOut>("h-mt");
    helper.getNode("mt").receive({ payload: { id: "rp-101", to: "7916", from: "", text: "x" }, rapporto: { sendingTime: "10_20", timeZone: "+03:00" } } as never);
    await out;
    assert.deepEqual([sim.sent[0].sendingTime, sim.sent[0].timeZone], ["10_20", "+03:00"]);
  });

  test("rapporto-mt: a permanent refusal is emitted with the reason and reaches Catch; pass never shown", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    sim.failNext(402, "Balance exhausted");
    const out = nextMessage<MtOut>("h-mt");
    const caught = nextMessage<{ error: { message: string } }>("h-catch");
    helper.getNode("mt").receive({ payload: { id: "rp-102", to: "7916", from: "", text: "x" } } as never);
    const msg = await out;
    assert.deepEqual(msg.submit.error, { code: 402, text: "Balance exhausted", temporary: false });
    assert.match((await caught).error.message, /Balance exhausted/);
    assert.ok(!JSON.stringify(msg).includes(PASS));
  });

  test("rapporto-mt: a payload that is not an MT is refused, not sent", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const out = nextMessage<MtOut>("h-mt");
    helper.getNode("mt").receive({ payload: "hello" } as never);
    assert.equal((await out).submit.error?.code, "input");
    assert.equal(sim.requests.length, 0);
  });

  test("rapporto-mo: MO contract out; 204 once rapidpro-out acknowledged it", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const out = nextMessage<MoOut>("h-mo");
    const res = request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`).then((r) => r);
    const msg = await out;
    assert.deepEqual(msg.payload, { from: "+79161234567", to: "0000", text: "Привет +1", date: "2024-05-01T13:00:00+03:00" });
    assert.equal(msg.rapporto.messageId, "m-1");
    assert.equal(msg.onceId, "rapporto:login:m-1", "rapidpro-out's outbox queues the MO once by it");
    pendingAcks.settle(msg.ack, { ok: true });
    const r = await res;
    assert.equal(r.status, 204);
  });

  test("rapporto-mo: not acknowledged (RapidPro down) gives 503; the retry is emitted again", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const first = nextMessage<MoOut>("h-mo");
    const res1 = request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`).then((r) => r);
    pendingAcks.settle((await first).ack, { ok: false, temporary: true, reason: "RapidPro down" });
    assert.equal((await res1).status, 503);
    const second = nextMessage<MoOut>("h-mo");
    const res2 = request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`).then((r) => r);
    pendingAcks.settle((await second).ack, { ok: true });
    assert.equal((await res2).status, 204);
  });

  test("rapporto-mo: refused by RapidPro for good (courier 400) gives 400 with the reason, so it is not pushed for ever", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const mo = nextMessage<MoOut>("h-mo");
    const res = request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`).then((r) => r);
    pendingAcks.settle((await mo).ack, { ok: false, temporary: false, reason: "courier: invalid urn" });
    assert.deepEqual([(await res).status, (await res).text], [400, "courier: invalid urn"]);
  });

  test("rapporto-mo: \"Partner must answer within the timeout (10 s unless agreed)\": no ack gives 503 before 10 s", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const t0 = Date.now();
    const r = await request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`);
    assert.equal(r.status, 503);
    assert.ok(Date.now() - t0 < 10_000, `answered after ${Date.now() - t0} ms`);
  });

  test("rapporto-mo: reply text from a flow gives 200 with the text; a repeated messageId gets it again without emitting", async () => {
    await helper.load(modules(), flow(sim.mtUrl, {}, { replyTimeout: 5 }), credentials);
    const emitted: MoOut[] = [];
    helper.getNode("h-mo").on("input", (m: unknown) => emitted.push(m as MoOut));
    const out = nextMessage<MoOut>("h-mo");
    const res = request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`).then((r) => r);
    const msg = await out;
    pendingAcks.settle(msg.ack, { ok: true });
    helper.getNode("mo").receive({ payload: ["Спасибо!", "a\nb"], rapporto: { reply: msg.rapporto.reply } } as never);
    const r = await res;
    assert.deepEqual([r.status, r.text], [200, "Спасибо!\r\na\rb"]);
    const again = await request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`);
    assert.deepEqual([again.status, again.text], [200, "Спасибо!\r\na\rb"]);
    assert.equal(emitted.length, 1);
  });

  const sources: { name: string; account: Record<string, unknown>; xff?: string; expected: number }[] = [
    { name: "allowed 127.0.0.0/8", account: { allowedIps: "127.0.0.0/8, ::1" }, expected: 204 },
    // Issue #14: an empty list refuses every push; only * opens the endpoint to every address.
    { name: "empty list refuses every address", account: { allowedIps: "" }, expected: 403 },
    { name: "* accepts every address", account: { allowedIps: "*" }, expected: 204 },
    { name: "not in the list", account: { allowedIps: "10.0.0.0/8" }, expected: 403 },
    { name: "X-Forwarded-For ignored when not trusted", account: { allowedIps: "192.0.2.1" }, xff: "192.0.2.1", expected: 403 },
    { name: "X-Forwarded-For from a named proxy", account: { allowedIps: "192.0.2.1", trustXff: true, trustedProxies: "127.0.0.1, ::1" }, xff: "192.0.2.1", expected: 204 },
  ];
  for (const s of sources) {
    test(`rapporto-mo source rules: ${s.name} → ${s.expected}`, async () => {
      await helper.load(modules(), flow(sim.mtUrl, s.account, { ackMode: "emit" }), credentials);
      let emitted = 0;
      helper.getNode("h-mo").on("input", () => emitted++);
      const req = request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`);
      const r = await (s.xff ? req.set("x-forwarded-for", s.xff) : req);
      assert.equal(r.status, s.expected);
      assert.equal(emitted, s.expected === 204 ? 1 : 0);
    });
  }

  test("rapporto-mo: signature key set: a bad hash is 403 and not emitted, the right one passes", async () => {
    await helper.load(modules(), flow(sim.mtUrl, {}, { ackMode: "emit" }), { acc: { pass: PASS, hashKey: "k3y" } });
    let emitted = 0;
    helper.getNode("h-mo").on("input", () => emitted++);
    const bad = await request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}&hash=AAAA`);
    const hash = encodeURIComponent(moSignature("79161234567", "Привет +1", "m-1", "k3y"));
    const good = await request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}&hash=${hash}`);
    assert.deepEqual([bad.status, good.status, emitted], [403, 204, 1]);
    assert.ok(!bad.text.includes("k3y"));
  });

  test("rapporto-mo: oversized body is refused before the handler", async () => {
    await helper.load(modules(), flow(sim.mtUrl, {}, { ackMode: "emit" }), credentials);
    const r = await request(httpNodeApp()).post("/rapporto/mo").set("content-type", "application/x-www-form-urlencoded").send(`message=${"x".repeat(70_000)}`);
    assert.equal(r.status, 413);
  });

  test("rapporto-dlr: MT through the node, DLR pushed by the simulator, status emitted and answered 200 after the ack", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    // The helper's own server does not serve RED.httpNode routes: give them a listener of their own.
    const server = http.createServer(httpNodeApp());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    sim.setDlrUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/rapporto/dlr`);
    try {
      const mtOut = nextMessage<MtOut>("h-mt");
      const statusOut = nextMessage<StatusOut>("h-status");
      helper.getNode("mt").receive({ payload: { id: "rp-200", to: "7916", from: "", text: "x" } } as never);
      const submitted = await mtOut;
      const status = await statusOut;
      assert.deepEqual(status.payload, { id: "rp-200", status: "delivered", smscId: submitted.submit.smscIds[0] });
      pendingAcks.settle(status.ack, { ok: true });
      assert.ok(await sim.dlrsSettled(5000));
      assert.deepEqual(sim.dlrAttempts.filter((a) => a.transactionId === submitted.submit.smscIds[0]).map((a) => a.answer), [200]);
    } finally {
      sim.setDlrUrl(undefined);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });

  test("rapporto-dlr polling: ids from rapporto-mt are polled with the URL template, the status emitted once acknowledged", async () => {
    await helper.load(
      modules(),
      flow(sim.mtUrl, {}, {}, { poll: true, pollUrl: sim.pollTemplate, pollPattern: "status=(?<status>\\d+)(?:;ext=(?<reason>\\d+))?", pollInterval: 1, pollMax: 10, pollMaxAge: 1 }),
      credentials,
    );
    const mtOut = nextMessage<MtOut>("h-mt");
    helper.getNode("mt").receive({ payload: { id: "rp-300", to: "7916", from: "", text: "x" } } as never);
    const submitted = await mtOut;
    const first = await nextMessage<StatusOut>("h-status", 4000);
    assert.deepEqual(first.payload, { id: "rp-300", status: "delivered", smscId: submitted.submit.smscIds[0] });
    // Not acknowledged: asked again on the next round, and emitted again.
    pendingAcks.settle(first.ack, { ok: false, temporary: true, reason: "RapidPro down" });
    const second = await nextMessage<StatusOut>("h-status", 4000);
    pendingAcks.settle(second.ack, { ok: true });
    assert.deepEqual(second.payload, first.payload);
  });

  test("rapporto-dlr: unknown id answered 400, then after the tries to the second output", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const first = await request(httpNodeApp()).get("/rapporto/dlr?msgType=SMS&transactionId=999&status=5&unifiedExtStatus=2");
    const unknown = nextMessage<{ payload: { transactionId: string; reason: string } }>("h-unknown");
    const second = await request(httpNodeApp()).get("/rapporto/dlr?msgType=SMS&transactionId=999&status=5&unifiedExtStatus=2");
    assert.deepEqual([first.status, second.status], [400, 200]);
    const msg = await unknown;
    assert.deepEqual([msg.payload.transactionId, msg.payload.reason], ["999", "subscriber absent (unifiedExtStatus 2)"]);
  });

  test("rapporto-dlr: malformed push is 400 with the reason", async () => {
    await helper.load(modules(), flow(sim.mtUrl), credentials);
    const r = await request(httpNodeApp()).get("/rapporto/dlr?transactionId=1&status=7");
    assert.deepEqual([r.status, r.text], [400, 'unknown status "7"']);
  });

  test("a node without an account shows why and does not crash", async () => {
    await helper.load(modules(), [{ id: "t1", type: "tab" }, { id: "mt", z: "t1", type: "rapporto-mt", account: "missing", wires: [] }] as never, {});
    const node = helper.getNode("mt") as Node & { status: unknown };
    assert.ok(node);
  });
});

describe("rapporto-account settings", () => {
  const cases: { name: string; config: Record<string, unknown>; pass: string; error?: RegExp }[] = [
    { name: "v5 defaults", config: { url: "http://h/login", serviceId: "login" }, pass: "p" },
    { name: "no URL", config: { url: "", serviceId: "login" }, pass: "p", error: /not a valid URL/ },
    { name: "ftp URL", config: { url: "ftp://h/x", serviceId: "login" }, pass: "p", error: /http or https/ },
    { name: "no pass", config: { url: "http://h/login", serviceId: "login" }, pass: "", error: /pass is required/ },
    { name: "rate 0", config: { url: "http://h/login", serviceId: "login", rate: 0 }, pass: "p", error: /rate must be a positive number/ },
    {
      name: "custom profile without id group",
      config: { url: "http://h/x", serviceId: "s", profile: "custom", p_destination: "msisdn", p_text: "message", idPattern: "ok;(\\d+)", successPattern: "^ok" },
      pass: "p",
      error: /named group/,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = accountSettings(c.config, c.pass);
      if (c.error) assert.match("error" in result ? result.error : "", c.error);
      else assert.ok(!("error" in result));
      assert.ok(!JSON.stringify("error" in result ? result.error : "").includes("p@"));
    });
  }

  const rules = [
    { name: "bad allow-list entry", config: { allowedIps: "10.0.0.0/8, nonsense" }, error: /allowed addresses: not an IP address or CIDR range: "nonsense"/ },
    { name: "X-Forwarded-For trusted with no proxy", config: { allowedIps: "10.0.0.1", trustXff: true, trustedProxies: "" }, error: /no proxy is named/ },
    { name: "good", config: { allowedIps: "10.0.0.1, 2001:db8::/32", trustXff: true, trustedProxies: "127.0.0.1" } },
  ];
  for (const c of rules) {
    test(`source rules: ${c.name}`, () => {
      const result = sourceRules(c.config);
      if (c.error) assert.match("error" in result ? result.error : "", c.error);
      else assert.ok("rules" in result && result.rules.allowed?.size === 2);
    });
  }
});
