import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { readDeliverMessage } from "../../../lib/cimd2/deliver";
import { correlationKey, readStatusReport, STATUS_CODES, statusName, type ReportOutcome } from "../../../lib/cimd2/report";
import { classifyError, CIMD2_ERRORS, describeError, type ErrorClass } from "../../../lib/cimd2/errors";
import { decodePacket, type Packet } from "../../../lib/cimd2/packet";
import { Reassembler } from "../../../lib/sms/reassembly";

function packet(frame: string): Packet {
  const decoded = decodePacket(Buffer.from(frame, "latin1"));
  assert.ok(decoded.ok, decoded.ok ? "" : decoded.reason);
  return decoded.packet;
}

describe("op 20 deliver message", () => {
  test("GSM text in `033` with escapes", () => {
    const read = readDeliverMessage(packet("\x0220:000\t021:12345\t023:46701234567\t060:261205201500\t033:_Oa home _XXe5\t\x03"));
    assert.ok(read.ok);
    assert.equal(read.message.text, "@ home €5");
    assert.equal(read.message.from, "46701234567");
    assert.equal(read.message.to, "12345");
    assert.equal(read.message.timestamp, "261205201500");
    assert.equal(read.message.alphabet, "gsm7");
  });
  test("UCS-2 in `034` with `030:8`, emoji included", () => {
    const read = readDeliverMessage(packet("\x0220:002\t021:12345\t023:4670\t030:8\t034:04220435044104420020D83DDE00\t\x03"));
    assert.ok(read.ok);
    assert.equal(read.message.text, "Тест 😀");
  });
  test("binary data under an 8-bit DCS is not text, and says so", () => {
    const read = readDeliverMessage(packet("\x0220:002\t021:12345\t023:4670\t030:4\t034:DEADBEEF\t\x03"));
    assert.ok(read.ok);
    assert.equal(read.message.text, undefined);
    assert.match(read.message.notText ?? "", /8-bit/);
    assert.equal(read.message.octets.toString("hex"), "deadbeef");
  });
  test("a `032` concatenation UDH is read, and three parts out of order reassemble", () => {
    const reassembler = new Reassembler<number>({ onFlush: () => undefined });
    const parts = [
      "\x0220:004\t021:12345\t023:4670\t032:050003070303\t033:_XX\t\x03".replace("033:_XX\t", "033:three\t"),
      "\x0220:000\t021:12345\t023:4670\t032:050003070301\t033:one _XX\t\x03",
      "\x0220:002\t021:12345\t023:4670\t032:050003070302\t033:(two) \t\x03",
    ];
    const results = parts.map((frame, i) => {
      const read = readDeliverMessage(packet(frame));
      assert.ok(read.ok);
      assert.ok(read.message.concat && read.message.alphabet);
      return reassembler.add({ from: read.message.from, to: read.message.to, concat: read.message.concat, octets: read.message.octets, alphabet: read.message.alphabet, context: i });
    });
    const last = results[2];
    assert.equal(last.status, "complete");
    // The escape at the end of part 1 joins the "(" that starts part 2: "{".
    assert.equal(last.status === "complete" && last.message.text, "one {two) three");
  });
  const refusals: Array<[string, string, number, RegExp]> = [
    ["no destination", "\x0220:000\t023:4670\t033:x\t\x03", 3, /without 021/],
    ["no originator", "\x0220:000\t021:1\t033:x\t\x03", 3, /without 023/],
    ["both 033 and 034", "\x0220:000\t021:1\t023:2\t033:x\t034:00\t\x03", 303, /both 033/],
    ["unknown escape", "\x0220:000\t021:1\t023:2\t033:_zz\t\x03", 302, /not a CIMD2 escape/],
    ["UDH longer than its data", "\x0220:000\t021:1\t023:2\t032:0500\t033:x\t\x03", 712, /runs past the 2-octet message/],
    ["concatenation part 0", "\x0220:000\t021:1\t023:2\t032:050003070300\t033:x\t\x03", 712, /part number 0/],
  ];
  for (const [name, frame, code, reason] of refusals) {
    test(`refused with error ${code}: ${name}`, () => {
      const read = readDeliverMessage(packet(frame));
      assert.equal(read.ok, false);
      if (!read.ok) {
        assert.equal(read.errorCode, code);
        assert.match(read.reason, reason);
      }
    });
  }
});

describe("op 23 status reports (§3.5: \"Kannel maps `061`: 4 → delivered; 2 validity expired, 3 delivery failed, 6 last no response, 7 cancelled, 8 deleted, 9 deleted by cancel → failed; others (0, 1, 5) ignored as non-final\")", () => {
  const cases: Array<[number, ReportOutcome]> = [
    [0, "pending"], [1, "pending"], [2, "failed"], [3, "failed"], [4, "delivered"],
    [5, "pending"], [6, "failed"], [7, "failed"], [8, "failed"], [9, "failed"],
  ];
  for (const [code, outcome] of cases) {
    test(`061:${code} is ${outcome}`, () => {
      const read = readStatusReport(packet(`\x0223:000\t021:46701234567\t060:261205201500\t061:${code}\t062:17\t\x03`));
      assert.ok(read.ok);
      assert.equal(read.report.outcome, outcome);
      assert.equal(statusName(outcome), outcome === "pending" ? undefined : outcome);
      if (outcome === "failed") assert.match(read.report.reason ?? "", /062 error 17/);
    });
  }
  test("the table covers 0-9 and nothing else", () => assert.deepEqual(STATUS_CODES.map((s) => s.code), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  test("\"Correlation key = (`060`, `021`)\": the report's key is the submit response's", () => {
    const read = readStatusReport(packet("\x0223:002\t021:46701234567\t060:261205201500\t061:4\t063:261205201530\t\x03"));
    assert.ok(read.ok);
    assert.equal(read.report.key, correlationKey("261205201500", "+46701234567"));
    assert.equal(read.report.dischargeTime, "261205201530");
  });
  const refusals: Array<[string, RegExp]> = [
    ["\x0223:000\t060:261205201500\t061:4\t\x03", /without 021/],
    ["\x0223:000\t021:1\t061:4\t\x03", /without 060/],
    ["\x0223:000\t021:1\t060:261205201500\t\x03", /without 061/],
  ];
  for (const [frame, reason] of refusals) {
    test(`refused: ${reason.source}`, () => {
      const read = readStatusReport(packet(frame));
      assert.equal(read.ok, false);
      if (!read.ok) assert.match(read.reason, reason);
    });
  }
});

describe("error codes: one table classifies them (§3.3)", () => {
  const cases: Array<[number, ErrorClass, string]> = [
    [10, "throttling", "10 temporary congestion"],
    [4, "temporary", "4 connection to MC lost"],
    [5, "temporary", "5 no response from MC"],
    [6, "temporary", "6 general system error"],
    [9, "temporary", "9 requested operation failed"],
    [1, "permanent", "1 unexpected operation"],
    [2, "permanent", "2 syntax"],
    [3, "permanent", "3 unsupported parameter"],
    [8, "permanent", "8 parameter formatting"],
    [100, "permanent", "login 100 invalid login"],
    [102, "temporary", "102 too many users"],
    [300, "permanent", "300 destination"],
    [302, "permanent", "302 user data syntax"],
    [304, "permanent", "304 DCS"],
    [306, "permanent", "306 originator"],
    [310, "permanent", "310 status report request"],
    [324, "throttling", "ecimd2 324 licence exceeded"],
    [999, "permanent", "a code the table lacks"],
  ];
  for (const [code, expected, rule] of cases) {
    test(`${rule} → ${expected}`, () => assert.equal(classifyError(code), expected));
  }
  test("codes are unique", () => assert.equal(new Set(CIMD2_ERRORS.map((e) => e.code)).size, CIMD2_ERRORS.length));
  test("descriptions carry the SMSC's own text", () => {
    assert.equal(describeError(100, "invalid login"), "error 100 (invalid login): invalid login");
    assert.equal(describeError(10), "error 10 (temporary congestion error)");
  });
});
