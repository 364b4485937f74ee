/** `npm run bench -- --metrics off`: the switch that measures what the metrics cost. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { parseCli } from "../../../bench/run";

test("--metrics off runs Node-RED without counters and trace; on is the default; anything else is refused", () => {
  assert.equal(parseCli([]).metrics, true);
  assert.equal(parseCli(["--metrics", "on"]).metrics, true);
  assert.equal(parseCli(["--metrics", "off"]).metrics, false);
  assert.throws(() => parseCli(["--metrics", "no"]), /--metrics must be on or off/);
});
