/**
 * Replies that wait for something further down a flow.
 *
 * Two things in the bridge cannot be answered at once: courier's MT request (answered when the
 * aggregator accepted or refused the message) and an aggregator's MO or receipt (acknowledged
 * when RapidPro accepted it). The node that received the request holds it here and puts the
 * returned token in the msg; a node further on settles the token. A token is a plain string,
 * so it survives message cloning, function nodes and link nodes.
 *
 * Every held reply is settled exactly once: by `settle`, by its timeout, or by `releaseOwner`
 * when the node that holds it closes.
 */
import { randomUUID } from "node:crypto";

interface Held<R> {
  owner: string;
  answer: (reply: R) => void;
  timer: NodeJS.Timeout;
  deadline: number;
}

export class PendingReplies<R> {
  private readonly held = new Map<string, Held<R>>();

  /**
   * Holds `answer` until settled; after `timeoutMs` it is called with `onTimeout()` instead.
   * `owner` groups replies so a closing node can release all of its own.
   */
  hold(owner: string, answer: (reply: R) => void, timeoutMs: number, onTimeout: () => R): string {
    const token = randomUUID();
    const timer = setTimeout(() => this.finish(token, onTimeout()), timeoutMs);
    timer.unref();
    this.held.set(token, { owner, answer, timer, deadline: Date.now() + timeoutMs });
    return token;
  }

  /** Answers a held reply; false when the token is unknown, already settled or timed out. */
  settle(token: string, reply: R): boolean {
    return this.finish(token, reply);
  }

  has(token: string): boolean {
    return this.held.has(token);
  }

  /** Epoch ms at which the reply times out; undefined when not held. */
  deadlineOf(token: string): number | undefined {
    return this.held.get(token)?.deadline;
  }

  /** Answers every reply `owner` still holds with `reply()`; returns how many there were. */
  releaseOwner(owner: string, reply: () => R): number {
    let count = 0;
    for (const [token, entry] of this.held) {
      if (entry.owner === owner && this.finish(token, reply())) count++;
    }
    return count;
  }

  private finish(token: string, reply: R): boolean {
    const entry = this.held.get(token);
    if (!entry) return false;
    this.held.delete(token);
    clearTimeout(entry.timer);
    entry.answer(reply);
    return true;
  }
}

/** How a node downstream settles an aggregator's MO or receipt. */
export interface AckOutcome {
  /** True once RapidPro accepted the message (or it sits in a durable queue). */
  ok: boolean;
  /** When ok: it sits in the durable outbox rather than in RapidPro yet. */
  queued?: boolean;
  /** When not ok: worth delivering again (RapidPro down) or not (RapidPro refused it). */
  temporary?: boolean;
  reason?: string;
}
