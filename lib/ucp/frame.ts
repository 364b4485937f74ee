/**
 * The UCP/EMI frame (aggregator-protocols.md §2.1):
 *
 *   <STX>TRN/LEN/O|R/OT/<fields, each followed by '/'>CK<ETX>
 *
 * TRN two digits, LEN five digits counting every character between STX and ETX, CK the sum
 * of the bytes from TRN up to the last '/' mod 256 as two upper-case hex digits. Which
 * fields an operation or result has is data (`operations.ts`); this file knows only the
 * envelope. Decoding is strict: anything that is not exactly a frame is refused with a
 * reason, and the session ends the connection on it (a stream that once went out of step
 * cannot be trusted to find its way back).
 */
import { fieldNames, type OperationType } from "./operations";

export const STX = 0x02;
export const ETX = 0x03;

/** Header `TRN/LEN/O/OT/` is 14 characters; checksum 2. So LEN = 16 + the fields' text. */
const ENVELOPE_CHARS = 16;
/** LEN has five digits. */
export const MAX_FRAME_CHARS = 99_999;

export type Direction = "O" | "R";

export interface Frame {
  trn: number;
  direction: Direction;
  ot: number;
  /** Field values in table order; "" for an empty field. */
  fields: string[];
}

export type FrameDecode = { ok: true; frame: Frame } | { ok: false; reason: string };

/** Sum of the bytes mod 256 as two upper-case hex digits (§2.1 "CK"). */
export function checksum(text: string): string {
  let sum = 0;
  for (let i = 0; i < text.length; i++) sum = (sum + text.charCodeAt(i)) & 0xff;
  return sum.toString(16).toUpperCase().padStart(2, "0");
}

const two = (n: number) => String(n).padStart(2, "0");

/** A field value may not contain the separator, STX or ETX, and must be printable IRA. */
const FIELD_TEXT = /^[\x20-\x2e\x30-\x7e]*$/;

/** The frame's text between STX and ETX. Throws on a value that cannot be sent. */
export function frameBody(frame: Frame): string {
  if (!Number.isInteger(frame.trn) || frame.trn < 0 || frame.trn > 99) throw new RangeError(`TRN ${frame.trn} is outside 00..99`);
  if (!Number.isInteger(frame.ot) || frame.ot < 0 || frame.ot > 99) throw new RangeError(`OT ${frame.ot} is outside 00..99`);
  for (const value of frame.fields) {
    if (!FIELD_TEXT.test(value)) throw new RangeError(`field value ${JSON.stringify(value.slice(0, 20))} has a character a frame cannot carry`);
  }
  const data = frame.fields.map((f) => `${f}/`).join("");
  const length = data.length + ENVELOPE_CHARS;
  if (length > MAX_FRAME_CHARS) throw new RangeError(`frame of ${length} characters exceeds ${MAX_FRAME_CHARS}`);
  const head = `${two(frame.trn)}/${String(length).padStart(5, "0")}/${frame.direction}/${two(frame.ot)}/${data}`;
  return head + checksum(head);
}

/** The frame as bytes on the wire, STX and ETX included. */
export function encodeFrame(frame: Frame): Buffer {
  return Buffer.from(`\x02${frameBody(frame)}\x03`, "latin1");
}

const HEADER = /^(\d{2})\/(\d{5})\/([OR])\/(\d{2})\//;

/**
 * Decodes the text between STX and ETX. The field count must match the operation's table
 * (`operations.ts`) for known OTs; an unknown OT decodes with whatever fields it has, so
 * the session can answer it "operation not supported" instead of dropping the connection.
 */
export function decodeFrameBody(body: string): FrameDecode {
  const header = HEADER.exec(body);
  if (!header) return { ok: false, reason: `header is not TRN/LEN/O|R/OT/: ${preview(body)}` };
  const [, trnText, lenText, direction, otText] = header;
  if (Number(lenText) !== body.length) {
    return { ok: false, reason: `LEN ${lenText} does not match the ${body.length} characters between STX and ETX` };
  }
  const lastSlash = body.lastIndexOf("/");
  const ck = body.slice(lastSlash + 1);
  if (!/^[0-9A-Fa-f]{2}$/.test(ck)) return { ok: false, reason: `checksum ${JSON.stringify(ck)} is not two hex digits` };
  const expected = checksum(body.slice(0, lastSlash + 1));
  if (ck.toUpperCase() !== expected) return { ok: false, reason: `checksum ${ck} is wrong (computed ${expected})` };
  const data = body.slice(header[0].length, lastSlash + 1);
  for (let i = 0; i < data.length; i++) {
    const code = data.charCodeAt(i);
    if (code < 0x20 || code > 0x7e) return { ok: false, reason: `control or non-IRA character 0x${code.toString(16)} in the fields` };
  }
  const fields = data === "" ? [] : data.slice(0, -1).split("/");
  const ot = Number(otText);
  const frame: Frame = { trn: Number(trnText), direction: direction as Direction, ot, fields };
  const names = fieldNames(frame);
  if (names && fields.length !== names.length) {
    const what = direction === "O" ? `operation ${otText}` : `${fields[0] === "N" ? "negative" : "positive"} result ${otText}`;
    return { ok: false, reason: `${what} has ${fields.length} fields, expected ${names.length}` };
  }
  if (direction === "R") {
    if (fields[0] !== "A" && fields[0] !== "N") return { ok: false, reason: `result ${otText} is neither A nor N: ${preview(fields[0] ?? "")}` };
    if (fields[0] === "N" && !/^\d{2}$/.test(fields[1] ?? "")) {
      return { ok: false, reason: `negative result ${otText} has no two-digit error code` };
    }
  }
  return { ok: true, frame };
}

function preview(text: string): string {
  return JSON.stringify(text.length > 40 ? `${text.slice(0, 40)}…` : text);
}

/** True when the OT has a field table, i.e. this package can read and answer it. */
export function isKnownOperation(ot: number): ot is OperationType {
  return fieldNames({ direction: "O", ot, fields: [] }) !== undefined;
}

/**
 * Cuts a TCP byte stream into frames. Bytes outside STX…ETX, a second STX before ETX, and
 * a frame longer than LEN can ever be are errors: the caller ends the connection.
 */
export class FrameReader {
  private buffer = "";
  private inFrame = false;

  constructor(private readonly maxChars = MAX_FRAME_CHARS + 2) {}

  /** Feeds bytes; returns each complete frame's decode, or throws FrameError. */
  push(chunk: Buffer): FrameDecode[] {
    const out: FrameDecode[] = [];
    const text = chunk.toString("latin1");
    let start = 0;
    for (let i = 0; i < text.length; i++) {
      const code = text.charCodeAt(i);
      if (!this.inFrame) {
        if (code !== STX) throw new FrameError(`byte 0x${code.toString(16).padStart(2, "0")} outside a frame (expected STX)`);
        this.inFrame = true;
        this.buffer = "";
        start = i + 1;
      } else if (code === STX) {
        throw new FrameError("STX inside a frame");
      } else if (code === ETX) {
        const body = this.buffer + text.slice(start, i);
        this.buffer = "";
        this.inFrame = false;
        out.push(decodeFrameBody(body));
      }
    }
    if (this.inFrame) {
      this.buffer += text.slice(start);
      if (this.buffer.length > this.maxChars) throw new FrameError(`frame longer than ${this.maxChars} characters without ETX`);
    }
    return out;
  }
}

export class FrameError extends Error {
  override name = "FrameError";
}
