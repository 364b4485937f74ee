/**
 * lib/smpp/receiver.ts and lib/smpp/sender.ts without Node-RED: what smpp-in and smpp-out do,
 * as tables. The delivery rules they share with Rapporto are in test/unit/delivery/core.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MO } from "../../../lib/contract";
import type { HandOver } from "../../../lib/delivery/answers";
import { ESME_RINVDCS, ESME_ROK, ESME_RX_P_APPN, ESME_RX_T_APPN } from "../../../lib/smpp/command-status";
import type { DeliverSmFields } from "../../../lib/smpp/deliver";
import { SmppReceiver } from "../../../lib/smpp/receiver";
import { SmppSender } from "../../../lib/smpp/sender";
import type { SubmitSmParams } from "../../../lib/smpp/submit";
import type { StoredPart } from "../../../lib/sms/held-parts";
import { MemoryStore } from "../../../lib/store/memory";
import { MemoryQueue } from "../../../lib/store/queue-memory";

function receiver(take: () => HandOver = () => ({ kind: "rapidpro" })) {
  const store = new MemoryStore();
  const queue = new MemoryQueue<StoredPart>();
  const mos: MO[] = [];
  const warnings: string[] = [];
  const r = new SmppReceiver(
    async () => store,
    Promise.resolve({ queue, durable: true }),
    { idMode: "auto", unmatchedWaitMs: 0, reassemblyTimeoutMs: 60_000 },
    { mo: async (msg) => (mos.push(msg.payload), take()), status: async () => take(), unmatched: () => undefined, warn: (w) => warnings.push(w) },
  );
  return { r, store, queue, mos, warnings };
}

/** Part `seq` of `total` of a long GSM MO with reference `ref` (UDH IEI 0x00). */
const part = (ref: number, total: number, seq: number, text: string): DeliverSmFields => ({
  source_addr: "4790000002",
  source_addr_ton: 1,
  destination_addr: "2020",
  esm_class: 0x40,
  data_coding: 0,
  short_message: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, total, seq]), Buffer.from(text)]),
});

describe("SmppReceiver: each deliver_sm answered by how its hand-over ended", () => {
  const handOvers: { handOver: HandOver; status: number }[] = [
    { handOver: { kind: "rapidpro" }, status: ESME_ROK },
    { handOver: { kind: "outbox" }, status: ESME_ROK },
    { handOver: { kind: "temporary", reason: "down" }, status: ESME_RX_T_APPN },
    { handOver: { kind: "permanent", reason: "400" }, status: ESME_RX_P_APPN },
    { handOver: { kind: "stopping" }, status: ESME_RX_T_APPN },
    { handOver: { kind: "expired" }, status: ESME_RX_T_APPN },
  ];
  for (const row of handOvers) {
    test(`an MO whose hand-over ended '${row.handOver.kind}' is answered 0x${row.status.toString(16)}`, async () => {
      const { r, mos } = receiver(() => row.handOver);
      assert.equal(await r.deliver({ source_addr: "4790000002", source_addr_ton: 1, destination_addr: "2020", esm_class: 0, data_coding: 0, short_message: Buffer.from("Hi") }), row.status);
      assert.deepEqual(mos.map((m) => [m.from, m.text]), [["+4790000002", "Hi"]]);
      await r.close(true);
    });
  }

  test("a long MO: parts are kept and answered at once, the completing one after the hand-over; kept parts let go once taken", async () => {
    const { r, mos, queue } = receiver();
    assert.equal(await r.deliver(part(7, 3, 1, "one ")), ESME_ROK);
    assert.equal(await r.deliver(part(7, 3, 3, "three")), ESME_ROK);
    assert.equal(await queue.size(), 2, "the held parts are on disk before they are acknowledged");
    assert.equal(await r.deliver(part(7, 3, 2, "two ")), ESME_ROK);
    assert.deepEqual(mos.map((m) => m.text), ["one two three"]);
    assert.equal(await queue.size(), 0);
    await r.close(true);
  });

  test("a long MO RapidPro could not take: the completing part is answered 0x64 and its siblings wait for its redelivery", async () => {
    let down = true;
    const { r, mos } = receiver(() => (down ? { kind: "temporary", reason: "down" } : { kind: "rapidpro" }));
    await r.deliver(part(9, 2, 1, "first "));
    assert.equal(await r.deliver(part(9, 2, 2, "second")), ESME_RX_T_APPN);
    down = false;
    assert.equal(await r.deliver(part(9, 2, 2, "second")), ESME_ROK);
    assert.deepEqual(mos.map((m) => m.text), ["first second", "first second"]);
    await r.close(true);
  });

  test("a deliver_sm that cannot be read is refused with the decoder's status and a warning", async () => {
    const { r, warnings } = receiver();
    assert.equal(await r.deliver({ source_addr: "1", destination_addr: "2", esm_class: 0, data_coding: 4, short_message: Buffer.from([1, 2]) }), ESME_RINVDCS);
    assert.equal(warnings.length, 1);
    await r.close(true);
  });

  test("a receipt waiting for its correlation when the node closes is answered 0x64, so the SMSC delivers it again", async () => {
    const store = new MemoryStore();
    const r = new SmppReceiver(async () => store, Promise.resolve({ queue: new MemoryQueue<StoredPart>(), durable: false }), { idMode: "asis", unmatchedWaitMs: 10_000, reassemblyTimeoutMs: 60_000 }, {
      mo: async () => ({ kind: "rapidpro" }),
      status: async () => ({ kind: "rapidpro" }),
      unmatched: () => assert.fail("not unmatched: the node closed while it waited"),
      warn: () => undefined,
    });
    const answer = r.deliver({ esm_class: 0x04, data_coding: 0, receipted_message_id: "nope", message_state: 2, short_message: Buffer.from("id:nope stat:DELIVRD") });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await r.close(true);
    assert.equal(await answer, ESME_RX_T_APPN);
  });
});

describe("SmppSender: an MT as smpp-out gets it", () => {
  function sender(link: { session?: boolean; configError?: string } = { session: true }, config = {}) {
    const pdus: SubmitSmParams[] = [];
    const store = new MemoryStore();
    const s = new SmppSender(
      {
        id: `bind-${Math.random()}`,
        idMode: "auto",
        configError: link.configError,
        store: async () => store,
        session: link.session ? { submit: async (pdu) => (pdus.push(pdu), { ok: true, messageId: `0a${pdus.length}`, commandStatus: 0, attempts: 1 }) } : undefined,
      },
      config,
    );
    return { s, pdus, store };
  }
  const mt = { id: "rp-1", to: "+4790000001", from: "2020", text: "Hello" };

  const refusals: { name: string; payload: unknown; link?: { session?: boolean; configError?: string }; code: string; temporary: boolean }[] = [
    { name: "no payload", payload: undefined, code: "INVALID_MT", temporary: false },
    { name: "a string payload", payload: "hello", code: "INVALID_MT", temporary: false },
    { name: "no id", payload: { to: "+4790000001", from: "2020", text: "x" }, code: "INVALID_MT", temporary: false },
    { name: "an unusable destination", payload: { ...mt, to: "" }, code: "INVALID_DESTINATION", temporary: false },
    { name: "a misconfigured bind", payload: mt, link: { configError: "no host" }, code: "BIND_MISCONFIGURED", temporary: true },
  ];
  for (const row of refusals) {
    test(`refused, nothing submitted: ${row.name} → ${row.code}`, async () => {
      const { s, pdus } = sender(row.link);
      const { result } = await s.send(row.payload);
      assert.deepEqual([result.accepted, result.error?.code, result.error?.temporary], [false, row.code, row.temporary]);
      assert.equal(pdus.length, 0);
    });
  }

  test("accepted: the SMSC ids as courier's answer, stored normalised (id mode auto) for receipts", async () => {
    const { s, store } = sender();
    const { result } = await s.send(mt);
    assert.deepEqual(result, { accepted: true, parts: 1, smscIds: ["0a1"] });
    assert.equal((await store.findByPart("A1"))?.rapidproId, "rp-1");
  });

  test("an MT without an id is submitted, with a warning that its receipts cannot be matched", async () => {
    const { s, pdus } = sender();
    const { result, warning } = await s.send({ ...mt, id: "" });
    assert.equal(result.accepted, true);
    assert.equal(pdus.length, 1);
    assert.match(warning ?? "", /no id/);
  });

  test("msg.smpp over the node's settings: registered_delivery, validity and priority", async () => {
    const { s, pdus } = sender({ session: true }, { registeredDelivery: "1", priority: "1" });
    await s.send(mt, { registeredDelivery: 0, validity: 60, priority: 3 });
    assert.deepEqual([pdus[0].registered_delivery, pdus[0].validity_period, pdus[0].priority_flag], [0, "000000010000000R", 3]);
  });

  test("MT without from: the default sender typed by its form, or an empty source_addr with TON/NPI 0", async () => {
    const withDefault = sender({ session: true }, { sender: "Brand" });
    await withDefault.s.send({ ...mt, from: "" });
    assert.deepEqual([withDefault.pdus[0].source_addr, withDefault.pdus[0].source_addr_ton], ["Brand", 5]);
    const without = sender();
    await without.s.send({ ...mt, from: "" });
    assert.deepEqual([without.pdus[0].source_addr, without.pdus[0].source_addr_ton, without.pdus[0].source_addr_npi], ["", 0, 0]);
  });
});
