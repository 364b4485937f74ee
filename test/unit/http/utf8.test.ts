/**
 * UTF-8 checks (issue #14, "Invalid UTF-8 ... refused 400 with the byte offset"). Well-formed
 * sequences as RFC 3629 §4 and Unicode table 3-7 define them: no overlong forms, no
 * surrogates (U+D800–U+DFFF), nothing past U+10FFFF.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { bodyUtf8Refusal, formUtf8Refusal, invalidUtf8Offset, loneSurrogateAt } from "../../../lib/http/utf8";

describe("invalidUtf8Offset", () => {
  const cases: Array<{ name: string; bytes: number[]; expected: number }> = [
    { name: "ASCII", bytes: [0x61, 0x62], expected: -1 },
    { name: "Cyrillic П (d0 9f)", bytes: [0xd0, 0x9f], expected: -1 },
    { name: "☺ U+263A (e2 98 ba)", bytes: [0xe2, 0x98, 0xba], expected: -1 },
    { name: "U+10FFFF (f4 8f bf bf)", bytes: [0xf4, 0x8f, 0xbf, 0xbf], expected: -1 },
    { name: "lone continuation byte", bytes: [0x61, 0x80], expected: 1 },
    { name: "0xff never appears", bytes: [0x61, 0x62, 0xff], expected: 2 },
    { name: "overlong / (c0 af)", bytes: [0xc0, 0xaf], expected: 0 },
    { name: "overlong 3-byte (e0 80 af)", bytes: [0xe0, 0x80, 0xaf], expected: 0 },
    { name: "surrogate U+D800 (ed a0 80)", bytes: [0x61, 0xed, 0xa0, 0x80], expected: 1 },
    { name: "past U+10FFFF (f4 90 80 80)", bytes: [0xf4, 0x90, 0x80, 0x80], expected: 0 },
    { name: "truncated sequence at the end", bytes: [0x61, 0x62, 0x63, 0xe2, 0x98], expected: 3 },
    { name: "lead byte followed by ASCII", bytes: [0xd0, 0x41], expected: 0 },
    { name: "windows-1251 'Привет'", bytes: [0xcf, 0xf0, 0xe8, 0xe2, 0xe5, 0xf2], expected: 0 },
  ];
  for (const c of cases) test(c.name, () => assert.equal(invalidUtf8Offset(Uint8Array.from(c.bytes)), c.expected));

  test("agrees with Node's own check on every 2-byte input", () => {
    for (let a = 0; a < 256; a++) {
      for (let b = 0; b < 256; b++) {
        const bytes = Uint8Array.from([a, b]);
        const strict = new TextDecoder("utf-8", { fatal: true });
        let valid = true;
        try {
          strict.decode(bytes);
        } catch {
          valid = false;
        }
        assert.equal(invalidUtf8Offset(bytes) < 0, valid, `${a.toString(16)} ${b.toString(16)}`);
      }
    }
  });
});

test("bodyUtf8Refusal names the offset and the bytes", () => {
  assert.equal(bodyUtf8Refusal(Buffer.from("text=Привет", "utf8")), undefined);
  assert.equal(bodyUtf8Refusal(Buffer.from([0x74, 0x3d, 0xff, 0xfe])), "body is not valid UTF-8: byte 2 (ff fe) starts no UTF-8 character");
});

describe("formUtf8Refusal", () => {
  const cases: Array<{ name: string; encoded: string; expected: RegExp | undefined }> = [
    { name: "courier's escaping of UTF-8", encoded: "text=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82+%E2%98%BA&to=%2B250", expected: undefined },
    { name: "raw UTF-8 characters beside escapes", encoded: "text=Привет%20☺", expected: undefined },
    { name: "windows-1251 escapes in a value", encoded: "to=%2B250&text=%CF%F0%E8", expected: /^query: parameter text is not valid UTF-8 at byte 0 of its value$/ },
    { name: "bad byte later in the value", encoded: "text=ab%FF", expected: /byte 2 of its value/ },
    { name: "in a name", encoded: "%FF=1", expected: /a parameter name is not valid UTF-8 at byte 0/ },
    { name: "a malformed escape is left as text, as URLSearchParams does", encoded: "text=100%zz", expected: undefined },
    { name: "a truncated sequence", encoded: "text=%E2%98", expected: /byte 0 of its value/ },
    { name: "a name with CR is shown escaped", encoded: "a%0D=%FF", expected: /parameter a\\r is not valid/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const reason = formUtf8Refusal(c.encoded, "query");
      if (c.expected === undefined) assert.equal(reason, undefined);
      else assert.match(reason ?? "", c.expected);
    });
  }
});

test("loneSurrogateAt", () => {
  assert.equal(loneSurrogateAt("a😀b"), -1);
  assert.equal(loneSurrogateAt("ab\ud800"), 2);
  assert.equal(loneSurrogateAt("\udc00"), 0);
});
