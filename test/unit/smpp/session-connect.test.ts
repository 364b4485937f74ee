/**
 * The session against the SMSC simulator on 127.0.0.1: binds, reconnects, keep-alive,
 * hostile input, automatic answers, TLS and graceful close.
 */
import { test, describe } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as smpp from "smpp";
import { SmppSession, reconnectDelay, type BindMode } from "../../../lib/smpp/session";
import { startSmsc } from "../../../sim/smsc";
import { PASSWORD, SYSTEM_ID, bound, params, rig, waitFor } from "./session-fixtures";

describe("bind modes", () => {
  const cases: Array<{ mode: BindMode; binds: Record<string, number>; canSubmit: boolean }> = [
    { mode: "transceiver", binds: { transceiver: 1, transmitter: 0, receiver: 0 }, canSubmit: true },
    { mode: "transmitter", binds: { transceiver: 0, transmitter: 1, receiver: 0 }, canSubmit: true },
    { mode: "receiver", binds: { transceiver: 0, transmitter: 0, receiver: 1 }, canSubmit: false },
    { mode: "transmitter+receiver", binds: { transceiver: 0, transmitter: 1, receiver: 1 }, canSubmit: true },
  ];
  for (const c of cases) {
    test(`${c.mode}: binds ${JSON.stringify(c.binds)}, unbinds every link on close`, async () => {
      const r = await rig({ mode: c.mode });
      try {
        await bound(r);
        assert.deepEqual(r.sim.counters.binds, c.binds);
        assert.equal(r.session.status.mode, c.mode);
        const outcome = await r.session.submit(params(1));
        assert.equal(outcome.ok, c.canSubmit, JSON.stringify(outcome));
        if (!outcome.ok) assert.equal(outcome.error.code, "NOT_TRANSMITTER");
        const links = c.mode === "transmitter+receiver" ? 2 : 1;
        await r.session.close();
        assert.equal(r.sim.counters.unbinds, links);
        await waitFor(() => r.sim.counters.openConnections === 0, "every connection to close");
        assert.equal(r.session.state, "closed");
      } finally {
        await r.close();
      }
    });
  }
});

describe("refused binds (Rapporto §1.5: 'Bind errors: 0x0F bad system_id, 0x0E bad password, 0x05 too many sessions, 0x0D IP not allowed')", () => {
  const cases: Array<{ name: string; systemId: string; password: string; refuse?: number; reason: RegExp }> = [
    { name: "wrong password", systemId: SYSTEM_ID, password: "wrong-" + PASSWORD, reason: /ESME_RINVPASWD \(0x0E\)/ },
    { name: "wrong system_id", systemId: "nobody", password: PASSWORD, reason: /ESME_RINVSYSID \(0x0F\)/ },
    { name: "too many sessions", systemId: SYSTEM_ID, password: PASSWORD, refuse: 0x05, reason: /ESME_RALYBND \(0x05\)/ },
    { name: "IP not allowed", systemId: SYSTEM_ID, password: PASSWORD, refuse: 0x0d, reason: /ESME_RBINDFAIL \(0x0D\)/ },
  ];
  for (const c of cases) {
    test(`${c.name}: a clear reason, retries with back-off, the password never shown`, async () => {
      const r = await rig({ systemId: c.systemId, password: c.password }, {}, false);
      if (c.refuse) r.sim.setFault({ refuseBind: c.refuse });
      r.session.start();
      try {
        await waitFor(() => r.sim.counters.bindsRefused >= 2, "two refused binds");
        const status = r.session.status;
        assert.match(status.lastError ?? "", c.reason);
        assert.match(status.lastError ?? "", /refused/);
        const everything = JSON.stringify([r.statuses, r.logs]);
        assert.ok(!everything.includes(PASSWORD), "the password appears in a status or log");
        assert.ok(r.statuses.some((s) => s.state === "reconnecting" && (s.retryInMs ?? 0) >= 50));
      } finally {
        await r.close();
      }
    });
  }
});

describe("reconnect: 'a fresh session object each time' (§9.1)", () => {
  test("after the SMSC drops the connection, the session binds again", async () => {
    const r = await rig();
    try {
      await bound(r);
      assert.equal(r.sim.drop(), 1);
      await waitFor(() => r.sim.counters.binds.transceiver === 2 && r.session.state === "bound", "a second bind");
      const reconnecting = r.statuses.find((s) => s.state === "reconnecting");
      assert.ok(reconnecting, "no reconnecting status");
      assert.match(reconnecting.lastError ?? "", /closed by the peer/);
      assert.equal(r.sim.counters.openConnections, 1);
      assert.equal((await r.session.submit(params(1))).ok, true);
    } finally {
      await r.close();
    }
  });

  // §1.4: "After any PDU parse error … the session sets _busy=true and never clears it …
  // a silent stall." §9.1: "Test: inject an oversized header, then require a rebind within 2 s."
  const hostile: Array<["oversize" | "short", RegExp]> = [
    ["oversize", /unreadable PDU.*too large/],
    ["short", /unreadable PDU/],
  ];
  for (const [kind, reason] of hostile) {
    test(`a hostile PDU (${kind}) destroys the session and it rebinds within 2 s`, async () => {
      const r = await rig();
      try {
        await bound(r);
        assert.equal(r.sim.sendHostile(kind), 1);
        const sent = Date.now();
        await waitFor(() => r.sim.counters.binds.transceiver === 2 && r.session.state === "bound", "a rebind", 2_000);
        assert.ok(Date.now() - sent < 2_000);
        assert.match(r.statuses.find((s) => s.state === "reconnecting")?.lastError ?? "", reason);
        assert.equal((await r.session.submit(params(1))).ok, true, "the new session does not stall");
      } finally {
        await r.close();
      }
    });
  }

  test("the back-off grows from 1 s to 60 s with jitter", () => {
    const o = { reconnectMinMs: 1_000, reconnectMaxMs: 60_000 };
    const cases: Array<[failures: number, random: number, expected: number]> = [
      [0, 0, 1_000], // after a bound session ended: [1 s, 2 s]
      [0, 1, 2_000],
      [1, 0, 1_000],
      [2, 0.5, 3_000], // [2 s, 4 s]
      [5, 0, 16_000], // [16 s, 32 s]
      [6, 1, 60_000], // capped
      [40, 0, 30_000], // [30 s, 60 s] at the cap
      [40, 1, 60_000],
    ];
    for (const [failures, random, expected] of cases) {
      assert.equal(reconnectDelay(failures, { ...o, random: () => random }), expected, `failures ${failures}, random ${random}`);
    }
  });
});

describe("liveness", () => {
  test("enquire_link without a response within the timeout ends the session (§1.4: 'Nothing checks that enquire_link_resp arrives')", async () => {
    const r = await rig({ enquireLinkMs: 100, enquireLinkTimeoutMs: 200 });
    try {
      await bound(r);
      r.sim.setFault({ ignoreEnquireLink: true });
      await waitFor(() => r.sim.counters.binds.transceiver >= 2, "a rebind after the enquire_link timeout");
      assert.match(r.statuses.find((s) => s.state === "reconnecting")?.lastError ?? "", /no response to enquire_link/);
    } finally {
      await r.close();
    }
  });

  test("an answered enquire_link keeps the session up", async () => {
    const r = await rig({ enquireLinkMs: 50, enquireLinkTimeoutMs: 200 });
    try {
      await bound(r);
      await waitFor(() => r.sim.counters.enquireLinks >= 5, "five enquire_links");
      assert.equal(r.sim.counters.binds.transceiver, 1);
    } finally {
      await r.close();
    }
  });

  test("inactivity timeout (Kannel connection-timeout, Jasmin trx_to): nothing received → reconnect", async () => {
    const r = await rig({ enquireLinkMs: 0, inactivityTimeoutMs: 300 });
    try {
      await bound(r);
      await waitFor(() => r.sim.counters.binds.transceiver >= 2, "a rebind after inactivity");
      assert.match(r.statuses.find((s) => s.state === "reconnecting")?.lastError ?? "", /nothing received for 300 ms/);
    } finally {
      await r.close();
    }
  });
});

describe("answers the SMSC by itself (§9.2: 'Answer enquire_link, deliver_sm and unbind automatically')", () => {
  const cases: Array<{ command: string; response: string; status: number }> = [
    { command: "enquire_link", response: "enquire_link_resp", status: 0 },
    // Kannel 'answers generic_nack for unknown commands'; a known one we do not serve gets its _resp
    { command: "query_sm", response: "query_sm_resp", status: 0x03 },
    { command: "data_sm", response: "data_sm_resp", status: 0x03 },
  ];
  for (const c of cases) {
    test(`${c.command} → ${c.response} with status ${c.status}`, async () => {
      const r = await rig();
      try {
        await bound(r);
        const response = await r.sim.request(c.command);
        assert.ok(response, "no response");
        assert.equal(response.command, c.response);
        assert.equal(response.command_status, c.status);
        assert.equal(r.session.state, "bound");
      } finally {
        await r.close();
      }
    });
  }

  test("an unknown command id → generic_nack ESME_RINVCMDID (PDU.response for 'unknown')", async () => {
    const r = await rig();
    try {
      await bound(r);
      const nack = new Promise<smpp.PDU>((resolve) => r.sim.once("response", resolve));
      // 0x00000999 is no SMPP command; a valid 16-octet header with sequence 7
      r.sim.sendRaw(Buffer.from([0, 0, 0, 16, 0, 0, 0x09, 0x99, 0, 0, 0, 0, 0, 0, 0, 7]));
      const pdu = await nack;
      assert.equal(pdu.command, "generic_nack");
      assert.equal(pdu.command_status, 0x03);
      assert.equal(pdu.sequence_number, 7);
      assert.equal(r.session.state, "bound");
    } finally {
      await r.close();
    }
  });

  test("unbind from the SMSC → unbind_resp, then a fresh bind", async () => {
    const r = await rig();
    try {
      await bound(r);
      const response = await r.sim.request("unbind");
      assert.equal(response?.command, "unbind_resp");
      assert.equal(response?.command_status, 0);
      await waitFor(() => r.sim.counters.binds.transceiver === 2 && r.session.state === "bound", "a rebind");
      assert.match(r.statuses.find((s) => s.state === "reconnecting")?.lastError ?? "", /the SMSC unbound/);
    } finally {
      await r.close();
    }
  });
});

describe("close", () => {
  test("while the SMSC is unreachable: resolves quickly, nothing left running", async () => {
    const sim = await startSmsc({});
    const port = sim.port;
    await sim.close();
    const session = new SmppSession({ host: "127.0.0.1", port, systemId: "a", password: "b", reconnectMinMs: 50, reconnectMaxMs: 100 });
    session.start();
    await waitFor(() => session.status.state === "reconnecting", "a failed connect");
    assert.match(session.status.lastError ?? "", /ECONNREFUSED/);
    const started = Date.now();
    await session.close();
    assert.ok(Date.now() - started < 15_000, "close took 15 s or more");
    assert.equal(session.state, "closed");
  });

  test("within 15 s even when the SMSC never answers unbind (§9.10: 'wait for unbind_resp (or time out)')", async () => {
    const r = await rig({ unbindTimeoutMs: 300 });
    try {
      await bound(r);
      r.sim.setFault({ ignoreUnbind: true });
      const started = Date.now();
      await r.session.close();
      assert.ok(Date.now() - started < 15_000);
      assert.equal(r.sim.counters.unbinds, 1);
      await waitFor(() => r.sim.counters.openConnections === 0, "the connection to close");
    } finally {
      await r.close();
    }
  });

  test("a submit still unanswered at close fails as temporary, never silently", async () => {
    const r = await rig({ drainTimeoutMs: 200, window: 1 });
    try {
      await bound(r);
      r.sim.setFault({ ignoreSubmits: true });
      const pending = r.session.submit(params(1));
      const queued = r.session.submit(params(2), { deadline: Date.now() + 60_000 });
      await waitFor(() => r.sim.counters.submits === 1, "the submit to arrive");
      await r.session.close();
      for (const outcome of await Promise.all([pending, queued])) {
        assert.equal(outcome.ok, false);
        if (!outcome.ok) {
          assert.equal(outcome.error.code, "CLOSED");
          assert.equal(outcome.error.temporary, true);
        }
      }
      const after = await r.session.submit(params(3));
      assert.ok(!after.ok && after.error.code === "CLOSED");
    } finally {
      await r.close();
    }
  });
});

describe("listeners cannot break the session", () => {
  test("status and log listeners that throw: the session still binds, reconnects and submits", async () => {
    const r = await rig({}, {}, false);
    r.session.on("status", () => {
      throw new Error("bug in a status listener");
    });
    r.session.on("log", () => {
      throw new Error("bug in a log listener");
    });
    r.session.start();
    try {
      await bound(r);
      r.sim.drop();
      await waitFor(() => r.sim.counters.binds.transceiver === 2 && r.session.state === "bound", "a rebind");
      assert.equal((await r.session.submit(params(1))).ok, true);
    } finally {
      await r.close();
    }
  });
});

describe("several sessions in one process stay independent", () => {
  test("dropping one SMSC does not disturb the other; the package's global encodings are untouched", async () => {
    const encodingBefore = smpp.encodings.default;
    const a = await rig();
    const b = await rig();
    try {
      await Promise.all([bound(a), bound(b)]);
      a.sim.drop();
      await waitFor(() => a.sim.counters.binds.transceiver === 2 && a.session.state === "bound", "A rebinds");
      assert.equal(b.sim.counters.binds.transceiver, 1);
      assert.ok(!b.statuses.some((s) => s.state === "reconnecting"));
      const [x, y] = await Promise.all([a.session.submit(params(1)), b.session.submit(params(2))]);
      assert.ok(x.ok && y.ok);
      assert.equal(smpp.encodings.default, encodingBefore);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe("TLS (§9.10: 'TLS verification on by default')", () => {
  let dir: string | undefined;
  let pem: { key: string; cert: string } | undefined;
  try {
    dir = mkdtempSync(join(tmpdir(), "smpp-tls-"));
    execFileSync("openssl", [
      "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
      "-addext", "subjectAltName=IP:127.0.0.1",
      "-keyout", join(dir, "key.pem"), "-out", join(dir, "cert.pem"),
    ], { stdio: "ignore" });
    pem = { key: readFileSync(join(dir, "key.pem"), "utf8"), cert: readFileSync(join(dir, "cert.pem"), "utf8") };
  } catch {
    pem = undefined;
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
  }
  const skip = pem ? false : "openssl is not available to make a test certificate";

  test("a self-signed SMSC certificate is refused by default", { skip }, async () => {
    const r = await rig({ tls: true }, { tls: pem });
    try {
      await waitFor(() => r.session.status.state === "reconnecting", "the TLS failure");
      assert.match(r.session.status.lastError ?? "", /self[- ]signed/i);
      assert.equal(r.sim.counters.binds.transceiver, 0);
    } finally {
      await r.close();
    }
  });

  test("with the SMSC's CA configured, the bind succeeds over TLS", { skip }, async () => {
    const r = await rig({ tls: { ca: pem?.cert } }, { tls: pem });
    try {
      await bound(r);
      assert.equal((await r.session.submit(params(1))).ok, true);
    } finally {
      await r.close();
    }
  });
});

