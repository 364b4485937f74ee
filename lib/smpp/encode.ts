/**
 * A direct encoder for submit_sm, the one PDU the bridge sends per message part.
 *
 * The `smpp` package encodes any PDU generically: its constructor walks the command's field
 * table and copies every option, `toBuffer` runs the field filters over every property and
 * walks the table twice more. For thousands of submits a second that was about 5 % of the
 * bridge's CPU. This writes the same bytes for the params `buildSubmitSm` produces (test:
 * byte-for-byte equality with the package over a table of messages), and returns undefined
 * for anything else, so the caller falls back to the package: an unknown field, a string
 * short_message (which the package would encode by data_coding), a value out of range (which
 * the package refuses with its own error).
 */

/** submit_sm's mandatory fields in wire order (SMPP 3.4 §4.4.1), with their types. */
const FIELDS: ReadonlyArray<readonly [string, "cstring" | "int8" | "sm"]> = [
  ["service_type", "cstring"],
  ["source_addr_ton", "int8"],
  ["source_addr_npi", "int8"],
  ["source_addr", "cstring"],
  ["dest_addr_ton", "int8"],
  ["dest_addr_npi", "int8"],
  ["destination_addr", "cstring"],
  ["esm_class", "int8"],
  ["protocol_id", "int8"],
  ["priority_flag", "int8"],
  ["schedule_delivery_time", "cstring"],
  ["validity_period", "cstring"],
  ["registered_delivery", "int8"],
  ["replace_if_present_flag", "int8"],
  ["data_coding", "int8"],
  ["sm_default_msg_id", "int8"],
  ["short_message", "sm"],
];
const FIELD_NAMES = new Set(FIELDS.map(([name]) => name));

/** The optional parameters buildSubmitSm may add: tag and value type. */
const TLVS: Readonly<Record<string, readonly [number, "int8" | "int16" | "buffer"]>> = {
  sar_msg_ref_num: [0x020c, "int16"],
  sar_total_segments: [0x020e, "int8"],
  sar_segment_seqnum: [0x020f, "int8"],
  message_payload: [0x0424, "buffer"],
  more_messages_to_send: [0x0426, "int8"],
};

const SUBMIT_SM = 0x00000004;
const HEADER_OCTETS = 16;

function intFits(value: unknown, max: number): boolean {
  return value === undefined || value === null || (typeof value === "number" && Number.isInteger(value) && value >= 0 && value <= max);
}

/**
 * The submit_sm PDU for `params` with this sequence number, or undefined when the params
 * hold anything this encoder does not write exactly as the `smpp` package would.
 */
export function encodeSubmitSm(params: Readonly<Record<string, unknown>>, sequence: number): Buffer | undefined {
  // Size first, refusing what we do not handle.
  let length = HEADER_OCTETS;
  for (const [name, type] of FIELDS) {
    const value = params[name];
    // The package treats a field given as undefined differently from one left out.
    if (value === undefined && name in params) return undefined;
    if (type === "int8") {
      if (!intFits(value, 0xff)) return undefined;
      length += 1;
    } else if (type === "cstring") {
      if (value === undefined) length += 1;
      // The package pads a relative time of 12 characters or fewer; ours are always 16.
      else if (typeof value !== "string" || ((name === "validity_period" || name === "schedule_delivery_time") && value !== "" && value.length <= 12)) return undefined;
      else length += value.length + 1;
    } else {
      if (value === undefined) length += 1;
      else if (!Buffer.isBuffer(value) || value.length > 0xff) return undefined;
      else length += value.length + 1;
    }
  }
  for (const key of Object.keys(params)) {
    if (FIELD_NAMES.has(key)) continue;
    const tlv = TLVS[key];
    if (!tlv) return undefined;
    const value = params[key];
    if (value === undefined) return undefined; // the package would write it as 0
    if (tlv[1] === "buffer") {
      if (!Buffer.isBuffer(value) || value.length > 0xffff) return undefined;
      length += 4 + value.length;
    } else {
      if (!intFits(value, tlv[1] === "int8" ? 0xff : 0xffff)) return undefined;
      length += 4 + (tlv[1] === "int8" ? 1 : 2);
    }
  }

  const out = Buffer.allocUnsafe(length);
  out.writeUInt32BE(length, 0);
  out.writeUInt32BE(SUBMIT_SM, 4);
  out.writeUInt32BE(0, 8);
  out.writeUInt32BE(sequence, 12);
  let at = HEADER_OCTETS;
  for (const [name, type] of FIELDS) {
    const value = params[name];
    if (type === "int8") {
      out[at++] = (value as number) || 0;
    } else if (type === "cstring") {
      // One octet per UTF-16 unit, as the package's Buffer.from(value, "ascii") does.
      if (value) at += out.write(value as string, at, "latin1");
      out[at++] = 0;
    } else {
      const sm = (value as Buffer | undefined) ?? EMPTY;
      out[at++] = sm.length;
      at += sm.copy(out, at);
    }
  }
  // Optional parameters in the order the params object has them, as the package writes them.
  for (const key of Object.keys(params)) {
    const tlv = TLVS[key];
    const value = params[key];
    if (!tlv) continue;
    const [tag, type] = tlv;
    out.writeUInt16BE(tag, at);
    if (type === "buffer") {
      const buffer = value as Buffer;
      out.writeUInt16BE(buffer.length, at + 2);
      at += 4;
      at += buffer.copy(out, at);
    } else if (type === "int16") {
      out.writeUInt16BE(2, at + 2);
      out.writeUInt16BE((value as number) || 0, at + 4);
      at += 6;
    } else {
      out.writeUInt16BE(1, at + 2);
      out[at + 4] = (value as number) || 0;
      at += 5;
    }
  }
  return out;
}

const EMPTY = Buffer.alloc(0);

const DELIVER_SM_RESP = 0x80000005;

/**
 * A PDU of the header alone: a response with a non-zero command_status ("the PDU body is
 * not returned", SMPP 3.4 §4.4.2) or a generic_nack (command_id 0x80000000).
 */
export function encodeHeaderOnly(commandId: number, status: number, sequence: number): Buffer {
  const out = Buffer.alloc(HEADER_OCTETS);
  out.writeUInt32BE(HEADER_OCTETS, 0);
  out.writeUInt32BE(commandId >>> 0, 4);
  out.writeUInt32BE(status >>> 0, 8);
  out.writeUInt32BE(sequence >>> 0, 12);
  return out;
}

/**
 * deliver_sm_resp, as the package's `pdu.response({ command_status })` encodes it: with
 * status 0 the header and an empty message_id; with any other status the header alone.
 */
export function encodeDeliverSmResp(sequence: number, status: number): Buffer {
  if (status !== 0) return encodeHeaderOnly(DELIVER_SM_RESP, status, sequence);
  const out = Buffer.alloc(HEADER_OCTETS + 1);
  out.writeUInt32BE(HEADER_OCTETS + 1, 0);
  out.writeUInt32BE(DELIVER_SM_RESP, 4);
  out.writeUInt32BE(sequence >>> 0, 12);
  return out;
}
