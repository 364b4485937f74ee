/**
 * One TCP (or TLS) connection to the SMSC, bound in one role, and everything that keeps it
 * honest: bind, sequence numbers, per-request response timeouts, write batching,
 * enquire_link keep-alive, an inactivity timeout and automatic answers. A Link is used once:
 * when anything goes wrong it is destroyed and the session (session.ts) makes a new one.
 * The link owns its socket and reads it itself (frame.ts); the `smpp` package only encodes
 * and decodes single PDUs, because its Session cannot be reused via `connect()`, stalls
 * after a parse error and fills truncated fields silently (smpp-and-gateways.md §1.4).
 * Every listener is guarded: an exception inside one ends the link with a reason instead of
 * escaping from the socket's event handler (which in Node-RED would crash the runtime).
 */
import * as smpp from "smpp";
import { InFlightMap, LinkBase, LinkDownError } from "../session/link-base";
import type { TlsOptions } from "../session/socket";
import { ESME_RINVCMDID, ESME_ROK, ESME_RUNKNOWNERR, describeStatus, statusText } from "./command-status";
import { encodeDeliverSmResp, encodeSubmitSm } from "./encode";
import { PduReader, decodeFrame, refuseUnreadable, type Refusal } from "./frame";
import { WriteBatch } from "./write-batch";

export type { Refusal } from "./frame";

export type LinkRole = "transceiver" | "transmitter" | "receiver";

const BIND_COMMAND: Record<LinkRole, string> = {
  transceiver: "bind_transceiver",
  transmitter: "bind_transmitter",
  receiver: "bind_receiver",
};

/** Requests the SMSC may send that have no response PDU at all (SMPP 3.4 §4). */
const NO_RESPONSE_COMMANDS = new Set(["alert_notification", "outbind"]);

const MAX_SEQUENCE = 0x7fffffff;

export type { TlsOptions } from "../session/socket";

export interface LinkOptions {
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

export { LinkDownError };

/** The request could not be encoded (e.g. short_message over 254 octets): never retry it. */
export class InvalidPduError extends Error {
  override name = "InvalidPduError";
}

export type RequestCallback = (error: Error | undefined, response?: smpp.PDU) => void;

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

export class Link extends LinkBase<Pending> {
  bound = false;
  /** A deliver_sm arrived; `answer` sends deliver_sm_resp with the given status. */
  onDeliver?: (pdu: smpp.PDU, answer: (status: number) => void) => void;
  /** A request from the SMSC was refused (frame.ts): it was answered with an error and not handed on. */
  onRefused?: (refusal: Refusal) => void;
  /** A response matched no request in flight (a sequence never sent, or already answered). */
  onStray?: (pdu: smpp.PDU) => void;

  private readonly reader = new PduReader();
  private batch?: WriteBatch;
  private sequence = 0;
  private enquireTimer?: NodeJS.Timeout;
  private inactivityTimer?: NodeJS.Timeout;

  constructor(
    readonly role: LinkRole,
    private readonly options: LinkOptions,
    private readonly log: LogFn,
  ) {
    super(new InFlightMap<Pending>());
  }

  get up(): boolean {
    return this.bound && this.downReason === undefined;
  }

  /** Connects and binds; rejects with the reason (never containing the password). */
  open(): Promise<void> {
    return this.connect(this.options, {
      sniFromHost: false,
      // The socket is read here, not by the package's Session: it stalls after a parse
      // error (§1.4) and fills truncated fields silently; frame.ts checks the raw octets.
      opened: (socket) => {
        this.batch = new WriteBatch(socket, (reason) => this.destroy(reason), (fn) => this.guard(fn));
      },
      errorReason: describeSocketError,
      closeReason: "connection closed by the peer",
      data: (chunk) => this.onData(chunk),
      ready: (bound) => this.bind(bound),
    });
  }

  /**
   * Sends a request and calls back once with its response, or with an error when the link
   * ends first. A request without a response within `timeoutMs` ends the link: the peer is
   * no longer trusted, and everything in flight is handed back to the owner.
   */
  request(command: string, params: smpp.PduParams, timeoutMs: number, callback: RequestCallback): void {
    if (this.downReason !== undefined || !this.socket) {
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
    this.end(reason, graceful, () => {
      this.bound = false;
      // A graceful end sends what was written before it (e.g. our unbind_resp); otherwise the
      // socket is destroyed and unsent PDUs go with it, like those in flight.
      if (graceful) this.batch?.flush();
      this.batch?.drop();
      this.stopKeepAlive();
    });
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

  private onData(chunk: Buffer): void {
    this.inactivityTimer?.refresh();
    const { frames, unreadable } = this.reader.push(chunk);
    for (const frame of frames) {
      if (this.downReason !== undefined) return;
      const read = decodeFrame(frame);
      if (read.kind === "pdu") {
        this.onPdu(read.pdu);
      } else if (read.kind === "refused") {
        this.onRefused?.(read.refusal);
        this.writeEncoded(read.answer, read.refusal.answer);
      } else {
        this.destroy(read.reason);
      }
    }
    if (unreadable && this.downReason === undefined) {
      // No way to find the next PDU: say why (generic_nack), then end the link.
      const { refusal, answer } = refuseUnreadable(unreadable);
      this.onRefused?.(refusal);
      this.writeEncoded(answer, refusal.answer);
      this.destroy(`unreadable PDU from the SMSC (${unreadable.reason})`, true);
    }
  }

  private onPdu(pdu: smpp.PDU): void {
    if (pdu.isResponse()) {
      const p = this.pending.get(pdu.sequence_number);
      if (!p) {
        this.onStray?.(pdu);
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
      default: {
        if (NO_RESPONSE_COMMANDS.has(pdu.command)) return;
        // An unknown command id gets generic_nack (PDU.response does that); a known one we
        // do not serve gets its own _resp with ESME_RINVCMDID, as Kannel does. Either is a
        // refusal, reported like the malformed ones (smpp-and-gateways.md §9.3: never silently).
        const response = pdu.response({ command_status: ESME_RINVCMDID });
        const unknown = pdu.command === "unknown";
        this.onRefused?.({
          command: unknown ? `command 0x${(pdu.command_id >>> 0).toString(16).padStart(8, "0")}` : pdu.command,
          answer: response.command,
          sequence: pdu.sequence_number,
          status: ESME_RINVCMDID,
          reason: unknown ? "unknown command id" : "a request this ESME does not serve",
        });
        this.write(response);
      }
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
    if (!this.socket || this.downReason !== undefined) return;
    let encoded: Buffer;
    try {
      encoded = pdu.toBuffer();
    } catch (error) {
      this.destroy(`cannot send ${pdu.command}: ${(error as Error).message}`);
      return;
    }
    this.writeEncoded(encoded, pdu.command);
  }

  private writeEncoded(encoded: Buffer, command: string): void {
    if (this.downReason === undefined) this.batch?.add(encoded, command);
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
}

/** Socket errors only: PDUs that cannot be read end the link in onData with their own reason. */
function describeSocketError(error: Error & { code?: string; syscall?: string }): string {
  if (error.syscall || !error.code) return `connection error: ${error.message}`;
  return `connection error: ${error.code}: ${error.message}`;
}
