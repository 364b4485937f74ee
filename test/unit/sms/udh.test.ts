import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { concatUdh, concatUdhLength, findConcat, splitUdh, type ConcatInfo } from "../../../lib/sms/udh";

describe("building the concatenation UDH", () => {
  const cases: Array<{ name: string; info: ConcatInfo; hex: string }> = [
    { name: "reference §6: 'IEI 0x00, 8-bit reference (`05 00 03 rr tt nn`)'", info: { reference: 0xa7, referenceBits: 8, total: 2, seq: 1 }, hex: "050003a70201" },
    { name: "reference §6: 'IEI 0x08, 16-bit reference (`06 08 04 rr rr tt nn`)'", info: { reference: 0x1234, referenceBits: 16, total: 3, seq: 3 }, hex: "060804123403" + "03" },
    { name: "an 8-bit reference wraps modulo 256", info: { reference: 0x1ff, referenceBits: 8, total: 2, seq: 2 }, hex: "050003ff0202" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const udh = concatUdh(c.info);
      assert.equal(udh.toString("hex"), c.hex);
      assert.equal(udh.length, concatUdhLength(c.info.referenceBits), "reference §6: UDH length 6 for IEI 0x00, 7 for IEI 0x08");
    });
  }
});

describe("reading a UDH", () => {
  const cases: Array<{ name: string; hex: string; concat?: ConcatInfo; body?: string; error?: RegExp }> = [
    { name: "8-bit reference concatenation", hex: "050003a70201" + "4869", concat: { reference: 0xa7, referenceBits: 8, total: 2, seq: 1 }, body: "4869" },
    { name: "16-bit reference concatenation", hex: "0608041234030248", concat: { reference: 0x1234, referenceBits: 16, total: 3, seq: 2 }, body: "48" },
    { name: "concatenation after another element (port addressing 0x05)", hex: "0b" + "0504158a0000" + "000301" + "0201" + "41", concat: { reference: 1, referenceBits: 8, total: 2, seq: 1 }, body: "41" },
    { name: "a UDH with no concatenation element", hex: "0605041583" + "0000" + "41", concat: undefined, body: "41" },
    // The reason names the fault that is there (TS 23.040 §9.2.3.24: UDHL, then IEI, IEDL, data).
    { name: "UDH length runs past the message", hex: "0a0003", error: /^UDH of 11 octets \(UDHL 10\) runs past the 3-octet message$/ },
    { name: "a UDH of 0x74 octets in a 12-octet message is a UDH past the message, not an element fault", hex: "74" + "00".repeat(11), error: /^UDH of 117 octets \(UDHL 116\) runs past the 12-octet message$/ },
    { name: "an element runs past the UDH", hex: "030009ff41", error: /^information element 0x0 of 9 octets at octet 1 runs past the 4-octet UDH$/ },
    { name: "a truncated element header", hex: "0100", error: /^the UDH ends inside the header of the information element at octet 1$/ },
    { name: "UDHI set but empty message", hex: "", error: /empty/ },
    { name: "part number 0 is malformed", hex: "050003010200", error: /part number 0/ },
    { name: "part number above the total", hex: "050003010203", error: /part number 3 is outside 1..2/ },
    { name: "a total of 0", hex: "050003010000", error: /total 0/ },
    { name: "a concatenation element of the wrong length", hex: "0400020102", error: /length 2, expected 3/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const split = splitUdh(Buffer.from(c.hex, "hex"));
      if (!split.ok) {
        assert.ok(c.error, `unexpected error: ${split.reason}`);
        assert.match(split.reason, c.error);
        return;
      }
      if (c.body !== undefined) assert.equal(split.body.toString("hex"), c.body);
      const found = findConcat(split.elements);
      if (!found.ok) {
        assert.ok(c.error, `unexpected error: ${found.reason}`);
        assert.match(found.reason, c.error);
        return;
      }
      assert.equal(c.error, undefined, "an error was expected");
      assert.deepEqual(found.concat, c.concat);
    });
  }
});
