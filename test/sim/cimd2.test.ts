/** The CIMD2 SMSC simulator, driven by a bare client written with the codec (no session). */
import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { spawn } from "node:child_process";
import path from "node:path";
import { encodePacket, PacketReader, param, type DecodedPacket, type Parameter } from "../../lib/cimd2/packet";
import { buildSubmit } from "../../lib/cimd2/submit";
import { readDeliverMessage } from "../../lib/cimd2/deliver";
import { readStatusReport } from "../../lib/cimd2/report";
import { Reassembler } from "../../lib/sms/reassembly";
import { startCimd2Sim, type Cimd2Sim, type Cimd2SimOptions } from "../../sim/cimd2";
import { waitFor } from "../helpers/wait";

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

/** A bare CIMD2 client: sends packets with odd numbers, collects what comes back. */
async function client(sim: Cimd2Sim) {
  const socket = net.connect(sim.port, "127.0.0.1");
  await new Promise<void>((r) => socket.once("connect", () => r()));
  const reader = new PacketReader();
  const received: DecodedPacket[] = [];
  const other: string[] = [];
  socket.on("data", (chunk: Buffer) => {
    for (const e of reader.push(chunk)) {
      if (e.kind === "packet") received.push(e.packet);
      else other.push(e.kind === "noise" ? `noise ${e.bytes}` : `invalid ${e.reason}`);
    }
  });
  let next = 1;
  cleanups.push(() => socket.destroy());
  const send = (op: number, params: Parameter[] = []) => {
    const number = next;
    next = next + 2 > 255 ? 1 : next + 2;
    socket.write(encodePacket({ op, number, params }));
    return number;
  };
  const answer = async (op: number, number: number) => {
    await waitFor(() => received.some((p) => p.op === op && p.number === number), `op ${op} ${number}`);
    return received.find((p) => p.op === op && p.number === number) as DecodedPacket;
  };
  const login = async (user = "u", password = "p") => answer(51, send(1, [{ code: 10, value: user }, { code: 11, value: password }]));
  return { socket, received, other, send, answer, login };
}

async function sim(options: Cimd2SimOptions = {}) {
  const s = await startCimd2Sim({ credentials: { username: "u", password: "p" }, reportDelayMs: 10, ...options });
  cleanups.push(() => s.close());
  return s;
}

function submitParams(text: string, to = "+46701234567") {
  const built = buildSubmit({ id: "x", to, from: "2020", text });
  assert.ok(built.ok);
  return built.packets;
}

describe("CIMD2 simulator", () => {
  test("login check: a wrong password is answered 51 with 900:100, the right one with a plain 51", async () => {
    const smsc = await sim();
    const c = await client(smsc);
    assert.equal(param(await c.login("u", "nope"), 900), "100");
    assert.equal(param(await c.login(), 900), undefined);
    assert.equal(smsc.counters.refusedLogins, 1);
  });

  test("a submit before login is refused; after login each gets a unique 060 for the same destination", async () => {
    const smsc = await sim();
    const c = await client(smsc);
    assert.equal(param(await c.answer(53, c.send(3, submitParams("early")[0])), 900), "1");
    await c.login();
    const stamps: string[] = [];
    for (let i = 0; i < 5; i++) {
      const response = await c.answer(53, c.send(3, submitParams(`n${i}`)[0]));
      assert.equal(param(response, 21), "+46701234567");
      stamps.push(param(response, 60) ?? "");
    }
    assert.equal(new Set(stamps).size, 5);
    assert.ok(stamps.every((s) => /^\d{12}$/.test(s)));
  });

  test("a status report follows with the chosen outcome, 062 and the submit's (060, 021)", async () => {
    const smsc = await sim({ reportStatus: 3, reportErrorCode: 17 });
    const c = await client(smsc);
    await c.login();
    const response = await c.answer(53, c.send(3, submitParams("report me")[0]));
    await waitFor(() => c.received.some((p) => p.op === 23), "the report");
    const report = readStatusReport(c.received.find((p) => p.op === 23) as DecodedPacket);
    assert.ok(report.ok);
    assert.equal(report.report.timestamp, param(response, 60));
    assert.equal(report.report.destination, "+46701234567");
    assert.equal(report.report.outcome, "failed");
    assert.equal(report.report.errorCode, 17);
  });

  test("no report when the submit asked for none (056:0)", async () => {
    const smsc = await sim();
    const c = await client(smsc);
    await c.login();
    const built = buildSubmit({ id: "x", to: "+4670", from: "1", text: "quiet" }, { statusReport: false });
    assert.ok(built.ok);
    await c.answer(53, c.send(3, built.packets[0]));
    await c.answer(53, c.send(3, submitParams("loud")[0]));
    await waitFor(() => c.received.some((p) => p.op === 23), "the one report");
    assert.equal(smsc.counters.reports, 1);
  });

  test("MO: a long UCS-2 text as parts with a concatenation UDH, even packet numbers, in the order asked", async () => {
    const smsc = await sim();
    const c = await client(smsc);
    await c.login();
    const text = "Ёлка 🎄 ".repeat(20); // 320 octets: three parts of at most 134
    const answered = smsc.sendMo({ from: "+46701234567", to: "2020", text, order: [1, 2, 0] });
    await waitFor(() => c.received.filter((p) => p.op === 20).length === 3, "three parts");
    const parts = c.received.filter((p) => p.op === 20);
    assert.deepEqual(parts.map((p) => p.number), [0, 2, 4]);
    const reassembler = new Reassembler<number>({ onFlush: () => undefined });
    let joined = "";
    for (const p of parts) {
      const read = readDeliverMessage(p);
      assert.ok(read.ok && read.message.concat && read.message.alphabet);
      const added = reassembler.add({ from: read.message.from, to: read.message.to, concat: read.message.concat, octets: read.message.octets, alphabet: read.message.alphabet, context: p.number });
      if (added.status === "complete") joined = added.message.text;
      c.socket.write(encodePacket({ op: 70, number: p.number, params: [] }));
    }
    assert.equal(joined, text);
    assert.deepEqual(await answered, ["70", "70", "70"]);
  });

  test("faults: error responses, slow, ignored submits, noise and garbage reach the client", async () => {
    const smsc = await sim();
    const c = await client(smsc);
    await c.login();
    smsc.setFault({ errorNext: { code: 10, count: 1 } });
    assert.equal(param(await c.answer(53, c.send(3, submitParams("a")[0])), 900), "10");
    smsc.setFault({ responseDelayMs: 100 });
    assert.equal(param(await c.answer(53, c.send(3, submitParams("b")[0])), 900), undefined);
    smsc.setFault({ ignoreSubmits: true, responseDelayMs: 0 });
    const ignored = c.send(3, submitParams("c")[0]);
    assert.equal(param(await c.answer(90, c.send(40)), 900), undefined, "alive still answered");
    assert.ok(!c.received.some((p) => p.number === ignored));
    smsc.sendNoise();
    smsc.sendGarbage();
    await waitFor(() => c.other.length === 2, "noise and garbage");
    assert.match(c.other[0], /^noise \d+/);
    assert.match(c.other[1], /^invalid/);
  });

  test("drop: the connection is cut, an unanswered delivery is redelivered on the next login", async () => {
    const smsc = await sim({ redeliverMs: 200 });
    const first = await client(smsc);
    await first.login();
    const answered = smsc.sendMo({ from: "+4670", to: "2020", text: "keep me" });
    await waitFor(() => first.received.some((p) => p.op === 20), "the MO");
    smsc.dropConnections();
    const second = await client(smsc);
    await second.login();
    await waitFor(() => second.received.some((p) => p.op === 20), "the MO again");
    const again = second.received.find((p) => p.op === 20) as DecodedPacket;
    second.socket.write(encodePacket({ op: 70, number: again.number, params: [] }));
    assert.deepEqual(await answered, ["70"]);
  });

  // The kill -9 fault test hung on this: ~150 reports held while Node-RED was down went out at
  // once after the login, the 129th under the number of the still unanswered MO, which was
  // then never answered, retried nor resolved.
  const windows: Array<[number | undefined, number, string]> = [
    [undefined, 64, "the default window"],
    [1, 1, "one at a time"],
    [127, 127, "the most that leaves a number other than the last one free"],
  ];
  for (const [deliverWindow, limit, name] of windows) {
    test(`more deliveries than packet numbers (${name}): "a response carries the number of its request", so none is sent under a number still awaiting its response, and every one is answered`, async () => {
      const smsc = await sim({ deliverWindow });
      const c = await client(smsc);
      await c.login();
      const count = 200;
      const answers = Promise.all([
        smsc.sendMo({ from: "+4670", to: "2020", text: "the MO among the reports" }),
        ...Array.from({ length: count - 1 }, (_, i) => smsc.sendReport({ destination: `+4670${i}`, timestamp: "261205101010" }, 4)),
      ]);
      const deliveries = () => c.received.filter((p) => p.op === 20 || p.op === 23);
      let answered = 0;
      while (answered < count) {
        await waitFor(() => deliveries().length > answered, `delivery ${answered + 1} of ${count}`);
        const unanswered = deliveries().slice(answered);
        const numbers = unanswered.map((p) => p.number);
        assert.equal(new Set(numbers).size, numbers.length, `a number used twice while awaiting its response: ${numbers.join(",")}`);
        assert.ok(numbers.every((n) => n % 2 === 0), "SMSC numbers are even");
        assert.ok(unanswered.length <= limit, `${unanswered.length} unanswered, window ${limit}`);
        for (const p of unanswered) c.socket.write(encodePacket({ op: p.op + 50, number: p.number, params: [] }));
        answered += unanswered.length;
      }
      const [mo, ...reports] = await answers;
      assert.deepEqual(mo, ["70"]);
      assert.deepEqual(new Set(reports), new Set(["73"]));
      assert.equal(smsc.counters.answered, count);
    });
  }

  test("a delivery whose response does not come within answerTimeoutMs is sent again under a new number", async () => {
    const smsc = await sim({ redeliverMs: 50, answerTimeoutMs: 100 });
    const c = await client(smsc);
    await c.login();
    const answered = smsc.sendMo({ from: "+4670", to: "2020", text: "answer me late" });
    await waitFor(() => c.received.some((p) => p.op === 20), "the MO");
    // The first try goes unanswered; every later one is answered as it comes.
    const first = c.received.find((p) => p.op === 20) as DecodedPacket;
    assert.equal(smsc.held, 1, "held until acknowledged");
    const answeredPackets = new Set<DecodedPacket>([first]);
    c.socket.on("data", () => {
      for (const p of c.received.filter((p) => p.op === 20 && !answeredPackets.has(p))) {
        answeredPackets.add(p);
        c.socket.write(encodePacket({ op: 70, number: p.number, params: [] }));
      }
    });
    assert.deepEqual(await answered, ["70"]);
    const again = c.received.filter((p) => p.op === 20)[1];
    assert.notEqual(again.number, first.number);
    assert.ok(smsc.counters.redeliveries >= 1);
    assert.equal(smsc.counters.undelivered, 0);
    assert.equal(smsc.held, 0);
  });

  test("a request with a bad checksum is answered NACK; an unknown operation 98 with 900:1", async () => {
    const smsc = await sim();
    const c = await client(smsc);
    c.socket.write(Buffer.from("\x0240:001\t00\x03", "latin1"));
    await c.answer(99, 1);
    c.socket.write(encodePacket({ op: 17, number: 3, params: [] }));
    assert.equal(param(await c.answer(98, 3), 900), "1");
  });
});

describe("rapidpro-sms-sim cimd2", () => {
  test("prints the address, accepts a login and a submit, and takes fault commands on stdin", async () => {
    const cli = spawn(process.execPath, [path.resolve(__dirname, "..", "..", "sim", "cli.js"), "cimd2", "--port", "0", "--user", "u", "--password", "p"], { stdio: ["pipe", "pipe", "pipe"] });
    cleanups.push(() => cli.kill("SIGTERM"));
    let out = "";
    cli.stdout.on("data", (d: Buffer) => (out += d.toString()));
    cli.stderr.on("data", (d: Buffer) => (out += d.toString()));
    await waitFor(() => /cimd2:\/\/127\.0\.0\.1:\d+/.test(out), "the address");
    const port = Number(/cimd2:\/\/127\.0\.0\.1:(\d+)/.exec(out)![1]);
    const socket = net.connect(port, "127.0.0.1");
    cleanups.push(() => socket.destroy());
    await new Promise<void>((r) => socket.once("connect", () => r()));
    socket.write(encodePacket({ op: 1, number: 1, params: [{ code: 10, value: "u" }, { code: 11, value: "p" }] }));
    socket.write(encodePacket({ op: 3, number: 3, params: submitParams("from the CLI")[0] }));
    await waitFor(() => /submit to \+46701234567 -> 060 \d{12}: "from the CLI"/.test(out), "the submit line");
    cli.stdin.write("error 10 2\n");
    await waitFor(() => out.includes("ok: error 10 2"), "the fault command");
    assert.match(out, /login u: accepted/);
  });
});
