import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { OnceWindow } from "../../../lib/rapporto/once";

describe("OnceWindow (MO duplicate suppression by messageId)", () => {
  test("a repeat within the window gets the first answer without doing the work again", async () => {
    let now = 0;
    let runs = 0;
    const once = new OnceWindow<number>(1000, 100, () => true, () => now);
    const first = await once.run("m1", async () => ++runs);
    const repeat = await once.run("m1", async () => ++runs);
    assert.deepEqual([first, repeat, runs], [{ value: 1, repeat: false }, { value: 1, repeat: true }, 1]);
    now = 1000;
    assert.deepEqual(await once.run("m1", async () => ++runs), { value: 2, repeat: false });
  });

  test("a failed answer is not kept, so the retry does the work", async () => {
    let runs = 0;
    const once = new OnceWindow<string>(60_000, 100, (v) => v === "ok");
    await once.run("m1", async () => (++runs, "failed"));
    const retry = await once.run("m1", async () => (++runs, "ok"));
    assert.deepEqual([retry, runs], [{ value: "ok", repeat: false }, 2]);
  });

  test("a thrown failure is forgotten and passed on", async () => {
    const once = new OnceWindow<string>(60_000, 100, () => true);
    await assert.rejects(once.run("m1", async () => Promise.reject(new Error("boom"))), /boom/);
    assert.deepEqual(await once.run("m1", async () => "ok"), { value: "ok", repeat: false });
  });

  test("a repeat while the first is still running waits for it", async () => {
    let release: (v: string) => void = () => undefined;
    let runs = 0;
    const once = new OnceWindow<string>(60_000, 100, () => true);
    const first = once.run("m1", () => (++runs, new Promise<string>((r) => (release = r))));
    const repeat = once.run("m1", async () => (++runs, "second"));
    release("first");
    assert.deepEqual(await Promise.all([first, repeat]), [{ value: "first", repeat: false }, { value: "first", repeat: true }]);
    assert.equal(runs, 1);
  });

  test("no key: always runs", async () => {
    let runs = 0;
    const once = new OnceWindow<number>(60_000, 100, () => true);
    await once.run(undefined, async () => ++runs);
    await once.run(undefined, async () => ++runs);
    assert.equal(runs, 2);
  });

  test("bounded: the oldest finished entries go first", async () => {
    const once = new OnceWindow<number>(60_000, 3, () => true);
    for (const key of ["a", "b", "c", "d", "e"]) await once.run(key, async () => 1);
    assert.ok(once.size <= 3);
    assert.equal((await once.run("e", async () => 2)).repeat, true);
    assert.equal((await once.run("a", async () => 2)).repeat, false);
  });
});
