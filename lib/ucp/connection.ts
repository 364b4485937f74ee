/**
 * One UCP/EMI connection: a socket (ours to the SMSC, or one the SMSC opened to our
 * receive port), read frame by frame, with a window of our operations in flight by TRN,
 * a response timeout per operation, OT 31 keep-alives, an inactivity timeout, and the
 * SMSC's operations handed up with a way to answer them. A connection is used once: when
 * anything goes wrong it is destroyed with a reason and the session makes a new one.
 *
 * Why an unparseable frame ends the connection: UCP has no length prefix to skip a bad
 * frame by, and an SMSC that sent one is out of step with us; answering a guess could
 * acknowledge an MO or notification we never read. The socket's listeners, the end-once with
 * everything in flight handed back, and the guard that turns a throw into an end with a reason
 * are lib/session/link-base.ts's, as for the SMPP and CIMD2 links. The session's connection is
 * dialled (`open`); one on the receive port is built around the socket the SMSC opened (§2.6).
 */
import type { Socket } from "node:net";
import { LinkBase, LinkDownError, type SocketHooks } from "../session/link-base";
import type { SocketOptions } from "../session/socket";
import { NOT_SUPPORTED_ERROR_CODE } from "./errors";
import { FrameError, FrameReader, encodeFrame, isKnownOperation, type Frame } from "./frame";
import { negativeResultFields, positiveResultFields, type OperationType } from "./operations";
import { TrnWindow } from "./window";

export type LogFn = (level: "debug" | "info" | "warn" | "error", text: string) => void;

/** The connection ended before this operation got its result (the links' LinkDownError). */
export { LinkDownError as ConnectionDownError };

export type ResultCallback = (error: Error | undefined, result?: Frame) => void;

/** Answers an SMSC operation with the fields of its result (`positiveResultFields` etc.). */
export type Answer = (fields: string[]) => void;

export interface ConnectionOptions {
  window: number;
  responseTimeoutMs: number;
  /** OT 31 period; 0 turns it off. */
  keepAliveMs: number;
  /** ADC of the OT 31: "Kannel: login or my-number" (§2.2). */
  keepAliveAdc: string;
  /** Nothing received for this long ends the connection; 0 turns it off. */
  inactivityTimeoutMs: number;
}

/** OT 31 PID: "Kannel `0539` = PC appl. over TCP/IP" (§2.2). */
const KEEP_ALIVE_PID = "0539";

interface Pending {
  ot: number;
  timer: NodeJS.Timeout;
  callback: ResultCallback;
}

export class UcpConnection extends LinkBase<Pending, TrnWindow<Pending>> {
  /** An operation from the SMSC (OT 01, 52, 53); OT 31 and unknown OTs are answered here. */
  onOperation?: (frame: Frame, answer: Answer) => void;
  /**
   * A result freed a TRN slot. The session's submit window waits on these slots, and a slot a
   * keep-alive held frees no submit of its own, so the window must hear it to send what queued.
   */
  onSlotFree?: () => void;

  private readonly reader = new FrameReader();
  private readonly socketHooks: SocketHooks = {
    errorReason: (error) => `connection error: ${error.code ?? ""} ${error.message}`.replace("  ", " "),
    closeReason: "connection closed by the peer",
    data: (chunk) => this.onData(chunk),
  };
  private keepAliveTimer?: NodeJS.Timeout;
  private inactivityTimer?: NodeJS.Timeout;

  /** `socket`: one the SMSC opened to our receive port; undefined for one `open` dials. */
  constructor(
    socket: Socket | undefined,
    private readonly options: ConnectionOptions,
    private readonly log: LogFn,
    readonly name: string,
  ) {
    super(new TrnWindow(options.window));
    if (socket) this.adopt(socket, this.socketHooks);
    if (options.inactivityTimeoutMs > 0) {
      this.inactivityTimer = setTimeout(() => this.destroy(`nothing received for ${options.inactivityTimeoutMs} ms`), options.inactivityTimeoutMs);
    }
  }

  /**
   * Dials the SMSC and, once connected, runs `login` (the session's OT 60: why it was refused,
   * or undefined); rejects with the reason the connection ended before it was logged in.
   */
  open(o: SocketOptions & { connectTimeoutMs: number }, login: () => Promise<string | undefined>): Promise<void> {
    return this.connect(o, {
      ...this.socketHooks,
      sniFromHost: true,
      // A login that throws ends the connection as a throw in guard() would: a rejection left
      // unhandled here would end the whole Node-RED process.
      ready: (loggedIn) =>
        void login().then(
          (refusal) => (refusal === undefined ? loggedIn() : this.destroy(refusal)),
          (error: Error) => this.destroy(`internal error: ${error.message}`),
        ),
    });
  }

  get up(): boolean {
    return this.downReason === undefined;
  }

  get windowFull(): boolean {
    return this.pending.full;
  }

  /**
   * Sends an operation if the window has room (false when it has none) and calls back once
   * with its result, or with an error when the connection ends first. No result within
   * the response timeout ends the connection: the peer is no longer trusted.
   */
  request(ot: OperationType, fields: string[], callback: ResultCallback, describe = `operation ${ot}`): boolean {
    if (this.downReason !== undefined) {
      callback(new LinkDownError(this.downReason));
      return true;
    }
    const entry: Pending = { ot, timer: undefined as unknown as NodeJS.Timeout, callback };
    const trn = this.pending.offer(entry);
    if (trn === undefined) return false;
    let bytes: Buffer;
    try {
      bytes = encodeFrame({ trn, direction: "O", ot, fields });
    } catch (error) {
      this.pending.complete(trn);
      throw error;
    }
    entry.timer = setTimeout(() => this.destroy(`no result to ${describe} (TRN ${String(trn).padStart(2, "0")}) within ${this.options.responseTimeoutMs} ms`), this.options.responseTimeoutMs);
    this.write(bytes, describe);
    return true;
  }

  /** Starts the OT 31 keep-alive (after login on our own connection). */
  startKeepAlive(): void {
    const period = this.options.keepAliveMs;
    if (period <= 0 || this.keepAliveTimer) return;
    this.keepAliveTimer = setInterval(() => {
      // A full window means traffic is flowing; the alert would only wait for a slot.
      if (this.pending.full) return;
      this.request(31, [this.options.keepAliveAdc, KEEP_ALIVE_PID], (error, result) => {
        if (!error && result?.fields[0] === "N") this.log("warn", `keep-alive OT 31 answered negatively (error code ${result.fields[1]})`);
      }, "keep-alive OT 31");
    }, period);
  }

  /**
   * Ends the connection once; later calls do nothing. Everything in flight gets a
   * LinkDownError. `graceful` lets written frames reach the peer first.
   */
  destroy(reason: string, graceful = false): void {
    this.end(reason, graceful, () => {
      clearInterval(this.keepAliveTimer);
      clearTimeout(this.inactivityTimer);
    });
  }

  private onData(chunk: Buffer): void {
    if (this.downReason !== undefined) return;
    this.inactivityTimer?.refresh();
    let decoded;
    try {
      decoded = this.reader.push(chunk);
    } catch (error) {
      if (error instanceof FrameError) return this.destroy(`unreadable data from the SMSC: ${error.message}`);
      throw error;
    }
    for (const d of decoded) {
      if (this.downReason !== undefined) return;
      if (!d.ok) return this.destroy(`unreadable frame from the SMSC: ${d.reason}`);
      if (d.frame.direction === "R") this.onResult(d.frame);
      else this.onOperationFrame(d.frame);
    }
  }

  private onResult(frame: Frame): void {
    const entry = this.pending.complete(frame.trn);
    if (!entry) {
      this.log("warn", `ignored result ${frame.ot} with TRN ${frame.trn}: nothing in flight with it`);
      return;
    }
    clearTimeout(entry.timer);
    if (entry.ot !== frame.ot) {
      entry.callback(new Error(`result with TRN ${frame.trn} is for OT ${frame.ot}, but OT ${entry.ot} was sent`));
      return this.destroy(`the SMSC answered OT ${entry.ot} (TRN ${frame.trn}) with a result for OT ${frame.ot}`);
    }
    entry.callback(undefined, frame);
    if (this.downReason === undefined) this.onSlotFree?.();
  }

  private onOperationFrame(frame: Frame): void {
    const answer: Answer = (fields) => this.answer(frame, fields);
    if (frame.ot === 31) return answer(positiveResultFields(31));
    if (!isKnownOperation(frame.ot) || frame.ot === 51 || frame.ot === 60 || !this.onOperation) {
      this.log("warn", `answered operation ${frame.ot} from the SMSC 'not supported'`);
      return answer(negativeResultFields(NOT_SUPPORTED_ERROR_CODE, ""));
    }
    this.onOperation(frame, answer);
  }

  private answer(operation: Frame, fields: string[]): void {
    const what = `result to operation ${operation.ot} (TRN ${String(operation.trn).padStart(2, "0")})`;
    if (this.downReason !== undefined) {
      this.log("warn", `${what} not sent: connection down (${this.downReason}); the SMSC will deliver it again`);
      return;
    }
    this.write(encodeFrame({ trn: operation.trn, direction: "R", ot: operation.ot, fields }), what);
  }

  private write(bytes: Buffer, what: string): void {
    const socket = this.socket;
    if (!socket?.writable) return this.destroy(`socket not writable when sending ${what}`);
    socket.write(bytes);
  }
}
