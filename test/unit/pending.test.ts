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

test("one timer serves every held reply: a shorter timeout held after a longer one still ends first, a settled one never times out", async () => {
  const replies = new PendingReplies<string>();
  const got: string[] = [];
  const long = replies.hold("a", (r) => got.push(`long:${r}`), 60_000, () => "timeout");
  const settled = replies.hold("a", (r) => got.push(`settled:${r}`), 5, () => "timeout");
  replies.hold("b", (r) => got.push(`short:${r}`), 20, () => "timeout");
  replies.settle(settled, "ok");
  for (let i = 0; i < 500 && got.length < 2; i++) await new Promise((r) => setTimeout(r, 10));
  assert.deepEqual(got, ["settled:ok", "short:timeout"]);
  assert.ok(replies.has(long), "the long one is still held");
  assert.equal(replies.releaseOwner("a", () => "closed"), 1);
  assert.deepEqual(got, ["settled:ok", "short:timeout", "long:closed"]);
});
