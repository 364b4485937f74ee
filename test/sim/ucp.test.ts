/**
 * The UCP/EMI SMSC simulator, checked with frames written out literally and a plain socket
 * (not our session), so the session tests rest on a peer that is right by itself. Kannel's
 * own client checks it too: test/e2e/kannel-emi.test.ts.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as net from "node:net";
import path from "node:path";
import { FrameReader, encodeFrame, type Frame } from "../../lib/ucp/frame";
import { fieldsOf } from "../../lib/ucp/operations";
import { startUcpSmsc, type UcpSim } from "../../sim/ucp";
import { waitFor } from "../helpers/wait";

/** "PWD = password as IRA hex": `secret` → 736563726574, as Kannel logged in (§2.8). */
const LOGIN = "00/00052/O/60/12345/6/5/1/736563726574//0100//////D5";

interface Raw {
  /** Frames received, in order. */
  frames: Frame[];
  send(text: string): void;
  sendFrame(frame: Frame): void;
  next(match: (f: Frame) => boolean, what: string): Promise<Frame>;
  closed: Promise<void>;
  end(): void;
}

async function raw(sim: UcpSim): Promise<Raw> {
  const socket = net.connect({ host: "127.0.0.1", port: sim.port });
  await new Promise((resolve) => socket.once("connect", resolve));
  const reader = new FrameReader();
  const frames: Frame[] = [];
  socket.on("data", (chunk) => {
    for (const d of reader.push(chunk)) {
      assert.ok(d.ok, d.ok ? "" : d.reason);
      if (d.ok) frames.push(d.frame);
    }
  });
  const closed = new Promise<void>((resolve) => socket.once("close", () => resolve()));
  return {
    frames,
    send: (text) => void socket.write(`\x02${text}\x03`, "latin1"),
    sendFrame: (frame) => void socket.write(encodeFrame(frame)),
    async next(match, what) {
      await waitFor(() => frames.some(match), what);
      const at = frames.findIndex(match);
      return frames.splice(at, 1)[0];
    },
    closed,
    end: () => socket.destroy(),
  };
}

const isResult = (ot: number) => (f: Frame) => f.direction === "R" && f.ot === ot;

describe("UCP simulator", () => {
  test("§2.8 Kannel's login frame is accepted with `A//`; a wrong password gets `N/07`", async () => {
    const sim = await startUcpSmsc({ credentials: { username: "12345", password: "secret" } });
    const good = await raw(sim);
    const bad = await raw(sim);
    try {
      good.send(LOGIN);
      assert.deepEqual((await good.next(isResult(60), "the login result")).fields, ["A", ""]);
      bad.send("00/00052/O/60/12345/6/5/1/736563726575//0100//////D6");
      assert.deepEqual((await bad.next(isResult(60), "the refusal")).fields, ["N", "07", ""]);
      assert.equal(sim.counters.logins, 1);
      assert.equal(sim.counters.loginsRefused, 1);
    } finally {
      good.end();
      bad.end();
      await sim.close();
    }
  });

  test("before login an OT 51 is refused `N/04`; after it, spec 5.3's submit gets `A//<ADC>:<SCTS>/` and a notification follows", async () => {
    const sim = await startUcpSmsc({ notifyDelayMs: 10, notifyOutcome: "failed" });
    const c = await raw(sim);
    try {
      // Spec example 5.3 asks NT 4 (buffered only); with outcome "failed" (ND) it gets none. Ours asks NT 3.
      const submit = "18/00113/O/51/012345/09876//1/1920870340125000/4/0539//////3012961212//////3//4D657373616765203531/////////////CD";
      c.send(submit);
      assert.deepEqual((await c.next(isResult(51), "the refusal")).fields.slice(0, 2), ["N", "04"]);
      c.send(LOGIN);
      await c.next(isResult(60), "the login");
      c.send(submit);
      const ack = fieldsOf(await c.next(isResult(51), "the result"));
      assert.match(ack.SM, /^012345:\d{12}$/);
      c.sendFrame({ trn: 19, direction: "O", ot: 51, fields: ["012345", "09876", "", "1", "", "3", ...Array(12).fill(""), "3", "", "4869", ...Array(12).fill("")] });
      const second = fieldsOf(await c.next(isResult(51), "the second result"));
      assert.notEqual(second.SM, ack.SM, "SCTS unique per recipient");
      const note = await c.next((f) => f.direction === "O" && f.ot === 53, "the notification");
      const n = fieldsOf(note);
      assert.equal(`${n.OADC}:${n.SCTS}`, second.SM, "§2.2 OT 53 OAdC = original recipient, SCTS = the submit's");
      assert.equal(n.DST, "2");
      assert.equal(n.RSN, "107");
      c.sendFrame({ trn: note.trn, direction: "R", ot: 53, fields: ["A", "", ""] });
      await waitFor(() => sim.counters.answers.positive === 1, "the answer counted");
    } finally {
      c.end();
      await sim.close();
    }
  });

  test("OT 31 answered `A//`; faults: ignored alerts, slow and negative results", async () => {
    const sim = await startUcpSmsc();
    const c = await raw(sim);
    try {
      c.send(LOGIN);
      await c.next(isResult(60), "login");
      c.send("02/00035/O/31/0234765439845/0139/A0");
      assert.deepEqual((await c.next(isResult(31), "alert result")).fields, ["A", ""]);
      sim.setFault({ negativeNext: { code: "24", count: 1 } });
      c.sendFrame({ trn: 3, direction: "O", ot: 51, fields: ["1", "2", "", "", "", "", ...Array(12).fill(""), "3", "", "41", ...Array(12).fill("")] });
      assert.deepEqual((await c.next(isResult(51), "negative")).fields.slice(0, 2), ["N", "24"]);
      sim.setFault({ ignoreAlerts: true });
      c.send("02/00035/O/31/0234765439845/0139/A0");
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(c.frames.filter(isResult(31)).length, 0);
      assert.equal(sim.counters.alerts, 2);
    } finally {
      c.end();
      await sim.close();
    }
  });

  test("MO: a long UCS-2 text as OT 52 parts with XSer UDH + DCS, MT 4, NB in bits; redelivered until `A`", async () => {
    const sim = await startUcpSmsc({ redeliverMs: 20 });
    const c = await raw(sim);
    try {
      c.send(LOGIN);
      await c.next(isResult(60), "login");
      const answers = sim.sendMo({ from: "+250788000001", to: "2020", text: "ж".repeat(100), reverse: true });
      const first = await c.next((f) => f.ot === 52, "part");
      const f = fieldsOf(first);
      assert.equal(f.MT, "4");
      // XSer 01 (UDH: ref, 2 parts, part 2 first because reversed) then XSer 02 DCS 08.
      assert.match(f.XSER, /^0106050003[0-9A-F]{2}0202020108$/);
      assert.equal(Number(f.NB), (f.MSG.length / 2) * 8);
      assert.equal(f.OTOA, "1139");
      c.sendFrame({ trn: first.trn, direction: "R", ot: 52, fields: ["N", "04", ""] });
      const again = await c.next((x) => x.ot === 52, "the redelivery");
      assert.deepEqual(again.fields, first.fields);
      c.sendFrame({ trn: again.trn, direction: "R", ot: 52, fields: ["A", "", ""] });
      const last = await c.next((x) => x.ot === 52, "part 1");
      c.sendFrame({ trn: last.trn, direction: "R", ot: 52, fields: ["A", "", ""] });
      assert.deepEqual(await answers, ["A", "A"]);
      assert.equal(sim.counters.redeliveries, 1);
    } finally {
      c.end();
      await sim.close();
    }
  });

  test("§2.6 \"TRN space 00–99 ⇒ at most 100 outstanding operations\": more OT 53 than that wait for a free TRN", async () => {
    // Before the window, the 101st operation looked for a free TRN forever, in a synchronous loop.
    const sim = await startUcpSmsc({ answerTimeoutMs: 30_000 });
    const c = await raw(sim);
    try {
      c.send(LOGIN);
      await c.next(isResult(60), "login");
      const record = { recipient: "250788000001", scts: "010125120000" };
      const answers = Promise.all(Array.from({ length: 130 }, () => sim.sendNotification(record, "delivered")));
      await waitFor(() => c.frames.filter((f) => f.ot === 53).length >= 100, "100 notifications");
      await new Promise((r) => setTimeout(r, 100));
      const first = c.frames.filter((f) => f.ot === 53);
      assert.equal(first.length, 100, "no more than 100 unanswered");
      assert.equal(new Set(first.map((f) => f.trn)).size, 100, "each with its own TRN");
      for (const f of first.slice(0, 40)) c.sendFrame({ trn: f.trn, direction: "R", ot: 53, fields: ["A", "", ""] });
      await waitFor(() => c.frames.filter((f) => f.ot === 53).length >= 130, "the 30 that waited");
      const rest = c.frames.filter((f) => f.ot === 53).slice(100);
      const inFlight = new Set(first.slice(40).map((f) => f.trn));
      assert.ok(rest.every((f) => !inFlight.has(f.trn)), "no TRN used twice at once");
      for (const f of [...first.slice(40), ...rest]) c.sendFrame({ trn: f.trn, direction: "R", ot: 53, fields: ["A", "", ""] });
      assert.deepEqual(new Set(await answers), new Set(["A"]));
    } finally {
      c.end();
      await sim.close();
    }
  });

  test("a result after its operation's answer timeout is ignored, never read as the answer of a later operation with the same TRN", async () => {
    // Long enough that the 99 prompt answers below never time out on a loaded machine.
    const sim = await startUcpSmsc({ answerTimeoutMs: 2_000 });
    const c = await raw(sim);
    try {
      c.send(LOGIN);
      await c.next(isResult(60), "login");
      const record = { recipient: "250788000001", scts: "010125120000" };
      const late = sim.sendNotification(record, "delivered");
      const unanswered = await c.next((f) => f.ot === 53, "the notification left unanswered");
      assert.equal(await late, "none");
      // 99 more, answered at once: the TRNs go round to the unanswered one's.
      for (let i = 0; i < 99; i++) {
        const answer = sim.sendNotification(record, "delivered");
        const f = await c.next((x) => x.ot === 53, `notification ${i}`);
        c.sendFrame({ trn: f.trn, direction: "R", ot: 53, fields: ["A", "", ""] });
        assert.equal(await answer, "A");
      }
      const next = sim.sendNotification(record, "failed");
      const f = await c.next((x) => x.ot === 53, "the 101st");
      assert.notEqual(f.trn, unanswered.trn, "the unanswered TRN is not used again while its result may still come");
      c.sendFrame({ trn: unanswered.trn, direction: "R", ot: 53, fields: ["A", "", ""] });
      await waitFor(() => sim.counters.lateAnswers === 1, "the late result counted");
      assert.equal(await next, "none", "the 101st, never answered, is not taken as answered");
    } finally {
      c.end();
      await sim.close();
    }
  });

  test("an OT 51 whose connection is gone before its result is due is not accepted (as sim/smsc.ts); one answered at once is", async () => {
    const sim = await startUcpSmsc({ notifyOutcome: null });
    const submit = (trn: number) => ({ trn, direction: "O" as const, ot: 51, fields: ["012345", "09876", "", "1", "", "3", ...Array(12).fill(""), "3", "", "4869", ...Array(12).fill("")] });
    const c = await raw(sim);
    try {
      c.send(LOGIN);
      await c.next(isResult(60), "the login");
      c.sendFrame(submit(1));
      assert.match(fieldsOf(await c.next(isResult(51), "the result")).SM, /^012345:\d{12}$/);
      assert.equal(sim.counters.accepted, 1);
      assert.equal(sim.submitted[0].connection, 1);
      sim.setFault({ responseDelayMs: 200 });
      c.sendFrame(submit(2));
      await waitFor(() => sim.counters.submits === 2, "the second submit read");
      c.end();
      await c.closed;
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(sim.counters.accepted, 1, "the submit whose result could not be written was not accepted");
      assert.equal(sim.counters.inFlight, 0);
    } finally {
      c.end();
      await sim.close();
    }
  });

  test("keepSubmitted false answers and counts submits without keeping them (the benchmark's long runs)", async () => {
    const sim = await startUcpSmsc({ keepSubmitted: false, notifyOutcome: null });
    const c = await raw(sim);
    let events = 0;
    sim.on("submit", () => events++);
    try {
      c.send(LOGIN);
      await c.next(isResult(60), "the login");
      c.sendFrame({ trn: 1, direction: "O", ot: 51, fields: ["012345", "09876", "", "1", "", "3", ...Array(12).fill(""), "3", "", "4869", ...Array(12).fill("")] });
      assert.match(fieldsOf(await c.next(isResult(51), "the result")).SM, /^012345:\d{12}$/);
      assert.equal(sim.counters.accepted, 1);
      assert.equal(events, 1);
      assert.equal(sim.submitted.length, 0);
    } finally {
      c.end();
      await sim.close();
    }
  });

  test("an unreadable frame from the client closes its connection", async () => {
    const sim = await startUcpSmsc();
    const c = await raw(sim);
    const errors: string[] = [];
    sim.on("protocol-error", (reason: string) => errors.push(reason));
    try {
      c.send("00/00019/R/60/A//00");
      await c.closed;
      assert.match(errors[0], /checksum 00 is wrong/);
    } finally {
      await sim.close();
    }
  });
});

test("rapidpro-sms-sim ucp: prints its address and each submit", async () => {
  const cli = path.resolve(__dirname, "..", "..", "sim", "cli.js");
  const child = spawn(process.execPath, [cli, "ucp", "--port", "0", "--notify", "none"], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (out += d.toString()));
  try {
    await waitFor(() => /ucp:\/\/127\.0\.0\.1:\d+/.test(out), "the address", 10_000);
    const port = Number(/ucp:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const socket = net.connect({ host: "127.0.0.1", port });
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(`\x02${LOGIN}\x03`);
    socket.write(encodeFrame({ trn: 1, direction: "O", ot: 51, fields: ["250788123123", "2020", "", "", "", "", ...Array(12).fill(""), "3", "", "4869", ...Array(12).fill("")] }));
    await waitFor(() => /OT 51 to 250788123123 -> 250788123123:\d{12}/.test(out), "the submit line", 10_000);
    socket.destroy();
  } finally {
    child.kill("SIGTERM");
  }
});
