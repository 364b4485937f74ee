import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MT } from "../../../lib/contract";
import { originatorOadc, readOadc, recipientAdc } from "../../../lib/ucp/address";
import { decodeMo, decodeNotification, parseXser } from "../../../lib/ucp/deliver";
import { ERROR_CODES, describeErrorCode } from "../../../lib/ucp/errors";
import { decodeFrameBody } from "../../../lib/ucp/frame";
import { fieldsOf, type Fields } from "../../../lib/ucp/operations";
import { buildSubmit, parseSubmitAck, type UcpSubmitOptions } from "../../../lib/ucp/submit";
import { parseUcpTime, ucpTime } from "../../../lib/ucp/time";

const mt = (text: string, extra: Partial<MT> = {}): MT => ({ id: "m-1", to: "+250788123123", from: "2020", text, ...extra });
const fixedReference = () => 0xa7;

describe("UCP addresses (§2.3)", () => {
  const originators: Array<{ name: string; from: string; oadc: string; otoa: string }> = [
    { name: "§2.3: '`RapidPro` → `0ED2303C4D86CADF` (Kannel output captured here)'", from: "RapidPro", oadc: "0ED2303C4D86CADF", otoa: "5039" },
    { name: "§2.3: 'reference `ALPHA@NUM` → `10412614190438AB4D` (Net::UCP `ucp.pl`)'", from: "ALPHA@NUM", oadc: "10412614190438AB4D", otoa: "5039" },
    { name: "§2.3: 'OADC numeric ≤16 digits'", from: "2020", oadc: "2020", otoa: "" },
    { name: "§2.3: 'with `OTOA=1139` international (Kannel strips `+`)'", from: "+250788000001", oadc: "250788000001", otoa: "1139" },
    { name: "§2.3: '≤11 characters': exactly 11", from: "ABCDEFGHIJK", oadc: "", otoa: "5039" },
  ];
  for (const c of originators) {
    test(c.name, () => {
      const result = originatorOadc(c.from);
      assert.ok(result.ok);
      if (!result.ok) return;
      if (c.oadc) assert.equal(result.oadc, c.oadc);
      assert.equal(result.otoa, c.otoa);
      // Read back as the SMSC would show it to us: the same sender, `+` included.
      assert.deepEqual(readOadc(result.oadc, result.otoa), { ok: true, value: c.from });
    });
  }

  test("§2.3 '≤11 characters (≤22 hex chars)': 12 are refused with a reason", () => {
    const result = originatorOadc("ABCDEFGHIJKL");
    assert.equal(result.ok, false);
    if (!result.ok) assert.match(result.reason, /12 characters, more than 11/);
  });

  test("§2.3 'GSM 03.38 7-bit packed': a sender outside the GSM alphabet is refused", () => {
    assert.equal(originatorOadc("Привет").ok, false);
  });

  const recipients: Array<{ name: string; to: string; expected: string | RegExp }> = [
    { name: "§2.3 'ADC numeric ≤16 digits'; our rule drops the leading '+'", to: "+250788123123", expected: "250788123123" },
    { name: "digits stay as they are", to: "0788123123", expected: "0788123123" },
    { name: "17 digits are refused", to: "+12345678901234567", expected: /more than 16/ },
    { name: "letters are refused", to: "abc", expected: /not a number/ },
  ];
  for (const c of recipients) {
    test(c.name, () => {
      const result = recipientAdc(c.to);
      if (typeof c.expected === "string") assert.deepEqual(result, { ok: true, value: c.expected });
      else assert.ok(!result.ok && c.expected.test(result.reason));
    });
  }
});

describe("OT 51 content for an MT (§2.4, §2.5)", () => {
  const cases: Array<{ name: string; message: MT; options?: UcpSubmitOptions; expected: Array<Partial<Fields>>; mt: 3 | 4 }> = [
    {
      name: "§2.4 'Kannel actually sends GSM 03.38 default-alphabet codes': '@' is 00, '{' is 1B28; §2.5 'Kannel sends `NT=3`'",
      message: mt("Hi @ {x}"),
      expected: [{ ADC: "250788123123", OADC: "2020", NRQ: "1", NT: "3", MT: "3", MSG: "48692000201B28781B29", NB: undefined, XSER: undefined }],
      mt: 3,
    },
    {
      name: "§2.4 'The spec calls it IRA': the IRA alphabet sends '@' as 40 and '{' as 7B",
      message: mt("Hi @ {x}"),
      options: { alphabet: "ira" },
      expected: [{ MT: "3", MSG: "48692040207B787D" }],
      mt: 3,
    },
    {
      name: "§2.4 'MT=4 transparent: NB = number of bits ... DCS goes in XSer type 02 (`020108` = UCS2)'",
      message: mt("Привет"),
      expected: [{ MT: "4", NB: "0096", MSG: "041F04400438043204350442", XSER: "020108" }],
      mt: 4,
    },
    {
      name: "UCS-2: an emoji (surrogate pair) is 4 octets, NB 0032",
      message: mt("😀"),
      expected: [{ MT: "4", NB: "0032", MSG: "D83DDE00", XSER: "020108" }],
      mt: 4,
    },
    {
      name: "§2.3 alphanumeric sender: OTOA 5039",
      message: mt("hello", { from: "RapidPro" }),
      expected: [{ OADC: "0ED2303C4D86CADF", OTOA: "5039" }],
      mt: 3,
    },
    {
      name: "§2.5 'or `7` when \"buffered\" DLRs are wanted'",
      message: mt("hello"),
      options: { notifyBuffered: true },
      expected: [{ NRQ: "1", NT: "7" }],
      mt: 3,
    },
    {
      name: "no notification asked: NRQ and NT empty",
      message: mt("hello"),
      options: { notify: false },
      expected: [{ NRQ: undefined, NT: undefined }],
      mt: 3,
    },
    {
      name: "§2.4 XSer 01 = GSM UDH '(e.g. `0106050003A70201`)': 161 GSM characters in two parts of 153 + 8",
      message: mt("a".repeat(161)),
      options: { nextReference: fixedReference },
      expected: [
        { MT: "3", XSER: "0106050003A70201", MSG: "61".repeat(153) },
        { MT: "3", XSER: "0106050003A70202", MSG: "61".repeat(8) },
      ],
      mt: 3,
    },
    {
      name: "16-bit reference: XSer 01 with `06 08 04 rr rr tt nn`, 152 characters per part",
      message: mt("a".repeat(161)),
      options: { nextReference: fixedReference, referenceBits: 16 },
      expected: [
        { XSER: "010706080400A70201", MSG: "61".repeat(152) },
        { MSG: "61".repeat(9) },
      ],
      mt: 3,
    },
    {
      name: "long UCS-2: XSer UDH then DCS in each part, 67 characters per part, NB per part",
      message: mt("ж".repeat(71)),
      options: { nextReference: fixedReference },
      expected: [
        { MT: "4", NB: String(134 * 8), XSER: "0106050003A70201020108", MSG: "0436".repeat(67) },
        { MT: "4", NB: "0064", XSER: "0106050003A70202020108", MSG: "0436".repeat(4) },
      ],
      mt: 4,
    },
    {
      name: "an escape pair is never split: '€' at septets 153-154 moves whole to part 2",
      message: mt("a".repeat(152) + "€" + "b".repeat(10)),
      options: { nextReference: fixedReference },
      expected: [{ MSG: "61".repeat(152) }, { MSG: "1B65" + "62".repeat(10) }],
      mt: 3,
    },
    {
      name: "a surrogate pair is never split: the emoji at octets 133-136 moves whole to part 2",
      message: mt("ж".repeat(66) + "😀" + "ж".repeat(3)),
      options: { nextReference: fixedReference },
      expected: [{ MSG: "0436".repeat(66) }, { MSG: "D83DDE00" + "0436".repeat(3), NB: "0080" }],
      mt: 4,
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const built = buildSubmit(c.message, c.options);
      assert.ok(built.ok, built.ok ? "" : built.error.text);
      if (!built.ok) return;
      assert.equal(built.mt, c.mt);
      assert.equal(built.operations.length, c.expected.length);
      c.expected.forEach((expected, i) => {
        for (const [name, value] of Object.entries(expected)) assert.equal(built.operations[i][name], value, `part ${i + 1} ${name}`);
      });
    });
  }

  test("a maximum of parts: a longer text is refused with a reason, never truncated", () => {
    const built = buildSubmit(mt("a".repeat(154 * 3)), { maxParts: 3 });
    assert.equal(built.ok, false);
    if (!built.ok) {
      assert.equal(built.error.code, "TOO_MANY_PARTS");
      assert.equal(built.error.temporary, false);
      assert.match(built.error.text, /needs 4 parts as gsm7, more than the 3 allowed/);
    }
  });

  test("§2.2 'VP/DDT = DDMMYYhhmm': validity and deferred delivery from the clock and the SMSC's offset", () => {
    const now = Date.UTC(2026, 11, 5, 20, 30, 0);
    const built = buildSubmit(mt("x"), { now: () => now, validityMinutes: 90, deferMinutes: 5, utcOffsetMinutes: 60 });
    assert.ok(built.ok);
    if (built.ok) {
      assert.equal(built.operations[0].VP, "0512262300");
      assert.equal(built.operations[0].DD, "1");
      assert.equal(built.operations[0].DDT, "0512262135");
    }
  });

  test("bad recipient, sender and options are refused as permanent with a reason", () => {
    for (const [message, options, code] of [
      [mt("x", { to: "nobody" }), {}, "INVALID_DESTINATION"],
      [mt("x", { from: "A sender too long" }), {}, "INVALID_SOURCE"],
      [mt("x"), { validityMinutes: 0 }, "INVALID_OPTION"],
      [mt("x"), { maxParts: 0 }, "INVALID_OPTION"],
    ] as const) {
      const built = buildSubmit(message, options);
      assert.ok(!built.ok && built.error.code === code && !built.error.temporary, code);
    }
  });

  test("§2.2 'positive result `A//<ADC>:<SCTS>/` — ADC:SCTS is the message reference'", () => {
    const decoded = decodeFrameBody("00/00039/R/51/A//012234:090996101010/68");
    assert.ok(decoded.ok);
    if (!decoded.ok) return;
    assert.deepEqual(parseSubmitAck(fieldsOf(decoded.frame).SM), { ok: true, recipient: "012234", scts: "090996101010" });
    assert.equal(parseSubmitAck("").ok, false);
    assert.equal(parseSubmitAck("012234:0909961010").ok, false);
  });
});

describe("MO (OT 52, OT 01) and notifications (OT 53)", () => {
  const fieldsFrom = (body: string) => {
    const decoded = decodeFrameBody(body);
    assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
    return decoded.ok ? fieldsOf(decoded.frame) : {};
  };

  test("spec 5.4 OT 52: 'Call you back later.' from 07686745 to 076523578 at 12-03-96 11:10:55", () => {
    const mo = decodeMo(52, fieldsFrom("00/00120/O/52/076523578/07686745/////////////120396111055////3//43616C6C20796F75206261636B206C617465722E///0//////////A3"));
    assert.ok(mo.ok);
    if (mo.ok) {
      assert.equal(mo.value.text, "Call you back later.");
      assert.equal(mo.value.from, "07686745");
      assert.equal(mo.value.to, "076523578");
      // Two-digit years are 2000-2099, as Kannel reads them.
      assert.equal(mo.value.date, "2096-03-12T11:10:55Z");
    }
  });

  test("spec 4.2 OT 01 'Short Message' is an MO too (§2.2 'Kannel accepts it as MO')", () => {
    const mo = decodeMo(1, fieldsFrom("00/00070/O/01/01234567890/09876543210//3/53686F7274204D657373616765/D9"));
    assert.ok(mo.ok && mo.value.text === "Short Message" && mo.value.from === "09876543210");
  });

  const mo52 = (fields: Fields) => decodeMo(52, { ADC: "2020", OADC: "250788000001", OTOA: "1139", SCTS: "051226203000", ...fields });

  test("§2.4 'MO (OT 52) arrives with the same rules (MT 3 or 4, XSer 01/02)': UCS-2 with an emoji", () => {
    const mo = mo52({ MT: "4", NB: "0064", MSG: "0048D83DDE000069", XSER: "020108" });
    assert.ok(mo.ok);
    if (mo.ok) {
      assert.equal(mo.value.text, "H😀i");
      assert.equal(mo.value.alphabet, "ucs2");
      assert.equal(mo.value.from, "+250788000001");
    }
  });

  test("§2.4 MT 3 in GSM codes (Kannel) and in IRA, per bind", () => {
    const gsm = mo52({ MT: "3", MSG: "00" });
    const ira = decodeMo(52, { ADC: "2020", OADC: "1", MT: "3", MSG: "40" }, { alphabet: "ira" });
    assert.ok(gsm.ok && gsm.value.text === "@");
    assert.ok(ira.ok && ira.value.text === "@");
  });

  test("§2.4 XSer 01 UDH: part 2 of 3, reference A7, kept as octets for reassembly", () => {
    const mo = mo52({ MT: "3", MSG: "6869", XSER: "0106050003A70302" });
    assert.ok(mo.ok);
    if (mo.ok) {
      assert.deepEqual(mo.value.concat, { reference: 0xa7, referenceBits: 8, total: 3, seq: 2 });
      assert.equal(mo.value.octets.toString("hex"), "6869");
      assert.equal(mo.value.alphabet, "gsm7");
    }
  });

  test("MT 4 without DCS is 8-bit data, not text", () => {
    const mo = mo52({ MT: "4", NB: "0016", MSG: "0102" });
    assert.ok(mo.ok && mo.value.text === undefined && mo.value.notText === "8-bit binary");
  });

  const malformed: Array<{ name: string; fields: Fields; reason: RegExp }> = [
    { name: "non-hex AMsg", fields: { MT: "3", MSG: "XYZ" }, reason: /not hex/ },
    { name: "§2.4 'NB = number of bits': NB that does not match TMsg", fields: { MT: "4", NB: "0032", MSG: "0102", XSER: "020108" }, reason: /NB 0032/ },
    { name: "XSer that runs past its end", fields: { MT: "3", MSG: "61", XSER: "0106050003" }, reason: /runs past/ },
    { name: "non-hex XSer", fields: { MT: "3", MSG: "61", XSER: "01zz" }, reason: /XSer .* not hex/ },
    { name: "a UDH part number outside 1..total", fields: { MT: "3", MSG: "61", XSER: "0106050003A70204" }, reason: /part number 4/ },
    { name: "MT 5", fields: { MT: "5", MSG: "61" }, reason: /MT "5"/ },
    { name: "a bad SCTS", fields: { MT: "3", MSG: "61", SCTS: "321326203000" }, reason: /SCTS/ },
  ];
  for (const c of malformed) {
    test(`strict: ${c.name} is refused with a reason`, () => {
      const mo = mo52(c.fields);
      assert.equal(mo.ok, false);
      if (!mo.ok) assert.match(mo.reason, c.reason);
    });
  }

  test("spec 5.5 OT 53: DST 1 buffered (not final), RSN 108, keyed by (recipient 3155555, SCTS 090196161057)", () => {
    const note = decodeNotification(
      fieldsFrom(
        "00/00234/O/53/1299998/3155555/////////////090196161057/1/108/090196161105/3//4D65737361676520666F7220333135353535352C2077697468206964656E74696669636174696F6E2039363031303931363130353720686173206265656E206275666665726564/////////////1F",
      ),
    );
    assert.ok(note.ok);
    if (note.ok) {
      assert.equal(note.value.status, "buffered");
      assert.equal(note.value.final, false);
      assert.equal(note.value.rsn, "108");
      assert.equal(note.value.key, "3155555:090196161057");
      assert.equal(note.value.text, "Message for 3155555, with identification 960109161057 has been buffered");
    }
  });

  const states: Array<{ dst: string; status: string; final: boolean; contract: string; reason?: string }> = [
    { dst: "0", status: "delivered", final: true, contract: "delivered" },
    { dst: "1", status: "buffered", final: false, contract: "sent" },
    { dst: "2", status: "failed", final: true, contract: "failed", reason: "RSN 001: absent" },
  ];
  for (const s of states) {
    test(`§2.2 'DST 0 delivered / 1 buffered / 2 not delivered': DST ${s.dst} is ${s.status}, "${s.contract}" for RapidPro`, () => {
      const note = decodeNotification({ ADC: "2020", OADC: "250788123123", SCTS: "051226203000", DST: s.dst, RSN: s.dst === "2" ? "1" : "", MT: "3", MSG: s.dst === "2" ? "616273656E74" : "" });
      assert.ok(note.ok);
      if (!note.ok) return;
      assert.equal(note.value.status, s.status);
      assert.equal(note.value.final, s.final);
      assert.equal(note.value.contractStatus, s.contract);
      assert.equal(note.value.reason, s.reason);
    });
  }

  test("a notification without SCTS, or with DST 3, is refused with a reason", () => {
    assert.ok(!decodeNotification({ OADC: "1", DST: "0" }).ok);
    const bad = decodeNotification({ OADC: "1", SCTS: "051226203000", DST: "3" });
    assert.ok(!bad.ok && /DST "3"/.test(bad.reason));
  });

  test("parseXser reads a run of TT LL DATA", () => {
    const parsed = parseXser("0106050003A70201020108");
    assert.ok(parsed.ok);
    if (parsed.ok) assert.deepEqual(parsed.value.map((e) => [e.type, e.data.toString("hex")]), [[1, "050003a70201"], [2, "08"]]);
  });
});

describe("error codes: one table (§2.1 'Kannel error table (`emimsg.c`)')", () => {
  const cases: Array<{ code: string; text: RegExp; temporary: boolean }> = [
    { code: "01", text: /Checksum error/, temporary: true },
    { code: "02", text: /Syntax error/, temporary: false },
    { code: "03", text: /Operation not supported/, temporary: false },
    { code: "04", text: /Operation not allowed/, temporary: false },
    { code: "05", text: /Call barring/, temporary: false },
    { code: "06", text: /AdC invalid/, temporary: false },
    { code: "07", text: /Authentication failure/, temporary: false },
    { code: "08", text: /Legitimisation/, temporary: false },
    { code: "24", text: /Message too long/, temporary: false },
    { code: "30", text: /hang-up/, temporary: true },
    { code: "37", text: /Delivery in progress/, temporary: true },
    { code: "38", text: /Message forwarded/, temporary: false },
    { code: "99", text: /unknown error code 99/, temporary: true },
  ];
  for (const c of cases) {
    test(`EC ${c.code}`, () => {
      const info = describeErrorCode(c.code);
      assert.match(info.text, c.text);
      assert.equal(info.temporary, c.temporary);
    });
  }
  test("the table has every code of Kannel's emi_strerror (01-27, 30-38) once", () => {
    const codes = ERROR_CODES.map((e) => e.code);
    assert.equal(new Set(codes).size, codes.length);
    assert.equal(codes.length, 27 + 9);
  });
});

describe("timestamps (§2.2 'SCTS/DSCTS = DDMMYYhhmmss; VP/DDT = DDMMYYhhmm')", () => {
  test("round trip at an offset", () => {
    const at = Date.UTC(2026, 0, 9, 10, 32, 58);
    assert.equal(ucpTime(at, 0, true), "090126103258");
    assert.equal(parseUcpTime("090126103258", 180), "2026-01-09T10:32:58+03:00");
    assert.equal(parseUcpTime("310226103258"), undefined);
  });
});
