/**
 * The submit side an SMSC session needs whatever the protocol: submits wait FIFO and leave
 * at most `window` at a time within a throughput cap (lib/throttle.ts's token bucket);
 * one in flight when the connection drops or its response times out goes back to its place
 * while it has been sent fewer than `maxAttempts` times and its deadline has not passed
 * (at-least-once, as Kannel re-queues); a throttling refusal pauses every submit, doubling
 * the pause while refusals repeat, and re-queues the refused one without counting it (it
 * was refused, so sending it again cannot duplicate it); any other refusal settles it.
 * Every promise settles exactly once. The protocol session supplies `Sender`: whether it
 * can send now, and how one send came out.
 *
 * Written for lib/cimd2/session.ts, in the shape lib/smpp/session.ts's submit half has, so
 * that the SMPP and UCP sessions can move onto it too.
 */
import type { SubmitError } from "./contract";
import { TokenBucket } from "./throttle";

export interface SubmitQueueOptions {
  window: number;
  /** Messages per second; 0 means no cap. */
  throughput: number;
  burst?: number;
  maxAttempts: number;
  queueTimeoutMs: number;
  maxQueue: number;
  throttlePauseMs: number;
  throttlePauseMaxMs: number;
}

/** How one send of a submit came out. */
export type SendResult<R> =
  | { kind: "accepted"; result: R }
  /** The SMSC refused it; `throttling` pauses the queue and sends it again later. */
  | { kind: "refused"; code: number; error: SubmitError; throttling?: boolean }
  /** No answer (connection lost, response timeout): it may be sent again. */
  | { kind: "lost"; reason: string }
  /** It can never be sent (it cannot be encoded, or was accepted unusably): settle it. */
  | { kind: "failed"; code: string; text: string; temporary: boolean };

export type QueueOutcome<R> = ({ ok: true; attempts: number } & R) | { ok: false; code?: number; error: SubmitError; attempts: number };

export interface Sender<P, R> {
  ready(): boolean;
  send(params: P, done: (result: SendResult<R>) => void): void;
}

export interface QueueHooks {
  /** windowFull / throttled changed, or a pause started (with its reason). */
  onChange(patch: { windowFull?: boolean; throttled?: boolean; lastError?: string }): void;
  log(level: "info" | "warn", text: string): void;
  /** The last connection error, for a submit that expires waiting. */
  lastError(): string | undefined;
}

interface Entry<P, R> {
  order: number;
  params: P;
  deadline: number;
  attempts: number;
  inFlight: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
  resolve: (outcome: QueueOutcome<R>) => void;
}

export class SubmitQueue<P, R extends object> {
  private readonly bucket: TokenBucket;
  private readonly queue: Entry<P, R>[] = [];
  private readonly sending = new Set<Entry<P, R>>();
  private order = 0;
  private pausedUntil = 0;
  private throttlePause: number;
  private throttled = false;
  private pumpTimer?: NodeJS.Timeout;
  private closed = false;
  private idleWaiters: Array<() => void> = [];

  constructor(
    private readonly o: SubmitQueueOptions,
    private readonly sender: Sender<P, R>,
    private readonly hooks: QueueHooks,
    /** Names the session in failure texts, e.g. "CIMD2". */
    private readonly protocol: string,
  ) {
    this.bucket = new TokenBucket({ rate: o.throughput, burst: o.burst });
    this.throttlePause = o.throttlePauseMs;
  }

  get inFlight(): number {
    return this.sending.size;
  }

  get queued(): number {
    return this.queue.length;
  }

  submit(params: P, deadline?: number): Promise<QueueOutcome<R>> {
    return new Promise<QueueOutcome<R>>((resolve) => {
      if (this.closed) return resolve(this.local("CLOSED", 0));
      if (this.queue.length >= this.o.maxQueue) return resolve(this.local("QUEUE_FULL", 0));
      const until = deadline ?? Date.now() + this.o.queueTimeoutMs;
      const entry: Entry<P, R> = { order: ++this.order, params, deadline: until, attempts: 0, inFlight: false, done: false, resolve };
      entry.timer = setTimeout(() => this.expire(entry), Math.max(0, until - Date.now()));
      this.queue.push(entry);
      this.pump();
    });
  }

  /** Fails everything queued as temporary; submits in flight settle as their sends do. */
  close(): void {
    this.closed = true;
    clearTimeout(this.pumpTimer);
    for (const entry of this.queue.splice(0)) this.finish(entry, this.local("CLOSED", entry.attempts));
  }

  /** Resolves when nothing is in flight, or after `timeoutMs`. */
  waitIdle(timeoutMs: number): Promise<void> {
    return this.sending.size === 0 ? Promise.resolve() : boundedWait(this.idleWaiters, timeoutMs);
  }

  /** Sends queued submits while the window, the bucket and any throttling pause allow. */
  pump(): void {
    if (this.pumpTimer) return;
    while (this.queue.length > 0 && !this.closed && this.sending.size < this.o.window && this.sender.ready()) {
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
      this.dispatch(this.queue.shift() as Entry<P, R>);
    }
    this.throttled = this.throttled && Date.now() < this.pausedUntil;
    this.hooks.onChange({ windowFull: this.sending.size >= this.o.window && this.queue.length > 0, throttled: this.throttled });
  }

  private wakeIn(ms: number): void {
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  private dispatch(entry: Entry<P, R>): void {
    entry.attempts += 1;
    entry.inFlight = true;
    this.sending.add(entry);
    this.sender.send(entry.params, (result) => {
      entry.inFlight = false;
      this.sending.delete(entry);
      this.settle(entry, result);
      if (this.sending.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      this.pump();
    });
  }

  private settle(entry: Entry<P, R>, result: SendResult<R>): void {
    switch (result.kind) {
      case "accepted":
        this.throttlePause = this.o.throttlePauseMs;
        this.finish(entry, { ok: true, attempts: entry.attempts, ...result.result });
        return;
      case "failed":
        this.finish(entry, { ok: false, error: { code: result.code, text: result.text, temporary: result.temporary }, attempts: entry.attempts });
        return;
      case "lost":
        if (this.closed) this.finish(entry, this.local("CLOSED", entry.attempts, result.reason));
        else if (entry.attempts >= this.o.maxAttempts) this.finish(entry, this.local("CONNECTION_LOST", entry.attempts, `sent ${entry.attempts} times; last: ${result.reason}`));
        else if (Date.now() >= entry.deadline) this.finish(entry, this.local("DEADLINE", entry.attempts, result.reason));
        else {
          this.hooks.log("info", `submit back in the queue after: ${result.reason}`);
          this.requeue(entry);
        }
        return;
      case "refused":
        if (result.throttling) {
          this.onThrottled(result.error.text);
          entry.attempts -= 1;
          if (!this.closed && this.pausedUntil < entry.deadline) {
            this.requeue(entry);
            return;
          }
        }
        this.finish(entry, { ok: false, code: result.code, error: result.error, attempts: entry.attempts });
    }
  }

  private onThrottled(reason: string): void {
    const now = Date.now();
    if (now < this.pausedUntil) return;
    const pause = this.throttlePause;
    this.pausedUntil = now + pause;
    this.throttlePause = Math.min(this.o.throttlePauseMaxMs, pause * 2);
    this.throttled = true;
    const text = `SMSC answered ${reason}; pausing submits for ${pause} ms`;
    this.hooks.log("warn", text);
    this.hooks.onChange({ throttled: true, lastError: text });
    if (!this.pumpTimer) this.wakeIn(pause);
  }

  /** Back to its original place in the FIFO (the queue is ordered by `order`). */
  private requeue(entry: Entry<P, R>): void {
    const at = this.queue.findIndex((e) => e.order > entry.order);
    if (at < 0) this.queue.push(entry);
    else this.queue.splice(at, 0, entry);
  }

  private expire(entry: Entry<P, R>): void {
    if (entry.done || entry.inFlight) return; // in flight: its response or loss decides
    const at = this.queue.indexOf(entry);
    if (at >= 0) this.queue.splice(at, 1);
    this.finish(entry, this.local("DEADLINE", entry.attempts, this.hooks.lastError()));
  }

  private finish(entry: Entry<P, R>, outcome: QueueOutcome<R>): void {
    if (entry.done) return;
    entry.done = true;
    clearTimeout(entry.timer);
    entry.resolve(outcome);
  }

  private local(code: keyof typeof LOCAL_FAILURES, attempts: number, detail?: string): QueueOutcome<R> {
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
