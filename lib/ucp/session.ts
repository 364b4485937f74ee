/**
 * The UCP/EMI session (SMT side): one logged-in connection to the SMSC, kept up until
 * close(), with the same public shape as `lib/smpp/session.ts` so the node layer treats the
 * protocols alike: `submit()` resolves to an outcome and never rejects, 'status' and 'log'
 * events, 'delivery' events whose `respond()` the caller calls only after its hand-over,
 * and `close()`.
 *
 * Delivery policy for submits (the caller's promise settles exactly once):
 * - submits queue FIFO and leave at most `window` at a time (by TRN, §2.6), within the
 *   throughput cap;
 * - a submit in flight when the connection drops or its result times out goes back to the
 *   queue in its place and is sent again on the next connection while it has been sent
 *   fewer than `maxAttempts` times and its deadline has not passed (at-least-once, like
 *   Kannel's `clear_sent` re-queue on reconnect);
 * - a negative result settles it, temporary or permanent by `errors.ts`.
 *
 * SMSC operations (OT 01/52/53) on this connection or on the optional receive port are
 * answered with what the caller passes to `respond`; with no listener, a throw, no answer
 * within `deliverTimeoutMs`, or `{ ok: false }`, the answer is a negative result with
 * `redeliverErrorCode` so the SMSC keeps the message and delivers it again (docs/design.md).
 */
import { EventEmitter } from "node:events";
import * as net from "node:net";
import * as tls from "node:tls";
import type { SubmitError } from "../contract";
// One reconnect rule for every protocol: back-off with jitter, doubling per failed attempt.
import { reconnectDelay } from "../smpp/session";
import { TokenBucket } from "../smpp/throttle";
import { UCP_BIND_DEFAULTS } from "./defaults";
import { UcpConnection, type Answer, type ConnectionOptions } from "./connection";
import { REDELIVER_ERROR_CODE, describeErrorCode } from "./errors";
import { frameBody, type Frame } from "./frame";
import { IncomingOperations, ReceivePort, smText, type ReceiverOptions, type UcpDelivery } from "./incoming";
import { fieldsOf, operationFields, type Fields } from "./operations";
import { parseSubmitAck, type TextAlphabet } from "./submit";

export interface TlsOptions {
  /** PEM CA certificate(s) to trust besides the system store. */
  ca?: string | Buffer;
  /** Certificates are verified unless this is explicitly false. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface UcpSessionOptions {
  host: string;
  port: number;
  tls?: boolean | TlsOptions;
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
  inactivityTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** Messages per second; 0 means no cap. */
  throughput?: number;
  burst?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  maxAttempts?: number;
  queueTimeoutMs?: number;
  maxQueue?: number;
  deliverTimeoutMs?: number;
  drainTimeoutMs?: number;
  /** Error code of the negative result that asks the SMSC to deliver again. */
  redeliverErrorCode?: string;
  /** How MT 3 octets of incoming operations are read; default "gsm". */
  alphabet?: TextAlphabet;
  utcOffsetMinutes?: number;
  receiver?: ReceiverOptions;
  random?: () => number;
}

type Resolved = Required<Omit<UcpSessionOptions, "tls" | "myNumber" | "burst" | "receiver">> & Pick<UcpSessionOptions, "tls" | "myNumber" | "burst" | "receiver">;

const DEFAULTS = {
  window: UCP_BIND_DEFAULTS.window,
  responseTimeoutMs: UCP_BIND_DEFAULTS.responseTimeoutSeconds * 1000,
  keepAliveMs: UCP_BIND_DEFAULTS.keepAliveSeconds * 1000,
  inactivityTimeoutMs: UCP_BIND_DEFAULTS.inactivityTimeoutSeconds * 1000,
  connectTimeoutMs: 10_000,
  throughput: UCP_BIND_DEFAULTS.throughput,
  reconnectMinMs: 1_000,
  reconnectMaxMs: UCP_BIND_DEFAULTS.reconnectMaxSeconds * 1000,
  maxAttempts: 3,
  queueTimeoutMs: 30_000,
  maxQueue: 10_000,
  deliverTimeoutMs: 30_000,
  drainTimeoutMs: 5_000,
  redeliverErrorCode: REDELIVER_ERROR_CODE,
  alphabet: "gsm" as TextAlphabet,
  utcOffsetMinutes: 0,
  random: Math.random,
};

/** The SMPP session's state names, so the node layer treats both alike; "bound" = logged in. */
export type SessionState = "idle" | "connecting" | "bound" | "reconnecting" | "closing" | "closed";

export interface SessionStatus {
  state: SessionState;
  /** Submits are waiting on the throughput cap. */
  throttled: boolean;
  windowFull: boolean;
  inFlight: number;
  queued: number;
  retryInMs?: number;
  lastError?: string;
}

const STATUS_KEYS = ["state", "throttled", "windowFull", "retryInMs", "lastError"] as const;

export type SubmitOutcome =
  | { ok: true; messageId: string; recipient?: string; scts?: string; attempts: number }
  | { ok: false; errorCode?: string; error: SubmitError; attempts: number };

const LOCAL_FAILURES = {
  CLOSED: { text: "the UCP session closed before the SMSC accepted the message", temporary: true },
  DEADLINE: { text: "not accepted by the SMSC before the deadline", temporary: true },
  QUEUE_FULL: { text: "too many messages waiting for the SMSC", temporary: true },
  CONNECTION_LOST: { text: "the connection was lost while the submit was in flight", temporary: true },
  INVALID_OPERATION: { text: "the OT 51 could not be encoded", temporary: false },
} as const;

interface Entry {
  order: number;
  fields: string[];
  deadline: number;
  attempts: number;
  inFlight: boolean;
  done: boolean;
  timer?: NodeJS.Timeout;
  resolve: (outcome: SubmitOutcome) => void;
}

/** IRA hex of a text (the OT 60 PWD, §2.2 "password as IRA hex"). */
export function iraHex(text: string): string {
  return Buffer.from(text, "latin1").toString("hex").toUpperCase();
}

export class UcpSession extends EventEmitter {
  private readonly o: Resolved;
  private readonly bucket: TokenBucket;
  private readonly deliveries: IncomingOperations;
  private receivePort?: ReceivePort;
  private current: SessionStatus = { state: "idle", throttled: false, windowFull: false, inFlight: 0, queued: 0 };
  private connection?: UcpConnection;
  private queue: Entry[] = [];
  private inFlight = new Set<Entry>();
  private order = 0;
  private pumpTimer?: NodeJS.Timeout;
  private sleepTimer?: NodeJS.Timeout;
  private wake?: () => void;
  private loop?: Promise<void>;
  private closing?: Promise<void>;

  constructor(options: UcpSessionOptions) {
    super();
    const defined = Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined));
    this.o = { ...DEFAULTS, ...defined } as Resolved;
    if (!Number.isInteger(this.o.window) || this.o.window < 1 || this.o.window > 100) throw new RangeError("window must be 1..100");
    if (!/^\d{2}$/.test(this.o.redeliverErrorCode)) throw new RangeError("redeliverErrorCode must be two digits");
    // Checked here, so the login can never fail to encode (the password itself is never quoted).
    if (!/^[\x20-\x2e\x30-\x7e]{1,16}$/.test(this.o.username)) throw new RangeError("username must be 1-16 printable IRA characters without '/'");
    if (!/^[\x20-\x7e]*$/.test(this.o.password)) throw new RangeError("password must be printable IRA (ASCII) characters");
    if (this.o.myNumber !== undefined && !/^\d{0,16}$/.test(this.o.myNumber)) throw new RangeError("myNumber must be up to 16 digits");
    this.bucket = new TokenBucket({ rate: this.o.throughput, burst: this.o.burst });
    this.deliveries = new IncomingOperations(this.o, (d) => this.emitDelivery(d), (l, t) => this.log(l, t));
    if (this.o.receiver) {
      const receiver = this.o.receiver;
      this.receivePort = new ReceivePort(receiver, this.connectionOptions(0), (frame, answer) => this.onOperation(frame, answer, "receiver"), (l, t) => this.log(l, t));
    }
    this.on("error", () => undefined);
  }

  get status(): SessionStatus {
    return { ...this.current, inFlight: this.inFlight.size, queued: this.queue.length };
  }

  /** The receive port's bound port (useful with port 0), once listening. */
  get receiverPort(): number | undefined {
    return this.receivePort?.port;
  }

  /** Connects and keeps the session up until close(); opens the receive port if configured. */
  async start(): Promise<void> {
    if (this.loop || this.closing) return;
    this.loop = this.run();
    await this.receivePort?.listen();
  }

  /** Queues one OT 51 (fields by name, as `buildSubmit` gives them). Never rejects. */
  submit(fields: Fields, options: { deadline?: number } = {}): Promise<SubmitOutcome> {
    return new Promise<SubmitOutcome>((resolve) => {
      if (this.closing) return resolve(localFailure("CLOSED", 0));
      let values: string[];
      try {
        values = operationFields(51, fields);
        // Encoded once here, so a value no frame can carry is refused before it takes a slot.
        frameBody({ trn: 0, direction: "O", ot: 51, fields: values });
      } catch (error) {
        return resolve(localFailure("INVALID_OPERATION", 0, (error as Error).message));
      }
      if (this.queue.length >= this.o.maxQueue) return resolve(localFailure("QUEUE_FULL", 0));
      const deadline = options.deadline ?? Date.now() + this.o.queueTimeoutMs;
      const entry: Entry = { order: ++this.order, fields: values, deadline, attempts: 0, inFlight: false, done: false, resolve };
      entry.timer = setTimeout(() => this.expire(entry), Math.max(0, deadline - Date.now()));
      this.queue.push(entry);
      this.pump();
    });
  }

  close(): Promise<void> {
    if (!this.closing) this.closing = this.shutdown();
    return this.closing;
  }

  // --- connection loop -----------------------------------------------------------------

  private async run(): Promise<void> {
    let failures = 0;
    while (!this.closing) {
      this.setStatus({ state: "connecting", retryInMs: undefined });
      // Nothing may escape this loop as an unhandled rejection (a bad CA throws in tls.connect).
      const { loggedIn, reason } = await this.connectOnce().catch((error: Error) => {
        this.connection?.destroy(`could not connect: ${error.message}`);
        return { loggedIn: false, reason: `could not connect: ${error.message}` };
      });
      if (this.closing) break;
      failures = loggedIn ? 0 : failures + 1;
      const delay = reconnectDelay(failures, this.o);
      this.log("warn", `UCP session ended: ${reason}; reconnecting in ${delay} ms`);
      this.setStatus({ state: "reconnecting", retryInMs: delay, lastError: reason, throttled: false, windowFull: false });
      await new Promise<void>((resolve) => {
        this.wake = resolve;
        this.sleepTimer = setTimeout(resolve, delay);
      });
    }
  }

  /** One fresh connection: connect, log in, serve until it ends. */
  private async connectOnce(): Promise<{ loggedIn: boolean; reason: string }> {
    const o = this.o;
    const socket = this.openSocket();
    const connection = new UcpConnection(socket, this.connectionOptions(o.keepAliveMs), (l, t) => this.log(l, t), "main");
    this.connection = connection;
    const down = new Promise<string>((resolve) => (connection.onDown = resolve));
    connection.onOperation = (frame, answer) => this.onOperation(frame, answer, "main");
    const connectTimer = setTimeout(() => connection.destroy(`could not connect to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`), o.connectTimeoutMs);
    const connected = await Promise.race([new Promise<boolean>((r) => socket.once(o.tls ? "secureConnect" : "connect", () => r(true))), down.then(() => false)]);
    clearTimeout(connectTimer);
    if (!connected) return { loggedIn: false, reason: await down };
    const login = await this.login(connection);
    if (login) {
      connection.destroy(login);
      return { loggedIn: false, reason: login };
    }
    if (this.closing) return { loggedIn: true, reason: "closing" };
    connection.startKeepAlive();
    this.log("info", `logged in to ${o.host}:${o.port} as ${o.username}`);
    this.setStatus({ state: "bound", retryInMs: undefined });
    this.pump();
    const reason = await down;
    this.connection = undefined;
    return { loggedIn: true, reason };
  }

  private openSocket(): net.Socket {
    const o = this.o;
    if (!o.tls) return net.connect({ host: o.host, port: o.port });
    const t = typeof o.tls === "object" ? o.tls : {};
    return tls.connect({ host: o.host, port: o.port, ca: t.ca, rejectUnauthorized: t.rejectUnauthorized !== false, servername: t.servername ?? (net.isIP(o.host) ? undefined : o.host) });
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
    clearTimeout(this.pumpTimer);
    clearTimeout(this.sleepTimer);
    this.wake?.();
    for (const entry of this.queue.splice(0)) this.finish(entry, localFailure("CLOSED", entry.attempts));
    await this.waitIdle();
    this.connection?.destroy("session closed", true);
    await this.receivePort?.close();
    await this.loop;
    this.setStatus({ state: "closed", throttled: false, windowFull: false, retryInMs: undefined });
  }

  private async waitIdle(): Promise<void> {
    const until = Date.now() + this.o.drainTimeoutMs;
    while ((this.inFlight.size > 0 || this.deliveries.pending > 0) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  }

  // --- submits -------------------------------------------------------------------------

  private pump(): void {
    if (this.pumpTimer) return;
    const connection = this.connection;
    while (this.queue.length > 0 && !this.closing && connection?.up && this.current.state === "bound") {
      if (connection.windowFull) break;
      const wait = this.bucket.waitMs();
      if (wait > 0) {
        this.setStatus({ throttled: true });
        this.pumpTimer = setTimeout(() => {
          this.pumpTimer = undefined;
          this.pump();
        }, wait);
        return;
      }
      this.bucket.tryTake();
      const entry = this.queue.shift() as Entry;
      entry.attempts += 1;
      entry.inFlight = true;
      this.inFlight.add(entry);
      connection.request(51, entry.fields, (error, result) => this.onSubmitDone(entry, error, result), "submit OT 51");
    }
    this.setStatus({ throttled: false, windowFull: !!connection?.windowFull && this.queue.length > 0 });
  }

  private onSubmitDone(entry: Entry, error: Error | undefined, result: Frame | undefined): void {
    entry.inFlight = false;
    this.inFlight.delete(entry);
    if (error || !result) {
      const reason = error?.message ?? "no result";
      if (this.closing) this.finish(entry, localFailure("CLOSED", entry.attempts, reason));
      else if (entry.attempts >= this.o.maxAttempts) this.finish(entry, localFailure("CONNECTION_LOST", entry.attempts, `sent ${entry.attempts} times; last: ${reason}`));
      else if (Date.now() >= entry.deadline) this.finish(entry, localFailure("DEADLINE", entry.attempts, reason));
      else {
        const at = this.queue.findIndex((e) => e.order > entry.order);
        this.queue.splice(at < 0 ? this.queue.length : at, 0, entry);
      }
    } else {
      const fields = fieldsOf(result);
      if (result.fields[0] === "A") {
        const ack = parseSubmitAck(fields.SM);
        if (!ack.ok) this.log("warn", `submit accepted without a message reference: ${ack.reason}; no notification can be matched to it`);
        this.finish(entry, { ok: true, messageId: fields.SM, ...(ack.ok ? { recipient: ack.recipient, scts: ack.scts } : {}), attempts: entry.attempts });
      } else {
        const info = describeErrorCode(fields.EC);
        const text = `error code ${info.code}: ${info.text}${fields.SM ? ` (${smText(fields.SM)})` : ""}`;
        this.finish(entry, { ok: false, errorCode: info.code, error: { code: info.code, text, temporary: info.temporary }, attempts: entry.attempts });
      }
    }
    this.pump();
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

  private onOperation(frame: Frame, answer: Answer, via: "main" | "receiver"): void {
    this.deliveries.handle(frame, answer, via);
  }

  /** 'delivery' listeners get every MO and notification; false when there are none. */
  private emitDelivery(delivery: UcpDelivery): boolean {
    if (this.listenerCount("delivery") === 0) return false;
    this.emit("delivery", delivery);
    return true;
  }

  // --- status and logs -----------------------------------------------------------------

  private setStatus(patch: Partial<SessionStatus>): void {
    const next = { ...this.current, ...patch };
    if (STATUS_KEYS.every((k) => next[k] === this.current[k])) return;
    this.current = next;
    this.emitSafely("status", this.status);
  }

  private log(level: "debug" | "info" | "warn" | "error", text: string): void {
    this.emitSafely("log", { level, text });
  }

  private emitSafely(event: "status" | "log", value: unknown): void {
    try {
      this.emit(event, value);
    } catch {
      // the listener that threw is the one that would be told
    }
  }
}

function localFailure(code: keyof typeof LOCAL_FAILURES, attempts: number, detail?: string): SubmitOutcome {
  const { text, temporary } = LOCAL_FAILURES[code];
  return { ok: false, error: { code, text: detail ? `${text} (${detail})` : text, temporary }, attempts };
}
