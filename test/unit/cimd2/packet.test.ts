import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { decodePacket, encodePacket, numberSide, PacketNumbers, PacketReader, type ReadEvent } from "../../../lib/cimd2/packet";
import { maySend, operationName } from "../../../lib/cimd2/operations";

const bytes = (s: string) => Buffer.from(s, "latin1");
/** Sum of every byte from STX through the last TAB, mod 256, in upper-case hex (§3.1). */
function checksum(s: string): string {
  let sum = 0;
  for (const b of bytes(s)) sum = (sum + b) & 0xff;
  return sum.toString(16).toUpperCase().padStart(2, "0");
}
const LOGIN_BODY = "\x0201:001\t010:username\t011:password\t";

describe("frames (§3.1: `<STX>OO:NNN<TAB>PPP:value<TAB>…CC<ETX>`)", () => {
  test("login as jcimd's serializeLoginCommand expects it, checksum included", () => {
    const encoded = encodePacket({ op: 1, number: 1, params: [{ code: 10, value: "username" }, { code: 11, value: "password" }] });
    assert.equal(encoded.toString("latin1"), `${LOGIN_BODY}${checksum(LOGIN_BODY)}\x03`);
  });
  test("\"CC checksum = sum of all bytes from STX through the last TAB mod 256\": alive 001 is 3A", () => {
    // 0x02 + '4' '0' ':' '0' '0' '1' + TAB = 2+52+48+58+48+48+49+9 = 314 = 0x13A → 3A.
    assert.equal(encodePacket({ op: 40, number: 1, params: [] }).toString("latin1"), "\x0240:001\t3A\x03");
  });
  test("\"The checksum is optional: `TAB ETX` … valid\" (jcimd deserializeLoginCommandWithoutChkSum)", () => {
    const decoded = decodePacket(bytes(`${LOGIN_BODY}\x03`));
    assert.ok(decoded.ok);
    assert.equal(decoded.packet.checksummed, false);
    assert.deepEqual(decoded.packet.params, [{ code: 10, value: "username" }, { code: 11, value: "password" }]);
    assert.equal(encodePacket({ op: 40, number: 1, params: [] }, { checksum: false }).toString("latin1"), "\x0240:001\t\x03");
  });
  test("\"or `TAB hh ETX`\": a correct checksum is checked and accepted, upper or lower case", () => {
    for (const cc of [checksum(LOGIN_BODY), checksum(LOGIN_BODY).toLowerCase()]) {
      const decoded = decodePacket(bytes(`${LOGIN_BODY}${cc}\x03`));
      assert.ok(decoded.ok);
      assert.equal(decoded.packet.checksummed, true);
    }
  });
  test("\"unlike UCP, STX is included in the sum\": a sum without STX is refused", () => {
    const withoutStx = ((parseInt(checksum(LOGIN_BODY), 16) - 2) & 0xff).toString(16).toUpperCase().padStart(2, "0");
    const decoded = decodePacket(bytes(`${LOGIN_BODY}${withoutStx}\x03`));
    assert.equal(decoded.ok, false);
    assert.match(decoded.ok ? "" : decoded.reason, /checksum .* does not match/);
    assert.equal(decoded.ok ? 0 : decoded.number, 1, "the header is still reported, for a NACK");
  });
  test("\"Repeated parameters allowed (e.g. several `021` destinations)\"", () => {
    const decoded = decodePacket(encodePacket({ op: 3, number: 5, params: [{ code: 21, value: "111" }, { code: 21, value: "222" }, { code: 33, value: "hi" }] }));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.packet.params.filter((p) => p.code === 21).map((p) => p.value), ["111", "222"]);
  });
  test("an empty value is a value", () => {
    const decoded = decodePacket(bytes("\x0203:001\t033:\t\x03"));
    assert.ok(decoded.ok);
    assert.deepEqual(decoded.packet.params, [{ code: 33, value: "" }]);
  });
});

describe("strict decoding: every refusal has a reason", () => {
  const cases: Array<[string, string, RegExp]> = [
    ["missing colon in a parameter (jcimd deserializeCommandWithMissingColon)", "\x0201:001\t010username\t\x03", /not PPP:value/],
    ["four-digit parameter code (jcimd deserializeCommandWithFourByteParameterType)", "\x0201:001\t0100:username\t\x03", /not PPP:value/],
    ["non-hex checksum (jcimd deserializeCommandWithNonHexCheckSum)", "\x0201:001\t010:u\tZZ\x03", /not a two-digit hex checksum/],
    ["header without TAB", "\x0201:001\x03", /not OO:NNN/],
    ["one-digit operation (Kannel packet_check_header: two-digit operation code)", "\x021:001\t\x03", /not OO:NNN/],
    ["packet number over 255", "\x0201:300\t\x03", /outside 000\.\.255/],
    ["NUL inside (Kannel: CIMD2 spec does not allow NUL bytes in a packet)", "\x0201:001\t010:a\x00b\t\x03", /NUL/],
    ["user identity longer than 32 (§3.4 `010` user identity 32)", `\x0201:001\t010:${"u".repeat(33)}\t\x03`, /at most 32/],
    ["status code out of range (§3.4 `061` status code (0–9))", "\x0223:002\t061:12\t\x03", /outside 0\.\.9/],
    ["letters in an address (§3.4 `021` destination address)", "\x0220:002\t021:12a4\t\x03", /digits, \+ and -/],
    ["odd-length hex (`034` user data binary (hex))", "\x0220:002\t034:ABC\t\x03", /odd number of hex digits/],
    ["non-numeric timestamp (`060` service centre timestamp (YYMMDDhhmmss))", "\x0253:001\t060:2412x1000000\t\x03", /not YYMMDDhhmmss/],
    ["three-character trailer", "\x0240:001\tABC\x03", /not a two-digit hex checksum/],
  ];
  for (const [name, frame, reason] of cases) {
    test(name, () => {
      const decoded = decodePacket(bytes(frame));
      assert.equal(decoded.ok, false);
      assert.match(decoded.ok ? "" : decoded.reason, reason);
    });
  }
  test("`050` validity period relative allows -1 (Kannel: a leading - is valid)", () => {
    assert.ok(decodePacket(bytes("\x0203:001\t050:-1\t\x03")).ok);
  });
  test("encoding refuses a value that would break the frame", () => {
    assert.throws(() => encodePacket({ op: 3, number: 1, params: [{ code: 33, value: "a\tb" }] }), /byte 0x9/);
    assert.throws(() => encodePacket({ op: 3, number: 1, params: [{ code: 27, value: "x".repeat(12) }] }), /at most 11/);
    assert.throws(() => encodePacket({ op: 3, number: 256, params: [] }), /outside 000\.\.255/);
  });
});

function kinds(events: ReadEvent[]): string[] {
  return events.map((e) => (e.kind === "packet" ? `packet ${e.packet.op}:${e.packet.number}` : e.kind === "noise" ? `noise ${e.bytes}` : `invalid ${e.reason}`));
}

describe("the stream (§3.1: \"Data between packets must be ignored\")", () => {
  test("noise before and after a packet (jcimd deserializeLoginCommandWithExtraDataBetweenPackets)", () => {
    const reader = new PacketReader();
    const login = encodePacket({ op: 1, number: 1, params: [{ code: 10, value: "username" }] });
    const events = reader.push(Buffer.concat([bytes("noise"), login, bytes("noise")]));
    assert.deepEqual(kinds(events), ["noise 5", "packet 1:1", "noise 5"]);
  });
  test("two packets in one chunk, and one split across three chunks", () => {
    const reader = new PacketReader();
    const a = encodePacket({ op: 40, number: 1, params: [] });
    const b = encodePacket({ op: 3, number: 3, params: [{ code: 21, value: "4670" }, { code: 33, value: "hello" }] });
    assert.deepEqual(kinds(reader.push(Buffer.concat([a, b]))), ["packet 40:1", "packet 3:3"]);
    assert.deepEqual(kinds(reader.push(b.subarray(0, 4))), []);
    assert.deepEqual(kinds(reader.push(b.subarray(4, 10))), []);
    assert.deepEqual(kinds(reader.push(b.subarray(10))), ["packet 3:3"]);
    assert.equal(reader.pending, 0);
  });
  test("a second STX before ETX ends the first as \"packet without end marker\" (Kannel packet_extract)", () => {
    const reader = new PacketReader();
    const good = encodePacket({ op: 40, number: 3, params: [] });
    const events = reader.push(Buffer.concat([bytes("\x0240:001\t"), good]));
    assert.deepEqual(kinds(events), ["invalid packet without end marker (a new STX came before ETX)", "packet 40:3"]);
    assert.equal((events[0] as { number?: number }).number, 1);
  });
  test("a frame that never ends is dropped once it passes the limit", () => {
    const reader = new PacketReader(64);
    const events = reader.push(bytes(`\x0220:000\t033:${"x".repeat(100)}`));
    assert.equal(events.length, 1);
    assert.match(kinds(events)[0], /no ETX within 64 bytes/);
    assert.equal(reader.pending, 0);
  });
  test("random binary never throws and never yields a packet it cannot back", () => {
    const reader = new PacketReader();
    let seed = 7;
    const random = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff;
    for (let i = 0; i < 200; i++) {
      const chunk = Buffer.from(Array.from({ length: 97 }, random));
      for (const event of reader.push(chunk)) {
        if (event.kind === "packet") assert.ok(encodePacket(event.packet, { checksum: false }).length > 0);
      }
    }
  });
});

describe("packet numbers (§3.2)", () => {
  test("\"Client (application) numbers are odd 001…255, then wrap to 001\"", () => {
    const numbers = new PacketNumbers("client");
    const taken = Array.from({ length: 130 }, () => numbers.take());
    assert.deepEqual(taken.slice(0, 3), [1, 3, 5]);
    assert.equal(taken[127], 255);
    assert.deepEqual(taken.slice(128), [1, 3]);
  });
  test("\"SMSC numbers are even 000…254, then wrap to 000\"", () => {
    const numbers = new PacketNumbers("smsc");
    const taken = Array.from({ length: 129 }, () => numbers.take());
    assert.deepEqual(taken.slice(0, 3), [0, 2, 4]);
    assert.equal(taken[127], 254);
    assert.equal(taken[128], 0);
  });
  test("\"Kannel always sends LOGIN as 001\": reset starts again", () => {
    const numbers = new PacketNumbers("client");
    numbers.take();
    numbers.take();
    numbers.reset();
    assert.equal(numbers.take(), 1);
  });
  test("\"A response carries the number of its request\": takeFree skips numbers still awaiting theirs", () => {
    const numbers = new PacketNumbers("smsc");
    const inUse = new Set([0, 2, 6]);
    assert.equal(numbers.takeFree((n) => inUse.has(n)), 4);
    assert.equal(numbers.takeFree((n) => inUse.has(n)), 8);
    const all = new Set(Array.from({ length: 128 }, (_, i) => i * 2));
    assert.equal(numbers.takeFree((n) => all.has(n)), undefined, "all 128 even numbers awaiting a response");
  });
  test("\"A repeated request number (same as the previous one) is treated as a retransmission\": with 127 in flight the next number is a different one", () => {
    const numbers = new PacketNumbers("smsc");
    const inUse = new Set(Array.from({ length: 128 }, (_, i) => i * 2));
    inUse.delete(10);
    inUse.delete(20);
    const first = numbers.takeFree((n) => inUse.has(n));
    assert.equal(first, 10);
    // 10 is answered at once: two numbers are free again, the last one sent among them.
    const second = numbers.takeFree((n) => inUse.has(n));
    assert.notEqual(second, first);
    assert.equal(second, 20);
  });
  test("a number says which side sent the request", () => {
    assert.equal(numberSide(1), "client");
    assert.equal(numberSide(255), "client");
    assert.equal(numberSide(0), "smsc");
    assert.equal(numberSide(254), "smsc");
  });
});

describe("operations (§3.3)", () => {
  const cases: Array<[number, "client" | "smsc", boolean, string]> = [
    [1, "client", true, "01 login from the client"],
    [1, "smsc", false, "the SMSC does not log in"],
    [51, "smsc", true, "51 answers login"],
    [3, "client", true, "03 submit message"],
    [53, "smsc", true, "53 (`021` dest + `060` SMSC timestamp = message reference)"],
    [20, "smsc", true, "20 deliver message (SMSC→app)"],
    [70, "client", true, "70 answers deliver message"],
    [23, "smsc", true, "23 deliver status report (SMSC→app)"],
    [73, "client", true, "73 answers the status report"],
    [40, "client", true, "40 alive (either side)"],
    [40, "smsc", true, "40 alive (either side)"],
    [90, "client", true, "90 answers alive"],
    [98, "smsc", true, "98 general error response"],
    [99, "client", true, "99 NACK"],
    [20, "client", false, "the client does not deliver"],
    [77, "smsc", false, "77 is nothing"],
  ];
  for (const [code, sender, allowed, rule] of cases) {
    test(`${rule}: ${operationName(code)} from the ${sender} ${allowed ? "allowed" : "refused"}`, () => {
      assert.equal(maySend(code, sender), allowed);
    });
  }
  test("names", () => {
    assert.equal(operationName(53), "submit message response");
    assert.equal(operationName(98), "general error response");
    assert.equal(operationName(77), "operation 77");
  });
});
