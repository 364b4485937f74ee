/**
 * Handing a Rapporto MO to the flow: its acknowledgement (`msg.ack`, settled by rapidpro-out)
 * and, where the node waits for one, a reply text (`msg.rapporto.reply`, settled by a
 * rapporto-mo node's input), both within the time Rapporto waits: "Partner must answer within
 * the timeout (10 s unless agreed)". How the hand-over ended becomes the answer through the
 * delivery core's table (lib/delivery/answers.ts); MoReceiver (lib/rapporto/receiver.ts) turns
 * the outcome into Rapporto's HTTP status (moAnswer in lib/rapporto/mo.ts).
 */
import type { MO } from "../contract";
import { describeHandOver, handOverOf, HAND_OVER_ANSWER, type HandOver } from "../delivery/answers";
import type { AckOutcome, PendingReplies } from "../pending";
import type { MoOutcome, MoPush } from "./mo";

export type ReplyText = string | string[] | undefined;

export interface MoHandOverOptions {
  acks: PendingReplies<AckOutcome>;
  replies: PendingReplies<ReplyText>;
  /** The node that holds the acknowledgements and replies. */
  owner: string;
  /** False: emitting counts as taken. */
  waitForAck: boolean;
  /** How long to wait for a reply text; 0: answer as soon as the MO is taken. */
  replyMs: number;
  /** Rapporto's answer must be on its way by then. */
  answerWithinMs: number;
}

export interface MoMsg {
  payload: MO;
  ack?: string;
  /** rapidpro-out queues an MO with a once-id once (docs/design.md, decision 15). */
  onceId?: string;
  rapporto: { messageId?: string; serviceId?: string; parts?: number; params: Record<string, string>; reply?: string };
}

const EXPIRED: AckOutcome = { ok: false, temporary: true, reason: "not acknowledged in time" };

/** Emits the MO through `send` and resolves with how Rapporto is to be answered; never rejects. */
export function handMoOver(options: MoHandOverOptions, push: MoPush, send: (msg: MoMsg) => void): Promise<MoOutcome> {
  return new Promise<MoOutcome>((resolve) => {
    let handOver: HandOver | undefined = options.waitForAck ? undefined : { kind: "rapidpro" };
    let reply: { text: ReplyText } | undefined = options.replyMs > 0 ? undefined : { text: undefined };
    let finished = false;
    const finish = (outcome: MoOutcome) => {
      if (finished) return;
      finished = true;
      clearTimeout(limit);
      if (replyToken) options.replies.settle(replyToken, undefined);
      if (ackToken) options.acks.settle(ackToken, { ok: false, temporary: true, reason: "MO already answered" });
      resolve(outcome);
    };
    const decide = () => {
      if (!handOver) return;
      const answer = HAND_OVER_ANSWER[handOver.kind];
      if (answer === "refused") return finish({ kind: "rejected", reason: describeHandOver(handOver) });
      if (answer !== "taken") return finish({ kind: "not-handed-on", reason: describeHandOver(handOver) });
      if (reply) finish(reply.text === undefined ? { kind: "handed-on" } : { kind: "reply", text: reply.text });
    };
    // Whatever happens downstream, Rapporto gets an answer in time.
    const limit = setTimeout(() => {
      if (handOver && HAND_OVER_ANSWER[handOver.kind] === "taken") finish({ kind: "handed-on" });
      else finish({ kind: "not-handed-on", reason: describeHandOver({ kind: "expired" }) });
    }, options.answerWithinMs);
    const ackToken = options.waitForAck
      ? options.acks.hold(options.owner, (o) => ((handOver = o === EXPIRED ? { kind: "expired" } : handOverOf(o)), decide()), options.answerWithinMs, () => EXPIRED)
      : undefined;
    const replyToken = options.replyMs > 0 ? options.replies.hold(options.owner, (text) => ((reply = { text }), decide()), options.replyMs, () => undefined) : undefined;
    const msg: MoMsg = {
      payload: push.mo,
      rapporto: { messageId: push.messageId, serviceId: push.serviceId, parts: push.parts, params: push.params, ...(replyToken ? { reply: replyToken } : {}) },
    };
    if (ackToken) msg.ack = ackToken;
    // Rapporto's messageId is unique per MO: rapidpro-out queues the MO once by it.
    if (push.messageId) msg.onceId = `rapporto:${push.serviceId ?? ""}:${push.messageId}`;
    try {
      send(msg);
    } catch (err) {
      finish({ kind: "not-handed-on", reason: (err as Error).message });
      return;
    }
    decide();
  });
}
