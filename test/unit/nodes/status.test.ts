/** throttledStatus: the first change shows at once, a burst within the interval becomes one update. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { MAX_STATUS_CHARS, shortStatusText, throttledStatus } from "../../../nodes/shared/status";

test("a burst of updates shows the first at once and the last after the interval", async () => {
  const shown: number[] = [];
  let value = 0;
  const status = throttledStatus(() => shown.push(value), 100);
  value = 1;
  status();
  for (value = 2; value <= 1000; value++) status();
  value = 1000;
  assert.deepEqual(shown, [1]);
  await new Promise((r) => setTimeout(r, 150));
  assert.deepEqual(shown, [1, 1000]);
});

test("cancel drops a pending update", async () => {
  const shown: string[] = [];
  const status = throttledStatus(() => shown.push("x"), 50);
  status();
  status();
  status.cancel();
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(shown, ["x"]);
});

/** Status texts short enough not to run over neighbouring nodes (issue #14); details go to the log. */
const shortCases: Array<{ text: string; expected: string }> = [
  { text: "reconnecting in 48 s: connection error: connect ECONNREFUSED 127.0.0.1:2776", expected: "reconnecting in 48 s" },
  { text: "listening", expected: "listening" },
  { text: "POST /rapidpro/send is already served by another node", expected: "POST /rapidpro/send is already …" },
  { text: "allowed addresses: not an IP address or CIDR range: \"nonsense\"", expected: "allowed addresses" },
  { text: "ab: a head too short to stand alone, so the text is cut", expected: "ab: a head too short to stand a…" },
  { text: "peer said\r\nforged", expected: "peer said\\r\\nforged" },
];
for (const c of shortCases) {
  test(`shortStatusText ${JSON.stringify(c.text)}`, () => {
    const short = shortStatusText(c.text);
    assert.equal(short, c.expected);
    assert.ok(short.length <= MAX_STATUS_CHARS);
  });
}
