/** `npm run bench -- --metrics off`: the switch that measures what the metrics cost. */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { parseCli } from "../../../bench/run";

test("--metrics off runs Node-RED without counters and trace; on is the default; anything else is refused", () => {
  assert.equal(parseCli([]).metrics, true);
  assert.equal(parseCli(["--metrics", "on"]).metrics, true);
  assert.equal(parseCli(["--metrics", "off"]).metrics, false);
  assert.throws(() => parseCli(["--metrics", "no"]), /--metrics must be on or off/);
});

test("--alloc-prof DIR is resolved; --node-flags are split at spaces, none by default", () => {
  assert.equal(parseCli([]).allocProf, undefined);
  assert.equal(parseCli(["--alloc-prof", "prof"]).allocProf, path.resolve("prof"));
  assert.deepEqual(parseCli([]).nodeFlags, []);
  assert.deepEqual(parseCli(["--node-flags= --no-turbo-inlining  --stack-size=2000 "]).nodeFlags, ["--no-turbo-inlining", "--stack-size=2000"]);
});
