/**
 * rapidpro-channel, rapidpro-in and rapidpro-out in Node-RED's runtime (node-red-node-test-helper),
 * with courier played by sim/courier on 127.0.0.1.
 */
import { after, afterEach, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import type { Node } from "node-red";
import { helper, httpNodeApp, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim } from "../../sim/courier";
import type { MT, SubmitResult } from "../../lib/contract";
import { pendingAcks } from "../../nodes/shared/pending";

const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const MSG = "0191e180-7d60-7000-aded-7d8b151cbd5b";
const AUTH = "Token s3cr3t-value";
const modules = () => nodeModules("rapidpro-channel", "rapidpro-in", "rapidpro-out");

function flow(courierUrl: string, extra: Record<string, unknown> = {}) {
  return [
    { id: "t1", type: "tab" },
    { id: "c1", z: "t1", type: "rapidpro-channel", baseUrl: courierUrl, channelUuid: CHANNEL },
    { id: "in1", z: "t1", type: "rapidpro-in", channel: "c1", path: "/rapidpro/send", timeout: 2, wires: [["h1"]], ...extra },
    { id: "h1", z: "t1", type: "helper" },
    { id: "out1", z: "t1", type: "rapidpro-out", channel: "c1", action: "auto", acceptedText: "QUEUED-OK", wires: [["h2"]] },
    { id: "h2", z: "t1", type: "helper" },
    { id: "catch1", z: "t1", type: "catch", scope: null, wires: [["hc"]] },
    { id: "hc", z: "t1", type: "helper" },
  ];
}
const credentials = { c1: { authorization: AUTH } };

type MtMsg = { payload: MT; rapidpro: { request: string } };

describe("rapidpro nodes", () => {
  let courier: CourierSim;

  before(async () => {
    courier = await startCourier({ channelUuid: CHANNEL, legacyIds: true });
  });
  after(async () => {
    await courier.close();
  });
  beforeEach(async () => {
    courier.setMode("ok");
    courier.accepted.length = 0;
    await startHelper();
    await helper.load(modules(), flow(courier.url), credentials);
  });
  afterEach(async () => {
    await stopHelper();
  });

  const post = (body: string, headers: Record<string, string> = {}) =>
    request(httpNodeApp())
      .post("/rapidpro/send")
      .set({ "content-type": "application/x-www-form-urlencoded", authorization: AUTH, ...headers })
      .send(body);

  const defaultBody = `uuid=${MSG}&text=Simple+Message&to=%2B250788383383&to_no_plus=250788383383&from=2020&from_no_plus=2020&channel=${CHANNEL}`;

  const outcomes: Array<{ name: string; submit: SubmitResult; status: number }> = [
    { name: "accepted gives 200 with the configured text", submit: { accepted: true, parts: 1, smscIds: ["abc"] }, status: 200 },
    {
      name: "throttled gives 429",
      submit: { accepted: false, parts: 1, smscIds: [], error: { code: 88, text: "throttled", temporary: true, throttled: true } },
      status: 429,
    },
    { name: "temporary failure gives 503", submit: { accepted: false, parts: 1, smscIds: [], error: { code: 8, text: "system error", temporary: true } }, status: 503 },
    { name: "permanent failure gives 400", submit: { accepted: false, parts: 1, smscIds: [], error: { code: 11, text: "bad destination", temporary: false } }, status: 400 },
  ];
  for (const o of outcomes) {
    test(`held request: ${o.name}`, async () => {
      const emitted = nextMessage<MtMsg>("h1");
      const response = post(defaultBody).then((r) => r);
      const msg = await emitted;
      assert.deepEqual(msg.payload, { id: MSG, to: "+250788383383", from: "2020", text: "Simple Message", channel: CHANNEL });
      helper.getNode("out1").receive({ ...msg, submit: o.submit } as never);
      const res = await response;
      assert.equal(res.status, o.status);
      if (o.status === 200) assert.ok(res.text.includes("QUEUED-OK"));
      else assert.ok(res.text.includes(o.submit.error!.text));
    });
  }

  test("every send configuration courier offers reaches the flow (GET, POST json, PUT xml, custom)", async () => {
    const base = `http://127.0.0.1:${await listenPort()}`;
    const tricky = 'a < b & "c" + ☺';
    const configs = [
      { method: "GET" as const, contentType: "urlencoded", sendUrl: `${base}/rapidpro/send?to={{to}}&text={{text}}&from={{from}}&uuid={{uuid}}{{quick_replies}}`, text: tricky, replies: true },
      { method: "POST" as const, contentType: "urlencoded", sendUrl: `${base}/rapidpro/send`, body: DEFAULT_SEND_BODY, text: tricky, replies: false },
      { method: "POST" as const, contentType: "json", sendUrl: `${base}/rapidpro/send`, body: '{"uuid":{{uuid}},"to":{{to}},"text":{{text}},"from":{{from}},"quick_replies":{{quick_replies}}}', text: tricky, replies: true },
      { method: "PUT" as const, contentType: "xml", sendUrl: `${base}/rapidpro/send`, body: "<msg><uuid>{{uuid}}</uuid><to>{{to}}</to><text>{{text}}</text><from>{{from}}</from><quick_replies>{{quick_replies}}</quick_replies></msg>", text: tricky, replies: true },
      // a custom content type: courier substitutes raw values, so a + stays a +
      { method: "POST" as const, contentType: "text/plain; charset=utf-8", sendUrl: `${base}/rapidpro/send`, body: "uuid={{uuid}}&to={{to}}&text={{text}}&from={{from}}", text: "1+1 is 2 ☺", replies: false },
    ];
    for (const config of configs) {
      const emitted = nextMessage<MtMsg>("h1");
      const sent = sendMt({ ...config, authorization: AUTH }, { uuid: MSG, to: "+250788383383", text: config.text, quickReplies: ["Yes", "No"] });
      const msg = await emitted;
      const label = `${config.method} ${config.contentType}`;
      assert.equal(msg.payload.text, config.text, label);
      assert.equal(msg.payload.to, "+250788383383", label);
      assert.equal(msg.payload.id, MSG, label);
      assert.deepEqual(msg.payload.quickReplies, config.replies ? ["Yes", "No"] : undefined, label);
      helper.getNode("out1").receive({ ...msg, submit: { accepted: true, parts: 1, smscIds: ["x"] } } as never);
      const results = await sent;
      assert.deepEqual(results.map((r) => r.status), [200], label);
    }
  });

  test("parts of a long message carry the same id and are answered separately", async () => {
    const base = `http://127.0.0.1:${await listenPort()}`;
    const received: MtMsg[] = [];
    let waiting: MtMsg[] = [];
    helper.getNode("h1").on("input", (input: unknown) => {
      const msg = input as MtMsg;
      received.push(msg);
      waiting.push(msg);
      // Two messages' parts arrive side by side; answer the later one first, so that each
      // answer must find its own request rather than the first one holding that id.
      if (waiting.length < 2) return;
      for (const m of waiting.reverse()) {
        helper.getNode("out1").receive({ ...m, submit: { accepted: true, parts: 1, smscIds: [m.payload.text.slice(0, 4)] } } as never);
      }
      waiting = [];
    });
    // max 30: "This is a long message that" | "will be longer than 30......." | "characters"
    const text = "This is a long message that will be longer than 30....... characters";
    const sends = [1, 2].map(() => sendMt({ sendUrl: `${base}/rapidpro/send`, authorization: AUTH, maxLength: 30 }, { uuid: MSG, to: "+250788383383", text }));
    // Courier sends parts one after another; two messages in parallel give interleaved parts.
    const results = await Promise.all(sends);
    for (const r of results) {
      assert.deepEqual(r.map((p) => p.status), [200, 200, 200]);
      assert.deepEqual(r.map((p) => JSON.parse(p.body).smsc_ids[0]), ["This", "will", "char"]);
    }
    assert.equal(received.length, 6);
    assert.ok(received.every((m) => m.payload.id === MSG));
  });

  test("no answer within the timeout: 503 so courier retries, and the node warns", async () => {
    const started = Date.now();
    const res = await post(defaultBody);
    assert.equal(res.status, 503);
    assert.match(res.body.error, /no result from the aggregator within 2000 ms/);
    assert.ok(Date.now() - started >= 1900);
    const warn = helper.getNode("in1").warn as unknown as { calledWithMatch: (re: RegExp) => boolean };
    assert.ok(warn.calledWithMatch(/answered 503 so courier retries/));
  });

  const refusals: Array<{ name: string; body: string; headers?: Record<string, string>; status: number; reason: RegExp }> = [
    { name: "missing Authorization", body: defaultBody, headers: { authorization: "" }, status: 401, reason: /Authorization/ },
    { name: "wrong Authorization", body: defaultBody, headers: { authorization: "Token wrong" }, status: 401, reason: /Authorization/ },
    { name: "missing to", body: `uuid=${MSG}&text=hi`, status: 400, reason: /missing destination/ },
    { name: "missing text", body: `uuid=${MSG}&to=%2B250788383383`, status: 400, reason: /missing text/ },
    { name: "unparseable JSON", body: '{"to":', headers: { "content-type": "application/json" }, status: 400, reason: /unparseable JSON/ },
    { name: "unparseable XML", body: "<msg><to>1</msg>", headers: { "content-type": "text/xml" }, status: 400, reason: /unparseable XML/ },
    { name: "body over 1 MB", body: `text=${"x".repeat(1024 * 1024 + 10)}&to=%2B1`, status: 413, reason: /limit/ },
  ];
  for (const r of refusals) {
    test(`bad input: ${r.name} gives ${r.status} with a JSON reason and emits nothing`, async () => {
      let emitted = 0;
      helper.getNode("h1").on("input", () => emitted++);
      const res = await post(r.body, r.headers);
      assert.equal(res.status, r.status);
      assert.match(res.headers["content-type"], /json/);
      assert.match(res.body.error, r.reason);
      assert.equal(emitted, 0);
      assert.ok(!JSON.stringify(res.body).includes("s3cr3t"), "the secret never appears in a reply");
    });
  }

  test("posts MO, statuses and opt-outs to courier, form-encoded as courier requires", async () => {
    const out = helper.getNode("out1");
    const done = nextMessages("h2", 4);
    out.receive({ payload: { from: "+250788123123", to: "2020", text: "Join now", date: "2017-06-23T12:30:00Z" } } as never);
    out.receive({ payload: { id: MSG, status: "sent" } } as never);
    out.receive({ payload: { id: "12345", status: "failed", reason: "UNDELIV" } } as never);
    out.receive({ topic: "stopped", payload: { from: "+2349067554729" } } as never);
    await done;
    const calls = courier.accepted.map((c) => [c.action, c.params]);
    assert.deepEqual(calls.sort(), [
      ["failed", { id: "12345" }],
      ["receive", { from: "+250788123123", text: "Join now", date: "2017-06-23T12:30:00Z" }],
      ["sent", { uuid: MSG }],
      ["stopped", { from: "+2349067554729" }],
    ]);
  });

  test("retries while courier answers 5xx, then settles the aggregator's ack as ok", async () => {
    courier.setMode("error500");
    let outcome: unknown;
    const ack = pendingAcks.hold("test", (o) => (outcome = o), 10_000, () => ({ ok: false, temporary: true, reason: "timeout" }));
    const done = nextMessages("h2", 1, 10_000);
    helper.getNode("out1").receive({ ack, payload: { from: "+250788123123", to: "2020", text: "hello", date: "" } } as never);
    setTimeout(() => courier.setMode("ok"), 1200);
    const [msg] = await done;
    assert.ok((msg as { courier: { attempts: number } }).courier.attempts > 1);
    assert.deepEqual(outcome, { ok: true });
    assert.equal(courier.accepted.length, 1);
  });

  test("a 400 from courier is not retried: Catch sees the reason, the ack is settled permanent", async () => {
    let outcome: { ok: boolean; temporary?: boolean } | undefined;
    const ack = pendingAcks.hold("test", (o) => (outcome = o), 10_000, () => ({ ok: false, temporary: true }));
    const caught = nextMessage<{ error: { message: string } }>("hc");
    helper.getNode("out1").receive({ ack, payload: { id: "not-a-uuid", status: "delivered" } } as never);
    const msg = await caught;
    assert.match(msg.error.message, /courier answered 400: parsing failed/);
    assert.equal(outcome?.ok, false);
    assert.equal(outcome?.temporary, false);
  });

  /** The same flow with the channel's durable outbox on (in memory). */
  const withOutbox = () => helper.setFlows(flow(courier.url).map((n) => (n.id === "c1" ? { ...n, queue: true, storeUrl: "memory:" } : n)) as never, "full", credentials);

  test("durable queue: the ack is ok once queued; calls reach courier in order after it recovers", async () => {
    await withOutbox();
    courier.setMode("error500");
    const outcomes: unknown[] = [];
    const out = helper.getNode("out1");
    const queued = nextMessages("h2", 3);
    for (const status of ["sent", "delivered"]) {
      const ack = pendingAcks.hold("test", (o) => outcomes.push(o), 10_000, () => ({ ok: false, temporary: true }));
      out.receive({ ack, payload: { id: MSG, status } } as never);
    }
    const ack = pendingAcks.hold("test", (o) => outcomes.push(o), 10_000, () => ({ ok: false, temporary: true }));
    out.receive({ ack, payload: { from: "+250788123123", to: "2020", text: "queued MO", date: "" } } as never);
    const msgs = (await queued) as Array<{ courier: { queued: boolean } }>;
    assert.ok(msgs.every((m) => m.courier.queued));
    assert.deepEqual(outcomes, [{ ok: true, queued: true }, { ok: true, queued: true }, { ok: true, queued: true }]);
    assert.equal(courier.accepted.length, 0);
    courier.setMode("ok");
    await courier.waitForAccepted(3, 15_000);
    const statuses = courier.accepted.filter((c) => c.action !== "receive").map((c) => c.action);
    assert.deepEqual(statuses, ["sent", "delivered"]);
  });

  test("durable queue: a status handed over again (its receipt came back after a crash) is acked and queued once", async () => {
    await withOutbox();
    courier.setMode("error500");
    const outcomes: unknown[] = [];
    const out = helper.getNode("out1");
    const queued = nextMessages("h2", 4);
    const statuses = [
      { id: MSG, status: "sent", smscId: "A1" },
      { id: MSG, status: "sent", smscId: "A1" },
      { id: MSG, status: "delivered", smscId: "A1" },
      { id: MSG, status: "delivered", smscId: "A1" },
    ];
    for (const payload of statuses) {
      const ack = pendingAcks.hold("test", (o) => outcomes.push(o), 10_000, () => ({ ok: false, temporary: true }));
      out.receive({ ack, payload } as never);
    }
    const msgs = (await queued) as Array<{ courier: { queued: boolean; repeat?: boolean } }>;
    assert.deepEqual(msgs.map((m) => m.courier.repeat ?? false), [false, true, false, true]);
    assert.deepEqual(outcomes, statuses.map(() => ({ ok: true, queued: true })), "the aggregator hears ok for the repeat too");
    courier.setMode("ok");
    await courier.waitForAccepted(2, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(courier.accepted.map((c) => c.action), ["sent", "delivered"]);
  });

  test("durable queue: an MO with the aggregator's once-id is queued once, an MO without one every time", async () => {
    await withOutbox();
    courier.setMode("error500");
    const out = helper.getNode("out1");
    const queued = nextMessages("h2", 4);
    const mo = (text: string) => ({ from: "+250788123123", to: "2020", text, date: "2024-05-01T13:00:00+03:00" });
    out.receive({ payload: mo("pushed twice"), onceId: "rapporto:login:m-1" } as never);
    out.receive({ payload: mo("pushed twice"), onceId: "rapporto:login:m-1" } as never);
    out.receive({ payload: mo("yes") } as never);
    out.receive({ payload: mo("yes") } as never);
    const msgs = (await queued) as Array<{ courier: { repeat?: boolean } }>;
    assert.deepEqual(msgs.map((m) => m.courier.repeat ?? false), [false, true, false, false]);
    courier.setMode("ok");
    await courier.waitForAccepted(3, 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    assert.deepEqual(courier.accepted.map((c) => c.params.text), ["pushed twice", "yes", "yes"]);
  });

  test("a msg it cannot place goes to Catch with the reason", async () => {
    const caught = nextMessage<{ error: { message: string } }>("hc");
    helper.getNode("out1").receive({ payload: "hello" } as never);
    assert.match((await caught).error.message, /cannot tell what to send to RapidPro/);
  });

  test("redeploy: the route is removed and held requests are answered 503", async () => {
    const pending = post(defaultBody).then((r) => r);
    await nextMessage("h1");
    await helper.setFlows(flow(courier.url, { path: "/rapidpro/other" }), "full", credentials);
    const res = await pending;
    assert.equal(res.status, 503);
    assert.match(res.body.error, /restarting/);
    assert.equal((await post(defaultBody)).status, 404);
    const emitted = nextMessage("h1");
    const moved = request(httpNodeApp()).post("/rapidpro/other").set({ authorization: AUTH, "content-type": "application/x-www-form-urlencoded" }).send(defaultBody).then((r) => r);
    const msg = await emitted;
    helper.getNode("out1").receive({ ...(msg as object), submit: { accepted: true, parts: 1, smscIds: ["x"] } } as never);
    assert.equal((await moved).status, 200);
    const routes = (httpNodeApp() as unknown as { _router: { stack: Array<{ route?: { path: string } }> } })._router.stack.filter((l) => l.route);
    assert.deepEqual(routes.map((l) => l.route!.path), ["/rapidpro/other", "/rapidpro/other", "/rapidpro/other"]);
  });

  test("the channel refuses a UUID courier would not route", async () => {
    await helper.setFlows([{ id: "c9", type: "rapidpro-channel", baseUrl: courier.url, channelUuid: "8EB23E93-5ECB-45BA-B726-3B064E0C56AB" } as never], "full");
    const c9 = helper.getNode("c9") as Node & { configError?: string };
    assert.match(c9.configError ?? "", /not a lowercase UUID/);
  });
});

/** Collects `count` messages arriving at a helper node. */
function nextMessages(nodeId: string, count: number, timeoutMs = 5000): Promise<unknown[]> {
  const node = helper.getNode(nodeId);
  const got: unknown[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${got.length} of ${count} messages at ${nodeId}`)), timeoutMs);
    node.on("input", (msg: unknown) => {
      got.push(msg);
      if (got.length === count) {
        clearTimeout(timer);
        resolve(got);
      }
    });
  });
}

/** sendMt needs a real URL: serve the helper's httpNode app on a loopback port for this test. */
let server: import("node:http").Server | undefined;
async function listenPort(): Promise<number> {
  server?.close();
  const http = await import("node:http");
  server = http.createServer(httpNodeApp());
  await new Promise<void>((r) => server!.listen(0, "127.0.0.1", () => r()));
  server.unref();
  return (server.address() as import("node:net").AddressInfo).port;
}
