import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeGsm7, gsm7Septets, isGsm7, substituteForGsm7 } from "../../../lib/sms/gsm7";
import { encodeUnits, unitOctets } from "../../../lib/sms/alphabet";

function gsmOctets(text: string): string {
  const units = encodeUnits(text, "gsm7");
  assert.ok(units, `"${text}" should be GSM`);
  return unitOctets(units).toString("hex");
}

describe("GSM 03.38 encoding as SMPP data_coding 0 carries it (unpacked septets)", () => {
  const cases = [
    {
      name: "reference §1.3: 'Hi @ {x}' is bytes 48 69 20 00 20 1B 28 78 1B 29 (`@`=0x00, `{`=ESC+0x28)",
      text: "Hi @ {x}",
      hex: "4869200020" + "1b28" + "78" + "1b29",
    },
    { name: "every extension character is ESC + its code: \\f ^ { } \\ [ ~ ] | €", text: "\f^{}\\[~]|€", hex: "1b0a1b141b281b291b2f1b3c1b3d1b3e1b401b65" },
    { name: "letters and digits keep their ASCII positions", text: "Az09", hex: "417a3039" },
    { name: "accented letters of the default table", text: "èéùìòÇØøÅåÆæßÉÄÖÑÜäöñüà", hex: "0405060708090b0c0e0f1c1d1e1f5b5c5d5e7b7c7d7e7f" },
    { name: "Greek capitals of the default table", text: "ΔΦΓΛΩΠΨΣΘΞ", hex: "1012131415161718191a" },
    { name: "¡ § ¿ £ ¥ ¤ and _ sit outside ASCII positions", text: "¡§¿£¥¤_", hex: "405f6001032411" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(gsmOctets(c.text), c.hex);
      assert.equal(decodeGsm7(Buffer.from(c.hex, "hex")), c.text, "decoding gives the text back");
    });
  }
});

describe("septet counting", () => {
  const cases = [
    { name: "reference §6: 'The extension table (\\f ^ { } \\ [ ~ ] | and €) costs 2 septets each'", text: "€", septets: 2 },
    { name: "reference §6: '`€` is one UTF-16 unit but two septets'", text: "€€€", septets: 6 },
    { name: "a basic character is one septet", text: "abc", septets: 3 },
    { name: "mixed basic and extension", text: "a[b]", septets: 6 },
    { name: "empty text", text: "", septets: 0 },
    { name: "not GSM: lower-case ç is not in the basic table (reference §1.3)", text: "café ç", septets: undefined },
    { name: "not GSM: an emoji", text: "hi 😀", septets: undefined },
  ];
  for (const c of cases) {
    test(c.name, () => {
      assert.equal(gsm7Septets(c.text), c.septets);
      assert.equal(isGsm7(c.text), c.septets !== undefined);
    });
  }
});

describe("decoding hostile or unusual septets", () => {
  const cases = [
    { name: "an escape followed by a code the extension table lacks shows the basic character", hex: "1b41", text: "A" },
    { name: "a trailing escape cannot be text and becomes ?", hex: "411b", text: "A?" },
    { name: "an octet above 0x7F is not a septet and becomes ?", hex: "41ff42", text: "A?B" },
    { name: "two escapes in a row show a space", hex: "1b1b", text: " " },
    { name: "empty input", hex: "", text: "" },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(decodeGsm7(Buffer.from(c.hex, "hex")), c.text));
  }
});

describe("courier's smart substitution (rapidpro-external-channel §4.4)", () => {
  const cases = [
    { name: "'Test: `Fancy “Smart” Quotes` → `Fancy \"Smart\" Quotes`'", text: "Fancy “Smart” Quotes", expected: "Fancy \"Smart\" Quotes" },
    { name: "'’ ‘ → '' ", text: "it’s ‘ok’", expected: "it's 'ok'" },
    { name: "'– → -'", text: "a – b", expected: "a - b" },
    { name: "'NBSP and TAB → space'", text: "a\u00a0b\tc", expected: "a b c" },
    { name: "'many accented vowels and ç → their base letter'", text: "ação ÁÂÃÀ ÈÊ ÍÎÌ ÓÔÒÕ ÚÙÛ áâãêíîóôõúû", expected: "acao AAAA EE III OOOO UUU aaaeiiooouu" },
    { name: "letters already in the GSM table are left alone (é, à, Ç)", text: "é à Ç", expected: "é à Ç" },
    { name: "characters without a substitute stay as they are", text: "😀 Ж", expected: "😀 Ж" },
  ];
  for (const c of cases) {
    test(c.name, () => assert.equal(substituteForGsm7(c.text), c.expected));
  }
});

describe("our table agrees with the smpp package's GSM table (an independent implementation)", () => {
  test("every default-alphabet and extension character decodes the same way", () => {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const smpp = require("smpp") as { encodings: { ASCII: { decode(b: Buffer): string } } };
    for (let code = 0; code < 0x80; code++) {
      if (code === 0x1b) continue;
      const octets = Buffer.from([code]);
      assert.equal(decodeGsm7(octets), smpp.encodings.ASCII.decode(octets), `septet 0x${code.toString(16)}`);
    }
    const extension = Buffer.from("1b0a1b141b281b291b2f1b3c1b3d1b3e1b401b65", "hex");
    assert.equal(decodeGsm7(extension), smpp.encodings.ASCII.decode(extension));
  });
});
