/**
 * The alphabets a text can travel in over SMPP, each with its data_coding value, how it is
 * cut into indivisible units, and what each unit costs against a segment's capacity.
 */
import { decodeGsm7, gsm7CharOctets, isGsm7, substituteForGsm7 } from "./gsm7";

/** Alphabets we encode MT text in (and decode MO text from). */
export type Alphabet = "gsm7" | "ia5" | "latin1" | "ucs2";

/** How a segment's capacity is measured: septets for 7-bit alphabets, octets otherwise. */
export type CapacityUnit = "septets" | "octets";

/**
 * One indivisible piece of encoded text: a GSM escape pair, a UTF-16 surrogate pair, or a
 * single character. Segmentation cuts only between units.
 */
export interface EncodedUnit {
  readonly octets: readonly number[];
  /** What the unit uses of a segment, in the alphabet's capacity unit. */
  readonly cost: number;
}

interface AlphabetCodec {
  dataCoding: number;
  capacityUnit: CapacityUnit;
  /** The unit for one character (a whole code point), or undefined if it has none here. */
  encodeChar(ch: string): EncodedUnit | undefined;
  decode(octets: Buffer): string;
}

const ASCII_MAX = 0x7f;
const LATIN1_MAX = 0xff;

// Units are shared, read-only objects where the set is small, so encoding a text allocates
// nothing per character but the array slot.
const GSM7_UNITS = new Map<string, EncodedUnit>();
const IA5_UNITS: EncodedUnit[] = [];
const LATIN1_UNITS: EncodedUnit[] = [];
for (let code = 0; code <= LATIN1_MAX; code++) {
  const ch = String.fromCharCode(code);
  LATIN1_UNITS.push({ octets: [code], cost: 1 });
  // The SMSC converts IA5 to the GSM alphabet for the handset, so a character costs what
  // it costs there: two septets for [ ] { } \ ^ ~ |, one otherwise.
  if (code <= ASCII_MAX) IA5_UNITS.push({ octets: [code], cost: gsm7CharOctets(ch)?.length ?? 1 });
}

function gsm7Unit(ch: string): EncodedUnit | undefined {
  let unit = GSM7_UNITS.get(ch);
  if (!unit) {
    const octets = gsm7CharOctets(ch);
    if (!octets) return undefined;
    unit = { octets, cost: octets.length };
    GSM7_UNITS.set(ch, unit);
  }
  return unit;
}

function encodeUcs2(ch: string): EncodedUnit {
  // A code point above U+FFFF becomes a surrogate pair: one unit of four octets, so a
  // segment boundary can never fall between its halves.
  const octets: number[] = [];
  for (let i = 0; i < ch.length; i++) {
    const code = ch.charCodeAt(i);
    octets.push(code >> 8, code & 0xff);
  }
  return { octets, cost: octets.length };
}

function decodeUcs2(octets: Buffer): string {
  let out = "";
  for (let i = 0; i + 1 < octets.length; i += 2) out += String.fromCharCode(octets.readUInt16BE(i));
  // An odd trailing octet is half a UTF-16 unit and cannot be text.
  return octets.length % 2 === 1 ? out + "?" : out;
}

/**
 * data_coding values are SMPP 3.4's (§5.2.19): 0 SMSC default (we send GSM 03.38 there,
 * never under 1), 1 IA5/ASCII, 3 Latin-1, 8 UCS-2.
 */
export const ALPHABETS: Readonly<Record<Alphabet, AlphabetCodec>> = {
  gsm7: {
    dataCoding: 0x00,
    capacityUnit: "septets",
    encodeChar: gsm7Unit,
    decode: decodeGsm7,
  },
  ia5: {
    dataCoding: 0x01,
    capacityUnit: "septets",
    encodeChar: (ch) => IA5_UNITS[ch.codePointAt(0) ?? Infinity],
    decode: (octets) => Array.from(octets, (code) => (code <= ASCII_MAX ? String.fromCharCode(code) : "?")).join(""),
  },
  latin1: {
    dataCoding: 0x03,
    capacityUnit: "octets",
    encodeChar: (ch) => LATIN1_UNITS[ch.codePointAt(0) ?? Infinity],
    decode: (octets) => octets.toString("latin1"),
  },
  ucs2: {
    dataCoding: 0x08,
    capacityUnit: "octets",
    encodeChar: encodeUcs2,
    decode: decodeUcs2,
  },
};

/** The octets of a run of units, as one Buffer (sized first: this runs for every MT part). */
export function unitOctets(units: readonly EncodedUnit[]): Buffer {
  let length = 0;
  for (const unit of units) length += unit.octets.length;
  const octets = Buffer.alloc(length);
  let at = 0;
  for (const unit of units) for (const octet of unit.octets) octets[at++] = octet;
  return octets;
}

/** Which alphabet MT text should use. Anything it cannot carry goes as UCS-2 instead. */
export type EncodingPreference = "auto" | "ucs2" | "latin1" | "ia5";

export interface EncodingOptions {
  encoding?: EncodingPreference;
  /** Courier's smart substitution: used only when the whole result is then valid GSM. */
  smart?: boolean;
}

export interface EncodedText {
  alphabet: Alphabet;
  dataCoding: number;
  /** The text as it will be sent, after any substitution. */
  text: string;
  units: EncodedUnit[];
  /** Sum of the units' costs, in the alphabet's capacity unit. */
  cost: number;
}

/** Splits text into units of `alphabet`, or undefined if some character does not fit it. */
export function encodeUnits(text: string, alphabet: Alphabet): EncodedUnit[] | undefined {
  const codec = ALPHABETS[alphabet];
  // Sized up front (a character is at most one unit): pushing grew the array three or four
  // times for every MT's text.
  const units = new Array<EncodedUnit>(text.length);
  let count = 0;
  for (const ch of text) {
    const unit = codec.encodeChar(ch);
    if (!unit) return undefined;
    units[count++] = unit;
  }
  units.length = count; // fewer when the text has surrogate pairs
  return units;
}

function encoded(text: string, alphabet: Alphabet, units: EncodedUnit[]): EncodedText {
  let cost = 0;
  for (const unit of units) cost += unit.cost;
  return { alphabet, dataCoding: ALPHABETS[alphabet].dataCoding, text, units, cost };
}

/**
 * Picks the alphabet for an MT and encodes it. "auto" sends GSM 03.38 under data_coding 0
 * when the text fits it (after smart substitution, if asked), else UCS-2. An explicit
 * preference is honoured when the text fits that alphabet; otherwise UCS-2, so no character
 * is ever lost.
 */
export function encodeText(text: string, options: EncodingOptions = {}): EncodedText {
  const preference = options.encoding ?? "auto";
  if (preference === "auto") {
    if (isGsm7(text)) return encoded(text, "gsm7", encodeUnits(text, "gsm7") ?? []);
    if (options.smart) {
      const substituted = substituteForGsm7(text);
      const units = encodeUnits(substituted, "gsm7");
      if (units) return encoded(substituted, "gsm7", units);
    }
  } else if (preference !== "ucs2") {
    const units = encodeUnits(text, preference);
    if (units) return encoded(text, preference, units);
  }
  return encoded(text, "ucs2", encodeUnits(text, "ucs2") ?? []);
}

/** Decodes octets in one of our alphabets. */
export function decodeText(octets: Buffer, alphabet: Alphabet): string {
  return ALPHABETS[alphabet].decode(octets);
}
