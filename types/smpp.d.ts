/**
 * Local typings for the `smpp` package (farhadi/node-smpp) 0.5.1, which ships none.
 * Written from its lib/smpp.js, lib/pdu.js and lib/defs.js; only what this project uses is
 * typed precisely, the rest stays open (`[field: string]: unknown`).
 *
 * Hazards worth remembering when using these (smpp-and-gateways.md §1.4): a listener that
 * throws inside `emit` escapes from the socket's `readable` handler; after a parse error
 * the session stops reading for good; `connect()` on an old session drops every pending
 * callback. The link (lib/smpp/link.ts) avoids all three: it reads the socket itself and
 * uses the package only to encode and decode single PDUs.
 */
declare module "smpp" {
  import { EventEmitter } from "events";
  import * as net from "net";
  import * as tls from "tls";

  /** PDU fields are the SMPP parameter and TLV names, e.g. `short_message`, `receipted_message_id`. */
  export type PduParams = Record<string, unknown>;

  export class PDU {
    constructor(command: string, options?: PduParams);
    constructor(buffer: Buffer);
    /** Command name, e.g. "submit_sm"; "unknown" for an id the package does not know. */
    command: string;
    command_id: number;
    command_length: number;
    command_status: number;
    sequence_number: number;
    [field: string]: unknown;
    isResponse(): boolean;
    /** The matching `<command>_resp`, or `generic_nack` for an unknown command. */
    response(options?: PduParams): PDU;
    toBuffer(): Buffer;
    /** Largest PDU the reader accepts (16384); anything longer is a parse error. */
    static maxLength: number;
    static fromBuffer(buffer: Buffer): PDU | false;
  }

  export interface ConnectOptions {
    url?: string;
    host?: string;
    port?: number;
    /** Use tls.connect; every other option here is passed to net/tls.connect as is. */
    tls?: boolean;
    ca?: string | Buffer | Array<string | Buffer>;
    rejectUnauthorized?: boolean;
    servername?: string;
    auto_enquire_link_period?: number;
    [option: string]: unknown;
  }

  export type ResponseCallback = (pdu: PDU) => void;
  export type SendCallback = (pdu: PDU) => void;
  /** `(params, onResponse?, onSent?)`; returns false when the socket is not writable. */
  export type Shortcut = (
    params?: PduParams | ResponseCallback,
    responseCallback?: ResponseCallback,
    sendCallback?: SendCallback,
  ) => boolean;

  export class Session extends EventEmitter {
    constructor(options: ConnectOptions & { socket?: net.Socket });
    socket: net.Socket | tls.TLSSocket;
    sequence: number;
    paused: boolean;
    /** Set by the server on sessions it accepts. */
    server?: Server;
    send(pdu: PDU, responseCallback?: ResponseCallback, sendCallback?: SendCallback): boolean;
    /** Ends the socket; it does not unbind. */
    close(callback?: () => void): void;
    destroy(callback?: () => void): void;
    pause(): void;
    resume(): void;
    /** Reuses the same socket: unreliable, never used here (a fresh Session per attempt). */
    connect(): void;

    bind_transceiver: Shortcut;
    bind_transceiver_resp: Shortcut;
    bind_transmitter: Shortcut;
    bind_transmitter_resp: Shortcut;
    bind_receiver: Shortcut;
    bind_receiver_resp: Shortcut;
    submit_sm: Shortcut;
    submit_sm_resp: Shortcut;
    deliver_sm: Shortcut;
    deliver_sm_resp: Shortcut;
    enquire_link: Shortcut;
    enquire_link_resp: Shortcut;
    unbind: Shortcut;
    unbind_resp: Shortcut;
    generic_nack: Shortcut;

    on(event: "connect" | "secureConnect" | "close", listener: () => void): this;
    on(event: "error", listener: (error: Error) => void): this;
    on(event: "pdu" | "send" | "unknown" | string, listener: (pdu: PDU) => void): this;
  }

  export interface ServerOptions extends net.ServerOpts {
    key?: string | Buffer;
    cert?: string | Buffer;
    [option: string]: unknown;
  }

  export class Server extends net.Server {
    sessions: Session[];
    on(event: "session", listener: (session: Session) => void): this;
    on(event: string, listener: (...args: unknown[]) => void): this;
  }

  export function connect(options: ConnectOptions, listener?: () => void): Session;
  export function createServer(options: ServerOptions, listener?: (session: Session) => void): Server;
  export function createServer(listener?: (session: Session) => void): Server;

  /** Command status names to numbers, e.g. `errors.ESME_RTHROTTLED === 0x58`. */
  export const errors: Record<string, number>;
  export const consts: {
    ESM_CLASS: Record<string, number>;
    REGISTERED_DELIVERY: Record<string, number>;
    MESSAGE_STATE: Record<string, number>;
    TON: Record<string, number>;
    NPI: Record<string, number>;
    ENCODING: Record<string, number>;
    [group: string]: Record<string, number>;
  };
  /** Module-global encoder table: never modify it (it would change every other flow). */
  export const encodings: Record<string, unknown> & { default: string };
  /** A field type of the package's tables: how it reads, writes and sizes a value. */
  export interface FieldType {
    read(buffer: Buffer, offset: number, length?: number): unknown;
    size(value: unknown): number;
  }
  /** The package's field types; each PDU field and TLV names one of them (by identity). */
  export const types: Record<"int8" | "int16" | "int32" | "string" | "cstring" | "buffer" | "dest_address_array" | "unsuccess_sme_array", FieldType> & {
    tlv: Record<"int8" | "int16" | "int32" | "string" | "cstring" | "buffer", FieldType>;
  };
  /** Each command's mandatory fields in wire order (`params`; the sm_length octet is part of the `buffer` type). */
  export const commands: Record<string, { id: number; command: string; params?: Record<string, { type: FieldType }> }>;
  export const commandsById: Record<number, { id: number; command: string; params?: Record<string, { type: FieldType }> }>;
  /** Optional parameters by tag. */
  export const tlvsById: Record<number, { id: number; tag: string; type: FieldType; multiple?: boolean }>;
}
