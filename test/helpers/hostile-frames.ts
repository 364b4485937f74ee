/**
 * The hostile SMSC's frames and what the ESME must answer to each, as one table of cases for
 * both levels that run it: the session alone (test/unit/smpp/hostile-smsc.test.ts) and the
 * SMPP bridge example in a real Node-RED (test/e2e/hostile-smsc.test.ts). Each case names the
 * rule of ../shared/reference/smpp-and-gateways.md it holds the bridge to.
 *
 * Statuses are SMPP 3.4 table 5-2's: ESME_RINVCMDLEN (0x02) "command length is invalid",
 * ESME_RINVMSGLEN (0x01) "message length is invalid", ESME_RINVPARLEN (0xC2, SMPP 5.0's
 * ESME_RINVTLVLEN) "invalid parameter length", ESME_RINVOPTPARSTREAM (0xC0) "error in the
 * optional part of the PDU body"; and generic_nack (§4.3) when the header cannot be read.
 */
import { COMMAND_IDS, deliverSmBody, pduBytes } from "./hostile-smsc";

export const ROK = 0x00;
export const RINVMSGLEN = 0x01;
export const RINVCMDLEN = 0x02;
export const RINVCMDID = 0x03;
export const RINVSRCADR = 0x0a;
export const RINVDSTADR = 0x0b;
export const RINVOPTPARSTREAM = 0xc0;
export const RINVPARLEN = 0xc2;

const STATUS_NAMES: Readonly<Record<number, string>> = {
  [ROK]: "ESME_ROK",
  [RINVMSGLEN]: "ESME_RINVMSGLEN",
  [RINVCMDLEN]: "ESME_RINVCMDLEN",
  [RINVCMDID]: "ESME_RINVCMDID",
  [RINVSRCADR]: "ESME_RINVSRCADR",
  [RINVDSTADR]: "ESME_RINVDSTADR",
  [RINVOPTPARSTREAM]: "ESME_RINVOPTPARSTREAM",
  [RINVPARLEN]: "ESME_RINVPARLEN",
};

export function statusName(status: number): string {
  return STATUS_NAMES[status] ?? `0x${status.toString(16).padStart(2, "0")}`;
}

/** The reference's rules the cases quote (smpp-and-gateways.md, section and words). */
export const RULES = {
  stall: '§0.2(a): "After any PDU parse error … no later PDU is ever processed: a silent stall"',
  fatalHeader: '§9.1: "Treat any error from _extractPDUs as fatal for that session: destroy() it and reconnect"',
  nack: '§3.2 (Kannel): "It answers generic_nack for unknown commands"',
  payload: '§6: "message_payload. TLV 0x0424 carries up to 64K"',
  messageState: '§5.2: "message_state: TLV 0x0427, one octet"',
  ucs2: '§1.2: "UCS2 is UTF-16BE, data_coding 8"',
  udh: '§5.2: "0x40 is UDHI"; §6: a UDH of 6 or 7 octets before the text',
  idForms: '§5.3: id forms differ between SMSCs; §5.2: "receipted_message_id: TLV 0x001E, a C-octet string"',
  neverSilent: '§9.3: "the event is logged. Never drop one silently, as node-smpp does"',
  burst: '§1.4: "Memory and CPU under load on the server side" (node-smpp #132: "100 % CPU in _extractPDUs under high traffic")',
  memory: '§9.9: "RSS under 150 MB during the run"',
  vanish: '§1.4: "#57 (no event on network loss)"; §9.3: "On timeout or disconnect, every in-flight PDU goes back"',
} as const;

/** A deliver_sm body the ESME must refuse with `status`, logging `reason`, handing nothing on. */
export interface RefusedCase {
  name: string;
  body: Buffer;
  status: number;
  reason: RegExp;
}

/** "what → deliver_sm_resp STATUS (rule)", the test name both levels use. */
export function refusedCaseName(c: RefusedCase): string {
  return `${c.name} → deliver_sm_resp ${statusName(c.status)}`;
}

/** Every place a deliver_sm can end early: after each field, and inside each non-empty address. */
function cutCases(): RefusedCase[] {
  const { body, ends } = deliverSmBody({ short_message: Buffer.from("hello") });
  const cases: RefusedCase[] = [{ name: `an empty body (${RULES.stall})`, body: body.subarray(0, 0), status: RINVCMDLEN, reason: /ends (inside|before) service_type/ }];
  for (let i = 0; i < ends.length - 1; i++) {
    const next = ends[i + 1].field;
    // Cut after sm_length, the 5 octets it announces are missing: a message length fault.
    const status = next === "short_message" ? RINVMSGLEN : RINVCMDLEN;
    const reason = next === "short_message" ? /sm_length 5 runs past the PDU \(0 octets left\)/ : new RegExp(`ends (inside|before) ${next}`);
    cases.push({ name: `cut after ${ends[i].field} (${RULES.stall})`, body: body.subarray(0, ends[i].end), status, reason });
  }
  for (const { field, end } of ends) {
    if (!["source_addr", "destination_addr"].includes(field)) continue;
    // Issue #14: a deliver_sm cut inside source_addr was posted to RapidPro from "+25078".
    cases.push({ name: `cut inside ${field}, its NUL missing (${RULES.stall})`, body: body.subarray(0, end - 2), status: RINVCMDLEN, reason: new RegExp(`ends inside ${field}`) });
  }
  return cases;
}

/** Malformed deliver_sm bodies, each answered on the same link, which stays up. */
export function refusedDeliverSmCases(): RefusedCase[] {
  return [
    ...cutCases(),
    {
      name: `sm_length 160 past a 5-octet body (${RULES.stall})`,
      body: deliverSmBody({ sm_length: 160, short_message: Buffer.from("hello") }).body,
      status: RINVMSGLEN,
      reason: /sm_length 160 runs past the PDU \(5 octets left\)/,
    },
    {
      name: `a message_payload TLV whose length runs past the PDU (${RULES.payload})`,
      body: deliverSmBody({ tlvs: [{ tag: 0x0424, value: Buffer.from("abc"), length: 300 }] }).body,
      status: RINVPARLEN,
      reason: /TLV 0x0424 \(message_payload\) length 300 runs past the PDU \(3 octets left\)/,
    },
    {
      name: `a TLV header cut after 2 octets (${RULES.stall})`,
      body: Buffer.concat([deliverSmBody().body, Buffer.from([0x04, 0x27])]),
      status: RINVOPTPARSTREAM,
      reason: /end inside a TLV header \(2 octets left\)/,
    },
    {
      name: `message_state with a length of 2 (${RULES.messageState})`,
      body: deliverSmBody({ esm_class: 0x04, tlvs: [{ tag: 0x0427, value: Buffer.from([0, 2]) }] }).body,
      status: RINVPARLEN,
      reason: /message_state\) has length 2, its type takes 1/,
    },
    {
      name: `UCS-2 text of an odd number of octets (${RULES.ucs2})`,
      body: deliverSmBody({ data_coding: 0x08, short_message: Buffer.from([0x00, 0x68, 0x00]) }).body,
      status: RINVMSGLEN,
      reason: /UCS-2 text of 3 octets is not whole 2-octet units/,
    },
    {
      name: `UCS-2 in message_payload of an odd number of octets (${RULES.ucs2})`,
      body: deliverSmBody({ data_coding: 0x08, short_message: Buffer.alloc(0), tlvs: [{ tag: 0x0424, value: Buffer.from([0x00, 0x68, 0x00]) }] }).body,
      status: RINVMSGLEN,
      reason: /UCS-2 text of 3 octets/,
    },
    {
      name: `a UDH (UDHL 0x74) longer than the 12-octet message (${RULES.udh})`,
      body: deliverSmBody({ esm_class: 0x40, short_message: Buffer.from("74" + "00".repeat(11), "hex") }).body,
      status: RINVMSGLEN,
      reason: /UDH of 117 octets \(UDHL 116\) runs past the 12-octet message/,
    },
    {
      name: "a source_addr of 21 characters (SMPP 3.4 §4.6.1: at most 20 and the NUL)",
      body: deliverSmBody({ source_addr: "1".repeat(21) }).body,
      status: RINVSRCADR,
      reason: /source_addr is 21 characters, more than the 20 allowed/,
    },
    {
      // Was posted to RapidPro as the sender "2507\r\n[warn] x", CR LF and all.
      name: "a source_addr holding CR LF and a forged log line (SMPP 3.4 §4.6.1: source_addr is an address, digits or an alphanumeric sender)",
      body: deliverSmBody({ source_addr: "2507\r\n[warn] x" }).body,
      status: RINVSRCADR,
      // The value as it came in the 'refused' event, escaped in a log line (lib/session/base.ts).
      reason: /source_addr "2507(\r|\\r)(\n|\\n)\[warn\] x" holds a control character \(0x0d\) at character 4/,
    },
    {
      name: "a source_addr holding a C1 control character (SMPP 3.4 §4.6.1)",
      body: deliverSmBody({ source_addr: "25078\x85" }).body,
      status: RINVSRCADR,
      reason: /source_addr "25078(\x85|\\x85)" holds a control character \(0x85\) at character 5/,
    },
    {
      name: "a destination_addr holding ESC (SMPP 3.4 §4.6.1)",
      body: deliverSmBody({ destination_addr: "20\x1b20" }).body,
      status: RINVDSTADR,
      // eslint-disable-next-line no-control-regex -- the raw ESC, as the 'refused' event carries it
      reason: /destination_addr "20(\x1b|\\x1b)20" holds a control character \(0x1b\) at character 2/,
    },
  ];
}

/** A stream whose header cannot be read: answered generic_nack ESME_RINVCMDLEN, then the link closes. */
export interface UnreadableCase {
  name: string;
  bytes: Buffer;
  /** The sequence number the generic_nack carries (0 when the header has none). */
  sequence: number;
  reason: RegExp;
}

export const UNREADABLE_HEADER_CASES: readonly UnreadableCase[] = [
  {
    name: `command_length 0xFFFFFFFF (${RULES.fatalHeader})`,
    bytes: pduBytes(COMMAND_IDS.deliver_sm, 4242, Buffer.alloc(0), 0, 0xffffffff),
    sequence: 4242,
    reason: /command_length 4294967295 too large \(maximum 16384\)/,
  },
  {
    name: `command_length 8, below the 16-octet header (${RULES.fatalHeader})`,
    bytes: Buffer.from([0, 0, 0, 8, 0, 0, 0, 5]),
    sequence: 0,
    reason: /command_length 8 is below the 16-octet header/,
  },
  {
    name: `command_length 0 (${RULES.fatalHeader})`,
    bytes: pduBytes(COMMAND_IDS.deliver_sm, 77, Buffer.alloc(0), 0, 0),
    sequence: 0,
    reason: /command_length 0 is below/,
  },
];

/** Requests the ESME does not serve: answered ESME_RINVCMDID, reported, and the link stays up. */
export const UNSERVED_REQUEST_CASES: ReadonlyArray<{ name: string; bytes: Buffer; sequence: number; answer: string; logged: RegExp }> = [
  {
    name: `an unknown command id 0x00000099 → generic_nack ESME_RINVCMDID (${RULES.nack})`,
    bytes: pduBytes(0x00000099, 5501, Buffer.from("abc")),
    sequence: 5501,
    answer: "generic_nack",
    logged: /refused command 0x00000099 \(sequence 5501\) with generic_nack ESME_RINVCMDID \(0x03\): unknown command id/,
  },
  {
    name: 'data_sm, a request this ESME does not serve → data_sm_resp ESME_RINVCMDID (SMPP 3.4 table 5-2: "invalid command id")',
    bytes: pduBytes(COMMAND_IDS.data_sm, 5502, Buffer.from("abc")),
    sequence: 5502,
    answer: "data_sm_resp",
    logged: /refused data_sm \(sequence 5502\) with data_sm_resp ESME_RINVCMDID \(0x03\): a request this ESME does not serve/,
  },
];

/** Responses for no request in flight: three submit_sm_resp for sequences never sent, one generic_nack. */
export function strayFrames(): Buffer[] {
  return [
    ...Array.from({ length: 3 }, (_, i) => pduBytes(COMMAND_IDS.submit_sm_resp, 0x7ffffff0 + i, Buffer.from(`x${i}\0`))),
    pduBytes(COMMAND_IDS.generic_nack, 0, Buffer.alloc(0), RINVCMDLEN),
  ];
}

/** What the ESME logs for those strays: once per kind, with the count so far. */
export const STRAY_LOG_LINES: readonly RegExp[] = [
  /stray submit_sm_resp \(sequence 2147483632, ESME_ROK \(0x00\)\) matches no request in flight; 1 such so far/,
  /stray generic_nack \(sequence 0, ESME_RINVCMDLEN \(0x02\)\) matches no request in flight; 1 such so far/,
];

/** `count` well-formed deliver_sm (MO) in one buffer, sequences from `first`, texts `textOf(i)`. */
export function deliverSmBurst(count: number, first: number, textOf: (i: number) => string): Buffer {
  return Buffer.concat(Array.from({ length: count }, (_, i) => pduBytes(COMMAND_IDS.deliver_sm, first + i, deliverSmBody({ short_message: Buffer.from(textOf(i), "latin1") }).body)));
}
