/**
 * The submit window of one SMSC session whatever the protocol, a named object as
 * Cloudhopper's `Window`: `offer` puts a submit in the FIFO queue, the window sends it when a
 * slot, the throughput cap (lib/throttle.ts) and any throttling pause allow, and `complete`
 * settles one that was sent with how its send came out. lib/smpp/window.ts,
 * lib/ucp/session.ts and lib/cimd2/session.ts say what their protocol's answers mean; the
 * policy is here, once.
 *
 * Delivery policy (the promise `offer` returns always settles, exactly once):
 * - submits leave in FIFO order, at most `window` at a time, within the throughput cap;
 * - a submit in flight when the connection drops or its response times out goes back to the
 *   queue in its original place and is sent again on the next connection, as long as it has
 *   been sent fewer than `maxAttempts` times and its deadline has not passed; otherwise it
 *   fails as temporary. A re-sent submit may duplicate one the SMSC had in fact accepted
 *   (at-least-once, like Kannel's re-queue on `wait-ack-expire` and on reconnect);
 * - a throttling refusal pauses the whole window and re-queues the refused submit (it was
 *   refused, so re-sending cannot duplicate); it does not count as an attempt. The pause
 *   doubles while throttling repeats (lib/backoff.ts);
 * - any other refusal settles the submit with its code and error;
 * - a submit still queued at its deadline, or when the window closes, fails as temporary.
 */
import { Backoff } from "../backoff";
import type { SubmitError } from "../contract";
import { TokenBucket } from "../throttle";

export interface WindowOptions {
  /** Submits in flight at most (Kannel `max-pending-submits`). */
  window: number;
  /** Messages per second; 0 means no cap. `burst` as TokenBucket's. */
  throughput: number;
  burst?: number;
  /** How many times one submit may be sent before a lost connection fails it. */
  maxAttempts: number;
  /** Default deadline of a submit, counted from `offer`. */
  queueTimeoutMs: number;
  /** Submits queued at most; more are refused QUEUE_FULL. */
  maxQueue: number;
  /** First pause after a throttling refusal, and the most it doubles to. */
  throttlePauseMs: number;
  throttlePauseMaxMs: number;
  /** Show `throttled` while submits wait on the throughput cap too, not only in a pause (UCP's status). */
  capShowsThrottled?: boolean;
}

/** How one send of a submit came out. */
export type SendResult<R> =
  | { kind: "accepted"; result: R }
  /** The SMSC refused it; `throttling` pauses the window and sends it again later. `reason` names the refusal in the pause's log line (default the error text). */
  | { kind: "refused"; code: number | string; error: SubmitError; throttling?: boolean; reason?: string }
  /** No answer (connection lost, response timeout): it may be sent again. */
  | { kind: "lost"; reason: string }
  /** It can never be sent (it cannot be encoded, or was accepted unusably): settle it. */
  | { kind: "failed"; code: string; text: string; temporary: boolean };

export type WindowOutcome<R> = ({ ok: true; attempts: number } & R) | { ok: false; code?: number | string; error: SubmitError; attempts: number };

/** What the window needs from its session: whether it can send now, and one send. */
export interface Sender<P, R> {
  ready(): boolean;
  /** Sends one submit; `done` is called once with how it came out. */
  send(params: P, done: (result: SendResult<R>) => void): void;
}

export interface WindowState {
  throttled: boolean;
  /** Every slot is taken and submits are waiting. */
  windowFull: boolean;
  /** Set when a throttling pause starts: why. */
  lastError?: string;
}

export interface WindowHooks {
  /** What the window shows changed, or a pause started (with its reason). */
  onChange(state: WindowState): void;
  log(level: "info" | "warn", text: string): void;
  /** The last connection error, for a submit that expires waiting. */
  lastError(): string | undefined;
}

/** One submit, from `offer` to its outcome. */
export interface WindowEntry<P, R> {
  readonly order: number;
  readonly params: P;
  readonly deadline: number;
  attempts: number;
  inFlight: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
  resolve: (outcome: WindowOutcome<R>) => void;
}

export class SubmitWindow<P, R extends object> {
  private readonly queue: WindowEntry<P, R>[] = [];
  private readonly sending = new Set<WindowEntry<P, R>>();
  private readonly bucket: TokenBucket;
  private readonly pauses: Backoff;
  private order = 0;
  private pausedUntil = 0;
  private waitingOnCap = false;
  /** What the owner was last told (onChange). */
  private shown: WindowState = { throttled: false, windowFull: false };
  private pumpTimer?: NodeJS.Timeout;
  private pumping = false;
  private closed = false;
  private readonly idleWaiters: Array<() => void> = [];

  constructor(
    private readonly o: WindowOptions,
    private readonly sender: Sender<P, R>,
    private readonly hooks: WindowHooks,
    /** Names the session in failure texts, e.g. "CIMD2". */
    private readonly protocol: string,
  ) {
    if (!(o.window >= 1)) throw new RangeError("window must be at least 1");
    this.bucket = new TokenBucket({ rate: o.throughput, burst: o.burst });
    // Doubling without jitter: each session's pause follows its own SMSC's answers.
    this.pauses = new Backoff({ initialMs: o.throttlePauseMs, maxMs: o.throttlePauseMaxMs, floor: 1 });
  }

  get inFlight(): number {
    return this.sending.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Queues a submit, to leave by epoch ms `deadline` (default queueTimeoutMs from now). Never rejects. */
  offer(params: P, deadline?: number): Promise<WindowOutcome<R>> {
    return new Promise<WindowOutcome<R>>((resolve) => {
      if (this.closed) return resolve(this.local("CLOSED", 0));
      if (this.queue.length >= this.o.maxQueue) return resolve(this.local("QUEUE_FULL", 0));
      const until = deadline ?? Date.now() + this.o.queueTimeoutMs;
      const entry: WindowEntry<P, R> = { order: ++this.order, params, deadline: until, attempts: 0, inFlight: false, done: false, resolve };
      entry.timer = setTimeout(() => this.expire(entry), Math.max(0, until - Date.now()));
      this.queue.push(entry);
      this.pump();
    });
  }

  /** Settles a submit that was sent, with how its send came out; a second call does nothing. */
  complete(entry: WindowEntry<P, R>, result: SendResult<R>): void {
    if (!this.sending.delete(entry)) return;
    entry.inFlight = false;
    this.settle(entry, result);
    if (this.sending.size === 0) for (const wake of this.idleWaiters.splice(0)) wake();
    this.pump();
  }

  /** Sends queued submits while the window, the bucket and any throttling pause allow. */
  pump(): void {
    if (this.pumping || this.pumpTimer) return;
    this.pumping = true;
    this.waitingOnCap = false;
    try {
      while (this.queue.length > 0 && !this.closed && this.sending.size < this.o.window && this.sender.ready()) {
        const now = Date.now();
        if (now < this.pausedUntil) {
          this.wakeIn(this.pausedUntil - now);
          break;
        }
        const wait = this.bucket.waitMs();
        if (wait > 0) {
          this.waitingOnCap = true;
          this.wakeIn(wait);
          break;
        }
        this.bucket.tryTake();
        this.dispatch(this.queue.shift() as WindowEntry<P, R>);
      }
    } finally {
      this.pumping = false;
    }
    // The status must leave "throttled" when the pause ends, even with nothing left to send; and a
    // timer can fire a few ms early by Date.now() (Node arms it from the loop's cached clock), so
    // re-arm until the pause is really over.
    const paused = this.pausedUntil - Date.now();
    if (paused > 0 && !this.pumpTimer && !this.closed) this.wakeIn(paused);
    this.report();
  }

  /** Fails everything queued as CLOSED and sends nothing more; submits in flight still complete. */
  close(): void {
    this.closed = true;
    clearTimeout(this.pumpTimer);
    this.pumpTimer = undefined;
    this.waitingOnCap = false;
    for (const entry of this.queue.splice(0)) this.finish(entry, this.local("CLOSED", entry.attempts));
    this.report();
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<void> {
    return this.sending.size === 0 ? Promise.resolve() : boundedWait(this.idleWaiters, timeoutMs);
  }

  private report(lastError?: string): void {
    const windowFull = this.sending.size >= this.o.window && this.queue.length > 0;
    const throttled = Date.now() < this.pausedUntil || (this.o.capShowsThrottled === true && this.waitingOnCap);
    if (!lastError && windowFull === this.shown.windowFull && throttled === this.shown.throttled) return;
    this.shown = { throttled, windowFull };
    this.hooks.onChange({ throttled, windowFull, ...(lastError ? { lastError } : {}) });
  }

  private wakeIn(ms: number): void {
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  private dispatch(entry: WindowEntry<P, R>): void {
    entry.attempts += 1;
    entry.inFlight = true;
    this.sending.add(entry);
    this.sender.send(entry.params, (result) => this.complete(entry, result));
  }

  private settle(entry: WindowEntry<P, R>, result: SendResult<R>): void {
    switch (result.kind) {
      case "accepted":
        this.pauses.reset();
        this.finish(entry, { ok: true, attempts: entry.attempts, ...result.result });
        return;
      case "failed":
        this.finish(entry, { ok: false, error: { code: result.code, text: result.text, temporary: result.temporary }, attempts: entry.attempts });
        return;
      case "lost":
        this.onLost(entry, result.reason);
        return;
      case "refused":
        if (result.throttling) {
          this.onThrottled(result.reason ?? result.error.text);
          // Refused, so not delivered: re-sending cannot duplicate, and it is not an attempt.
          entry.attempts -= 1;
          if (!this.closed && this.pausedUntil < entry.deadline) {
            this.requeue(entry);
            return;
          }
        }
        this.finish(entry, { ok: false, code: result.code, error: result.error, attempts: entry.attempts });
    }
  }

  private onLost(entry: WindowEntry<P, R>, reason: string): void {
    if (this.closed) {
      this.finish(entry, this.local("CLOSED", entry.attempts, reason));
    } else if (entry.attempts >= this.o.maxAttempts) {
      this.finish(entry, this.local("CONNECTION_LOST", entry.attempts, `sent ${entry.attempts} times; last: ${reason}`));
    } else if (Date.now() >= entry.deadline) {
      this.finish(entry, this.local("DEADLINE", entry.attempts, reason));
    } else {
      this.hooks.log("info", `submit back in the queue after: ${reason}`);
      this.requeue(entry);
    }
  }

  private onThrottled(reason: string): void {
    const now = Date.now();
    // Several submits of one window come back throttled together: pause once for them all.
    if (now < this.pausedUntil) return;
    const pause = this.pauses.next();
    this.pausedUntil = now + pause;
    const text = `SMSC answered ${reason}; pausing submits for ${pause} ms`;
    this.hooks.log("warn", text);
    this.report(text);
  }

  /** Back to its original place in the FIFO (the queue is ordered by `order`). */
  private requeue(entry: WindowEntry<P, R>): void {
    const at = this.queue.findIndex((e) => e.order > entry.order);
    if (at < 0) this.queue.push(entry);
    else this.queue.splice(at, 0, entry);
  }

  private expire(entry: WindowEntry<P, R>): void {
    if (entry.done || entry.inFlight) return; // in flight: its response or loss decides
    const at = this.queue.indexOf(entry);
    if (at >= 0) this.queue.splice(at, 1);
    this.finish(entry, this.local("DEADLINE", entry.attempts, this.hooks.lastError()));
  }

  private finish(entry: WindowEntry<P, R>, outcome: WindowOutcome<R>): void {
    if (entry.done) return;
    entry.done = true;
    clearTimeout(entry.timer);
    entry.resolve(outcome);
  }

  private local(code: keyof typeof LOCAL_FAILURES, attempts: number, detail?: string): WindowOutcome<R> {
    const text = LOCAL_FAILURES[code].replace("%s", this.protocol);
    return { ok: false, error: { code, text: detail ? `${text} (${detail})` : text, temporary: true }, attempts };
  }
}

/** Failures that did not come from the SMSC; all temporary (courier tries again). */
const LOCAL_FAILURES = {
  CLOSED: "the %s session closed before the SMSC accepted the message",
  DEADLINE: "not accepted by the SMSC before the deadline",
  QUEUE_FULL: "too many messages waiting for the SMSC",
  CONNECTION_LOST: "the connection was lost while the submit was in flight",
} as const;

/** Resolves when the owner calls the function it adds to `waiters`, or after `timeoutMs`. */
export function boundedWait(waiters: Array<() => void>, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done() {
      clearTimeout(timer);
      resolve();
    }
    waiters.push(done);
  });
}
