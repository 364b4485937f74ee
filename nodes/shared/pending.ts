/**
 * The process-wide registries of replies that wait for a node further down the flow
 * (see lib/pending.ts). Every node module loads this same file, so `rapidpro-in` and
 * `rapidpro-out` (or `smpp-in` and `rapidpro-out`) meet here whatever flow they sit in.
 *
 * Tokens travel in the msg:
 * - `msg.rapidpro.request`: courier's MT request, answered by `rapidpro-out` from `msg.submit`;
 * - `msg.ack`: an aggregator's MO or receipt, acknowledged once RapidPro accepted it.
 */
import type { HttpReply } from "../../lib/http/reply";
import { PendingReplies, type AckOutcome } from "../../lib/pending";

export const heldRequests = new PendingReplies<HttpReply>();
export const pendingAcks = new PendingReplies<AckOutcome>();

/** What `rapidpro-in` adds to each msg. */
export interface RapidproMsgInfo {
  /** Token of the held courier request. */
  request: string;
  /** Id of the rapidpro-in node that holds it. */
  source: string;
}
