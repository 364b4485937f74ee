/**
 * The simulators' options for long benchmark runs: calls and submits can be observed without
 * being kept in memory.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import * as smpp from "smpp";
import { startCourier, type ReceivedCall } from "../../sim/courier";
import { startSmsc } from "../../sim/smsc";

const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const UUID = "0191e180-7d60-7000-aded-7d8b151cbd5b";

test("courier sim: onAccepted sees each accepted call; keepCalls false keeps none", async () => {
  const seen: ReceivedCall[] = [];
  const courier = await startCourier({ channelUuid: CHANNEL, keepCalls: false, onAccepted: (call) => seen.push(call) });
  try {
    const post = (action: string, body: string) =>
      fetch(`${courier.url}/c/ex/${CHANNEL}/${action}`, {
        method: "POST",
        headers: { "content-type": "application/x-www-form-urlencoded" },
        body,
      });
    assert.equal((await post("delivered", `uuid=${UUID}`)).status, 200);
    assert.equal((await post("receive", "from=%2B250788123123&text=hi")).status, 200);
    assert.equal((await post("delivered", "uuid=not-a-uuid")).status, 400); // refused: not seen
    assert.deepEqual(
      seen.map((c) => [c.action, c.params]),
      [
        ["delivered", { uuid: UUID }],
        ["receive", { from: "+250788123123", text: "hi" }],
      ],
    );
    assert.equal(courier.accepted.length, 0);
    assert.equal(courier.refused.length, 1);
  } finally {
    await courier.close();
  }
});

test("SMSC sim: keepSubmitted false answers and counts submits without keeping them", async () => {
  const sim = await startSmsc({ keepSubmitted: false, receiptStat: null });
  const session = smpp.connect({ host: "127.0.0.1", port: sim.port });
  session.on("error", () => undefined);
  try {
    await new Promise<void>((resolve) => session.on("connect", () => resolve()));
    const request = (command: string, params: smpp.PduParams) =>
      new Promise<smpp.PDU>((resolve) => session.send(new smpp.PDU(command, params), resolve));
    assert.equal((await request("bind_transmitter", { system_id: "a", password: "b" })).command_status, 0);
    let events = 0;
    sim.on("submit", () => events++);
    const resp = await request("submit_sm", { destination_addr: "250788123123", short_message: "hi" });
    assert.equal(resp.command_status, 0);
    assert.ok(String(resp.message_id).length > 0);
    assert.equal(sim.counters.accepted, 1);
    assert.equal(events, 1);
    assert.equal(sim.submitted.length, 0);
  } finally {
    session.destroy();
    await sim.close();
  }
});
