import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { describeDataCoding, type DataCodingInfo } from "../../../lib/sms/dcs";

describe("reading an incoming data_coding", () => {
  const cases: Array<{ name: string; dataCoding: number; expected: DataCodingInfo; overrides?: Record<number, "latin1" | "gsm7"> }> = [
    { name: "reference §1.3: 'Incoming dc=0, bytes 48 00 1B 28 decoded as \"H@{\"': 0 is GSM 03.38", dataCoding: 0x00, expected: { alphabet: "gsm7" } },
    { name: "Rapporto SMPP: 'data_coding: 0 default (GSM or ASCII per account setting)': the bind can say Latin-1", dataCoding: 0x00, overrides: { 0: "latin1" }, expected: { alphabet: "latin1" } },
    { name: "Rapporto SMPP: '1 ASCII'", dataCoding: 0x01, expected: { alphabet: "ia5" } },
    {
      name: "reference §0: node-smpp 'sends GSM 03.38 bytes labelled data_coding=0x01 (IA5)': a bind can read 1 as GSM",
      dataCoding: 0x01,
      overrides: { 1: "gsm7" },
      expected: { alphabet: "gsm7" },
    },
    { name: "Rapporto SMPP: '3 Latin-1'", dataCoding: 0x03, expected: { alphabet: "latin1" } },
    { name: "Rapporto SMPP: '8 UCS2'", dataCoding: 0x08, expected: { alphabet: "ucs2" } },
    { name: "2 and 4 are octet data, not text", dataCoding: 0x04, expected: { notText: "8-bit binary" } },
    { name: "Rapporto SMPP: '6 Latin/Cyrillic' is not decoded (reported, not guessed)", dataCoding: 0x06, expected: { notText: "unsupported national alphabet (JIS, Cyrillic or Hebrew)" } },
    // reference §1.3: "`filters.message.decode` uses `data_coding & 0x0F` (issue #66), so values such as
    // 0xF0-0xF7 are read as the wrong encoding."
    { name: "0xF0: message-class group, 7-bit, class 0 (node-smpp #66 reads low nibble)", dataCoding: 0xf0, expected: { alphabet: "gsm7", messageClass: 0 } },
    { name: "0xF1: 7-bit, class 1", dataCoding: 0xf1, expected: { alphabet: "gsm7", messageClass: 1 } },
    { name: "0xF3: 7-bit, class 3 (node-smpp would read Latin-1)", dataCoding: 0xf3, expected: { alphabet: "gsm7", messageClass: 3 } },
    { name: "0xF4: 8-bit data, class 0", dataCoding: 0xf4, expected: { notText: "8-bit data", messageClass: 0 } },
    { name: "0xF6: 8-bit data, class 2 (SIM data download)", dataCoding: 0xf6, expected: { notText: "8-bit data", messageClass: 2 } },
    { name: "0x18: general group, UCS-2 with class 0 (flash)", dataCoding: 0x18, expected: { alphabet: "ucs2", messageClass: 0 } },
    { name: "0x11: general group, GSM 7-bit with class 1", dataCoding: 0x11, expected: { alphabet: "gsm7", messageClass: 1 } },
    { name: "0x28: compressed text cannot be read", dataCoding: 0x28, expected: { notText: "compressed text" } },
    { name: "0xC0-0xDF: message-waiting groups carry GSM 7-bit", dataCoding: 0xd1, expected: { alphabet: "gsm7" } },
    { name: "0xE0-0xEF: message-waiting group with UCS-2", dataCoding: 0xe8, expected: { alphabet: "ucs2" } },
    { name: "0x80-0xBF are reserved", dataCoding: 0x90, expected: { notText: "reserved coding group" } },
    { name: "a value that is not an octet", dataCoding: 300, expected: { notText: "data_coding 300 is not an octet" } },
    { name: "a negative value", dataCoding: -1, expected: { notText: "data_coding -1 is not an octet" } },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(describeDataCoding(c.dataCoding, { dataCodingOverrides: c.overrides }), c.expected));
  }

  test("every octet 0x00-0xFF gets an answer", () => {
    for (let dc = 0; dc <= 0xff; dc++) {
      const info = describeDataCoding(dc);
      assert.ok(info.alphabet !== undefined || typeof info.notText === "string", `0x${dc.toString(16)}`);
    }
  });
});
