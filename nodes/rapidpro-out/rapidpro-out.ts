/**
 * rapidpro-out: everything the bridge says to RapidPro. It answers courier's held MT request
 * from `msg.submit`, and posts MO, statuses and opt-outs to the channel's courier URLs. When
 * the msg carries an aggregator acknowledgement (`msg.ack`), it is settled with courier's
 * answer, so the aggregator hears "ok" only once RapidPro has the message.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import type { MO, MT, Status, SubmitResult } from "../../lib/contract";
import type { AckOutcome } from "../../lib/pending";
import { receiveCall, statusCall, statusOnceId, stoppedCall, type BuildResult } from "../../lib/rapidpro/callbacks";
import { replyForError, replyForSubmit } from "../../lib/rapidpro/reply";
import { heldRequests, pendingAcks, type RapidproMsgInfo } from "../shared/pending";
import type { RapidproChannelNode } from "../rapidpro-channel/rapidpro-channel";
import { throttledStatus } from "../shared/status";
import { observeMtReply, observeStatus } from "../shared/observe";

type Action = "reply" | "receive" | "status" | "stopped";

interface RapidproOutDef extends NodeDef {
  channel: string;
  action: "auto" | Action;
  acceptedText: string;
}

interface BridgeMsg extends NodeMessage {
  rapidpro?: RapidproMsgInfo;
  submit?: SubmitResult;
  ack?: string;
  /**
   * The aggregator's own identity of this MO (rapporto-mo sets it from Rapporto's unique
   * messageId); with the outbox, a call with a once-id is queued once, so a push the aggregator
   * repeats after our restart is not a second message in RapidPro.
   */
  onceId?: string;
  courier?: { action: Action; status?: number; attempts?: number; queued?: boolean; repeat?: boolean };
}

export default function (RED: NodeAPI) {
  function RapidproOut(this: Node, config: RapidproOutDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const channel = RED.nodes.getNode(config.channel) as RapidproChannelNode | null;
    const acceptedText = config.acceptedText || "Accepted";
    let inFlight = 0;
    let failures = 0;
    // The colour tells the state now (yellow while the latest call failed); the count keeps history.
    let lastFailed = false;

    const showStatus = throttledStatus(() => {
      if (!channel || channel.configError) node.status({ fill: "red", shape: "ring", text: "rapidpro-out.status.bad-channel" });
      else if (failures > 0) node.status({ fill: lastFailed ? "yellow" : "green", shape: "dot", text: RED._("rapidpro-out.status.failures", { count: failures, pending: inFlight }) });
      else node.status({ fill: "green", shape: "dot", text: RED._("rapidpro-out.status.pending", { count: inFlight }) });
    });
    showStatus();

    node.on("input", (input: NodeMessage, send: (msg: NodeMessage) => void, done: (err?: Error) => void) => {
      const msg = input as BridgeMsg;
      const action = config.action && config.action !== "auto" ? config.action : actionOf(msg);
      if (!action) {
        done(new Error("cannot tell what to send to RapidPro: expected msg.submit with msg.rapidpro.request (a reply), payload.status (a status), payload.from (an MO) or topic 'stopped' (an opt-out)"));
        return;
      }
      if (action === "reply") {
        answerHeldRequest(msg, send, done);
        return;
      }
      if (!channel?.courier) {
        settleAck(msg, { ok: false, temporary: true, reason: "RapidPro channel not configured" });
        done(new Error(`RapidPro channel not usable: ${channel?.configError ?? "no channel selected"}`));
        return;
      }
      const built = buildCall(action, msg.payload);
      if (!built.ok) {
        settleAck(msg, { ok: false, temporary: false, reason: built.reason });
        done(new Error(built.reason));
        return;
      }
      const status = action === "status" ? (msg.payload as Status) : undefined;
      // Statuses of one message, and messages of one sender, keep their order.
      const orderKey = status ? `status:${status.id}` : `from:${String((msg.payload as { from?: unknown }).from)}`;
      const courier = channel.courier;
      const call = built.call;
      inFlight++;
      showStatus();
      channel.outbox
        .then(async (outbox) => {
          if (outbox) {
            // A status, or an MO with the aggregator's id, goes into the outbox once; a repeat is acknowledged like the first.
            const onceId = status ? statusOnceId(status) : typeof msg.onceId === "string" && msg.onceId ? `mo\n${msg.onceId}` : undefined;
            const queued = await outbox.push(orderKey, call, onceId);
            return { ok: true as const, queued: true, repeat: !queued, status: undefined, attempts: 0 };
          }
          const outcome = await courier.send(call, { orderKey, deadline: msg.ack ? pendingAcks.deadlineOf(msg.ack) : undefined });
          return { ...outcome, queued: false, repeat: false };
        })
        .then((outcome) => {
          inFlight--;
          lastFailed = !outcome.ok;
          if (status) observeStatus(channel, status, outcome);
          if (outcome.ok) {
            settleAck(msg, outcome.queued ? { ok: true, queued: true } : { ok: true });
            msg.courier = outcome.queued ? { action, queued: true, ...(outcome.repeat ? { repeat: true } : {}) } : { action, status: outcome.status, attempts: outcome.attempts };
            showStatus();
            send(msg);
            done();
          } else {
            failures++;
            settleAck(msg, { ok: false, temporary: outcome.temporary, reason: outcome.reason });
            showStatus();
            done(new Error(`RapidPro did not take the ${action} call: ${outcome.reason}`));
          }
        })
        .catch((err: Error) => {
          inFlight--;
          failures++;
          lastFailed = true;
          showStatus();
          settleAck(msg, { ok: false, temporary: true, reason: err.message });
          done(new Error(`could not queue the ${action} call: ${err.message}`));
        });
    });

    function answerHeldRequest(msg: BridgeMsg, send: (msg: NodeMessage) => void, done: (err?: Error) => void) {
      const token = msg.rapidpro?.request;
      if (!token || !heldRequests.has(token)) {
        done(new Error("the courier request of this msg was already answered or timed out (msg.rapidpro.request unknown)"));
        return;
      }
      const reply = msg.submit ? replyForSubmit(msg.submit, { acceptedText }) : replyForError(503, "flow gave no submit result");
      heldRequests.settle(token, reply);
      observeMtReply(channel, msg.payload as Partial<MT> | undefined, msg.submit, reply.status);
      msg.courier = { action: "reply", status: reply.status };
      send(msg);
      if (msg.submit) done();
      else done(new Error("msg.submit missing: answered courier 503 so it retries"));
    }

    node.on("close", (_removed: boolean, done: () => void) => {
      showStatus.cancel();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("rapidpro-out", RapidproOut);
}

/** The action a msg asks for, when the node's config leaves it to the msg. */
function actionOf(msg: BridgeMsg): Action | undefined {
  if (msg.rapidpro?.request && (msg.submit || !isObject(msg.payload) || !("status" in msg.payload))) return "reply";
  if (msg.topic === "stopped") return "stopped";
  if (isObject(msg.payload) && "status" in msg.payload && "id" in msg.payload) return "status";
  if (isObject(msg.payload) && "from" in msg.payload) return "receive";
  return undefined;
}

function buildCall(action: Exclude<Action, "reply">, payload: unknown): BuildResult {
  if (!isObject(payload)) return { ok: false, reason: `msg.payload must be an object for a ${action} call` };
  switch (action) {
    case "receive":
      return receiveCall(payload as unknown as MO);
    case "status":
      return statusCall(payload as unknown as Status);
    case "stopped":
      return stoppedCall(String(payload.from ?? ""));
  }
}

function settleAck(msg: BridgeMsg, outcome: AckOutcome): void {
  if (msg.ack) pendingAcks.settle(msg.ack, outcome);
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}
