import { test, describe, afterEach } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import * as tls from "node:tls";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Cimd2Session, type Cimd2SessionOptions, type Delivery, type SessionStatus } from "../../../lib/cimd2/session";
import { buildSubmit } from "../../../lib/cimd2/submit";
import { correlationKey } from "../../../lib/cimd2/report";
import { encodePacket, PacketReader } from "../../../lib/cimd2/packet";
import { startCimd2Sim, type Cimd2SimOptions } from "../../../sim/cimd2";
import { waitFor } from "../../helpers/wait";

const PASSWORD = "s3cr3t-pw";
const cleanups: Array<() => Promise<unknown>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function setup(simOptions: Cimd2SimOptions = {}, sessionOptions: Partial<Cimd2SessionOptions> = {}) {
  const sim = await startCimd2Sim({ credentials: { username: "user", password: PASSWORD }, reportDelayMs: 20, ...simOptions });
  cleanups.push(() => sim.close());
  const session = new Cimd2Session({ host: "127.0.0.1", port: sim.port, username: "user", password: PASSWORD, reconnectMinMs: 20, reconnectMaxMs: 100, random: () => 0.5, ...sessionOptions });
  const logs: string[] = [];
  const statuses: SessionStatus[] = [];
  const faults: string[] = [];
  const deliveries: Delivery[] = [];
  session.on("log", (l: { text: string }) => logs.push(l.text));
  session.on("status", (s: SessionStatus) => statuses.push(s));
  session.on("fault", (f: string) => faults.push(f));
  cleanups.push(() => session.close());
  return { sim, session, logs, statuses, faults, deliveries };
}

function parts(text: string, extra = {}) {
  const built = buildSubmit({ id: "1", to: "+46701234567", from: "12345", text }, extra);
  assert.ok(built.ok);
  return built.packets;
}

describe("Cimd2Session against the simulator", () => {
  test("logs in, submits, gets the (060, 021) key and a status report it answers only on respond()", async () => {
    const { sim, session } = await setup();
    const reports: Delivery[] = [];
    session.on("delivery", (d: Delivery) => reports.push(d));
    session.start();
    const outcome = await session.submit(parts("hello @ world")[0]);
    assert.ok(outcome.ok);
    assert.equal(outcome.destination, "+46701234567");
    assert.equal(outcome.key, correlationKey(sim.submitted[0].timestamp, "+46701234567"));
    assert.equal(sim.submitted[0].text, "hello @ world");
    await waitFor(() => reports.length === 1, "the status report");
    const report = reports[0];
    assert.equal(report.kind, "report");
    assert.equal(report.kind === "report" && report.report.key, outcome.key);
    assert.equal(report.kind === "report" && report.report.outcome, "delivered");
    assert.equal(sim.counters.answered, 0, "no 73 before respond()");
    report.respond({ ok: true });
    await waitFor(() => sim.counters.answered === 1, "the 73");
  });

  test("a wrong password is refused with the SMSC's reason and never shown", async () => {
    const { session, statuses, logs } = await setup({}, { password: "wrong-one" });
    session.start();
    await waitFor(() => statuses.some((s) => s.state === "reconnecting"), "a refused login");
    const last = statuses.find((s) => s.state === "reconnecting");
    assert.match(last?.lastError ?? "", /login refused: error 100 \(invalid login\)/);
    assert.ok(!JSON.stringify([statuses, logs]).includes("wrong-one"));
  });

  test("error responses: 300 is permanent, 10 congestion pauses and the submit goes through after", async () => {
    const { sim, session, statuses } = await setup();
    session.start();
    sim.setFault({ errorNext: { code: 300, count: 1 } });
    const refused = await session.submit(parts("x")[0]);
    assert.equal(refused.ok, false);
    assert.deepEqual(!refused.ok && { code: refused.error.code, temporary: refused.error.temporary }, { code: 300, temporary: false });
    sim.setFault({ errorNext: { code: 10, count: 1 } });
    const later = await session.submit(parts("y")[0]);
    assert.ok(later.ok, "accepted after the congestion pause");
    assert.ok(statuses.some((s) => s.throttled), "the session showed it was throttled");
    assert.equal(sim.counters.submits, 1);
  });

  test("a submit in flight when the connection drops is sent again on the next connection", async () => {
    const { sim, session } = await setup();
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    sim.setFault({ ignoreSubmits: true });
    const pending = session.submit(parts("again")[0]);
    await waitFor(() => session.status.inFlight === 1, "the submit in flight");
    sim.clearFaults();
    sim.dropConnections();
    const outcome = await pending;
    assert.ok(outcome.ok);
    assert.equal(outcome.attempts, 2);
    assert.equal(sim.counters.connections, 2, "a fresh connection");
    assert.equal(sim.counters.logins, 2);
  });

  test("no response within the response timeout ends the connection; the submit is resent", async () => {
    const { sim, session, statuses } = await setup({}, { responseTimeoutMs: 150 });
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    sim.setFault({ ignoreSubmits: true });
    const pending = session.submit(parts("slow")[0]);
    await waitFor(() => statuses.some((s) => /no response to submit message/.test(s.lastError ?? "")), "the timeout");
    sim.clearFaults();
    const outcome = await pending;
    assert.ok(outcome.ok);
  });

  test("noise between packets is ignored; garbage ends the connection as a fault and the session comes back", async () => {
    const { sim, session, faults } = await setup();
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    sim.sendNoise();
    assert.ok((await session.submit(parts("after noise")[0])).ok);
    assert.equal(session.status.faults, 0);
    assert.equal(sim.counters.connections, 1);
    sim.sendGarbage();
    await waitFor(() => faults.length === 1, "the fault report");
    assert.match(faults[0], /unreadable packet from the SMSC/);
    assert.ok((await session.submit(parts("after garbage")[0])).ok);
    assert.equal(sim.counters.connections, 2);
  });

  test("a request with a wrong checksum is answered NACK with its number (the SMSC sends it again)", async () => {
    const { sim, session } = await setup();
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    const nacks: number[] = [];
    sim.on("nack", (n: number) => nacks.push(n));
    const good = encodePacket({ op: 20, number: 8, params: [{ code: 21, value: "1" }, { code: 23, value: "2" }, { code: 33, value: "x" }] }).toString("latin1");
    sim.sendGarbage(Buffer.from(good.slice(0, -3) + "00\x03", "latin1"));
    await waitFor(() => nacks.length === 1, "the NACK");
    assert.equal(nacks[0], 8);
    assert.ok(session.status.faults >= 1);
  });

  test("MO: three UCS-2 parts out of order arrive with their UDH; a refused part is delivered again", async () => {
    // Long enough that a busy machine answers before the simulator gives up and resends.
    const { sim, session } = await setup({ redeliverMs: 1000 });
    const mos: Delivery[] = [];
    let refuseFirst = true;
    session.on("delivery", (d: Delivery) => {
      mos.push(d);
      if (refuseFirst) {
        refuseFirst = false;
        d.respond({ ok: false, text: "store down" });
      } else d.respond({ ok: true });
    });
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    const text = "Привет 😀 ".repeat(20);
    const answers = await sim.sendMo({ from: "+46701234567", to: "12345", text, order: [2, 0, 1] });
    assert.deepEqual(answers, ["70", "70", "70"]);
    assert.equal(mos.length, 4, "three parts, one of them twice");
    const seqs = mos.map((d) => (d.kind === "mo" ? d.message.concat?.seq : -1));
    assert.deepEqual(seqs, [3, 1, 2, 3]);
    assert.equal(sim.counters.refusedAnswers, 1);
  });

  test("with nobody listening a delivery is answered error 710, so the SMSC keeps it", async () => {
    const { sim, session } = await setup();
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    const [answer] = await sim.sendMo({ from: "+4670", to: "1", text: "hi" });
    assert.equal(answer, "70 error 710");
  });

  test("alive (op 40) that gets no answer ends the connection", async () => {
    const { sim, session, statuses } = await setup({}, { aliveIntervalMs: 50, responseTimeoutMs: 100 });
    sim.setFault({ ignoreAlive: true });
    session.start();
    await waitFor(() => statuses.some((s) => /no response to alive/.test(s.lastError ?? "")), "the alive timeout");
  });

  test("nothing received for the inactivity timeout ends the connection, and a fresh one is made", async () => {
    const { sim, session, statuses } = await setup({}, { aliveIntervalMs: 0, inactivityTimeoutMs: 150 });
    session.start();
    await waitFor(() => statuses.some((s) => /nothing received for 150 ms/.test(s.lastError ?? "")), "the inactivity timeout");
    await waitFor(() => sim.counters.logins >= 2, "a second login");
  });

  test("close() logs out with op 02 and fails what is still queued as temporary", async () => {
    const { sim, session } = await setup();
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    sim.setFault({ ignoreSubmits: true });
    const first = session.submit(parts("a")[0]);
    const second = session.submit(parts("b")[0]);
    await session.close();
    const [a, b] = await Promise.all([first, second]);
    assert.equal(a.ok || b.ok, false);
    assert.equal(!b.ok && b.error.temporary, true);
    assert.equal(sim.counters.logouts, 1);
    assert.equal(session.state, "closed");
  });

  test("a peer that vanishes and stays away: the session keeps retrying with back-off, never throws", async () => {
    const server = net.createServer((s) => s.destroy());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    const port = (server.address() as net.AddressInfo).port;
    const session = new Cimd2Session({ host: "127.0.0.1", port, username: "u", password: "p", reconnectMinMs: 10, reconnectMaxMs: 40 });
    const statuses: SessionStatus[] = [];
    session.on("status", (s: SessionStatus) => statuses.push(s));
    session.start();
    await waitFor(() => statuses.filter((s) => s.state === "reconnecting").length >= 3, "three reconnects");
    const outcome = await session.submit(parts("x")[0], { deadline: Date.now() + 50 });
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.temporary, true);
    await session.close();
    await new Promise<void>((r) => server.close(() => r()));
  });

  test("window 2: four submits in flight two at a time, each with its own (060, 021) key", async () => {
    const { sim, session } = await setup({}, { window: 2 });
    session.start();
    await waitFor(() => sim.loggedInPeers === 1, "login");
    sim.setFault({ responseDelayMs: 50 });
    const outcomes = await Promise.all(["a", "b", "c", "d"].map((t) => session.submit(parts(t)[0])));
    assert.ok(outcomes.every((o) => o.ok));
    const keys = new Set(outcomes.map((o) => (o.ok ? o.key : "")));
    assert.equal(keys.size, 4, "unique 060 per destination");
  });
});

/** A self-signed certificate for 127.0.0.1, or undefined without openssl. */
function selfSigned(): { key: string; cert: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), "cimd2-tls-"));
  try {
    const args = ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"];
    execFileSync("openssl", [...args, "-keyout", join(dir, "k.pem"), "-out", join(dir, "c.pem")], { stdio: "ignore" });
    return { key: readFileSync(join(dir, "k.pem"), "utf8"), cert: readFileSync(join(dir, "c.pem"), "utf8") };
  } catch {
    return undefined;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe("TLS: verified by default, with an optional CA", () => {
  const pem = selfSigned();
  const skip = pem ? false : "openssl is not available to make a test certificate";
  if (skip) console.log(`skipping the CIMD2 TLS tests: ${skip}`);

  /** TLS in front of the simulator, as a TLS-terminating SMSC would be. */
  async function tlsFront(sim: { port: number }) {
    const server = tls.createServer({ key: pem!.key, cert: pem!.cert }, (client) => {
      const inner = net.connect(sim.port, "127.0.0.1");
      client.pipe(inner);
      inner.pipe(client);
      client.on("error", () => inner.destroy());
      inner.on("error", () => client.destroy());
      client.on("close", () => inner.destroy());
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    return (server.address() as net.AddressInfo).port;
  }

  test("a self-signed SMSC certificate is refused by default", { skip }, async () => {
    const { sim } = await setup();
    const port = await tlsFront(sim);
    const tlsSession = new Cimd2Session({ host: "127.0.0.1", port, tls: true, username: "user", password: PASSWORD, reconnectMinMs: 20, reconnectMaxMs: 50 });
    const seen: SessionStatus[] = [];
    tlsSession.on("status", (s: SessionStatus) => seen.push(s));
    cleanups.push(() => tlsSession.close());
    tlsSession.start();
    await waitFor(() => seen.some((s) => s.state === "reconnecting"), "the TLS failure");
    assert.match(seen.find((s) => s.state === "reconnecting")?.lastError ?? "", /self[- ]signed/i);
    assert.equal(sim.counters.logins, 0);
  });

  test("trusted through the configured CA, the login and a submit go through", { skip }, async () => {
    const { sim } = await setup();
    const port = await tlsFront(sim);
    const tlsSession = new Cimd2Session({ host: "127.0.0.1", port, tls: { ca: pem!.cert }, username: "user", password: PASSWORD });
    cleanups.push(() => tlsSession.close());
    tlsSession.start();
    assert.ok((await tlsSession.submit(parts("over TLS")[0])).ok);
    assert.equal(sim.counters.logins, 1);
  });
});

describe("an SMSC written by hand (packets the simulator never sends)", () => {
  /** Answers the login and hands the test the socket and what the client sent. */
  async function bareSmsc() {
    const received: Array<{ op: number; number: number }> = [];
    let socket: net.Socket | undefined;
    const server = net.createServer((s) => {
      socket = s;
      const reader = new PacketReader();
      s.on("error", () => undefined);
      s.on("data", (chunk: Buffer) => {
        for (const e of reader.push(chunk)) {
          if (e.kind !== "packet") continue;
          received.push({ op: e.packet.op, number: e.packet.number });
          if (e.packet.op === 1) s.write(encodePacket({ op: 51, number: e.packet.number, params: [] }));
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    cleanups.push(() => new Promise<void>((r) => server.close(() => r())));
    const session = new Cimd2Session({ host: "127.0.0.1", port: (server.address() as net.AddressInfo).port, username: "u", password: "p" });
    cleanups.push(() => session.close());
    session.start();
    await waitFor(() => received.some((p) => p.op === 1) && socket !== undefined, "the login");
    return { session, received, send: (bytes: Buffer) => socket!.write(bytes) };
  }

  test("\"A repeated request number … is treated as a retransmission\" (§3.2): one delivery, answered again", async () => {
    const { session, received, send } = await bareSmsc();
    const deliveries: Delivery[] = [];
    session.on("delivery", (d: Delivery) => deliveries.push(d));
    const mo = encodePacket({ op: 20, number: 100, params: [{ code: 21, value: "2020" }, { code: 23, value: "4670" }, { code: 33, value: "once" }] });
    send(mo);
    send(mo);
    await waitFor(() => deliveries.length === 1, "the delivery");
    deliveries[0].respond({ ok: true });
    await waitFor(() => received.filter((p) => p.op === 70).length === 1, "the 70");
    send(mo);
    await waitFor(() => received.filter((p) => p.op === 70 && p.number === 100).length === 2, "the 70 again");
    assert.equal(deliveries.length, 1, "the repeat was not delivered twice");
  });

  test("an odd packet number from the SMSC (\"SMSC numbers are even\") is answered NACK", async () => {
    const { received, send } = await bareSmsc();
    send(encodePacket({ op: 40, number: 7, params: [] }));
    await waitFor(() => received.some((p) => p.op === 99 && p.number === 7), "the NACK");
  });

  test("op 03 from the SMSC is answered 53 with error 1 (unexpected operation)", async () => {
    const { received, send } = await bareSmsc();
    send(encodePacket({ op: 3, number: 2, params: [] }));
    await waitFor(() => received.some((p) => p.op === 53 && p.number === 2), "the 53");
  });
});
