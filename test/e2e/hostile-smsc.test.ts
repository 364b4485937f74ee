/**
 * The hostile SMSC against the bridge as users run it (issue #14): examples/rapidpro-smpp-bridge.json
 * deployed unchanged in a real Node-RED, the package installed from its tarball, courier
 * simulated (sim/courier.ts), and on the SMSC side a raw TCP server scripted by the test
 * (test/helpers/hostile-smsc.ts) that binds the bridge and then writes hostile frames. The
 * frames and the answers they must get are test/helpers/hostile-frames.ts's table, the same the
 * session-level test (test/unit/smpp/hostile-smsc.test.ts) runs.
 *
 * For each case: the answer PDU and its command_status, the reason in Node-RED's log (peer
 * values escaped, no secret anywhere), nothing posted to courier for a refused frame, and the
 * bridge still working after it (a well-formed MO reaches courier once). The flood of 2,000
 * deliver_sm in one write must reach courier exactly once each, and the Node-RED process's
 * RSS must come back near where it started (a bound stated and printed here, never a timing).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { vmMb } from "../../bench/proc";
import { DEFAULT_SEND_BODY, sendMt } from "../../sim/courier";
import { AUTH, CHANNEL, installedTemplate, launchExample, smppBridgeEnv, tempWork, type ExampleBridge } from "../helpers/bridge-ledger";
import { COMMAND_IDS, deliverSmBody, pduBytes, startHostileSmsc, type HostileSmsc } from "../helpers/hostile-smsc";
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
  statusName,
  strayFrames,
} from "../helpers/hostile-frames";
import { waitFor } from "../helpers/wait";

/** A bind password no other string in the tests contains, so the log can be searched for it. */
const SMPP_PASSWORD = "hostile-bind-pw-4d81c";
/** ESME_RX_P_APPN: "ESME receiver permanent application error" (lib/smpp/receiver.ts SMPP_ANSWERS.refused). */
const RX_P_APPN = 0x65;
const FLOOD = 2_000;
/**
 * How far above its start the Node-RED process's RSS may stay once the flood is over, a
 * generous bound: 2,000 MO went through the durable outbox (LMDB maps its file, so its pages
 * count in RSS) and V8 keeps some of the heap it grew (about 20 MB more, measured here). It
 * catches gross retention (the flood's frames, msgs or courier calls kept many times over,
 * a runaway buffer), not a small leak per message; bench/ measures memory under load.
 */
const RSS_GROWTH_BOUND_MB = 64;

describe("the SMPP bridge example in Node-RED against a hostile SMSC", { timeout: 600_000 }, () => {
  let work: string;
  let smsc: HostileSmsc;
  let bridge: ExampleBridge<HostileSmsc>;
  let sequence = 10_000;
  let startRssMb: number | undefined;

  const log = () => bridge.log();
  const pid = () => bridge.red.process.pid as number;
  const receives = () => bridge.courier.accepted.filter((c) => c.action === "receive");
  /** What courier has seen so far: every request, and the MO among those accepted. */
  const courierSnapshot = () => ({ requests: bridge.courier.requests, refused: bridge.courier.refused.length, receives: receives().length });

  /** Sends one deliver_sm body as is; resolves with the bridge's answer. */
  async function deliver(body: Buffer, timeoutMs = 10_000) {
    const seq = ++sequence;
    smsc.send(pduBytes(COMMAND_IDS.deliver_sm, seq, body));
    return { seq, answer: await smsc.responseTo(seq, timeoutMs) };
  }

  /** A well-formed MO: answered ESME_ROK, and at courier's /receive exactly once. */
  async function validMoReachesCourier(text: string) {
    const { answer } = await deliver(deliverSmBody({ source_addr: "250788123123", short_message: Buffer.from(text, "latin1") }).body, 30_000);
    assert.deepEqual([answer.command, statusName(answer.status)], ["deliver_sm_resp", "ESME_ROK"]);
    await waitFor(() => receives().some((c) => c.params.text === text), `"${text}" at courier`, 30_000);
    // A second post would come right behind the first (the outbox sends in order): give it the time to.
    await new Promise((r) => setTimeout(r, 500));
    const calls = receives().filter((c) => c.params.text === text);
    assert.equal(calls.length, 1, `"${text}" posted to courier once`);
    assert.equal(calls[0].params.from, "+250788123123");
  }

  /**
   * What every case ends with: nothing reached courier because of the hostile frame (`before`
   * was taken just before it), and the bridge still works: a well-formed MO reaches courier once.
   */
  async function nothingPostedAndStillWorking(before: ReturnType<typeof courierSnapshot>, moText: string) {
    assert.deepEqual(courierSnapshot(), before, "nothing posted to courier");
    await validMoReachesCourier(moText);
    assert.equal(receives().length, before.receives + 1, "that MO, and nothing else, reached courier");
    assert.equal(bridge.courier.refused.length, before.refused, "courier refused nothing");
  }

  /** Waits for a log line matching every pattern, and returns it. */
  async function logLine(...patterns: RegExp[]): Promise<string> {
    const find = () => log().split("\n").find((line) => patterns.every((p) => p.test(line)));
    try {
      await waitFor(() => find() !== undefined, `a log line matching ${patterns.join(" and ")}`, 10_000);
    } catch (error) {
      throw new Error(`${(error as Error).message}; Node-RED's log ends:\n${log().split("\n").slice(-30).join("\n")}`);
    }
    return find() as string;
  }

  before(async () => {
    work = tempWork("rp-hostile-");
    const template = installedTemplate(work);
    smsc = await startHostileSmsc();
    bridge = await launchExample(
      "rapidpro-smpp-bridge.json",
      { template, userDir: path.join(work, "user") },
      (courierUrl) => ({ ...smppBridgeEnv({ courierUrl, smscPort: smsc.port, auth: AUTH, storeUrl: "" }), SMPP_PASSWORD }),
      smsc,
      () => smsc.close(),
    );
    await waitFor(() => smsc.counters.binds === 1, "the bridge's bind", 30_000);
  });

  after(async () => {
    if (bridge) {
      if (/uncaught|TypeError|ReferenceError/i.test(bridge.log())) console.log(bridge.log().slice(-5000));
      await bridge.close();
    }
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  test("bound with the configured login, and a well-formed MO reaches courier once", async () => {
    const bind = smsc.received.find((p) => p.command === "bind_transceiver");
    assert.ok(bind, "bind_transceiver");
    assert.ok(bind.body.includes(Buffer.from(`${SMPP_PASSWORD}\0`)), "the bind carries the password from SMPP_PASSWORD");
    await validMoReachesCourier("warm-up MO");
    startRssMb = vmMb(pid(), "VmRSS");
    console.log(`[hostile smsc] Node-RED pid ${pid()} RSS after the first MO: ${startRssMb?.toFixed(1) ?? `not readable (/proc/${pid()}/status)`} MB`);
  });

  describe("malformed deliver_sm: refused with the protocol's error, logged, nothing posted to courier", () => {
    refusedDeliverSmCases().forEach((c, index) => {
      test(refusedCaseName(c), async () => {
        const before = courierSnapshot();
        const binds = smsc.counters.binds;
        const { seq, answer } = await deliver(c.body);
        assert.deepEqual([answer.command, statusName(answer.status)], ["deliver_sm_resp", statusName(c.status)]);
        const line = await logLine(new RegExp(`\\[warn\\] \\[smpp-bind:SMSC\\] refused deliver_sm \\(sequence ${seq}\\) with deliver_sm_resp`), c.reason);
        assert.ok(line.includes(statusName(c.status)), `the log names the status: ${line}`);
        await nothingPostedAndStillWorking(before, `MO after malformed ${index + 1}`);
        assert.equal(smsc.counters.binds, binds, "the link stays up: the next PDU is where command_length says");
      });
    });

    test("courier got the well-formed MO after each, and nothing else", () => {
      const cases = refusedDeliverSmCases().length;
      assert.deepEqual(receives().map((c) => c.params.text), ["warm-up MO", ...Array.from({ length: cases }, (_, i) => `MO after malformed ${i + 1}`)]);
      assert.deepEqual(bridge.courier.refused, []);
      assert.equal(smsc.counters.binds, 1);
    });
  });

  describe("well-formed frames carrying hostile values: refused by smpp-in, logged escaped", () => {
    test(`a receipt whose receipted_message_id holds CR LF and a forged log line, with no state (${RULES.idForms}) → deliver_sm_resp ESME_RX_P_APPN`, async () => {
      const before = courierSnapshot();
      const forged = "ab\r\n[error] forged";
      const { answer } = await deliver(deliverSmBody({ esm_class: 0x04, short_message: Buffer.alloc(0), tlvs: [{ tag: 0x001e, value: Buffer.from(`${forged}\0`) }] }).body);
      assert.deepEqual([answer.command, answer.status], ["deliver_sm_resp", RX_P_APPN]);
      const line = await logLine(/\[warn\] \[smpp-in:/, /deliver_sm refused: receipt for ab\\r\\n\[error\] forged carries no state/);
      assert.ok(!log().includes(forged), `the CR LF never reaches the log raw: ${line}`);
      assert.ok(!/^\[error\] forged/m.test(log()), "no forged line");
      await nothingPostedAndStillWorking(before, "MO after the forged receipt id");
    });
  });

  describe("requests the bridge does not serve: ESME_RINVCMDID, logged, nothing posted, the link stays up", () => {
    UNSERVED_REQUEST_CASES.forEach((c, index) => {
      test(c.name, async () => {
        const before = courierSnapshot();
        const binds = smsc.counters.binds;
        smsc.send(c.bytes);
        const answer = await smsc.responseTo(c.sequence, 10_000);
        assert.deepEqual([answer.command, statusName(answer.status)], [c.answer, statusName(RINVCMDID)]);
        await logLine(/\[warn\] \[smpp-bind:SMSC\]/, c.logged);
        await nothingPostedAndStillWorking(before, `MO after unserved request ${index + 1}`);
        assert.equal(smsc.counters.binds, binds, "the link stays up");
      });
    });
  });

  describe(`stray responses: logged once per kind with a counter, the bridge unaffected (${RULES.neverSilent})`, () => {
    test("three submit_sm_resp for sequences never sent and a generic_nack out of the blue, then an MT still goes through", async () => {
      const before = courierSnapshot();
      for (const frame of strayFrames()) smsc.send(frame);
      for (const pattern of STRAY_LOG_LINES) await logLine(/\[warn\] \[smpp-bind:SMSC\]/, pattern);
      const strayLines = log().split("\n").filter((line) => /stray (submit_sm_resp|generic_nack)/.test(line));
      assert.equal(strayLines.length, 2, `one line per kind:\n${strayLines.join("\n")}`);
      await nothingPostedAndStillWorking(before, "MO after the strays");
      // The bridge still submits, and answers courier 200 once the SMSC accepted.
      const submitsBefore = smsc.received.filter((p) => p.command === "submit_sm").length;
      const parts = await sendMt(
        { sendUrl: bridge.sendUrl, body: DEFAULT_SEND_BODY, authorization: AUTH, channelUuid: CHANNEL },
        { uuid: "0191e180-7d60-7000-a000-000000000001", to: "+250788383383", text: "MT after the strays" },
      );
      assert.deepEqual(parts.map((p) => p.status), [200]);
      assert.equal(smsc.received.filter((p) => p.command === "submit_sm").length, submitsBefore + 1);
      assert.equal(smsc.counters.binds, 1);
    });
  });

  describe(`an unreadable header: generic_nack ESME_RINVCMDLEN, the link closed and bound again (${RULES.nack})`, () => {
    UNREADABLE_HEADER_CASES.forEach((c, index) => {
      test(c.name, async () => {
        const before = courierSnapshot();
        const binds = smsc.counters.binds;
        const behindSequence = ++sequence;
        // A well-formed deliver_sm right behind it cannot be trusted to start where it seems to.
        const behind = pduBytes(COMMAND_IDS.deliver_sm, behindSequence, deliverSmBody({ short_message: Buffer.from(`behind unreadable header ${index + 1}`) }).body);
        const answersBefore = smsc.received.length;
        smsc.send(Buffer.concat([c.bytes, behind]));
        await waitFor(() => smsc.received.slice(answersBefore).some((p) => p.command === "generic_nack"), "the generic_nack", 10_000);
        const nack = smsc.received.slice(answersBefore).find((p) => p.command === "generic_nack")!;
        assert.deepEqual([nack.sequence, statusName(nack.status)], [c.sequence, statusName(RINVCMDLEN)]);
        await logLine(/\[warn\] \[smpp-bind:SMSC\] refused unreadable PDU/, /generic_nack ESME_RINVCMDLEN/, c.reason);
        await waitFor(() => smsc.counters.binds === binds + 1, "a new bind", 30_000);
        assert.ok(!smsc.received.some((p) => p.command === "deliver_sm_resp" && p.sequence === behindSequence), "the PDU behind it is not answered");
        await nothingPostedAndStillWorking(before, `MO after unreadable header ${index + 1}`);
      });
    });
  });

  describe(`a peer that vanishes mid-PDU (${RULES.vanish})`, () => {
    test("half a deliver_sm, then the connection is gone: nothing posted, the bridge binds again and takes the next MO", async () => {
      const before = courierSnapshot();
      const binds = smsc.counters.binds;
      const half = pduBytes(COMMAND_IDS.deliver_sm, ++sequence, deliverSmBody({ short_message: Buffer.from("cut by the peer") }).body);
      smsc.send(half.subarray(0, 30));
      await new Promise((r) => setTimeout(r, 200));
      smsc.drop();
      await waitFor(() => smsc.counters.binds === binds + 1, "a new bind", 30_000);
      await logLine(/\[smpp-bind:SMSC\]/, /connection closed by the peer/);
      await nothingPostedAndStillWorking(before, "MO after the peer vanished");
      assert.ok(!receives().some((c) => c.params.text?.includes("cut by the peer")));
    });
  });

  describe(`a flood: ${FLOOD.toLocaleString("en")} deliver_sm in one write (${RULES.burst})`, () => {
    test(`every one answered ESME_ROK and posted to courier's /receive exactly once, then RSS back within ${RSS_GROWTH_BOUND_MB} MB of its start (${RULES.memory})`, { timeout: 300_000 }, async () => {
      const before = receives().length;
      const binds = smsc.counters.binds;
      const first = ++sequence;
      sequence += FLOOD;
      const textOf = (i: number) => `flood ${i}`;
      const peakSamples: number[] = [];
      const sampler = setInterval(() => peakSamples.push(vmMb(pid(), "VmRSS") ?? 0), 250);
      const rssStart = startRssMb;
      try {
        smsc.send(deliverSmBurst(FLOOD, first, textOf));
        const answered = () => smsc.received.filter((p) => p.command === "deliver_sm_resp" && p.sequence >= first && p.sequence < first + FLOOD);
        await waitFor(() => answered().length >= FLOOD, `${FLOOD} deliver_sm_resp`, 240_000);
        const answers = answered();
        assert.equal(answers.length, FLOOD, "each answered once");
        assert.equal(new Set(answers.map((a) => a.sequence)).size, FLOOD);
        const notOk = answers.filter((a) => a.status !== ROK);
        assert.deepEqual(notOk.map((a) => `${a.sequence} ${statusName(a.status)}`).slice(0, 5), [], "every one ESME_ROK");
        await waitFor(() => receives().length >= before + FLOOD, `${FLOOD} MO at courier`, 120_000);
        // Late duplicates would come within the outbox's next round: wait a little before counting.
        await new Promise((r) => setTimeout(r, 2_000));
      } finally {
        clearInterval(sampler);
      }
      const byText = new Map<string, number>();
      for (const call of receives().slice(before)) byText.set(call.params.text, (byText.get(call.params.text) ?? 0) + 1);
      const missing = Array.from({ length: FLOOD }, (_, i) => textOf(i)).filter((t) => !byText.has(t));
      const twice = [...byText].filter(([, n]) => n > 1);
      assert.deepEqual(missing.slice(0, 10), [], "every MO of the flood at courier");
      assert.deepEqual(twice.slice(0, 10), [], "none posted twice");
      assert.equal(byText.size, FLOOD, "nothing else posted");
      assert.deepEqual(bridge.courier.refused, []);
      assert.equal(smsc.counters.binds, binds, "the link stayed up through the flood");

      await validMoReachesCourier("MO after the flood");

      // RSS: polled (bounded) until it is within the bound, then stated either way.
      if (rssStart === undefined) {
        console.log(`[hostile smsc] RSS not compared: /proc/${pid()}/status has no VmRSS on this system`);
        return;
      }
      const bound = rssStart + RSS_GROWTH_BOUND_MB;
      const peak = Math.max(...peakSamples);
      let rss = vmMb(pid(), "VmRSS") ?? Number.POSITIVE_INFINITY;
      const until = Date.now() + 30_000;
      while (rss > bound && Date.now() < until) {
        await new Promise((r) => setTimeout(r, 1_000));
        rss = vmMb(pid(), "VmRSS") ?? Number.POSITIVE_INFINITY;
      }
      console.log(
        `[hostile smsc] RSS of Node-RED: ${rssStart.toFixed(1)} MB at the start, ${peak.toFixed(1)} MB at the flood's peak, ` +
          `${rss.toFixed(1)} MB after it; bound ${bound.toFixed(1)} MB (start + ${RSS_GROWTH_BOUND_MB} MB)`,
      );
      assert.ok(rss <= bound, `RSS ${rss.toFixed(1)} MB after the flood, above the bound ${bound.toFixed(1)} MB`);
    });
  });

  test("Node-RED stayed up, and no secret reached its log", () => {
    assert.equal(bridge.red.process.exitCode, null, "Node-RED still runs");
    assert.equal(bridge.red.process.signalCode, null);
    const text = log();
    assert.ok(!text.includes(SMPP_PASSWORD), "the SMPP password is not in the log");
    assert.ok(!text.includes(AUTH.split(" ")[1]), "RapidPro's Authorization value is not in the log");
    assert.doesNotMatch(text, /uncaught|TypeError|ReferenceError|RangeError/i);
    // Every peer value reached the log escaped: no control character but the line ends.
    // eslint-disable-next-line no-control-regex
    const raw = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.exec(text);
    assert.equal(raw, null, `a raw control character in the log at ${raw?.index}: ${JSON.stringify(text.slice((raw?.index ?? 0) - 80, (raw?.index ?? 0) + 20))}`);
    assert.doesNotMatch(text, /^\[(warn|error)\] (forged|x)/m, "no forged log line");
  });
});
