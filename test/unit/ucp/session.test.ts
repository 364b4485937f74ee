import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as net from "node:net";
import { UcpSession } from "../../../lib/ucp/session";
import { buildSubmit } from "../../../lib/ucp/submit";
import { TrnWindow } from "../../../lib/ucp/window";
import { HOSTILE_FRAMES } from "../../../sim/ucp";
import { selfSignedPem } from "../../helpers/self-signed";
import { PASSWORD, USERNAME, loggedIn, rig, waitFor } from "./session-fixtures";

const fields = (to = "+250788123123", text = "hello") => {
  const built = buildSubmit({ id: "1", to, from: "RapidPro", text });
  assert.ok(built.ok);
  return built.ok ? built.operations[0] : {};
};

describe("TrnWindow (§2.6 'TRN space 00–99 ⇒ at most 100 outstanding operations')", () => {
  test("offers TRNs 00..99 round, skips those in flight, refuses when full", () => {
    const w = new TrnWindow<string>(3);
    assert.deepEqual([w.offer("a"), w.offer("b"), w.offer("c"), w.offer("d")], [0, 1, 2, undefined]);
    assert.equal(w.complete(1), "b");
    assert.equal(w.offer("e"), 3);
    const big = new TrnWindow<number>(100);
    for (let i = 0; i < 100; i++) big.offer(i);
    assert.equal(big.full, true);
    big.complete(42);
    assert.equal(big.offer(100), 42, "the one free TRN");
    assert.throws(() => new TrnWindow(101), /1\.\.100/);
  });
});

describe("UCP session: login, submit, results", () => {
  test("§2.2 OT 60 login with the password as IRA hex, then OT 51 answered `A//ADC:SCTS/`", async () => {
    const r = await rig();
    try {
      await loggedIn(r);
      const outcome = await r.session.submit(fields());
      assert.equal(outcome.ok, true);
      if (outcome.ok) {
        assert.equal(outcome.recipient, "250788123123");
        assert.match(outcome.scts ?? "", /^\d{12}$/);
        assert.equal(outcome.messageId, `250788123123:${outcome.scts}`);
        assert.equal(outcome.attempts, 1);
      }
      assert.equal(r.sim.submitted[0].fields.OADC, "0ED2303C4D86CADF");
      assert.equal(r.sim.submitted[0].fields.OTOA, "5039");
    } finally {
      await r.close();
    }
  });

  test("a wrong password: 'login refused: error code 07 (Authentication failure)', retried with back-off, the password never said", async () => {
    const r = await rig({ password: "wrong-secret" });
    try {
      await r.session.start();
      await waitFor(() => r.sim.counters.loginsRefused >= 2, "two refused logins");
      assert.match(r.session.status.lastError ?? "", /login refused: error code 07 \(Authentication failure\)/);
      assert.equal(r.session.status.state === "reconnecting" || r.session.status.state === "connecting", true);
      const said = JSON.stringify([r.logs, r.statuses]);
      assert.ok(!said.includes("wrong-secret") && !said.includes(Buffer.from("wrong-secret").toString("hex").toUpperCase()));
    } finally {
      await r.close();
    }
  });

  const negatives = [
    { code: "24", temporary: false, text: /error code 24: Message too long/ },
    { code: "01", temporary: true, text: /error code 01: Checksum error/ },
    { code: "06", temporary: false, text: /AdC invalid/ },
  ];
  for (const n of negatives) {
    test(`§2.1 negative result 'N/${n.code}/': ${n.temporary ? "temporary" : "permanent"} by the error table`, async () => {
      const r = await rig();
      try {
        await loggedIn(r);
        r.sim.setFault({ negativeNext: { code: n.code, count: 1 } });
        const outcome = await r.session.submit(fields());
        assert.equal(outcome.ok, false);
        if (!outcome.ok) {
          assert.equal(outcome.errorCode, n.code);
          assert.equal(outcome.error.temporary, n.temporary);
          assert.match(outcome.error.text, n.text);
        }
      } finally {
        await r.close();
      }
    });
  }

  test("the window: at most `window` OT 51 in flight; 250 submits wrap TRN 99 → 00 and all are accepted", async () => {
    const r = await rig({ window: 7 });
    try {
      await loggedIn(r);
      r.sim.setFault({ responseDelayMs: 5 });
      const outcomes = await Promise.all(Array.from({ length: 250 }, (_, i) => r.session.submit(fields(`+2507880${String(i).padStart(5, "0")}`))));
      assert.equal(outcomes.filter((o) => o.ok).length, 250);
      assert.ok(r.sim.counters.maxInFlight <= 7, `max in flight ${r.sim.counters.maxInFlight}`);
      assert.ok(r.sim.counters.maxInFlight > 1, "more than one in flight: windowed, not stop-and-wait");
    } finally {
      await r.close();
    }
  });

  test("SCTS stays unique per recipient: two submits to one number in the same second get different keys", async () => {
    const r = await rig();
    try {
      await loggedIn(r);
      const [a, b] = await Promise.all([r.session.submit(fields()), r.session.submit(fields())]);
      assert.ok(a.ok && b.ok && a.messageId !== b.messageId);
    } finally {
      await r.close();
    }
  });

  test("a submit in flight when the SMSC drops the connection is sent again on a fresh connection", async () => {
    const r = await rig();
    try {
      await loggedIn(r);
      r.sim.setFault({ ignoreSubmits: true });
      const pending = r.session.submit(fields());
      await waitFor(() => r.sim.counters.submits === 1, "the first submit");
      r.sim.clearFaults();
      r.sim.drop();
      const outcome = await pending;
      assert.equal(outcome.ok, true);
      assert.equal(outcome.attempts, 2);
      assert.equal(r.sim.counters.logins, 2, "a fresh connection and login");
      assert.match(r.session.status.lastError ?? "", /closed by the peer/);
    } finally {
      await r.close();
    }
  });

  test("no result within the response timeout ends the connection; after maxAttempts the submit fails as temporary", async () => {
    const r = await rig({ responseTimeoutMs: 150, maxAttempts: 2 });
    try {
      await loggedIn(r);
      r.sim.setFault({ ignoreSubmits: true });
      const outcome = await r.session.submit(fields());
      assert.equal(outcome.ok, false);
      if (!outcome.ok) {
        assert.equal(outcome.error.code, "CONNECTION_LOST");
        assert.equal(outcome.error.temporary, true);
        assert.match(outcome.error.text, /sent 2 times; last: no result to submit OT 51 \(TRN \d\d\) within 150 ms/);
      }
    } finally {
      await r.close();
    }
  });

  for (const kind of Object.keys(HOSTILE_FRAMES) as Array<keyof typeof HOSTILE_FRAMES>) {
    test(`a hostile frame (${kind}) ends the connection with a reason; the session logs in again`, async () => {
      const r = await rig();
      try {
        await loggedIn(r);
        assert.equal(r.sim.sendHostile(kind), 1);
        await loggedIn(r, 2);
        assert.ok(r.logs.some((l) => /unreadable (frame|data) from the SMSC/.test(l)), r.logs.join("\n"));
        assert.equal((await r.session.submit(fields())).ok, true);
      } finally {
        await r.close();
      }
    });
  }

  test("§2.6 keep-alive: OT 31 with the 'my number' ADC; unanswered, it ends the connection", async () => {
    const r = await rig({ keepAliveMs: 40, responseTimeoutMs: 200, myNumber: "2020" });
    try {
      await loggedIn(r);
      await waitFor(() => r.sim.counters.alerts >= 2, "two alerts");
      r.sim.setFault({ ignoreAlerts: true });
      await loggedIn(r, 2);
      assert.ok(r.logs.some((l) => /no result to keep-alive OT 31/.test(l)));
    } finally {
      await r.close();
    }
  });

  test("a keep-alive that held the last TRN slot: the queued submit is sent as soon as its result comes", async () => {
    // Window 1: the OT 31 takes the only slot for 300 ms; the submit offered meanwhile must not
    // wait for another submit to wake the window (it waited for its deadline before).
    const r = await rig({ window: 1, keepAliveMs: 100 });
    try {
      await loggedIn(r);
      r.sim.setFault({ alertDelayMs: 300 });
      const alerts = r.sim.counters.alerts;
      await waitFor(() => r.sim.counters.alerts > alerts, "a keep-alive in flight");
      const outcome = await r.session.submit(fields(), { deadline: Date.now() + 3_000 });
      assert.ok(outcome.ok, JSON.stringify(outcome));
    } finally {
      await r.close();
    }
  });

  test("inactivity timeout: nothing received for the limit ends the connection", async () => {
    const r = await rig({ keepAliveMs: 0, inactivityTimeoutMs: 150 });
    try {
      await loggedIn(r);
      await loggedIn(r, 2);
      assert.ok(r.logs.some((l) => /nothing received for 150 ms/.test(l)));
    } finally {
      await r.close();
    }
  });

  test("throughput cap: submits wait on the token bucket and the status says throttled", async () => {
    const r = await rig({ throughput: 50, burst: 1 });
    try {
      await loggedIn(r);
      const outcomes = await Promise.all(Array.from({ length: 6 }, () => r.session.submit(fields())));
      assert.ok(outcomes.every((o) => o.ok));
      assert.ok(r.statuses.some((s) => s.throttled));
      assert.equal(r.session.status.throttled, false);
    } finally {
      await r.close();
    }
  });

  test("close() fails queued submits as temporary and ends in 'closed'", async () => {
    const r = await rig();
    await r.session.start();
    const pending = r.session.submit(fields(), { deadline: Date.now() + 60_000 });
    await r.close();
    const outcome = await pending;
    assert.ok(!outcome.ok && outcome.error.code === "CLOSED" && outcome.error.temporary);
    assert.equal(r.session.status.state, "closed");
  });

  test("an OT 51 field the table lacks, or a value with '/', is refused as permanent without being sent", async () => {
    const r = await rig();
    try {
      const outcome = await r.session.submit({ ADC: "1", FOO: "x" });
      assert.ok(!outcome.ok && outcome.error.code === "INVALID_OPERATION" && !outcome.error.temporary);
      const slash = await r.session.submit({ ADC: "1", MSG: "41/42" });
      assert.ok(!slash.ok && slash.error.code === "INVALID_OPERATION" && /cannot carry/.test(slash.error.text));
    } finally {
      await r.close();
    }
  });

  test("options: a window outside 1..100, a username a frame cannot carry, a non-IRA password are refused up front", () => {
    const make = (extra: object) => () => new UcpSession({ host: "h", port: 1, username: USERNAME, password: PASSWORD, ...extra });
    assert.throws(make({ window: 0 }), /1\.\.100/);
    assert.throws(make({ username: "a/b" }), /username/);
    assert.throws(make({ password: "pässwörd" }), (e: Error) => /password must be printable IRA/.test(e.message) && !e.message.includes("pässwörd"));
    assert.throws(make({ myNumber: "+44" }), /myNumber/);
  });
});

describe("TLS: verified by default, optional CA", () => {
  const pem = selfSignedPem();
  const skip = pem ? false : "openssl is not available to make a test certificate";

  test("a self-signed SMSC certificate is refused by default", { skip }, async () => {
    const r = await rig({ tls: true }, { tls: pem });
    try {
      await r.session.start();
      await waitFor(() => r.session.status.state === "reconnecting", "the TLS failure");
      assert.match(r.session.status.lastError ?? "", /self[- ]signed/i);
      assert.equal(r.sim.counters.logins, 0);
    } finally {
      await r.close();
    }
  });

  test("a CA that is not a certificate is a connection failure with a reason, not a crash", { skip }, async () => {
    const r = await rig({ tls: { ca: "not a certificate" } }, { tls: pem });
    try {
      await r.session.start();
      await waitFor(() => r.session.status.state === "reconnecting", "the failure");
      assert.ok(r.session.status.lastError);
    } finally {
      await r.close();
    }
  });

  test("with the SMSC's CA configured, login and submit work over TLS", { skip }, async () => {
    const r = await rig({ tls: { ca: pem?.cert } }, { tls: pem });
    try {
      await loggedIn(r);
      assert.equal((await r.session.submit(fields())).ok, true);
    } finally {
      await r.close();
    }
  });
});

describe("connecting: the dial's failures end it with a reason and are retried", () => {
  /** A session to `port` with short timers, its logs, and a close. */
  function dial(port: number, tls: boolean) {
    const session = new UcpSession({ host: "127.0.0.1", port, tls, username: USERNAME, password: PASSWORD, connectTimeoutMs: 150, reconnectMinMs: 50, reconnectMaxMs: 100, drainTimeoutMs: 200 });
    const logs: string[] = [];
    session.on("log", (l: { level: string; text: string }) => logs.push(`${l.level}: ${l.text}`));
    return { session, logs };
  }

  test("a peer that takes the TCP connection but never answers the TLS handshake: 'could not connect to host:port within N ms', then again", async () => {
    const silent = net.createServer((socket) => socket.on("error", () => undefined));
    await new Promise<void>((resolve) => silent.listen(0, "127.0.0.1", () => resolve()));
    const port = (silent.address() as net.AddressInfo).port;
    const d = dial(port, true);
    try {
      await d.session.start();
      await waitFor(() => d.logs.filter((l) => l.includes("could not connect")).length >= 2, "two connect timeouts");
      assert.equal(d.session.status.lastError, `could not connect to 127.0.0.1:${port} within 150 ms`);
      assert.ok(d.logs.every((l) => !l.includes(PASSWORD)));
    } finally {
      await d.session.close();
      silent.close();
    }
  });

  test("nothing listening on the port: 'connection error: ECONNREFUSED ...', then again", async () => {
    const closed = net.createServer();
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", () => resolve()));
    const port = (closed.address() as net.AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const d = dial(port, false);
    try {
      await d.session.start();
      await waitFor(() => d.logs.filter((l) => l.includes("ECONNREFUSED")).length >= 2, "two refused connections");
      assert.match(d.session.status.lastError ?? "", /^connection error: ECONNREFUSED connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
      assert.equal(d.session.status.state === "reconnecting" || d.session.status.state === "connecting", true);
    } finally {
      await d.session.close();
    }
  });
});
