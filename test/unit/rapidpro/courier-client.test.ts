/** The courier client against the courier simulator on 127.0.0.1. */
import { after, before, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import { CourierClient } from "../../../lib/rapidpro/courier-client";
import { receiveCall, statusCall } from "../../../lib/rapidpro/callbacks";
import { startCourier, type CourierSim } from "../../../sim/courier";

const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const MSG = "0191e180-7d60-7000-aded-7d8b151cbd5b";
const fast = { initialMs: 20, maxMs: 100 };

function call<T>(r: { ok: true; call: T } | { ok: false; reason: string }): T {
  if (!r.ok) throw new Error(r.reason);
  return r.call;
}

describe("CourierClient", () => {
  let courier: CourierSim;
  let client: CourierClient;

  before(async () => {
    courier = await startCourier({ channelUuid: CHANNEL });
  });
  after(async () => {
    await courier.close();
  });
  beforeEach(() => {
    courier.setMode("ok");
    courier.accepted.length = 0;
    courier.refused.length = 0;
    client?.close();
    client = new CourierClient({ baseUrl: courier.url, channelUuid: CHANNEL, retry: fast });
  });

  test("a call courier accepts resolves ok after one attempt", async () => {
    const outcome = await client.send(call(receiveCall({ from: "+250788123123", to: "2020", text: "hi", date: "2017-06-23T12:30:00Z" })));
    assert.deepEqual(outcome, { ok: true, status: 200, attempts: 1 });
    assert.equal(courier.accepted[0].params.from, "+250788123123");
    assert.equal(courier.accepted[0].params.date, "2017-06-23T12:30:00Z");
  });

  // rapidpro-external-channel.md §2.1: "Handler errors are always 400" -> final, not retried
  test("a 400 from courier is final and not retried", async () => {
    const before = courier.requests;
    const outcome = await client.send(call(statusCall({ id: "not-a-uuid", status: "sent" })));
    assert.equal(outcome.ok, false);
    if (!outcome.ok) {
      assert.equal(outcome.temporary, false);
      assert.equal(outcome.status, 400);
      assert.match(outcome.reason, /are not valid UUIDs/);
    }
    assert.equal(courier.requests - before, 1);
  });

  // Issue #14: courier quotes the id it refused; that reason reaches logs and Catch.
  test("courier's reason is escaped and cut before it reaches a log", async () => {
    const outcome = await client.send(call(statusCall({ id: `x\r\n[error] forged${"y".repeat(10_000)}`, status: "sent" })));
    assert.equal(outcome.ok, false);
    if (!outcome.ok) {
      assert.match(outcome.reason, /^courier answered 400: parsing failed: id 'x\\r\\n\[error\] forged/);
      assert.ok(!/[\r\n]/.test(outcome.reason));
      assert.ok(outcome.reason.length < 300, `reason of ${outcome.reason.length} characters`);
    }
  });

  for (const mode of ["error500", "throttle429", "down"] as const) {
    test(`${mode}: retried with back-off until courier recovers`, async () => {
      courier.setMode(mode);
      const pending = client.send(call(statusCall({ id: MSG, status: "delivered" })));
      setTimeout(() => courier.setMode("ok"), 250);
      const outcome = await pending;
      assert.equal(outcome.ok, true);
      assert.ok(outcome.attempts > 1, `attempts ${outcome.attempts}`);
      assert.equal(courier.accepted.length, 1);
    });
  }

  test("gives up at the deadline with the last reason, as a temporary failure", async () => {
    courier.setMode("error500");
    const outcome = await client.send(call(statusCall({ id: MSG, status: "sent" })), { deadline: Date.now() + 200 });
    assert.equal(outcome.ok, false);
    if (!outcome.ok) {
      assert.equal(outcome.temporary, true);
      assert.match(outcome.reason, /gave up after \d+ attempts: courier answered 500/);
    }
  });

  test("statuses with the same order key arrive in order even when the first needs retries", async () => {
    courier.setMode("error500");
    const first = client.send(call(statusCall({ id: MSG, status: "sent" })), { orderKey: MSG });
    const second = client.send(call(statusCall({ id: MSG, status: "delivered" })), { orderKey: MSG });
    setTimeout(() => courier.setMode("ok"), 150);
    await Promise.all([first, second]);
    assert.deepEqual(courier.accepted.map((c) => c.action), ["sent", "delivered"]);
  });

  test("the queue is bounded: a call beyond maxPending is refused with the reason", async () => {
    client.close();
    client = new CourierClient({ baseUrl: courier.url, channelUuid: CHANNEL, retry: fast, maxPending: 2 });
    courier.setMode("slow", 300);
    const held = [1, 2].map(() => client.send(call(statusCall({ id: MSG, status: "sent" }))));
    const refused = await client.send(call(statusCall({ id: MSG, status: "sent" })));
    assert.equal(refused.ok, false);
    if (!refused.ok) assert.match(refused.reason, /queue full: 2 calls/);
    await Promise.all(held);
  });

  test("close ends calls waiting between retries at once", async () => {
    courier.setMode("error500");
    const pending = client.send(call(statusCall({ id: MSG, status: "sent" })));
    await new Promise((r) => setTimeout(r, 50));
    client.close();
    const outcome = await pending;
    assert.equal(outcome.ok, false);
    if (!outcome.ok) assert.match(outcome.reason, /closed/);
  });

  test("keeps connections alive: 200 calls over at most 32 sockets", async () => {
    const opened = courier.connections;
    const calls = Array.from({ length: 200 }, (_, i) => client.send(call(receiveCall({ from: "+250788123123", to: "2020", text: `n${i}`, date: "" }))));
    const outcomes = await Promise.all(calls);
    assert.ok(outcomes.every((o) => o.ok));
    assert.equal(courier.accepted.length, 200);
    assert.ok(courier.connections - opened <= 32, `${courier.connections - opened} connections`);
  });

  after(() => client.close());
});
