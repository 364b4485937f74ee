/**
 * lib/cimd2/sender.ts and lib/cimd2/receiver.ts without Node-RED: the CIMD2 side of the delivery
 * core (the protocol-independent rules run in test/unit/delivery/core.test.ts through the CIMD2
 * adapter). Reference aggregator-protocols.md §3.3-3.5.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { Status } from "../../../lib/contract";
import type { HandOver } from "../../../lib/delivery/answers";
import { toDelivery, type DeliveryAnswer } from "../../../lib/cimd2/deliver";
import type { Parameter } from "../../../lib/cimd2/packet";
import { P } from "../../../lib/cimd2/parameters";
import { Cimd2Receiver, CIMD2_ANSWERS, type Cimd2MoOut } from "../../../lib/cimd2/receiver";
import type { StatusReport } from "../../../lib/cimd2/report";
import { Cimd2Sender } from "../../../lib/cimd2/sender";
import type { SubmitOutcome } from "../../../lib/cimd2/session";
import type { StoredPart } from "../../../lib/sms/held-parts";
import { MemoryStore } from "../../../lib/store/memory";
import { MemoryQueue } from "../../../lib/store/queue-memory";

const ID = "0191e180-7d60-7000-a000-0000000cimd2";
const prm = (code: number, value: string): Parameter => ({ code, value });

const receivers: Cimd2Receiver[] = [];
after(async () => {
  for (const receiver of receivers) await receiver.close(true);
});

function rig(handOver: HandOver = { kind: "rapidpro" }) {
  const store = new MemoryStore();
  const queue = new MemoryQueue<StoredPart>();
  const submits: Parameter[][] = [];
  const mos: Cimd2MoOut[] = [];
  const statuses: Status[] = [];
  const unmatched: StatusReport[] = [];
  const warnings: string[] = [];
  let n = 0;
  const bind = {
    id: `cimd2-test-${Math.random()}`,
    store: async () => store,
    session: {
      submit: async (params: Parameter[]): Promise<SubmitOutcome> => {
        submits.push(params);
        const timestamp = `2612050000${String(++n).padStart(2, "0")}`;
        return { ok: true, timestamp, destination: "4790000001", key: `${timestamp}:4790000001`, attempts: 1 };
      },
    },
  };
  const receiver = new Cimd2Receiver(
    async () => store,
    Promise.resolve({ queue, durable: true }),
    { unmatchedWaitMs: 50, reassemblyTimeoutMs: 60_000 },
    {
      mo: async (msg) => (mos.push(msg), handOver),
      status: async (status) => (statuses.push(status), handOver),
      unmatched: (report) => void unmatched.push(report),
      warn: (text) => void warnings.push(text),
    },
  );
  receivers.push(receiver);
  const deliver = (op: 20 | 23, params: Parameter[]): Promise<DeliveryAnswer> => receiver.deliver(toDelivery({ op, number: 0, params, checksummed: false }, () => undefined));
  return { store, queue, submits, mos, statuses, unmatched, warnings, bind, receiver, deliver };
}

const report = (timestamp: string, status: number, error?: number) =>
  [prm(P.DESTINATION, "4790000001"), prm(P.SERVICE_CENTRE_TIMESTAMP, timestamp), prm(P.STATUS_CODE, String(status)), ...(error !== undefined ? [prm(P.STATUS_ERROR_CODE, String(error))] : [])];

describe("CIMD2 answers (docs/design.md decision 23)", () => {
  test("taken is a plain 70 / 73; again and not-yet are 900:710 so the SMSC delivers it again; refused is 900:2", () => {
    assert.deepEqual(CIMD2_ANSWERS.taken, { ok: true });
    assert.equal((CIMD2_ANSWERS.again as { code: number }).code, 710);
    assert.equal((CIMD2_ANSWERS["not-yet"] as { code: number }).code, 710);
    assert.equal((CIMD2_ANSWERS.refused as { code: number }).code, 2);
  });
});

// §3.5: "061 status code: 4 delivered; 2, 3, 6, 7, 8, 9 failed; 0, 1, 5 no final status yet" (Kannel's mapping).
const STATUS_CASES: { code: number; expect: Status["status"] | "none" }[] = [
  { code: 0, expect: "sent" },
  { code: 1, expect: "sent" },
  { code: 5, expect: "sent" },
  { code: 4, expect: "delivered" },
  { code: 2, expect: "failed" },
  { code: 3, expect: "failed" },
  { code: 6, expect: "failed" },
  { code: 7, expect: "failed" },
  { code: 8, expect: "failed" },
  { code: 9, expect: "failed" },
];

describe("op 23 status reports to statuses, keyed by 060 and 021", () => {
  for (const row of STATUS_CASES) {
    test(`061:${row.code} → ${row.expect}`, async () => {
      const r = rig();
      const sender = new Cimd2Sender(r.bind, {});
      const { result } = await sender.send({ id: ID, to: "+4790000001", from: "2020", text: "hello" });
      assert.equal(result.accepted, true);
      // The SMSC may write the destination with or without "+": the key drops it.
      const answer = await r.deliver(23, [prm(P.DESTINATION, "+4790000001"), ...report("261205000001", row.code, 14).slice(1)]);
      assert.deepEqual(answer, { ok: true });
      const last = r.statuses.at(-1)!;
      assert.equal(last.status, row.expect);
      assert.equal(last.id, ID);
      if (row.expect === "failed") assert.match(last.reason ?? "", /062 error 14/);
    });
  }

  test("a report of a key never submitted goes to the unmatched output once and is acknowledged", async () => {
    const r = rig();
    const first = await r.deliver(23, report("261205000099", 4));
    const again = await r.deliver(23, report("261205000099", 4));
    assert.deepEqual([first, again], [{ ok: true }, { ok: true }]);
    assert.equal(r.unmatched.length, 1);
    assert.equal(r.unmatched[0].key, "261205000099:4790000001");
  });

  test("a status RapidPro did not take is answered 900:710 and reported again on the redelivery", async () => {
    const handOver: { value: HandOver } = { value: { kind: "temporary", reason: "RapidPro down" } };
    const r = rig();
    const receiver = new Cimd2Receiver(async () => r.store, Promise.resolve({ queue: new MemoryQueue<StoredPart>(), durable: false }), { unmatchedWaitMs: 50, reassemblyTimeoutMs: 60_000 }, {
      mo: async () => handOver.value,
      status: async (status) => (r.statuses.push(status), handOver.value),
      unmatched: () => undefined,
      warn: () => undefined,
    });
    await new Cimd2Sender(r.bind, {}).send({ id: ID, to: "+4790000001", from: "2020", text: "hello" });
    const deliver = () => receiver.deliver(toDelivery({ op: 23, number: 0, params: report("261205000001", 4), checksummed: false }, () => undefined));
    assert.deepEqual(await deliver(), CIMD2_ANSWERS.again);
    handOver.value = { kind: "rapidpro" };
    assert.deepEqual(await deliver(), { ok: true });
    assert.deepEqual(await deliver(), { ok: true });
    assert.deepEqual(r.statuses.map((s) => s.status), ["delivered", "delivered"]);
    receivers.push(receiver);
  });
});

/** A part of a long MO: `032` 05 00 03 ref total seq, the text in `033`. */
const part = (seq: number, total: number, text: string) => [
  prm(P.DESTINATION, "2020"),
  prm(P.ORIGINATOR, "+4790000002"),
  prm(P.USER_DATA_HEADER, `050003a7${total.toString(16).padStart(2, "0")}${seq.toString(16).padStart(2, "0")}`),
  prm(P.USER_DATA, text),
];

describe("op 20 MOs", () => {
  test("GSM text with a CIMD2 escape (_a\" for ä) is read", async () => {
    const r = rig();
    // "_a\"" is ä in CIMD2's 7-bit form (lib/cimd2/text.ts ESCAPES, reference §3.6).
    assert.deepEqual(await r.deliver(20, [prm(P.DESTINATION, "2020"), prm(P.ORIGINATOR, "4790000002"), prm(P.USER_DATA, "Hei _a\"")]), { ok: true });
    assert.equal(r.mos[0].payload.text, "Hei ä");
    assert.equal(r.mos[0].payload.from, "4790000002");
    assert.equal(r.mos[0].cimd2.parts, 1);
  });

  test("UCS-2 with an emoji in 034 under 030:8", async () => {
    const r = rig();
    const hex = Buffer.from("Привет 👋", "utf16le").swap16().toString("hex");
    assert.deepEqual(await r.deliver(20, [prm(P.DESTINATION, "2020"), prm(P.ORIGINATOR, "+4790000002"), prm(P.DATA_CODING_SCHEME, "8"), prm(P.USER_DATA_BINARY, hex)]), { ok: true });
    assert.equal(r.mos[0].payload.text, "Привет 👋");
  });

  test("3 parts out of order: each kept part is kept on disk before its 70, the whole MO goes on once, parts let go", async () => {
    const r = rig();
    assert.deepEqual(await r.deliver(20, part(3, 3, " three")), { ok: true });
    assert.equal(await r.queue.size(), 1);
    assert.deepEqual(await r.deliver(20, part(1, 3, "one")), { ok: true });
    assert.equal(await r.queue.size(), 2);
    assert.equal(r.mos.length, 0);
    assert.deepEqual(await r.deliver(20, part(2, 3, " two")), { ok: true });
    assert.equal(r.mos.length, 1);
    assert.equal(r.mos[0].payload.text, "one two three");
    assert.equal(r.mos[0].cimd2.parts, 3);
    assert.equal(await r.queue.size(), 0);
    // A redelivered part of a finished MO starts a new group, never a second MO at once.
  });

  test("the completing part of an MO RapidPro did not take is answered 900:710; its siblings stay kept", async () => {
    const r = rig({ kind: "temporary", reason: "RapidPro down" });
    assert.deepEqual(await r.deliver(20, part(1, 2, "one")), { ok: true });
    assert.deepEqual(await r.deliver(20, part(2, 2, " two")), CIMD2_ANSWERS.again);
    assert.equal(await r.queue.size(), 1);
  });

  test("binary content is refused with 711 (unsupported data coding scheme) and a warning", async () => {
    const r = rig();
    const answer = await r.deliver(20, [prm(P.DESTINATION, "2020"), prm(P.ORIGINATOR, "4790000002"), prm(P.DATA_CODING_SCHEME, "4"), prm(P.USER_DATA_BINARY, "0102")]);
    assert.equal(answer.ok, false);
    assert.equal((answer as { code: number }).code, 711);
    assert.equal(r.mos.length, 0);
    assert.match(r.warnings[0], /not text/);
  });

  test("an unreadable op 20 (no 023) is answered with its own code, never handed on", async () => {
    const r = rig();
    const answer = await r.deliver(20, [prm(P.DESTINATION, "2020"), prm(P.USER_DATA, "x")]);
    assert.deepEqual(answer, { ok: false, code: 3, text: "deliver message without 023 (originating address)" });
    assert.equal(r.mos.length, 0);
  });
});

describe("Cimd2Sender", () => {
  test("validity and delay from the node, msg.cimd2 over them; no 056 when the bind says so", async () => {
    const r = rig();
    const sender = new Cimd2Sender({ ...r.bind, omitStatusReportRequest: true }, { validity: 60, delay: "" });
    await sender.send({ id: ID, to: "+4790000001", from: "2020", text: "a" });
    assert.equal(r.submits[0].find((p) => p.code === P.VALIDITY_RELATIVE)?.value, "11");
    assert.equal(r.submits[0].find((p) => p.code === P.STATUS_REPORT_REQUEST), undefined);
    await sender.send({ id: `${ID}-2`, to: "+4790000001", from: "2020", text: "b" }, { validityAbsolute: "261231235959", deliverAt: "261231120000" });
    assert.equal(r.submits[1].find((p) => p.code === P.VALIDITY_RELATIVE), undefined);
    assert.equal(r.submits[1].find((p) => p.code === P.VALIDITY_ABSOLUTE)?.value, "261231235959");
    assert.equal(r.submits[1].find((p) => p.code === P.FIRST_DELIVERY_ABSOLUTE)?.value, "261231120000");
  });

  test("bad input is refused with a reason and nothing is submitted", async () => {
    const r = rig();
    const sender = new Cimd2Sender(r.bind, {});
    const cases = [
      { payload: "text", code: "INVALID_MT" },
      { payload: { id: ID, to: "not a number", from: "2020", text: "x" }, code: "INVALID_DESTINATION" },
      { payload: { id: ID, to: "+4790000001", from: "A_very_long_sender", text: "x" }, code: "INVALID_SOURCE" },
    ];
    for (const c of cases) {
      const { result } = await sender.send(c.payload);
      assert.equal(result.accepted, false);
      assert.equal(result.error?.code, c.code);
    }
    const { result } = await sender.send({ id: ID, to: "+4790000001", from: "2020", text: "x" }, { validity: -5 });
    assert.equal(result.error?.code, "INVALID_OPTION");
    assert.equal(r.submits.length, 0);
    const unbound = await new Cimd2Sender({ id: "x", store: r.bind.store, configError: "host is missing" }, {}).send({ id: ID, to: "+4790000001", from: "2020", text: "x" });
    assert.deepEqual(unbound.result.error, { code: "BIND_MISCONFIGURED", text: "host is missing", temporary: true });
  });
});
