/**
 * Peer values in logs, statuses and error bodies (issue #14, "Logs cannot be forged"): control
 * characters visible, values cut to a readable length, and which fields refuse them.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { ECHO_CHARS, controlCharacterAt, controlCharacterRefusal, logLine, quoted, shown } from "../../../lib/text/peer-value";

describe("shown", () => {
  const cases: Array<{ name: string; value: unknown; max?: number; expected: string }> = [
    { name: "plain text unchanged", value: "+250788383383", expected: "+250788383383" },
    { name: "unicode unchanged", value: "Привет ☺", expected: "Привет ☺" },
    { name: "CR LF cannot start a new log line", value: "x\r\n[error] forged", expected: "x\\r\\n[error] forged" },
    { name: "NUL visible", value: "a\0b", expected: "a\\x00b" },
    { name: "tab visible", value: "a\tb", expected: "a\\tb" },
    { name: "ESC (terminal sequences) visible", value: "\u001b[2J", expected: "\\x1b[2J" },
    { name: "DEL visible", value: "\u007f", expected: "\\x7f" },
    { name: "C1 NEL visible", value: "a\u0085b", expected: "a\\x85b" },
    { name: "Unicode line separator visible", value: "a\u2028b", expected: "a\\u2028b" },
    { name: "a backslash is doubled, so an escape cannot be faked", value: "a\\nb", expected: "a\\\\nb" },
    { name: "number as text", value: 42, expected: "42" },
    { name: "cut with the count left out", value: "9".repeat(10_000), expected: `${"9".repeat(ECHO_CHARS)}…(+${10_000 - ECHO_CHARS} chars)` },
    { name: "custom length", value: "abcdef", max: 3, expected: "abc…(+3 chars)" },
    { name: "exactly the length is not cut", value: "abc", max: 3, expected: "abc" },
  ];
  for (const c of cases) test(c.name, () => assert.equal(shown(c.value, c.max), c.expected));

  test("no escaped value holds a line break or a control character", () => {
    let all = "";
    for (let code = 0; code < 0x3000; code++) all += String.fromCharCode(code);
    assert.equal(controlCharacterAt(shown(all, all.length)), -1);
  });
});

test("quoted escapes quotes inside", () => assert.equal(quoted('a"b\n'), '"a\\"b\\n"'));
test("logLine keeps more than one value", () => assert.equal(logLine("x".repeat(500)), `${"x".repeat(400)}…(+100 chars)`));

describe("controlCharacterRefusal", () => {
  const cases: Array<{ value: string; expected: RegExp | undefined }> = [
    { value: "+250788383383", expected: undefined },
    { value: "0191e180-7d60-7000-aded-7d8b151cbd5b", expected: undefined },
    { value: "+25078\r\n", expected: /^to "\+25078\\r\\n" holds the control character \\r at character 6/ },
    { value: "\0", expected: /control character \\x00 at character 0/ },
    { value: "12\u009b3", expected: /control character \\x9b at character 2/ },
    { value: "a\u2028", expected: /control character \\u2028/ },
  ];
  for (const c of cases) {
    test(JSON.stringify(c.value), () => {
      const reason = controlCharacterRefusal("to", c.value);
      if (c.expected === undefined) assert.equal(reason, undefined);
      else assert.match(reason ?? "", c.expected);
    });
  }
});
