/**
 * The UCP/EMI session (SMT side): one logged-in connection to the SMSC, kept up until
 * close(), with the same public shape as `lib/smpp/session.ts` so the node layer treats the
 * protocols alike: `submit()` resolves to an outcome and never rejects, 'status' and 'log'
 * events, 'delivery' events whose `respond()` the caller calls only after its hand-over,
 * and `close()`.
 *
 * Submits go through lib/session/window.ts (FIFO, at most `window` at a time by TRN, §2.6,
 * within the throughput cap; a submit in flight when the connection drops or its result
 * times out is sent again on the next connection, like Kannel's `clear_sent` re-queue on
 * reconnect). This file says what an OT 51 result means for it: a positive one accepts
 * with its message reference; a negative one settles, temporary or permanent by errors.ts.
 * The connection is kept up by lib/session/reconnect.ts's loop.
 *
 * SMSC operations (OT 01/52/53) on this connection or on the optional receive port are
 * answered with what the caller passes to `respond`; with no listener, a throw, no answer
 * within `deliverTimeoutMs`, or `{ ok: false }`, the answer is a negative result with
 * `redeliverErrorCode` so the SMSC keeps the message and delivers it again (docs/design.md).
 */
import { SessionBase, type SessionStatusFields } from "../session/base";
import type { SubmitError } from "../contract";
import { SESSION_DEFAULTS, THROTTLE_PAUSE_DEFAULTS, type SessionOptions } from "../session/defaults";
import { SubmitWindow, type SendResult } from "../session/window";
import { UCP_BIND_DEFAULTS } from "./defaults";
import { UcpConnection, type Answer, type ConnectionOptions } from "./connection";
import { REDELIVER_ERROR_CODE, describeErrorCode } from "./errors";
import { frameBody, type Frame } from "./frame";
import { IncomingOperations, ReceivePort, smText, type ReceiverOptions, type UcpDelivery } from "./incoming";
import { fieldsOf, operationFields, type Fields } from "./operations";
import { parseSubmitAck, type TextAlphabet } from "./submit";

export type { TlsOptions } from "../session/socket";

export interface UcpSessionOptions extends SessionOptions {
  /** OAdC of the OT 60 login. */
  username: string;
  /** Sent as IRA hex in the OT 60 only; never logged or put in an error. */
  password: string;
  /** ADC of keep-alive OT 31s; default the username (Kannel: "login or my-number"). */
  myNumber?: string;
  /** Operations in flight, 1..100 (§2.6). */
  window?: number;
  /** Kannel `wait-ack`: 60 s. */
  responseTimeoutMs?: number;
  keepAliveMs?: number;
  /** Error code of the negative result that asks the SMSC to deliver again. */
  redeliverErrorCode?: string;
  /** How MT 3 octets of incoming operations are read; default "gsm". */
  alphabet?: TextAlphabet;
  utcOffsetMinutes?: number;
  receiver?: ReceiverOptions;
}

type Resolved = Required<Omit<UcpSessionOptions, "tls" | "myNumber" | "burst" | "receiver">> & Pick<UcpSessionOptions, "tls" | "myNumber" | "burst" | "receiver">;

const DEFAULTS = {
  ...SESSION_DEFAULTS,
  window: UCP_BIND_DEFAULTS.window,
  responseTimeoutMs: UCP_BIND_DEFAULTS.responseTimeoutSeconds * 1000,
  keepAliveMs: UCP_BIND_DEFAULTS.keepAliveSeconds * 1000,
  inactivityTimeoutMs: UCP_BIND_DEFAULTS.inactivityTimeoutSeconds * 1000,
  throughput: UCP_BIND_DEFAULTS.throughput,
  reconnectMaxMs: UCP_BIND_DEFAULTS.reconnectMaxSeconds * 1000,
  redeliverErrorCode: REDELIVER_ERROR_CODE,
  alphabet: "gsm" as TextAlphabet,
  utcOffsetMinutes: 0,
};

/** The SMPP session's state names, so the node layer treats both alike; "bound" = logged in. */
export type SessionState = "idle" | "connecting" | "bound" | "reconnecting" | "closing" | "closed";

/** `throttled` here means submits are waiting on the throughput cap. */
export type SessionStatus = SessionStatusFields<SessionState>;

const STATUS_KEYS = ["state", "throttled", "windowFull", "retryInMs", "lastError"] as const;

export type SubmitOutcome =
  | { ok: true; messageId: string; recipient?: string; scts?: string; attempts: number }
  | { ok: false; errorCode?: string; error: SubmitError; attempts: number };

/** Failures the session refuses before the window. */
const LOCAL_FAILURES = {
  CLOSED: { text: "the UCP session closed before the SMSC accepted the message", temporary: true },
  INVALID_OPERATION: { text: "the OT 51 could not be encoded", temporary: false },
} as const;

type Accepted = { messageId: string; recipient?: string; scts?: string };

/** IRA hex of a text (the OT 60 PWD, §2.2 "password as IRA hex"). */
export function iraHex(text: string): string {
  return Buffer.from(text, "latin1").toString("hex").toUpperCase();
}

export class UcpSession extends SessionBase<SessionStatus> {
  private readonly o: Resolved;
  private readonly window: SubmitWindow<string[], Accepted>;
  private readonly deliveries: IncomingOperations;
  private receivePort?: ReceivePort;
  private connection?: UcpConnection;

  constructor(options: UcpSessionOptions) {
    super({ state: "idle", throttled: false, windowFull: false, inFlight: 0, queued: 0 }, STATUS_KEYS);
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...defined } as Resolved;
    if (!Number.isInteger(this.o.window) || this.o.window < 1 || this.o.window > 100) throw new RangeError("window must be 1..100");
    if (!/^\d{2}$/.test(this.o.redeliverErrorCode)) throw new RangeError("redeliverErrorCode must be two digits");
    // Checked here, so the login can never fail to encode (the password itself is never quoted).
    if (!/^[\x20-\x2e\x30-\x7e]{1,16}$/.test(this.o.username)) throw new RangeError("username must be 1-16 printable IRA characters without '/'");
    if (!/^[\x20-\x7e]*$/.test(this.o.password)) throw new RangeError("password must be printable IRA (ASCII) characters");
    if (this.o.myNumber !== undefined && !/^\d{0,16}$/.test(this.o.myNumber)) throw new RangeError("myNumber must be up to 16 digits");
    // UCP has no throttling refusal (errors.ts): the pause never starts; `throttled` shows the cap.
    const windowOptions = { ...this.o, ...THROTTLE_PAUSE_DEFAULTS, capShowsThrottled: true };
    const sender = { ready: () => this.canSubmit(), send: (values: string[], done: (result: SendResult<Accepted>) => void) => this.send(values, done) };
    const hooks = { onChange: (state: Partial<SessionStatus>) => this.setStatus(state), log: (level: "info" | "warn", text: string) => this.log(level, text), lastError: () => this.current.lastError };
    this.window = new SubmitWindow(windowOptions, sender, hooks, "UCP");
    this.deliveries = new IncomingOperations(this.o, (d) => this.emitDelivery(d), (l, t) => this.log(l, t));
    if (this.o.receiver) {
      const receiver = this.o.receiver;
      this.receivePort = new ReceivePort(receiver, this.connectionOptions(0), (frame, answer) => this.onOperation(frame, answer, "receiver"), (l, t) => this.log(l, t));
    }
  }

  get status(): SessionStatus {
    return { ...this.current, inFlight: this.window.inFlight, queued: this.window.queued };
  }

  /** The receive port's bound port (useful with port 0), once listening. */
  get receiverPort(): number | undefined {
    return this.receivePort?.port;
  }

  /** Connects and keeps the session up until close(); opens the receive port if configured. */
  async start(): Promise<void> {
    if (this.loop || this.closing) return;
    this.loop = this.reconnect(this.o, "UCP session ended");
    await this.receivePort?.listen();
  }

  /** Queues one OT 51 (fields by name, as `buildSubmit` gives them). Never rejects. */
  async submit(fields: Fields, options: { deadline?: number } = {}): Promise<SubmitOutcome> {
    if (this.closing) return localFailure("CLOSED", 0);
    let values: string[];
    try {
      values = operationFields(51, fields);
      // Encoded once here, so a value no frame can carry is refused before it takes a slot.
      frameBody({ trn: 0, direction: "O", ot: 51, fields: values });
    } catch (error) {
      return localFailure("INVALID_OPERATION", 0, (error as Error).message);
    }
    const outcome = await this.window.offer(values, options.deadline);
    if (outcome.ok || outcome.code === undefined) return outcome as SubmitOutcome;
    const { code, ...rest } = outcome;
    return { ...rest, errorCode: String(code) };
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  // --- connection loop -----------------------------------------------------------------

  /** One fresh connection: connect, log in, serve until it ends (a throw in tls.connect ends it too, in open). */
  protected async connectOnce(): Promise<{ up: boolean; reason: string }> {
    const o = this.o;
    const connection = new UcpConnection(undefined, this.connectionOptions(o.keepAliveMs), (l, t) => this.log(l, t), "main");
    this.connection = connection;
    const down = new Promise<string>((resolve) => (connection.onDown = resolve));
    connection.onOperation = (frame, answer) => this.onOperation(frame, answer, "main");
    // A submit's result pumps the window itself; a keep-alive's must too (window 1 stalled).
    connection.onSlotFree = () => this.window.pump();
    const notUp = await connection.open(o, () => this.login(connection)).then(
      () => undefined,
      (error: Error) => error.message,
    );
    if (notUp !== undefined) return { up: false, reason: notUp };
    if (this.closing) return { up: true, reason: "closing" };
    connection.startKeepAlive();
    this.log("info", `logged in to ${o.host}:${o.port} as ${o.username}`);
    this.setStatus({ state: "bound", retryInMs: undefined });
    this.window.pump();
    const reason = await down;
    this.connection = undefined;
    return { up: true, reason };
  }

  private connectionOptions(keepAliveMs: number): ConnectionOptions {
    const o = this.o;
    return { window: o.window, responseTimeoutMs: o.responseTimeoutMs, keepAliveMs, keepAliveAdc: o.myNumber || o.username, inactivityTimeoutMs: o.inactivityTimeoutMs };
  }

  /** OT 60 (§2.2): OAdC = username, OTON 6, ONPI 5, STYP 1, PWD as IRA hex, VERS 0100. Undefined when logged in, else why not. */
  private login(connection: UcpConnection): Promise<string | undefined> {
    const o = this.o;
    const fields = operationFields(60, { OADC: o.username, OTON: "6", ONPI: "5", STYP: "1", PWD: iraHex(o.password), VERS: "0100" });
    return new Promise((resolve) => {
      connection.request(60, fields, (error, result) => {
        if (error || !result) return resolve(error?.message ?? "no result to the login");
        if (result.fields[0] === "A") return resolve(undefined);
        const info = describeErrorCode(result.fields[1]);
        resolve(`login refused: error code ${info.code} (${info.text})${result.fields[2] ? `: ${smText(result.fields[2])}` : ""}`);
      }, "login OT 60");
    });
  }

  private async shutdown(): Promise<void> {
    this.setStatus({ state: "closing" });
    this.sleeps.cancel();
    this.window.close();
    await Promise.all([this.window.waitIdle(this.o.drainTimeoutMs), this.deliveries.unanswered.waitIdle(this.o.drainTimeoutMs)]);
    this.connection?.destroy("session closed", true);
    await this.receivePort?.close();
    await this.loop;
    this.setStatus({ state: "closed", throttled: false, windowFull: false, retryInMs: undefined });
  }

  // --- submits -------------------------------------------------------------------------

  private canSubmit(): boolean {
    const connection = this.connection;
    return !this.closing && connection?.up === true && this.current.state === "bound" && !connection.windowFull;
  }

  /** Sends one OT 51 and says what its result means (§2.4: ACK "A" or NACK "N" with EC). */
  private send(values: string[], done: (result: SendResult<Accepted>) => void): void {
    const connection = this.connection;
    if (!connection) return done({ kind: "lost", reason: "not connected" });
    const sent = connection.request(51, values, (error, result) => {
      if (error || !result) return done({ kind: "lost", reason: error?.message ?? "no result" });
      const fields = fieldsOf(result);
      if (result.fields[0] === "A") {
        const ack = parseSubmitAck(fields.SM);
        if (!ack.ok) this.log("warn", `submit accepted without a message reference: ${ack.reason}; no notification can be matched to it`);
        return done({ kind: "accepted", result: { messageId: fields.SM, ...(ack.ok ? { recipient: ack.recipient, scts: ack.scts } : {}) } });
      }
      const info = describeErrorCode(fields.EC);
      const text = `error code ${info.code}: ${info.text}${fields.SM ? ` (${smText(fields.SM)})` : ""}`;
      done({ kind: "refused", code: info.code, error: { code: info.code, text, temporary: info.temporary } });
    }, "submit OT 51");
    // canSubmit checked the TRN window just before; a keep-alive cannot have taken the slot since.
    if (!sent) done({ kind: "lost", reason: "no TRN free on the connection" });
  }

  private onOperation(frame: Frame, answer: Answer, via: "main" | "receiver"): void {
    this.deliveries.handle(frame, answer, via);
  }

  /** 'delivery' listeners get every MO and notification; false when there are none. */
  private emitDelivery(delivery: UcpDelivery): boolean {
    if (this.listenerCount("delivery") === 0) return false;
    this.emit("delivery", delivery);
    return true;
  }
}

function localFailure(code: keyof typeof LOCAL_FAILURES, attempts: number, detail?: string): SubmitOutcome {
  const { text, temporary } = LOCAL_FAILURES[code];
  return { ok: false, error: { code, text: detail ? `${text} (${detail})` : text, temporary }, attempts };
}
