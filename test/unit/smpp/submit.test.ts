import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import type { MT } from "../../../lib/contract";
import { buildSubmitSm, createReferenceGenerator, relativeValidity, type SubmitSmOptions, type SubmitSmParams } from "../../../lib/smpp/submit";


const mt = (text: string, extra: Partial<MT> = {}): MT => ({ id: "m-1", to: "+250788123123", from: "Nyaruka", text, ...extra });
const fixedReference = () => 0x4d;

interface Expectation {
  parts: number;
  dataCoding: number;
  esmClass: number[];
  /** Hex of each PDU's short_message. */
  shortMessages?: string[];
  check?: (pdus: SubmitSmParams[]) => void;
}

describe("submit_sm content for an MT", () => {
  const cases: Array<{ name: string; text: string; options?: SubmitSmOptions; expected: Expectation }> = [
    {
      name: "reference §1.3: 'data_coding:0 given explicitly → GSM bytes under dc=0. This is what the bridge should send by default.'",
      text: "Hi @ {x}",
      expected: { parts: 1, dataCoding: 0, esmClass: [0], shortMessages: ["48692000201b28781b29"] },
    },
    {
      name: "reference §6: 'IEI 0x00, 8-bit reference (`05 00 03 rr tt nn`)' heads each part, with UDHI (esm_class 0x40)",
      text: "a".repeat(161),
      expected: {
        parts: 2,
        dataCoding: 0,
        esmClass: [0x40, 0x40],
        shortMessages: ["0500034d0201" + "61".repeat(153), "0500034d0202" + "61".repeat(8)],
      },
    },
    {
      name: "reference §6: 'IEI 0x08, 16-bit reference (`06 08 04 rr rr tt nn`)' with 152 septets per part",
      text: "a".repeat(161),
      options: { split: "udh16" },
      expected: {
        parts: 2,
        dataCoding: 0,
        esmClass: [0x40, 0x40],
        shortMessages: ["060804004d0201" + "61".repeat(152), "060804004d0202" + "61".repeat(9)],
      },
    },
    {
      name: "UCS-2 parts: data_coding 8, 67 characters per part",
      text: "ж".repeat(71),
      expected: { parts: 2, dataCoding: 8, esmClass: [0x40, 0x40], shortMessages: ["0500034d0201" + "0436".repeat(67), "0500034d0202" + "0436".repeat(4)] },
    },
    {
      name: "reference §6: SAR TLVs 'must not be combined with a UDHI short message': SAR parts carry no UDH",
      text: "a".repeat(161),
      options: { split: "sar" },
      expected: {
        parts: 2,
        dataCoding: 0,
        esmClass: [0, 0],
        shortMessages: ["61".repeat(153), "61".repeat(8)],
        check: (pdus) =>
          assert.deepEqual(
            pdus.map((p) => [p.sar_msg_ref_num, p.sar_total_segments, p.sar_segment_seqnum]),
            [[0x4d, 2, 1], [0x4d, 2, 2]],
          ),
      },
    },
    {
      name: "reference §6: message_payload 'must not be used together with short_message': one PDU, empty short_message",
      text: "a".repeat(400),
      options: { split: "payload" },
      expected: {
        parts: 3,
        dataCoding: 0,
        esmClass: [0],
        shortMessages: [""],
        check: (pdus) => assert.equal(pdus[0].message_payload?.toString("hex"), "61".repeat(400)),
      },
    },
    {
      name: "a text that fits one part goes in short_message whatever the split method",
      text: "short",
      options: { split: "payload" },
      expected: { parts: 1, dataCoding: 0, esmClass: [0], shortMessages: ["73686f7274"], check: (pdus) => assert.equal(pdus[0].message_payload, undefined) },
    },
    {
      name: "rapidpro §4.4: smart substitution makes “quotes” GSM",
      text: "“Hi”",
      options: { smart: true },
      expected: { parts: 1, dataCoding: 0, esmClass: [0], shortMessages: ["22486922"] },
    },
    {
      name: "per-bind Latin-1 override: data_coding 3",
      text: "café",
      options: { encoding: "latin1" },
      expected: { parts: 1, dataCoding: 3, esmClass: [0], shortMessages: ["636166e9"] },
    },
    {
      name: "reference §3.2: 'more_messages_to_send is set on parts' (when asked): all but the last",
      text: "a".repeat(320),
      options: { moreMessagesToSend: true },
      expected: { parts: 3, dataCoding: 0, esmClass: [0x40, 0x40, 0x40], check: (pdus) => assert.deepEqual(pdus.map((p) => p.more_messages_to_send), [1, 1, undefined]) },
    },
    {
      name: "registered_delivery defaults to 1 (receipt on success or failure) on every part",
      text: "a".repeat(200),
      expected: { parts: 2, dataCoding: 0, esmClass: [0x40, 0x40], check: (pdus) => assert.deepEqual(pdus.map((p) => p.registered_delivery), [1, 1]) },
    },
    {
      name: "registered_delivery, priority and validity options reach every PDU",
      text: "hello",
      options: { registeredDelivery: 0, priority: 2, validityMinutes: 2880, serviceType: "CMT" },
      expected: {
        parts: 1,
        dataCoding: 0,
        esmClass: [0],
        check: (pdus) =>
          assert.deepEqual(
            [pdus[0].registered_delivery, pdus[0].priority_flag, pdus[0].validity_period, pdus[0].service_type],
            [0, 2, "000002000000000R", "CMT"],
          ),
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = buildSubmitSm(mt(c.text), { nextReference: fixedReference, ...c.options });
      assert.equal(result.ok, true, result.ok ? "" : result.error.text);
      if (!result.ok) return;
      assert.equal(result.parts, c.expected.parts);
      assert.equal(result.dataCoding, c.expected.dataCoding);
      assert.deepEqual(result.pdus.map((p) => p.data_coding), result.pdus.map(() => c.expected.dataCoding));
      assert.deepEqual(result.pdus.map((p) => p.esm_class), c.expected.esmClass);
      if (c.expected.shortMessages) assert.deepEqual(result.pdus.map((p) => p.short_message.toString("hex")), c.expected.shortMessages);
      c.expected.check?.(result.pdus);
      for (const pdu of result.pdus) {
        assert.deepEqual([pdu.source_addr, pdu.source_addr_ton, pdu.source_addr_npi], ["Nyaruka", 5, 0]);
        assert.deepEqual([pdu.destination_addr, pdu.dest_addr_ton, pdu.dest_addr_npi], ["250788123123", 1, 1]);
      }
    });
  }
});

describe("an MT that cannot be sent gets a permanent error with a reason", () => {
  const cases: Array<{ name: string; mt: MT; options?: SubmitSmOptions; code: string; text: RegExp }> = [
    {
      name: "reference §6: 'cap the number of parts with an explicit error (Kannel max-messages; Jasmin truncates silently)'",
      mt: mt("a".repeat(154 * 3)),
      options: { maxParts: 3 },
      code: "TOO_MANY_PARTS",
      text: /needs 4 parts in gsm7, more than the 3 allowed/,
    },
    { name: "the default cap is 10 parts", mt: mt("ж".repeat(67 * 10 + 1)), code: "TOO_MANY_PARTS", text: /needs 11 parts in ucs2/ },
    {
      name: "reference §1.2: node-smpp caps a PDU at 16 KiB ('PDU.maxLength = 16384'): a bigger message_payload is refused",
      mt: mt("a".repeat(16001)),
      options: { split: "payload", maxParts: 255 },
      code: "TOO_LONG",
      text: /message_payload of 16001 octets exceeds 16000/,
    },
    { name: "an alphanumeric destination", mt: mt("hi", { to: "Nyaruka" }), code: "INVALID_DESTINATION", text: /destination address/ },
    { name: "a sender too long to be alphanumeric", mt: mt("hi", { from: "A very long sender" }), code: "INVALID_SOURCE", text: /at most 11/ },
    { name: "text that is not a string", mt: { ...mt(""), text: 42 as unknown as string }, code: "INVALID_TEXT", text: /not a string/ },
    { name: "a priority outside 0-3", mt: mt("hi"), options: { priority: 4 }, code: "INVALID_OPTION", text: /priority 4/ },
    { name: "a validity of 0 minutes", mt: mt("hi"), options: { validityMinutes: 0 }, code: "INVALID_OPTION", text: /validityMinutes 0/ },
    { name: "maxParts 0", mt: mt("hi"), options: { maxParts: 0 }, code: "INVALID_OPTION", text: /maxParts 0/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = buildSubmitSm(c.mt, c.options);
      assert.equal(result.ok, false);
      if (result.ok) return;
      assert.equal(result.error.code, c.code);
      assert.equal(result.error.temporary, false);
      assert.match(result.error.text, c.text);
    });
  }
});

describe("concatenation references", () => {
  test("every part of one message shares a reference; the next message gets the next one", () => {
    const nextReference = createReferenceGenerator(0xff);
    const first = buildSubmitSm(mt("a".repeat(200)), { nextReference });
    const second = buildSubmitSm(mt("a".repeat(200)), { nextReference });
    assert.ok(first.ok && second.ok);
    assert.deepEqual(first.pdus.map((p) => p.short_message[3]), [0xff, 0xff]);
    assert.equal(first.reference, 0xff);
    assert.equal(second.reference, 0x00, "an 8-bit reference wraps after 255");
  });
  test("a 16-bit reference uses the full counter", () => {
    const nextReference = createReferenceGenerator(0x1234);
    const result = buildSubmitSm(mt("a".repeat(200)), { split: "udh16", nextReference });
    assert.ok(result.ok);
    assert.equal(result.pdus[0].short_message.readUInt16BE(3), 0x1234);
  });
});

describe("relative validity period (SMPP time format YYMMDDhhmmss000R)", () => {
  const cases = [
    { minutes: 1, expected: "000000000100000R" },
    { minutes: 90, expected: "000000013000000R" },
    { minutes: 2880, expected: "000002000000000R" },
    { minutes: 99 * 1440 + 1439, expected: "000099235900000R" },
    { minutes: 100 * 1440, expected: undefined },
    { minutes: 1.5, expected: undefined },
  ];
  for (const c of cases) test(`${c.minutes} minutes`, () => assert.equal(relativeValidity(c.minutes), c.expected));
});

describe("the smpp package sends our PDUs as built", () => {
  const cases = [
    { name: "GSM text", text: "Hi @ {x} €", options: {} },
    { name: "long UCS-2 text with UDH", text: "😀".repeat(50), options: {} },
    { name: "SAR", text: "a".repeat(300), options: { split: "sar" as const } },
    { name: "message_payload", text: "a".repeat(2000), options: { split: "payload" as const, maxParts: 20 } },
  ];
  for (const c of cases) {
    test(`${c.name}: data_coding and octets survive encoding, no RangeError`, () => {
      const result = buildSubmitSm(mt(c.text), c.options);
      assert.ok(result.ok);
      for (const params of result.pdus) {
        // reference §0: node-smpp 'sends GSM 03.38 bytes labelled data_coding=0x01 (IA5)' when it detects;
        // our Buffer short_message bypasses that, so the wire keeps our data_coding.
        const wire = new smpp.PDU("submit_sm", { ...params }).toBuffer();
        const back = smpp.PDU.fromBuffer(wire);
        assert.ok(back, "the package reads back what it wrote");
        assert.equal(back.data_coding, params.data_coding);
        assert.equal(back.esm_class, params.esm_class);
        assert.ok(wire.includes(params.short_message), "short_message octets are on the wire unchanged");
        if (params.message_payload) assert.ok(wire.includes(params.message_payload));
        for (const tlv of ["sar_msg_ref_num", "sar_total_segments", "sar_segment_seqnum"] as const) {
          assert.equal(back[tlv], params[tlv]);
        }
      }
    });
  }
});
