/**
 * The bridge's metrics: one registry of our own (not prom-client's global one, so another
 * package's metrics never mix in), kept at module level so that counters outlive a redeploy of
 * the nodes: a config node that comes back with the same id gets the same counters again.
 * Connections of any kind register the same way (`connection(kind, id, name)`), so a UCP/EMI
 * or CIMD2 bind needs no change here. Values are plain numbers read at scrape time
 * (lib/metrics/counters.ts); only ids, names, kinds and fixed classes are labels.
 */
import { Counter, Gauge, Registry, type MetricValueWithName } from "prom-client";
import {
  CALL_ACTIONS,
  CALL_STATUSES,
  ChannelCounters,
  CONNECTION_STATES,
  ConnectionCounters,
  MT_ANSWERS,
  RECEIPT_OUTCOMES,
  REFUSAL_CLASSES,
} from "./counters";
import type { LatencyHistogram } from "./histogram";
import { History, type Sample } from "./history";

type Labels = Record<string, string>;
const PREFIX = "rapidpro_sms_";

export interface ConnectionView {
  kind: string;
  id: string;
  name: string;
  state: string;
  detail?: string;
  inFlight: number;
  mt: { received: number; accepted: number; repeats: number; refused: Record<string, number> };
  receipts: Record<string, number>;
  mo: { received: number; handedOver: number };
  throttlePauses: number;
  reconnects: number;
  submitSeconds: { count: number; sum: number };
  history: Sample[];
}

export interface ChannelView {
  id: string;
  name: string;
  state: string;
  mtRequests: number;
  mtAnswers: Record<string, number>;
  calls: Record<string, Record<string, number>>;
  callSeconds: { count: number; sum: number };
  outbox?: { depth: number; oldestAgeSeconds: number };
  history: Sample[];
}

export class BridgeMetrics {
  readonly registry = new Registry();
  private readonly connections = new Map<string, ConnectionCounters>();
  private readonly channels = new Map<string, ChannelCounters>();
  private readonly history = new History();

  constructor() {
    this.define();
  }

  /** The counters of one connection; the same object again after a redeploy (same id). */
  connection(kind: string, id: string, name: string): ConnectionCounters {
    let counters = this.connections.get(id);
    if (!counters || counters.kind !== kind) {
      counters = new ConnectionCounters(kind, id, name);
      this.connections.set(id, counters);
    }
    counters.name = name;
    return counters;
  }

  channel(id: string, name: string): ChannelCounters {
    let counters = this.channels.get(id);
    if (!counters) {
      counters = new ChannelCounters(id, name);
      this.channels.set(id, counters);
    }
    counters.name = name;
    return counters;
  }

  /** A config node deleted for good: its series go (a redeploy keeps them). */
  forget(id: string): void {
    this.connections.delete(id);
    this.channels.delete(id);
    this.history.forget(id);
  }

  /** Prometheus text format (version 0.0.4). */
  exposition(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** Takes one point of every sparkline; the plugin calls it every few seconds. */
  sample(now = Date.now()): void {
    for (const c of this.connections.values()) {
      this.history.add(c.id, now, {
        mt: c.mtReceived,
        ok: c.mtAccepted + c.mtRepeats,
        receipts: c.receipts.matched + c.receipts.early + c.receipts.unmatched,
        mo: c.moReceived,
        inFlight: c.probe?.inFlight() ?? 0,
      });
    }
    for (const ch of this.channels.values()) {
      let calls = 0;
      for (const action of CALL_ACTIONS) for (const status of CALL_STATUSES) calls += ch.calls[action][status];
      this.history.add(ch.id, now, { mt: ch.mtRequests, calls });
    }
  }

  /** What the editor's sidebar shows: every connection and channel with its history. */
  async snapshot(): Promise<{ at: number; connections: ConnectionView[]; channels: ChannelView[] }> {
    const connections = [...this.connections.values()].map((c) => ({
      kind: c.kind,
      id: c.id,
      name: c.name,
      state: c.state(),
      detail: c.probe?.detail?.(),
      inFlight: c.probe?.inFlight() ?? 0,
      mt: { received: c.mtReceived, accepted: c.mtAccepted, repeats: c.mtRepeats, refused: { ...c.mtRefused } },
      receipts: { ...c.receipts },
      mo: { received: c.moReceived, handedOver: c.moHandedOver },
      throttlePauses: c.throttlePauses,
      reconnects: c.reconnects,
      submitSeconds: { count: c.submitLatency.count, sum: c.submitLatency.sum },
      history: this.history.of(c.id),
    }));
    const channels: ChannelView[] = [];
    for (const ch of this.channels.values()) {
      let outbox: ChannelView["outbox"];
      if (ch.outbox) {
        const [depth, oldestAt] = await Promise.all([ch.outbox.depth().catch(() => 0), ch.outbox.oldestAt().catch(() => undefined)]);
        outbox = { depth, oldestAgeSeconds: oldestAt ? Math.max(0, (Date.now() - oldestAt) / 1000) : 0 };
      }
      channels.push({
        id: ch.id,
        name: ch.name,
        state: ch.configError ? "misconfigured" : "up",
        mtRequests: ch.mtRequests,
        mtAnswers: { ...ch.mtAnswers },
        calls: Object.fromEntries(CALL_ACTIONS.map((a) => [a, { ...ch.calls[a] }])),
        callSeconds: { count: ch.callLatency.count, sum: ch.callLatency.sum },
        outbox,
        history: this.history.of(ch.id),
      });
    }
    return { at: Date.now(), connections, channels };
  }

  // --- metric definitions ------------------------------------------------------------

  private define(): void {
    const conns = () => this.connections.values();
    const chans = () => this.channels.values();
    const cl = (c: ConnectionCounters): Labels => ({ kind: c.kind, connection: c.id, name: c.name });
    const hl = (ch: ChannelCounters): Labels => ({ channel: ch.id, name: ch.name });
    const connLabels = ["kind", "connection", "name"];
    const chanLabels = ["channel", "name"];

    this.counter("mt_received_total", "MT messages the out node of this connection was given", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.mtReceived];
    });
    this.counter("mt_accepted_total", "MT messages the aggregator accepted (every part)", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.mtAccepted];
    });
    this.counter("mt_refused_total", "MT messages refused, by class: temporary, throttled, permanent", [...connLabels, "class"], function* () {
      for (const c of conns()) for (const k of REFUSAL_CLASSES) yield [{ ...cl(c), class: k }, c.mtRefused[k]];
    });
    this.counter("mt_repeats_total", "MT messages courier sent again, answered from the correlation store", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.mtRepeats];
    });
    this.histogram("submit_duration_seconds", "Time from a submit (one part, one request) to the aggregator's answer", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.submitLatency];
    });
    this.gauge("window_in_flight", "Submits sent and not yet answered", connLabels, async function* () {
      for (const c of conns()) yield [cl(c), c.probe?.inFlight() ?? 0];
    });
    this.counter("throttle_pauses_total", "Pauses after the aggregator asked us to slow down", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.throttlePauses];
    });
    this.counter("reconnects_total", "Times the connection was lost and tried again", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.reconnects];
    });
    this.gauge("connection_state", "1 for the state the connection is in, 0 for the others", [...connLabels, "state"], async function* () {
      for (const c of conns()) {
        const now = c.state();
        for (const s of CONNECTION_STATES) yield [{ ...cl(c), state: s }, s === now ? 1 : 0];
      }
    });
    this.counter("receipts_total", "Delivery receipts: matched at once, early (after waiting for their correlation) or unmatched", [...connLabels, "outcome"], function* () {
      for (const c of conns()) for (const o of RECEIPT_OUTCOMES) yield [{ ...cl(c), outcome: o }, c.receipts[o]];
    });
    this.counter("mo_received_total", "MO messages received (a long one once, when complete)", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.moReceived];
    });
    this.counter("mo_handed_over_total", "MO messages RapidPro (or the durable outbox) took", connLabels, function* () {
      for (const c of conns()) yield [cl(c), c.moHandedOver];
    });

    this.counter("courier_mt_requests_total", "MT requests courier sent to this channel", chanLabels, function* () {
      for (const ch of chans()) yield [hl(ch), ch.mtRequests];
    });
    this.counter("courier_mt_answers_total", "Answers to courier's MT requests, by what became of the message", [...chanLabels, "answer"], function* () {
      for (const ch of chans()) for (const a of MT_ANSWERS) yield [{ ...hl(ch), answer: a }, ch.mtAnswers[a]];
    });
    this.counter("courier_calls_total", "Calls to courier (MO, status, stopped), by HTTP status class of its last answer", [...chanLabels, "action", "status"], function* () {
      for (const ch of chans()) for (const a of CALL_ACTIONS) for (const s of CALL_STATUSES) yield [{ ...hl(ch), action: a, status: s }, ch.calls[a][s]];
    });
    this.histogram("courier_call_duration_seconds", "Time of one call to courier, its retries included", chanLabels, function* () {
      for (const ch of chans()) yield [hl(ch), ch.callLatency];
    });
    this.gauge("outbox_depth", "Calls waiting in the channel's durable outbox", chanLabels, async function* () {
      for (const ch of chans()) if (ch.outbox) yield [hl(ch), await ch.outbox.depth().catch(() => 0)];
    });
    this.gauge("outbox_oldest_age_seconds", "Age of the oldest call waiting in the outbox (0 when empty)", chanLabels, async function* () {
      for (const ch of chans()) {
        if (!ch.outbox) continue;
        const at = await ch.outbox.oldestAt().catch(() => undefined);
        yield [hl(ch), at ? Math.max(0, (Date.now() - at) / 1000) : 0];
      }
    });
  }

  private counter(name: string, help: string, labelNames: string[], values: () => Iterable<[Labels, number]>): void {
    new Counter({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      collect() {
        this.reset();
        for (const [labels, value] of values()) this.inc(labels, value);
      },
    });
  }

  private gauge(name: string, help: string, labelNames: string[], values: () => AsyncIterable<[Labels, number]>): void {
    new Gauge({
      name: PREFIX + name,
      help,
      labelNames,
      registers: [this.registry],
      async collect() {
        this.reset();
        for await (const [labels, value] of values()) this.set(labels, value);
      },
    });
  }

  /** prom-client's Histogram hashes labels on every observe; ours are read only here. */
  private histogram(name: string, help: string, labelNames: string[], values: () => Iterable<[Labels, LatencyHistogram]>): void {
    const full = PREFIX + name;
    this.registry.registerMetric({
      name: full,
      help,
      type: "histogram",
      aggregator: "sum",
      labelNames,
      async get() {
        const out: MetricValueWithName<string>[] = [];
        for (const [labels, h] of values()) {
          const cumulative = h.cumulative();
          h.bounds.forEach((le, i) => out.push({ metricName: `${full}_bucket`, labels: { ...labels, le }, value: cumulative[i] }));
          out.push({ metricName: `${full}_bucket`, labels: { ...labels, le: "+Inf" }, value: h.count });
          out.push({ metricName: `${full}_sum`, labels, value: h.sum });
          out.push({ metricName: `${full}_count`, labels, value: h.count });
        }
        return { name: full, help, type: "histogram", aggregator: "sum", values: out };
      },
    } as never);
  }
}

/** The one instance of this Node-RED process (module state outlives a redeploy). */
export const bridgeMetrics = new BridgeMetrics();
