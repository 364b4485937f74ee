import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { buildSubmit, relativePeriodCode, type Cimd2SubmitOptions } from "../../../lib/cimd2/submit";
import { encodePacket, param, type Parameter } from "../../../lib/cimd2/packet";
import { decodeCimd2Text } from "../../../lib/cimd2/text";
import type { MT } from "../../../lib/contract";

const mt = (text: string, extra: Partial<MT> = {}): MT => ({ id: "m1", to: "+46701234567", from: "12345", text, ...extra });
const one = (params: Parameter[], code: number) => param({ op: 3, number: 1, params }, code);
const all = (params: Parameter[], code: number) => params.filter((p) => p.code === code).map((p) => p.value);

function build(text: string, options: Cimd2SubmitOptions = {}, extra: Partial<MT> = {}) {
  const built = buildSubmit(mt(text, extra), { nextReference: () => 0x42, ...options });
  assert.ok(built.ok, built.ok ? "" : built.error.text);
  // Every part must make a valid packet.
  for (const part of built.packets) encodePacket({ op: 3, number: 1, params: part });
  return built;
}

describe("addresses (§3.3, §3.4, §3.6)", () => {
  test("`021` destination address, as courier gave it", () => {
    assert.equal(one(build("hi").packets[0], 21), "+46701234567");
  });
  test("a leading + can be rewritten (e.g. to 00) for SMSCs that want it", () => {
    assert.equal(one(build("hi", { internationalPrefix: "00" }).packets[0], 21), "0046701234567");
  });
  test("`023` originating address for a numeric sender", () => {
    const part = build("hi").packets[0];
    assert.equal(one(part, 23), "12345");
    assert.equal(one(part, 27), undefined);
  });
  test("\"Alphanumeric sender: `027` (≤11 chars)\"", () => {
    const part = build("hi", {}, { from: "RapidPro" }).packets[0];
    assert.equal(one(part, 27), "RapidPro");
    assert.equal(one(part, 23), undefined);
  });
  const refusals: Array<[Partial<MT>, string, RegExp]> = [
    [{ to: "hello" }, "INVALID_DESTINATION", /not a number/],
    [{ to: "+" + "1".repeat(21) }, "INVALID_DESTINATION", /1-20 digits/],
    [{ from: "TooLongSender" }, "INVALID_SOURCE", /longer than 11/],
    [{ from: "a_b" }, "INVALID_SOURCE", /without "_"/],
  ];
  for (const [fields, code, reason] of refusals) {
    test(`refused: ${JSON.stringify(fields)}`, () => {
      const built = buildSubmit(mt("hi", fields));
      assert.equal(built.ok, false);
      if (!built.ok) {
        assert.equal(built.error.code, code);
        assert.equal(built.error.temporary, false);
        assert.match(built.error.text, reason);
      }
    });
  }
});

describe("text (§3.6)", () => {
  test("GSM text goes in `033` in CIMD2's 7-bit form, no `030`", () => {
    const part = build("@$_ {x}").packets[0];
    assert.equal(one(part, 33), "_Oa$_-- _XX(x_XX)");
    assert.equal(one(part, 30), undefined);
    assert.equal(one(part, 34), undefined);
  });
  test("\"UCS2/8-bit: `034` hex + `030` DCS (e.g. `030:8`)\"", () => {
    const part = build("Привет 👋").packets[0];
    assert.equal(one(part, 30), "8");
    assert.equal(one(part, 34), "041F044004380432043504420020D83DDC4B");
    assert.equal(one(part, 33), undefined);
  });
  test("encoding ucs2 forces UCS-2 for a GSM text", () => {
    assert.equal(one(build("hi", { encoding: "ucs2" }).packets[0], 34), "00680069");
  });
  test("smart substitution keeps a text with typographic quotes in GSM", () => {
    assert.equal(one(build("“hi”", { smart: true }).packets[0], 33), "_qqhi_qq");
  });
});

describe("long texts: parts with a concatenation UDH in `032` (§3.6: \"UDH: `032` hex alongside `033`/`034`\")", () => {
  test("161 GSM characters make two parts of 153 + 8 with 05 00 03 ref 02 nn", () => {
    const built = build("a".repeat(161));
    assert.equal(built.parts, 2);
    assert.deepEqual(built.packets.map((p) => one(p, 32)), ["0500034202" + "01", "0500034202" + "02"]);
    assert.deepEqual(built.packets.map((p) => one(p, 33)?.length), [153, 8]);
  });
  test("160 GSM characters fit one part, no UDH", () => {
    const built = build("a".repeat(160));
    assert.equal(built.parts, 1);
    assert.equal(one(built.packets[0], 32), undefined);
  });
  test("an escape is never split: 152 letters then € (two septets) move € to part two", () => {
    const built = build("a".repeat(152) + "€" + "b".repeat(10));
    assert.equal(built.parts, 2);
    const first = decodeCimd2Text(one(built.packets[0], 33) ?? "");
    const second = decodeCimd2Text(one(built.packets[1], 33) ?? "");
    assert.ok(first.ok && second.ok);
    assert.equal(first.ok && first.text, "a".repeat(152));
    assert.equal(second.ok && second.text, "€" + "b".repeat(10));
  });
  test("a surrogate pair is never split: 66 UCS-2 letters then an emoji", () => {
    const built = build("ж".repeat(66) + "😀" + "ж".repeat(10));
    assert.equal(built.parts, 2);
    const firstOctets = Buffer.from(one(built.packets[0], 34) ?? "", "hex");
    assert.equal(firstOctets.length, 132, "the 4-octet emoji does not fit in the 2 octets left of 134");
    assert.equal(one(built.packets[1], 34)?.slice(0, 8), "D83DDE00");
  });
  test("16-bit references use IEI 08", () => {
    const built = build("a".repeat(200), { referenceBits: 16, nextReference: () => 0x1234 });
    assert.equal(one(built.packets[0], 32), "060804123402" + "01");
  });
  test("a maximum number of parts is refused with a reason, never truncated", () => {
    const built = buildSubmit(mt("a".repeat(153 * 3 + 1)), { maxParts: 3 });
    assert.equal(built.ok, false);
    if (!built.ok) {
      assert.equal(built.error.code, "TOO_MANY_PARTS");
      assert.match(built.error.text, /needs 4 parts in GSM 7-bit, more than the 3 allowed/);
    }
  });
  test("more messages to send `044` on every part but the last", () => {
    const built = build("a".repeat(400), { moreMessagesToSend: true });
    assert.deepEqual(built.packets.map((p) => one(p, 44)), ["1", "1", "0"]);
  });
});

describe("`056` status report request (§3.5)", () => {
  test("\"Kannel sends `056:14` when a DLR is wanted\"", () => {
    assert.equal(one(build("hi").packets[0], 56), "14");
  });
  test("\"and `056:0` otherwise\"", () => {
    assert.equal(one(build("hi", { statusReport: false }).packets[0], 56), "0");
  });
  test("\"`no-dlr` option suppresses it for SMSCs that reject the parameter\"", () => {
    assert.deepEqual(all(build("hi", { omitStatusReportRequest: true }).packets[0], 56), []);
  });
  test("out of 0-63 is refused", () => {
    assert.equal(buildSubmit(mt("hi"), { statusReportRequest: 64 }).ok, false);
  });
});

describe("validity and scheduled delivery (§3.4 `050`, `051`, `053`, `054`)", () => {
  // Kannel's conversion (smsc_cimd2.c, GSM 03.40 §9.2.3.12), the same codes for the same minutes.
  const codes: Array<[number, number]> = [
    [5, 0], [10, 1], [6, 1], [720, 143], [721, 144], [750, 144], [751, 145], [1440, 167],
    [1441, 168], [2880, 168], [43200, 196], [43201, 197], [50400, 197], [635040, 255],
  ];
  for (const [minutes, code] of codes) {
    test(`${minutes} minutes → ${code}`, () => assert.equal(relativePeriodCode(minutes), code));
  }
  test("beyond 63 weeks there is no code", () => assert.equal(relativePeriodCode(635041), undefined));
  test("`050` validity period relative and `053` first delivery time relative", () => {
    const part = build("hi", { validityMinutes: 60, deliveryDelayMinutes: 10 }).packets[0];
    assert.equal(one(part, 50), "11");
    assert.equal(one(part, 53), "1");
  });
  test("`051` validity absolute and `054` first delivery time absolute (YYMMDDhhmmss)", () => {
    const part = build("hi", { validityAbsolute: "261206120000", deliverAt: "261205230000" }).packets[0];
    assert.equal(one(part, 51), "261206120000");
    assert.equal(one(part, 54), "261205230000");
  });
  const refusals: Array<[Cimd2SubmitOptions, RegExp]> = [
    [{ validityAbsolute: "tomorrow" }, /not YYMMDDhhmmss/],
    [{ deliverAt: "2612052300" }, /not YYMMDDhhmmss/],
    [{ validityMinutes: 0 }, /outside/],
    [{ validityMinutes: 60, validityAbsolute: "261206120000" }, /not both/],
  ];
  for (const [options, reason] of refusals) {
    test(`refused: ${JSON.stringify(options)}`, () => {
      const built = buildSubmit(mt("hi"), options);
      assert.equal(built.ok, false);
      if (!built.ok) assert.match(built.error.text, reason);
    });
  }
});
