/**
 * What the SMSC delivers (aggregator-protocols.md §2.2, §2.4): OT 52 (and the legacy OT 01)
 * MO messages and OT 53 delivery notifications, read from a frame's fields into plain data.
 * An MO part keeps its octets, alphabet and concatenation info so `lib/sms/reassembly.ts`
 * can join parts; the text of a single part is decoded here. Strict: a field that must be
 * hex and is not, an XSer that runs past its end, or a notification without its key is an
 * error with a reason, never a guess.
 */
import type { StatusName } from "../contract";
import { decodeText, type Alphabet } from "../sms/alphabet";
import { describeDataCoding } from "../sms/dcs";
import { findConcat, splitUdh, type ConcatInfo } from "../sms/udh";
import { readOadc } from "./address";
import type { Fields } from "./operations";
import { XSER_DCS, XSER_UDH, correlationKey, type TextAlphabet } from "./submit";
import { parseUcpTime } from "./time";

export interface XserElement {
  type: number;
  data: Buffer;
}

export type Parsed<T> = { ok: true; value: T } | { ok: false; reason: string };

const isHex = (text: string) => /^([0-9A-Fa-f]{2})*$/.test(text);

/** XSer: a run of `TT LL DATA`, all hex (§2.4). */
export function parseXser(xser: string): Parsed<XserElement[]> {
  if (!isHex(xser)) return { ok: false, reason: `XSer ${JSON.stringify(xser.slice(0, 40))} is not hex` };
  const octets = Buffer.from(xser, "hex");
  const elements: XserElement[] = [];
  let at = 0;
  while (at < octets.length) {
    if (at + 2 > octets.length) return { ok: false, reason: `XSer element at octet ${at} has no length` };
    const type = octets[at];
    const end = at + 2 + octets[at + 1];
    if (end > octets.length) return { ok: false, reason: `XSer element type ${type} runs past the end of XSer` };
    elements.push({ type, data: octets.subarray(at + 2, end) });
    at = end;
  }
  return { ok: true, value: elements };
}

export interface MoPart {
  /** The mobile that sent it (OAdC; `+` when OTOA says international). */
  from: string;
  /** The short number it was sent to (ADC). */
  to: string;
  scts?: string;
  /** SCTS as ISO 8601, or undefined (OT 01 has none). */
  date?: string;
  /** The text octets (UDH removed) and their alphabet, for reassembly. */
  octets: Buffer;
  alphabet?: Alphabet;
  /** Why the octets are not text (8-bit data, a reserved DCS). */
  notText?: string;
  /** The decoded text of this part alone (undefined when not text). */
  text?: string;
  concat?: ConcatInfo;
  /** The DCS from XSer type 02, if any. */
  dcs?: number;
}

export interface DeliverOptions {
  /** What MT 3 octets are: GSM 03.38 codes (Kannel) or IRA. Default "gsm". */
  alphabet?: TextAlphabet;
  utcOffsetMinutes?: number;
}

function messageOctets(mt: string, msg: string, nb: string): Parsed<Buffer> {
  if (mt === "2") {
    if (!/^\d*$/.test(msg)) return { ok: false, reason: "numeric message (MT 2) has characters other than digits" };
    return { ok: true, value: Buffer.from(msg, "latin1") };
  }
  if (mt !== "3" && mt !== "4") return { ok: false, reason: `message type MT ${JSON.stringify(mt)} is not 2, 3 or 4` };
  if (!isHex(msg)) return { ok: false, reason: `MT ${mt} message is not hex` };
  const octets = Buffer.from(msg, "hex");
  if (mt === "4" && nb !== "") {
    const bits = Number(nb);
    if (!/^\d{1,4}$/.test(nb) || bits > octets.length * 8 || bits <= (octets.length - 1) * 8) {
      return { ok: false, reason: `NB ${nb} bits does not match the ${octets.length} octets of TMsg` };
    }
  }
  return { ok: true, value: octets };
}

/** An OT 52 or OT 01 operation's fields as an MO part. */
export function decodeMo(ot: 1 | 52, fields: Fields, options: DeliverOptions = {}): Parsed<MoPart> {
  const from = readOadc(fields.OADC ?? "", fields.OTOA ?? "");
  if (!from.ok) return from;
  if (from.value === "") return { ok: false, reason: "MO has no sender (OAdC)" };
  const to = fields.ADC ?? "";
  if (!/^\d{1,16}$/.test(to)) return { ok: false, reason: `MO recipient ADC ${JSON.stringify(to)} is not 1-16 digits` };
  const mt = fields.MT ?? "";
  const octets = messageOctets(mt, fields.MSG ?? "", ot === 52 ? (fields.NB ?? "") : "");
  if (!octets.ok) return octets;
  const part: MoPart = { from: from.value, to, octets: octets.value };
  if (ot === 52) {
    const scts = fields.SCTS ?? "";
    if (scts !== "") {
      const date = parseUcpTime(scts, options.utcOffsetMinutes);
      if (!/^\d{12}$/.test(scts) || !date) return { ok: false, reason: `SCTS ${JSON.stringify(scts)} is not DDMMYYhhmmss` };
      part.scts = scts;
      part.date = date;
    }
    const xser = parseXser(fields.XSER ?? "");
    if (!xser.ok) return xser;
    for (const element of xser.value) {
      if (element.type === XSER_UDH) {
        const udh = splitUdh(element.data);
        if (!udh.ok) return { ok: false, reason: `XSer UDH: ${udh.reason}` };
        if (udh.body.length > 0) return { ok: false, reason: `XSer UDH has ${udh.body.length} octets after its UDHL` };
        const concat = findConcat(udh.elements);
        if (!concat.ok) return { ok: false, reason: `XSer UDH: ${concat.reason}` };
        if (concat.concat) part.concat = concat.concat;
      } else if (element.type === XSER_DCS) {
        if (element.data.length !== 1) return { ok: false, reason: `XSer DCS has ${element.data.length} octets, expected 1` };
        part.dcs = element.data[0];
      }
    }
  }
  if (mt === "2") part.alphabet = "ia5";
  else if (mt === "3") part.alphabet = options.alphabet === "ira" ? "ia5" : "gsm7";
  else {
    // MT 4 without a DCS is 8-bit data (Kannel: "Used for 8-bit data and UCS2").
    const info = describeDataCoding(part.dcs ?? 0x04);
    if (info.alphabet) part.alphabet = info.alphabet;
    else part.notText = info.notText;
  }
  if (part.alphabet) part.text = decodeText(part.octets, part.alphabet);
  return { ok: true, value: part };
}

/**
 * DST (§2.2): "0 delivered / 1 buffered / 2 not delivered". Buffered is not final; like every
 * non-final SMPP receipt state (lib/smpp/receipt.ts, BUFFRED) it means "sent" to RapidPro.
 */
export const DELIVERY_STATES = {
  "0": { status: "delivered", final: true, contractStatus: "delivered" },
  "1": { status: "buffered", final: false, contractStatus: "sent" },
  "2": { status: "failed", final: true, contractStatus: "failed" },
} as const;

export interface Notification {
  /** The original recipient (OAdC of the OT 53). */
  recipient: string;
  /** The original sender (ADC of the OT 53). */
  sender: string;
  /** SCTS of the original submit, from its positive result. */
  scts: string;
  /** "recipient:SCTS", as `correlationKey` builds it from the submit's result. */
  key: string;
  dst: "0" | "1" | "2";
  status: "delivered" | "buffered" | "failed";
  final: boolean;
  /** The message contract's status for RapidPro (buffered = "sent"). */
  contractStatus: StatusName;
  /** Set for failures: what RapidPro shows as the reason ("RSN 107: <the SMSC's text>"). */
  reason?: string;
  /** RSN, the three-digit reason code, when given. */
  rsn?: string;
  dscts?: string;
  /** DSCTS as ISO 8601. */
  date?: string;
  /** The human text the SMSC put in AMsg. */
  text?: string;
}

/** An OT 53 operation's fields as a notification. */
export function decodeNotification(fields: Fields, options: DeliverOptions = {}): Parsed<Notification> {
  const recipient = fields.OADC ?? "";
  if (!/^\d{1,16}$/.test(recipient)) return { ok: false, reason: `notification OAdC ${JSON.stringify(recipient)} is not 1-16 digits` };
  const scts = fields.SCTS ?? "";
  if (!/^\d{12}$/.test(scts) || !parseUcpTime(scts)) return { ok: false, reason: `notification SCTS ${JSON.stringify(scts)} is not DDMMYYhhmmss` };
  const dst = fields.DST ?? "";
  if (!(dst in DELIVERY_STATES)) return { ok: false, reason: `notification DST ${JSON.stringify(dst)} is not 0, 1 or 2` };
  const state = DELIVERY_STATES[dst as keyof typeof DELIVERY_STATES];
  const rsn = fields.RSN ?? "";
  if (rsn !== "" && !/^\d{1,3}$/.test(rsn)) return { ok: false, reason: `notification RSN ${JSON.stringify(rsn)} is not a number` };
  const note: Notification = {
    recipient,
    sender: fields.ADC ?? "",
    scts,
    key: correlationKey(recipient, scts),
    dst: dst as Notification["dst"],
    status: state.status,
    final: state.final,
    contractStatus: state.contractStatus,
  };
  if (rsn !== "") note.rsn = rsn.padStart(3, "0");
  const dscts = fields.DSCTS ?? "";
  if (dscts !== "") {
    const date = parseUcpTime(dscts, options.utcOffsetMinutes);
    if (!/^\d{12}$/.test(dscts) || !date) return { ok: false, reason: `notification DSCTS ${JSON.stringify(dscts)} is not DDMMYYhhmmss` };
    note.dscts = dscts;
    note.date = date;
  }
  const msg = fields.MSG ?? "";
  if (msg !== "") {
    if ((fields.MT ?? "3") !== "3" || !isHex(msg)) return { ok: false, reason: "notification text is not MT 3 hex" };
    note.text = decodeText(Buffer.from(msg, "hex"), options.alphabet === "ira" ? "ia5" : "gsm7");
  }
  if (note.status === "failed") note.reason = [note.rsn ? `RSN ${note.rsn}` : "not delivered", note.text].filter(Boolean).join(": ");
  return { ok: true, value: note };
}
