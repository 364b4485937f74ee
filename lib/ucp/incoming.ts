/**
 * What the SMSC sends us: OT 01/52 MO and OT 53 notifications, on our own connection or on
 * the receive port the SMSC connects in to (Kannel's `receive-port`, §2.6), turned into
 * delivery events whose `respond()` sends the result. The answer waits for the caller,
 * so a node acknowledges only after its hand-over; anything short of `{ ok: true }` (no
 * listener, a throw, a timeout, a refusal) is a negative result with the "deliver again"
 * error code (docs/design.md).
 */
import * as net from "node:net";
import { AllowList } from "../net/allowlist";
import { PendingDeliveries } from "../session/deliveries";
import { UcpConnection, type Answer, type ConnectionOptions, type LogFn } from "./connection";
import { decodeMo, decodeNotification, type MoPart, type Notification } from "./deliver";
import { SYNTAX_ERROR_CODE } from "./errors";
import type { Frame } from "./frame";
import { fieldsOf, negativeResultFields, positiveResultFields, type Fields } from "./operations";
import type { TextAlphabet } from "./submit";

export type DeliveryAnswer = { ok: true } | { ok: false; code?: string; text?: string };

interface DeliveryBase {
  fields: Fields;
  /** Where it came: our connection or the receive port. */
  via: "main" | "receiver";
  /** Answers the SMSC; the first call counts. */
  respond(answer: DeliveryAnswer): void;
}
export type UcpDelivery =
  | (DeliveryBase & { kind: "mo"; ot: 1 | 52; mo: MoPart })
  | (DeliveryBase & { kind: "notification"; ot: 53; notification: Notification });

/** A reason made safe for a frame's SM field. */
export function smText(text: string): string {
  return text.replace(/[^\x20-\x2e\x30-\x7e]/g, " ").slice(0, 80);
}

export interface IncomingOptions {
  alphabet: TextAlphabet;
  utcOffsetMinutes: number;
  deliverTimeoutMs: number;
  redeliverErrorCode: string;
}

export class IncomingOperations {
  /** Operations handed up and not yet answered. */
  readonly unanswered: PendingDeliveries;

  constructor(
    private readonly options: IncomingOptions,
    /** Hands a delivery to the listeners; false when there are none. */
    private readonly emit: (delivery: UcpDelivery) => boolean,
    private readonly log: LogFn,
  ) {
    this.unanswered = new PendingDeliveries(options.deliverTimeoutMs);
  }

  handle(frame: Frame, answer: Answer, via: "main" | "receiver"): void {
    const o = this.options;
    const fields = fieldsOf(frame);
    const decoded = frame.ot === 53 ? decodeNotification(fields, o) : decodeMo(frame.ot as 1 | 52, fields, o);
    if (!decoded.ok) {
      this.log("warn", `operation ${frame.ot} from the SMSC refused: ${decoded.reason}`);
      return answer(negativeResultFields(SYNTAX_ERROR_CODE, smText(decoded.reason)));
    }
    const send = (result: DeliveryAnswer) => {
      if (result?.ok === true) return answer(positiveResultFields(frame.ot as 1 | 52 | 53));
      const code = result && /^\d{2}$/.test(result.code ?? "") ? (result.code as string) : o.redeliverErrorCode;
      answer(negativeResultFields(code, smText(result?.text ?? "deliver again later")));
    };
    const respond = this.unanswered.take(send, (): DeliveryAnswer => {
      this.log("warn", `operation ${frame.ot} not answered within ${o.deliverTimeoutMs} ms; answered error code ${o.redeliverErrorCode}`);
      return { ok: false, text: "not handed over in time" };
    });
    const base = { fields, via, respond };
    const delivery: UcpDelivery =
      frame.ot === 53
        ? { ...base, kind: "notification", ot: 53, notification: decoded.value as Notification }
        : { ...base, kind: "mo", ot: frame.ot as 1 | 52, mo: decoded.value as MoPart };
    let taken: boolean;
    try {
      taken = this.emit(delivery);
    } catch (error) {
      this.log("warn", `delivery listener failed (${(error as Error).message}); asked the SMSC to deliver again`);
      return respond({ ok: false, text: "receiver failed" });
    }
    if (!taken) {
      this.log("warn", `operation ${frame.ot} answered with error code ${o.redeliverErrorCode}: no receiver is registered`);
      respond({ ok: false, text: "no receiver, deliver again later" });
    }
  }
}

export interface ReceiverOptions {
  port: number;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Addresses or CIDR ranges the SMSC connects from; empty or unset allows any. */
  allow?: string | readonly string[];
}

/** The second listener on which the SMSC connects in to deliver, with an IP allow-list. */
export class ReceivePort {
  private readonly allow?: AllowList;
  private server?: net.Server;
  private readonly connections = new Set<UcpConnection>();
  private closed = false;

  constructor(
    private readonly options: ReceiverOptions,
    private readonly connectionOptions: ConnectionOptions,
    private readonly onOperation: (frame: Frame, answer: Answer) => void,
    private readonly log: LogFn,
  ) {
    const allow = options.allow;
    if (allow !== undefined && (typeof allow === "string" ? allow.trim() !== "" : allow.length > 0)) this.allow = new AllowList(allow);
  }

  get port(): number | undefined {
    const address = this.server?.address();
    return address && typeof address === "object" ? address.port : undefined;
  }

  async listen(): Promise<void> {
    const server = net.createServer((socket) => this.accept(socket));
    this.server = server;
    const host = this.options.host ?? "127.0.0.1";
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(this.options.port, host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    server.on("error", (error) => this.log("error", `receive port: ${error.message}`));
    this.log("info", `receive port listening on ${host}:${this.port}`);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const c of this.connections) c.destroy("session closed", true);
    const server = this.server;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private accept(socket: net.Socket): void {
    const peer = socket.remoteAddress;
    if (this.closed || (this.allow && !this.allow.contains(peer))) {
      this.log("warn", `receive port refused a connection from ${peer}: ${this.closed ? "closing" : "not in the allow-list"}`);
      socket.destroy();
      return;
    }
    const connection = new UcpConnection(socket, this.connectionOptions, this.log, `receiver ${peer}`);
    this.connections.add(connection);
    connection.onDown = (reason) => {
      this.connections.delete(connection);
      this.log("info", `receive connection from ${peer} ended: ${reason}`);
    };
    connection.onOperation = this.onOperation;
  }
}
