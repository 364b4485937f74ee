/**
 * The CIMD2 client session: one logged-in connection at a time (link.ts) and everything
 * that keeps it useful, with the public shape of lib/smpp/session.ts so the node layer can
 * treat both protocols alike: `submit()` resolves to an outcome, a `status` event stream,
 * `delivery` events carrying `respond()`, and `close()`.
 *
 * Submits (the caller's promise always settles, exactly once):
 * - queue FIFO and leave at most `window` at a time (default 1: many SMSCs refuse windowing,
 *   errors 104/105), within the throughput cap;
 * - a submit in flight when the connection drops or a response times out goes back to its
 *   place in the queue and is sent again on the next connection, while it has been sent
 *   fewer than `maxAttempts` times and its deadline has not passed; otherwise it fails as
 *   temporary (at-least-once, as Kannel re-queues);
 * - an error response classed throttling (10 congestion, 324 licence exceeded; errors.ts)
 *   pauses the whole session and re-queues the submit; other errors settle it, temporary
 *   or permanent per the same table.
 *
 * Deliveries: each op 20 / op 23 is emitted once as a `delivery` event; the 70 / 73 is sent
 * only when the listener calls `respond()`: `{ ok: true }` acknowledges, `{ ok: false }`
 * answers with error 710 (or the code given) so the SMSC keeps the message and delivers it
 * again. No listener, a listener that throws, or no answer within `deliverTimeoutMs` gets
 * the error answer too (docs/design.md, the CIMD2 decision).
 */
import { EventEmitter } from "node:events";
import type { SubmitError } from "../contract";
// Generic pieces of the SMPP layer, shared rather than written twice.
import { reconnectDelay } from "../smpp/session";
import { TokenBucket } from "../smpp/throttle";
import { toDelivery, type DeliveryAnswer } from "./deliver";
import { classifyError, describeError, REDELIVER_ERROR } from "./errors";
import { Cimd2Link, errorCodeOf, errorParams, InvalidPacketError, type LogFn } from "./link";
import { OP } from "./operations";
import { param, type DecodedPacket, type Parameter } from "./packet";

export type { Delivery, DeliveryAnswer } from "./deliver";
import { P } from "./parameters";
import { correlationKey } from "./report";

import { DEFAULTS, STATUS_KEYS, type Cimd2SessionOptions, type Resolved, type SessionState, type SessionStatus, type SubmitOptions, type SubmitOutcome } from "./session-options";

export * from "./session-options";

const LOCAL_FAILURES = {
  CLOSED: { text: "the CIMD2 session closed before the SMSC accepted the message", temporary: true },
  DEADLINE: { text: "not accepted by the SMSC before the deadline", temporary: true },
  QUEUE_FULL: { text: "too many messages waiting for the SMSC", temporary: true },
  CONNECTION_LOST: { text: "the connection was lost while the submit was in flight", temporary: true },
  INVALID_PACKET: { text: "the submit could not be encoded", temporary: false },
  NO_TIMESTAMP: { text: "the SMSC accepted the submit without a 060 timestamp", temporary: false },
} as const;
type LocalFailure = keyof typeof LOCAL_FAILURES;

interface Entry {
  order: number;
  params: Parameter[];
  deadline: number;
  attempts: number;
  inFlight: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
  resolve: (outcome: SubmitOutcome) => void;
}

export class Cimd2Session extends EventEmitter {
  private readonly o: Resolved;
  private readonly bucket: TokenBucket;
  private current: SessionStatus;
  private link?: Cimd2Link;
  private readonly queue: Entry[] = [];
  private readonly inFlight = new Set<Entry>();
  private order = 0;
  private pausedUntil = 0;
  private throttlePause: number;
  private pumpTimer?: NodeJS.Timeout;
  private sleepTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;
  private closing?: Promise<void>;
  private deliveriesPending = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: Cimd2SessionOptions) {
    super();
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...defined } as Resolved;
    if (!Number.isInteger(this.o.window) || this.o.window < 1 || this.o.window > 127) throw new RangeError("window must be 1 to 127");
    this.bucket = new TokenBucket({ rate: this.o.throughput, burst: this.o.burst });
    this.throttlePause = this.o.throttlePauseMs;
    this.current = { state: "idle", throttled: false, windowFull: false, inFlight: 0, queued: 0, faults: 0 };
    this.on("error", () => undefined);
  }

  get status(): SessionStatus {
    return { ...this.current, inFlight: this.inFlight.size, queued: this.queue.length };
  }

  get state(): SessionState {
    return this.current.state;
  }

  /** Connects and keeps a logged-in connection until close(). Calling it again does nothing. */
  start(): void {
    if (this.loop || this.closing) return;
    this.loop = this.run();
  }

  /** Queues an op 03 with these parameters (buildSubmit gives them). Never rejects. */
  submit(params: Parameter[], options: SubmitOptions = {}): Promise<SubmitOutcome> {
    return new Promise<SubmitOutcome>((resolve) => {
      if (this.closing) return resolve(localFailure("CLOSED", 0));
      if (this.queue.length >= this.o.maxQueue) return resolve(localFailure("QUEUE_FULL", 0));
      const deadline = options.deadline ?? Date.now() + this.o.queueTimeoutMs;
      const entry: Entry = { order: ++this.order, params, deadline, attempts: 0, inFlight: false, done: false, resolve };
      entry.timer = setTimeout(() => this.expire(entry), Math.max(0, deadline - Date.now()));
      this.queue.push(entry);
      this.pump();
    });
  }

  /**
   * Stops reconnecting, fails queued submits as temporary, waits (bounded) for submits in
   * flight and deliveries being handled, logs out with op 02 and closes.
   */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      this.setStatus({ state: "connecting", retryInMs: undefined });
      const { loggedIn, reason } = await this.connectOnce();
      if (this.closing) break;
      failures = loggedIn ? 0 : failures + 1;
      const delay = reconnectDelay(failures, this.o);
      this.log("warn", `CIMD2 connection ended: ${reason}; reconnecting in ${delay} ms`);
      this.setStatus({ state: "reconnecting", retryInMs: delay, lastError: reason, throttled: false, windowFull: false });
      await this.sleep(delay);
    }
  }

  private async connectOnce(): Promise<{ loggedIn: boolean; reason: string }> {
    const link = new Cimd2Link(this.o, (level, text) => this.log(level, text));
    this.link = link;
    const down = new Promise<string>((resolve) => (link.onDown = resolve));
    link.onRequest = (packet, answer) => this.onRequest(packet, answer);
    link.onFault = (reason) => {
      this.current.faults += 1;
      this.emitSafely("fault", reason);
    };
    try {
      await link.open();
    } catch (error) {
      const reason = (error as Error).message;
      this.noteEndingFault(reason);
      return { loggedIn: false, reason };
    }
    if (this.closing) return { loggedIn: true, reason: "closing" };
    this.setStatus({ state: "loggedIn", retryInMs: undefined });
    this.pump();
    const reason = await down;
    this.noteEndingFault(reason);
    return { loggedIn: true, reason };
  }

  /** A connection that ended on what the SMSC sent (not on a timeout or a close) is a fault. */
  private noteEndingFault(reason: string): void {
    if (!/^unreadable|answered .* with|refused .* with NACK/.test(reason)) return;
    this.current.faults += 1;
    this.emitSafely("fault", reason);
  }

  private sleep(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.sleepTimer = setTimeout(resolve, ms);
    });
  }

  private async shutdown(): Promise<void> {
    this.setStatus({ state: "closing" });
    clearTimeout(this.pumpTimer);
    clearTimeout(this.sleepTimer);
    this.wake?.();
    for (const entry of this.queue.splice(0)) this.finish(entry, localFailure("CLOSED", entry.attempts));
    await this.waitIdle(this.o.drainTimeoutMs);
    if (this.link) await this.link.logout(this.o.logoutTimeoutMs);
    this.link?.destroy("session closed");
    await this.loop;
    this.setStatus({ state: "closed", throttled: false, windowFull: false, retryInMs: undefined });
  }

  private waitIdle(timeoutMs: number): Promise<void> {
    if (this.isIdle()) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(done, timeoutMs);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.idleWaiters.push(done);
    });
  }

  private isIdle(): boolean {
    return this.inFlight.size === 0 && this.deliveriesPending === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  private pump(): void {
    if (this.pumpTimer) return;
    const link = this.link;
    while (this.queue.length > 0 && !this.closing && link?.up && this.inFlight.size < this.o.window) {
      const now = Date.now();
      if (now < this.pausedUntil) {
        this.wakeIn(this.pausedUntil - now);
        break;
      }
      if (this.current.throttled) this.setStatus({ throttled: false });
      const wait = this.bucket.waitMs();
      if (wait > 0) {
        this.wakeIn(wait);
        break;
      }
      this.bucket.tryTake();
      this.dispatch(this.queue.shift() as Entry, link);
    }
    this.setStatus({
      windowFull: this.inFlight.size >= this.o.window && this.queue.length > 0,
      throttled: this.current.throttled && Date.now() < this.pausedUntil,
    });
  }

  private wakeIn(ms: number): void {
    this.pumpTimer = setTimeout(() => {
      this.pumpTimer = undefined;
      this.pump();
    }, ms);
  }

  private dispatch(entry: Entry, link: Cimd2Link): void {
    entry.attempts += 1;
    entry.inFlight = true;
    this.inFlight.add(entry);
    link.request(OP.SUBMIT, entry.params, this.o.responseTimeoutMs, (error, response) => {
      entry.inFlight = false;
      this.inFlight.delete(entry);
      if (error instanceof InvalidPacketError) this.finish(entry, localFailure("INVALID_PACKET", entry.attempts, error.message));
      else if (error || !response) this.onSubmitLost(entry, error?.message ?? "no response");
      else this.onSubmitResponse(entry, response);
      this.checkIdle();
      this.pump();
    });
  }

  private onSubmitLost(entry: Entry, reason: string): void {
    if (this.closing) this.finish(entry, localFailure("CLOSED", entry.attempts, reason));
    else if (entry.attempts >= this.o.maxAttempts) this.finish(entry, localFailure("CONNECTION_LOST", entry.attempts, `sent ${entry.attempts} times; last: ${reason}`));
    else if (Date.now() >= entry.deadline) this.finish(entry, localFailure("DEADLINE", entry.attempts, reason));
    else {
      this.log("info", `submit back in the queue after: ${reason}`);
      this.requeue(entry);
    }
  }

  private onSubmitResponse(entry: Entry, response: DecodedPacket): void {
    const code = errorCodeOf(response);
    if (code === undefined) {
      this.throttlePause = this.o.throttlePauseMs;
      const timestamp = param(response, P.SERVICE_CENTRE_TIMESTAMP);
      const destination = param(response, P.DESTINATION) ?? param({ op: 3, number: 0, params: entry.params }, P.DESTINATION) ?? "";
      if (!timestamp) {
        // Accepted, so never sent again; but no report can ever be matched to it.
        this.finish(entry, localFailure("NO_TIMESTAMP", entry.attempts));
        return;
      }
      this.finish(entry, { ok: true, timestamp, destination, key: correlationKey(timestamp, destination), attempts: entry.attempts });
      return;
    }
    const kind = classifyError(code);
    if (kind === "throttling") {
      this.onThrottled(code);
      entry.attempts -= 1;
      if (!this.closing && this.pausedUntil < entry.deadline) {
        this.requeue(entry);
        return;
      }
    }
    const error: SubmitError = {
      code,
      text: describeError(code, param(response, P.ERROR_TEXT)),
      temporary: kind !== "permanent",
      ...(kind === "throttling" ? { throttled: true } : {}),
    };
    this.finish(entry, { ok: false, errorCode: code, error, attempts: entry.attempts });
  }

  private onThrottled(code: number): void {
    const now = Date.now();
    if (now < this.pausedUntil) return;
    const pause = this.throttlePause;
    this.pausedUntil = now + pause;
    this.throttlePause = Math.min(this.o.throttlePauseMaxMs, pause * 2);
    const text = `SMSC answered ${describeError(code)}; pausing submits for ${pause} ms`;
    this.log("warn", text);
    this.setStatus({ throttled: true, lastError: text });
    if (!this.pumpTimer) this.wakeIn(pause);
  }

  private requeue(entry: Entry): void {
    const at = this.queue.findIndex((e) => e.order > entry.order);
    if (at < 0) this.queue.push(entry);
    else this.queue.splice(at, 0, entry);
  }

  private expire(entry: Entry): void {
    if (entry.done || entry.inFlight) return;
    const at = this.queue.indexOf(entry);
    if (at >= 0) this.queue.splice(at, 1);
    this.finish(entry, localFailure("DEADLINE", entry.attempts, this.current.lastError));
  }

  private finish(entry: Entry, outcome: SubmitOutcome): void {
    if (entry.done) return;
    entry.done = true;
    clearTimeout(entry.timer);
    entry.resolve(outcome);
  }

  private onRequest(packet: DecodedPacket, answer: (params: Parameter[]) => void): void {
    this.deliveriesPending += 1;
    let answered = false;
    const respond = (reply: DeliveryAnswer) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      this.deliveriesPending -= 1;
      answer(reply && reply.ok === true ? [] : errorParams(reply?.code ?? REDELIVER_ERROR, reply?.text));
      this.checkIdle();
    };
    const timer = setTimeout(() => {
      this.log("warn", `no answer for ${packet.op === OP.DELIVER_MESSAGE ? "a message" : "a status report"} within ${this.o.deliverTimeoutMs} ms; answered error ${REDELIVER_ERROR}`);
      respond({ ok: false, text: "not handed over in time" });
    }, this.o.deliverTimeoutMs);
    const delivery = toDelivery(packet, respond);
    if (this.listenerCount("delivery") === 0) {
      this.log("warn", `answered error ${REDELIVER_ERROR}: nothing receives deliveries`);
      respond({ ok: false, text: "no receiver" });
      return;
    }
    try {
      this.emit("delivery", delivery);
    } catch (error) {
      this.log("warn", `delivery listener failed (${(error as Error).message}); answered error ${REDELIVER_ERROR}`);
      respond({ ok: false, text: "receiver failed" });
    }
  }

  private setStatus(patch: Partial<SessionStatus>): void {
    const next = { ...this.current, ...patch };
    if (STATUS_KEYS.every((k) => next[k] === this.current[k])) return;
    this.current = next;
    this.emitSafely("status", this.status);
  }

  private log: LogFn = (level, text) => {
    this.emitSafely("log", { level, text });
  };

  private emitSafely(event: "status" | "log" | "fault", value: unknown): void {
    try {
      this.emit(event, value);
    } catch {
      // A listener's bug must not break the session's state machine.
    }
  }
}

function localFailure(code: LocalFailure, attempts: number, detail?: string): SubmitOutcome {
  const { text, temporary } = LOCAL_FAILURES[code];
  return { ok: false, error: { code, text: detail ? `${text} (${detail})` : text, temporary }, attempts };
}
