/** PendingReplies: every held reply is answered exactly once, by settle, timeout or its owner closing. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { PendingReplies } from "../../lib/pending";

test("settle answers once; a second settle and the timeout do nothing", async () => {
  const replies = new PendingReplies<string>();
  const got: string[] = [];
  const token = replies.hold("a", (r) => got.push(r), 50, () => "timeout");
  assert.ok(replies.has(token));
  assert.ok(replies.deadlineOf(token)! > Date.now());
  assert.equal(replies.settle(token, "ok"), true);
  assert.equal(replies.settle(token, "again"), false);
  await new Promise((r) => setTimeout(r, 80));
  assert.deepEqual(got, ["ok"]);
  assert.equal(replies.has(token), false);
});

test("the timeout answers a reply nobody settled; settling it later is refused", async () => {
  const replies = new PendingReplies<string>();
  const got: string[] = [];
  const token = replies.hold("a", (r) => got.push(r), 20, () => "timeout");
  await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(got, ["timeout"]);
  assert.equal(replies.settle(token, "late"), false);
});

test("releaseOwner answers only that owner's replies", () => {
  const replies = new PendingReplies<string>();
  const got: string[] = [];
  const a1 = replies.hold("a", (r) => got.push(`a1:${r}`), 10_000, () => "timeout");
  replies.hold("a", (r) => got.push(`a2:${r}`), 10_000, () => "timeout");
  const b = replies.hold("b", (r) => got.push(`b:${r}`), 10_000, () => "timeout");
  assert.equal(replies.releaseOwner("a", () => "closing"), 2);
  assert.deepEqual(got.sort(), ["a1:closing", "a2:closing"]);
  assert.equal(replies.has(a1), false);
  assert.equal(replies.settle(b, "ok"), true);
});
