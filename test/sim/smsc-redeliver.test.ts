/** The SMSC simulator's store and forward (redeliverMs): what the fault tests rely on. */
import { test } from "node:test";
import assert from "node:assert/strict";
import { startSmsc } from "../../sim/smsc";
import { SmppSession } from "../../lib/smpp/session";
import { waitFor } from "../helpers/wait";

test("a receipt nobody acknowledged is sent again until an ESME answers ESME_ROK", async () => {
  const smsc = await startSmsc({ port: 0, receiptDelayMs: 0, redeliverMs: 100 });
  let answer = 0x64; // ESME_RX_T_APPN: try again later
  const seen: string[] = [];
  const session = new SmppSession({
    host: "127.0.0.1",
    port: smsc.port,
    systemId: "t",
    password: "p",
    mode: "transceiver",
  });
  session.setDeliverHandler((pdu) => {
    seen.push(String(pdu.receipted_message_id));
    return answer;
  });
  try {
    session.start();
    const outcome = await session.submit({ source_addr: "2020", destination_addr: "250788383383", registered_delivery: 1, short_message: Buffer.from("hi") });
    assert.ok(outcome.ok);
    await waitFor(() => seen.length >= 2, "the receipt delivered twice");
    answer = 0;
    await waitFor(() => smsc.counters.undelivered === 0, "nothing left undelivered");
    assert.ok(smsc.counters.redeliveries >= 1);
    assert.ok(seen.every((id) => id === seen[0]));
    if (outcome.ok) assert.equal(seen[0], outcome.messageId);
  } finally {
    await session.close();
    await smsc.close();
  }
});
