/**
 * Where the bridge's nodes feed the metrics (lib/metrics/) and the trace (lib/trace/). Config
 * nodes call one `observe…` function each, which wraps what they own (session, client,
 * courier) and registers probes; user nodes call one function per event that only they see.
 * With `rapidproSms: { metrics: false }` in settings.js nothing is wrapped and every function
 * here returns at once (the benchmark's comparison).
 */
import type { Node, NodeAPI } from "node-red";
import type { MO, MT, Status, SubmitResult } from "../../lib/contract";
import type { CourierCall } from "../../lib/rapidpro/callbacks";
import type { CourierOutcome } from "../../lib/rapidpro/courier-client";
import type { Receipt } from "../../lib/smpp/receipt";
import type { ReceiptHandling } from "../../lib/delivery/receipts";
import type { DlrHandling } from "../../lib/rapporto/receiver";
import type { SessionStatus, SubmitOutcome } from "../../lib/smpp/session";
import type { SubmitTiming } from "../../lib/smpp/sender";
import type { DurableQueue } from "../../lib/store/queue";
import { connectionState, dlrOutcome, receiptOutcome, type ChannelCounters, type ConnectionCounters } from "../../lib/metrics/counters";
import { bridgeMetrics } from "../../lib/metrics/registry";
import { traceLog } from "../../lib/trace/log";
import type { RapidproChannelNode } from "../rapidpro-channel/rapidpro-channel";
import type { RapportoAccountNode } from "../rapporto-account/rapporto-account";
import type { SmppBindNode } from "../smpp-bind/smpp-bind";

const connections = new WeakMap<object, ConnectionCounters>();
const channels = new WeakMap<object, ChannelCounters>();

/**
 * `rapidproSms.metrics` in settings.js; on unless set to false. `rapidproSms.trace: false`
 * keeps the counters and records no trace.
 */
export function metricsEnabled(RED: NodeAPI): boolean {
  const settings = (RED.settings as unknown as { rapidproSms?: { metrics?: unknown; trace?: unknown } }).rapidproSms;
  traceLog.enabled = settings?.metrics !== false && settings?.trace !== false;
  return settings?.metrics !== false;
}

/** A connection of any kind joins the metrics; its series go when the node is deleted, not on redeploy. */
function registerConnection(RED: NodeAPI, kind: string, node: Node): ConnectionCounters | undefined {
  if (!metricsEnabled(RED)) return undefined;
  const counters = bridgeMetrics.connection(kind, node.id, node.name || node.id);
  connections.set(node, counters);
  node.on("close", (removed: boolean, done: () => void) => {
    if (removed) bridgeMetrics.forget(node.id);
    done();
  });
  return counters;
}

export function observeSmppBind(RED: NodeAPI, node: SmppBindNode): void {
  const counters = registerConnection(RED, "smpp", node);
  if (!counters) return;
  const session = node.session;
  if (!session) {
    counters.probe = { state: () => "misconfigured", inFlight: () => 0, detail: () => node.configError };
    return;
  }
  counters.probe = { state: () => connectionState(session.status), inFlight: () => session.status.inFlight, detail: () => session.status.lastError };
  let previous = session.status;
  session.on("status", (status: SessionStatus) => {
    if (status.state === "reconnecting" && previous.state !== "reconnecting") counters.reconnects++;
    if (status.throttled && !previous.throttled) counters.throttlePauses++;
    previous = status;
  });
  // Submit latency is observed in observeParts, timed by lib/smpp/sender.ts.
}

export function observeRapportoAccount(RED: NodeAPI, node: RapportoAccountNode): void {
  const counters = registerConnection(RED, "rapporto", node);
  if (!counters) return;
  const client = node.client;
  if (!client) {
    counters.probe = { state: () => "misconfigured", inFlight: () => 0, detail: () => node.configError };
    return;
  }
  let inFlight = 0;
  let pausedUntil = 0;
  counters.probe = { state: () => (Date.now() < pausedUntil ? "throttled" : "up"), inFlight: () => inFlight };
  const pause = client.limiter.pause.bind(client.limiter);
  client.limiter.pause = (ms) => {
    counters.throttlePauses++;
    pausedUntil = Date.now() + (ms ?? client.limiter.interval);
    pause(ms);
  };
  const send = client.send.bind(client);
  client.send = async (mt, options, deadline) => {
    const started = performance.now();
    inFlight++;
    try {
      const outcome = await send(mt, options, deadline);
      counters.submitLatency.observe((performance.now() - started) / 1000);
      return outcome;
    } finally {
      inFlight--;
    }
  };
  const sendAndRecord = client.sendAndRecord.bind(client);
  client.sendAndRecord = async (mt, store, options, deadline) => {
    const sentAt = Date.now();
    const outcome = await sendAndRecord(mt, store, options, deadline);
    const r = outcome.result;
    counters.mtAnswered(r);
    if (!r.repeat) traceSubmit(node, mt, sentAt, 0, 1, r.accepted, r.error?.code, r.error?.text, r.smscIds[0]);
    else traceLog.record({ at: Date.now(), step: "submit", id: mt.id || undefined, phone: mt.to, via: node.id, ok: true, detail: "repeat: answered from the store", smscIds: r.smscIds });
    return outcome;
  };
}

export function observeChannel(RED: NodeAPI, node: RapidproChannelNode): void {
  if (!metricsEnabled(RED)) return;
  const counters = bridgeMetrics.channel(node.id, node.name || node.channelUuid || node.id);
  counters.configError = node.configError;
  channels.set(node, counters);
  node.on("close", (removed: boolean, done: () => void) => {
    if (removed) bridgeMetrics.forget(node.id);
    counters.outbox = undefined;
    done();
  });
  const courier = node.courier;
  if (!courier) return;
  const send = courier.send.bind(courier);
  courier.send = async (call, options) => {
    const started = performance.now();
    const outcome = await send(call, options);
    const action = call.action === "receive" || call.action === "stopped" ? call.action : "status";
    counters.call(action, outcome.status, (performance.now() - started) / 1000);
    traceCourierCall(node, call, outcome);
    return outcome;
  };
}

/** The channel's durable outbox, read when scraped: its depth and the age of its oldest call. */
export function observeOutbox(node: RapidproChannelNode, queue: DurableQueue<unknown>): void {
  const counters = channels.get(node);
  if (!counters) return;
  counters.outbox = {
    depth: () => queue.size(),
    oldestAt: async () => (await queue.peek(1))[0]?.enqueuedAt,
  };
}

/** One form field of a call's body (bodies are short; a full URLSearchParams per call cost more). */
function formField(body: string, names: RegExp): string | undefined {
  const m = names.exec(body);
  if (!m) return undefined;
  try {
    return decodeURIComponent(m[1].replace(/\+/g, " "));
  } catch {
    return m[1];
  }
}
const MESSAGE_FIELD = /(?:^|&)(?:uuid|id)=([^&]*)/;
const FROM_FIELD = /(?:^|&)from=([^&]*)/;

function traceCourierCall(node: Node, call: CourierCall, outcome: CourierOutcome): void {
  const receive = call.action === "receive" || call.action === "stopped";
  traceLog.record({
    at: Date.now(),
    step: "courier-call",
    id: receive ? undefined : formField(call.body, MESSAGE_FIELD),
    phone: receive ? formField(call.body, FROM_FIELD) : undefined,
    via: node.id,
    ok: outcome.ok,
    status: outcome.status ?? (outcome.ok ? undefined : "network"),
    detail: `${call.action}${outcome.attempts > 1 ? ` after ${outcome.attempts} attempts` : ""}${outcome.ok ? "" : `: ${outcome.reason}`}`,
  });
}

// --- user nodes ------------------------------------------------------------------------

/** rapidpro-in: courier sent an MT. */
export function observeMtRequest(channel: Node, mt: MT): void {
  const counters = channels.get(channel);
  if (!counters) return;
  counters.mtRequests++;
  traceLog.record({ at: Date.now(), step: "courier-request", id: mt.id || undefined, phone: mt.to, via: channel.id });
}

/** rapidpro-in answered 503 because no out node answered in time. */
export function observeMtTimeout(channel: Node, mt: MT, status: number): void {
  const counters = channels.get(channel);
  if (!counters) return;
  counters.mtAnswered(undefined);
  traceLog.record({ at: Date.now(), step: "courier-answer", id: mt.id || undefined, phone: mt.to, via: channel.id, ok: false, status, detail: "no answer from the flow in time" });
}

/** rapidpro-out answered courier's held MT request. */
export function observeMtReply(channel: Node | null, mt: Partial<MT> | undefined, submit: SubmitResult | undefined, status: number): void {
  const counters = channel ? channels.get(channel) : undefined;
  if (!counters || !channel) return;
  counters.mtAnswered(submit ?? { accepted: false, parts: 0, smscIds: [], error: { code: "none", text: "", temporary: true } });
  traceLog.record({
    at: Date.now(),
    step: "courier-answer",
    id: typeof mt?.id === "string" && mt.id ? mt.id : undefined,
    phone: mt?.to,
    via: channel.id,
    ok: submit?.accepted === true,
    status,
    detail: submit?.repeat ? "answered from the earlier submission" : submit?.error?.text,
  });
}

/** rapidpro-out handed a status to courier (queued in the outbox, or sent). */
export function observeStatus(channel: Node | null, status: Status, outcome: { ok: boolean; queued?: boolean; repeat?: boolean; status?: number; reason?: string }): void {
  if (!channel || !channels.has(channel)) return;
  traceLog.record({
    at: Date.now(),
    step: "status",
    id: String(status.id),
    smscIds: status.smscId ? [status.smscId] : undefined,
    via: channel.id,
    ok: outcome.ok,
    status: status.status,
    detail: outcome.queued ? (outcome.repeat ? "already in the outbox" : "queued in the outbox") : outcome.ok ? `courier answered ${outcome.status}` : outcome.reason,
  });
}

/** smpp-out (and any out node): the MT's final answer. */
export function observeMt(connection: Node, mt: Partial<MT> | undefined, result: SubmitResult): void {
  const counters = connections.get(connection);
  if (!counters) return;
  counters.mtAnswered(result);
  if (result.repeat) traceLog.record({ at: Date.now(), step: "submit", id: mt?.id, phone: mt?.to, via: connection.id, ok: true, detail: "repeat: answered from the store", smscIds: result.smscIds });
}

/**
 * smpp-out: every part's submit and answer. The parts of an MT are handed to the session
 * together; each counts in the submit latency with the time until the last was answered.
 */
export function observeParts(connection: Node, mt: MT, outcomes: readonly SubmitOutcome[], timing: SubmitTiming): void {
  const counters = connections.get(connection);
  if (!counters) return;
  for (let i = 0; i < outcomes.length; i++) {
    const o = outcomes[i];
    counters.submitLatency.observe(timing.seconds);
    traceSubmit(connection, mt, timing.sentAt, i, outcomes.length, o.ok, o.ok ? o.commandStatus : (o.commandStatus ?? o.error.code), o.ok ? undefined : o.error.text, o.ok ? o.messageId : undefined);
  }
}

function traceSubmit(via: Node, mt: MT, sentAt: number | undefined, index: number, parts: number, ok: boolean, status: string | number | undefined, detail: string | undefined, smscId: string | undefined): void {
  traceLog.record({
    at: Date.now(),
    step: "submit",
    id: mt.id || undefined,
    phone: mt.to,
    via: via.id,
    part: index + 1,
    parts,
    ok,
    sentAt,
    status,
    detail,
    smscIds: smscId ? [smscId] : undefined,
  });
}

/** smpp-in (and any receipt node): a receipt as the delivery core handled it, counted once per delivery of it. */
export function observeReceipts(connection: Node, receipt: Pick<Receipt, "messageId" | "stat" | "status" | "reason">, handling: ReceiptHandling, arrivedAt: number): void {
  const counters = connections.get(connection);
  const outcome = receiptOutcome(handling);
  if (!counters || !outcome) return;
  counters.receipt(outcome);
  traceLog.record({
    at: arrivedAt,
    step: "receipt",
    id: handling.kind === "reported" ? String(handling.status.id) : undefined,
    smscIds: [receipt.messageId],
    via: connection.id,
    ok: receipt.status !== "failed",
    status: receipt.stat || receipt.status,
    detail: outcome === "matched" ? receipt.reason : `${outcome}${receipt.reason ? `: ${receipt.reason}` : ""}`,
  });
}

/** smpp-in (and any MO node): an MO, and whether RapidPro (or the outbox) took it. */
export function observeMo(connection: Node, mo: MO, parts: number, handedOver: boolean): void {
  const counters = connections.get(connection);
  if (!counters) return;
  counters.moReceived++;
  if (handedOver) counters.moHandedOver++;
  traceLog.record({ at: Date.now(), step: "mo-handed-over", phone: mo.from, via: connection.id, parts, ok: handedOver, detail: handedOver ? undefined : "not taken yet: the aggregator delivers it again" });
}

/** rapporto-dlr: how a DLR push was handled (lib/metrics/counters.ts dlrOutcome). */
export function observeDlr(connection: Node, kind: DlrHandling["kind"]): void {
  const counters = connections.get(connection);
  const outcome = dlrOutcome(kind);
  if (counters && outcome) counters.receipt(outcome);
}

/** rapporto-dlr: a receipt that became a status for RapidPro, for the trace. */
export function traceDlr(connection: Node, status: Status): void {
  if (!connections.has(connection)) return;
  traceLog.record({
    at: Date.now(),
    step: "receipt",
    id: String(status.id),
    smscIds: status.smscId ? [status.smscId] : undefined,
    via: connection.id,
    ok: status.status !== "failed",
    status: status.status,
    detail: status.reason,
  });
}
