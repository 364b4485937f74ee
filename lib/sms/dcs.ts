/**
 * Reading an incoming data_coding octet. Values 0x00-0x0F are SMPP 3.4's own table; the
 * higher ranges follow the GSM 03.38 coding groups, where the alphabet sits in bits 2-3 (or
 * bit 2 in the 0xF0 message-class group), not in the low nibble as node-smpp reads it.
 */
import type { Alphabet } from "./alphabet";

export interface DataCodingInfo {
  /** The alphabet the octets are in, or undefined when they are not text we can read. */
  alphabet?: Alphabet;
  /** Why the octets cannot be read as text (binary data, compression, a reserved value). */
  notText?: string;
  /** GSM message class 0-3, where the value carries one. */
  messageClass?: number;
}

interface DataCodingRule {
  first: number;
  last: number;
  describe(dataCoding: number): DataCodingInfo;
}

const fixed = (info: DataCodingInfo) => () => info;

/** Bits 2-3 of the GSM general and message-waiting groups. */
const GROUP_ALPHABETS: ReadonlyArray<DataCodingInfo> = [
  { alphabet: "gsm7" },
  { notText: "8-bit data" },
  { alphabet: "ucs2" },
  { notText: "reserved alphabet" },
];

function generalGroup(dataCoding: number): DataCodingInfo {
  if (dataCoding & 0x20) return { notText: "compressed text" };
  const info = GROUP_ALPHABETS[(dataCoding >> 2) & 0x03];
  return dataCoding & 0x10 ? { ...info, messageClass: dataCoding & 0x03 } : info;
}

function messageClassGroup(dataCoding: number): DataCodingInfo {
  const info: DataCodingInfo = dataCoding & 0x04 ? { notText: "8-bit data" } : { alphabet: "gsm7" };
  return { ...info, messageClass: dataCoding & 0x03 };
}

/** Scanned in order; the first range containing the value decides. */
const DATA_CODING_RULES: ReadonlyArray<DataCodingRule> = [
  { first: 0x00, last: 0x00, describe: fixed({ alphabet: "gsm7" }) },
  { first: 0x01, last: 0x01, describe: fixed({ alphabet: "ia5" }) },
  { first: 0x02, last: 0x02, describe: fixed({ notText: "8-bit binary" }) },
  { first: 0x03, last: 0x03, describe: fixed({ alphabet: "latin1" }) },
  { first: 0x04, last: 0x04, describe: fixed({ notText: "8-bit binary" }) },
  { first: 0x05, last: 0x07, describe: fixed({ notText: "unsupported national alphabet (JIS, Cyrillic or Hebrew)" }) },
  { first: 0x08, last: 0x08, describe: fixed({ alphabet: "ucs2" }) },
  { first: 0x09, last: 0x0f, describe: fixed({ notText: "unsupported alphabet (pictogram, ISO-2022-JP, Kanji or KS C 5601)" }) },
  { first: 0x10, last: 0x7f, describe: generalGroup },
  { first: 0x80, last: 0xbf, describe: fixed({ notText: "reserved coding group" }) },
  { first: 0xc0, last: 0xdf, describe: fixed({ alphabet: "gsm7" }) },
  { first: 0xe0, last: 0xef, describe: fixed({ alphabet: "ucs2" }) },
  { first: 0xf0, last: 0xff, describe: messageClassGroup },
];

export interface DataCodingOptions {
  /**
   * Per-bind corrections, data_coding → alphabet. Typical: 0 ("SMSC default alphabet") as
   * Latin-1 or ASCII where the SMSC means that, or 1 as GSM for a peer that labels GSM
   * octets IA5 the way node-smpp does.
   */
  dataCodingOverrides?: Readonly<Partial<Record<number, Alphabet>>>;
}

/** What an incoming data_coding octet says about the short message's octets. */
export function describeDataCoding(dataCoding: number, options: DataCodingOptions = {}): DataCodingInfo {
  if (!Number.isInteger(dataCoding) || dataCoding < 0 || dataCoding > 0xff) {
    return { notText: `data_coding ${String(dataCoding)} is not an octet` };
  }
  const override = options.dataCodingOverrides?.[dataCoding];
  if (override) return { alphabet: override };
  const rule = DATA_CODING_RULES.find((r) => dataCoding >= r.first && dataCoding <= r.last);
  // The rules cover 0x00-0xFF, so a rule is always found.
  return rule ? rule.describe(dataCoding) : { notText: "unknown data_coding" };
}
