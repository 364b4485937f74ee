import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { SubmitWindow, type SendResult, type WindowOptions } from "../../../lib/session/window";

type Done = (r: SendResult<{ id: string }>) => void;

function rig(options: Partial<WindowOptions> = {}) {
  const sent: Array<{ params: string; done: Done }> = [];
  const changes: Array<{ windowFull?: boolean; throttled?: boolean; lastError?: string }> = [];
  let ready = true;
  const queue = new SubmitWindow<string, { id: string }>(
    { window: 1, throughput: 0, maxAttempts: 3, queueTimeoutMs: 5_000, maxQueue: 100, throttlePauseMs: 20, throttlePauseMaxMs: 80, ...options },
    { ready: () => ready, send: (params, done) => sent.push({ params, done }) },
    { onChange: (p) => changes.push(p), log: () => undefined, lastError: () => "link down" },
    "TEST",
  );
  return { queue, sent, changes, setReady: (r: boolean) => (ready = r) };
}

const accepted = (id: string): SendResult<{ id: string }> => ({ kind: "accepted", result: { id } });
const tick = () => new Promise((r) => setImmediate(r));

describe("SubmitWindow", () => {
  test("FIFO within the window: the second leaves only when the first settles", async () => {
    const { queue, sent } = rig();
    const a = queue.offer("a");
    const b = queue.offer("b");
    assert.deepEqual(sent.map((s) => s.params), ["a"]);
    sent[0].done(accepted("1"));
    assert.deepEqual(sent.map((s) => s.params), ["a", "b"]);
    sent[1].done(accepted("2"));
    assert.deepEqual(await a, { ok: true, attempts: 1, id: "1" });
    assert.deepEqual(await b, { ok: true, attempts: 1, id: "2" });
  });

  test("a lost send goes back to its place ahead of later submits, and counts as an attempt", async () => {
    const { queue, sent } = rig({ window: 2 });
    const a = queue.offer("a");
    queue.offer("b");
    queue.offer("c");
    sent[0].done({ kind: "lost", reason: "connection closed" });
    // a is back in front of c (b is in flight): a leaves next.
    assert.equal(sent[2].params, "a");
    sent[2].done(accepted("1"));
    assert.deepEqual(await a, { ok: true, attempts: 2, id: "1" });
  });

  test("after maxAttempts lost sends the submit fails as temporary", async () => {
    const { queue, sent } = rig({ maxAttempts: 2 });
    const a = queue.offer("a");
    sent[0].done({ kind: "lost", reason: "gone" });
    sent[1].done({ kind: "lost", reason: "gone again" });
    const outcome = await a;
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.code, "CONNECTION_LOST");
    assert.equal(!outcome.ok && outcome.error.temporary, true);
    assert.match(!outcome.ok ? outcome.error.text : "", /sent 2 times; last: gone again/);
  });

  test("a throttling refusal pauses, re-queues without counting, and the submit goes through after", async () => {
    const { queue, sent, changes } = rig();
    const a = queue.offer("a");
    sent[0].done({ kind: "refused", code: 10, error: { code: 10, text: "error 10 (congestion)", temporary: true, throttled: true }, throttling: true });
    assert.equal(sent.length, 1, "nothing leaves during the pause");
    assert.ok(changes.some((c) => c.throttled === true && /pausing submits for 20 ms/.test(c.lastError ?? "")));
    while (sent.length < 2) await new Promise((r) => setTimeout(r, 5));
    sent[1].done(accepted("1"));
    assert.deepEqual(await a, { ok: true, attempts: 1, id: "1" });
  });

  test("a pause timer that fires before Date.now() reaches the pause's end still clears 'throttled' (nothing left to send)", async () => {
    // Node arms timers from the loop's cached clock: after a long tick one fires a few ms early by Date.now().
    const realNow = Date.now;
    const { queue, sent, changes } = rig({ throttlePauseMs: 20 });
    try {
      const a = queue.offer("a", Date.now() + 5);
      sent[0].done({ kind: "refused", code: 10, error: { code: 10, text: "error 10 (congestion)", temporary: true, throttled: true }, throttling: true });
      assert.equal((await a).ok, false, "the pause ends after the caller's deadline");
      Date.now = () => realNow() - 10;
      const cleared = realNow() + 500;
      while (changes.at(-1)?.throttled !== false && realNow() < cleared) await new Promise((r) => setTimeout(r, 5));
      assert.equal(changes.at(-1)?.throttled, false, "the status stayed 'throttled' after the pause");
    } finally {
      Date.now = realNow;
      queue.close();
    }
  });

  test("any other refusal settles with its code and error; a failed send settles as given", async () => {
    const { queue, sent } = rig();
    const a = queue.offer("a");
    sent[0].done({ kind: "refused", code: 300, error: { code: 300, text: "bad destination", temporary: false } });
    assert.deepEqual(await a, { ok: false, code: 300, error: { code: 300, text: "bad destination", temporary: false }, attempts: 1 });
    const b = queue.offer("b");
    sent[1].done({ kind: "failed", code: "INVALID", text: "cannot encode", temporary: false });
    assert.deepEqual(await b, { ok: false, error: { code: "INVALID", text: "cannot encode", temporary: false }, attempts: 1 });
  });

  test("a submit still queued at its deadline fails as temporary with the last connection error", async () => {
    const { queue, setReady } = rig();
    setReady(false);
    const outcome = await queue.offer("a", Date.now() + 10);
    assert.equal(!outcome.ok && outcome.error.code, "DEADLINE");
    assert.match(!outcome.ok ? outcome.error.text : "", /link down/);
  });

  test("close() fails what is queued and refuses new submits; in flight settles as its send does", async () => {
    const { queue, sent } = rig();
    const a = queue.offer("a");
    const b = queue.offer("b");
    queue.close();
    assert.match(((await b) as { error: { text: string } }).error.text, /the TEST session closed/);
    assert.equal((await queue.offer("c")).ok, false);
    const idle = queue.waitIdle(1_000);
    sent[0].done(accepted("1"));
    await idle;
    assert.equal((await a).ok, true);
  });

  test("the throughput cap holds the next submit back until the bucket has a token (1/s, burst 1)", async () => {
    const { queue, sent, changes } = rig({ window: 5, throughput: 1, burst: 1 });
    void queue.offer("a");
    void queue.offer("b");
    await tick();
    assert.deepEqual(sent.map((s) => s.params), ["a"], "b waits for the next token although the window has room");
    assert.ok(changes.every((c) => c.windowFull !== true), "waiting for a token is not a full window");
    queue.close();
  });

  test("a full queue refuses at once", async () => {
    const { queue, setReady } = rig({ maxQueue: 1 });
    setReady(false);
    void queue.offer("a");
    const outcome = await queue.offer("b");
    assert.equal(!outcome.ok && outcome.error.code, "QUEUE_FULL");
    queue.close();
    await tick();
  });
});
