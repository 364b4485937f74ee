/**
 * CIMD2 packets on the wire (aggregator-protocols.md §3.1-3.2):
 * `<STX>OO:NNN<TAB>PPP:value<TAB>…[CC]<ETX>`, the checksum CC optional and, unlike UCP's,
 * summed over every byte from STX through the last TAB. Bytes between packets are noise
 * and ignored. Packet numbers are odd (001…255, then 001) from the client and even
 * (000…254, then 000) from the SMSC.
 *
 * Values travel as single bytes (Latin-1): the `033` text form is 7-bit with `_xy` escapes
 * (text.ts) and everything else is ASCII, so a byte and a UTF-16 code unit below 256 are
 * the same thing here.
 */
import { checkParameterValue, parameterLabel, printable } from "./parameters";

export const STX = 0x02;
export const ETX = 0x03;
export const TAB = 0x09;

export interface Parameter {
  code: number;
  value: string;
}

export interface Packet {
  op: number;
  /** Packet number 0-255. */
  number: number;
  params: Parameter[];
}

export interface DecodedPacket extends Packet {
  /** Whether the packet carried a checksum (it was correct, or decoding would have failed). */
  checksummed: boolean;
}

export type DecodeResult =
  | { ok: true; packet: DecodedPacket }
  | { ok: false; reason: string; op?: number; number?: number };

/** The first value of a parameter, or undefined. */
export function param(packet: Packet, code: number): string | undefined {
  return packet.params.find((p) => p.code === code)?.value;
}

/** Every value of a parameter, in order (`021` may repeat). */
export function params(packet: Packet, code: number): string[] {
  return packet.params.filter((p) => p.code === code).map((p) => p.value);
}

function checksumOf(bytes: Buffer, end: number): number {
  let sum = 0;
  for (let i = 0; i < end; i++) sum = (sum + bytes[i]) & 0xff;
  return sum;
}

export function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, "0");
}

function forbiddenByte(value: string): number | undefined {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === STX || c === ETX || c === TAB || c > 0xff) return c;
  }
  return undefined;
}

/**
 * Encodes a packet; throws a RangeError saying which field is wrong, so an invalid packet
 * never reaches the wire (Kannel truncates over-long values instead; we refuse).
 */
export function encodePacket(packet: Packet, options: { checksum?: boolean } = {}): Buffer {
  if (!Number.isInteger(packet.op) || packet.op < 0 || packet.op > 99) throw new RangeError(`operation code ${packet.op} is outside 00..99`);
  if (!Number.isInteger(packet.number) || packet.number < 0 || packet.number > 255) throw new RangeError(`packet number ${packet.number} is outside 000..255`);
  let text = `\x02${String(packet.op).padStart(2, "0")}:${String(packet.number).padStart(3, "0")}\t`;
  for (const { code, value } of packet.params) {
    if (!Number.isInteger(code) || code < 0 || code > 999) throw new RangeError(`parameter code ${code} is outside 000..999`);
    const bad = forbiddenByte(value);
    if (bad !== undefined) throw new RangeError(`${parameterLabel(code)} contains the byte 0x${bad.toString(16)}, which cannot travel in a CIMD2 value`);
    const invalid = checkParameterValue(code, value);
    if (invalid) throw new RangeError(invalid);
    text += `${String(code).padStart(3, "0")}:${value}\t`;
  }
  const body = Buffer.from(text, "latin1");
  if (options.checksum === false) return Buffer.concat([body, Buffer.from([ETX])]);
  return Buffer.concat([body, Buffer.from(hex2(checksumOf(body, body.length)) + "\x03", "latin1")]);
}

// The STX is checked before the pattern runs, so the pattern starts after it.
const HEADER = /^(\d{2}):(\d{3})\t/;
const PARAMETER = /^(\d{3}):/;

/** Decodes one frame, STX through ETX inclusive. Every refusal says why. */
export function decodePacket(frame: Buffer): DecodeResult {
  if (frame.length < 2 || frame[0] !== STX || frame[frame.length - 1] !== ETX) {
    return { ok: false, reason: "a packet must start with STX and end with ETX" };
  }
  const text = frame.toString("latin1");
  const header = HEADER.exec(text.slice(1));
  if (!header) return { ok: false, reason: `header "${printable(text.slice(1, 8))}" is not OO:NNN followed by TAB` };
  const op = Number(header[1]);
  const number = Number(header[2]);
  if (number > 255) return { ok: false, reason: `packet number ${header[2]} is outside 000..255`, op };
  const where = { op, number };
  if (text.indexOf("\x00") >= 0) return { ok: false, reason: "packet contains a NUL byte", ...where };
  if (text.indexOf("\x02", 1) >= 0) return { ok: false, reason: "packet contains a second STX", ...where };
  const lastTab = text.lastIndexOf("\t");
  const trailer = text.slice(lastTab + 1, -1);
  let checksummed = false;
  if (trailer.length === 2 && /^[0-9A-Fa-f]{2}$/.test(trailer)) {
    const expected = checksumOf(frame, lastTab + 1);
    if (parseInt(trailer, 16) !== expected) {
      return { ok: false, reason: `checksum ${trailer.toUpperCase()} does not match the packet (sum is ${hex2(expected)})`, ...where };
    }
    checksummed = true;
  } else if (trailer.length !== 0) {
    return { ok: false, reason: `"${printable(trailer)}" between the last TAB and ETX is not a two-digit hex checksum`, ...where };
  }
  const params: Parameter[] = [];
  const fields = text.slice(1 + header[0].length, lastTab + 1);
  let at = 0;
  while (at < fields.length) {
    const end = fields.indexOf("\t", at);
    const field = fields.slice(at, end);
    const head = PARAMETER.exec(field);
    if (!head) return { ok: false, reason: `parameter "${printable(field)}" is not PPP:value`, ...where };
    const code = Number(head[1]);
    const value = field.slice(4);
    const invalid = checkParameterValue(code, value);
    if (invalid) return { ok: false, reason: invalid, ...where };
    params.push({ code, value });
    at = end + 1;
  }
  return { ok: true, packet: { op, number, params, checksummed } };
}

/** What a PacketReader found in the stream. */
export type ReadEvent =
  | { kind: "packet"; packet: DecodedPacket }
  | { kind: "invalid"; reason: string; op?: number; number?: number }
  | { kind: "noise"; bytes: number };

/**
 * Bounds a frame: the largest legitimate packet (a submit with `021`, `033` of 480, `032`
 * of 280 and every other parameter) is well under 2 KiB.
 */
export const MAX_PACKET_BYTES = 4096;

/**
 * Cuts a byte stream into packets. Bytes outside STX…ETX are reported as noise and dropped
 * (CIMD2 §3.1, Kannel's `packet_extract`). A second STX before the ETX ends the first
 * frame as invalid ("packet without end marker") and starts a new one there; a frame that
 * grows past MAX_PACKET_BYTES without ETX is invalid and dropped.
 */
export class PacketReader {
  private buffer: Buffer = Buffer.alloc(0);

  constructor(private readonly maxPacketBytes = MAX_PACKET_BYTES) {}

  /** Bytes held while waiting for the rest of a packet. */
  get pending(): number {
    return this.buffer.length;
  }

  push(chunk: Buffer): ReadEvent[] {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const events: ReadEvent[] = [];
    for (;;) {
      const stx = this.buffer.indexOf(STX);
      if (stx < 0) {
        if (this.buffer.length > 0) events.push({ kind: "noise", bytes: this.buffer.length });
        this.buffer = Buffer.alloc(0);
        return events;
      }
      if (stx > 0) {
        events.push({ kind: "noise", bytes: stx });
        this.buffer = this.buffer.subarray(stx);
      }
      const etx = this.buffer.indexOf(ETX, 1);
      const nextStx = this.buffer.indexOf(STX, 1);
      if (nextStx > 0 && (etx < 0 || nextStx < etx)) {
        events.push({ kind: "invalid", reason: "packet without end marker (a new STX came before ETX)", ...headerOf(this.buffer) });
        this.buffer = this.buffer.subarray(nextStx);
        continue;
      }
      if (etx < 0) {
        if (this.buffer.length > this.maxPacketBytes) {
          events.push({ kind: "invalid", reason: `no ETX within ${this.maxPacketBytes} bytes of STX`, ...headerOf(this.buffer) });
          this.buffer = Buffer.alloc(0);
        }
        return events;
      }
      const frame = this.buffer.subarray(0, etx + 1);
      this.buffer = this.buffer.subarray(etx + 1);
      if (frame.length > this.maxPacketBytes) {
        events.push({ kind: "invalid", reason: `packet of ${frame.length} bytes is longer than ${this.maxPacketBytes}`, ...headerOf(frame) });
        continue;
      }
      const decoded = decodePacket(frame);
      events.push(decoded.ok ? { kind: "packet", packet: decoded.packet } : { kind: "invalid", reason: decoded.reason, op: decoded.op, number: decoded.number });
    }
  }
}

/** Operation and packet number of a broken frame, where its header can be read. */
function headerOf(frame: Buffer): { op?: number; number?: number } {
  const header = HEADER.exec(frame.subarray(1, 8).toString("latin1"));
  if (!header) return {};
  const number = Number(header[2]);
  return number <= 255 ? { op: Number(header[1]), number } : { op: Number(header[1]) };
}

export type Side = "client" | "smsc";

/**
 * Packet numbers for requests one side sends: the client's odd 1, 3, …, 255, 1, …; the
 * SMSC's even 0, 2, …, 254, 0, … (§3.2). `reset()` starts again, as a new login does (Kannel
 * always sends LOGIN as 001).
 */
export class PacketNumbers {
  private next: number;

  constructor(private readonly side: Side) {
    this.next = this.first;
  }

  private get first(): number {
    return this.side === "client" ? 1 : 0;
  }

  take(): number {
    const number = this.next;
    this.next = number + 2 > 255 ? this.first : number + 2;
    return number;
  }

  /**
   * The next number no request still awaiting its response holds (`inUse`), since a response
   * is matched by its number alone; undefined when all 128 are in use. Whoever keeps at most
   * 127 in flight is always given one other than the number it took last, which the peer
   * would read as a retransmission (§3.2).
   */
  takeFree(inUse: (number: number) => boolean): number | undefined {
    for (let i = 0; i < 128; i++) {
      const number = this.take();
      if (!inUse(number)) return number;
    }
    return undefined;
  }

  reset(): void {
    this.next = this.first;
  }
}

/** Which side may use a request number: odd from the client, even from the SMSC. */
export function numberSide(number: number): Side {
  return number % 2 === 1 ? "client" : "smsc";
}
