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
  onTimeout: () => R;
  deadline: number;
}

export class PendingReplies<R> {
  private readonly held = new Map<string, Held<R>>();
  /**
   * One timer for every held reply, armed for the earliest deadline, instead of a setTimeout
   * and a clearTimeout per reply (one of each per MT). When it fires, the replies whose
   * deadline passed time out and it is armed for the next; a reply settled before its deadline
   * costs it nothing.
   */
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;

  /**
   * Holds `answer` until settled; after `timeoutMs` it is called with `onTimeout()` instead.
   * `owner` groups replies so a closing node can release all of its own.
   */
  hold(owner: string, answer: (reply: R) => void, timeoutMs: number, onTimeout: () => R): string {
    const token = randomUUID();
    const deadline = Date.now() + timeoutMs;
    this.held.set(token, { owner, answer, onTimeout, deadline });
    if (deadline < this.timerAt) this.arm(deadline);
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
    entry.answer(reply);
    return true;
  }

  private arm(at: number): void {
    clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(() => this.expire(), Math.max(0, at - Date.now()));
    this.timer.unref();
  }

  /** Times out every reply whose deadline passed; arms the timer for the earliest left. */
  private expire(): void {
    this.timer = undefined;
    this.timerAt = Infinity;
    const now = Date.now();
    try {
      for (const [token, entry] of this.held) {
        // Deleting the entry being visited is safe in a Map's iteration.
        if (entry.deadline <= now) this.finish(token, entry.onTimeout());
      }
    } finally {
      // Also when an onTimeout threw: the others still time out. A timer that fired a little
      // early by Date.now() finds nothing due and comes back for it.
      let next = Infinity;
      for (const entry of this.held.values()) if (entry.deadline < next) next = entry.deadline;
      if (next < Infinity) this.arm(next);
    }
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
