/** throttledStatus: the first change shows at once, a burst within the interval becomes one update. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { throttledStatus } from "../../../nodes/shared/status";

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
