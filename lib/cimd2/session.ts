/**
 * The CIMD2 client session: one logged-in connection at a time (link.ts) and everything
 * that keeps it useful, with the public shape of lib/smpp/session.ts so the node layer can
 * treat both protocols alike: `submit()` resolves to an outcome, a `status` event stream,
 * `delivery` events carrying `respond()`, and `close()`.
 *
 * Submits go through lib/session/window.ts (window, default 1 since many SMSCs refuse
 * windowing with errors 104/105; throughput cap; re-queue after a lost connection; the
 * pause on throttling). This file says what a CIMD2 response means for it: a 53 without
 * `900` is accepted with its `060`; an error code is classed by errors.ts's one table
 * (10 congestion and 324 licence exceeded throttle).
 *
 * Deliveries: each op 20 / op 23 is emitted once as a `delivery` event; the 70 / 73 is sent
 * only when the listener calls `respond()`: `{ ok: true }` acknowledges, `{ ok: false }`
 * answers with error 710 (or the code given) so the SMSC keeps the message and delivers it
 * again. No listener, a listener that throws, or no answer within `deliverTimeoutMs` gets
 * the error answer too (docs/design.md, the CIMD2 decision).
 */
import { SessionBase } from "../session/base";
import { PendingDeliveries } from "../session/deliveries";
import { SubmitWindow, type SendResult } from "../session/window";
import { toDelivery, type DeliveryAnswer } from "./deliver";
import { classifyError, describeError, errorCodeOf, errorParams, REDELIVER_ERROR } from "./errors";
import { Cimd2Link, InvalidPacketError } from "./link";
import { OP } from "./operations";
import { param, type DecodedPacket, type Parameter } from "./packet";
import { P } from "./parameters";
import { correlationKey } from "./report";
import { DEFAULTS, STATUS_KEYS, type Accepted, type Cimd2SessionOptions, type Resolved, type SessionState, type SessionStatus, type SubmitOptions, type SubmitOutcome } from "./session-options";

export type { Delivery, DeliveryAnswer } from "./deliver";
export * from "./session-options";

export class Cimd2Session extends SessionBase<SessionStatus> {
  private readonly o: Resolved;
  private readonly submits: SubmitWindow<Parameter[], Accepted>;
  private readonly deliveries: PendingDeliveries;
  private link?: Cimd2Link;

  constructor(options: Cimd2SessionOptions) {
    super({ state: "idle", throttled: false, windowFull: false, inFlight: 0, queued: 0, faults: 0 }, STATUS_KEYS);
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...defined } as Resolved;
    if (!Number.isInteger(this.o.window) || this.o.window < 1 || this.o.window > 127) throw new RangeError("window must be 1 to 127");
    const sender = { ready: () => this.link?.up === true, send: (params: Parameter[], done: (r: SendResult<Accepted>) => void) => this.send(params, done) };
    const hooks = {
      onChange: (patch: Partial<SessionStatus>) => this.setStatus(patch),
      log: (level: "info" | "warn", text: string) => this.log(level, text),
      lastError: () => this.current.lastError,
    };
    this.submits = new SubmitWindow(this.o, sender, hooks, "CIMD2");
    this.deliveries = new PendingDeliveries(this.o.deliverTimeoutMs);
  }

  get status(): SessionStatus {
    return { ...this.current, inFlight: this.submits.inFlight, queued: this.submits.queued };
  }

  get state(): SessionState {
    return this.current.state;
  }

  /** Connects and keeps a logged-in connection until close(). Calling it again does nothing. */
  start(): void {
    if (this.loop || this.closing) return;
    this.loop = this.reconnect(this.o, "CIMD2 connection ended");
  }

  /** Queues an op 03 with these parameters (buildSubmit gives them). Never rejects. */
  submit(params: Parameter[], options: SubmitOptions = {}): Promise<SubmitOutcome> {
    return this.submits.offer(params, options.deadline);
  }

  /**
   * Stops reconnecting, fails queued submits as temporary, waits (bounded) for submits in
   * flight and deliveries being handled, logs out with op 02 and closes.
   */
  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  /** One connection: open and log in (link.ts), serve until it ends. `up` once logged in. */
  protected async connectOnce(): Promise<{ up: boolean; reason: string }> {
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
      return { up: false, reason };
    }
    if (this.closing) return { up: true, reason: "closing" };
    this.setStatus({ state: "loggedIn", retryInMs: undefined });
    this.submits.pump();
    const reason = await down;
    this.noteEndingFault(reason);
    return { up: true, reason };
  }

  /** A connection that ended on what the SMSC sent (not on a timeout or a close) is a fault. */
  private noteEndingFault(reason: string): void {
    if (!/^unreadable|answered .* with|refused .* with NACK/.test(reason)) return;
    this.current.faults += 1;
    this.emitSafely("fault", reason);
  }

  private async shutdown(): Promise<void> {
    this.setStatus({ state: "closing" });
    this.sleeps.cancel();
    this.submits.close();
    await Promise.all([this.submits.waitIdle(this.o.drainTimeoutMs), this.deliveries.waitIdle(this.o.drainTimeoutMs)]);
    if (this.link) await this.link.logout(this.o.logoutTimeoutMs);
    this.link?.destroy("session closed");
    await this.loop;
    this.setStatus({ state: "closed", throttled: false, windowFull: false, retryInMs: undefined });
  }

  private send(params: Parameter[], done: (result: SendResult<Accepted>) => void): void {
    const link = this.link;
    if (!link) return done({ kind: "lost", reason: "not connected" });
    link.request(OP.SUBMIT, params, this.o.responseTimeoutMs, (error, response) => {
      if (error instanceof InvalidPacketError) done({ kind: "failed", code: "INVALID_PACKET", text: `the submit could not be encoded: ${error.message}`, temporary: false });
      else if (error || !response) done({ kind: "lost", reason: error?.message ?? "no response" });
      else done(this.interpret(params, response));
    });
  }

  /** What a 53 (or 98) means: accepted with its `060`, or refused per errors.ts's table. */
  private interpret(params: Parameter[], response: DecodedPacket): SendResult<Accepted> {
    const code = errorCodeOf(response);
    if (code === undefined) {
      const timestamp = param(response, P.SERVICE_CENTRE_TIMESTAMP);
      const destination = param(response, P.DESTINATION) ?? param({ op: OP.SUBMIT, number: 0, params }, P.DESTINATION) ?? "";
      // Accepted, so never sent again; but no report could ever be matched to it.
      if (!timestamp) return { kind: "failed", code: "NO_TIMESTAMP", text: "the SMSC accepted the submit without a 060 timestamp", temporary: false };
      return { kind: "accepted", result: { timestamp, destination, key: correlationKey(timestamp, destination) } };
    }
    const kind = classifyError(code);
    const error = { code, text: describeError(code, param(response, P.ERROR_TEXT)), temporary: kind !== "permanent", ...(kind === "throttling" ? { throttled: true } : {}) };
    return { kind: "refused", code, error, throttling: kind === "throttling" };
  }

  private onRequest(packet: DecodedPacket, answer: (params: Parameter[]) => void): void {
    const send = (reply: DeliveryAnswer) => answer(reply && reply.ok === true ? [] : errorParams(reply?.code ?? REDELIVER_ERROR, reply?.text));
    const respond = this.deliveries.take(send, (): DeliveryAnswer => {
      this.log("warn", `no answer for ${packet.op === OP.DELIVER_MESSAGE ? "a message" : "a status report"} within ${this.o.deliverTimeoutMs} ms; answered error ${REDELIVER_ERROR}`);
      return { ok: false, text: "not handed over in time" };
    });
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
}
