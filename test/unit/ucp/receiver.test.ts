/**
 * lib/ucp/sender.ts and lib/ucp/receiver.ts without Node-RED: the UCP side of the delivery core
 * (the protocol-independent rules run in test/unit/delivery/core.test.ts through the UCP adapter).
 * Reference aggregator-protocols.md §2.2.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MO, Status } from "../../../lib/contract";
import type { HandOver } from "../../../lib/delivery/answers";
import type { StoredPart } from "../../../lib/sms/held-parts";
import { MemoryStore } from "../../../lib/store/memory";
import { MemoryQueue } from "../../../lib/store/queue-memory";
import { decodeMo, decodeNotification, type Notification } from "../../../lib/ucp/deliver";
import type { DeliveryAnswer, UcpDelivery } from "../../../lib/ucp/incoming";
import type { Fields } from "../../../lib/ucp/operations";
import { UcpReceiver, UCP_ANSWERS, type UcpMoOut } from "../../../lib/ucp/receiver";
import { UcpSender } from "../../../lib/ucp/sender";
import { rig } from "./session-fixtures";

const ID = "0191e180-7d60-7000-a000-00000000ucp1";

function delivery(ot: 1 | 52 | 53, fields: Fields): UcpDelivery {
  const base = { fields, via: "main" as const, respond: () => undefined };
  if (ot === 53) {
    const decoded = decodeNotification(fields);
    if (!decoded.ok) throw new Error(decoded.reason);
    return { ...base, kind: "notification", ot, notification: decoded.value };
  }
  const decoded = decodeMo(ot, fields);
  if (!decoded.ok) throw new Error(decoded.reason);
  return { ...base, kind: "mo", ot, mo: decoded.value };
}

/** A queue whose pushes fail: parts cannot be kept on disk. */
class BrokenQueue extends MemoryQueue<StoredPart> {
  override async push(): Promise<never> {
    throw new Error("disk full");
  }
}

function receiverRig(options: { queue?: MemoryQueue<StoredPart>; handOver?: HandOver } = {}) {
  const store = new MemoryStore();
  const mos: UcpMoOut[] = [];
  const statuses: Status[] = [];
  const unmatched: Notification[] = [];
  const warnings: string[] = [];
  const queue = options.queue ?? new MemoryQueue<StoredPart>();
  const receiver = new UcpReceiver(async () => store, Promise.resolve({ queue, durable: true }), { unmatchedWaitMs: 0, reassemblyTimeoutMs: 60_000 }, {
    mo: async (msg) => (mos.push(msg), options.handOver ?? { kind: "rapidpro" }),
    status: async (status) => (statuses.push(status), options.handOver ?? { kind: "rapidpro" }),
    unmatched: (n) => unmatched.push(n),
    warn: (text) => warnings.push(text),
  });
  return { store, queue, mos, statuses, unmatched, warnings, receiver };
}

/** A part of a 3-part GSM MO: XSer 01 with UDH 05 00 03 <ref> 03 <seq>. */
const moPart = (seq: number, text: string): Fields => ({
  ADC: "2020",
  OADC: "4790000002",
  OTOA: "1139",
  SCTS: "050226101500",
  MT: "3",
  MSG: Buffer.from(text, "latin1").toString("hex").toUpperCase(),
  XSER: `010605000342030${seq}`,
});

describe("ucp receiver: notifications (OT 53)", () => {
  const cases: { name: string; dst: string; rsn?: string; msg?: string; status: Status["status"]; reason?: string }[] = [
    { name: "§2.2 'DST 0 delivered'", dst: "0", status: "delivered" },
    { name: "§2.2 'DST 2 not delivered', with 'RSN 3-digit reason' and the AMsg human text as the reason", dst: "2", rsn: "107", msg: "Absent subscriber", status: "failed", reason: "RSN 107: Absent subscriber" },
    { name: "§2.2 'DST 1 buffered': not final, 'sent' to RapidPro", dst: "1", status: "sent" },
  ];
  for (const row of cases) {
    test(row.name, async () => {
      const r = receiverRig();
      await r.store.put(ID, ["4790000001:051226101500"], "hello");
      const fields: Fields = { ADC: "2020", OADC: "4790000001", SCTS: "051226101500", DST: row.dst, RSN: row.rsn ?? "", MT: "3", MSG: row.msg ? Buffer.from(row.msg, "latin1").toString("hex") : "" };
      assert.deepEqual(await r.receiver.deliver(delivery(53, fields)), UCP_ANSWERS.taken);
      const expected: Status = { id: ID, status: row.status, smscId: "4790000001:051226101500" };
      if (row.reason) expected.reason = row.reason;
      assert.deepEqual(r.statuses, [expected]);
      await r.receiver.close(true);
    });
  }

  test("buffered, then delivered: 'sent' then 'delivered', the later buffered changes nothing", async () => {
    const r = receiverRig();
    await r.store.put(ID, ["4790000001:051226101500"], "hello");
    const note = (dst: string) => delivery(53, { OADC: "4790000001", SCTS: "051226101500", DST: dst });
    for (const dst of ["1", "0", "1"]) await r.receiver.deliver(note(dst));
    assert.deepEqual(r.statuses.map((s) => s.status), ["sent", "delivered"]);
    await r.receiver.close(true);
  });

  test("a notification matching no submit: output 3 once, answered A", async () => {
    const r = receiverRig();
    const note = delivery(53, { OADC: "4790000009", SCTS: "051226101500", DST: "0" });
    assert.deepEqual(await r.receiver.deliver(note), UCP_ANSWERS.taken);
    await r.receiver.deliver(note);
    assert.deepEqual(r.unmatched.map((n) => n.key), ["4790000009:051226101500"]);
    await r.receiver.close(true);
  });

  const answers: { handOver: HandOver; answer: DeliveryAnswer }[] = [
    { handOver: { kind: "rapidpro" }, answer: { ok: true } },
    { handOver: { kind: "temporary", reason: "courier down" }, answer: { ok: false, code: "04", text: UCP_ANSWERS.again.ok ? "" : UCP_ANSWERS.again.text } },
    { handOver: { kind: "permanent", reason: "courier said 400" }, answer: { ok: false, code: "02", text: UCP_ANSWERS.refused.ok ? "" : UCP_ANSWERS.refused.text } },
  ];
  for (const row of answers) {
    test(`hand-over '${row.handOver.kind}' → ${row.answer.ok ? "A" : `N/${(row.answer as { code: string }).code}`} (decisions 22, 23)`, async () => {
      const r = receiverRig({ handOver: row.handOver });
      await r.store.put(ID, ["4790000001:051226101500"], "hello");
      assert.deepEqual(await r.receiver.deliver(delivery(53, { OADC: "4790000001", SCTS: "051226101500", DST: "0" })), row.answer);
      await r.receiver.close(true);
    });
  }
});

describe("ucp receiver: MO (OT 52, OT 01)", () => {
  test("§2.2 'OT 01 ... Kannel accepts it as MO': a GSM MO", async () => {
    const r = receiverRig();
    assert.deepEqual(await r.receiver.deliver(delivery(1, { ADC: "2020", OADC: "4790000002", MT: "3", MSG: "68656C6C6F" })), UCP_ANSWERS.taken);
    assert.equal(r.mos.length, 1);
    assert.deepEqual([r.mos[0].payload.from, r.mos[0].payload.to, r.mos[0].payload.text, r.mos[0].ucp.parts], ["4790000002", "2020", "hello", 1]);
    await r.receiver.close(true);
  });

  test("OT 52 MT 4 UCS-2 with an emoji (XSer DCS 08); OTOA 1139 gives the sender in E.164", async () => {
    const r = receiverRig();
    const text = "Привет 👋";
    const msg = Buffer.from(text, "utf16le").swap16().toString("hex").toUpperCase();
    const fields: Fields = { ADC: "2020", OADC: "4790000002", OTOA: "1139", SCTS: "050226101500", MT: "4", NB: String(msg.length * 4), MSG: msg, XSER: "020108" };
    assert.deepEqual(await r.receiver.deliver(delivery(52, fields)), UCP_ANSWERS.taken);
    const mo: MO = r.mos[0].payload;
    assert.deepEqual([mo.from, mo.text], ["+4790000002", text]);
    await r.receiver.close(true);
  });

  test("3 parts out of order (3, 1, 2): each kept part on disk before its A, one MO, kept parts let go", async () => {
    const r = receiverRig();
    assert.deepEqual(await r.receiver.deliver(delivery(52, moPart(3, "three"))), UCP_ANSWERS.taken);
    assert.equal((await r.queue.peek(10)).length, 1, "part 3 kept before it was answered A");
    assert.deepEqual(await r.receiver.deliver(delivery(52, moPart(1, "one "))), UCP_ANSWERS.taken);
    assert.equal((await r.queue.peek(10)).length, 2);
    assert.equal(r.mos.length, 0);
    assert.deepEqual(await r.receiver.deliver(delivery(52, moPart(2, "two "))), UCP_ANSWERS.taken);
    assert.deepEqual(r.mos.map((m) => [m.payload.text, m.ucp.parts]), [["one two three", 3]]);
    assert.equal((await r.queue.peek(10)).length, 0, "kept parts let go once handed over");
    await r.receiver.close(true);
  });

  test("a part that cannot be kept on disk is answered N/04, so the SMSC delivers it again", async () => {
    const r = receiverRig({ queue: new BrokenQueue() });
    const answer = await r.receiver.deliver(delivery(52, moPart(1, "one ")));
    assert.deepEqual([answer.ok, !answer.ok && answer.code], [false, "04"]);
    assert.match(r.warnings.join("\n"), /disk full/);
    await r.receiver.close(true);
  });

  test("the completing part whose hand-over failed: N/04, and the redelivered part completes the MO once", async () => {
    let handOver: HandOver = { kind: "temporary", reason: "courier down" };
    const queue = new MemoryQueue<StoredPart>();
    const mos: string[] = [];
    const receiver = new UcpReceiver(async () => new MemoryStore(), Promise.resolve({ queue, durable: true }), { unmatchedWaitMs: 0, reassemblyTimeoutMs: 60_000 }, {
      mo: async (msg) => (mos.push(msg.payload.text), handOver),
      status: async () => handOver,
      unmatched: () => undefined,
      warn: () => undefined,
    });
    await receiver.deliver(delivery(52, moPart(1, "one ")));
    await receiver.deliver(delivery(52, moPart(2, "two ")));
    const failed = await receiver.deliver(delivery(52, moPart(3, "three")));
    assert.deepEqual([failed.ok, !failed.ok && failed.code], [false, "04"]);
    handOver = { kind: "rapidpro" };
    assert.deepEqual(await receiver.deliver(delivery(52, moPart(3, "three"))), UCP_ANSWERS.taken);
    assert.deepEqual(mos, ["one two three", "one two three"], "handed over twice: the first time RapidPro did not take it");
    assert.equal((await queue.peek(10)).length, 0);
    await receiver.close(true);
  });

  test("8-bit data (MT 4 without a text DCS) is refused N/02 with a reason, never handed on", async () => {
    const r = receiverRig();
    const answer = await r.receiver.deliver(delivery(52, { ADC: "2020", OADC: "4790000002", MT: "4", NB: "16", MSG: "0102", XSER: "0201F4" }));
    assert.equal(answer.ok, false);
    assert.equal(!answer.ok && answer.code, "02");
    assert.equal(r.mos.length, 0);
    await r.receiver.close(true);
  });
});

describe("ucp sender over a session to the simulator", () => {
  const open: { close(): Promise<void> }[] = [];
  after(async () => {
    for (const o of open) await o.close();
  });

  test("§2.2 'positive result A//<ADC>:<SCTS>/ — ADC:SCTS is the message reference': stored as the correlation key", async () => {
    const r = await rig();
    open.push(r);
    await r.session.start();
    const store = new MemoryStore();
    const sender = new UcpSender({ id: "ucp-t1", alphabet: "gsm", session: r.session, store: async () => store }, {});
    const { result } = await sender.send({ id: ID, to: "+4790000001", from: "2020", text: "hello" });
    assert.equal(result.accepted, true);
    assert.match(result.smscIds[0], /^4790000001:\d{12}$/);
    const entry = await store.findByPart(result.smscIds[0]);
    assert.equal(entry?.rapidproId, ID);
  });

  test("a negative result is refused with its error code's class (06 AdC invalid: permanent)", async () => {
    const r = await rig();
    open.push(r);
    await r.session.start();
    const sender = new UcpSender({ id: "ucp-t2", alphabet: "gsm", session: r.session, store: async () => new MemoryStore() }, {});
    r.sim.setFault({ negativeNext: { code: "06", count: 1 } });
    const { result } = await sender.send({ id: ID, to: "+4790000001", from: "2020", text: "hello" });
    assert.deepEqual([result.accepted, result.error?.code, result.error?.temporary], [false, "06", false]);
  });

  test("bad input: not an MT, an unreadable recipient, a msg.ucp validity out of range: refused with a reason, nothing submitted", async () => {
    const submitted: Fields[] = [];
    const session = { submit: async (f: Fields) => (submitted.push(f), { ok: true as const, messageId: "1:010126000000", attempts: 1 }) };
    const sender = new UcpSender({ id: "ucp-t3", alphabet: "gsm", session, store: async () => new MemoryStore() }, {});
    const rows: [unknown, unknown, string][] = [
      ["not an MT", undefined, "INVALID_MT"],
      [{ id: ID, to: "tel:abc", from: "2020", text: "x" }, undefined, "INVALID_DESTINATION"],
      [{ id: ID, to: "+4790000001", from: "2020", text: "x" }, { validity: -5 }, "INVALID_OPTION"],
    ];
    for (const [payload, perMessage, code] of rows) {
      const { result } = await sender.send(payload, perMessage);
      assert.deepEqual([result.accepted, result.error?.code], [false, code]);
      assert.ok(result.error?.text);
    }
    assert.equal(submitted.length, 0);
  });

  test("msg.ucp validity over the node's: VP set; no sender and no default: no OAdC", async () => {
    const submitted: Fields[] = [];
    const session = { submit: async (f: Fields) => (submitted.push(f), { ok: true as const, messageId: "4790000001:100126000000", recipient: "4790000001", scts: "100126000000", attempts: 1 }) };
    const sender = new UcpSender({ id: "ucp-t4", alphabet: "gsm", session, store: async () => new MemoryStore() }, {});
    await sender.send({ id: ID, to: "+4790000001", from: "", text: "x" }, { validity: 60 });
    assert.match(submitted[0].VP ?? "", /^\d{10}$/);
    assert.equal(submitted[0].OADC, undefined);
  });
});
