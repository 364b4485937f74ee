import { test, describe } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import {
  COMMAND_STATUSES,
  DEFAULT_STATUS_POLICY,
  DEFAULT_TEMPORARY_STATUSES,
  DEFAULT_THROTTLING_STATUSES,
  ESME_RINVCMDLEN,
  ESME_RINVDCS,
  ESME_RINVMSGLEN,
  ESME_RINVOPTPARSTREAM,
  ESME_RINVPARLEN,
  classifyStatus,
  describeStatus,
  makeStatusPolicy,
  parseStatusList,
  statusText,
  type StatusClass,
} from "../../../lib/smpp/command-status";

describe("command status classes (default policy)", () => {
  // Each row quotes the rule it comes from (smpp-and-gateways.md, aggregator-protocols.md §1.5).
  const cases: Array<[number, StatusClass, string]> = [
    [0x00, "ok", "ESME_ROK: no error"],
    [0x58, "throttling", "Kannel §3.2: on ESME_RTHROTTLED it pauses sending for 1 s"],
    [0x14, "throttling", "Rapporto §1.5: 0x14 partner queue full (pause 5 s)"],
    [0x08, "temporary", "Kannel §3.2: ESME_RSYSERR is temporary: the message is re-queued"],
    [0x64, "temporary", "Kannel §3.2: ESME_RX_T_APPN is temporary"],
    [0x61, "temporary", "Jasmin §4.2 submit_error_retrial: ESME_RINVSCHED: 2 retries, 300 s apart"],
    [0x0b, "permanent", "Rapporto §1.5: 0x0B bad destination (do not retry)"],
    [0x0a, "permanent", "Kannel §3.2: every other status is rejected"],
    [0x45, "permanent", "Kannel §3.2: every other status is rejected (ESME_RSUBMITFAIL)"],
    [0x400, "permanent", "vendor codes are permanent unless configured (e.g. Rapporto 0x500)"],
  ];
  for (const [code, expected, rule] of cases) {
    test(`${describeStatus(code)} is ${expected}: "${rule}"`, () => {
      assert.equal(classifyStatus(code, DEFAULT_STATUS_POLICY), expected);
    });
  }
});

describe("the default lists come from the table's columns", () => {
  test("temporary: Kannel's RSYSERR, RMSGQFUL, RTHROTTLED, RX_T_APPN and Jasmin's RINVSCHED (§3.2, §4.2)", () => {
    assert.deepEqual([...DEFAULT_TEMPORARY_STATUSES].sort((a, b) => a - b), [0x08, 0x14, 0x58, 0x61, 0x64]);
  });
  test("throttling: ESME_RMSGQFUL and ESME_RTHROTTLED, which Rapporto asks to pause on (aggregator-protocols.md §1.5)", () => {
    assert.deepEqual([...DEFAULT_THROTTLING_STATUSES].sort((a, b) => a - b), [0x14, 0x58]);
  });
  test("ESME_RINVDCS has a row, so it is named in logs", () => {
    assert.equal(describeStatus(0x104), "ESME_RINVDCS (0x104)");
  });
});

describe("a configured policy replaces the defaults", () => {
  const policy = makeStatusPolicy([0x45], [0x58]);
  const cases: Array<[number, StatusClass]> = [
    [0x45, "temporary"],
    [0x08, "permanent"],
    [0x14, "permanent"],
    [0x58, "throttling"],
  ];
  for (const [code, expected] of cases) {
    test(`${describeStatus(code)} → ${expected}`, () => assert.equal(classifyStatus(code, policy), expected));
  }
});

describe("the status table agrees with the smpp package's numbers", () => {
  // The package uses SMPP 5.0 names for 0xC0..0xC4; compare the codes only.
  for (const [name, code] of Object.entries(smpp.errors)) {
    if (code > 0xff) continue; // SMPP 5.0 broadcast statuses: not in 3.4
    test(`${name} = ${describeStatus(code)} is in the table`, () => {
      assert.ok(COMMAND_STATUSES.some((s) => s.code === code));
    });
  }
  test("every row's name is the package's name for its code (SMPP 5.0's where it renamed 0xC0..0xC4)", () => {
    for (const row of COMMAND_STATUSES) assert.equal(smpp.errors[row.v5Name ?? row.name], row.code, row.name);
  });
  test("the constants are the spec's values (SMPP 3.4 table 5-2; ESME_RINVDCS from 5.0)", () => {
    assert.deepEqual(
      [ESME_RINVMSGLEN, ESME_RINVCMDLEN, ESME_RINVOPTPARSTREAM, ESME_RINVPARLEN, ESME_RINVDCS],
      [smpp.errors.ESME_RINVMSGLEN, smpp.errors.ESME_RINVCMDLEN, smpp.errors.ESME_RINVTLVSTREAM, smpp.errors.ESME_RINVTLVLEN, smpp.errors.ESME_RINVDCS],
    );
  });
  test("codes are unique", () => {
    assert.equal(new Set(COMMAND_STATUSES.map((s) => s.code)).size, COMMAND_STATUSES.length);
  });
});

describe("describeStatus and statusText", () => {
  const cases: Array<[number, string, RegExp]> = [
    [0x58, "ESME_RTHROTTLED (0x58)", /throttling/],
    [0x0e, "ESME_RINVPASWD (0x0E)", /password/],
    [0x500, "vendor status (0x500)", /vendor specific/],
  ];
  for (const [code, name, text] of cases) {
    test(name, () => {
      assert.equal(describeStatus(code), name);
      assert.match(statusText(code), text);
    });
  }
});

describe("parseStatusList (editor field)", () => {
  const good: Array<[string, number[]]> = [
    ["", []],
    ["0x58", [0x58]],
    ["0x58, ESME_RSYSERR, 100", [0x58, 0x08, 100]],
    ["esme_rmsgqful;0X14 8", [0x14, 0x14, 8]],
    ["ESME_RINVTLVLEN ESME_RINVPARLEN", [0xc2, 0xc2]],
  ];
  for (const [text, codes] of good) {
    test(`"${text}" → [${codes.join(", ")}]`, () => assert.deepEqual(parseStatusList(text), codes));
  }
  const bad = ["0x58, ESME_NOPE", "-1", "1.5", "0xZZ"];
  for (const text of bad) {
    test(`"${text}" is refused with the token named`, () => {
      assert.throws(() => parseStatusList(text), /not an SMPP command status/);
    });
  }
});
