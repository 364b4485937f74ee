/**
 * One CIMD2 connection to the SMSC, used once: connect (TCP or TLS, verified by default),
 * log in with op 01, match responses to requests by packet number, send op 40 alive,
 * notice silence, answer what the SMSC asks, and log out with op 02. Anything wrong ends
 * the link with a reason and the session (session.ts) makes a fresh one.
 *
 * Faults in what the SMSC sends (aggregator-protocols.md §3.1-3.3):
 * - bytes between packets are noise and ignored;
 * - a request from the SMSC whose checksum is wrong is answered NACK (99) with its number,
 *   so the SMSC sends it again; one with any other fault is answered with its response
 *   code and `900:2` (syntax error) plus the reason in `901`;
 * - a broken response, or a frame whose header cannot be read, ends the link: what it
 *   answered is unknown, so the stream is no longer trusted (in-flight submits go back to
 *   the queue, as on any lost connection);
 * - a NACK for one of our requests sends it again under a new number, at most 3 times (as
 *   Kannel does): the SMSC refused it, so resending cannot duplicate it.
 * Every listener is guarded: an exception ends the link with a reason instead of escaping
 * from a socket event (which in Node-RED would crash the runtime).
 */
import { InFlightMap, LinkBase, LinkDownError } from "../session/link-base";
import type { TlsOptions } from "../session/socket";
import { errorOf, errorParams } from "./errors";
import { GENERAL_ERROR_RESPONSE, NACK, OP, operationName, requestInfo, responseCode, RESPONSE_OFFSET } from "./operations";
import { encodePacket, numberSide, PacketNumbers, PacketReader, type DecodedPacket, type Packet, type Parameter } from "./packet";
import { P } from "./parameters";

export type { TlsOptions } from "../session/socket";

export interface LinkOptions {
  host: string;
  port: number;
  tls?: boolean | TlsOptions;
  username: string;
  password: string;
  connectTimeoutMs: number;
  loginTimeoutMs: number;
  aliveIntervalMs: number;
  responseTimeoutMs: number;
  inactivityTimeoutMs: number;
  /** Send a checksum on every packet (it is optional; both forms are read). */
  checksum: boolean;
}

export type LogFn = (level: "debug" | "info" | "warn" | "error", text: string) => void;

export { LinkDownError };

export class InvalidPacketError extends Error {
  override name = "InvalidPacketError";
}

export type RequestCallback = (error: Error | undefined, response?: DecodedPacket) => void;

/** An SMSC request the owner answers: `answer(params)` sends the response with them. */
export type RequestHandler = (packet: DecodedPacket, answer: (params: Parameter[]) => void) => void;

const MAX_NACK_RETRIES = 3;

interface Pending {
  packet: Packet;
  timer: NodeJS.Timeout;
  timeoutMs: number;
  nacks: number;
  callback: RequestCallback;
}

export class Cimd2Link extends LinkBase<Pending> {
  loggedIn = false;
  onRequest?: RequestHandler;
  /** A protocol fault that did not end the link (noise is not one). */
  onFault?: (reason: string) => void;

  private readonly reader = new PacketReader();
  private readonly numbers = new PacketNumbers("client");
  /** The last request the SMSC sent, and our answer once given (a repeat gets it again). */
  private lastIncoming?: { number: number; op: number; answer?: Buffer };
  private aliveTimer?: NodeJS.Timeout;
  private inactivityTimer?: NodeJS.Timeout;

  constructor(
    private readonly options: LinkOptions,
    private readonly log: LogFn,
  ) {
    super(new InFlightMap<Pending>());
  }

  get up(): boolean {
    return this.loggedIn && this.downReason === undefined;
  }

  /** Connects and logs in; rejects with the reason (never containing the password). */
  open(): Promise<void> {
    return this.connect(this.options, {
      sniFromHost: true,
      errorReason: (error) => `connection error: ${error.code ? `${error.code}: ` : ""}${error.message}`,
      closeReason: "connection closed by the SMSC",
      data: (chunk) => this.onData(chunk),
      ready: (loggedIn) => {
        this.startInactivity();
        this.login(loggedIn);
      },
    });
  }

  /**
   * Sends a request and calls back once with its response (op + 50, or 98), or with an
   * error when the link ends first. No response within `timeoutMs` ends the link.
   */
  request(op: number, params: Parameter[], timeoutMs: number, callback: RequestCallback): void {
    if (this.downReason !== undefined || !this.socket) {
      callback(new LinkDownError(this.downReason ?? "not connected"));
      return;
    }
    const packet: Packet = { op, number: 0, params };
    try {
      encodePacket(packet);
    } catch (error) {
      callback(new InvalidPacketError(`cannot encode ${operationName(op)}: ${(error as Error).message}`));
      return;
    }
    const entry: Pending = { packet, timeoutMs, nacks: 0, callback, timer: undefined as unknown as NodeJS.Timeout };
    this.send(entry);
  }

  /** Sends op 02 and waits for 52 or the timeout, then closes. Never rejects. */
  logout(timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      if (!this.up) {
        this.destroy("closed before login completed");
        resolve();
        return;
      }
      this.stopTimers();
      this.request(OP.LOGOUT, [], timeoutMs, (error) => {
        if (!error) this.destroy("logged out", true);
        resolve();
      });
    });
  }

  /** Ends the link once; every pending request gets a LinkDownError. */
  destroy(reason: string, graceful = false): void {
    this.end(reason, graceful, () => {
      this.loggedIn = false;
      this.stopTimers();
    });
  }

  private login(onLoggedIn: () => void): void {
    const o = this.options;
    // "Kannel always sends LOGIN as 001" (§3.2): a fresh connection starts the numbers again.
    this.numbers.reset();
    const params = [
      { code: P.USER_IDENTITY, value: o.username },
      { code: P.PASSWORD, value: o.password },
    ];
    this.request(OP.LOGIN, params, o.loginTimeoutMs, (error, response) => {
      if (error || !response) {
        if (error instanceof InvalidPacketError) this.destroy(`login not sent: ${error.message.replace(o.password, "***")}`);
        return;
      }
      const refusal = errorOf(response);
      if (refusal) {
        this.destroy(`login refused: ${refusal}`);
        return;
      }
      this.loggedIn = true;
      this.startAlive();
      this.log("info", `logged in to ${o.host}:${o.port} as ${o.username}`);
      onLoggedIn();
    });
  }

  private send(entry: Pending): void {
    const number = this.numbers.takeFree((n) => this.pending.has(n));
    if (number === undefined) {
      entry.callback(new LinkDownError("no free packet number: too many requests in flight"));
      return;
    }
    entry.packet = { ...entry.packet, number };
    clearTimeout(entry.timer);
    entry.timer = setTimeout(() => this.destroy(`no response to ${operationName(entry.packet.op)} ${pad3(number)} within ${entry.timeoutMs} ms`), entry.timeoutMs);
    this.pending.set(number, entry);
    this.write(encodePacket(entry.packet, { checksum: this.options.checksum }), operationName(entry.packet.op));
  }

  private onData(chunk: Buffer): void {
    this.inactivityTimer?.refresh();
    for (const event of this.reader.push(chunk)) {
      if (this.downReason !== undefined) return;
      if (event.kind === "noise") {
        this.log("debug", `ignored ${event.bytes} bytes between packets`);
      } else if (event.kind === "invalid") {
        this.onInvalid(event.reason, event.op, event.number);
      } else {
        this.onPacket(event.packet);
      }
    }
  }

  private onInvalid(reason: string, op: number | undefined, number: number | undefined): void {
    if (op === undefined || number === undefined) {
      this.destroy(`unreadable packet from the SMSC: ${reason}`);
      return;
    }
    if (op >= RESPONSE_OFFSET) {
      this.destroy(`unreadable ${operationName(op)} ${pad3(number)} from the SMSC: ${reason}`);
      return;
    }
    this.fault(`refused ${operationName(op)} ${pad3(number)} from the SMSC: ${reason}`);
    if (/^checksum /.test(reason)) {
      this.write(encodePacket({ op: NACK, number, params: [] }, { checksum: this.options.checksum }), "NACK");
    } else {
      this.answerWith({ op, number, params: [] }, errorParams(2, reason));
    }
  }

  private onPacket(packet: DecodedPacket): void {
    if (packet.op === NACK) return this.onNack(packet);
    if (packet.op >= RESPONSE_OFFSET) return this.onResponse(packet);
    if (numberSide(packet.number) !== "smsc") {
      this.fault(`${operationName(packet.op)} from the SMSC has the odd packet number ${pad3(packet.number)}; answered NACK`);
      this.write(encodePacket({ op: NACK, number: packet.number, params: [] }, { checksum: this.options.checksum }), "NACK");
      return;
    }
    const last = this.lastIncoming;
    if (last && last.number === packet.number && last.op === packet.op) {
      // "A repeated request number … is treated as a retransmission" (§3.2): answer it
      // again if we already did; otherwise the answer is still coming.
      if (last.answer) this.write(last.answer, `${operationName(responseCode(packet.op))} (again)`);
      return;
    }
    this.lastIncoming = { number: packet.number, op: packet.op };
    switch (packet.op) {
      case OP.ALIVE:
        this.answerWith(packet, []);
        return;
      case OP.DELIVER_MESSAGE:
      case OP.DELIVER_STATUS_REPORT:
        if (this.onRequest) this.onRequest(packet, (params) => this.answerWith(packet, params));
        else this.answerWith(packet, errorParams(1, "no receiver"));
        return;
      default:
        this.fault(`the SMSC sent ${operationName(packet.op)}, which only a client sends; answered error 1`);
        this.answerWith(packet, errorParams(1, `unexpected ${requestInfo(packet.op) ? operationName(packet.op) : "operation"}`));
    }
  }

  private answerWith(request: Packet, params: Parameter[]): void {
    if (this.downReason !== undefined) {
      this.log("warn", `${operationName(request.op)} ${pad3(request.number)} not answered: link down (${this.downReason}); the SMSC will deliver it again`);
      return;
    }
    const encoded = encodePacket({ op: responseCode(request.op), number: request.number, params }, { checksum: this.options.checksum });
    const last = this.lastIncoming;
    if (last && last.number === request.number && last.op === request.op) last.answer = encoded;
    this.write(encoded, operationName(responseCode(request.op)));
  }

  private onResponse(packet: DecodedPacket): void {
    const entry = this.pending.get(packet.number);
    if (!entry) {
      this.log("debug", `ignored ${operationName(packet.op)} ${pad3(packet.number)}: no request with that number is waiting`);
      return;
    }
    if (packet.op !== GENERAL_ERROR_RESPONSE && packet.op !== responseCode(entry.packet.op)) {
      this.destroy(`the SMSC answered ${operationName(entry.packet.op)} ${pad3(packet.number)} with ${operationName(packet.op)}`);
      return;
    }
    this.pending.delete(packet.number);
    clearTimeout(entry.timer);
    entry.callback(undefined, packet);
  }

  private onNack(packet: DecodedPacket): void {
    const entry = this.pending.get(packet.number);
    if (!entry) {
      this.fault(`NACK ${pad3(packet.number)} for no request in flight`);
      return;
    }
    this.pending.delete(packet.number);
    entry.nacks += 1;
    if (entry.nacks > MAX_NACK_RETRIES) {
      clearTimeout(entry.timer);
      this.destroy(`the SMSC refused ${operationName(entry.packet.op)} with NACK ${entry.nacks} times`);
      return;
    }
    this.log("warn", `NACK for ${operationName(entry.packet.op)} ${pad3(packet.number)}; sending it again`);
    this.send(entry);
  }

  private write(encoded: Buffer, what: string): void {
    const socket = this.socket;
    if (!socket || this.downReason !== undefined) return;
    if (!socket.writable) {
      this.destroy(`socket not writable when sending ${what}`);
      return;
    }
    socket.write(encoded);
  }

  private startInactivity(): void {
    const o = this.options;
    if (o.inactivityTimeoutMs > 0) {
      this.inactivityTimer = setTimeout(() => this.destroy(`nothing received for ${o.inactivityTimeoutMs} ms`), o.inactivityTimeoutMs);
    }
  }

  private startAlive(): void {
    const o = this.options;
    if (o.aliveIntervalMs > 0) {
      this.aliveTimer = setInterval(() => this.request(OP.ALIVE, [], o.responseTimeoutMs, () => undefined), o.aliveIntervalMs);
    }
  }

  private stopTimers(): void {
    clearInterval(this.aliveTimer);
    clearTimeout(this.inactivityTimer);
    this.aliveTimer = undefined;
    this.inactivityTimer = undefined;
  }

  private fault(reason: string): void {
    this.log("warn", reason);
    const onFault = this.onFault;
    if (onFault) this.guard(() => onFault(reason));
  }
}

function pad3(n: number): string {
  return String(n).padStart(3, "0");
}
