/**
 * The answer to courier's send request, from the submit result. Courier reads only the status
 * code and, when the channel has `mt_response_check`, whether the body contains that text
 * (reference §3.6): 2xx accepted; 429 throttled and 5xx temporary (courier retries);
 * any other 4xx permanent (the message fails).
 */
import type { SubmitResult } from "../contract";
import { jsonReply as json, type HttpReply } from "../http/reply";
import { logLine } from "../text/peer-value";

/** Longest error text in a reply: an aggregator's reason may carry a peer value of any length. */
const MAX_ERROR_CHARS = 256;

export interface ReplyOptions {
  /** Put in every accepted reply's body, so a channel's `mt_response_check` finds it. */
  acceptedText: string;
}

export const DEFAULT_REPLY_OPTIONS: ReplyOptions = { acceptedText: "Accepted" };

export function replyForSubmit(submit: SubmitResult, options: ReplyOptions = DEFAULT_REPLY_OPTIONS): HttpReply {
  if (submit.accepted) {
    return json(200, { message: options.acceptedText, parts: submit.parts, smsc_ids: submit.smscIds });
  }
  const error = submit.error ?? { code: "unknown", text: "refused without a reason", temporary: true };
  // The aggregator's text may echo a value whole (an SMSC's reason, a refused address): escaped and cut.
  const body = { message: "Error", error: logLine(String(error.text), MAX_ERROR_CHARS), code: error.code };
  if (error.throttled) return { ...json(429, body), headers: { "retry-after": "1" } };
  return json(error.temporary ? 503 : 400, body);
}

/** Courier gave up waiting on us (or our own timeout passed): 503 makes courier retry later. */
export function replyForTimeout(timeoutMs: number): HttpReply {
  return json(503, { message: "Error", error: `no result from the aggregator within ${timeoutMs} ms; retry later` });
}

/** The node that held the request stopped (redeploy or shutdown): courier retries later. */
export function replyForShutdown(): HttpReply {
  return json(503, { message: "Error", error: "bridge restarting; retry later" });
}

export function replyForError(status: number, reason: string): HttpReply {
  return json(status, { message: "Error", error: reason });
}
