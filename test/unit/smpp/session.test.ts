/** SmppSession without a peer: options, initial status, and what a closed session answers. */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { SmppSession, type SmppSessionOptions } from "../../../lib/smpp/session";

const base: SmppSessionOptions = { host: "127.0.0.1", port: 1, systemId: "a", password: "secret-b" };

describe("options are checked when the session is made", () => {
  const bad: Array<[string, Partial<SmppSessionOptions> & Record<string, unknown>, RegExp]> = [
    ["an unknown bind mode", { mode: "trx" as never }, /unknown bind mode "trx"/],
    ["a window of 0", { window: 0 }, /window must be at least 1/],
    ["a negative throughput", { throughput: -1 }, /throughput must be a number >= 0/],
  ];
  for (const [name, options, message] of bad) {
    test(`${name} is refused with a reason`, () => {
      assert.throws(() => new SmppSession({ ...base, ...options }), message);
    });
  }

  test("undefined options fall back to the defaults (window 10, transceiver)", () => {
    const s = new SmppSession({ ...base, window: undefined, mode: undefined });
    assert.equal(s.status.mode, "transceiver");
    assert.equal(s.state, "idle");
  });
});

describe("a session that was never started", () => {
  test("close() resolves and later submits fail as temporary CLOSED", async () => {
    const s = new SmppSession(base);
    const queued = s.submit({ destination_addr: "1", short_message: Buffer.from("x") });
    await s.close();
    const outcomes = [await queued, await s.submit({ destination_addr: "2", short_message: Buffer.from("y") })];
    for (const o of outcomes) {
      assert.equal(o.ok, false);
      if (!o.ok) assert.deepEqual([o.error.code, o.error.temporary], ["CLOSED", true]);
    }
    assert.equal(s.state, "closed");
  });

  test("a receive-only bind refuses submits permanently (a configuration error, not a retry)", async () => {
    const s = new SmppSession({ ...base, mode: "receiver" });
    const o = await s.submit({ destination_addr: "1", short_message: Buffer.from("x") });
    assert.ok(!o.ok && o.error.code === "NOT_TRANSMITTER" && o.error.temporary === false);
    await s.close();
  });
});
