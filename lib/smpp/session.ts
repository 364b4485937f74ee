/**
 * The SMPP session layer over the `smpp` package (which is a codec plus a socket:
 * smpp-and-gateways.md §1). `SmppSession` owns one bind (one or two TCP links) and adds
 * what the package lacks: reconnect with back-off, dead-peer detection, a window, response
 * timeouts, a throughput cap, throttling back-off and graceful unbind.
 *
 * Delivery policy for submits (the caller's promise always settles, exactly once):
 * - submits queue FIFO and leave at most `window` at a time, within the throughput cap;
 * - a submit in flight when the link drops or a response times out goes back to the queue
 *   in its original place and is sent again on the next session, as long as it has been
 *   sent fewer than `maxAttempts` times and its deadline has not passed; otherwise it fails
 *   as temporary. A re-sent submit may duplicate one the SMSC had in fact accepted
 *   (at-least-once, like Kannel's `wait-ack-expire` re-queue, §3.1);
 * - ESME_RTHROTTLED / ESME_RMSGQFUL pause the whole bind and re-queue the refused submit
 *   (it was refused, so re-sending cannot duplicate); these do not count as attempts;
 * - any other status settles the submit: temporary or permanent per the status policy;
 * - a submit still queued at its deadline, or when the session closes, fails as temporary.
 */
import { EventEmitter } from "events";
import * as smpp from "smpp";
import { backoffDelay } from "../backoff";
import type { SubmitError } from "../contract";
import {
  ESME_RINVCMDID,
  ESME_ROK,
  ESME_RUNKNOWNERR,
  ESME_RX_T_APPN,
  classifyStatus,
  describeStatus,
  makeStatusPolicy,
  statusText,
  type StatusPolicy,
} from "./command-status";
import { encodeDeliverSmResp, encodeSubmitSm } from "./encode";
import { TokenBucket } from "./throttle";

// ---------------------------------------------------------------------------------------
// Link: one TCP (or TLS) connection to the SMSC, bound in one role, and everything that
// keeps it honest: bind, sequence numbers, per-request response timeouts, enquire_link
// keep-alive, an inactivity timeout and automatic answers. A Link is used once: when
// anything goes wrong it is destroyed and the session makes a new one (§1.4: reusing a
// node-smpp Session via `connect()` is unreliable, and after a parse error it stalls).
// Every listener is guarded: an exception inside one ends the link with a reason instead
// of escaping from the socket's event handler (which in Node-RED would crash the runtime).
// ---------------------------------------------------------------------------------------

type LinkRole = "transceiver" | "transmitter" | "receiver";

const BIND_COMMAND: Record<LinkRole, string> = {
  transceiver: "bind_transceiver",
  transmitter: "bind_transmitter",
  receiver: "bind_receiver",
};

/** Requests the SMSC may send that have no response PDU at all (SMPP 3.4 §4). */
const NO_RESPONSE_COMMANDS = new Set(["alert_notification", "outbind"]);

const MAX_SEQUENCE = 0x7fffffff;

export interface TlsOptions {
  /** PEM CA certificate(s) to trust besides the system store. */
  ca?: string | Buffer;
  /** Certificate verification is on unless explicitly turned off. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

interface LinkOptions {
  host: string;
  port: number;
  tls?: boolean | TlsOptions;
  systemId: string;
  password: string;
  systemType: string;
  interfaceVersion: number;
  addrTon: number;
  addrNpi: number;
  addressRange: string;
  connectTimeoutMs: number;
  bindTimeoutMs: number;
  enquireLinkMs: number;
  enquireLinkTimeoutMs: number;
  inactivityTimeoutMs: number;
}

export type LogFn = (level: "debug" | "info" | "warn" | "error", text: string) => void;

/** The link went down before this request got its response. */
class LinkDownError extends Error {
  override name = "LinkDownError";
}

/** The request could not be encoded (e.g. short_message over 254 octets): never retry it. */
class InvalidPduError extends Error {
  override name = "InvalidPduError";
}

type RequestCallback = (error: Error | undefined, response?: smpp.PDU) => void;

/** Status of a response; a generic_nack in place of the expected response is never success. */
export function responseStatus(pdu: smpp.PDU, expected: string): number {
  if (pdu.command === expected) return pdu.command_status;
  return pdu.command_status || ESME_RUNKNOWNERR;
}

interface Pending {
  command: string;
  timer: NodeJS.Timeout;
  callback: RequestCallback;
}

class Link {
  bound = false;
  /** Called once, with the reason, when the link ends for any reason. */
  onDown?: (reason: string) => void;
  /** A deliver_sm arrived; `answer` sends deliver_sm_resp with the given status. */
  onDeliver?: (pdu: smpp.PDU, answer: (status: number) => void) => void;

  private session?: smpp.Session;
  private readonly pending = new Map<number, Pending>();
  /** Encoded PDUs waiting for the next flush, in the order they were written. */
  private outgoing: Buffer[] = [];
  /** The first of them, for the reason when the write fails. */
  private outgoingFirst = "";
  private flushScheduled = false;
  private sequence = 0;
  private downReason?: string;
  private openFail?: (reason: string) => void;
  private connectTimer?: NodeJS.Timeout;
  private enquireTimer?: NodeJS.Timeout;
  private inactivityTimer?: NodeJS.Timeout;

  constructor(
    readonly role: LinkRole,
    private readonly options: LinkOptions,
    private readonly log: LogFn,
  ) {}

  get up(): boolean {
    return this.bound && this.downReason === undefined;
  }

  get inFlight(): number {
    return this.pending.size;
  }

  /** Connects and binds; rejects with the reason (never containing the password). */
  open(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      this.openFail = (reason) => {
        if (settled) return;
        settled = true;
        reject(new Error(reason));
      };
      const o = this.options;
      const tlsOptions = typeof o.tls === "object" ? o.tls : {};
      const useTls = o.tls !== undefined && o.tls !== false;
      try {
        const session = smpp.connect({
          host: o.host,
          port: o.port,
          tls: useTls,
          ...(useTls
            ? {
                ca: tlsOptions.ca,
                rejectUnauthorized: tlsOptions.rejectUnauthorized !== false,
                servername: tlsOptions.servername,
              }
            : {}),
        });
        this.session = session;
        // Without this, Nagle holds back every submit after the first until an ACK comes
        // back, so a window of N behaves like a window of 1 or 2 on a quiet link.
        session.socket.setNoDelay(true);
        // Kept for the life of the object: a late socket error must never be unhandled.
        session.on("error", (error) => this.destroy(describeSessionError(error)));
        session.on("close", () => this.destroy("connection closed by the peer"));
        session.on("pdu", (pdu) => this.guard(() => this.onPdu(pdu)));
        session.on(useTls ? "secureConnect" : "connect", () =>
          this.guard(() => {
            clearTimeout(this.connectTimer);
            this.bind(() => {
              settled = true;
              resolve();
            });
          }),
        );
        this.connectTimer = setTimeout(
          () => this.destroy(`could not connect to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`),
          o.connectTimeoutMs,
        );
      } catch (error) {
        this.destroy(`could not connect: ${(error as Error).message}`);
      }
    });
  }

  /**
   * Sends a request and calls back once with its response, or with an error when the link
   * ends first. A request without a response within `timeoutMs` ends the link: the peer is
   * no longer trusted, and everything in flight is handed back to the owner.
   */
  request(command: string, params: smpp.PduParams, timeoutMs: number, callback: RequestCallback): void {
    if (this.downReason !== undefined || !this.session) {
      callback(new LinkDownError(this.downReason ?? "not connected"));
      return;
    }
    const seq = this.nextSequence();
    let encoded: Buffer;
    try {
      // Encoded once, here: encoding errors surface before the PDU counts as in flight.
      // submit_sm, the one per message part, has a direct encoder (encode.ts).
      encoded =
        (command === "submit_sm" ? encodeSubmitSm(params, seq) : undefined) ??
        new smpp.PDU(command, { ...params, sequence_number: seq }).toBuffer();
    } catch (error) {
      callback(new InvalidPduError(`cannot encode ${command}: ${(error as Error).message}`));
      return;
    }
    const timer = setTimeout(
      () => this.destroy(`no response to ${command} (sequence ${seq}) within ${timeoutMs} ms`),
      timeoutMs,
    );
    this.pending.set(seq, { command, timer, callback });
    this.writeEncoded(encoded, command);
  }

  /** Sends unbind and waits for unbind_resp or the timeout, then closes. Never rejects. */
  unbind(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.up) {
        this.destroy("closed before bind completed");
        resolve();
        return;
      }
      this.stopKeepAlive();
      this.request("unbind", {}, timeoutMs, (error) => {
        if (!error) this.destroy("unbound", true);
        resolve();
      });
    });
  }

  /**
   * Ends the link once; later calls do nothing. Every pending request gets a LinkDownError.
   * `graceful` lets queued bytes (e.g. our unbind_resp) reach the peer before the socket ends.
   */
  destroy(reason: string, graceful = false): void {
    if (this.downReason !== undefined) return;
    this.downReason = reason;
    this.bound = false;
    // A graceful end sends what was written before it (e.g. our unbind_resp); otherwise the
    // socket is destroyed and unsent PDUs go with it, like those in flight.
    if (graceful) this.flush();
    this.dropOutgoing();
    clearTimeout(this.connectTimer);
    this.stopKeepAlive();
    const pending = [...this.pending.values()];
    this.pending.clear();
    for (const p of pending) {
      clearTimeout(p.timer);
      this.guard(() => p.callback(new LinkDownError(reason)));
    }
    const session = this.session;
    if (session) {
      if (graceful) {
        session.close();
        setTimeout(() => session.destroy(), 1000).unref();
      } else {
        session.destroy();
      }
    }
    this.openFail?.(reason);
    const onDown = this.onDown;
    this.onDown = undefined;
    if (onDown) this.guard(() => onDown(reason));
  }

  private bind(onBound: () => void): void {
    const o = this.options;
    const command = BIND_COMMAND[this.role];
    const params = {
      system_id: o.systemId,
      password: o.password,
      system_type: o.systemType,
      interface_version: o.interfaceVersion,
      addr_ton: o.addrTon,
      addr_npi: o.addrNpi,
      address_range: o.addressRange,
    };
    this.request(command, params, o.bindTimeoutMs, (error, pdu) => {
      if (error || !pdu) return; // destroy() already reported the reason
      const status = responseStatus(pdu, `${command}_resp`);
      if (status !== ESME_ROK) {
        this.destroy(`${command} refused: ${describeStatus(status)} ${statusText(status)}`);
        return;
      }
      this.bound = true;
      this.startKeepAlive();
      this.log("info", `bound as ${this.role} to ${o.host}:${o.port}`);
      onBound();
    });
  }

  private onPdu(pdu: smpp.PDU): void {
    this.inactivityTimer?.refresh();
    if (pdu.isResponse()) {
      const p = this.pending.get(pdu.sequence_number);
      if (!p) {
        this.log("debug", `ignored ${pdu.command} with unknown sequence ${pdu.sequence_number}`);
        return;
      }
      this.pending.delete(pdu.sequence_number);
      clearTimeout(p.timer);
      p.callback(undefined, pdu);
      return;
    }
    switch (pdu.command) {
      case "enquire_link":
        this.write(pdu.response());
        return;
      case "unbind":
        this.write(pdu.response());
        this.destroy("the SMSC unbound", true);
        return;
      case "deliver_sm":
        if (this.onDeliver) {
          this.onDeliver(pdu, (status) => this.answer(pdu, status));
        } else {
          this.answer(pdu, ESME_RINVCMDID);
        }
        return;
      default:
        if (NO_RESPONSE_COMMANDS.has(pdu.command)) return;
        // An unknown command id gets generic_nack (PDU.response does that); a known one we
        // do not serve gets its own _resp with ESME_RINVCMDID, as Kannel does.
        this.write(pdu.response({ command_status: ESME_RINVCMDID }));
    }
  }

  private answer(pdu: smpp.PDU, status: number): void {
    if (this.downReason !== undefined) {
      this.log("warn", `deliver_sm ${pdu.sequence_number} not answered: link down (${this.downReason}); the SMSC will redeliver it`);
      return;
    }
    this.writeEncoded(encodeDeliverSmResp(pdu.sequence_number, status), "deliver_sm_resp");
  }

  private write(pdu: smpp.PDU): void {
    if (!this.session || this.downReason !== undefined) return;
    let encoded: Buffer;
    try {
      encoded = pdu.toBuffer();
    } catch (error) {
      this.destroy(`cannot send ${pdu.command}: ${(error as Error).message}`);
      return;
    }
    this.writeEncoded(encoded, pdu.command);
  }

  /**
   * PDUs written during one turn of the event loop leave in one socket write. Node-RED
   * delivers each msg in its own setImmediate, so a window of submits (or a batch of
   * deliver_sm_resp) is written by many callbacks of the same turn; one write per PDU
   * cost a syscall and a write request each (9 % of the bridge's CPU in the profile).
   * The flush runs in the next turn's check phase, after the I/O of this one.
   */
  private writeEncoded(encoded: Buffer, command: string): void {
    if (!this.session || this.downReason !== undefined) return;
    if (this.outgoing.length === 0) this.outgoingFirst = command;
    this.outgoing.push(encoded);
    if (!this.flushScheduled) { this.flushScheduled = true; process.nextTick(() => this.guard(() => this.flush())); }
  }

  private flush(): void {
    this.flushScheduled = false;
    const session = this.session;
    const buffers = this.outgoing;
    if (!session || buffers.length === 0) return;
    const what = buffers.length === 1 ? this.outgoingFirst : `${this.outgoingFirst} and ${buffers.length - 1} more PDUs`;
    this.outgoing = [];
    if (!session.socket.writable) {
      this.destroy(`socket not writable when sending ${what}`);
      return;
    }
    try {
      session.socket.write(buffers.length === 1 ? buffers[0] : Buffer.concat(buffers));
    } catch (error) {
      this.destroy(`cannot send ${what}: ${(error as Error).message}`);
    }
  }

  private dropOutgoing(): void {
    this.flushScheduled = false;
    this.outgoing = [];
  }

  private startKeepAlive(): void {
    const o = this.options;
    if (o.enquireLinkMs > 0) {
      this.enquireTimer = setInterval(
        () => this.request("enquire_link", {}, o.enquireLinkTimeoutMs, () => undefined),
        o.enquireLinkMs,
      );
    }
    if (o.inactivityTimeoutMs > 0) {
      this.inactivityTimer = setTimeout(
        () => this.destroy(`nothing received for ${o.inactivityTimeoutMs} ms`),
        o.inactivityTimeoutMs,
      );
    }
  }

  private stopKeepAlive(): void {
    clearInterval(this.enquireTimer);
    clearTimeout(this.inactivityTimer);
    this.enquireTimer = undefined;
    this.inactivityTimer = undefined;
  }

  private nextSequence(): number {
    this.sequence = this.sequence >= MAX_SEQUENCE ? 1 : this.sequence + 1;
    return this.sequence;
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.destroy(`internal error: ${(error as Error).message}`);
    }
  }
}

/**
 * The package reports socket errors and PDU parse errors on the same 'error' event; both end
 * the link, but the reason should say which (a parse error means the stream is unreadable).
 */
function describeSessionError(error: Error & { code?: string; syscall?: string }): string {
  if (error.syscall) return `connection error: ${error.message}`;
  if (error instanceof RangeError || !error.code) return `unreadable PDU from the SMSC (${error.message})`;
  return `connection error: ${error.code}: ${error.message}`;
}

// ---------------------------------------------------------------------------------------
// SmppSession: one bind, reconnecting, with a window, a throughput cap and back-off.
// ---------------------------------------------------------------------------------------

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
  enquireLinkMs: 30_000,
  enquireLinkTimeoutMs: 10_000,
  inactivityTimeoutMs: 300_000,
  responseTimeoutMs: 60_000,
  window: 10,
  throughput: 0,
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

export type SubmitOutcome =
  | { ok: true; messageId: string; commandStatus: number; attempts: number }
  | { ok: false; commandStatus?: number; error: SubmitError; attempts: number };

export interface SubmitOptions {
  /** Epoch ms after which the submit is no longer sent (it fails as temporary). */
  deadline?: number;
}

/**
 * Receives each deliver_sm; the deliver_sm_resp is sent with the status it resolves to
 * (undefined means ESME_ROK) only once it settles. A rejection or a throw is answered
 * ESME_RX_T_APPN, so the SMSC delivers the message again later.
 */
export type DeliverHandler = (pdu: smpp.PDU) => Promise<number | void> | number | void;

/** Failures that did not come from the SMSC, as data: code, meaning and class. */
const LOCAL_FAILURES = {
  CLOSED: { text: "the SMPP session closed before the SMSC accepted the message", temporary: true },
  DEADLINE: { text: "not accepted by the SMSC before the deadline", temporary: true },
  QUEUE_FULL: { text: "too many messages waiting for the SMSC", temporary: true },
  CONNECTION_LOST: { text: "the connection was lost while the submit was in flight", temporary: true },
  NOT_TRANSMITTER: { text: "this bind is receive-only and cannot submit", temporary: false },
  INVALID_PDU: { text: "the submit_sm could not be encoded", temporary: false },
} as const;
type LocalFailure = keyof typeof LOCAL_FAILURES;

interface Entry {
  order: number;
  params: smpp.PduParams;
  deadline: number;
  attempts: number;
  inFlight: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
  resolve: (outcome: SubmitOutcome) => void;
}

export class SmppSession extends EventEmitter {
  private readonly o: Resolved;
  private readonly policy: StatusPolicy;
  private readonly bucket: TokenBucket;
  private current: SessionStatus;
  private links: Link[] = [];
  private transmitter?: Link;
  private readonly queue: Entry[] = [];
  private readonly inFlight = new Set<Entry>();
  private order = 0;
  private pausedUntil = 0;
  private throttlePause: number;
  private pumpTimer?: NodeJS.Timeout;
  private pumping = false;
  private sleepTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;
  private closing?: Promise<void>;
  private deliverHandler?: DeliverHandler;
  private deliveriesPending = 0;
  private idleWaiters: Array<() => void> = [];

  constructor(options: SmppSessionOptions) {
    super();
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...defined } as Resolved;
    if (!MODE_LINKS[this.o.mode]) throw new Error(`unknown bind mode "${String(this.o.mode)}"`);
    if (!(this.o.window >= 1)) throw new RangeError("window must be at least 1");
    this.policy = makeStatusPolicy(options.temporaryStatuses, options.throttlingStatuses);
    this.bucket = new TokenBucket({ rate: this.o.throughput, burst: this.o.burst });
    this.throttlePause = this.o.throttlePauseMs;
    this.current = { state: "idle", mode: this.o.mode, throttled: false, windowFull: false, inFlight: 0, queued: 0 };
    // 'error' is never emitted; problems go to 'log' and the status. This listener keeps a
    // stray emit from becoming an uncaught exception all the same.
    this.on("error", () => undefined);
  }

  get status(): SessionStatus {
    return { ...this.current, inFlight: this.inFlight.size, queued: this.queue.length };
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
    return new Promise<SubmitOutcome>((resolve) => {
      if (this.closing) return resolve(localFailure("CLOSED", 0));
      if (!MODE_LINKS[this.o.mode].some((role) => SUBMITS_ON.has(role))) {
        return resolve(localFailure("NOT_TRANSMITTER", 0));
      }
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
      await this.sleep(delay);
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
    this.pump();
    const reason = await down;
    this.transmitter = undefined;
    for (const link of links) link.destroy(reason);
    return { bound: true, reason };
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
    return this.inFlight.size === 0 && this.deliveriesPending === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  // --- submits -------------------------------------------------------------------------

  /** Sends queued submits while the window, the bucket and any throttling pause allow. */
  private pump(): void {
    if (this.pumping || this.pumpTimer) return;
    this.pumping = true;
    try {
      while (this.queue.length > 0 && !this.closing && this.transmitter?.up) {
        if (this.inFlight.size >= this.o.window) break;
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
        this.dispatch(this.queue.shift() as Entry, this.transmitter);
      }
    } finally {
      this.pumping = false;
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

  private dispatch(entry: Entry, link: Link): void {
    entry.attempts += 1;
    entry.inFlight = true;
    this.inFlight.add(entry);
    link.request("submit_sm", entry.params, this.o.responseTimeoutMs, (error, pdu) =>
      this.onSubmitDone(entry, error, pdu),
    );
  }

  private onSubmitDone(entry: Entry, error: Error | undefined, pdu: smpp.PDU | undefined): void {
    entry.inFlight = false;
    this.inFlight.delete(entry);
    if (error instanceof InvalidPduError) {
      this.finish(entry, localFailure("INVALID_PDU", entry.attempts, error.message));
    } else if (error || !pdu) {
      this.onSubmitLost(entry, error?.message ?? "no response");
    } else {
      this.onSubmitResponse(entry, pdu);
    }
    this.checkIdle();
    this.pump();
  }

  private onSubmitLost(entry: Entry, reason: string): void {
    if (this.closing) {
      this.finish(entry, localFailure("CLOSED", entry.attempts, reason));
    } else if (entry.attempts >= this.o.maxAttempts) {
      this.finish(entry, localFailure("CONNECTION_LOST", entry.attempts, `sent ${entry.attempts} times; last: ${reason}`));
    } else if (Date.now() >= entry.deadline) {
      this.finish(entry, localFailure("DEADLINE", entry.attempts, reason));
    } else {
      this.log("info", `submit back in the queue after: ${reason}`);
      this.requeue(entry);
    }
  }

  private onSubmitResponse(entry: Entry, pdu: smpp.PDU): void {
    const status = responseStatus(pdu, "submit_sm_resp");
    const kind = classifyStatus(status, this.policy);
    if (kind === "ok") {
      this.throttlePause = this.o.throttlePauseMs;
      const messageId = typeof pdu.message_id === "string" ? pdu.message_id : "";
      this.finish(entry, { ok: true, messageId, commandStatus: status, attempts: entry.attempts });
      return;
    }
    if (kind === "throttling") {
      this.onThrottled(status);
      // Refused, so not delivered: re-sending cannot duplicate, and it is not an attempt.
      entry.attempts -= 1;
      if (!this.closing && this.pausedUntil < entry.deadline) {
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
    const pause = this.throttlePause;
    this.pausedUntil = now + pause;
    this.throttlePause = Math.min(this.o.throttlePauseMaxMs, pause * 2);
    const text = `SMSC answered ${describeStatus(status)}; pausing submits for ${pause} ms`;
    this.log("warn", text);
    this.setStatus({ throttled: true, lastError: text });
    // Even with nothing left to send, the status must leave "throttled" when the pause ends.
    if (!this.pumpTimer) this.wakeIn(pause);
  }

  /** Back to its original place in the FIFO (the queue is ordered by `order`). */
  private requeue(entry: Entry): void {
    const at = this.queue.findIndex((e) => e.order > entry.order);
    if (at < 0) this.queue.push(entry);
    else this.queue.splice(at, 0, entry);
  }

  private expire(entry: Entry): void {
    if (entry.done || entry.inFlight) return; // in flight: its response or loss decides
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

  private log(level: "debug" | "info" | "warn" | "error", text: string): void {
    this.emitSafely("log", { level, text });
  }

  /** A listener's bug must not break the session's state machine (or escape from a socket event). */
  private emitSafely(event: "status" | "log", value: unknown): void {
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

function localFailure(code: LocalFailure, attempts: number, detail?: string): SubmitOutcome {
  const { text, temporary } = LOCAL_FAILURES[code];
  return { ok: false, error: { code, text: detail ? `${text} (${detail})` : text, temporary }, attempts };
}

