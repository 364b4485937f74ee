/**
 * The SMPP session over the `smpp` package (which is a codec plus a socket:
 * smpp-and-gateways.md §1). `SmppSession` owns one bind and adds what the package lacks:
 * a reconnect loop with back-off around its links (link.ts: socket, sequence numbers,
 * response timeouts, write batching, keep-alive), the submit window (window.ts: queue,
 * in flight, attempts, throughput cap, throttling pause), deliveries handed to one handler
 * and answered once, and graceful unbind.
 *
 * Events: 'status' (SessionStatus, when what the editor shows changes), 'log' ({ level,
 * text }), 'refused' (Refusal: a request from the SMSC answered with an error and not handed
 * on, frame.ts) and 'stray' (Stray: a response that matched no request in flight).
 */
import { EventEmitter } from "events";
import type * as smpp from "smpp";
import { Sleeps, backoffDelay } from "../backoff";
import { ESME_ROK, ESME_RX_T_APPN, describeStatus, makeStatusPolicy } from "./command-status";
import { SMPP_BIND_DEFAULTS } from "./defaults";
import { Link, LinkDownError, type LinkRole, type Refusal, type TlsOptions } from "./link";
import { SubmitWindow, localFailure, type SubmitOptions, type SubmitOutcome } from "./window";
import { logLine } from "../text/peer-value";

export { responseStatus, type Refusal, type TlsOptions } from "./link";

/** A response that matched no request in flight ('stray' event), with the count of its kind so far. */
export interface Stray {
  command: string;
  sequence: number;
  status: number;
  count: number;
}
export type { SubmitOptions, SubmitOutcome } from "./window";

export type BindMode = "transceiver" | "transmitter" | "receiver" | "transmitter+receiver";

/** Which links a bind mode opens, and which of them carry submits and deliveries. */
const MODE_LINKS: Record<BindMode, LinkRole[]> = {
  transceiver: ["transceiver"],
  transmitter: ["transmitter"],
  receiver: ["receiver"],
  "transmitter+receiver": ["transmitter", "receiver"],
};
const SUBMITS_ON: ReadonlySet<LinkRole> = new Set(["transceiver", "transmitter"]);
const DELIVERS_ON: ReadonlySet<LinkRole> = new Set(["transceiver", "receiver"]);

export interface SmppSessionOptions {
  host: string;
  port: number;
  /** `true` or TLS options: certificates are verified unless `rejectUnauthorized: false`. */
  tls?: boolean | TlsOptions;
  systemId: string;
  /** Sent in the bind only; never logged or put in an error. */
  password: string;
  systemType?: string;
  mode?: BindMode;
  addressRange?: string;
  addrTon?: number;
  addrNpi?: number;
  /** 0x34 for SMPP 3.4 (the package's default would be 0x50). */
  interfaceVersion?: number;
  connectTimeoutMs?: number;
  bindTimeoutMs?: number;
  /** enquire_link period; 0 turns it off. Kannel and Jasmin use 30 s. */
  enquireLinkMs?: number;
  enquireLinkTimeoutMs?: number;
  /** Reconnect when nothing at all arrives for this long; 0 turns it off (Kannel: 300 s). */
  inactivityTimeoutMs?: number;
  /** Per-request response timeout (Kannel `wait-ack`, Jasmin `res_to`: 60 s). */
  responseTimeoutMs?: number;
  /** Maximum submits in flight (Kannel `max-pending-submits`: 10). */
  window?: number;
  /** Messages per second, a float; 0 means no cap. */
  throughput?: number;
  burst?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** Command statuses that mean "try again later"; see command-status.ts for defaults. */
  temporaryStatuses?: readonly number[];
  /** Command statuses that pause the bind. */
  throttlingStatuses?: readonly number[];
  /** First pause after a throttling status (Kannel: 1 s); doubles while they repeat. */
  throttlePauseMs?: number;
  throttlePauseMaxMs?: number;
  /** How many times one submit may be sent before a lost connection fails it. */
  maxAttempts?: number;
  /** Default deadline for a submit, counted from `submit()`. */
  queueTimeoutMs?: number;
  maxQueue?: number;
  /** A deliver_sm handler slower than this is answered ESME_RX_T_APPN. */
  deliverTimeoutMs?: number;
  unbindTimeoutMs?: number;
  /** On close, how long to wait for submits in flight and deliveries being handled. */
  drainTimeoutMs?: number;
  /** Source of randomness for the reconnect jitter (tests). */
  random?: () => number;
}

type Resolved = Required<Omit<SmppSessionOptions, "tls" | "temporaryStatuses" | "throttlingStatuses" | "burst">> &
  Pick<SmppSessionOptions, "tls" | "burst">;

const DEFAULTS = {
  systemType: "",
  mode: "transceiver" as BindMode,
  addressRange: "",
  addrTon: 0,
  addrNpi: 0,
  interfaceVersion: 0x34,
  connectTimeoutMs: 10_000,
  bindTimeoutMs: 10_000,
  enquireLinkMs: SMPP_BIND_DEFAULTS.enquireLinkSeconds * 1000,
  enquireLinkTimeoutMs: 10_000,
  inactivityTimeoutMs: 300_000,
  responseTimeoutMs: SMPP_BIND_DEFAULTS.responseTimeoutSeconds * 1000,
  window: SMPP_BIND_DEFAULTS.window,
  throughput: SMPP_BIND_DEFAULTS.throughput,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 60_000,
  throttlePauseMs: 1_000,
  throttlePauseMaxMs: 30_000,
  maxAttempts: 3,
  queueTimeoutMs: 30_000,
  maxQueue: 10_000,
  deliverTimeoutMs: 30_000,
  unbindTimeoutMs: 3_000,
  drainTimeoutMs: 5_000,
  random: Math.random,
};

export type SessionState = "idle" | "connecting" | "bound" | "reconnecting" | "closing" | "closed";

/** What the editor status shows. */
export interface SessionStatus {
  state: SessionState;
  mode: BindMode;
  /** Paused after ESME_RTHROTTLED / ESME_RMSGQFUL. */
  throttled: boolean;
  /** Every window slot is taken and submits are waiting. */
  windowFull: boolean;
  inFlight: number;
  queued: number;
  /** While reconnecting: the delay before the next attempt. */
  retryInMs?: number;
  /** Why the last session ended, a bind failed, or the bind paused. */
  lastError?: string;
}

const STATUS_KEYS = ["state", "mode", "throttled", "windowFull", "retryInMs", "lastError"] as const;

/**
 * Receives each deliver_sm; the deliver_sm_resp is sent with the status it resolves to
 * (undefined means ESME_ROK) only once it settles. A rejection or a throw is answered
 * ESME_RX_T_APPN, so the SMSC delivers the message again later.
 */
export type DeliverHandler = (pdu: smpp.PDU) => Promise<number | void> | number | void;

export class SmppSession extends EventEmitter {
  private readonly o: Resolved;
  private readonly window: SubmitWindow;
  private current: SessionStatus;
  private links: Link[] = [];
  private transmitter?: Link;
  private readonly sleeps = new Sleeps();
  private loop?: Promise<void>;
  private closing?: Promise<void>;
  private deliverHandler?: DeliverHandler;
  private deliveriesPending = 0;
  private idleWaiters: Array<() => void> = [];
  private readonly strays = new Map<string, number>();

  constructor(options: SmppSessionOptions) {
    super();
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...defined } as Resolved;
    if (!MODE_LINKS[this.o.mode]) throw new Error(`unknown bind mode "${String(this.o.mode)}"`);
    this.window = new SubmitWindow(
      { ...this.o, policy: makeStatusPolicy(options.temporaryStatuses, options.throttlingStatuses) },
      {
        send: (params, done) => {
          if (this.transmitter) this.transmitter.request("submit_sm", params, this.o.responseTimeoutMs, done);
          else done(new LinkDownError("not connected"));
        },
        canSend: () => !this.closing && this.transmitter?.up === true,
        onState: (state) => this.setStatus(state),
        onIdle: () => this.checkIdle(),
        lastError: () => this.current.lastError,
        log: (level, text) => this.log(level, text),
      },
    );
    this.current = { state: "idle", mode: this.o.mode, throttled: false, windowFull: false, inFlight: 0, queued: 0 };
    // 'error' is never emitted; problems go to 'log' and the status. This listener keeps a
    // stray emit from becoming an uncaught exception all the same.
    this.on("error", () => undefined);
  }

  get status(): SessionStatus {
    return { ...this.current, inFlight: this.window.inFlight, queued: this.window.queued };
  }

  get state(): SessionState {
    return this.current.state;
  }

  /** Connects and keeps the bind up until close(). Calling it again does nothing. */
  start(): void {
    if (this.loop || this.closing) return;
    this.loop = this.run();
  }

  setDeliverHandler(handler: DeliverHandler | undefined): void {
    this.deliverHandler = handler;
  }

  /** Queues a submit_sm (params in the `smpp` package's field names). Never rejects. */
  submit(params: smpp.PduParams, options: SubmitOptions = {}): Promise<SubmitOutcome> {
    if (this.closing) return Promise.resolve(localFailure("CLOSED", 0));
    if (!MODE_LINKS[this.o.mode].some((role) => SUBMITS_ON.has(role))) {
      return Promise.resolve(localFailure("NOT_TRANSMITTER", 0));
    }
    return this.window.offer(params, options);
  }

  /**
   * Stops reconnecting, fails queued submits as temporary, waits (bounded) for submits in
   * flight and deliveries being handled, unbinds every link and waits for unbind_resp or
   * the unbind timeout. With the defaults it finishes well within Node-RED's 15 s.
   */
  close(): Promise<void> {
    if (this.closing) return this.closing;
    this.closing = this.shutdown();
    return this.closing;
  }

  // --- connection loop -----------------------------------------------------------------

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      this.setStatus({ state: "connecting", retryInMs: undefined });
      const { bound, reason } = await this.connectOnce();
      if (this.closing) break;
      failures = bound ? 0 : failures + 1;
      const delay = reconnectDelay(failures, this.o);
      this.log("warn", `SMPP session ended: ${reason}; reconnecting in ${delay} ms`);
      this.setStatus({ state: "reconnecting", retryInMs: delay, lastError: reason, throttled: false, windowFull: false });
      await this.sleeps.sleep(delay);
    }
  }

  private async connectOnce(): Promise<{ bound: boolean; reason: string }> {
    const links = MODE_LINKS[this.o.mode].map((role) => new Link(role, this.o, (l, t) => this.log(l, t)));
    this.links = links;
    const down = new Promise<string>((resolve) => {
      for (const link of links) link.onDown = (reason) => resolve(links.length > 1 ? `${link.role} link: ${reason}` : reason);
    });
    for (const link of links) {
      if (DELIVERS_ON.has(link.role)) link.onDeliver = (pdu, answer) => this.onDeliver(pdu, answer);
      link.onRefused = (refusal) => this.onRefused(refusal);
      link.onStray = (pdu) => this.onStray(pdu);
    }
    try {
      await Promise.all(links.map((link) => link.open()));
    } catch (error) {
      for (const link of links) link.destroy("another link of this bind failed");
      return { bound: false, reason: (error as Error).message };
    }
    if (this.closing) return { bound: true, reason: "closing" };
    this.transmitter = links.find((link) => SUBMITS_ON.has(link.role));
    this.setStatus({ state: "bound", retryInMs: undefined });
    this.window.pump();
    const reason = await down;
    this.transmitter = undefined;
    for (const link of links) link.destroy(reason);
    return { bound: true, reason };
  }

  private async shutdown(): Promise<void> {
    this.setStatus({ state: "closing" });
    this.sleeps.cancel();
    this.window.close();
    await this.waitIdle(this.o.drainTimeoutMs);
    await Promise.all(this.links.map((link) => link.unbind(this.o.unbindTimeoutMs)));
    for (const link of this.links) link.destroy("session closed");
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
    return this.window.inFlight === 0 && this.deliveriesPending === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // --- deliveries ----------------------------------------------------------------------

  private onDeliver(pdu: smpp.PDU, answer: (status: number) => void): void {
    const handler = this.deliverHandler;
    if (!handler) {
      // Nobody can take it yet: acknowledging would lose it, so ask for a redelivery.
      this.log("warn", "deliver_sm answered ESME_RX_T_APPN: no receiver is registered");
      answer(ESME_RX_T_APPN);
      return;
    }
    this.deliveriesPending += 1;
    let answered = false;
    const reply = (status: number) => {
      if (answered) return;
      answered = true;
      clearTimeout(timer);
      this.deliveriesPending -= 1;
      answer(status);
      this.checkIdle();
    };
    const timer = setTimeout(() => {
      this.log("warn", `deliver_sm handler took over ${this.o.deliverTimeoutMs} ms; answered ESME_RX_T_APPN`);
      reply(ESME_RX_T_APPN);
    }, this.o.deliverTimeoutMs);
    let result: Promise<number | void>;
    try {
      result = Promise.resolve(handler(pdu));
    } catch (error) {
      result = Promise.reject(error);
    }
    result.then(
      (status) => {
        if (status === undefined) return reply(ESME_ROK);
        if (Number.isInteger(status) && status >= 0 && status <= 0xffffffff) return reply(status);
        // Never acknowledge on doubt: a nonsense verdict asks the SMSC to try again.
        this.log("warn", `deliver_sm handler gave ${String(status)}, not a command status; answered ESME_RX_T_APPN`);
        reply(ESME_RX_T_APPN);
      },
      (error: unknown) => {
        this.log("warn", `deliver_sm handler failed (${(error as Error)?.message ?? String(error)}); answered ESME_RX_T_APPN`);
        reply(ESME_RX_T_APPN);
      },
    );
  }

  // --- status and logs -----------------------------------------------------------------

  /** Emits 'status' when something the editor shows changed (not on every submit). */
  private setStatus(patch: Partial<SessionStatus>): void {
    const next = { ...this.current, ...patch };
    if (STATUS_KEYS.every((k) => next[k] === this.current[k])) return;
    this.current = next;
    this.emitSafely("status", this.status);
  }

  /** Each refusal is a message the SMSC is told we did not take: each is logged. */
  private onRefused(refusal: Refusal): void {
    this.log("warn", `refused ${refusal.command} (sequence ${refusal.sequence}) with ${refusal.answer} ${describeStatus(refusal.status)}: ${refusal.reason}`);
    this.emitSafely("refused", refusal);
  }

  /**
   * A response for no request in flight: a sequence never sent, one already answered or
   * timed out, or a generic_nack out of the blue. Nothing to settle, but not silent: counted
   * per kind for the session's life, logged the 1st, 10th, 100th … time.
   */
  private onStray(pdu: smpp.PDU): void {
    const count = (this.strays.get(pdu.command) ?? 0) + 1;
    this.strays.set(pdu.command, count);
    const stray: Stray = { command: pdu.command, sequence: pdu.sequence_number, status: pdu.command_status, count };
    if (Number.isInteger(Math.log10(count))) {
      this.log("warn", `stray ${pdu.command} (sequence ${pdu.sequence_number}, ${describeStatus(pdu.command_status)}) matches no request in flight; ${count} such so far`);
    }
    this.emitSafely("stray", stray);
  }

  private log(level: "debug" | "info" | "warn" | "error", text: string): void {
    // Link and session texts carry what the SMSC sent (reasons, ids, addresses): escaped once, here.
    this.emitSafely("log", { level, text: logLine(text) });
  }

  /** A listener's bug must not break the session's state machine (or escape from a socket event). */
  private emitSafely(event: "status" | "log" | "refused" | "stray", value: unknown): void {
    try {
      this.emit(event, value);
    } catch {
      // nothing sensible to do: the listener that threw is the one that would be told
    }
  }
}

/**
 * Reconnect back-off between `reconnectMinMs` and `reconnectMaxMs` (1 s to 60 s by default):
 * the first wait after a session that was bound is drawn from [min, 2·min], and each
 * consecutive failure doubles it, up to [max/2, max]. Jitter keeps many binds that lost
 * one SMSC from retrying in step.
 */
export function reconnectDelay(failures: number, o: Pick<Resolved, "reconnectMinMs" | "reconnectMaxMs" | "random">): number {
  const delay = backoffDelay(Math.max(0, failures - 1), { initialMs: 2 * o.reconnectMinMs, maxMs: o.reconnectMaxMs, floor: 0.5 }, o.random);
  return Math.min(o.reconnectMaxMs, Math.max(o.reconnectMinMs, delay));
}

