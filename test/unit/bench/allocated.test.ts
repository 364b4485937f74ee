/** allocatedIn: the bytes a scenario allocated, summed from Node-RED's --trace-gc-nvp lines. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { allocatedIn } from "../../../bench/scenarios";

test("sums 'allocated' of every collection line, scavenges and mark-compacts alike; other lines are ignored", () => {
  const log = [
    "[123:0x5]     52 ms: pause=4.0 mutator=42.2 gc=s reduce_memory=0 total_size_before=4074320 allocated=4074320 promoted=0 new_space_survived=106704",
    "6 Dec 02:49:04 - [info] Started flows",
    "[123:0x5]   9058 ms: pause=12.1 mutator=3.3 gc=mc reduce_memory=0 allocated=1003224 promoted=376",
    "a log line that says allocated=99 without the spaces around: allocated=7x",
  ].join("\n");
  assert.equal(allocatedIn(log), 4074320 + 1003224);
});

test("no collection line: undefined, not 0 (the row then shows no KB/msg)", () => {
  assert.equal(allocatedIn("6 Dec 02:49:04 - [info] Started flows\n"), undefined);
});
