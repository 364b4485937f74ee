import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import { readDeliverSm, type DeliverContent, type DeliverSmFields } from "../../../lib/smpp/deliver";
import { Reassembler, type PartialMessage } from "../../../lib/sms/reassembly";


/** The deliver_sm as the session layer sees it: encoded and decoded by the smpp package. */
function viaPackage(fields: Record<string, unknown>): DeliverSmFields {
  const wire = new smpp.PDU("deliver_sm", { source_addr: "250788000001", destination_addr: "1234", ...fields }).toBuffer();
  const pdu = smpp.PDU.fromBuffer(wire);
  assert.ok(pdu, "the package reads back what it wrote");
  return pdu;
}

const NOW = Date.parse("2026-11-23T07:00:00.000Z");
const now = () => NOW;
const hex = (s: string) => Buffer.from(s.replace(/ /g, ""), "hex");

type Expected = { mo: string; from?: string } | { receipt: [string, string] } | { invalid: RegExp; commandStatus?: number };

function check(result: DeliverContent<unknown>, expected: Expected) {
  if ("mo" in expected) {
    assert.equal(result.kind, "mo", JSON.stringify(result));
    if (result.kind === "mo") assert.deepEqual(result.mo, { from: expected.from ?? "250788000001", to: "1234", text: expected.mo, date: "2026-11-23T07:00:00.000Z" });
  } else if ("receipt" in expected) {
    assert.equal(result.kind, "receipt", JSON.stringify(result));
    if (result.kind === "receipt") assert.deepEqual([result.receipt.messageId, result.receipt.status], expected.receipt);
  } else {
    assert.equal(result.kind, "invalid", JSON.stringify(result));
    if (result.kind === "invalid") {
      assert.match(result.reason, expected.invalid);
      assert.equal(result.commandStatus, expected.commandStatus);
    }
  }
}

describe("reading a deliver_sm as the smpp package hands it over", () => {
  const cases: Array<{ name: string; fields: Record<string, unknown>; expected: Expected }> = [
    { name: "reference §1.3: 'Incoming dc=0, bytes 48 00 1B 28 decoded as \"H@{\"'", fields: { data_coding: 0, short_message: hex("48 00 1b 28") }, expected: { mo: "H@{" } },
    {
      name: "an international sender (source_addr_ton 1) comes out in E.164 with +",
      fields: { source_addr_ton: 1, source_addr: "250788000001", data_coding: 0, short_message: Buffer.from("x") },
      expected: { mo: "x", from: "+250788000001" },
    },
    { name: "GSM with € and a newline", fields: { data_coding: 0, short_message: hex("41 1b65 0a 42") }, expected: { mo: "A€\nB" } },
    { name: "UCS-2 with a surrogate pair", fields: { data_coding: 8, short_message: hex("0068 0069 0020 d83dde00") }, expected: { mo: "hi 😀" } },
    { name: "Latin-1 (data_coding 3)", fields: { data_coding: 3, short_message: Buffer.from("café", "latin1") }, expected: { mo: "café" } },
    { name: "IA5 (data_coding 1)", fields: { data_coding: 1, short_message: Buffer.from("Hello [x]", "latin1") }, expected: { mo: "Hello [x]" } },
    {
      name: "reference §1.3: 'values such as 0xF0-0xF7 are read as the wrong encoding' (issue #66): 0xF3 is GSM class 3, not Latin-1",
      fields: { data_coding: 0xf3, short_message: hex("48 00 1b 28 1b 65") },
      expected: { mo: "H@{€" },
    },
    { name: "0xF0: GSM 7-bit class 0 (flash)", fields: { data_coding: 0xf0, short_message: hex("48 69 00") }, expected: { mo: "Hi@" } },
    { name: "0x18: UCS-2 class 0", fields: { data_coding: 0x18, short_message: hex("0416") }, expected: { mo: "Ж" } },
    { name: "0xF4: 8-bit data is not text: refused with ESME_RINVDCS", fields: { data_coding: 0xf4, short_message: hex("0102") }, expected: { invalid: /8-bit data/, commandStatus: 0x104 } },
    { name: "data_coding 4: binary is not text", fields: { data_coding: 4, short_message: hex("0102") }, expected: { invalid: /binary/, commandStatus: 0x104 } },
    {
      name: "reference §3.5: 'An MO body in message_payload is accepted when sm_length is 0'",
      fields: { data_coding: 0, message_payload: Buffer.from("a".repeat(300), "latin1") },
      expected: { mo: "a".repeat(300) },
    },
    {
      name: "reference §4.1: drive_smpp adds receipted_message_id to every MO; esm_class 0 still makes it an MO",
      fields: { data_coding: 0, short_message: Buffer.from("1"), receipted_message_id: "receipted_message_id" },
      expected: { mo: "1" },
    },
    {
      name: "reference §5.2: '`0x04` is an SMSC delivery receipt': text receipt",
      fields: { esm_class: 0x04, data_coding: 0, short_message: Buffer.from("id:123 sub:001 dlvrd:001 submit date:2311231015 done date:2311231016 stat:DELIVRD err:000 text:hi") },
      expected: { receipt: ["123", "delivered"] },
    },
    {
      name: "reference §5.2: 'Test with (esm_class & 0x3C) === 0x04, not == 4' (reply-path bit 0x80 set too)",
      fields: { esm_class: 0x84, data_coding: 0, short_message: Buffer.from("id:9 stat:UNDELIV err:001") },
      expected: { receipt: ["9", "failed"] },
    },
    {
      name: "reference §5.2: 'Prefer the TLVs when they are present': receipt by TLVs with no text",
      fields: { esm_class: 0x04, receipted_message_id: "ABC123", message_state: 2 },
      expected: { receipt: ["ABC123", "delivered"] },
    },
    {
      name: "reference §3.3: receipt 'text can come from ... message_payload when sm_length is 0'",
      fields: { esm_class: 0x04, data_coding: 0, message_payload: Buffer.from("id:77 stat:EXPIRED") },
      expected: { receipt: ["77", "failed"] },
    },
    { name: "a receipt without an id is refused with a reason", fields: { esm_class: 0x04, short_message: Buffer.from("stat:DELIVRD") }, expected: { invalid: /no message id/ } },
    {
      name: "reference §5.2: '0x08 an SME delivery ack' is neither a message nor a receipt",
      fields: { esm_class: 0x08, short_message: Buffer.from("x") },
      expected: { invalid: /esm_class 0x8 is neither/ },
    },
    {
      name: "reference §3.5: 'SAR combined with UDHI is rejected with ESME_RINVTLVVAL'",
      fields: { esm_class: 0x40, data_coding: 0, short_message: hex("050003010201 41"), sar_msg_ref_num: 1, sar_total_segments: 2, sar_segment_seqnum: 1 },
      expected: { invalid: /SAR TLVs combined with a UDHI/, commandStatus: 0xc4 },
    },
    {
      name: "SAR part number outside the total is refused with ESME_RINVTLVVAL",
      fields: { data_coding: 0, short_message: Buffer.from("x"), sar_msg_ref_num: 1, sar_total_segments: 2, sar_segment_seqnum: 3 },
      expected: { invalid: /SAR: part number 3/, commandStatus: 0xc4 },
    },
    {
      name: "reference §1.2: national shift tables come only with 'UDH IEI 0x24/0x25': reported as unsupported",
      fields: { esm_class: 0x40, data_coding: 0, short_message: hex("03 240101 41") },
      expected: { invalid: /national language shift tables/ },
    },
  ];
  for (const c of cases) {
    test(c.name, () => check(readDeliverSm(viaPackage(c.fields), { now }), c.expected));
  }
});

describe("the smpp package's module-global default encoding", () => {
  test("reference §1.4: 'The encodings are module-global, so one Node-RED node changing smpp.encodings.default changes every flow': dc 0 still reads as GSM", () => {
    const before = smpp.encodings.default;
    try {
      // What the Cequens "smpp out" node does (reference §2): LATIN1 as the global default.
      smpp.encodings.default = "LATIN1";
      const pdu = viaPackage({ data_coding: 0, short_message: hex("48 00 1b 28 1b 65") });
      check(readDeliverSm(pdu, { now }), { mo: "H@{€" });
    } finally {
      smpp.encodings.default = before;
    }
  });
});

describe("hostile deliver_sm fields give a reason, never a throw", () => {
  const cases: Array<{ name: string; fields: DeliverSmFields; expected: RegExp }> = [
    { name: "esm_class not a number", fields: { esm_class: "4" }, expected: /esm_class 4 is not an octet/ },
    { name: "data_coding out of range", fields: { data_coding: 999 }, expected: /data_coding 999 is not an octet/ },
    { name: "short_message a number", fields: { short_message: 5 }, expected: /neither octets nor text/ },
    { name: "short_message object without text", fields: { short_message: { udh: [] } }, expected: /text is missing/ },
    { name: "UDH elements that are not octets", fields: { esm_class: 0x40, short_message: { udh: ["x"], message: "a" } }, expected: /not octets/ },
    { name: "UDHI set, UDH length past the end (raw octets)", fields: { esm_class: 0x40, short_message: hex("0a 0003") }, expected: /runs past/ },
    { name: "UDHI set on an empty message", fields: { esm_class: 0x40, short_message: Buffer.alloc(0) }, expected: /empty/ },
    { name: "concatenation part 0", fields: { esm_class: 0x40, short_message: hex("050003010200 41") }, expected: /part number 0/ },
    { name: "a getter that throws", fields: Object.defineProperty({}, "esm_class", { get: () => { throw new Error("boom"); } }), expected: /unreadable deliver_sm: boom/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = readDeliverSm(c.fields, { now });
      assert.equal(result.kind, "invalid");
      if (result.kind === "invalid") assert.match(result.reason, c.expected);
    });
  }
});

describe("concatenated MO through the reassembler", () => {
  function setup() {
    const flushed: PartialMessage<string>[] = [];
    const reassembler = new Reassembler<string>({ now, onFlush: (p) => flushed.push(p) });
    const read = (fields: Record<string, unknown>, context: string) => readDeliverSm(viaPackage(fields), { now, reassembler, context });
    return { reassembler, flushed, read };
  }
  const layouts: Array<{ name: string; parts: Array<Record<string, unknown>> }> = [
    {
      name: "reference §3.5: Kannel 'Recognises UDH IEI 0x00 and 0x08 (16-bit reference)': IEI 0x00",
      parts: [
        { esm_class: 0x40, data_coding: 0, short_message: hex("050003 2a 02 01") },
        { esm_class: 0x40, data_coding: 0, short_message: hex("050003 2a 02 02") },
      ],
    },
    {
      name: "IEI 0x08 (Jasmin 'misses 0x08'; we do not)",
      parts: [
        { esm_class: 0x40, data_coding: 0, short_message: hex("060804 1234 02 01") },
        { esm_class: 0x40, data_coding: 0, short_message: hex("060804 1234 02 02") },
      ],
    },
    {
      name: "reference §3.5: 'MO parts that carry SAR TLVs' (Kannel and Jasmin both accept SAR on MO)",
      parts: [
        { data_coding: 0, sar_msg_ref_num: 513, sar_total_segments: 2, sar_segment_seqnum: 1 },
        { data_coding: 0, sar_msg_ref_num: 513, sar_total_segments: 2, sar_segment_seqnum: 2 },
      ],
    },
  ];
  for (const layout of layouts) {
    test(layout.name, () => {
      const { read, reassembler } = setup();
      const texts = [Buffer.from("Hello "), Buffer.from("world")];
      const fieldsOf = (i: number) => {
        const part = layout.parts[i];
        const prefix = Buffer.isBuffer(part.short_message) ? part.short_message : Buffer.alloc(0);
        return { ...part, short_message: Buffer.concat([prefix, texts[i]]) };
      };
      // Second part first: order must not matter.
      const first = read(fieldsOf(1), "pdu-2");
      assert.deepEqual(first, { kind: "pending", received: 1, total: 2 });
      const second = read(fieldsOf(0), "pdu-1");
      assert.equal(second.kind, "mo");
      if (second.kind !== "mo") return;
      assert.equal(second.mo.text, "Hello world");
      assert.equal(second.parts, 2);
      assert.deepEqual(second.contexts, ["pdu-1", "pdu-2"], "every part's context comes back, for acknowledging");
      assert.equal(reassembler.size, 0);
    });
  }

  test("a redelivered part is reported as a duplicate", () => {
    const { read } = setup();
    const part = { esm_class: 0x40, data_coding: 0, short_message: hex("050003 07 02 01 41") };
    read(part, "a");
    assert.deepEqual(read(part, "b"), { kind: "duplicate" });
  });

  test("without a reassembler each part is its own MO", () => {
    const result = readDeliverSm(viaPackage({ esm_class: 0x40, data_coding: 0, short_message: hex("050003 07 02 01 41 42") }), { now, context: "x" });
    assert.equal(result.kind, "mo");
    if (result.kind === "mo") assert.deepEqual([result.mo.text, result.contexts], ["AB", ["x"]]);
  });

  test("a single-part concatenation header needs no reassembly", () => {
    const { read, reassembler } = setup();
    const result = read({ esm_class: 0x40, data_coding: 8, short_message: hex("050003 07 01 01 0416") }, "only");
    assert.equal(result.kind === "mo" && result.mo.text, "Ж");
    assert.equal(reassembler.size, 0);
  });
});
