/**
 * Segment counting and splitting. Capacities per part, from the long-SMS table (TS 23.040;
 * reference §6): a single message holds 140 octets (160 septets); a 6-octet UDH (IEI 0x00)
 * leaves 134 octets (153 septets); a 7-octet UDH (IEI 0x08) leaves 133 octets (152 septets).
 */
import { ALPHABETS, encodeText, unitOctets, type CapacityUnit, type EncodedText, type EncodedUnit, type EncodingOptions } from "./alphabet";

/**
 * How a long message travels: concatenation UDH with an 8- or 16-bit reference, SAR TLVs
 * (the SMSC builds the 8-bit-reference UDH, so the same room per part), or one PDU with the
 * whole text in message_payload.
 */
export type Concatenation = "udh8" | "udh16" | "sar" | "payload";

type Layout = "single" | "udh8" | "udh16";

const CAPACITY: Readonly<Record<CapacityUnit, Readonly<Record<Layout, number>>>> = {
  septets: { single: 160, udh8: 153, udh16: 152 },
  octets: { single: 140, udh8: 134, udh16: 133 },
};

const PART_LAYOUT: Readonly<Record<Concatenation, Layout>> = {
  udh8: "udh8",
  udh16: "udh16",
  sar: "udh8",
  payload: "udh8",
};

export interface SegmentCount {
  alphabet: EncodedText["alphabet"];
  dataCoding: number;
  /** Parts the handset receives (for "payload" the SMSC does the cutting, same count). */
  parts: number;
  /** What the text costs, in `unit`. */
  used: number;
  unit: CapacityUnit;
  /** Room in each part: the single-message capacity when parts is 1. */
  perPart: number;
}

export function capacity(unit: CapacityUnit, layout: Layout): number {
  return CAPACITY[unit][layout];
}

/**
 * Cuts encoded text into parts of at most `room` each, only between units, so an escape
 * pair or a surrogate pair is never split. Returns each part's octets.
 */
export function packUnits(encoded: EncodedText, room: number): Buffer[] {
  const parts: Buffer[] = [];
  let current: EncodedUnit[] = [];
  let used = 0;
  for (const unit of encoded.units) {
    if (used + unit.cost > room && current.length > 0) {
      parts.push(unitOctets(current));
      current = [];
      used = 0;
    }
    current.push(unit);
    used += unit.cost;
  }
  if (current.length > 0 || parts.length === 0) parts.push(unitOctets(current));
  return parts;
}

/** The parts an encoded text needs under a concatenation method: one when it fits alone. */
export function splitEncoded(encoded: EncodedText, concatenation: Concatenation): Buffer[] {
  const unit = ALPHABETS[encoded.alphabet].capacityUnit;
  if (encoded.cost <= capacity(unit, "single")) return [unitOctets(encoded.units)];
  return packUnits(encoded, capacity(unit, PART_LAYOUT[concatenation]));
}

/** How many parts a text takes, and in which alphabet. */
export function countSegments(
  text: string,
  options: EncodingOptions & { concatenation?: Concatenation } = {},
): SegmentCount {
  const encoded = encodeText(text, options);
  const concatenation = options.concatenation ?? "udh8";
  const unit = ALPHABETS[encoded.alphabet].capacityUnit;
  const parts = splitEncoded(encoded, concatenation).length;
  const layout = parts === 1 ? "single" : PART_LAYOUT[concatenation];
  return { alphabet: encoded.alphabet, dataCoding: encoded.dataCoding, parts, used: encoded.cost, unit, perPart: capacity(unit, layout) };
}
