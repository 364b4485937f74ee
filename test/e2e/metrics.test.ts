/**
 * The metrics endpoint and the trace on a real Node-RED running the SMPP bridge example
 * between the courier and SMSC simulators, with adminAuth on: the endpoint answers in
 * Prometheus text format only to a user with a token, and its values match what the
 * simulators counted at both ends; the trace shows a long MT's steps and masks numbers unless
 * a user with write permission asks.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim } from "../../sim/courier";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { AUTH, CHANNEL, mtUuid, smppBridgeEnv } from "../helpers/bridge-ledger";

// bcryptjs comes with Node-RED (adminAuth hashes passwords with it).
// eslint-disable-next-line @typescript-eslint/no-require-imports
const bcrypt = require(require.resolve("bcryptjs", { paths: [path.dirname(require.resolve("node-red/package.json", { paths: [PACKAGE_ROOT] }))] })) as {
  hashSync(text: string, rounds: number): string;
};

const EXAMPLE = path.join(PACKAGE_ROOT, "examples", "rapidpro-smpp-bridge.json");
const PHONE = "+250788383383";
const LONG_TEXT = "Long message for the trace. ".repeat(15); // 420 GSM characters: 3 parts
const SHORT = 5;

/** Every sample of a Prometheus text exposition: `name{labels}` to value. */
function parse(text: string): Map<string, number> {
  const samples = new Map<string, number>();
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const at = line.lastIndexOf(" ");
    samples.set(line.slice(0, at), Number(line.slice(at + 1)));
  }
  return samples;
}

/** Sum of the samples of `name` whose labels include every pair given. */
function sum(samples: Map<string, number>, name: string, labels: Record<string, string> = {}): number {
  let total = 0;
  for (const [series, value] of samples) {
    if (!series.startsWith(`${name}{`) && series !== name) continue;
    if (Object.entries(labels).every(([k, v]) => series.includes(`${k}="${v}"`))) total += value;
  }
  return total;
}

describe("metrics endpoint and trace against the simulators", () => {
  let work: string;
  let red: NodeRed;
  let courier: CourierSim;
  let smsc: SmscSim;
  let adminToken: string;
  let readerToken: string;
  let redEnv: Record<string, string>;
  let redSettings: Record<string, unknown>;

  async function token(username: string, password: string, scope: string): Promise<string> {
    const res = await fetch(`${red.url}/auth/token`, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams({ client_id: "node-red-admin", grant_type: "password", scope, username, password }).toString(),
    });
    assert.equal(res.status, 200, `token for ${username}`);
    return ((await res.json()) as { access_token: string }).access_token;
  }

  function get(pathname: string, bearer?: string): Promise<Response> {
    return fetch(`${red.url}${pathname}`, { headers: bearer ? { authorization: `Bearer ${bearer}` } : {} });
  }

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-metrics-"));
    courier = await startCourier({ channelUuid: CHANNEL });
    smsc = await startSmsc({ port: 0, receiptDelayMs: 100 });
    const env = smppBridgeEnv({ courierUrl: courier.url, smscPort: smsc.port, auth: AUTH, storeUrl: "" });
    const flows = JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as unknown[];
    const settings = {
      adminAuth: {
        type: "credentials",
        users: [
          { username: "admin", password: bcrypt.hashSync("admin-pass", 4), permissions: "*" },
          { username: "reader", password: bcrypt.hashSync("reader-pass", 4), permissions: "read" },
        ],
      },
    };
    // The flows and their credentials go in through the Admin API first, as an import would
    // store them; then Node-RED starts again on the same user directory with adminAuth on.
    const userDir = path.join(work, "user");
    const port = await freePort();
    const first = await startNodeRed({ userDir, port, env, flows, loadFromWorkingTree: true });
    await first.stop();
    red = await startNodeRed({ userDir, port, env, settings, loadFromWorkingTree: true });
    redEnv = env;
    redSettings = settings;
    adminToken = await token("admin", "admin-pass", "*");
    readerToken = await token("reader", "reader-pass", "read");
  });

  after(async () => {
    await red?.stop();
    await smsc?.close();
    await courier?.close();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test("without a token the endpoints answer 401", async () => {
    for (const p of ["/rapidpro-sms/metrics", "/rapidpro-sms/status", "/rapidpro-sms/trace?id=x"]) {
      assert.equal((await get(p)).status, 401, p);
    }
  });

  test("a counted run: the exposition's values match both simulators", async () => {
    const uuids = Array.from({ length: SHORT + 1 }, (_, i) => mtUuid(18, i));
    const send = (uuid: string, text: string) =>
      sendMt({ sendUrl: `${red.url}/rapidpro/send`, body: DEFAULT_SEND_BODY, authorization: AUTH, channelUuid: CHANNEL, maxLength: 1600 }, { uuid, to: PHONE, text });
    for (let i = 0; i < SHORT; i++) assert.equal((await send(uuids[i], `short ${i}`))[0].status, 200);
    assert.equal((await send(uuids[SHORT], LONG_TEXT))[0].status, 200);
    // Courier sends the first MT again: answered from the store, not submitted.
    assert.equal((await send(uuids[0], "short 0"))[0].status, 200);
    assert.deepEqual(await smsc.sendMo({ from: "+250788000001", to: "2020", text: "hello" }), [0]);
    assert.deepEqual(await smsc.sendMo({ from: "+250788000002", to: "2020", text: "MO ".repeat(80) }), [0, 0]);
    // One delivered status per MT and two MO.
    await courier.waitForAccepted(SHORT + 1 + 2, 20_000);

    // Receipts of the long MT's later parts report nothing new and may still be being matched.
    let text = "";
    for (const until = Date.now() + 10_000; Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      const res = await get("/rapidpro-sms/metrics", adminToken);
      assert.equal(res.status, 200);
      assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
      text = await res.text();
      if (smsc.counters.receiptsSent === SHORT + 3 && sum(parse(text), "rapidpro_sms_receipts_total", { kind: "smpp" }) === SHORT + 3) break;
    }
    assert.match(text, /^# HELP rapidpro_sms_/m);
    const m = parse(text);
    const smpp = { kind: "smpp" };
    const statusCalls = courier.accepted.filter((c) => c.action !== "receive" && c.action !== "stopped").length;
    const receiveCalls = courier.accepted.filter((c) => c.action === "receive").length;

    assert.equal(sum(m, "rapidpro_sms_mt_received_total", smpp), SHORT + 2);
    assert.equal(sum(m, "rapidpro_sms_mt_accepted_total", smpp), SHORT + 1);
    assert.equal(sum(m, "rapidpro_sms_mt_repeats_total", smpp), 1);
    assert.equal(sum(m, "rapidpro_sms_mt_refused_total", smpp), 0);
    assert.equal(sum(m, "rapidpro_sms_submit_duration_seconds_count", smpp), smsc.counters.accepted);
    assert.equal(smsc.counters.accepted, SHORT + 3);
    assert.equal(sum(m, "rapidpro_sms_receipts_total", smpp), smsc.counters.receiptsSent);
    assert.equal(sum(m, "rapidpro_sms_receipts_total", { ...smpp, outcome: "unmatched" }), 0);
    assert.equal(sum(m, "rapidpro_sms_mo_received_total", smpp), 2);
    assert.equal(sum(m, "rapidpro_sms_mo_handed_over_total", smpp), 2);
    assert.equal(sum(m, "rapidpro_sms_connection_state", { ...smpp, state: "up" }), 1);
    assert.equal(sum(m, "rapidpro_sms_window_in_flight", smpp), 0);
    assert.equal(sum(m, "rapidpro_sms_reconnects_total", smpp), 0);

    assert.equal(sum(m, "rapidpro_sms_courier_mt_requests_total"), SHORT + 2);
    assert.equal(sum(m, "rapidpro_sms_courier_mt_answers_total", { answer: "accepted" }), SHORT + 1);
    assert.equal(sum(m, "rapidpro_sms_courier_mt_answers_total", { answer: "repeat" }), 1);
    assert.equal(sum(m, "rapidpro_sms_courier_calls_total", { action: "status", status: "2xx" }), statusCalls);
    assert.equal(sum(m, "rapidpro_sms_courier_calls_total", { action: "receive", status: "2xx" }), receiveCalls);
    assert.equal(receiveCalls, 2);
    assert.equal(sum(m, "rapidpro_sms_courier_call_duration_seconds_count"), statusCalls + receiveCalls);
    assert.doesNotMatch(text, /250788|secret|faults-secret/, "no numbers or secrets in the metrics");
  });

  test("a read-only user gets the metrics and the trace, with numbers masked", async () => {
    assert.equal((await get("/rapidpro-sms/metrics", readerToken)).status, 200);
    type Trace = { unmasked: boolean; events: Array<{ step: string; part?: number; phone?: string; smscIds?: string[] }> };
    // The last parts' receipts, and the status they complete, may still be on their way: read
    // until two reads 300 ms apart agree.
    let body: Trace = { unmasked: true, events: [] };
    for (let previous = -1, tries = 0; tries < 30 && body.events.length !== previous; tries++) {
      previous = body.events.length;
      await new Promise((r) => setTimeout(r, 300));
      const res = await get(`/rapidpro-sms/trace?id=${mtUuid(18, SHORT)}`, readerToken);
      assert.equal(res.status, 200);
      body = (await res.json()) as Trace;
    }
    assert.equal(body.unmasked, false);
    const steps = body.events.map((e) => (e.part ? `${e.step} ${e.part}` : e.step));
    // The parts' answers may come back in any order; the message's steps do not.
    assert.deepEqual(steps.slice(0, 1), ["courier-request"]);
    assert.deepEqual(steps.slice(1, 4).sort(), ["submit 1", "submit 2", "submit 3"]);
    assert.equal(steps[4], "courier-answer");
    assert.ok(steps.filter((s) => s === "receipt").length >= 1, steps.join(", "));
    assert.ok(steps.includes("status") && steps.includes("courier-call"), steps.join(", "));
    assert.ok(steps.indexOf("receipt") < steps.indexOf("status"));
    for (const e of body.events) if (e.phone) assert.equal(e.phone, "+250•••••••83");
    assert.equal((await get(`/rapidpro-sms/trace?id=${mtUuid(18, SHORT)}&unmask=1`, readerToken)).status, 401, "unmasking needs write permission");
    // The trace by one part's SMSC id finds the same message.
    const smscId = body.events.find((e) => e.step === "submit")!.smscIds![0];
    const bySmsc = (await (await get(`/rapidpro-sms/trace?smscId=${encodeURIComponent(smscId)}`, readerToken)).json()) as { events: unknown[] };
    assert.equal(bySmsc.events.length, body.events.length);
  });

  test("an admin may unmask; a bad query is refused with a reason", async () => {
    const res = await get(`/rapidpro-sms/trace?phone=${encodeURIComponent(PHONE)}&unmask=1`, adminToken);
    const body = (await res.json()) as { unmasked: boolean; events: Array<{ phone?: string }> };
    assert.equal(body.unmasked, true);
    assert.ok(body.events.some((e) => e.phone === PHONE));
    const bad = await get("/rapidpro-sms/trace", adminToken);
    assert.equal(bad.status, 400);
    assert.match(((await bad.json()) as { error: string }).error, /one of id, smscId or phone/);
  });

  test("the sidebar's status lists the bind and the channel", async () => {
    const status = (await (await get("/rapidpro-sms/status", readerToken)).json()) as { connections: Array<{ kind: string; state: string }>; channels: unknown[] };
    assert.deepEqual(status.connections.map((c) => [c.kind, c.state]), [["smpp", "up"]]);
    assert.equal(status.channels.length, 1);
  });

  test("the trace outlives a restart: Node-RED killed and started again answers with the same steps", async () => {
    type Trace = { events: Array<{ step: string; at: number }> };
    const byId = `/rapidpro-sms/trace?id=${mtUuid(18, SHORT)}`;
    const before = (await (await get(byId, adminToken)).json()) as Trace;
    assert.ok(before.events.length >= 8, `${before.events.length} events before the restart`);
    // Killed, not stopped: the trace's last writes are not fsynced, yet a process crash keeps them.
    await red.stop("SIGKILL");
    red = await startNodeRed({ userDir: red.userDir, port: Number(new URL(red.url).port), env: redEnv, settings: redSettings, loadFromWorkingTree: true });
    adminToken = await token("admin", "admin-pass", "*");
    // The bind opens its store (and the trace beside it) as the flow starts: read until it has.
    let after: Trace = { events: [] };
    for (const until = Date.now() + 15_000; after.events.length < before.events.length && Date.now() < until; await new Promise((r) => setTimeout(r, 200))) {
      const res = await get(byId, adminToken);
      assert.equal(res.status, 200);
      after = (await res.json()) as Trace;
    }
    assert.deepEqual(after.events, before.events);
  });
});

describe("metrics on the HTTP-node server (rapidproSms.metricsOn: node)", () => {
  let work: string;
  let red: NodeRed;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-metrics-node-"));
    red = await startNodeRed({
      userDir: path.join(work, "user"),
      port: await freePort(),
      settings: { httpNodeRoot: "/api", rapidproSms: { metricsOn: "node" } },
      loadFromWorkingTree: true,
    });
  });

  after(async () => {
    await red?.stop();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test("served under httpNodeRoot, not on the admin server", async () => {
    const res = await fetch(`${red.url}/api/rapidpro-sms/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
    assert.match(await res.text(), /^# TYPE rapidpro_sms_mt_received_total counter$/m);
    assert.equal((await fetch(`${red.url}/rapidpro-sms/metrics`)).status, 404);
    // The sidebar's routes stay on the admin server.
    assert.equal((await fetch(`${red.url}/rapidpro-sms/status`)).status, 200);
  });
});
