/**
 * Op 03 (submit message) parameters for one MT (aggregator-protocols.md §3.3-3.6): `021`
 * destination; `023` numeric or `027` alphanumeric originator; GSM text in `033` in CIMD2's
 * own 7-bit form (text.ts), anything else as `034` hex UCS-2 with `030:8`; a long text as
 * parts with a concatenation UDH in `032`, cut only between whole escapes and surrogate pairs
 * (lib/sms/segment.ts); `056` asking for final outcomes; validity `050`/`051` and scheduled
 * delivery `053`/`054`. The alphabet, segmenting and UDH rules are lib/sms's, not repeated here.
 */
import type { MT, SubmitError } from "../contract";
import { encodeText, type Alphabet } from "../sms/alphabet";
import { splitEncoded } from "../sms/segment";
import { concatUdh, type ReferenceBits } from "../sms/udh";
import { createReferenceGenerator, type ReferenceGenerator } from "../smpp/submit";
import { hex2, type Parameter } from "./packet";
import { checkParameterValue, P } from "./parameters";
import { septetsToCimd2 } from "./text";

/** Kannel sends `056:14` when it wants reports: every final outcome (§3.5). */
export const STATUS_REPORT_FINAL_OUTCOMES = 14;

export interface Cimd2SubmitOptions {
  /** "auto": GSM in `033` when the text fits it, else UCS-2; "ucs2" always UCS-2. */
  encoding?: "auto" | "ucs2";
  /** Courier's smart substitution before deciding the text is not GSM. */
  smart?: boolean;
  /** At most this many parts; a longer text is refused, never truncated. Default 10. */
  maxParts?: number;
  /** Concatenation reference width; default 8 (IEI 0x00). */
  referenceBits?: ReferenceBits;
  /** Ask for a status report on final outcomes (`056:14`); false sends `056:0`. Default true. */
  statusReport?: boolean;
  /** The `056` value sent when a report is wanted (0-63); default 14. */
  statusReportRequest?: number;
  /** Kannel's `no-dlr`: send no `056` at all, for SMSCs that refuse the parameter. */
  omitStatusReportRequest?: boolean;
  /** Validity as minutes from now, sent as `050` in the GSM 03.40 relative coding. */
  validityMinutes?: number;
  /** Absolute validity `051`, YYMMDDhhmmss in the SMSC's time. */
  validityAbsolute?: string;
  /** Delay first delivery by minutes, sent as `053` in the same coding. */
  deliveryDelayMinutes?: number;
  /** Scheduled delivery `054`, YYMMDDhhmmss in the SMSC's time. */
  deliverAt?: string;
  /** Replaces a leading "+" of numeric addresses (e.g. "00" or ""); default keeps "+". */
  internationalPrefix?: string;
  /** Set `044:1` on every part but the last. */
  moreMessagesToSend?: boolean;
  nextReference?: ReferenceGenerator;
}

export type Cimd2SubmitBuild =
  | { ok: true; packets: Parameter[][]; parts: number; alphabet: Alphabet; destination: string; reference?: number }
  | { ok: false; error: SubmitError };

const DEFAULT_MAX_PARTS = 10;
const MAX_ALPHANUMERIC = 11;
const defaultReference = createReferenceGenerator();

function refuse(code: string, text: string): Cimd2SubmitBuild {
  return { ok: false, error: { code, text, temporary: false } };
}

/**
 * Minutes → the GSM 03.40 §9.2.3.12 relative period code Kannel computes for `050`:
 * 0-143 five-minute steps up to 12 h, 144-167 half hours up to 24 h, 168-196 days up to
 * 30 days, 197-255 weeks up to 63 weeks. Rounded up, so a period is never shorter than asked.
 */
export function relativePeriodCode(minutes: number): number | undefined {
  if (!Number.isFinite(minutes) || minutes < 1) return undefined;
  if (minutes <= 720) return Math.max(0, Math.ceil(minutes / 5) - 1);
  if (minutes <= 1440) return 143 + Math.ceil((minutes - 720) / 30);
  if (minutes <= 30 * 1440) return 166 + Math.max(2, Math.ceil(minutes / 1440));
  if (minutes <= 63 * 7 * 1440) return 192 + Math.max(5, Math.ceil(minutes / (7 * 1440)));
  return undefined;
}

/** A numeric address for `021`/`023`, or undefined when it is not one. */
export function numericAddress(address: string, internationalPrefix?: string): string | undefined {
  if (!/^\+?\d{1,20}$/.test(address)) return undefined;
  const written = address.startsWith("+") && internationalPrefix !== undefined ? internationalPrefix + address.slice(1) : address;
  return written.length <= 20 && written.length > 0 ? written : undefined;
}

function originator(from: string, prefix: string | undefined): Parameter | string | undefined {
  if (from === "") return undefined;
  const numeric = numericAddress(from, prefix);
  if (numeric) return { code: P.ORIGINATOR, value: numeric };
  if (from.length > MAX_ALPHANUMERIC) return `alphanumeric sender "${from}" is longer than ${MAX_ALPHANUMERIC} characters`;
  if (!/^[\x20-\x7e]+$/.test(from) || /_/.test(from)) return `alphanumeric sender "${from}" must be printable ASCII without "_"`;
  return { code: P.ALPHANUMERIC_ORIGINATOR, value: from };
}

function timing(options: Cimd2SubmitOptions): Parameter[] | string {
  const out: Parameter[] = [];
  if (options.validityMinutes !== undefined) {
    const code = relativePeriodCode(options.validityMinutes);
    if (code === undefined) return `validityMinutes ${options.validityMinutes} is outside 1..${63 * 7 * 1440}`;
    out.push({ code: P.VALIDITY_RELATIVE, value: String(code) });
  }
  if (options.validityAbsolute !== undefined) out.push({ code: P.VALIDITY_ABSOLUTE, value: options.validityAbsolute });
  if (options.deliveryDelayMinutes !== undefined) {
    const code = relativePeriodCode(options.deliveryDelayMinutes);
    if (code === undefined) return `deliveryDelayMinutes ${options.deliveryDelayMinutes} is outside 1..${63 * 7 * 1440}`;
    out.push({ code: P.FIRST_DELIVERY_RELATIVE, value: String(code) });
  }
  if (options.deliverAt !== undefined) out.push({ code: P.FIRST_DELIVERY_ABSOLUTE, value: options.deliverAt });
  if (options.validityMinutes !== undefined && options.validityAbsolute !== undefined) return "give validityMinutes or validityAbsolute, not both";
  if (options.deliveryDelayMinutes !== undefined && options.deliverAt !== undefined) return "give deliveryDelayMinutes or deliverAt, not both";
  for (const p of out) {
    const invalid = checkParameterValue(p.code, p.value);
    if (invalid) return invalid;
  }
  return out;
}

/** Builds the op 03 parameters of every part of an MT, or says why it cannot be sent. */
export function buildSubmit(mt: MT, options: Cimd2SubmitOptions = {}): Cimd2SubmitBuild {
  if (typeof mt?.text !== "string") return refuse("INVALID_TEXT", "MT text is not a string");
  if (typeof mt.to !== "string") return refuse("INVALID_DESTINATION", "MT has no destination");
  const destination = numericAddress(mt.to.trim(), options.internationalPrefix);
  if (!destination) return refuse("INVALID_DESTINATION", `destination "${mt.to}" is not a number of 1-20 digits with an optional "+"`);
  const from = originator(typeof mt.from === "string" ? mt.from.trim() : "", options.internationalPrefix);
  if (typeof from === "string") return refuse("INVALID_SOURCE", from);

  const maxParts = options.maxParts ?? DEFAULT_MAX_PARTS;
  if (!Number.isInteger(maxParts) || maxParts < 1 || maxParts > 255) return refuse("INVALID_OPTION", `maxParts ${maxParts} is outside 1..255`);
  const bits = options.referenceBits ?? 8;
  if (bits !== 8 && bits !== 16) return refuse("INVALID_OPTION", `referenceBits ${String(bits)} is neither 8 nor 16`);
  const reportValue = options.statusReport === false ? 0 : options.statusReportRequest ?? STATUS_REPORT_FINAL_OUTCOMES;
  if (!Number.isInteger(reportValue) || reportValue < 0 || reportValue > 63) return refuse("INVALID_OPTION", `statusReportRequest ${reportValue} is outside 0..63`);
  const times = timing(options);
  if (typeof times === "string") return refuse("INVALID_OPTION", times);

  const encoded = encodeText(mt.text, { encoding: options.encoding === "ucs2" ? "ucs2" : "auto", smart: options.smart });
  const bodies = splitEncoded(encoded, bits === 8 ? "udh8" : "udh16");
  if (bodies.length > maxParts) {
    return refuse("TOO_MANY_PARTS", `text needs ${bodies.length} parts in ${encoded.alphabet === "gsm7" ? "GSM 7-bit" : "UCS-2"}, more than the ${maxParts} allowed`);
  }

  const common: Parameter[] = [{ code: P.DESTINATION, value: destination }];
  if (from) common.push(from);
  common.push(...times);
  if (!options.omitStatusReportRequest) common.push({ code: P.STATUS_REPORT_REQUEST, value: String(reportValue) });

  const total = bodies.length;
  const reference = total > 1 ? (options.nextReference ?? defaultReference)(bits) % 2 ** bits : undefined;
  const packets = bodies.map((body, index) => {
    const part = [...common];
    if (options.moreMessagesToSend) part.push({ code: P.MORE_MESSAGES, value: index + 1 < total ? "1" : "0" });
    if (reference !== undefined) {
      part.push({ code: P.USER_DATA_HEADER, value: toHex(concatUdh({ reference, referenceBits: bits, total, seq: index + 1 })) });
    }
    if (encoded.alphabet === "gsm7") {
      part.push({ code: P.USER_DATA, value: septetsToCimd2(body) });
    } else {
      part.push({ code: P.DATA_CODING_SCHEME, value: "8" }, { code: P.USER_DATA_BINARY, value: toHex(body) });
    }
    return part;
  });
  for (const part of packets) {
    for (const p of part) {
      const invalid = checkParameterValue(p.code, p.value);
      if (invalid) return refuse("TOO_LONG", invalid);
    }
  }
  return { ok: true, packets, parts: total, alphabet: encoded.alphabet, destination, ...(reference !== undefined ? { reference } : {}) };
}

export function toHex(octets: Uint8Array): string {
  let out = "";
  for (const octet of octets) out += hex2(octet);
  return out;
}
