import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { FrameError, FrameReader, checksum, decodeFrameBody, encodeFrame, frameBody } from "../../../lib/ucp/frame";
import { fieldsOf } from "../../../lib/ucp/operations";

/**
 * The EMI-UCP 5.2 specification's examples (as encoded in dex4er/perl-Protocol-EMIUCP
 * t/190_message_specification_emiucp_5_2.t, cited in aggregator-protocols.md §2) and the
 * login Kannel sent (§2.8). §2.1: "All 20 spec examples and the Net::UCP example verify with
 * this algorithm (checksum and LEN)".
 */
const EXAMPLES: Array<{ name: string; frame: string; fields: number; check?: Record<string, string> }> = [
  { name: "4.2 OT 01 call input", frame: "00/00070/O/01/01234567890/09876543210//3/53686F7274204D657373616765/D9", fields: 5, check: { ADC: "01234567890", MT: "3" } },
  { name: "4.2 OT 01 numeric", frame: "00/00041/O/01/0888444///2/716436383334/C5", fields: 5, check: { MT: "2", MSG: "716436383334" } },
  { name: "4.2.1 R/01 positive", frame: "06/00043/R/01/A/01234567890:090196103258/4E", fields: 2, check: { SM: "01234567890:090196103258" } },
  { name: "4.2.2 R/01 negative", frame: "12/00022/R/01/N/02//03", fields: 3, check: { EC: "02" } },
  { name: "4.6 OT 31 alert", frame: "02/00035/O/31/0234765439845/0139/A0", fields: 2, check: { ADC: "0234765439845", PID: "0139" } },
  { name: "4.6.1 R/31 positive", frame: "04/00023/R/31/A/0003/2D", fields: 2, check: { SM: "0003" } },
  { name: "4.6.2 R/31 negative", frame: "00/00022/R/31/N/06//07", fields: 3, check: { EC: "06" } },
  {
    name: "5.3 OT 51 submit, MT 3",
    frame: "18/00113/O/51/012345/09876//1/1920870340125000/4/0539//////3012961212//////3//4D657373616765203531/////////////CD",
    fields: 33,
    check: { NRQ: "1", NADC: "1920870340125000", NT: "4", NPID: "0539", VP: "3012961212", MT: "3", MSG: "4D657373616765203531" },
  },
  {
    name: "5.3 OT 51 submit, MT 4",
    frame: "39/00099/O/51/0657467/078769//1//7//1/0545765/0122/1/0808971800///////4/32/F5AA34DE////1/////////65",
    fields: 33,
    check: { NT: "7", DD: "1", DDT: "0808971800", MT: "4", NB: "32", MSG: "F5AA34DE", MCLS: "1" },
  },
  { name: "5.3.1 R/51 positive", frame: "00/00039/R/51/A//012234:090996101010/68", fields: 3, check: { SM: "012234:090996101010" } },
  { name: "5.3.2 R/51 negative", frame: "00/00022/R/51/N/31//07", fields: 3, check: { EC: "31" } },
  {
    name: "5.4 OT 52 deliver",
    frame: "00/00120/O/52/076523578/07686745/////////////120396111055////3//43616C6C20796F75206261636B206C617465722E///0//////////A3",
    fields: 33,
    check: { SCTS: "120396111055", MT: "3", DCS: "0" },
  },
  { name: "5.4.1 R/52 positive", frame: "00/00039/R/52/A//076567:010196010101/6C", fields: 3 },
  { name: "5.4.2 R/52 negative", frame: "00/00022/R/52/N/01//05", fields: 3, check: { EC: "01" } },
  {
    name: "5.5 OT 53 notification",
    frame:
      "00/00234/O/53/1299998/3155555/////////////090196161057/1/108/090196161105/3//4D65737361676520666F7220333135353535352C2077697468206964656E74696669636174696F6E2039363031303931363130353720686173206265656E206275666665726564/////////////1F",
    fields: 33,
    check: { ADC: "1299998", OADC: "3155555", SCTS: "090196161057", DST: "1", RSN: "108", DSCTS: "090196161105" },
  },
  { name: "5.5.1 R/53 positive", frame: "00/00032/R/53/A//020296020202/F2", fields: 3, check: { SM: "020296020202" } },
  { name: "5.5.2 R/53 negative", frame: "00/00022/R/53/N/02//07", fields: 3 },
  { name: "6.3 OT 60 login", frame: "02/00059/O/60/07656765/2/1/1/50617373776F7264//0100//////61", fields: 12, check: { OADC: "07656765", PWD: "50617373776F7264", VERS: "0100" } },
  { name: "6.3.1 R/60 positive", frame: "00/00019/R/60/A//6D", fields: 2 },
  { name: "6.3.2 R/60 negative", frame: "00/00022/R/60/N/01//04", fields: 3 },
  {
    name: "§2.8: Kannel logged in (`00/00052/O/60/12345/6/5/1/736563726574//0100//////D5`)",
    frame: "00/00052/O/60/12345/6/5/1/736563726574//0100//////D5",
    fields: 12,
    check: { OADC: "12345", OTON: "6", ONPI: "5", STYP: "1", PWD: "736563726574" },
  },
];

describe("UCP frames: every example of the reference", () => {
  for (const example of EXAMPLES) {
    test(`${example.name}: LEN, checksum, ${example.fields} fields, and re-encoded byte for byte`, () => {
      const decoded = decodeFrameBody(example.frame);
      assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
      const { frame } = decoded;
      assert.equal(frame.fields.length, example.fields);
      // §2.1: "LEN 5 digits = number of characters between STX and ETX"
      assert.equal(Number(example.frame.slice(3, 8)), example.frame.length);
      // §2.1: "CK = sum of all bytes from the first TRN character up to and including the last '/'"
      assert.equal(checksum(example.frame.slice(0, -2)), example.frame.slice(-2));
      assert.equal(frameBody(frame), example.frame);
      assert.equal(encodeFrame(frame).toString("latin1"), `\x02${example.frame}\x03`);
      const fields = fieldsOf(frame);
      for (const [name, value] of Object.entries(example.check ?? {})) assert.equal(fields[name], value, name);
    });
  }
});

describe("UCP frames: strict decoding", () => {
  const login = "02/00059/O/60/07656765/2/1/1/50617373776F7264//0100//////61";
  const cases: Array<{ name: string; body: string; reason: RegExp }> = [
    { name: "§2.1 CK: a wrong checksum", body: login.slice(0, -2) + "62", reason: /checksum 62 is wrong \(computed 61\)/ },
    { name: "§2.1 CK: upper-case hex digits only are computed; non-hex refused", body: login.slice(0, -2) + "G1", reason: /not two hex digits/ },
    { name: "§2.1 LEN: a LEN that does not match", body: "02/00058/O/60/07656765/2/1/1/50617373776F7264//0100//////61", reason: /LEN 00058 does not match the 59/ },
    { name: "§2.1 every operation has a fixed number of fields: one missing", body: withChecksum("02/00058/O/60/07656765/2/1/1/50617373776F7264//0100/////"), reason: /operation 60 has 11 fields, expected 12/ },
    { name: "§2.1 50-series have 33 fields: a 32-field OT 51", body: withChecksum(`00/00000/O/51/${"/".repeat(32)}`), reason: /operation 51 has 32 fields, expected 33/ },
    { name: "§2.1 results are A or N", body: withChecksum("00/00000/R/51/X//1:2/"), reason: /neither A nor N/ },
    { name: "§2.1 negative `N/<EC>/<SM>/`: EC is two digits", body: withChecksum("00/00000/R/51/N/x//"), reason: /two-digit error code/ },
    { name: "§2.1 TRN 2 digits", body: "0/00020/R/60/A//6D", reason: /header/ },
    { name: "§2.1 O or R", body: withChecksum("00/00000/X/60/A//"), reason: /header/ },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const decoded = decodeFrameBody(c.body);
      assert.equal(decoded.ok, false);
      if (!decoded.ok) assert.match(decoded.reason, c.reason);
    });
  }

  test("an unknown OT decodes (so it can be answered 'not supported'), with its fields as they are", () => {
    const decoded = decodeFrameBody(withChecksum("07/00000/O/02/a/b/c/"));
    assert.ok(decoded.ok);
    if (decoded.ok) assert.deepEqual(decoded.frame, { trn: 7, direction: "O", ot: 2, fields: ["a", "b", "c"] });
  });

  test("encoding refuses a value with the separator or a control character", () => {
    assert.throws(() => frameBody({ trn: 1, direction: "O", ot: 31, fields: ["1/2", "0539"] }), /cannot carry/);
    assert.throws(() => frameBody({ trn: 100, direction: "O", ot: 31, fields: ["1", "0539"] }), /TRN 100/);
  });
});

describe("FrameReader: a TCP stream into frames", () => {
  const a = encodeFrame({ trn: 1, direction: "R", ot: 60, fields: ["A", ""] });
  const b = encodeFrame({ trn: 2, direction: "R", ot: 31, fields: ["A", ""] });

  test("frames split across chunks and several in one chunk", () => {
    const reader = new FrameReader();
    const all = Buffer.concat([a, b]);
    const out = [...reader.push(all.subarray(0, 5)), ...reader.push(all.subarray(5, a.length + 3)), ...reader.push(all.subarray(a.length + 3))];
    assert.deepEqual(out.map((d) => d.ok && d.frame.trn), [1, 2]);
  });

  test("a byte outside a frame is an error with a reason", () => {
    assert.throws(() => new FrameReader().push(Buffer.from("HTTP/1.1 400\r\n")), (e: Error) => e instanceof FrameError && /0x48 outside a frame/.test(e.message));
  });

  test("STX inside a frame is an error", () => {
    assert.throws(() => new FrameReader().push(Buffer.from("\x0201/000\x02")), /STX inside a frame/);
  });

  test("a frame that never ends is refused once it is longer than LEN allows", () => {
    const reader = new FrameReader(100);
    assert.throws(() => reader.push(Buffer.concat([Buffer.from([2]), Buffer.alloc(200, 0x30)])), /longer than 100/);
  });

  test("a bad frame between good ones is reported, not thrown, so the session can say which", () => {
    const out = new FrameReader().push(Buffer.concat([a, Buffer.from("\x0201/00019/R/60/A//00\x03"), b]));
    assert.deepEqual(out.map((d) => d.ok), [true, false, true]);
  });
});

/** Fixes LEN and the checksum of a hand-written body. */
function withChecksum(body: string): string {
  const length = body.length + 2;
  const fixed = body.slice(0, 3) + String(length).padStart(5, "0") + body.slice(8);
  return fixed + checksum(fixed);
}

describe("hostile input never throws anything but a FrameError", () => {
  test("2,000 mutated frames and random chunks: each is a decode with a reason or a FrameError", () => {
    let seed = 12345;
    const random = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff);
    const base = encodeFrame({ trn: 18, direction: "O", ot: 51, fields: ["012345", "09876", "", "1", "", "3", ...Array(12).fill(""), "3", "", "4869", ...Array(12).fill("")] });
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const bytes = Buffer.from(base);
      for (let k = 0; k < 1 + Math.floor(random() * 4); k++) bytes[Math.floor(random() * bytes.length)] = Math.floor(random() * 256);
      const reader = new FrameReader();
      try {
        for (let at = 0; at < bytes.length; at += 1 + Math.floor(random() * 16)) {
          for (const d of reader.push(bytes.subarray(at, at + 16))) if (!d.ok) refused++;
        }
      } catch (error) {
        assert.ok(error instanceof FrameError, String(error));
        refused++;
      }
    }
    assert.ok(refused > 1900, `refused ${refused} of 2000`);
  });
});
