/**
 * Op 20 (deliver message, the MO) read into what the node layer needs: addresses, the text
 * (from `033` in CIMD2's 7-bit form, or `034` hex under the `030` data coding scheme), any
 * UDH from `032` and its concatenation element, and the part's octets in an alphabet
 * lib/sms/reassembly.ts can join. Reassembly itself is the node layer's.
 */
import { describeDataCoding, type DataCodingOptions } from "../sms/dcs";
import { ALPHABETS, type Alphabet } from "../sms/alphabet";
import { findConcat, splitUdh, type ConcatInfo } from "../sms/udh";
import { OP } from "./operations";
import { param, type DecodedPacket, type Packet } from "./packet";
import { P } from "./parameters";
import { readStatusReport, type StatusReport } from "./report";
import { decodeCimd2Text } from "./text";

export interface DeliveredMessage {
  /** `023` originator, as the SMSC wrote it. */
  from: string;
  /** `021` destination (our number). */
  to: string;
  /** `060`, when the SMSC gave one. */
  timestamp?: string;
  dataCoding: number;
  /** The whole UDH from `032`, length octet included. */
  udh?: Buffer;
  concat?: ConcatInfo;
  /** Text of this part, when it is text. */
  text?: string;
  /** This part's octets in `alphabet`, for reassembly; for binary data, the raw octets. */
  octets: Buffer;
  alphabet?: Alphabet;
  /** Why the content is not text (binary data), when it is not. */
  notText?: string;
}

export type DeliverRead = { ok: true; message: DeliveredMessage } | { ok: false; reason: string; errorCode: number };

function fromHex(value: string): Buffer {
  return Buffer.from(value, "hex");
}

/** Reads an op 20. A refusal carries the CIMD2 error code that fits it (711, 712, 302, 303). */
export function readDeliverMessage(packet: Packet, options: DataCodingOptions = {}): DeliverRead {
  const to = param(packet, P.DESTINATION);
  const from = param(packet, P.ORIGINATOR) ?? param(packet, P.ALPHANUMERIC_ORIGINATOR);
  if (!to) return { ok: false, reason: "deliver message without 021 (destination address)", errorCode: 3 };
  if (!from) return { ok: false, reason: "deliver message without 023 (originating address)", errorCode: 3 };
  const dataCoding = Number(param(packet, P.DATA_CODING_SCHEME) ?? "0");
  const textValue = param(packet, P.USER_DATA);
  const binaryValue = param(packet, P.USER_DATA_BINARY);
  const udhValue = param(packet, P.USER_DATA_HEADER);
  if (textValue !== undefined && binaryValue !== undefined) {
    return { ok: false, reason: "deliver message carries both 033 (user data) and 034 (user data binary)", errorCode: 303 };
  }
  const base = { from, to, dataCoding, ...(param(packet, P.SERVICE_CENTRE_TIMESTAMP) ? { timestamp: param(packet, P.SERVICE_CENTRE_TIMESTAMP) } : {}) };

  let udh: Buffer | undefined;
  let concat: ConcatInfo | undefined;
  if (udhValue !== undefined && udhValue !== "") {
    udh = fromHex(udhValue);
    const split = splitUdh(udh);
    if (!split.ok) return { ok: false, reason: `032 (user data header): ${split.reason}`, errorCode: 712 };
    if (split.body.length > 0) return { ok: false, reason: `032 (user data header) has ${split.body.length} octets after its declared length`, errorCode: 712 };
    const found = findConcat(split.elements);
    if (!found.ok) return { ok: false, reason: `032 (user data header): ${found.reason}`, errorCode: 712 };
    concat = found.concat;
  }
  const withUdh = { ...base, ...(udh ? { udh } : {}), ...(concat ? { concat } : {}) };

  if (textValue !== undefined) {
    const decoded = decodeCimd2Text(textValue);
    if (!decoded.ok) return { ok: false, reason: `033 (user data): ${decoded.reason}`, errorCode: 302 };
    // Pure GSM text goes to reassembly as septets, so an escape cut across parts still
    // joins; text with 8-bit Latin-1 bytes in it goes as the UCS-2 of what was read.
    const pureGsm = !/[\x80-\xff]/.test(textValue);
    const alphabet: Alphabet = pureGsm ? "gsm7" : "ucs2";
    const octets = pureGsm ? decoded.septets : Buffer.from(decoded.text, "utf16le").swap16();
    return { ok: true, message: { ...withUdh, text: decoded.text, octets, alphabet } };
  }

  const octets = binaryValue === undefined ? Buffer.alloc(0) : fromHex(binaryValue);
  const coding = describeDataCoding(dataCoding, options);
  if (coding.alphabet === "gsm7" && binaryValue !== undefined && octets.length > 0) {
    return { ok: true, message: { ...withUdh, octets, notText: "GSM 7-bit text in 034 (packed septets) is not read as text" } };
  }
  if (!coding.alphabet) return { ok: true, message: { ...withUdh, octets, notText: coding.notText } };
  if (octets.length === 0 && !udh) return { ok: false, reason: "deliver message without 033 or 034 (no user data)", errorCode: 302 };
  return { ok: true, message: { ...withUdh, text: ALPHABETS[coding.alphabet].decode(octets), octets, alphabet: coding.alphabet } };
}

export type DeliveryAnswer = { ok: true } | { ok: false; code?: number; text?: string };

export type Delivery =
  | { kind: "mo"; message: DeliveredMessage; packet: DecodedPacket; respond: (answer: DeliveryAnswer) => void }
  | { kind: "report"; report: StatusReport; packet: DecodedPacket; respond: (answer: DeliveryAnswer) => void }
  /** An op 20 / 23 that cannot be read; `errorCode` is the answer that fits the fault. */
  | { kind: "invalid"; reason: string; errorCode: number; packet: DecodedPacket; respond: (answer: DeliveryAnswer) => void };

/** What the session emits for an op 20 or op 23, read, with the answer still to give. */
export function toDelivery(packet: DecodedPacket, respond: (answer: DeliveryAnswer) => void): Delivery {
  if (packet.op === OP.DELIVER_MESSAGE) {
    const read = readDeliverMessage(packet);
    return read.ok ? { kind: "mo", message: read.message, packet, respond } : { kind: "invalid", reason: read.reason, errorCode: read.errorCode, packet, respond };
  }
  const read = readStatusReport(packet);
  return read.ok ? { kind: "report", report: read.report, packet, respond } : { kind: "invalid", reason: read.reason, errorCode: 3, packet, respond };
}
