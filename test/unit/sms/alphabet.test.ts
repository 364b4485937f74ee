import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeText, encodeText, unitOctets, type EncodingOptions } from "../../../lib/sms/alphabet";

describe("choosing the alphabet for an MT", () => {
  const cases: Array<{ name: string; text: string; options?: EncodingOptions; alphabet: string; dataCoding: number; sent?: string }> = [
    {
      name: "reference §9.7: 'Default to GSM 03.38 under data_coding=0, never the 0x01 that node-smpp picks by auto-detection'",
      text: "Hi @ {x}",
      alphabet: "gsm7",
      dataCoding: 0x00,
    },
    { name: "text outside GSM goes as UCS-2, data_coding 8", text: "café ç", alphabet: "ucs2", dataCoding: 0x08 },
    {
      name: "rapidpro §4.4: 'The substituted text is used only if the whole result is valid GSM-7' (it is here)",
      text: "Fancy “Smart” Quotes",
      options: { smart: true },
      alphabet: "gsm7",
      dataCoding: 0x00,
      sent: "Fancy \"Smart\" Quotes",
    },
    {
      name: "rapidpro §4.4: '...Otherwise the original part is sent unchanged' (an emoji keeps it UCS-2, quotes and all)",
      text: "“Smart” 😀",
      options: { smart: true },
      alphabet: "ucs2",
      dataCoding: 0x08,
      sent: "“Smart” 😀",
    },
    { name: "without smart substitution, smart quotes force UCS-2", text: "“Smart”", alphabet: "ucs2", dataCoding: 0x08 },
    { name: "per-bind override Latin-1 (data_coding 3) for Latin-1 text", text: "café ç", options: { encoding: "latin1" }, alphabet: "latin1", dataCoding: 0x03 },
    { name: "Latin-1 override falls back to UCS-2 rather than lose €", text: "5 €", options: { encoding: "latin1" }, alphabet: "ucs2", dataCoding: 0x08 },
    { name: "per-bind override IA5 (data_coding 1) for ASCII text", text: "Hello [x]", options: { encoding: "ia5" }, alphabet: "ia5", dataCoding: 0x01 },
    { name: "IA5 override falls back to UCS-2 for non-ASCII", text: "héllo", options: { encoding: "ia5" }, alphabet: "ucs2", dataCoding: 0x08 },
    { name: "override always UCS-2", text: "plain", options: { encoding: "ucs2" }, alphabet: "ucs2", dataCoding: 0x08 },
    { name: "empty text is GSM", text: "", alphabet: "gsm7", dataCoding: 0x00 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const encoded = encodeText(c.text, c.options);
      assert.equal(encoded.alphabet, c.alphabet);
      assert.equal(encoded.dataCoding, c.dataCoding);
      assert.equal(encoded.text, c.sent ?? c.text);
      const octets = unitOctets(encoded.units);
      assert.equal(decodeText(octets, encoded.alphabet), encoded.text, "the octets decode back to the sent text");
    });
  }
});

describe("UCS-2 units", () => {
  const cases = [
    { name: "reference §1.3: 'hi 😀' is UTF-16BE including the surrogate pair", text: "hi 😀", hex: "00680069" + "0020" + "d83dde00", costs: [2, 2, 2, 4] },
    { name: "a BMP character is one 2-octet unit", text: "Ж", hex: "0416", costs: [2] },
    { name: "a lone surrogate (malformed UTF-16) is still carried, as one unit", text: "a\ud800", hex: "0061d800", costs: [2, 2] },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const encoded = encodeText(c.text, { encoding: "ucs2" });
      assert.equal(unitOctets(encoded.units).toString("hex"), c.hex);
      assert.deepEqual(encoded.units.map((u) => u.cost), c.costs);
    });
  }
  test("an odd trailing octet is half a unit and decodes as ?", () => {
    assert.equal(decodeText(Buffer.from("004100", "hex"), "ucs2"), "A?");
  });
  test("IA5 octets above 0x7F decode as ?", () => {
    assert.equal(decodeText(Buffer.from("41e942", "hex"), "ia5"), "A?B");
  });
});
