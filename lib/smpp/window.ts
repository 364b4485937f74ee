/**
 * The submit window of one bind, a named object as Cloudhopper's `Window`: `offer` puts a
 * submit_sm in the FIFO queue, the window sends it when a slot, the throughput cap and any
 * throttling pause allow, and `complete` settles it with its response or its loss.
 *
 * Delivery policy (the promise `offer` returns always settles, exactly once):
 * - submits leave in FIFO order, at most `window` at a time, within the throughput cap;
 * - a submit in flight when the link drops or a response times out goes back to the queue
 *   in its original place and is sent again on the next link, as long as it has been sent
 *   fewer than `maxAttempts` times and its deadline has not passed; otherwise it fails as
 *   temporary. A re-sent submit may duplicate one the SMSC had in fact accepted
 *   (at-least-once, like Kannel's `wait-ack-expire` re-queue, smpp-and-gateways.md §3.1);
 * - a throttling status (ESME_RTHROTTLED, ESME_RMSGQFUL) pauses the whole window and
 *   re-queues the refused submit (it was refused, so re-sending cannot duplicate); it does
 *   not count as an attempt. The pause doubles while throttling repeats (lib/backoff.ts);
 * - any other status settles the submit: temporary or permanent per the status policy;
 * - a submit still queued at its deadline, or when the window closes, fails as temporary.
 */
import type * as smpp from "smpp";
import { Backoff } from "../backoff";
import type { SubmitError } from "../contract";
import { classifyStatus, describeStatus, statusText, type StatusPolicy } from "./command-status";
import { InvalidPduError, responseStatus, type LogFn } from "./link";
import { TokenBucket } from "../throttle";

export type SubmitOutcome =
  | { ok: true; messageId: string; commandStatus: number; attempts: number }
  | { ok: false; commandStatus?: number; error: SubmitError; attempts: number };

export interface SubmitOptions {
  /** Epoch ms after which the submit is no longer sent (it fails as temporary). */
  deadline?: number;
}

/** Failures that did not come from the SMSC, as data: code, meaning and class. */
const LOCAL_FAILURES = {
  CLOSED: { text: "the SMPP session closed before the SMSC accepted the message", temporary: true },
  DEADLINE: { text: "not accepted by the SMSC before the deadline", temporary: true },
  QUEUE_FULL: { text: "too many messages waiting for the SMSC", temporary: true },
  CONNECTION_LOST: { text: "the connection was lost while the submit was in flight", temporary: true },
  NOT_TRANSMITTER: { text: "this bind is receive-only and cannot submit", temporary: false },
  INVALID_PDU: { text: "the submit_sm could not be encoded", temporary: false },
} as const;
export type LocalFailure = keyof typeof LOCAL_FAILURES;

export function localFailure(code: LocalFailure, attempts: number, detail?: string): SubmitOutcome {
  const { text, temporary } = LOCAL_FAILURES[code];
  return { ok: false, error: { code, text: detail ? `${text} (${detail})` : text, temporary }, attempts };
}

export interface WindowOptions {
  /** Submits in flight at most (Kannel `max-pending-submits`). */
  window: number;
  /** Submits queued at most; more are refused QUEUE_FULL. */
  maxQueue: number;
  /** Default deadline of a submit, counted from `offer`. */
  queueTimeoutMs: number;
  /** How many times one submit may be sent before a lost link fails it. */
  maxAttempts: number;
  /** Messages per second, 0 for no cap; `burst` as TokenBucket's. */
  throughput: number;
  burst?: number;
  /** First pause after a throttling status, and the most it doubles to. */
  throttlePauseMs: number;
  throttlePauseMaxMs: number;
  policy: StatusPolicy;
}

/** What the window needs from its owner (the session). */
export interface WindowHooks {
  /** Sends one submit_sm on the current link; `done` is called once with its response or loss. */
  send(params: smpp.PduParams, done: (error: Error | undefined, pdu?: smpp.PDU) => void): void;
  /** Whether there is a bound link to send on right now. */
  canSend(): boolean;
  /** A shown state changed: throttled (with the reason), or the window full with submits waiting. */
  onState(state: { throttled: boolean; windowFull: boolean; lastError?: string }): void;
  /** The window has nothing in flight any more. */
  onIdle(): void;
  /** Why the bind last failed or paused, for a submit that expires waiting. */
  lastError(): string | undefined;
  log: LogFn;
}

/** One submit, from `offer` to its outcome. */
export interface WindowEntry {
  readonly order: number;
  readonly params: smpp.PduParams;
  readonly deadline: number;
  attempts: number;
  inFlight: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
  resolve: (outcome: SubmitOutcome) => void;
}

export class SubmitWindow {
  private readonly queue: WindowEntry[] = [];
  private readonly sent = new Set<WindowEntry>();
  private readonly bucket: TokenBucket;
  private readonly pauses: Backoff;
  private order = 0;
  private pausedUntil = 0;
  /** What the owner was last told (onState). */
  private shown = { throttled: false, windowFull: false };
  private pumpTimer?: NodeJS.Timeout;
  private pumping = false;
  private closed = false;

  constructor(
    private readonly o: WindowOptions,
    private readonly hooks: WindowHooks,
  ) {
    if (!(o.window >= 1)) throw new RangeError("window must be at least 1");
    this.bucket = new TokenBucket({ rate: o.throughput, burst: o.burst });
    // Doubling without jitter: each bind's pause follows its own SMSC's answers.
    this.pauses = new Backoff({ initialMs: o.throttlePauseMs, maxMs: o.throttlePauseMaxMs, floor: 1 });
  }

  get inFlight(): number {
    return this.sent.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a submit_sm. Never rejects. */
  offer(params: smpp.PduParams, options: SubmitOptions = {}): Promise<SubmitOutcome> {
    return new Promise<SubmitOutcome>((resolve) => {
      if (this.closed) return resolve(localFailure("CLOSED", 0));
      if (this.queue.length >= this.o.maxQueue) return resolve(localFailure("QUEUE_FULL", 0));
      const deadline = options.deadline ?? Date.now() + this.o.queueTimeoutMs;
      const entry: WindowEntry = { order: ++this.order, params, deadline, attempts: 0, inFlight: false, done: false, resolve };
      entry.timer = setTimeout(() => this.expire(entry), Math.max(0, deadline - Date.now()));
      this.queue.push(entry);
      this.pump();
    });
  }

  /**
   * Settles a submit that was sent: with its response PDU, or with the error that ended it
   * (the link went down, no response in time, or it could not be encoded).
   */
  complete(entry: WindowEntry, error: Error | undefined, pdu?: smpp.PDU): void {
    if (!this.sent.delete(entry)) return;
    entry.inFlight = false;
    if (error instanceof InvalidPduError) {
      this.finish(entry, localFailure("INVALID_PDU", entry.attempts, error.message));
    } else if (error || !pdu) {
      this.onLost(entry, error?.message ?? "no response");
    } else {
      this.onResponse(entry, pdu);
    }
    if (this.sent.size === 0) this.hooks.onIdle();
    this.pump();
  }

  /** Sends queued submits while the window, the bucket and any throttling pause allow. */
  pump(): void {
    if (this.pumping || this.pumpTimer) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closed && this.hooks.canSend()) {
        if (this.sent.size >= this.o.window) break;
        const now = Date.now();
        if (now < this.pausedUntil) {
          this.wakeIn(this.pausedUntil - now);
          break;
        }
        const wait = this.bucket.waitMs();
        if (wait > 0) {
          this.wakeIn(wait);
          break;
        }
        this.bucket.tryTake();
        this.dispatch(this.queue.shift() as WindowEntry);
      }
    } finally {
      this.pumping = false;
    }
    this.report();
  }

  /** Fails everything queued as CLOSED and sends nothing more; submits in flight still complete. */
  close(): void {
    this.closed = true;
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    for (const entry of this.queue.splice(0)) this.finish(entry, localFailure("CLOSED", entry.attempts));
    this.report();
  }

  private report(lastError?: string): void {
    const windowFull = this.sent.size >= this.o.window && this.queue.length > 0;
    const throttled = Date.now() < this.pausedUntil;
    if (!lastError && windowFull === this.shown.windowFull && throttled === this.shown.throttled) return;
    this.shown = { throttled, windowFull };
    this.hooks.onState({ throttled, windowFull, ...(lastError ? { lastError } : {}) });
  }

  private wakeIn(ms: number): void {
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  private dispatch(entry: WindowEntry): void {
    entry.attempts += 1;
    entry.inFlight = true;
    this.sent.add(entry);
    this.hooks.send(entry.params, (error, pdu) => this.complete(entry, error, pdu));
  }

  private onLost(entry: WindowEntry, reason: string): void {
    if (this.closed) {
      this.finish(entry, localFailure("CLOSED", entry.attempts, reason));
    } else if (entry.attempts >= this.o.maxAttempts) {
      this.finish(entry, localFailure("CONNECTION_LOST", entry.attempts, `sent ${entry.attempts} times; last: ${reason}`));
    } else if (Date.now() >= entry.deadline) {
      this.finish(entry, localFailure("DEADLINE", entry.attempts, reason));
    } else {
      this.hooks.log("info", `submit back in the queue after: ${reason}`);
      this.requeue(entry);
    }
  }

  private onResponse(entry: WindowEntry, pdu: smpp.PDU): void {
    const status = responseStatus(pdu, "submit_sm_resp");
    const kind = classifyStatus(status, this.o.policy);
    if (kind === "ok") {
      this.pauses.reset();
      const messageId = typeof pdu.message_id === "string" ? pdu.message_id : "";
      this.finish(entry, { ok: true, messageId, commandStatus: status, attempts: entry.attempts });
      return;
    }
    if (kind === "throttling") {
      this.onThrottled(status);
      // Refused, so not delivered: re-sending cannot duplicate, and it is not an attempt.
      entry.attempts -= 1;
      if (!this.closed && this.pausedUntil < entry.deadline) {
        this.requeue(entry);
        return;
      }
    }
    const error: SubmitError = {
      code: status,
      text: `${describeStatus(status)}: ${statusText(status)}`,
      temporary: kind !== "permanent",
      ...(kind === "throttling" ? { throttled: true } : {}),
    };
    this.finish(entry, { ok: false, commandStatus: status, error, attempts: entry.attempts });
  }

  private onThrottled(status: number): void {
    const now = Date.now();
    // Several submits of one window come back throttled together: pause once for them all.
    if (now < this.pausedUntil) return;
    const pause = this.pauses.next();
    this.pausedUntil = now + pause;
    const text = `SMSC answered ${describeStatus(status)}; pausing submits for ${pause} ms`;
    this.hooks.log("warn", text);
    this.report(text);
    // Even with nothing left to send, the status must leave "throttled" when the pause ends.
    if (!this.pumpTimer) this.wakeIn(pause);
  }

  /** Back to its original place in the FIFO (the queue is ordered by `order`). */
  private requeue(entry: WindowEntry): void {
    const at = this.queue.findIndex((e) => e.order > entry.order);
    if (at < 0) this.queue.push(entry);
    else this.queue.splice(at, 0, entry);
  }

  private expire(entry: WindowEntry): void {
    if (entry.done || entry.inFlight) return; // in flight: its response or loss decides
    const at = this.queue.indexOf(entry);
    if (at >= 0) this.queue.splice(at, 1);
    this.finish(entry, localFailure("DEADLINE", entry.attempts, this.hooks.lastError()));
  }

  private finish(entry: WindowEntry, outcome: SubmitOutcome): void {
    if (entry.done) return;
    entry.done = true;
    clearTimeout(entry.timer);
    entry.resolve(outcome);
  }
}
