/**
 * The session against a hostile SMSC (test/helpers/hostile-smsc.ts, raw socket writes): for
 * each malformed frame, the answer PDU and status, what is reported ('refused' / 'stray'
 * events and a log line), and that nothing is handed to the deliver handler that should not
 * be (and everything that should, for the 2,000-PDU burst). The frames and expected answers
 * are test/helpers/hostile-frames.ts's table, which test/e2e/hostile-smsc.test.ts runs
 * against the bridge example in a real Node-RED.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type * as smpp from "smpp";
import { SmppSession, type Refusal, type Stray } from "../../../lib/smpp/session";
import { COMMAND_IDS, deliverSmBody, pduBytes, startHostileSmsc, type HostileSmsc } from "../../helpers/hostile-smsc";
import {
  ROK,
  RINVCMDID,
  RINVCMDLEN,
  RULES,
  STRAY_LOG_LINES,
  UNREADABLE_HEADER_CASES,
  UNSERVED_REQUEST_CASES,
  deliverSmBurst,
  refusedCaseName,
  refusedDeliverSmCases,
  strayFrames,
} from "../../helpers/hostile-frames";
import { waitFor } from "../../helpers/wait";

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

describe("malformed deliver_sm: refused with the protocol's error, reported, never handed on", () => {
  let r: Rig;
  before(async () => (r = await rig()));
  after(() => close(r));

  for (const c of refusedDeliverSmCases()) {
    test(refusedCaseName(c), async () => {
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

describe(`tolerated where SMSCs differ (${RULES.idForms})`, () => {
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

describe(`an unreadable header: generic_nack ESME_RINVCMDLEN, then the link closes and binds again (${RULES.nack})`, () => {
  for (const c of UNREADABLE_HEADER_CASES) {
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

describe("requests the ESME does not serve: ESME_RINVCMDID, reported, the link stays up", () => {
  for (const c of UNSERVED_REQUEST_CASES) {
    test(c.name, async () => {
      const r = await rig();
      try {
        r.smsc.send(c.bytes);
        const answer = await r.smsc.responseTo(c.sequence);
        assert.deepEqual([answer.command, answer.status], [c.answer, RINVCMDID]);
        assert.deepEqual([r.refused[0]?.answer, r.refused[0]?.sequence, r.refused[0]?.status], [c.answer, c.sequence, RINVCMDID]);
        assert.ok(r.logs.some((l) => l.startsWith("warn: ") && c.logged.test(l)), r.logs.join("\n"));
        assert.equal(r.delivered.length, 0);
        const after = await deliver(r, deliverSmBody().body);
        assert.equal(after.status, ROK, "the next deliver_sm is taken on the same link");
        assert.equal(r.smsc.counters.binds, 1);
      } finally {
        await close(r);
      }
    });
  }
});

describe(`stray responses: counted per kind, logged once (then at 10, 100 …), nothing else disturbed (${RULES.neverSilent})`, () => {
  test("submit_sm_resp for sequences never sent, and generic_nack out of the blue", async () => {
    const r = await rig();
    try {
      for (const frame of strayFrames()) r.smsc.send(frame);
      await waitFor(() => r.strays.length === 4, "four 'stray' events");
      assert.deepEqual(r.strays.map((s) => [s.command, s.count]), [["submit_sm_resp", 1], ["submit_sm_resp", 2], ["submit_sm_resp", 3], ["generic_nack", 1]]);
      const lines = r.logs.filter((l) => l.includes("stray"));
      assert.equal(lines.length, 2, lines.join("\n"));
      lines.forEach((line, i) => assert.match(line, STRAY_LOG_LINES[i]));
      const outcome = await r.session.submit({ destination_addr: "250788000001", short_message: Buffer.from("hi") });
      assert.ok(outcome.ok, "submits still work");
      assert.equal(r.smsc.counters.binds, 1);
    } finally {
      await close(r);
    }
  });
});

describe(`a burst: 2,000 deliver_sm in one write (${RULES.burst})`, () => {
  test("every one is handed on once, in order, and answered ESME_ROK", { timeout: 30_000 }, async () => {
    const r = await rig();
    try {
      const count = 2_000;
      const first = 50_000;
      r.smsc.send(deliverSmBurst(count, first, (i) => `burst ${i}`));
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
