/**
 * rapidpro-in at its edge (issue #14, "Fail closed"): every request a hostile or careless peer
 * can send, with the status, the body and whether anything was submitted (emitted to the flow).
 * Courier is played by sim/courier on 127.0.0.1.
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import { helper, httpNodeApp, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { pendingAcks } from "../../nodes/shared/pending";
import { startCourier, type CourierSim } from "../../sim/courier";

const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const MSG = "0191e180-7d60-7000-aded-7d8b151cbd5b";
const AUTH = "Token s3cr3t-value";
const modules = () => nodeModules("rapidpro-channel", "rapidpro-in", "rapidpro-out");
// eslint-disable-next-line @typescript-eslint/no-require-imports
const catchNode = require("@node-red/nodes/core/common/25-catch.js") as (RED: unknown) => void;

function flow(courierUrl: string, channel: Record<string, unknown> = {}, input: Record<string, unknown> = {}) {
  return [
    { id: "t1", type: "tab" },
    { id: "c1", z: "t1", type: "rapidpro-channel", baseUrl: courierUrl, channelUuid: CHANNEL, queue: false, ...channel },
    { id: "in1", z: "t1", type: "rapidpro-in", channel: "c1", path: "/rapidpro/send", timeout: 2, wires: [["h1"]], ...input },
    { id: "h1", z: "t1", type: "helper" },
    { id: "out1", z: "t1", type: "rapidpro-out", channel: "c1", action: "auto", wires: [] },
  ];
}

const form = "application/x-www-form-urlencoded";
const body = (fields: Record<string, string>) => new URLSearchParams(fields).toString();
const valid = { uuid: MSG, text: "Simple Message", to: "+250788383383", from: "2020", channel: CHANNEL };

export interface EdgeCase {
  name: string;
  channel?: Record<string, unknown>;
  input?: Record<string, unknown>;
  credentials?: Record<string, string>;
  method?: "get" | "post" | "put";
  query?: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  status: number;
  /** What the JSON body's `error` (or `message` for 200) says. */
  reason: RegExp;
  /** The node's status after the request. */
  nodeStatus?: { fill: string; text: RegExp };
}

export async function runCase(c: EdgeCase, courierUrl: string): Promise<void> {
  await helper.load(modules(), flow(courierUrl, c.channel, c.input), { c1: c.credentials ?? { authorization: AUTH } });
  let submitted = 0;
  // The "aggregator" accepts every MT it is given at once: a request that reaches the flow is answered 200.
  helper.getNode("h1").on("input", (msg: object) => {
    submitted++;
    helper.getNode("out1").receive({ ...msg, submit: { accepted: true, parts: 1, smscIds: ["x"] } } as never);
  });
  const method = c.method ?? "post";
  const path = `/rapidpro/send${c.query ? `?${c.query}` : ""}`;
  const headers = { "content-type": form, authorization: AUTH, ...c.headers };
  // supertest would serialise a Buffer as JSON: raw bytes go over a real socket.
  const res = Buffer.isBuffer(c.body) ? await sendBytes(method, path, headers, c.body) : await request(httpNodeApp())[method](path).set(headers).send(c.body as string);
  assert.equal(res.status, c.status, `${c.name}: ${res.text}`);
  assert.match(res.headers["content-type"], /json/);
  const parsed = JSON.parse(res.text) as { message: string; error?: string };
  assert.match(c.status === 200 ? parsed.message : parsed.error ?? "", c.reason);
  assert.equal(submitted, c.status === 200 ? 1 : 0, "submitted only when accepted");
  assert.ok(!res.text.includes("s3cr3t"), "the secret never appears in a reply");
  assert.ok(res.text.length < 600, `a reply stays short, got ${res.text.length} characters`);
  if (c.nodeStatus) {
    const status = lastStatus("in1");
    assert.equal(status.fill, c.nodeStatus.fill);
    assert.match(status.text, c.nodeStatus.text);
  }
}

/** The last status a node showed (the helper's spy is shared by every node). */
export function lastStatus(nodeId: string): { fill: string; shape?: string; text: string } {
  const node = helper.getNode(nodeId);
  const spy = node.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: [{ fill: string; shape?: string; text: string }] }> };
  const calls = spy.getCalls().filter((call) => call.thisValue === node);
  assert.ok(calls.length > 0, `${nodeId} showed no status`);
  return calls[calls.length - 1].args[0];
}

const accepted = { status: 200, reason: /Accepted/ };

/** Item "No open endpoint by default". */
const credentialCases: EdgeCase[] = [
  { name: "no Authorization value: a request without the header is refused", credentials: {}, headers: { authorization: "" }, body: body(valid), status: 401, reason: /no Authorization value set: every send request is refused/, nodeStatus: { fill: "red", text: /no-authorization/ } },
  { name: "no Authorization value: any header value is refused too", credentials: {}, headers: { authorization: "Token guess" }, body: body(valid), status: 401, reason: /no Authorization value set/ },
  { name: "no Authorization value, explicit no-auth option: accepted, status stays yellow", credentials: {}, channel: { allowNoAuth: true }, headers: { authorization: "" }, body: body(valid), ...accepted, nodeStatus: { fill: "yellow", text: /open/ } },
  { name: "no-auth option has no effect once a value is set: a wrong one is refused", channel: { allowNoAuth: true }, headers: { authorization: "Token wrong" }, body: body(valid), status: 401, reason: /missing or wrong/ },
  { name: "right Authorization: accepted, status green", body: body(valid), ...accepted, nodeStatus: { fill: "green", text: /listening/ } },
  { name: "allow-list: 127.0.0.1 allowed", input: { allowedIps: "127.0.0.0/8, ::1" }, body: body(valid), ...accepted },
  { name: "allow-list: this peer is not in it", input: { allowedIps: "192.0.2.0/24" }, body: body(valid), status: 403, reason: /source address not allowed/ },
  { name: "allow-list: X-Forwarded-For from an untrusted peer is ignored", input: { allowedIps: "192.0.2.1" }, headers: { "x-forwarded-for": "192.0.2.1" }, body: body(valid), status: 403, reason: /not allowed/ },
  { name: "allow-list: X-Forwarded-For from a trusted proxy is believed", input: { allowedIps: "192.0.2.1", trustedProxies: "127.0.0.1, ::1" }, headers: { "x-forwarded-for": "192.0.2.1" }, body: body(valid), ...accepted },
  { name: "allow-list checked before the credential", input: { allowedIps: "192.0.2.1" }, headers: { authorization: "Token wrong" }, body: body(valid), status: 403, reason: /not allowed/ },
];

/** Item "Ids and numbers as courier sends them" and "Logs cannot be forged" (error bodies). */
const fieldCases: EdgeCase[] = [
  { name: "id: message UUID", body: body(valid), ...accepted },
  { name: "id: legacy integer", body: body({ ...valid, uuid: "", id: "12345" }), ...accepted },
  { name: "id: absent (GET template without {{uuid}}, decision 3)", method: "get", query: body({ to: "+250788383383", text: "Hi", from: "2020" }), ...accepted },
  { name: "id: not a UUID nor an integer", body: body({ ...valid, uuid: "msg-1" }), status: 400, reason: /^id "msg-1" is neither a message UUID/ },
  { name: "id: upper-case UUID", body: body({ ...valid, uuid: MSG.toUpperCase() }), status: 400, reason: /neither a message UUID/ },
  { name: "control: CR LF in to", body: body({ ...valid, to: "+25078\r\n[warn] forged" }), status: 400, reason: /^to "\+25078\\r\\n\[warn\] forged" holds the control character \\r/ },
  { name: "control: NUL in from", body: body({ ...valid, from: "20\u000020" }), status: 400, reason: /^from "20\\x0020"/ },
  { name: "control: C1 in the query's id", method: "get", query: `to=%2B250788383383&text=Hi&uuid=%C2%85`, status: 400, reason: /^id "\\x85"/ },
  { name: "control: in json", headers: { "content-type": "application/json" }, body: JSON.stringify({ ...valid, to: "+250\u001b[2J" }), status: 400, reason: /^to "\+250\\x1b\[2J"/ },
  { name: "control: a text keeps its line breaks", body: body({ ...valid, text: "line 1\r\nline 2" }), ...accepted },
  { name: "oversized: a 10,000-character to echoes 64 characters of it", body: body({ ...valid, to: "9".repeat(10_000) }), status: 400, reason: /^to is 10000 characters long, over the 64 allowed: "9{64}…\(\+9936 chars\)"$/ },
  { name: "oversized: a 10,000-character id", body: body({ ...valid, uuid: "a".repeat(10_000) }), status: 400, reason: /^id is 10000 characters long/ },
  { name: "oversized: body over 1 MB", body: body({ ...valid, text: "x".repeat(1024 * 1024) }), status: 413, reason: /limit/ },
];

const xml = { "content-type": "text/xml; charset=utf-8" };

/** Item "XML without DTDs". */
const xmlCases: EdgeCase[] = [
  { name: "courier's xml body", method: "put", headers: xml, body: `<msg><uuid>${MSG}</uuid><to>+250788383383</to><text>a &amp; b&#xA;c</text><from>2020</from></msg>`, ...accepted },
  { name: "internal entity in a DOCTYPE", method: "put", headers: xml, body: '<!DOCTYPE msg [<!ENTITY x "expanded">]><msg><to>+250788383383</to><text>&x;</text></msg>', status: 400, reason: /^XML body has a DOCTYPE: refused/ },
  { name: "external entity", method: "put", headers: xml, body: '<!DOCTYPE msg [<!ENTITY x SYSTEM "file:///etc/passwd">]><msg><to>+250788383383</to><text>&x;</text></msg>', status: 400, reason: /DOCTYPE/ },
  { name: "undeclared entity", method: "put", headers: xml, body: "<msg><to>+250788383383</to><text>&x;</text></msg>", status: 400, reason: /entity "&x;"/ },
];

/** Item "Invalid UTF-8": refused with the byte offset rather than sent as U+FFFD. */
const utf8Cases: EdgeCase[] = [
  { name: "courier's UTF-8", body: body({ ...valid, text: "Привет ☺" }), ...accepted },
  { name: "invalid bytes in a json body", headers: { "content-type": "application/json" }, body: Buffer.concat([Buffer.from(`{"to":"+250788383383","text":"ab`), Buffer.from([0xff]), Buffer.from('"}')]), status: 400, reason: /^body is not valid UTF-8: byte 32 \(ff 22 7d\) starts no UTF-8 character$/ },
  { name: "windows-1251 escapes in a form body", body: `to=%2B250788383383&text=%CF%F0%E8%E2%E5%F2`, status: 400, reason: /^form body: parameter text is not valid UTF-8 at byte 0 of its value$/ },
  { name: "invalid escapes in the query", method: "get", query: "to=%2B250788383383&text=%C0%AF", status: 400, reason: /^query: parameter text is not valid UTF-8 at byte 0/ },
  { name: "a lone surrogate in json", headers: { "content-type": "application/json" }, body: '{"to":"+250788383383","text":"a\\ud800"}', status: 400, reason: /lone surrogate \(\\ud800\) at character 1/ },
  { name: "% in a custom content type is text, not an escape", headers: { "content-type": "text/plain" }, body: `uuid=${MSG}&to=+250788383383&text=100%FF`, ...accepted },
];

describe("rapidpro-in fails closed", () => {
  let courier: CourierSim;
  before(async () => {
    courier = await startCourier({ channelUuid: CHANNEL });
    await startHelper();
  });
  after(async () => {
    await stopHelper();
    await courier.close();
  });
  afterEach(async () => {
    await helper.unload();
  });

  describe("credentials and sources", () => {
    for (const c of credentialCases) test(`${c.name} → ${c.status}`, () => runCase(c, courier.url));
  });

  describe("ids, numbers, control characters and sizes", () => {
    for (const c of fieldCases) test(`${c.name} → ${c.status}`, () => runCase(c, courier.url));
  });

  describe("XML without DTDs", () => {
    for (const c of xmlCases) test(`${c.name} → ${c.status}`, () => runCase(c, courier.url));
  });

  describe("invalid UTF-8", () => {
    for (const c of utf8Cases) test(`${c.name} → ${c.status}`, () => runCase(c, courier.url));
  });

  describe("an outbox that cannot be used stops the channel (no silent loss)", () => {
    const outboxes = [
      { name: "unknown scheme", storeUrl: "ftp://127.0.0.1/queue", reason: /outbox unusable: queue url must be empty \(embedded\), memory: or redis:\/\/\.\.\. \(redis\+sentinel:\/\/\.\.\. behind Sentinel\), got a "ftp:" URL/ },
      // Port 1 on loopback: nothing listens, every connect is refused; the check gives up after 10 s.
      { name: "a Redis that cannot be reached at start", storeUrl: "redis://127.0.0.1:1/0", reason: /outbox unusable: no answer within 10 s/ },
    ];
    for (const o of outboxes) {
      test(`${o.name}: red status, an error, 503 for MTs, and the aggregator's ack settled as not taken`, { timeout: 30_000 }, async () => {
        await helper.load(
          [...modules(), catchNode],
          [
            ...flow(courier.url, { queue: true, storeUrl: o.storeUrl }),
            { id: "catch1", z: "t1", type: "catch", scope: null, wires: [["hc"]] },
            { id: "hc", z: "t1", type: "helper" },
          ] as never,
          { c1: { authorization: AUTH } },
        );
        const channel = helper.getNode("c1") as unknown as { outbox: Promise<unknown>; outboxError?: string };
        await channel.outbox;
        assert.match(channel.outboxError ?? "", o.reason);
        const errors = (helper.getNode("c1").error as unknown as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> }).getCalls().filter((c) => c.thisValue === helper.getNode("c1"));
        assert.ok(errors.some((c) => o.reason.test(String(c.args[0]))), "the channel logs an error");
        await new Promise((resolve) => setImmediate(resolve));
        assert.deepEqual(lastStatus("in1"), { fill: "red", shape: "ring", text: "rapidpro-in.status.no-outbox" });
        const res = await request(httpNodeApp()).post("/rapidpro/send").set({ "content-type": form, authorization: AUTH }).send(body(valid));
        assert.equal(res.status, 503);
        assert.match(res.body.error, /outbox is unusable; retry later/);
        // A status handed to rapidpro-out is not posted around the outbox: Catch sees why, the ack says "not taken".
        let outcome: { ok: boolean; temporary?: boolean } | undefined;
        const ack = pendingAcks.hold("test", (r) => (outcome = r), 10_000, () => ({ ok: false, temporary: true }));
        const caught = nextMessage<{ error: { message: string } }>("hc");
        helper.getNode("out1").receive({ ack, payload: { id: MSG, status: "delivered" } } as never);
        assert.match((await caught).error.message, /outbox unusable/);
        assert.deepEqual(outcome && { ok: outcome.ok, temporary: outcome.temporary }, { ok: false, temporary: true });
        assert.equal(courier.accepted.length, 0, "nothing went to courier directly");
      });
    }
  });

  test("a bad allow-list entry stops the node with a red status; nothing is served", async () => {
    await helper.load(modules(), flow(courier.url, {}, { allowedIps: "10.0.0.0/8, nonsense" }), { c1: { authorization: AUTH } });
    assert.equal(lastStatus("in1").fill, "red");
    const res = await request(httpNodeApp()).post("/rapidpro/send").set({ "content-type": form, authorization: AUTH }).send(body(valid));
    assert.equal(res.status, 404);
  });
});

/** Sends raw bytes to the helper's httpNode app on a loopback port. */
async function sendBytes(method: string, path: string, headers: Record<string, string>, bytes: Buffer): Promise<{ status: number; text: string; headers: Record<string, string> }> {
  const server = http.createServer(httpNodeApp());
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: method.toUpperCase(), headers, body: new Uint8Array(bytes) });
    const seen: Record<string, string> = {};
    res.headers.forEach((value, name) => (seen[name] = value));
    return { status: res.status, text: await res.text(), headers: seen };
  } finally {
    server.closeAllConnections();
    server.close();
  }
}
