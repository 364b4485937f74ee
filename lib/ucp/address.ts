/**
 * UCP/EMI addresses (aggregator-protocols.md §2.3): ADC numeric, at most 16 digits (a
 * leading `+` dropped: the SMSC reads the digits as international per its own rules);
 * OAdC numeric, or alphanumeric with OTOA 5039: the GSM 03.38 codes packed 7 bits at a
 * time, hex, after one octet giving the number of useful semi-octets, at most 11 characters.
 * GSM 03.38 codes come from `lib/sms/gsm7.ts`; only the packing is UCP's own.
 */
import { decodeGsm7, gsm7CharOctets } from "../sms/gsm7";

export const OTOA_ALPHANUMERIC = "5039";
export const OTOA_INTERNATIONAL = "1139";
const MAX_DIGITS = 16;
const MAX_ALPHANUMERIC = 11;

export type AddressResult = { ok: true; value: string } | { ok: false; reason: string };
export type OriginatorResult = { ok: true; oadc: string; otoa: string } | { ok: false; reason: string };

/** The ADC for a recipient: digits only, `+` dropped, 1-16 digits. */
export function recipientAdc(to: string): AddressResult {
  const digits = typeof to === "string" ? to.trim().replace(/^\+/, "") : "";
  if (!/^\d+$/.test(digits)) return { ok: false, reason: `recipient ${JSON.stringify(to)} is not a number` };
  if (digits.length > MAX_DIGITS) return { ok: false, reason: `recipient ${JSON.stringify(to)} has more than ${MAX_DIGITS} digits` };
  return { ok: true, value: digits };
}

/** GSM septets packed LSB first into octets (TS 23.038 §6.1.2.1.1). */
export function packSeptets(septets: readonly number[]): Buffer {
  const out = Buffer.alloc(Math.ceil((septets.length * 7) / 8));
  let bit = 0;
  for (const septet of septets) {
    const byte = bit >> 3;
    const shift = bit & 7;
    out[byte] |= (septet << shift) & 0xff;
    if (shift > 1) out[byte + 1] |= septet >> (8 - shift);
    bit += 7;
  }
  return out;
}

/** The first `count` septets of packed octets. */
export function unpackSeptets(octets: Buffer, count: number): number[] {
  const septets: number[] = [];
  for (let i = 0; i < count; i++) {
    const bit = i * 7;
    const byte = bit >> 3;
    const shift = bit & 7;
    let value = octets[byte] >> shift;
    if (shift > 1) value |= (octets[byte + 1] ?? 0) << (8 - shift);
    septets.push(value & 0x7f);
  }
  return septets;
}

/**
 * OAdC for a sender: digits stay numeric (a leading `+` gives OTOA 1139, as Kannel sends
 * it); anything else is alphanumeric, OTOA 5039: "RapidPro" → `0ED2303C4D86CADF`.
 */
export function originatorOadc(from: string): OriginatorResult {
  const text = typeof from === "string" ? from.trim() : "";
  if (text === "") return { ok: false, reason: "sender is empty" };
  const numeric = /^\+?\d+$/.test(text);
  if (numeric) {
    const digits = text.replace(/^\+/, "");
    if (digits.length <= MAX_DIGITS) return { ok: true, oadc: digits, otoa: text.startsWith("+") ? OTOA_INTERNATIONAL : "" };
  }
  const septets: number[] = [];
  for (const ch of text) {
    const codes = gsm7CharOctets(ch);
    if (!codes) return { ok: false, reason: `sender ${JSON.stringify(text)} has ${JSON.stringify(ch)}, which the GSM alphabet lacks` };
    septets.push(...codes);
  }
  if (septets.length > MAX_ALPHANUMERIC) {
    return { ok: false, reason: `alphanumeric sender ${JSON.stringify(text)} takes ${septets.length} characters, more than ${MAX_ALPHANUMERIC}` };
  }
  // "prefixed by one octet = number of useful semi-octets (n·7+3)/4" (§2.3)
  const semiOctets = Math.floor((septets.length * 7 + 3) / 4);
  const packed = Buffer.concat([Buffer.from([semiOctets]), packSeptets(septets)]);
  return { ok: true, oadc: packed.toString("hex").toUpperCase(), otoa: OTOA_ALPHANUMERIC };
}

/**
 * An OAdC as the SMSC sent it, read back: alphanumeric when OTOA is 5039, with `+` when
 * OTOA is 1139 (international), else the digits as they are.
 */
export function readOadc(oadc: string, otoa: string): AddressResult {
  if (otoa === OTOA_ALPHANUMERIC) {
    if (!/^([0-9A-Fa-f]{2})+$/.test(oadc)) return { ok: false, reason: `alphanumeric OAdC ${JSON.stringify(oadc)} is not hex` };
    const octets = Buffer.from(oadc, "hex");
    const semiOctets = octets[0];
    const body = octets.subarray(1);
    const count = Math.floor((semiOctets * 4) / 7);
    if (Math.ceil(semiOctets / 2) > body.length) {
      return { ok: false, reason: `alphanumeric OAdC claims ${semiOctets} semi-octets but carries ${body.length} octets` };
    }
    return { ok: true, value: decodeGsm7(Buffer.from(unpackSeptets(body, count))) };
  }
  if (!/^\d{0,16}$/.test(oadc)) return { ok: false, reason: `OAdC ${JSON.stringify(oadc)} is not up to 16 digits` };
  return { ok: true, value: otoa === OTOA_INTERNATIONAL && oadc !== "" ? `+${oadc}` : oadc };
}
