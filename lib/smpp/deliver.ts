/**
 * Reading a deliver_sm: a delivery receipt or a mobile-originated message (MO), maybe one
 * part of a concatenated one. The session hands on short_message and message_payload as raw
 * octets (frame.ts); a PDU object as the `smpp` package decodes it, whose short_message is
 * already decoded by `data_coding & 0x0F` (wrong for the 0xF0 group, its issue #66), is read
 * too: the octets are rebuilt from that and decoded again by our own table.
 */
import { encodings as packageEncodings } from "smpp";
import type { MO } from "../contract";
import { ALPHABETS, type Alphabet } from "../sms/alphabet";
import { describeDataCoding, type DataCodingOptions } from "../sms/dcs";
import { GSM7_ESCAPE, gsm7CharOctets } from "../sms/gsm7";
import type { Reassembler } from "../sms/reassembly";
import { checkConcat, findConcat, splitUdh, type ConcatInfo } from "../sms/udh";
import { addressFromPdu } from "./address";
import { readReceipt, type Receipt } from "./receipt";
import { ESME_RINVDCS, ESME_RINVOPTPARAMVAL } from "./command-status";
import { checkMessageOctets } from "./frame";

/** esm_class bits 2-5 give the message type; 0x04 is an SMSC delivery receipt. */
const ESM_TYPE_MASK = 0x3c;
const ESM_TYPE_RECEIPT = 0x04;
const ESM_UDHI = 0x40;

/** The deliver_sm fields we read, as the `smpp` package names them. Anything may be malformed. */
export interface DeliverSmFields {
  source_addr_ton?: unknown;
  source_addr?: unknown;
  dest_addr_ton?: unknown;
  destination_addr?: unknown;
  esm_class?: unknown;
  data_coding?: unknown;
  short_message?: unknown;
  message_payload?: unknown;
  receipted_message_id?: unknown;
  message_state?: unknown;
  network_error_code?: unknown;
  sar_msg_ref_num?: unknown;
  sar_total_segments?: unknown;
  sar_segment_seqnum?: unknown;
  /** Any other field of the PDU (so the `smpp` package's PDU object fits as it is). */
  [field: string]: unknown;
}

export type DeliverContent<C> =
  | { kind: "receipt"; receipt: Receipt }
  | { kind: "mo"; mo: MO; parts: number; contexts: C[] }
  /** One part of a concatenated MO, held by the reassembler until the rest arrive. */
  | { kind: "pending"; received: number; total: number }
  /** A part that arrived again; it was already held. */
  | { kind: "duplicate" }
  /**
   * Cannot be used. `commandStatus` suggests the deliver_sm_resp status (0x0001
   * ESME_RINVMSGLEN, 0x00C4 ESME_RINVOPTPARAMVAL, 0x0104 ESME_RINVDCS) where one fits the
   * fault, else nothing.
   */
  | { kind: "invalid"; reason: string; commandStatus?: number };

export interface DeliverOptions<C> extends DataCodingOptions {
  /** Given, concatenated parts go through it; without it each part is its own MO. */
  reassembler?: Reassembler<C>;
  /** Handed back with the finished MO, e.g. the PDU to acknowledge. */
  context?: C;
  now?: () => number;
}


function octet(value: unknown, fallback: number): number | undefined {
  if (value === undefined || value === null) return fallback;
  return typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= 0xff ? value : undefined;
}

/**
 * Undoes the `smpp` package's text decoding. It picks the encoding from the low nibble of
 * data_coding: 1 "ASCII" (its GSM 03.38), 3 "LATIN1", 8 "UCS2", and for 0 whatever its
 * module-global `encodings.default` says at that moment (another flow's node may have set
 * it, reference §1.4); any other value stays a Buffer.
 */
const PACKAGE_ENCODING_BY_NIBBLE: ReadonlyMap<number, () => string> = new Map([
  [0x00, () => packageEncodings.default],
  [0x01, () => "ASCII"],
  [0x03, () => "LATIN1"],
  [0x08, () => "UCS2"],
]);

const UNDO_PACKAGE_ENCODING: ReadonlyMap<string, (text: string) => Buffer> = new Map([
  ["ASCII", gsmOctetsOf],
  ["LATIN1", (text: string) => Buffer.from(text, "latin1")],
  ["UCS2", (text: string) => Buffer.from(text, "utf16le").swap16()],
]);

function gsmOctetsOf(text: string): Buffer {
  const octets: number[] = [];
  // The package leaves an escape it could not resolve in the text as U+001B.
  for (const ch of text) octets.push(...(ch === "\u001b" ? [GSM7_ESCAPE] : gsm7CharOctets(ch) ?? [0x3f]));
  return Buffer.from(octets);
}

type Octets = { ok: true; octets: Buffer } | { ok: false; reason: string };

/** The raw octets of short_message or message_payload, UDH included. */
function rawOctets(value: unknown, dataCoding: number): Octets {
  if (value === undefined || value === null) return { ok: true, octets: Buffer.alloc(0) };
  if (Buffer.isBuffer(value)) return { ok: true, octets: value };
  const shaped = typeof value === "string" ? { message: value } : value;
  if (typeof shaped !== "object") return { ok: false, reason: "short message is neither octets nor text" };
  const { udh, message } = shaped as { udh?: unknown; message?: unknown };
  let header = Buffer.alloc(0);
  if (Array.isArray(udh) && udh.length > 0) {
    if (!udh.every((ie) => Buffer.isBuffer(ie))) return { ok: false, reason: "UDH elements are not octets" };
    const elements = Buffer.concat(udh as Buffer[]);
    if (elements.length > 0xff) return { ok: false, reason: "UDH longer than 255 octets" };
    if ((udh as Buffer[]).some((ie) => ie[0] === 0x24 || ie[0] === 0x25)) {
      return { ok: false, reason: "national language shift tables (UDH IEI 0x24/0x25) are not supported" };
    }
    header = Buffer.concat([Buffer.from([elements.length]), elements]);
  }
  if (Buffer.isBuffer(message)) return { ok: true, octets: Buffer.concat([header, message]) };
  if (typeof message !== "string") return { ok: false, reason: "short message text is missing" };
  const encoding = PACKAGE_ENCODING_BY_NIBBLE.get(dataCoding & 0x0f)?.();
  const undo = encoding === undefined ? undefined : UNDO_PACKAGE_ENCODING.get(encoding);
  if (!undo) return { ok: false, reason: `cannot recover the octets of data_coding 0x${dataCoding.toString(16)}` };
  return { ok: true, octets: Buffer.concat([header, undo(message)]) };
}

function sarConcat(fields: DeliverSmFields): ConcatInfo | undefined {
  const { sar_msg_ref_num: reference, sar_total_segments: total, sar_segment_seqnum: seq } = fields;
  if (reference === undefined && total === undefined && seq === undefined) return undefined;
  return { reference: Number(reference), referenceBits: 16, total: Number(total), seq: Number(seq) };
}

/** Decides what a deliver_sm carries and reads it. Never throws. */
export function readDeliverSm<C = undefined>(fields: DeliverSmFields, options: DeliverOptions<C> = {}): DeliverContent<C> {
  try {
    return read(fields, options);
  } catch (err) {
    return { kind: "invalid", reason: `unreadable deliver_sm: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function read<C>(fields: DeliverSmFields, options: DeliverOptions<C>): DeliverContent<C> {
  const esmClass = octet(fields.esm_class, 0);
  if (esmClass === undefined) return { kind: "invalid", reason: `esm_class ${String(fields.esm_class)} is not an octet` };
  const dataCoding = octet(fields.data_coding, 0);
  if (dataCoding === undefined) return { kind: "invalid", reason: `data_coding ${String(fields.data_coding)} is not an octet` };

  const short = rawOctets(fields.short_message, dataCoding);
  if (!short.ok) return { kind: "invalid", reason: short.reason };
  // The text is in message_payload when short_message is empty (sm_length 0).
  const body = short.octets.length > 0 ? short : rawOctets(fields.message_payload, dataCoding);
  if (!body.ok) return { kind: "invalid", reason: body.reason };

  const coding = describeDataCoding(dataCoding, options);
  if ((esmClass & ESM_TYPE_MASK) === ESM_TYPE_RECEIPT) {
    // Receipt text is ASCII in practice; octets in a non-text coding are still read as Latin-1.
    const text = ALPHABETS[coding.alphabet ?? "latin1"].decode(body.octets);
    const result = readReceipt({ ...fields, text });
    return result.ok ? { kind: "receipt", receipt: result.receipt } : { kind: "invalid", reason: result.reason };
  }
  if ((esmClass & ESM_TYPE_MASK) !== 0) {
    return { kind: "invalid", reason: `esm_class 0x${esmClass.toString(16)} is neither a message nor an SMSC delivery receipt` };
  }
  if (!coding.alphabet) return { kind: "invalid", reason: `data_coding 0x${dataCoding.toString(16)}: ${coding.notText}`, commandStatus: ESME_RINVDCS };
  const checked = checkMessageOctets(body.octets, esmClass, coding.alphabet);
  if (!checked.ok) return { kind: "invalid", reason: checked.reason, commandStatus: checked.status };
  return readMo(fields, options, body.octets, (esmClass & ESM_UDHI) !== 0, coding.alphabet);
}

function readMo<C>(fields: DeliverSmFields, options: DeliverOptions<C>, octets: Buffer, udhi: boolean, alphabet: Alphabet): DeliverContent<C> {
  let text = octets;
  let concat: ConcatInfo | undefined;
  const sar = sarConcat(fields);
  if (udhi) {
    // "SAR combined with UDHI is rejected with ESME_RINVTLVVAL" (Kannel).
    if (sar) return { kind: "invalid", reason: "SAR TLVs combined with a UDHI short message", commandStatus: ESME_RINVOPTPARAMVAL };
    const split = splitUdh(octets);
    if (!split.ok) return { kind: "invalid", reason: split.reason };
    const found = findConcat(split.elements);
    if (!found.ok) return { kind: "invalid", reason: found.reason };
    text = split.body;
    concat = found.concat;
  } else if (sar) {
    const checked = checkConcat(sar);
    if (!checked.ok) return { kind: "invalid", reason: `SAR: ${checked.reason}`, commandStatus: ESME_RINVOPTPARAMVAL };
    concat = sar;
  }

  const from = addressFromPdu(fields.source_addr, fields.source_addr_ton);
  const to = addressFromPdu(fields.destination_addr, fields.dest_addr_ton);
  const date = () => new Date((options.now ?? Date.now)()).toISOString();
  const contexts = options.context === undefined ? [] : [options.context];
  if (!concat || concat.total === 1 || !options.reassembler) {
    return { kind: "mo", mo: { from, to, text: ALPHABETS[alphabet].decode(text), date: date() }, parts: 1, contexts };
  }
  const added = options.reassembler.add({ from, to, concat, octets: text, alphabet, context: options.context as C });
  switch (added.status) {
    case "complete":
      return { kind: "mo", mo: { from, to, text: added.message.text, date: date() }, parts: added.message.parts, contexts: added.message.contexts };
    case "pending":
      return { kind: "pending", received: added.received, total: added.total };
    case "duplicate":
      return { kind: "duplicate" };
    case "invalid":
      return { kind: "invalid", reason: added.reason };
  }
}
