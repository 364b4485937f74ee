/**
 * The CIMD2 session against Kannel 1.4.5's test_cimd2 as the SMSC (aggregator-protocols.md
 * §3.8): login, submit, alive and logout as it logs them; a wrong password; its random
 * deliveries; and `--spew 1`, random binary that makes Kannel's own client abort, which our
 * session must survive, report and reconnect from.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import { Cimd2Session, type Delivery, type SessionStatus } from "../../lib/cimd2/session";
import { buildSubmit } from "../../lib/cimd2/submit";
import { kannelCimd2Unavailable, namespaceUnavailable, startTestCimd2, TEST_CIMD2, type TestCimd2 } from "../helpers/kannel-cimd2";
import { waitFor } from "../helpers/wait";

const unavailable = kannelCimd2Unavailable(TEST_CIMD2) ?? namespaceUnavailable();
if (unavailable) console.log(`skipping the test_cimd2 tests: ${unavailable}`);

const peers: TestCimd2[] = [];
const sessions: Cimd2Session[] = [];
after(async () => {
  for (const s of sessions) await s.close();
  for (const p of peers) await p.stop();
});

async function peerAndSession(args: string[], password = "bar", extra = {}) {
  const peer = await startTestCimd2(args);
  peers.push(peer);
  const session = new Cimd2Session({ host: "127.0.0.1", port: peer.port, username: "foo", password, reconnectMinMs: 100, reconnectMaxMs: 400, ...extra });
  sessions.push(session);
  const statuses: SessionStatus[] = [];
  const faults: string[] = [];
  session.on("status", (s: SessionStatus) => statuses.push(s));
  session.on("fault", (f: string) => faults.push(f));
  return { peer, session, statuses, faults };
}

describe("test_cimd2 (Kannel 1.4.5) as the SMSC", { skip: unavailable ?? false }, () => {
  test("login, submit, alive and logout, as test_cimd2 logs them", async () => {
    const { peer, session } = await peerAndSession(["--activity", "1", "--logging", "2"], "bar", { aliveIntervalMs: 200 });
    session.start();
    const built = buildSubmit({ id: "1", to: "+46701234567", from: "12345", text: "@$_ hello {x}" });
    assert.ok(built.ok);
    const outcome = await session.submit(built.packets[0]);
    assert.ok(outcome.ok, JSON.stringify(outcome));
    // "03 (→ `53` with `021` + `060` GMT timestamp…)" (§3.8)
    assert.match(outcome.timestamp, /^\d{12}$/);
    assert.equal(outcome.destination, "+46701234567");
    await waitFor(() => /RCV: Alive\?[\s\S]*SND: Alive\./.test(peer.output()), "an alive answered");
    await session.close();
    await waitFor(() => peer.output().includes("SND: Logout OK"), "the logout");
    const log = peer.output();
    assert.match(log, /RCV: Login user 'foo', password 'bar'\s+SND: Login OK/);
    assert.match(log, /RCV: Submit to \+46701234567\s+From: 12345\s+Text: _Oa\$_-- hello _XX\(x_XX\)\s+SND: Submit OK/);
  });

  test("a wrong password: \"51 with 900:100 901:invalid login\" ends in a refused login, not a crash", async () => {
    const { session, statuses } = await peerAndSession(["--activity", "1"], "wrong");
    session.start();
    await waitFor(() => statuses.some((s) => /login refused: error 100/.test(s.lastError ?? "")), "the refusal");
    await session.close();
  });

  test("activity 2: its random deliveries (random 8-bit bytes in 033) each reach the listener and are answered", async () => {
    const { session } = await peerAndSession(["--activity", "2", "--max", "3", "--logging", "2"]);
    const deliveries: Delivery[] = [];
    session.on("delivery", (d: Delivery) => {
      deliveries.push(d);
      d.respond({ ok: true });
    });
    session.start();
    await waitFor(() => deliveries.length >= 3, "three deliveries", 20_000);
    for (const d of deliveries) assert.ok(d.kind === "mo" || d.kind === "invalid", d.kind);
    await session.close();
  });

  test("--spew 1 (random binary): the session survives, reports the fault and reconnects", async () => {
    const { session, statuses, faults } = await peerAndSession(["--spew", "1"], "bar", { loginTimeoutMs: 2000 });
    session.start();
    await waitFor(() => faults.length >= 2 && statuses.filter((s) => s.state === "connecting").length >= 3, "faults and reconnects", 20_000);
    assert.ok(session.status.faults >= 2);
    assert.match(faults[0], /unreadable|refused/);
    const built = buildSubmit({ id: "1", to: "+4670", from: "1", text: "x" });
    assert.ok(built.ok);
    const outcome = await session.submit(built.packets[0], { deadline: Date.now() + 300 });
    assert.equal(outcome.ok, false);
    assert.equal(!outcome.ok && outcome.error.temporary, true, "never accepted by spew, and temporary");
    await session.close();
    assert.equal(session.state, "closed");
  });
});
