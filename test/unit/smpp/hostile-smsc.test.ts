/**
 * The session against a hostile SMSC (test/helpers/hostile-smsc.ts, raw socket writes): for
 * each malformed frame, the answer PDU and status, what is reported ('refused' / 'stray'
 * events and a log line), and that nothing is handed to the deliver handler that should not
 * be (and everything that should, for the 2,000-PDU burst).
 *
 * Statuses are SMPP 3.4 table 5-2's: ESME_RINVCMDLEN (0x02) "command length is invalid",
 * ESME_RINVMSGLEN (0x01) "message length is invalid", ESME_RINVPARLEN (0xC2, SMPP 5.0's
 * ESME_RINVTLVLEN) "invalid parameter length", ESME_RINVOPTPARSTREAM (0xC0) "error in the
 * optional part of the PDU body"; and generic_nack (§4.3) when the header cannot be read.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type * as smpp from "smpp";
import { SmppSession, type Refusal, type Stray } from "../../../lib/smpp/session";
import { COMMAND_IDS, deliverSmBody, pduBytes, startHostileSmsc, type DeliverSmFields, type HostileSmsc } from "../../helpers/hostile-smsc";
import { waitFor } from "../../helpers/wait";

const ROK = 0x00;
const RINVMSGLEN = 0x01;
const RINVCMDLEN = 0x02;
const RINVOPTPARSTREAM = 0xc0;
const RINVPARLEN = 0xc2;

interface Rig {
  smsc: HostileSmsc;
  session: SmppSession;
  delivered: smpp.PDU[];
  refused: Refusal[];
  strays: Stray[];
  logs: string[];
}

async function rig(): Promise<Rig> {
  const smsc = await startHostileSmsc();
  const session = new SmppSession({
    host: "127.0.0.1",
    port: smsc.port,
    systemId: "esme",
    password: "pw",
    reconnectMinMs: 50,
    reconnectMaxMs: 200,
    unbindTimeoutMs: 500,
    drainTimeoutMs: 500,
  });
  const r: Rig = { smsc, session, delivered: [], refused: [], strays: [], logs: [] };
  session.setDeliverHandler((pdu) => {
    r.delivered.push(pdu);
  });
  session.on("refused", (refusal: Refusal) => r.refused.push(refusal));
  session.on("stray", (stray: Stray) => r.strays.push(stray));
  session.on("log", (l: { level: string; text: string }) => r.logs.push(`${l.level}: ${l.text}`));
  session.start();
  await waitFor(() => session.state === "bound", "the bind");
  return r;
}

async function close(r: Rig): Promise<void> {
  await r.session.close();
  await r.smsc.close();
}

let nextSequence = 1000;

/** Sends a deliver_sm body as is and returns the ESME's answer. */
async function deliver(r: Rig, body: Buffer): Promise<{ command: string; status: number; sequence: number }> {
  const sequence = ++nextSequence;
  r.smsc.send(pduBytes(COMMAND_IDS.deliver_sm, sequence, body));
  return r.smsc.responseTo(sequence);
}

interface RefusedCase {
  name: string;
  body: Buffer;
  status: number;
  reason: RegExp;
}

/** Every place a deliver_sm can end early: after each field, and inside each non-empty C-string. */
function cutCases(): RefusedCase[] {
  const { body, ends } = deliverSmBody({ short_message: Buffer.from("hello") });
  const cases: RefusedCase[] = [{ name: "an empty body", body: body.subarray(0, 0), status: RINVCMDLEN, reason: /ends (inside|before) service_type/ }];
  for (let i = 0; i < ends.length - 1; i++) {
    const next = ends[i + 1].field;
    // Cut after sm_length, the 5 octets it announces are missing: a message length fault.
    const status = next === "short_message" ? RINVMSGLEN : RINVCMDLEN;
    const reason = next === "short_message" ? /sm_length 5 runs past the PDU \(0 octets left\)/ : new RegExp(`ends (inside|before) ${next === "sm_length" ? "sm_length" : next}`);
    cases.push({ name: `cut after ${ends[i].field}`, body: body.subarray(0, ends[i].end), status, reason });
  }
  for (const { field, end } of ends) {
    if (!["source_addr", "destination_addr"].includes(field)) continue;
    // Issue #14: a deliver_sm cut inside source_addr was posted to RapidPro from "+25078".
    cases.push({ name: `cut inside ${field} (its NUL missing)`, body: body.subarray(0, end - 2), status: RINVCMDLEN, reason: new RegExp(`ends inside ${field}`) });
  }
  return cases;
}

const REFUSED: RefusedCase[] = [
  ...cutCases(),
  {
    name: "sm_length 160 past a 5-octet body",
    body: deliverSmBody({ sm_length: 160, short_message: Buffer.from("hello") }).body,
    status: RINVMSGLEN,
    reason: /sm_length 160 runs past the PDU \(5 octets left\)/,
  },
  {
    name: "a TLV whose length runs past the PDU",
    body: deliverSmBody({ tlvs: [{ tag: 0x0424, value: Buffer.from("abc"), length: 300 }] }).body,
    status: RINVPARLEN,
    reason: /TLV 0x0424 \(message_payload\) length 300 runs past the PDU \(3 octets left\)/,
  },
  {
    name: "a TLV header cut after 2 octets",
    body: Buffer.concat([deliverSmBody().body, Buffer.from([0x04, 0x27])]),
    status: RINVOPTPARSTREAM,
    reason: /end inside a TLV header \(2 octets left\)/,
  },
  {
    name: "message_state (one octet) with a length of 2",
    body: deliverSmBody({ esm_class: 0x04, tlvs: [{ tag: 0x0427, value: Buffer.from([0, 2]) }] }).body,
    status: RINVPARLEN,
    reason: /message_state\) has length 2, its type takes 1/,
  },
  {
    name: "UCS-2 text of an odd number of octets",
    body: deliverSmBody({ data_coding: 0x08, short_message: Buffer.from([0x00, 0x68, 0x00]) }).body,
    status: RINVMSGLEN,
    reason: /UCS-2 text of 3 octets is not whole 2-octet units/,
  },
  {
    name: "UCS-2 in message_payload of an odd number of octets",
    body: deliverSmBody({ data_coding: 0x08, short_message: Buffer.alloc(0), tlvs: [{ tag: 0x0424, value: Buffer.from([0x00, 0x68, 0x00]) }] }).body,
    status: RINVMSGLEN,
    reason: /UCS-2 text of 3 octets/,
  },
  {
    name: "a UDH (UDHL 0x74) longer than the 12-octet message",
    body: deliverSmBody({ esm_class: 0x40, short_message: Buffer.from("74" + "00".repeat(11), "hex") }).body,
    status: RINVMSGLEN,
    reason: /UDH of 117 octets \(UDHL 116\) runs past the 12-octet message/,
  },
  {
    name: "a source_addr of 21 characters (SMPP 3.4 §4.6.1: at most 20 and the NUL)",
    body: deliverSmBody({ source_addr: "1".repeat(21) }).body,
    status: 0x0a,
    reason: /source_addr is 21 characters, more than the 20 allowed/,
  },
];

describe("malformed deliver_sm: refused with the protocol's error, reported, never handed on", () => {
  let r: Rig;
  before(async () => (r = await rig()));
  after(() => close(r));

  for (const c of REFUSED) {
    test(`${c.name} → deliver_sm_resp ${c.status === RINVCMDLEN ? "ESME_RINVCMDLEN" : `0x${c.status.toString(16)}`}`, async () => {
      const refusedBefore = r.refused.length;
      const answer = await deliver(r, c.body);
      assert.deepEqual([answer.command, answer.status], ["deliver_sm_resp", c.status]);
      assert.equal(r.delivered.length, 0, "nothing reaches the handler");
      const refusal = r.refused[refusedBefore];
      assert.ok(refusal, "a 'refused' event");
      assert.deepEqual([refusal.command, refusal.answer, refusal.sequence, refusal.status], ["deliver_sm", "deliver_sm_resp", answer.sequence, c.status]);
      assert.match(refusal.reason, c.reason);
      assert.ok(r.logs.some((l) => l.startsWith("warn: refused deliver_sm") && c.reason.test(l)), "a log line with the reason");
      assert.equal(r.smsc.counters.binds, 1, "the link stays up: the next PDU is where command_length says");
    });
  }

  test("after all that, a well-formed deliver_sm is still delivered on the same link", async () => {
    const answer = await deliver(r, deliverSmBody({ source_addr: "250788000001", short_message: Buffer.from("still here") }).body);
    assert.deepEqual([answer.command, answer.status], ["deliver_sm_resp", ROK]);
    assert.equal(r.delivered.length, 1);
    assert.equal(r.delivered[0].source_addr, "250788000001");
    assert.deepEqual(r.delivered[0].short_message, Buffer.from("still here"), "short_message as the raw octets");
  });
});

describe("tolerated where SMSCs differ (smpp-and-gateways.md §5.3: id forms)", () => {
  test("receipted_message_id without its NUL is bounded by its TLV length, and the next TLV is read", async () => {
    const r = await rig();
    try {
      const body = deliverSmBody({
        esm_class: 0x04,
        short_message: Buffer.from("id:abc123 stat:DELIVRD"),
        tlvs: [
          { tag: 0x001e, value: Buffer.from("abc123") },
          { tag: 0x0427, value: Buffer.from([2]) },
        ],
      }).body;
      const answer = await deliver(r, body);
      assert.equal(answer.status, ROK);
      assert.equal(r.delivered[0].receipted_message_id, "abc123");
      assert.equal(r.delivered[0].message_state, 2);
    } finally {
      await close(r);
    }
  });
});

describe("an unreadable header: generic_nack ESME_RINVCMDLEN, then the link closes and binds again", () => {
  const cases: Array<{ name: string; bytes: Buffer; sequence: number; reason: RegExp }> = [
    { name: "command_length 0xFFFFFFFF", bytes: pduBytes(COMMAND_IDS.deliver_sm, 4242, Buffer.alloc(0), 0, 0xffffffff), sequence: 4242, reason: /command_length 4294967295 too large \(maximum 16384\)/ },
    { name: "command_length 8 (below the 16-octet header)", bytes: Buffer.from([0, 0, 0, 8, 0, 0, 0, 5]), sequence: 0, reason: /command_length 8 is below the 16-octet header/ },
    { name: "command_length 0", bytes: pduBytes(COMMAND_IDS.deliver_sm, 77, Buffer.alloc(0), 0, 0), sequence: 0, reason: /command_length 0 is below/ },
  ];
  for (const c of cases) {
    test(c.name, async () => {
      const r = await rig();
      try {
        // A well-formed deliver_sm right behind it cannot be trusted to start where it seems to.
        const behind = pduBytes(COMMAND_IDS.deliver_sm, 99, deliverSmBody().body);
        r.smsc.send(Buffer.concat([c.bytes, behind]));
        const nack = await r.smsc.responseTo(c.sequence);
        assert.deepEqual([nack.command, nack.status], ["generic_nack", RINVCMDLEN]);
        await waitFor(() => r.smsc.counters.binds === 2 && r.session.state === "bound", "a new bind");
        assert.equal(r.smsc.counters.closed, 1, "the hostile link was closed");
        assert.equal(r.delivered.length, 0);
        assert.ok(!r.smsc.received.some((p) => p.sequence === 99 && p.command === "deliver_sm_resp"));
        assert.deepEqual([r.refused[0]?.answer, r.refused[0]?.status], ["generic_nack", RINVCMDLEN]);
        assert.match(r.refused[0].reason, c.reason);
        assert.ok(r.logs.some((l) => c.reason.test(l)));
      } finally {
        await close(r);
      }
    });
  }
});

describe("stray responses: counted per kind, logged once (then at 10, 100 …), nothing else disturbed", () => {
  test("submit_sm_resp for sequences never sent, and generic_nack out of the blue", async () => {
    const r = await rig();
    try {
      for (let i = 0; i < 3; i++) r.smsc.send(pduBytes(COMMAND_IDS.submit_sm_resp, 0x7ffffff0 + i, Buffer.from(`x${i}\0`)));
      r.smsc.send(pduBytes(COMMAND_IDS.generic_nack, 0, Buffer.alloc(0), RINVCMDLEN));
      await waitFor(() => r.strays.length === 4, "four 'stray' events");
      assert.deepEqual(r.strays.map((s) => [s.command, s.count]), [["submit_sm_resp", 1], ["submit_sm_resp", 2], ["submit_sm_resp", 3], ["generic_nack", 1]]);
      const lines = r.logs.filter((l) => l.includes("stray"));
      assert.equal(lines.length, 2, lines.join("\n"));
      assert.match(lines[0], /stray submit_sm_resp \(sequence 2147483632, ESME_ROK \(0x00\)\) matches no request in flight; 1 such so far/);
      assert.match(lines[1], /stray generic_nack \(sequence 0, ESME_RINVCMDLEN \(0x02\)\)/);
      const outcome = await r.session.submit({ destination_addr: "250788000001", short_message: Buffer.from("hi") });
      assert.ok(outcome.ok, "submits still work");
      assert.equal(r.smsc.counters.binds, 1);
    } finally {
      await close(r);
    }
  });
});

describe("a burst: 2,000 deliver_sm in one write", () => {
  test("every one is handed on once, in order, and answered ESME_ROK", { timeout: 30_000 }, async () => {
    const r = await rig();
    try {
      const count = 2_000;
      const first = 50_000;
      const burst = Buffer.concat(
        Array.from({ length: count }, (_, i) => pduBytes(COMMAND_IDS.deliver_sm, first + i, deliverSmBody({ short_message: Buffer.from(`burst ${i}`) } as DeliverSmFields).body)),
      );
      r.smsc.send(burst);
      await waitFor(() => r.smsc.received.filter((p) => p.command === "deliver_sm_resp").length === count, "2,000 deliver_sm_resp", 25_000);
      const answers = r.smsc.received.filter((p) => p.command === "deliver_sm_resp");
      assert.ok(answers.every((a) => a.status === ROK));
      assert.deepEqual(new Set(answers.map((a) => a.sequence)).size, count);
      assert.deepEqual(r.delivered.map((p) => String(p.short_message)), Array.from({ length: count }, (_, i) => `burst ${i}`));
      assert.equal(r.refused.length, 0);
      assert.equal(r.smsc.counters.binds, 1);
    } finally {
      await close(r);
    }
  });
});
