/**
 * Reading the SMSC's bytes strictly, before the `smpp` package decodes them.
 *
 * The package's reader fills what is missing silently: a C-string without its NUL runs to
 * the end of the PDU, `sm_length` past the body is cut to what is there, a TLV past the PDU
 * is cut short, a field after the end is left out, and a C-string TLV is read up to the
 * next NUL wherever that is. A truncated deliver_sm would be acknowledged and handed on as
 * a message. So every request we answer is checked here on its raw octets first, against
 * the package's own field tables (`smpp.commands`, `smpp.tlvsById`): a fault is answered
 * with the status that names it and nothing is handed on.
 *
 * Strict about lengths; tolerant where SMSCs are known to differ (smpp-and-gateways.md §5.1,
 * §5.3): receipt text is not checked here, and a C-string TLV such as receipted_message_id
 * may come without its NUL (its length bounds it).
 */
import * as smpp from "smpp";
import type { Alphabet } from "../sms/alphabet";
import { describeDataCoding } from "../sms/dcs";
import { splitUdh } from "../sms/udh";
import { controlCharacterAt } from "../text/peer-value";
import {
  ESME_RINVCMDLEN,
  ESME_RINVMSGLEN,
  ESME_RINVOPTPARSTREAM,
  ESME_RINVPARLEN,
  commandStatus,
} from "./command-status";
import { encodeHeaderOnly } from "./encode";

export const HEADER_OCTETS = 16;
/** The package refuses longer PDUs (its `PDU.maxLength`, module-global: never changed here). */
export const MAX_PDU_OCTETS = smpp.PDU.maxLength;

/** A PDU's header, read without trusting it. */
export interface Header {
  commandLength: number;
  commandId: number;
  sequence: number;
}

export type HeaderCheck = { ok: true } | { ok: false; reason: string };

/**
 * A command_length below the header or above the maximum leaves no way to find where the
 * next PDU starts: the stream is unreadable (answered generic_nack, then the link closes).
 */
export function checkCommandLength(commandLength: number): HeaderCheck {
  if (commandLength < HEADER_OCTETS) return { ok: false, reason: `command_length ${commandLength} is below the ${HEADER_OCTETS}-octet header` };
  if (commandLength > MAX_PDU_OCTETS) return { ok: false, reason: `command_length ${commandLength} too large (maximum ${MAX_PDU_OCTETS})` };
  return { ok: true };
}

/**
 * Cuts a byte stream into whole PDUs. `push` returns the PDUs completed by a chunk, or the
 * reason the stream is unreadable (after which the reader takes nothing more).
 */
export class PduReader {
  private held?: Buffer;
  private failed = false;

  push(chunk: Buffer): { frames: Buffer[]; unreadable?: { reason: string; sequence: number } } {
    const frames: Buffer[] = [];
    if (this.failed) return { frames };
    let buffer = this.held ? Buffer.concat([this.held, chunk]) : chunk;
    while (buffer.length >= 4) {
      const length = buffer.readUInt32BE(0);
      const check = checkCommandLength(length);
      if (!check.ok) {
        this.failed = true;
        this.held = undefined;
        // "sequence_number … NULL if the original PDU cannot be decoded" (SMPP 3.4 §4.3.1):
        // a PDU shorter than a header has none; a too long one has its header here, or not yet.
        const sequence = length >= HEADER_OCTETS && buffer.length >= HEADER_OCTETS ? buffer.readUInt32BE(12) : 0;
        return { frames, unreadable: { reason: check.reason, sequence } };
      }
      if (buffer.length < length) break;
      frames.push(buffer.subarray(0, length));
      buffer = buffer.subarray(length);
    }
    this.held = buffer.length > 0 ? buffer : undefined;
    return { frames };
  }
}

export function readHeader(frame: Buffer): Header {
  return { commandLength: frame.readUInt32BE(0), commandId: frame.readUInt32BE(4), sequence: frame.readUInt32BE(12) };
}

/** A request from the SMSC answered with an error and not handed on, and why. */
export interface Refusal {
  /** The request's command name ("unreadable PDU" when its header could not be read). */
  command: string;
  /** The response sent: `<command>_resp`, or generic_nack. */
  answer: string;
  sequence: number;
  status: number;
  /** May quote what the SMSC sent as it is: the session's log escapes it (lib/session/base.ts). */
  reason: string;
}

export type FrameOutcome =
  | { kind: "pdu"; pdu: smpp.PDU }
  /** Refused: send `answer` (the encoded response) and hand nothing on. */
  | { kind: "refused"; refusal: Refusal; answer: Buffer }
  /** A response that cannot be decoded: the link ends (its request is re-sent on the next one). */
  | { kind: "unreadable"; reason: string };

const RESPONSE_BIT = 0x80000000;
const GENERIC_NACK = 0x80000000;

function refuse(commandId: number, refusal: Refusal): FrameOutcome {
  return { kind: "refused", refusal, answer: encodeHeaderOnly(commandId, refusal.status, refusal.sequence) };
}

const SUBMIT_SM_RESP = 0x80000004;

/**
 * submit_sm_resp, one per MT part, read directly when it is just the header and a
 * NUL-terminated message_id (or the header alone): the same PDU the package's generic reader
 * makes (its prototype, its fields), without its per-field loop, TLV scan and filter pass.
 * Anything else (TLVs, no NUL) is left to the package; undefined then.
 */
function plainSubmitSmResp(frame: Buffer): smpp.PDU | undefined {
  const length = frame.length;
  let end = HEADER_OCTETS;
  if (length > HEADER_OCTETS) {
    end = frame.indexOf(0, HEADER_OCTETS);
    if (end < 0 || end + 1 !== length) return undefined;
  }
  const pdu = Object.create(smpp.PDU.prototype) as smpp.PDU & Record<string, unknown>;
  pdu.command_length = length;
  pdu.command_id = SUBMIT_SM_RESP;
  pdu.command_status = frame.readUInt32BE(8);
  pdu.sequence_number = frame.readUInt32BE(12);
  pdu.command = "submit_sm_resp";
  if (length > HEADER_OCTETS) pdu.message_id = frame.toString("ascii", HEADER_OCTETS, end);
  return pdu;
}

/**
 * One whole PDU from the SMSC: a request we answer is checked on its raw octets, then the
 * package decodes it and the checked fields replace what it read.
 */
export function decodeFrame(frame: Buffer): FrameOutcome {
  const { commandId, sequence } = readHeader(frame);
  if (commandId === SUBMIT_SM_RESP) {
    const pdu = plainSubmitSmResp(frame);
    if (pdu) return { kind: "pdu", pdu };
  }
  const command = smpp.commandsById[commandId]?.command ?? `command 0x${commandId.toString(16)}`;
  const isRequest = (commandId & RESPONSE_BIT) === 0;
  let fields: Record<string, unknown> = {};
  if (isRequest && CHECKED_REQUESTS.has(command)) {
    const check = checkRequestBody(command, frame);
    if (!check.ok) return refuse(commandId | RESPONSE_BIT, { command, answer: `${command}_resp`, sequence, status: check.status, reason: check.reason });
    fields = check.fields;
  }
  let pdu: smpp.PDU;
  try {
    pdu = new smpp.PDU(frame);
  } catch (error) {
    // Only commands not checked above get here (e.g. a response with a TLV cut short).
    const reason = (error as Error).message;
    if (!isRequest) return { kind: "unreadable", reason: `unreadable ${command} from the SMSC (${reason})` };
    return refuse(GENERIC_NACK, { command, answer: "generic_nack", sequence, status: ESME_RINVCMDLEN, reason });
  }
  return { kind: "pdu", pdu: Object.assign(pdu, fields) };
}

/** The answer to a stream whose next header cannot be read: generic_nack, ESME_RINVCMDLEN. */
export function refuseUnreadable(unreadable: { reason: string; sequence: number }): { refusal: Refusal; answer: Buffer } {
  const refusal = { command: "unreadable PDU", answer: "generic_nack", sequence: unreadable.sequence, status: ESME_RINVCMDLEN, reason: unreadable.reason };
  return { refusal, answer: encodeHeaderOnly(GENERIC_NACK, ESME_RINVCMDLEN, unreadable.sequence) };
}

export type BodyCheck =
  | { ok: true; fields: Record<string, unknown> }
  | { ok: false; status: number; reason: string };

/** Requests with no body at all (SMPP 3.4 §4.7.1 enquire_link, §4.2.1 unbind). */
const NO_BODY = new Set(["enquire_link", "unbind"]);
/** Requests whose body is checked: the ones the link answers with anything but ESME_RINVCMDID. */
export const CHECKED_REQUESTS: ReadonlySet<string> = new Set(["deliver_sm", ...NO_BODY]);

/** C-string fields with a maximum size, NUL included (SMPP 3.4 §4.6.1), and the status a longer one gets. */
const CSTRING_MAX: Readonly<Record<string, readonly [octets: number, status: string]>> = {
  service_type: [6, "ESME_RINVSERTYP"],
  source_addr: [21, "ESME_RINVSRCADR"],
  destination_addr: [21, "ESME_RINVDSTADR"],
  schedule_delivery_time: [17, "ESME_RINVSCHED"],
  validity_period: [17, "ESME_RINVEXPIRY"],
};

/**
 * Addresses become the MO's `from` and `to`: a control character in one is no number and no
 * alphanumeric sender (it would reach RapidPro as it is), so it is refused with the field's
 * status above, as the HTTP edges refuse control characters in numbers (docs/design.md 25, 40).
 */
const ADDRESS_FIELDS: ReadonlySet<string> = new Set(["source_addr", "destination_addr"]);

/** Fixed sizes of the package's value types; C-strings and length-prefixed octets are read apart. */
const FIXED_OCTETS = new Map<smpp.FieldType, number>([
  [smpp.types.int8, 1],
  [smpp.types.int16, 2],
  [smpp.types.int32, 4],
]);
const LENGTH_PREFIXED = new Set<smpp.FieldType>([smpp.types.buffer, smpp.types.string]);

const ESM_TYPE_MASK = 0x3c;
const ESM_UDHI = 0x40;

function fault(status: number, reason: string): BodyCheck {
  return { ok: false, status, reason };
}

/**
 * Checks a request's body on its raw octets. On success, `fields` holds what the package
 * would read wrongly, read right: short_message and message_payload as their raw octets
 * (UDH included) and C-string TLVs bounded by their length.
 */
export function checkRequestBody(command: string, frame: Buffer): BodyCheck {
  const end = frame.length;
  if (NO_BODY.has(command)) {
    return end === HEADER_OCTETS ? { ok: true, fields: {} } : fault(ESME_RINVCMDLEN, `${command} has no body, but command_length is ${end}`);
  }
  const params = smpp.commands[command]?.params ?? {};
  const fields: Record<string, unknown> = {};
  const ints: Record<string, number> = {};
  let at = HEADER_OCTETS;
  for (const [name, { type }] of Object.entries(params)) {
    const fixed = FIXED_OCTETS.get(type);
    if (fixed !== undefined) {
      if (at + fixed > end) return fault(ESME_RINVCMDLEN, `${command} ends before ${name} (command_length ${end})`);
      ints[name] = frame.readUIntBE(at, fixed);
      at += fixed;
    } else if (type === smpp.types.cstring) {
      const nul = frame.indexOf(0, at);
      if (nul < 0) return fault(ESME_RINVCMDLEN, `${command} ends inside ${name} (no NUL before command_length ${end})`);
      const max = CSTRING_MAX[name];
      if (max && nul + 1 - at > max[0]) return fault(commandStatus(max[1]), `${name} is ${nul - at} characters, more than the ${max[0] - 1} allowed`);
      if (max && ADDRESS_FIELDS.has(name)) {
        const value = frame.toString("latin1", at, nul);
        const control = controlCharacterAt(value);
        if (control >= 0) {
          const code = value.charCodeAt(control).toString(16).padStart(2, "0");
          return fault(commandStatus(max[1]), `${name} "${value}" holds a control character (0x${code}) at character ${control}`);
        }
      }
      at = nul + 1;
    } else if (LENGTH_PREFIXED.has(type)) {
      if (at + 1 > end) return fault(ESME_RINVCMDLEN, `${command} ends before ${name === "short_message" ? "sm_length" : name}`);
      const length = frame[at];
      if (at + 1 + length > end) {
        return fault(ESME_RINVMSGLEN, `sm_length ${length} runs past the PDU (${end - at - 1} octets left)`);
      }
      fields[name] = frame.subarray(at + 1, at + 1 + length);
      at += 1 + length;
    } else {
      return fault(ESME_RINVCMDLEN, `${command}: field ${name} cannot be checked`);
    }
  }
  const tlvs = checkTlvs(frame, at, fields);
  if (!tlvs.ok) return tlvs;
  if (command === "deliver_sm" && ((ints.esm_class ?? 0) & ESM_TYPE_MASK) === 0) {
    const short = fields.short_message as Buffer | undefined;
    const octets = short && short.length > 0 ? short : ((fields.message_payload as Buffer | undefined) ?? Buffer.alloc(0));
    const alphabet = describeDataCoding(ints.data_coding ?? 0).alphabet;
    const message = checkMessageOctets(octets, ints.esm_class ?? 0, alphabet);
    if (!message.ok) return message;
  }
  return { ok: true, fields };
}

/** The optional parameters: each a 4-octet header and a value that fits the PDU and its type. */
function checkTlvs(frame: Buffer, start: number, fields: Record<string, unknown>): BodyCheck {
  const end = frame.length;
  let at = start;
  while (at < end) {
    if (at + 4 > end) return fault(ESME_RINVOPTPARSTREAM, `the optional parameters end inside a TLV header (${end - at} octets left)`);
    const tag = frame.readUInt16BE(at);
    const length = frame.readUInt16BE(at + 2);
    const known = smpp.tlvsById[tag];
    const name = `TLV 0x${tag.toString(16).padStart(4, "0")}${known ? ` (${known.tag})` : ""}`;
    if (at + 4 + length > end) return fault(ESME_RINVPARLEN, `${name} length ${length} runs past the PDU (${end - at - 4} octets left)`);
    const value = frame.subarray(at + 4, at + 4 + length);
    if (known) {
      const fixed = FIXED_OCTETS.get(known.type);
      if (fixed !== undefined && length !== fixed) return fault(ESME_RINVPARLEN, `${name} has length ${length}, its type takes ${fixed}`);
      if (known.type === smpp.types.cstring && !known.multiple) {
        // Some SMSCs leave out the NUL of receipted_message_id: the TLV's length bounds it.
        const nul = value.indexOf(0);
        fields[known.tag] = value.toString("latin1", 0, nul < 0 ? value.length : nul);
      } else if (known.tag === "message_payload") {
        fields.message_payload = value;
      }
    }
    at += 4 + length;
  }
  return { ok: true, fields };
}

export type MessageCheck = { ok: true } | { ok: false; status: number; reason: string };

/**
 * The octets of an MO (short_message or message_payload): a UDH, when esm_class says there
 * is one, must fit the message (3GPP TS 23.040 §9.2.3.24), and UCS-2 text is whole 2-octet
 * units. Either fault is a message length the SMSC got wrong: ESME_RINVMSGLEN.
 */
export function checkMessageOctets(octets: Buffer, esmClass: number, alphabet: Alphabet | undefined): MessageCheck {
  let text = octets;
  if (esmClass & ESM_UDHI) {
    const split = splitUdh(octets);
    if (!split.ok) return { ok: false, status: ESME_RINVMSGLEN, reason: split.reason };
    text = split.body;
  }
  if (alphabet === "ucs2" && text.length % 2 !== 0) {
    return { ok: false, status: ESME_RINVMSGLEN, reason: `UCS-2 text of ${text.length} octets is not whole 2-octet units` };
  }
  return { ok: true };
}
