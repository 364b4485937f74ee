import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { decodeText, encodeText, type EncodingPreference } from "../../../lib/sms/alphabet";
import { countSegments, splitEncoded, type Concatenation } from "../../../lib/sms/segment";

// reference §6, "Segment sizes": none 160 septets / 70 UCS-2 / 140 octets; IEI 0x00 153 / 67 / 134;
// IEI 0x08 152 / 66 / 133.
describe("segment counts at every boundary (reference §6 'Segment sizes')", () => {
  const cases: Array<{ name: string; text: string; encoding?: EncodingPreference; concatenation?: Concatenation; parts: number; perPart: number }> = [
    { name: "'A single message holds 160 septets': 160 GSM characters are one part", text: "a".repeat(160), parts: 1, perPart: 160 },
    { name: "161 GSM characters need two parts of 153 ('IEI 0x00 ... 153')", text: "a".repeat(161), parts: 2, perPart: 153 },
    { name: "306 GSM characters fill exactly two parts of 153", text: "a".repeat(306), parts: 2, perPart: 153 },
    { name: "307 GSM characters need a third part", text: "a".repeat(307), parts: 3, perPart: 153 },
    { name: "16-bit reference: 304 GSM characters fill two parts of 152 ('IEI 0x08 ... 152')", text: "a".repeat(304), concatenation: "udh16", parts: 2, perPart: 152 },
    { name: "16-bit reference: 305 GSM characters need a third part", text: "a".repeat(305), concatenation: "udh16", parts: 3, perPart: 152 },
    { name: "'extension table ... costs 2 septets each': 80 € are 160 septets, one part", text: "€".repeat(80), parts: 1, perPart: 160 },
    { name: "81 € are 162 septets, two parts", text: "€".repeat(81), parts: 2, perPart: 153 },
    { name: "70 UCS-2 characters are one part ('none ... 70')", text: "ж".repeat(70), parts: 1, perPart: 140 },
    { name: "71 UCS-2 characters need two parts of 67", text: "ж".repeat(71), parts: 2, perPart: 134 },
    { name: "134 UCS-2 characters fill two parts of 67", text: "ж".repeat(134), parts: 2, perPart: 134 },
    { name: "135 UCS-2 characters need a third part", text: "ж".repeat(135), parts: 3, perPart: 134 },
    { name: "16-bit reference: 132 UCS-2 characters fill two parts of 66", text: "ж".repeat(132), concatenation: "udh16", parts: 2, perPart: 133 },
    { name: "16-bit reference: 133 UCS-2 characters need a third part", text: "ж".repeat(133), concatenation: "udh16", parts: 3, perPart: 133 },
    { name: "an emoji is 2 UTF-16 units: 35 emoji are 140 octets, one part", text: "😀".repeat(35), parts: 1, perPart: 140 },
    { name: "8-bit: 140 Latin-1 octets are one part ('none ... 140')", text: "é".repeat(140), encoding: "latin1", parts: 1, perPart: 140 },
    { name: "8-bit: 141 octets need two parts of 134", text: "é".repeat(141), encoding: "latin1", parts: 2, perPart: 134 },
    { name: "8-bit: 268 octets fill two parts of 134", text: "é".repeat(268), encoding: "latin1", parts: 2, perPart: 134 },
    { name: "8-bit with 16-bit reference: 266 octets fill two parts of 133", text: "é".repeat(266), encoding: "latin1", concatenation: "udh16", parts: 2, perPart: 133 },
    { name: "8-bit with 16-bit reference: 267 octets need three", text: "é".repeat(267), encoding: "latin1", concatenation: "udh16", parts: 3, perPart: 133 },
    { name: "IA5 counts like GSM: 80 '[' are 160 septets", text: "[".repeat(80), encoding: "ia5", parts: 1, perPart: 160 },
    { name: "SAR parts hold what an 8-bit-reference UDH part holds (the SMSC adds that UDH)", text: "a".repeat(306), concatenation: "sar", parts: 2, perPart: 153 },
    { name: "message_payload is counted as the parts the handset will get", text: "a".repeat(307), concatenation: "payload", parts: 3, perPart: 153 },
    { name: "empty text is one part", text: "", parts: 1, perPart: 160 },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const count = countSegments(c.text, { encoding: c.encoding, concatenation: c.concatenation });
      assert.equal(count.parts, c.parts);
      assert.equal(count.perPart, c.perPart);
    });
  }
});

function partsOf(text: string, concatenation: Concatenation = "udh8", encoding?: EncodingPreference) {
  const encoded = encodeText(text, { encoding });
  return { encoded, parts: splitEncoded(encoded, concatenation) };
}

describe("splitting never cuts a unit in two", () => {
  test("reference §6: 'never split an ESC pair': a € that would straddle septet 153 moves to the next part", () => {
    const { parts } = partsOf("ab" + "€".repeat(80));
    assert.equal(parts.length, 2);
    assert.equal(parts[0].length, 152, "2 + 75 × 2 septets; the 76th € would need septets 153-154");
    assert.equal(parts[0][parts[0].length - 1], 0x65, "part 1 ends with a whole € (ESC 0x65)");
    assert.equal(parts[1][0], 0x1b, "part 2 starts with the escape of the next €");
    assert.equal(decodeText(parts[1], "gsm7"), "€".repeat(5));
  });

  test("reference §6: 'never split a UTF-16 surrogate pair': an emoji that would straddle octet 134 moves on", () => {
    const { parts } = partsOf("ab" + "😀".repeat(40));
    assert.equal(parts.length, 2);
    assert.equal(parts[0].length, 132, "4 + 32 × 4 octets; the 33rd emoji would need octets 133-136");
    assert.equal(decodeText(parts[0], "ucs2"), "ab" + "😀".repeat(32));
    assert.equal(decodeText(parts[1], "ucs2"), "😀".repeat(8));
  });

  test("random texts: every part fits, decodes on its own, and the parts join to the text", () => {
    // A fixed-seed generator keeps the case reproducible.
    let seed = 12345;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const alphabet = ["a", "€", "[", " ", "😀", "ж", "@", "é", "\n"];
    const capacity: Record<string, Record<Concatenation, number>> = {
      septets: { udh8: 153, udh16: 152, sar: 153, payload: 153 },
      octets: { udh8: 134, udh16: 133, sar: 134, payload: 134 },
    };
    for (let round = 0; round < 300; round++) {
      const length = random(400);
      let text = "";
      for (let i = 0; i < length; i++) text += alphabet[random(alphabet.length)];
      const concatenation = (["udh8", "udh16", "sar"] as const)[random(3)];
      const { encoded, parts } = partsOf(text, concatenation);
      const unit = encoded.alphabet === "gsm7" ? "septets" : "octets";
      const room = parts.length === 1 ? (unit === "septets" ? 160 : 140) : capacity[unit][concatenation];
      for (const part of parts) {
        assert.ok(part.length <= room, `round ${round}: part of ${part.length} > ${room}`);
        // A cut inside a unit would show as a trailing escape or a lone surrogate.
        const decoded = decodeText(part, encoded.alphabet);
        assert.ok(!/[\ud800-\udbff]$|^[\udc00-\udfff]/.test(decoded), `round ${round}: a surrogate pair was cut`);
        if (encoded.alphabet === "gsm7") assert.notEqual(part[part.length - 1], 0x1b, `round ${round}: an escape pair was cut`);
      }
      assert.equal(parts.map((p) => decodeText(p, encoded.alphabet)).join(""), encoded.text, `round ${round}`);
    }
  });
});
