import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { OneAtATime } from "../../lib/one-at-a-time";

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("OneAtATime", () => {
  test("work of one key runs in call order, never overlapping; other keys run meanwhile", async () => {
    const serial = new OneAtATime();
    const log: string[] = [];
    const job = (key: string, name: string, ms: number) =>
      serial.run(key, async (waited) => {
        log.push(`start ${name}${waited ? " (waited)" : ""}`);
        await tick(ms);
        log.push(`end ${name}`);
        return name;
      });
    const results = await Promise.all([job("a", "a1", 30), job("a", "a2", 1), job("b", "b1", 5)]);
    assert.deepEqual(results, ["a1", "a2", "b1"]);
    assert.deepEqual(log, ["start a1", "start b1", "end b1", "end a1", "start a2 (waited)", "end a2"]);
    assert.equal(serial.size, 0, "no key is kept once its work is done");
  });

  test("a failed work rejects its own caller only, and the next one still runs", async () => {
    const serial = new OneAtATime();
    const first = serial.run("k", async () => {
      throw new Error("boom");
    });
    const second = serial.run("k", async (waited) => (waited ? "ran after the failure" : "ran alone"));
    await assert.rejects(first, /boom/);
    assert.equal(await second, "ran after the failure");
  });
});
