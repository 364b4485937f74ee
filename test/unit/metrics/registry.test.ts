/**
 * Every metric: a scenario on the counters, then the Prometheus exposition text it gives.
 * A fresh BridgeMetrics per test; the module's shared instance is the nodes' one.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { BridgeMetrics } from "../../../lib/metrics/registry";
import { callStatus, refusalClass } from "../../../lib/metrics/counters";
import { LatencyHistogram } from "../../../lib/metrics/histogram";

const SMPP = 'kind="smpp",connection="b1",name="SMSC A"';
const CH = 'channel="c1",name="EX"';

/** The value of one exposition line, or undefined when the line is missing. */
function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

test("the exposition text has HELP and TYPE for every family, with our prefix only", async () => {
  const metrics = new BridgeMetrics();
  metrics.connection("smpp", "b1", "SMSC A");
  const text = await metrics.exposition();
  const families = [...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(families, [
    ["rapidpro_sms_mt_received_total", "counter"],
    ["rapidpro_sms_mt_accepted_total", "counter"],
    ["rapidpro_sms_mt_refused_total", "counter"],
    ["rapidpro_sms_mt_repeats_total", "counter"],
    ["rapidpro_sms_submit_duration_seconds", "histogram"],
    ["rapidpro_sms_window_in_flight", "gauge"],
    ["rapidpro_sms_throttle_pauses_total", "counter"],
    ["rapidpro_sms_reconnects_total", "counter"],
    ["rapidpro_sms_connection_state", "gauge"],
    ["rapidpro_sms_receipts_total", "counter"],
    ["rapidpro_sms_mo_received_total", "counter"],
    ["rapidpro_sms_mo_handed_over_total", "counter"],
    ["rapidpro_sms_courier_mt_requests_total", "counter"],
    ["rapidpro_sms_courier_mt_answers_total", "counter"],
    ["rapidpro_sms_courier_calls_total", "counter"],
    ["rapidpro_sms_courier_call_duration_seconds", "histogram"],
    ["rapidpro_sms_outbox_depth", "gauge"],
    ["rapidpro_sms_outbox_oldest_age_seconds", "gauge"],
  ]);
  assert.equal(metrics.contentType, "text/plain; version=0.0.4; charset=utf-8");
  assert.doesNotMatch(text, /process_|nodejs_/, "no default metrics of prom-client's global registry");
});

test("MT answers: received, accepted, refused by class, repeats", async () => {
  const metrics = new BridgeMetrics();
  const c = metrics.connection("smpp", "b1", "SMSC A");
  c.mtAnswered({ accepted: true, parts: 2, smscIds: ["a", "b"] });
  c.mtAnswered({ accepted: true, parts: 1, smscIds: ["c"] });
  c.mtAnswered({ accepted: true, parts: 1, smscIds: ["c"], repeat: true });
  c.mtAnswered({ accepted: false, parts: 1, smscIds: [], error: { code: 0x58, text: "throttled", temporary: true, throttled: true } });
  c.mtAnswered({ accepted: false, parts: 1, smscIds: [], error: { code: "CLOSED", text: "closed", temporary: true } });
  c.mtAnswered({ accepted: false, parts: 1, smscIds: [], error: { code: 0x0b, text: "bad dest", temporary: false } });
  c.mtAnswered({ accepted: false, parts: 1, smscIds: [], error: { code: 0x0b, text: "bad dest", temporary: false } });
  const text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_mt_received_total{${SMPP}}`), 7);
  assert.equal(valueOf(text, `rapidpro_sms_mt_accepted_total{${SMPP}}`), 2);
  assert.equal(valueOf(text, `rapidpro_sms_mt_repeats_total{${SMPP}}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_mt_refused_total{${SMPP},class="throttled"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_mt_refused_total{${SMPP},class="temporary"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_mt_refused_total{${SMPP},class="permanent"}`), 2);
});

test("refusal classes follow the contract's SubmitError flags", () => {
  const cases: Array<[{ temporary: boolean; throttled?: boolean } | undefined, string]> = [
    [{ temporary: true, throttled: true }, "throttled"],
    [{ temporary: true }, "temporary"],
    [{ temporary: false }, "permanent"],
    [undefined, "permanent"],
  ];
  for (const [error, expected] of cases) assert.equal(refusalClass(error), expected, JSON.stringify(error));
});

test("submit latency: cumulative buckets, +Inf, sum and count", async () => {
  const metrics = new BridgeMetrics();
  const c = metrics.connection("smpp", "b1", "SMSC A");
  for (const s of [0.0005, 0.003, 0.003, 0.2, 45]) c.submitLatency.observe(s);
  const text = await metrics.exposition();
  const bucket = (le: string) => valueOf(text, `rapidpro_sms_submit_duration_seconds_bucket{${SMPP},le="${le}"}`);
  assert.equal(bucket("0.001"), 1);
  assert.equal(bucket("0.0025"), 1);
  assert.equal(bucket("0.005"), 3);
  assert.equal(bucket("0.25"), 4);
  assert.equal(bucket("30"), 4);
  assert.equal(bucket("+Inf"), 5);
  assert.equal(valueOf(text, `rapidpro_sms_submit_duration_seconds_count{${SMPP}}`), 5);
  assert.ok(Math.abs(valueOf(text, `rapidpro_sms_submit_duration_seconds_sum{${SMPP}}`)! - 45.2065) < 1e-9);
});

test("a latency histogram ignores negative and NaN observations", () => {
  const h = new LatencyHistogram([1, 2]);
  h.observe(-1);
  h.observe(Number.NaN);
  h.observe(1);
  h.observe(2);
  h.observe(3);
  assert.deepEqual(h.cumulative(), [1, 2, 3]);
  assert.equal(h.count, 3);
});

test("window in flight and the connection state come from the probe when scraped", async () => {
  const metrics = new BridgeMetrics();
  const c = metrics.connection("smpp", "b1", "SMSC A");
  let state: "up" | "reconnecting" = "up";
  let inFlight = 7;
  c.probe = { state: () => state, inFlight: () => inFlight };
  let text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_window_in_flight{${SMPP}}`), 7);
  assert.equal(valueOf(text, `rapidpro_sms_connection_state{${SMPP},state="up"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_connection_state{${SMPP},state="reconnecting"}`), 0);
  state = "reconnecting";
  inFlight = 0;
  text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_window_in_flight{${SMPP}}`), 0);
  assert.equal(valueOf(text, `rapidpro_sms_connection_state{${SMPP},state="up"}`), 0);
  assert.equal(valueOf(text, `rapidpro_sms_connection_state{${SMPP},state="reconnecting"}`), 1);
});

test("a connection without a probe is down", async () => {
  const metrics = new BridgeMetrics();
  metrics.connection("rapporto", "r1", "R");
  const text = await metrics.exposition();
  assert.equal(valueOf(text, 'rapidpro_sms_connection_state{kind="rapporto",connection="r1",name="R",state="down"}'), 1);
});

test("throttle pauses, reconnects, receipts and MO", async () => {
  const metrics = new BridgeMetrics();
  const c = metrics.connection("smpp", "b1", "SMSC A");
  c.throttlePauses += 2;
  c.reconnects += 3;
  c.receipt("matched");
  c.receipt("matched");
  c.receipt("early");
  c.receipt("unmatched");
  c.moReceived += 4;
  c.moHandedOver += 3;
  const text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_throttle_pauses_total{${SMPP}}`), 2);
  assert.equal(valueOf(text, `rapidpro_sms_reconnects_total{${SMPP}}`), 3);
  assert.equal(valueOf(text, `rapidpro_sms_receipts_total{${SMPP},outcome="matched"}`), 2);
  assert.equal(valueOf(text, `rapidpro_sms_receipts_total{${SMPP},outcome="early"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_receipts_total{${SMPP},outcome="unmatched"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_mo_received_total{${SMPP}}`), 4);
  assert.equal(valueOf(text, `rapidpro_sms_mo_handed_over_total{${SMPP}}`), 3);
});

test("courier: MT requests and answers, calls by action and status class, call latency", async () => {
  const metrics = new BridgeMetrics();
  const ch = metrics.channel("c1", "EX");
  ch.mtRequests += 3;
  ch.mtAnswered({ accepted: true, parts: 1, smscIds: ["x"] });
  ch.mtAnswered({ accepted: true, parts: 1, smscIds: ["x"], repeat: true });
  ch.mtAnswered(undefined);
  ch.call("receive", 200, 0.004);
  ch.call("status", 200, 0.002);
  ch.call("status", 400, 0.002);
  ch.call("stopped", undefined, 15);
  ch.call("unknown-action", 200, 0.1);
  const text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_courier_mt_requests_total{${CH}}`), 3);
  assert.equal(valueOf(text, `rapidpro_sms_courier_mt_answers_total{${CH},answer="accepted"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_courier_mt_answers_total{${CH},answer="repeat"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_courier_mt_answers_total{${CH},answer="timeout"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_courier_calls_total{${CH},action="receive",status="2xx"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_courier_calls_total{${CH},action="status",status="2xx"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_courier_calls_total{${CH},action="status",status="4xx"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_courier_calls_total{${CH},action="stopped",status="network"}`), 1);
  assert.equal(valueOf(text, `rapidpro_sms_courier_call_duration_seconds_count{${CH}}`), 5);
  assert.equal(valueOf(text, `rapidpro_sms_courier_call_duration_seconds_bucket{${CH},le="0.005"}`), 3);
});

test("HTTP status classes", () => {
  const cases: Array<[number | undefined, string]> = [[200, "2xx"], [204, "2xx"], [301, "3xx"], [429, "4xx"], [503, "5xx"], [undefined, "network"], [0, "network"], [700, "network"]];
  for (const [status, expected] of cases) assert.equal(callStatus(status), expected, String(status));
});

test("outbox depth and the age of its oldest call, read when scraped", async () => {
  const metrics = new BridgeMetrics();
  const ch = metrics.channel("c1", "EX");
  let text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_outbox_depth{${CH}}`), undefined, "no outbox, no series");
  ch.outbox = { depth: async () => 12, oldestAt: async () => Date.now() - 90_000 };
  text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_outbox_depth{${CH}}`), 12);
  const age = valueOf(text, `rapidpro_sms_outbox_oldest_age_seconds{${CH}}`)!;
  assert.ok(age >= 90 && age < 100, String(age));
  ch.outbox = { depth: async () => 0, oldestAt: async () => undefined };
  text = await metrics.exposition();
  assert.equal(valueOf(text, `rapidpro_sms_outbox_oldest_age_seconds{${CH}}`), 0);
});

test("counters outlive a redeploy (same id) and go when the node is deleted", async () => {
  const metrics = new BridgeMetrics();
  const first = metrics.connection("smpp", "b1", "SMSC A");
  first.mtAnswered({ accepted: true, parts: 1, smscIds: ["a"] });
  const again = metrics.connection("smpp", "b1", "SMSC A renamed");
  assert.equal(again, first);
  assert.equal(again.mtAccepted, 1);
  let text = await metrics.exposition();
  assert.equal(valueOf(text, 'rapidpro_sms_mt_accepted_total{kind="smpp",connection="b1",name="SMSC A renamed"}'), 1);
  metrics.forget("b1");
  text = await metrics.exposition();
  assert.doesNotMatch(text, /connection="b1"/);
});

test("label values are escaped; ids and names are the only free-form labels", async () => {
  const metrics = new BridgeMetrics();
  metrics.connection("smpp", "b2", 'say "hi"\\now');
  const text = await metrics.exposition();
  assert.match(text, /name="say \\"hi\\"\\\\now"/);
  const labelNames = new Set([...text.matchAll(/[{,]([a-z_]+)="/g)].map((m) => m[1]));
  for (const l of labelNames) assert.ok(["kind", "connection", "name", "class", "le", "state", "outcome"].includes(l), l);
});

test("snapshot and sparkline samples for the sidebar", async () => {
  const metrics = new BridgeMetrics();
  const c = metrics.connection("smpp", "b1", "SMSC A");
  c.probe = { state: () => "up", inFlight: () => 2 };
  metrics.sample(1_000);
  c.mtAnswered({ accepted: true, parts: 1, smscIds: ["a"] });
  metrics.sample(6_000);
  const snap = await metrics.snapshot();
  assert.equal(snap.connections.length, 1);
  const view = snap.connections[0];
  assert.equal(view.state, "up");
  assert.equal(view.inFlight, 2);
  assert.equal(view.mt.accepted, 1);
  assert.deepEqual(view.history.map((p) => [p.at, p.mt]), [[1_000, 0], [6_000, 1]]);
});

test("every metric the Grafana dashboard (docs/grafana-dashboard.json) queries exists", async () => {
  const fs = await import("node:fs");
  const path = await import("node:path");
  const dashboard = fs.readFileSync(path.join(__dirname, "..", "..", "..", "..", "docs", "grafana-dashboard.json"), "utf8");
  const families = new Set([...(await new BridgeMetrics().exposition()).matchAll(/^# TYPE (\S+)/gm)].map((m) => m[1]));
  const queried = new Set([...dashboard.matchAll(/rapidpro_sms_\w+/g)].map((m) => m[0].replace(/_(bucket|sum|count)$/, "")));
  assert.ok(queried.size >= 15, `${queried.size} metrics queried`);
  for (const name of queried) assert.ok(families.has(name), `${name} is a metric`);
  for (const name of families) assert.ok(queried.has(name), `${name} has a panel`);
});
