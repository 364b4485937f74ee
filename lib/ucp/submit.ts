/**
 * OT 51 (submit short message) content for one MT, and reading its positive result
 * (aggregator-protocols.md §2.2-§2.5). Alphabets, segmenting and UDHs come from `lib/sms/`;
 * this file decides only how UCP carries them:
 * - text the chosen MT 3 alphabet can hold goes as MT 3, `AMsg` one octet per character in
 *   hex: GSM 03.38 codes (what Kannel sends) or IRA (the spec), per bind;
 * - anything else as MT 4, `TMsg` the UCS-2 octets in hex, `NB` their number of bits, and
 *   XSer type 02 with DCS 08;
 * - a long text as parts, each with its concatenation UDH in XSer type 01 (the whole UDH,
 *   UDHL included: `0106050003A70201`), the text of the part alone in AMsg/TMsg;
 * - NRQ 1 and NT 3 (delivered + non-delivered), 7 with buffered notifications.
 */
import type { MT, SubmitError } from "../contract";
import { encodeText, type EncodingOptions } from "../sms/alphabet";
import { splitEncoded } from "../sms/segment";
import { concatUdh, type ReferenceBits } from "../sms/udh";
import { createReferenceGenerator, type ReferenceGenerator } from "../smpp/submit";
import { originatorOadc, recipientAdc } from "./address";
import { ucpTime } from "./time";
import type { Fields } from "./operations";

/** Which one-octet-per-character alphabet MT 3 carries. */
export type TextAlphabet = "gsm" | "ira";

/** XSer types (§2.4): 01 GSM UDH, 02 GSM DCS. */
export const XSER_UDH = 0x01;
export const XSER_DCS = 0x02;
/** NT bits (§2.5): "1 = DN (delivered), 2 = ND (non-delivered), 4 = BN (buffered)". */
export const NT_DELIVERED = 1;
export const NT_NON_DELIVERED = 2;
export const NT_BUFFERED = 4;
/** DCS 08: UCS-2 (§2.4 "`020108` = UCS2"). */
const DCS_UCS2 = 0x08;

export interface UcpSubmitOptions extends Pick<EncodingOptions, "smart"> {
  /** MT 3 alphabet; default "gsm" (Kannel's behaviour). */
  alphabet?: TextAlphabet;
  /** Concatenation reference width; default 8. */
  referenceBits?: ReferenceBits;
  /** At most this many parts; a longer text is refused with a reason. Default 10. */
  maxParts?: number;
  /** Ask for notifications (NRQ 1); default true. */
  notify?: boolean;
  /** Also ask for "buffered" notifications (NT 7 instead of 3). */
  notifyBuffered?: boolean;
  /** Notification address and PID (`NADC`, `NPID`), when the SMSC wants them. */
  notificationAddress?: string;
  notificationPid?: string;
  /** Validity from now, minutes (VP, absolute DDMMYYhhmm). */
  validityMinutes?: number;
  /** Deferred delivery from now, minutes (DD 1, DDT). */
  deferMinutes?: number;
  /** The SMSC's clock offset from UTC, minutes, for VP and DDT; default 0. */
  utcOffsetMinutes?: number;
  now?: () => number;
  nextReference?: ReferenceGenerator;
}

export type UcpSubmitBuild =
  | { ok: true; operations: Fields[]; parts: number; mt: 3 | 4; reference?: number }
  | { ok: false; error: SubmitError };

const DEFAULT_MAX_PARTS = 10;
const MAX_MINUTES = 99 * 1440;
const defaultReference = createReferenceGenerator();

function refuse(code: string, text: string): UcpSubmitBuild {
  return { ok: false, error: { code, text, temporary: false } };
}

const hex = (octets: Buffer) => octets.toString("hex").toUpperCase();

/** One XSer element: type, length, data, all hex. */
export function xserElement(type: number, data: Buffer): string {
  return hex(Buffer.concat([Buffer.from([type, data.length]), data]));
}

function checkMinutes(name: string, value: number | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 1 || value > MAX_MINUTES) return `${name} ${value} is outside 1..${MAX_MINUTES} minutes`;
  return undefined;
}

/** Builds the OT 51 fields of every part of an MT, or says why it cannot be sent. */
export function buildSubmit(mt: MT, options: UcpSubmitOptions = {}): UcpSubmitBuild {
  if (typeof mt?.text !== "string") return refuse("INVALID_TEXT", "MT text is not a string");
  const adc = recipientAdc(mt.to);
  if (!adc.ok) return refuse("INVALID_DESTINATION", adc.reason);
  // No sender: no OAdC, the SMSC applies the account's (lib/delivery/addresses.ts).
  const noSender = typeof mt.from !== "string" || mt.from.trim() === "";
  const oadc = noSender ? ({ ok: true, oadc: "", otoa: "" } as const) : originatorOadc(mt.from);
  if (!oadc.ok) return refuse("INVALID_SOURCE", oadc.reason);
  const maxParts = options.maxParts ?? DEFAULT_MAX_PARTS;
  if (!Number.isInteger(maxParts) || maxParts < 1 || maxParts > 255) return refuse("INVALID_OPTION", `maxParts ${maxParts} is outside 1..255`);
  const bits = options.referenceBits ?? 8;
  if (bits !== 8 && bits !== 16) return refuse("INVALID_OPTION", `referenceBits ${String(bits)} is neither 8 nor 16`);
  const badTime = checkMinutes("validityMinutes", options.validityMinutes) ?? checkMinutes("deferMinutes", options.deferMinutes);
  if (badTime) return refuse("INVALID_OPTION", badTime);

  const alphabet = options.alphabet ?? "gsm";
  const encoded = encodeText(mt.text, { encoding: alphabet === "ira" ? "ia5" : "auto", smart: options.smart });
  const bodies = splitEncoded(encoded, bits === 8 ? "udh8" : "udh16");
  if (bodies.length > maxParts) {
    return refuse("TOO_MANY_PARTS", `text needs ${bodies.length} parts as ${encoded.alphabet}, more than the ${maxParts} allowed`);
  }
  const transparent = encoded.alphabet === "ucs2";
  const common: Fields = { ADC: adc.value, MT: transparent ? "4" : "3" };
  if (oadc.oadc) common.OADC = oadc.oadc;
  if (oadc.otoa) common.OTOA = oadc.otoa;
  if (options.notify !== false) {
    common.NRQ = "1";
    common.NT = String(NT_DELIVERED + NT_NON_DELIVERED + (options.notifyBuffered ? NT_BUFFERED : 0));
    if (options.notificationAddress) common.NADC = options.notificationAddress;
    if (options.notificationPid) common.NPID = options.notificationPid;
  }
  const now = (options.now ?? Date.now)();
  const offset = options.utcOffsetMinutes ?? 0;
  if (options.validityMinutes !== undefined) common.VP = ucpTime(now + options.validityMinutes * 60_000, offset, false);
  if (options.deferMinutes !== undefined) {
    common.DD = "1";
    common.DDT = ucpTime(now + options.deferMinutes * 60_000, offset, false);
  }
  const dcs = transparent ? xserElement(XSER_DCS, Buffer.from([DCS_UCS2])) : "";
  const total = bodies.length;
  const reference = total > 1 ? (options.nextReference ?? defaultReference)(bits) % 2 ** bits : undefined;
  const operations = bodies.map((body, index): Fields => {
    const udh = reference === undefined ? "" : xserElement(XSER_UDH, concatUdh({ reference, referenceBits: bits, total, seq: index + 1 }));
    const fields: Fields = { ...common, MSG: hex(body) };
    if (transparent) fields.NB = String(body.length * 8).padStart(4, "0");
    if (udh || dcs) fields.XSER = udh + dcs;
    return fields;
  });
  return { ok: true, operations, parts: total, mt: transparent ? 4 : 3, ...(reference === undefined ? {} : { reference }) };
}

export type SubmitAck = { ok: true; recipient: string; scts: string } | { ok: false; reason: string };

/**
 * The message reference of a positive OT 51 result: `A//<ADC>:<SCTS>/` (§2.2); ADC:SCTS is
 * what OT 53 later carries as OAdC and SCTS, so (recipient, SCTS) is the correlation key.
 */
export function parseSubmitAck(sm: string): SubmitAck {
  const match = /^(\d{1,16}):(\d{12})$/.exec(sm);
  if (!match) return { ok: false, reason: `positive result SM ${JSON.stringify(sm)} is not ADC:SCTS` };
  return { ok: true, recipient: match[1], scts: match[2] };
}

/** The correlation key of a submitted part or of a notification: "recipient:SCTS". */
export function correlationKey(recipient: string, scts: string): string {
  return `${recipient.replace(/^\+/, "")}:${scts}`;
}

export { createReferenceGenerator };
