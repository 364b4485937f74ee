/**
 * A small SMSC written for tests with raw socket writes, independent of the `smpp` package:
 * it binds any ESME, answers enquire_link, unbind and submit_sm, and lets a test write any
 * bytes at all (PDUs cut short, lengths that lie, responses nobody asked for) and see what
 * the ESME answers. Used at the session level (test/unit/smpp/hostile-smsc.test.ts) and,
 * for the same cases, at the Node-RED level. Listens on 127.0.0.1, port 0.
 */
import net from "node:net";
import { waitFor } from "./wait";

/** SMPP 3.4 command ids (§5.1.2.1). */
export const COMMAND_IDS: Readonly<Record<string, number>> = {
  generic_nack: 0x80000000,
  bind_receiver: 0x00000001,
  bind_transmitter: 0x00000002,
  submit_sm: 0x00000004,
  submit_sm_resp: 0x80000004,
  deliver_sm: 0x00000005,
  deliver_sm_resp: 0x80000005,
  unbind: 0x00000006,
  unbind_resp: 0x80000006,
  bind_transceiver: 0x00000009,
  enquire_link: 0x00000015,
  enquire_link_resp: 0x80000015,
  data_sm: 0x00000103,
  data_sm_resp: 0x80000103,
};
const NAMES = new Map(Object.entries(COMMAND_IDS).map(([name, id]) => [id, name]));

/** A PDU as the ESME sent it. */
export interface ReceivedPdu {
  command: string;
  commandId: number;
  status: number;
  sequence: number;
  body: Buffer;
}

/** One PDU: header and body; `commandLength` lies about the length when given. */
export function pduBytes(commandId: number, sequence: number, body: Buffer = Buffer.alloc(0), status = 0, commandLength?: number): Buffer {
  const header = Buffer.alloc(16);
  header.writeUInt32BE(commandLength ?? 16 + body.length, 0);
  header.writeUInt32BE(commandId >>> 0, 4);
  header.writeUInt32BE(status >>> 0, 8);
  header.writeUInt32BE(sequence >>> 0, 12);
  return Buffer.concat([header, body]);
}

export interface Tlv {
  tag: number;
  value: Buffer;
  /** A length that lies, when given. */
  length?: number;
}

/** deliver_sm's mandatory fields (SMPP 3.4 §4.6.1), each settable; sm_length may lie. */
export interface DeliverSmFields {
  service_type?: string;
  source_addr_ton?: number;
  source_addr_npi?: number;
  source_addr?: string;
  dest_addr_ton?: number;
  dest_addr_npi?: number;
  destination_addr?: string;
  esm_class?: number;
  protocol_id?: number;
  priority_flag?: number;
  schedule_delivery_time?: string;
  validity_period?: string;
  registered_delivery?: number;
  replace_if_present_flag?: number;
  data_coding?: number;
  sm_default_msg_id?: number;
  sm_length?: number;
  short_message?: Buffer;
  tlvs?: Tlv[];
}

/** A deliver_sm body, and the offset where each field ends (for cutting it at every boundary). */
export function deliverSmBody(f: DeliverSmFields = {}): { body: Buffer; ends: Array<{ field: string; end: number }> } {
  const parts: Buffer[] = [];
  const ends: Array<{ field: string; end: number }> = [];
  let at = 0;
  const put = (field: string, bytes: Buffer) => {
    parts.push(bytes);
    at += bytes.length;
    ends.push({ field, end: at });
  };
  const cstring = (field: string, value: string) => put(field, Buffer.concat([Buffer.from(value, "latin1"), Buffer.from([0])]));
  const int8 = (field: string, value: number) => put(field, Buffer.from([value]));
  const message = f.short_message ?? Buffer.from("hello", "latin1");
  cstring("service_type", f.service_type ?? "");
  int8("source_addr_ton", f.source_addr_ton ?? 1);
  int8("source_addr_npi", f.source_addr_npi ?? 1);
  cstring("source_addr", f.source_addr ?? "250788123123");
  int8("dest_addr_ton", f.dest_addr_ton ?? 0);
  int8("dest_addr_npi", f.dest_addr_npi ?? 0);
  cstring("destination_addr", f.destination_addr ?? "2020");
  int8("esm_class", f.esm_class ?? 0);
  int8("protocol_id", f.protocol_id ?? 0);
  int8("priority_flag", f.priority_flag ?? 0);
  cstring("schedule_delivery_time", f.schedule_delivery_time ?? "");
  cstring("validity_period", f.validity_period ?? "");
  int8("registered_delivery", f.registered_delivery ?? 0);
  int8("replace_if_present_flag", f.replace_if_present_flag ?? 0);
  int8("data_coding", f.data_coding ?? 0);
  int8("sm_default_msg_id", f.sm_default_msg_id ?? 0);
  int8("sm_length", f.sm_length ?? message.length);
  put("short_message", message);
  for (const tlv of f.tlvs ?? []) {
    const head = Buffer.alloc(4);
    head.writeUInt16BE(tlv.tag, 0);
    head.writeUInt16BE(tlv.length ?? tlv.value.length, 2);
    put(`TLV 0x${tlv.tag.toString(16)}`, Buffer.concat([head, tlv.value]));
  }
  return { body: Buffer.concat(parts), ends };
}

export interface HostileSmsc {
  readonly port: number;
  /** Every PDU the ESME sent, in order, over every connection. */
  readonly received: ReceivedPdu[];
  /** Binds answered, and connections the ESME closed or lost. */
  readonly counters: { binds: number; connections: number; closed: number };
  /** Writes raw bytes to the bound connection (the latest one). */
  send(bytes: Buffer): void;
  /** Sends a deliver_sm with these fields and this sequence number. */
  sendDeliverSm(sequence: number, fields?: DeliverSmFields): void;
  /** The ESME's response to our request with this sequence number (any response command). */
  responseTo(sequence: number, timeoutMs?: number): Promise<ReceivedPdu>;
  /** When false, submit_sm is not answered (the test answers, or sends strays). */
  answerSubmits: boolean;
  /** Destroys the bound connection at once, whatever it was sending (a peer that vanishes). */
  drop(): void;
  close(): Promise<void>;
}

export async function startHostileSmsc(): Promise<HostileSmsc> {
  const sockets = new Set<net.Socket>();
  let bound: net.Socket | undefined;
  let messageIds = 0;
  const received: ReceivedPdu[] = [];
  const counters = { binds: 0, connections: 0, closed: 0 };
  const smsc = { answerSubmits: true } as HostileSmsc;

  function onPdu(socket: net.Socket, frame: Buffer): void {
    const commandId = frame.readUInt32BE(4);
    const pdu: ReceivedPdu = {
      command: NAMES.get(commandId) ?? `0x${commandId.toString(16)}`,
      commandId,
      status: frame.readUInt32BE(8),
      sequence: frame.readUInt32BE(12),
      body: frame.subarray(16),
    };
    received.push(pdu);
    const reply = (body: Buffer = Buffer.alloc(0)) => socket.write(pduBytes((commandId | 0x80000000) >>> 0, pdu.sequence, body));
    switch (pdu.command) {
      case "bind_transceiver":
      case "bind_transmitter":
      case "bind_receiver":
        counters.binds += 1;
        bound = socket;
        reply(Buffer.from("hostile\0", "latin1"));
        return;
      case "enquire_link":
        reply();
        return;
      case "unbind":
        reply();
        socket.end();
        return;
      case "submit_sm":
        if (smsc.answerSubmits) reply(Buffer.from(`id${++messageIds}\0`, "latin1"));
        return;
    }
  }

  const server = net.createServer((socket) => {
    counters.connections += 1;
    sockets.add(socket);
    let held = Buffer.alloc(0);
    socket.on("data", (chunk: Buffer) => {
      held = Buffer.concat([held, chunk]);
      while (held.length >= 16 && held.length >= held.readUInt32BE(0)) {
        const length = held.readUInt32BE(0);
        if (length < 16) {
          socket.destroy(); // the ESME sent garbage: a test failure shows as a lost bind
          return;
        }
        onPdu(socket, held.subarray(0, length));
        held = held.subarray(length);
      }
    });
    socket.on("error", () => undefined);
    socket.on("close", () => {
      counters.closed += 1;
      sockets.delete(socket);
      if (bound === socket) bound = undefined;
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;

  return Object.assign(smsc, {
    port,
    received,
    counters,
    send(bytes: Buffer) {
      if (!bound) throw new Error("no ESME is bound");
      bound.write(bytes);
    },
    sendDeliverSm(sequence: number, fields: DeliverSmFields = {}) {
      smsc.send(pduBytes(COMMAND_IDS.deliver_sm, sequence, deliverSmBody(fields).body));
    },
    drop() {
      if (!bound) throw new Error("no ESME is bound");
      bound.destroy();
    },
    async responseTo(sequence: number, timeoutMs = 3_000) {
      const find = () => received.find((p) => (p.commandId & 0x80000000) !== 0 && p.sequence === sequence);
      await waitFor(() => find() !== undefined, `the ESME's response to sequence ${sequence}`, timeoutMs);
      return find() as ReceivedPdu;
    },
    async close() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  });
}
