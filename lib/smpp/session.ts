/**
 * The SMPP session over the `smpp` package (which is a codec plus a socket:
 * smpp-and-gateways.md §1). `SmppSession` owns one bind and adds what the package lacks:
 * a reconnect loop with back-off around its links (lib/session/reconnect.ts) (link.ts: socket, sequence numbers,
 * response timeouts, write batching, keep-alive), the submit window (window.ts over
 * lib/session/window.ts: queue, in flight, attempts, throughput cap, throttling pause), deliveries handed to one handler
 * and answered once, and graceful unbind.
 *
 * Events: 'status' (SessionStatus, when what the editor shows changes), 'log' ({ level,
 * text }), 'refused' (Refusal: a request from the SMSC answered with an error and not handed
 * on, frame.ts) and 'stray' (Stray: a response that matched no request in flight).
 */
import type * as smpp from "smpp";
import { SessionBase, type SessionStatusFields } from "../session/base";
import { SESSION_DEFAULTS, THROTTLE_PAUSE_DEFAULTS, type SessionOptions, type ThrottlePauseOptions } from "../session/defaults";
import { PendingDeliveries } from "../session/deliveries";
import { ESME_ROK, ESME_RX_T_APPN, describeStatus, makeStatusPolicy } from "./command-status";
import { SMPP_BIND_DEFAULTS } from "./defaults";
import { Link, LinkDownError, type LinkRole, type Refusal } from "./link";
import { SubmitWindow, localFailure, type SubmitOptions, type SubmitOutcome } from "./window";

export { responseStatus, type Refusal, type TlsOptions } from "./link";
export { reconnectDelay } from "../backoff";

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

export interface SmppSessionOptions extends SessionOptions, ThrottlePauseOptions {
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
  bindTimeoutMs?: number;
  /** enquire_link period; 0 turns it off. Kannel and Jasmin use 30 s. */
  enquireLinkMs?: number;
  enquireLinkTimeoutMs?: number;
  /** Per-request response timeout (Kannel `wait-ack`, Jasmin `res_to`: 60 s). */
  responseTimeoutMs?: number;
  /** Maximum submits in flight (Kannel `max-pending-submits`: 10). */
  window?: number;
  /** Command statuses that mean "try again later"; see command-status.ts for defaults. */
  temporaryStatuses?: readonly number[];
  /** Command statuses that pause the bind. */
  throttlingStatuses?: readonly number[];
  unbindTimeoutMs?: number;
}

type Resolved = Required<Omit<SmppSessionOptions, "tls" | "temporaryStatuses" | "throttlingStatuses" | "burst">> &
  Pick<SmppSessionOptions, "tls" | "burst">;

const DEFAULTS = {
  ...SESSION_DEFAULTS,
  ...THROTTLE_PAUSE_DEFAULTS,
  systemType: "",
  mode: "transceiver" as BindMode,
  addressRange: "",
  addrTon: 0,
  addrNpi: 0,
  interfaceVersion: 0x34,
  bindTimeoutMs: 10_000,
  enquireLinkMs: SMPP_BIND_DEFAULTS.enquireLinkSeconds * 1000,
  enquireLinkTimeoutMs: 10_000,
  responseTimeoutMs: SMPP_BIND_DEFAULTS.responseTimeoutSeconds * 1000,
  window: SMPP_BIND_DEFAULTS.window,
  throughput: SMPP_BIND_DEFAULTS.throughput,
  unbindTimeoutMs: 3_000,
};

export type SessionState = "idle" | "connecting" | "bound" | "reconnecting" | "closing" | "closed";

/** What the editor status shows. */
export interface SessionStatus extends SessionStatusFields<SessionState> {
  mode: BindMode;
}

const STATUS_KEYS = ["state", "mode", "throttled", "windowFull", "retryInMs", "lastError"] as const;

/**
 * Receives each deliver_sm; the deliver_sm_resp is sent with the status it resolves to
 * (undefined means ESME_ROK) only once it settles. A rejection or a throw is answered
 * ESME_RX_T_APPN, so the SMSC delivers the message again later.
 */
export type DeliverHandler = (pdu: smpp.PDU) => Promise<number | void> | number | void;

export class SmppSession extends SessionBase<SessionStatus> {
  private readonly o: Resolved;
  private readonly window: SubmitWindow;
  private links: Link[] = [];
  private transmitter?: Link;
  private deliverHandler?: DeliverHandler;
  private readonly deliveries: PendingDeliveries;
  private readonly strays = new Map<string, number>();

  constructor(options: SmppSessionOptions) {
    super({ state: "idle", mode: "transceiver", throttled: false, windowFull: false, inFlight: 0, queued: 0 }, STATUS_KEYS);
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
        lastError: () => this.current.lastError,
        log: (level, text) => this.log(level, text),
      },
    );
    this.deliveries = new PendingDeliveries(this.o.deliverTimeoutMs);
    this.current = { ...this.current, mode: this.o.mode };
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
    this.loop = this.reconnect(this.o, "SMPP session ended");
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

  /** One bind: open its links, serve until one goes down. `up` when every link was bound. */
  protected async connectOnce(): Promise<{ up: boolean; reason: string }> {
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
      return { up: false, reason: (error as Error).message };
    }
    if (this.closing) return { up: true, reason: "closing" };
    this.transmitter = links.find((link) => SUBMITS_ON.has(link.role));
    this.setStatus({ state: "bound", retryInMs: undefined });
    this.window.pump();
    const reason = await down;
    this.transmitter = undefined;
    for (const link of links) link.destroy(reason);
    return { up: true, reason };
  }

  private async shutdown(): Promise<void> {
    this.setStatus({ state: "closing" });
    this.sleeps.cancel();
    this.window.close();
    await Promise.all([this.window.waitIdle(this.o.drainTimeoutMs), this.deliveries.waitIdle(this.o.drainTimeoutMs)]);
    await Promise.all(this.links.map((link) => link.unbind(this.o.unbindTimeoutMs)));
    for (const link of this.links) link.destroy("session closed");
    await this.loop;
    this.setStatus({ state: "closed", throttled: false, windowFull: false, retryInMs: undefined });
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
    const reply = this.deliveries.take(answer, () => {
      this.log("warn", `deliver_sm handler took over ${this.o.deliverTimeoutMs} ms; answered ESME_RX_T_APPN`);
      return ESME_RX_T_APPN;
    });
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

  // --- refusals and strays ------------------------------------------------------------

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
}
