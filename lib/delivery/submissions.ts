/**
 * What a courier request is, and when it is submitted.
 *
 * Courier sends a text longer than the channel's `max_length` as several requests with the
 * same id and different texts ("Every part carries the same {{id}}/{{uuid}}", reference
 * rapidpro-external-channel.md §4.1), and sends a request again when it did not hear our answer.
 * So a request is identified by its RapidPro id and its text:
 * - a new (id, text) is submitted, and its SMS ids are stored with a digest of the text (never
 *   the text) in the id's entry (lib/store/types.ts);
 * - an (id, text) whose submission the aggregator accepted and that did not fail is a resend: it
 *   is answered from the store (`submit.repeat`) and nothing is submitted;
 * - an (id, text) whose submission failed is submitted anew (RapidPro resends on purpose);
 * - submissions of one (id, text) go one at a time, so a resend that arrives while the first is
 *   still with the aggregator sees its result; different parts of one id may go at once.
 * Without an id nothing can be matched: the request is submitted and nothing stored.
 */
import type { MT, SubmitError, SubmitResult } from "../contract";
import { OneAtATime } from "../one-at-a-time";
import type { CorrelationStore } from "../store/types";
import { submissionOfText } from "./aggregate";
import { logLine } from "../text/peer-value";
import { sha256 } from "../text/sha256";

/** A digest of a request's text: 128 bits of SHA-256, base64url. */
export function textDigest(text: string): string {
  return sha256(text, "base64url").slice(0, 22);
}

/** What a protocol's sender gives back for one submission. */
export interface Submitted {
  result: SubmitResult;
  /** The ids to store, one per SMS, as receipts will be looked up (e.g. normalised SMPP ids); default `result.smscIds`. */
  keys?: string[];
}

export interface SubmissionOutcome {
  result: SubmitResult;
  /** Accepted, but something the operator should know (the correlation could not be stored). */
  warning?: string;
}

/** Requests under way, per scope (a bind or an account) and (id, text); shared by every sender of the scope. */
const underWay = new OneAtATime();

export function refused(error: SubmitError, parts = 0): SubmitResult {
  return { accepted: false, parts, smscIds: [], error };
}

/**
 * The MT in `msg.payload` and the bind's session, or the refusal every sender gives without
 * them (`bindType` names the config node in the reason).
 */
export function readyToSubmit<S>(payload: unknown, link: { session?: S; configError?: string }, bindType: string): { mt: MT; session: S } | { refusal: SubmissionOutcome } {
  const mt = payload as MT;
  if (!mt || typeof mt !== "object" || typeof mt.id !== "string") {
    return { refusal: { result: refused({ code: "INVALID_MT", text: "msg.payload is not an MT: it needs id, to, from and text", temporary: false }) } };
  }
  if (!link.session) return { refusal: { result: refused({ code: "BIND_MISCONFIGURED", text: link.configError ?? `${bindType} is misconfigured`, temporary: true }) } };
  return { mt, session: link.session };
}

/** One SMS of a request as a protocol's session answered it: its id and store key, or the error. */
export type SmsOutcome = { ok: true; smscId: string; key: string } | { ok: false; error: SubmitError };

/**
 * A request of several SMS (every one submitted at once) is accepted only when every one was;
 * the first failure gives the error, prefixed with its part number.
 */
export function partsSubmitted(outcomes: readonly SmsOutcome[]): Submitted {
  const failedAt = outcomes.findIndex((o) => !o.ok);
  if (failedAt >= 0) {
    const { error } = outcomes[failedAt] as Extract<SmsOutcome, { ok: false }>;
    const prefix = outcomes.length > 1 ? `part ${failedAt + 1} of ${outcomes.length}: ` : "";
    return { result: refused({ ...error, text: prefix + error.text }, outcomes.length) };
  }
  const accepted = outcomes as Extract<SmsOutcome, { ok: true }>[];
  return { result: { accepted: true, parts: accepted.length, smscIds: accepted.map((o) => o.smscId) }, keys: accepted.map((o) => o.key) };
}

/**
 * What `send` is told: how many earlier submissions of this (id, text) failed. A protocol's
 * idempotency key (Rapporto's partnerMsgId) must stay the same for a resend, so that the
 * aggregator sends it once, and change for a submission anew after a failure, or the aggregator
 * would answer the failed one again.
 */
export interface Attempt {
  earlierFailures: number;
}

/**
 * Submits one courier request through `send` unless it is a resend, and records it. Never
 * rejects: a store that cannot be read refuses the request as temporary, since submitting it
 * blind could put a second SMS on the phone.
 */
export function submitOnce(scope: string, store: () => Promise<CorrelationStore>, mt: MT, send: (attempt: Attempt) => Promise<Submitted>): Promise<SubmissionOutcome> {
  const id = typeof mt.id === "string" ? mt.id : "";
  if (id === "") {
    return send({ earlierFailures: 0 }).then(({ result }) => ({ result, ...(result.accepted ? { warning: "accepted, but the MT has no id, so its receipts cannot be matched" } : {}) }));
  }
  const text = textDigest(typeof mt.text === "string" ? mt.text : "");
  return underWay.run(`${scope}\n${id}\n${text}`, async () => {
    let correlations: CorrelationStore;
    let earlierFailures = 0;
    try {
      correlations = await store();
      const earlier = await correlations.findByMessage(id);
      const submission = earlier && submissionOfText(earlier, text);
      if (submission && !submission.states.includes("failed")) {
        return { result: { accepted: true, parts: submission.parts.length, smscIds: [...submission.parts], repeat: true } };
      }
      earlierFailures = earlier?.submissions.filter((s) => s.text === text).length ?? 0;
    } catch (err) {
      return { result: refused({ code: "STORE_UNAVAILABLE", text: `correlation store: ${(err as Error).message}`, temporary: true }) };
    }
    const { result, keys } = await send({ earlierFailures });
    if (!result.accepted) return { result };
    try {
      await correlations.put(id, keys ?? result.smscIds, text);
    } catch (err) {
      // Accepted by the aggregator: refusing now would make courier send it twice.
      return { result, warning: logLine(`message ${id} accepted, but its receipts cannot be matched: ${(err as Error).message}`) };
    }
    return { result };
  });
}
