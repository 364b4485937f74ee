/**
 * User Data Header (3GPP TS 23.040 §9.2.3.24): a length octet (UDHL) then information
 * elements, each IEI, length, data. Concatenation uses IEI 0x00 (8-bit reference) or IEI
 * 0x08 (16-bit reference); their data is reference, total parts, this part's number.
 */

export type ReferenceBits = 8 | 16;

export interface InformationElement {
  iei: number;
  data: Buffer;
}

export interface ConcatInfo {
  reference: number;
  referenceBits: ReferenceBits;
  total: number;
  /** 1-based number of this part. */
  seq: number;
}

interface ConcatElement {
  iei: number;
  referenceBits: ReferenceBits;
  dataLength: number;
}

/** The two concatenation elements, as data: `05 00 03 rr tt nn` and `06 08 04 rr rr tt nn`. */
const CONCAT_ELEMENTS: ReadonlyArray<ConcatElement> = [
  { iei: 0x00, referenceBits: 8, dataLength: 3 },
  { iei: 0x08, referenceBits: 16, dataLength: 4 },
];

/** The whole UDH (UDHL included) carrying one concatenation element. */
export function concatUdh(info: ConcatInfo): Buffer {
  const element = CONCAT_ELEMENTS.find((e) => e.referenceBits === info.referenceBits);
  if (!element) throw new RangeError(`no concatenation element with a ${info.referenceBits}-bit reference`);
  const refOctets = element.dataLength - 2;
  const udh = Buffer.alloc(3 + element.dataLength);
  udh[0] = 2 + element.dataLength;
  udh[1] = element.iei;
  udh[2] = element.dataLength;
  udh.writeUIntBE(info.reference % 2 ** info.referenceBits, 3, refOctets);
  udh[3 + refOctets] = info.total;
  udh[4 + refOctets] = info.seq;
  return udh;
}

/** Length in octets of the UDH `concatUdh` builds for a reference width. */
export function concatUdhLength(referenceBits: ReferenceBits): number {
  return referenceBits === 8 ? 6 : 7;
}

export type UdhSplit =
  | { ok: true; elements: InformationElement[]; body: Buffer }
  | { ok: false; reason: string };

/** Splits a short message that has the UDHI bit set into its elements and the text octets. */
export function splitUdh(message: Buffer): UdhSplit {
  if (message.length === 0) return { ok: false, reason: "UDHI is set but the message is empty" };
  const udhl = message[0];
  if (udhl + 1 > message.length) {
    return { ok: false, reason: `UDH of ${udhl + 1} octets (UDHL ${udhl}) runs past the ${message.length}-octet message` };
  }
  const elements: InformationElement[] = [];
  let offset = 1;
  while (offset < udhl + 1) {
    if (offset + 2 > udhl + 1) return { ok: false, reason: `the UDH ends inside the header of the information element at octet ${offset}` };
    const iei = message[offset];
    const length = message[offset + 1];
    const end = offset + 2 + length;
    if (end > udhl + 1) {
      return { ok: false, reason: `information element 0x${iei.toString(16)} of ${length} octets at octet ${offset} runs past the ${udhl + 1}-octet UDH` };
    }
    elements.push({ iei, data: message.subarray(offset + 2, end) });
    offset = end;
  }
  return { ok: true, elements, body: message.subarray(udhl + 1) };
}

export type ConcatResult = { ok: true; concat?: ConcatInfo } | { ok: false; reason: string };

/** Finds the concatenation element among UDH elements and checks its numbers. */
export function findConcat(elements: readonly InformationElement[]): ConcatResult {
  for (const { iei, data } of elements) {
    const element = CONCAT_ELEMENTS.find((e) => e.iei === iei);
    if (!element) continue;
    if (data.length !== element.dataLength) {
      return { ok: false, reason: `concatenation element 0x${iei.toString(16)} has length ${data.length}, expected ${element.dataLength}` };
    }
    const refOctets = element.dataLength - 2;
    return checkConcat({
      reference: data.readUIntBE(0, refOctets),
      referenceBits: element.referenceBits,
      total: data[refOctets],
      seq: data[refOctets + 1],
    });
  }
  return { ok: true };
}

/** A part number outside 1..total (or a total of 0) is malformed and cannot be placed. */
export function checkConcat(concat: ConcatInfo): ConcatResult {
  if (!Number.isInteger(concat.total) || concat.total < 1 || concat.total > 255) {
    return { ok: false, reason: `concatenation total ${concat.total} is outside 1..255` };
  }
  if (!Number.isInteger(concat.seq) || concat.seq < 1 || concat.seq > concat.total) {
    return { ok: false, reason: `part number ${concat.seq} is outside 1..${concat.total}` };
  }
  return { ok: true, concat };
}
