/**
 * rapporto-mo: the endpoint for Rapporto's MO push (GET, or POST form). Emits the MO contract
 * `{ from, to, text, date }` with `msg.ack` for rapidpro-out, and answers Rapporto as its docs
 * say: 204 once the MO is handed on, 200 with a reply text when a flow sends one back to a
 * rapporto-mo node within the reply time, 503 when it could not be handed on (Rapporto then
 * delivers it again). Refused sources and bad signatures get 403 and emit nothing; a repeated
 * messageId gets the first answer again and emits nothing.
 */
import type { Node, NodeAPI, NodeDef, NodeMessage } from "node-red";
import { PendingReplies } from "../../lib/pending";
import { handMoOver, type ReplyText } from "../../lib/rapporto/mo-hand-over";
import { MO_ANSWER_TIMEOUT_MS } from "../../lib/rapporto/codes";
import { readPushParams, type MoPush } from "../../lib/rapporto/mo";
import { MoReceiver } from "../../lib/rapporto/receiver";
import { textReply } from "../../lib/http/reply";
import { openEndpoint, type Endpoint } from "../shared/endpoint";
import { pendingAcks } from "../shared/pending";
import { releaseHandOvers } from "../../lib/delivery/hand-over";
import type { RapportoAccountNode } from "../rapporto-account/rapporto-account";
import { shortStatusText, throttledStatus } from "../shared/status";
import { logLine } from "../../lib/text/peer-value";
import { observeMo } from "../shared/observe";
import { seconds } from "../shared/settings";

interface RapportoMoDef extends NodeDef {
  account: string;
  path: string;
  timeZone: string;
  /** "rapidpro": handed on when msg.ack is settled; "emit": handed on when emitted. */
  ackMode: "rapidpro" | "emit";
  /** Seconds to wait for a reply text; 0: answer 204 as soon as the MO is handed on. */
  replyTimeout: string | number;
  duplicateWindow: string | number;
}

/** Reply texts on their way back, shared by every rapporto-mo node (like http in / http response). */
const replies = new PendingReplies<ReplyText>();

/** Rapporto waits "10 s unless agreed": answer before that, or it counts as an error. */
const ANSWER_WITHIN_MS = MO_ANSWER_TIMEOUT_MS - 1000;
const BODY_LIMIT_BYTES = 64 * 1024;
const DEFAULT_ZONE = "Europe/Moscow";


export default function (RED: NodeAPI) {
  function RapportoMo(this: Node, config: RapportoMoDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const account = RED.nodes.getNode(config.account) as RapportoAccountNode | null;
    const path = config.path || "/rapporto/mo";
    const replyMs = Math.min(Math.max(0, Number(config.replyTimeout) || 0) * 1000, ANSWER_WITHIN_MS);
    const waitForAck = config.ackMode !== "emit";
    const counts = { handedOn: 0, refused: 0, failed: 0 };

    // Input: a reply text for an MO this (or another) rapporto-mo node holds.
    node.on("input", (msg: NodeMessage & { rapporto?: { reply?: string } }, _send: unknown, done: (err?: Error) => void) => {
      const token = msg.rapporto?.reply;
      const text = msg.payload;
      const valid = typeof text === "string" || (Array.isArray(text) && text.every((t) => typeof t === "string"));
      if (!token || !valid) return done(new Error("a reply needs msg.rapporto.reply (from the MO msg) and msg.payload as text or an array of texts"));
      if (!replies.settle(token, text as string | string[])) node.warn("reply came too late: the MO was already answered");
      done();
    });

    if (!account) {
      node.status({ fill: "red", shape: "ring", text: RED._("rapporto-mo.status.no-account") });
      node.error(RED._("rapporto-mo.errors.no-account"));
      return;
    }

    let receiver: MoReceiver;
    try {
      receiver = new MoReceiver(
        {
          timeZone: config.timeZone?.trim() || DEFAULT_ZONE,
          allowed: account.sources.allowed,
          trustedProxies: account.sources.trustedProxies,
          signatureKey: account.signatureKey,
          duplicateWindowMs: seconds(config.duplicateWindow, 86_400),
        },
        (push) => handOn(push).then((outcome) => (observeMo(account, push.mo, push.parts ?? 1, outcome.kind !== "not-handed-on"), outcome)),
      );
    } catch (err) {
      node.status({ fill: "red", shape: "ring", text: shortStatusText((err as Error).message) });
      node.error(logLine((err as Error).message));
      return;
    }

    /** Emits the MO and resolves with how Rapporto should be answered. */
    // The receiver's notes are escaped already (lib/rapporto/receiver.ts); a warning is not.
    const handOn = (push: MoPush) => {
      for (const w of push.warnings) node.warn(logLine(`MO from ${push.mo.from}: ${w}`));
      return handMoOver({ acks: pendingAcks, replies, owner: node.id, waitForAck, replyMs, answerWithinMs: ANSWER_WITHIN_MS }, push, (msg) => node.send({ ...msg }));
    };

    const opened = openEndpoint(RED, {
      path,
      methods: ["get", "post"],
      limitBytes: BODY_LIMIT_BYTES,
      onError: (err) => node.error(err),
      onRequest(call, respond) {
        const params = readPushParams(call.query, call.body);
        void receiver.handle({ peer: call.remoteAddress, forwardedFor: call.headers["x-forwarded-for"], params }).then(
          (handling) => {
            if (handling.kind === "handed-on") counts.handedOn++;
            else if (handling.kind === "refused" || handling.kind === "malformed") {
              counts.refused++;
              node.warn(`MO push refused: ${handling.note}`);
            } else if (handling.kind === "not-handed-on") {
              counts.failed++;
              node.warn(`MO answered ${handling.answer.status} so Rapporto delivers it again: ${handling.note}`);
            }
            showStatus();
            respond(textReply(handling.answer.status, handling.answer.body));
          },
          (err: Error) => {
            node.error(logLine(`MO push: ${err.message}`));
            respond(textReply(503, "temporary failure"));
          },
        );
      },
    });
    if ("error" in opened) {
      node.status({ fill: "red", shape: "ring", text: shortStatusText(opened.error) });
      node.error(opened.error);
      return;
    }
    const endpoint: Endpoint = opened;
    const showStatus = throttledStatus(() => {
      if (account.sourceError) node.status({ fill: "red", shape: "ring", text: shortStatusText(account.sourceError) });
      else node.status({ fill: counts.failed || counts.refused ? "yellow" : "green", shape: "dot", text: RED._("rapporto-mo.status.counts", { path, ...counts }) });
    });
    showStatus();

    node.on("close", (_removed: boolean, done: () => void) => {
      endpoint.close();
      releaseHandOvers(pendingAcks, node.id);
      replies.releaseOwner(node.id, () => undefined);
      showStatus.cancel();
      node.status({});
      done();
    });
  }

  RED.nodes.registerType("rapporto-mo", RapportoMo);
}
