/**
 * submit_sm content for one MT: addresses, alphabet, segmentation. Produces plain objects
 * with the `smpp` package's field names. `short_message` and `message_payload` are Buffers,
 * which that package writes unchanged, so its encoding auto-detection (GSM bytes labelled
 * data_coding 1) never runs and the data_coding we chose is the one sent.
 */
import { randomInt } from "node:crypto";
import type { MT, SubmitError } from "../contract";
import { encodeText, type Alphabet, type EncodingOptions } from "../sms/alphabet";
import { splitEncoded, type Concatenation } from "../sms/segment";
import { concatUdh, type ReferenceBits } from "../sms/udh";
import { typeAddress, type AddressOverride } from "./address";

/** esm_class bit 6: the short message starts with a User Data Header. */
export const ESM_CLASS_UDHI = 0x40;

/**
 * The largest message_payload we put in one PDU: node-smpp refuses PDUs over 16384 octets
 * (its PDU.maxLength), and the header, addresses and TLV headers need some of that.
 */
export const MAX_PAYLOAD_OCTETS = 16000;

/** A short_message is at most 254 octets (node-smpp throws RangeError beyond, reference §1.2). */
const MAX_SHORT_MESSAGE_OCTETS = 254;

/** A type alias, not an interface, so it fits the `smpp` typings' `Record<string, unknown>`. */
export type SubmitSmParams = {
  service_type: string;
  source_addr_ton: number;
  source_addr_npi: number;
  source_addr: string;
  dest_addr_ton: number;
  dest_addr_npi: number;
  destination_addr: string;
  esm_class: number;
  protocol_id: number;
  priority_flag: number;
  validity_period?: string;
  registered_delivery: number;
  data_coding: number;
  short_message: Buffer;
  message_payload?: Buffer;
  sar_msg_ref_num?: number;
  sar_total_segments?: number;
  sar_segment_seqnum?: number;
  more_messages_to_send?: number;
};

/** Gives the concatenation reference for the next long message; width is 8 or 16 bits. */
export type ReferenceGenerator = (bits: ReferenceBits) => number;

export interface SubmitSmOptions extends EncodingOptions {
  split?: Concatenation;
  /** At most this many parts; a longer text is refused, never truncated. Default 10. */
  maxParts?: number;
  /** SMPP registered_delivery; default 1, a receipt on final success or failure. */
  registeredDelivery?: number;
  /** Relative validity period in minutes (1 to 99 days' worth). */
  validityMinutes?: number;
  /** priority_flag 0-3. */
  priority?: number;
  serviceType?: string;
  /** Set more_messages_to_send on all parts but the last (Kannel and Jasmin do). */
  moreMessagesToSend?: boolean;
  source?: AddressOverride;
  destination?: AddressOverride;
  nextReference?: ReferenceGenerator;
}

export type SubmitBuild =
  | { ok: true; pdus: SubmitSmParams[]; parts: number; alphabet: Alphabet; dataCoding: number; reference?: number }
  | { ok: false; error: SubmitError };

const DEFAULT_MAX_PARTS = 10;
const MAX_VALIDITY_DAYS = 99;

/**
 * A process-wide counter that starts at a random value, so references restart somewhere
 * new after a restart instead of at 0 every time.
 */
export function createReferenceGenerator(start = randomInt(0x10000)): ReferenceGenerator {
  let next = start;
  return (bits) => {
    const reference = next % 2 ** bits;
    next = (next + 1) % 0x10000;
    return reference;
  };
}

const defaultReference = createReferenceGenerator();

function refuse(code: string, text: string): SubmitBuild {
  return { ok: false, error: { code, text, temporary: false } };
}

/** SMPP relative time "YYMMDDhhmmss000R" (SMPP 3.4 §7.1.1.2) for a number of minutes. */
export function relativeValidity(minutes: number): string | undefined {
  if (!Number.isInteger(minutes) || minutes < 1 || minutes >= (MAX_VALIDITY_DAYS + 1) * 1440) return undefined;
  const two = (n: number) => String(n).padStart(2, "0");
  return `0000${two(Math.floor(minutes / 1440))}${two(Math.floor((minutes % 1440) / 60))}${two(minutes % 60)}00000R`;
}

function inOctetRange(value: number, max: number): boolean {
  return Number.isInteger(value) && value >= 0 && value <= max;
}

/** Builds the submit_sm PDUs for an MT, or says why it cannot be sent. */
export function buildSubmitSm(mt: MT, options: SubmitSmOptions = {}): SubmitBuild {
  if (typeof mt?.text !== "string") return refuse("INVALID_TEXT", "MT text is not a string");
  const source = typeAddress(mt.from, "source", options.source);
  if (!source.ok) return refuse("INVALID_SOURCE", source.reason);
  const destination = typeAddress(mt.to, "destination", options.destination);
  if (!destination.ok) return refuse("INVALID_DESTINATION", destination.reason);

  const split = options.split ?? "udh8";
  const maxParts = options.maxParts ?? DEFAULT_MAX_PARTS;
  const registeredDelivery = options.registeredDelivery ?? 1;
  const priority = options.priority ?? 0;
  if (!inOctetRange(maxParts, 255) || maxParts < 1) return refuse("INVALID_OPTION", `maxParts ${maxParts} is outside 1..255`);
  if (!inOctetRange(registeredDelivery, 0xff)) return refuse("INVALID_OPTION", `registeredDelivery ${registeredDelivery} is not an octet`);
  if (!inOctetRange(priority, 3)) return refuse("INVALID_OPTION", `priority ${priority} is outside 0..3`);
  let validity: string | undefined;
  if (options.validityMinutes !== undefined) {
    validity = relativeValidity(options.validityMinutes);
    if (!validity) return refuse("INVALID_OPTION", `validityMinutes ${options.validityMinutes} is outside 1..${MAX_VALIDITY_DAYS * 1440 + 1439}`);
  }

  const encoded = encodeText(mt.text, options);
  const bodies = splitEncoded(encoded, split);
  if (bodies.length > maxParts) {
    return refuse("TOO_MANY_PARTS", `text needs ${bodies.length} parts in ${encoded.alphabet}, more than the ${maxParts} allowed`);
  }

  const common: SubmitSmParams = {
    service_type: options.serviceType ?? "",
    source_addr_ton: source.ton,
    source_addr_npi: source.npi,
    source_addr: source.addr,
    dest_addr_ton: destination.ton,
    dest_addr_npi: destination.npi,
    destination_addr: destination.addr,
    esm_class: 0,
    protocol_id: 0,
    priority_flag: priority,
    registered_delivery: registeredDelivery,
    data_coding: encoded.dataCoding,
    short_message: Buffer.alloc(0),
  };
  if (validity) common.validity_period = validity;
  const result = { parts: bodies.length, alphabet: encoded.alphabet, dataCoding: encoded.dataCoding };

  if (bodies.length === 1) return { ok: true, pdus: [{ ...common, short_message: bodies[0] }], ...result };

  if (split === "payload") {
    // One PDU carries everything; the SMSC does the cutting. short_message stays empty:
    // SMPP 3.4 does not allow both fields to carry the text.
    const payload = Buffer.concat(bodies);
    if (payload.length > MAX_PAYLOAD_OCTETS) {
      return refuse("TOO_LONG", `message_payload of ${payload.length} octets exceeds ${MAX_PAYLOAD_OCTETS}`);
    }
    return { ok: true, pdus: [{ ...common, message_payload: payload }], ...result };
  }

  const bits: ReferenceBits = split === "udh8" ? 8 : 16;
  const reference = (options.nextReference ?? defaultReference)(bits) % 2 ** bits;
  const total = bodies.length;
  const pdus = bodies.map((body, index): SubmitSmParams => {
    const seq = index + 1;
    const more = options.moreMessagesToSend && seq < total ? { more_messages_to_send: 1 } : {};
    if (split === "sar") {
      // SAR parts carry no UDH: SAR TLVs "must not be combined with a UDHI short message".
      return { ...common, ...more, short_message: body, sar_msg_ref_num: reference, sar_total_segments: total, sar_segment_seqnum: seq };
    }
    const shortMessage = Buffer.concat([concatUdh({ reference, referenceBits: bits, total, seq }), body]);
    return { ...common, ...more, esm_class: common.esm_class | ESM_CLASS_UDHI, short_message: shortMessage };
  });
  // Capacity tables keep every part well under the limit; this guards the invariant.
  const oversized = pdus.find((p) => p.short_message.length > MAX_SHORT_MESSAGE_OCTETS);
  if (oversized) return refuse("TOO_LONG", `a part of ${oversized.short_message.length} octets exceeds ${MAX_SHORT_MESSAGE_OCTETS}`);
  return { ok: true, pdus, ...result, reference };
}
