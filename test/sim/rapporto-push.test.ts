/**
 * MO and DLR pushes from the Rapporto simulator to the partner side (lib/rapporto/receiver.ts)
 * behind a minimal HTTP server: source allow-list and X-Forwarded-For rules, MO duplicate
 * suppression and reply text, and receipts that overtake the MT reply.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Status } from "../../lib/contract";
import { AllowList } from "../../lib/net/allowlist";
import { RapportoClient } from "../../lib/rapporto/client";
import type { DlrPush } from "../../lib/rapporto/dlr";
import { moSignature, type MoOutcome, type MoPush, type PushAnswer } from "../../lib/rapporto/mo";
import { DlrReceiver, MoReceiver, type PushRequest } from "../../lib/rapporto/receiver";
import { MemoryStore } from "../../lib/store/memory";
import { startRapportoSim, type SimOptions } from "../../sim/rapporto";

/** An empty allow-list refuses every push (issue #14): these tests open it on purpose. */
const ANY = new AllowList("*");

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

/** Just enough HTTP to reach a receiver: query and form parameters, peer and X-Forwarded-For. */
async function endpoint(handle: (r: PushRequest) => Promise<{ answer: PushAnswer }>): Promise<string> {
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const params: Record<string, string> = Object.fromEntries(new URL(req.url ?? "/", "http://x").searchParams);
      for (const [k, v] of new URLSearchParams(Buffer.concat(chunks).toString("utf8"))) params[k] = v;
      void handle({ peer: req.socket.remoteAddress, forwardedFor: req.headers["x-forwarded-for"], params }).then(({ answer }) => {
        res.writeHead(answer.status, answer.contentType ? { "content-type": answer.contentType } : {}).end(answer.body);
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  cleanups.push(() => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/push`;
}

async function moSetup(options: Partial<ConstructorParameters<typeof MoReceiver>[0]>, sim: SimOptions, reply: (p: MoPush) => MoOutcome = () => ({ kind: "handed-on" })) {
  const emitted: MoPush[] = [];
  const receiver = new MoReceiver({ timeZone: "Europe/Moscow", allowed: ANY, ...options }, async (p) => {
    emitted.push(p);
    return reply(p);
  });
  const url = await endpoint((r) => receiver.handle(r));
  const s = await startRapportoSim({ ...sim, moUrl: url });
  cleanups.push(() => s.close());
  return { sim: s, emitted };
}

const MO = { clientId: "79161234567", message: "Привет +1 😀", connectorId: "50", serviceId: "login", receivedDate: "2024-05-01 13:00:00", shortNumber: "0000", messageId: "m-100", sum_sms: "1" };

describe("MO source addresses: single IPs and CIDR ranges, X-Forwarded-For only from named proxies", () => {
  const cases: { name: string; allowed: string; proxies?: string; pushFrom?: string; xff?: string; expected: number }[] = [
    { name: "allowed single IP", allowed: "127.0.0.1", expected: 204 },
    { name: "allowed CIDR range", allowed: "127.0.0.0/30", pushFrom: "127.0.0.2", expected: 204 },
    { name: "address outside the list: 403", allowed: "127.0.0.1", pushFrom: "127.0.0.2", expected: 403 },
    { name: "IPv6 entry does not admit an IPv4 peer", allowed: "::1", expected: 403 },
    { name: "X-Forwarded-For ignored from a peer that is not a named proxy", allowed: "192.0.2.0/24", xff: "192.0.2.7", expected: 403 },
    { name: "X-Forwarded-For believed from a named proxy", allowed: "192.0.2.0/24", proxies: "127.0.0.1", xff: "192.0.2.7", expected: 204 },
    { name: "named proxy forwarding a refused client", allowed: "192.0.2.0/24", proxies: "127.0.0.1", xff: "198.51.100.1", expected: 403 },
    { name: "client-written entry left of the real client is ignored", allowed: "192.0.2.0/24", proxies: "127.0.0.1", xff: "192.0.2.7, 198.51.100.1", expected: 403 },
    { name: "IPv6 client behind a named proxy", allowed: "2001:db8::/32", proxies: "127.0.0.1", xff: "2001:db8::42", expected: 204 },
    { name: "malformed X-Forwarded-For from a named proxy: 403", allowed: "0.0.0.0/0", proxies: "127.0.0.1", xff: "not-an-ip", expected: 403 },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.expected}`, async () => {
      const { sim, emitted } = await moSetup(
        { allowed: new AllowList(c.allowed), trustedProxies: c.proxies ? new AllowList(c.proxies) : undefined },
        { pushFrom: c.pushFrom, pushHeaders: c.xff ? { "x-forwarded-for": c.xff } : undefined },
      );
      const r = await sim.pushMo(MO);
      assert.equal(r.status, c.expected);
      assert.equal(emitted.length, c.expected === 204 ? 1 : 0, "a refused push is never emitted");
    });
  }
});

describe("MO push handling", () => {
  test("the MO contract, with receivedDate in the configured zone as ISO 8601", async () => {
    const { sim, emitted } = await moSetup({}, {});
    const r = await sim.pushMo(MO);
    assert.equal(r.status, 204);
    assert.equal(r.body, "", "\"204 = processed, no reply (body must be empty)\"");
    assert.deepEqual(emitted[0].mo, { from: "+79161234567", to: "0000", text: "Привет +1 😀", date: "2024-05-01T13:00:00+03:00" });
    assert.equal(emitted[0].params.connectorId, "50");
  });

  test("POST form push is read the same way", async () => {
    const { sim, emitted } = await moSetup({}, {});
    assert.equal((await sim.pushMo(MO, "POST")).status, 204);
    assert.equal(emitted[0].mo.text, "Привет +1 😀");
  });

  test("\"200 = body is sent to the subscriber as reply\", several replies separated by CR LF", async () => {
    const { sim } = await moSetup({}, {}, () => ({ kind: "reply", text: ["Спасибо!", "Line 1\nLine 2"] }));
    const r = await sim.pushMo(MO);
    assert.equal(r.status, 200);
    assert.equal(r.body, "Спасибо!\r\nLine 1\rLine 2");
    assert.match(String(r.headers["content-type"]), /text\/plain; charset=utf-8/);
  });

  test("a repeated messageId is answered with the first answer without emitting twice", async () => {
    const { sim, emitted } = await moSetup({}, {}, () => ({ kind: "reply", text: "Thanks" }));
    const first = await sim.pushMo(MO);
    const repeat = await sim.pushMo(MO);
    const other = await sim.pushMo({ ...MO, messageId: "m-101" });
    assert.deepEqual([first.status, first.body, repeat.status, repeat.body, other.status], [200, "Thanks", 200, "Thanks", 200]);
    assert.equal(emitted.length, 2);
  });

  test("not handed on: 5xx so Rapporto delivers it again, and the retry is emitted", async () => {
    let fail = true;
    const { sim, emitted } = await moSetup({}, {}, () => (fail ? { kind: "not-handed-on", reason: "RapidPro down" } : { kind: "handed-on" }));
    const first = await sim.pushMo(MO);
    fail = false;
    const retry = await sim.pushMo(MO);
    assert.deepEqual([first.status, retry.status], [503, 204]);
    assert.equal(emitted.length, 2);
  });

  test("Rapporto gives up waiting (its timeout) and pushes again: emitted once, the repeat gets the first answer", async () => {
    const emitted: MoPush[] = [];
    const receiver = new MoReceiver({ timeZone: "UTC", allowed: ANY }, async (p) => {
      emitted.push(p);
      await new Promise((r) => setTimeout(r, 400));
      return { kind: "handed-on" };
    });
    const url = await endpoint((r) => receiver.handle(r));
    const s = await startRapportoSim({ moUrl: url, pushTimeoutMs: 100 });
    cleanups.push(() => s.close());
    await assert.rejects(s.pushMo(MO), /push timed out/);
    // Rapporto pushes again later ("the service is marked down for 20 s"); here once the first has finished.
    await new Promise((r) => setTimeout(r, 500));
    const repeat = await s.pushMo(MO);
    assert.equal(repeat.status, 204);
    assert.equal(emitted.length, 1);
  });

  test("a flow that throws is a 5xx with a reason, not a crash", async () => {
    const receiver = new MoReceiver({ timeZone: "UTC", allowed: ANY }, async () => {
      throw new Error("flow exploded");
    });
    const h = await receiver.handle({ peer: "127.0.0.1", params: MO });
    assert.equal(h.answer.status, 503);
    assert.match(h.note ?? "", /flow exploded/);
  });

  const KEY = "hmac-k3y";
  const signatures: { name: string; hash?: string; expected: number }[] = [
    { name: "right hash", hash: moSignature(MO.clientId, MO.message, MO.messageId, KEY), expected: 204 },
    { name: "hash made with another key", hash: moSignature(MO.clientId, MO.message, MO.messageId, "other"), expected: 403 },
    { name: "no hash", expected: 403 },
  ];
  for (const s of signatures) {
    test(`signature check: ${s.name} → ${s.expected}, key never in the answer`, async () => {
      const { sim, emitted } = await moSetup({ signatureKey: KEY }, {});
      const r = await sim.pushMo(s.hash ? { ...MO, hash: s.hash } : MO);
      assert.equal(r.status, s.expected);
      assert.equal(emitted.length, s.expected === 204 ? 1 : 0);
      assert.ok(!r.body.includes(KEY));
    });
  }

  test("malformed push (no clientId): 400 with the reason, nothing emitted", async () => {
    const { sim, emitted } = await moSetup({}, {});
    const r = await sim.pushMo({ message: "x" });
    assert.deepEqual([r.status, r.body, emitted.length], [400, "missing clientId", 0]);
  });
});

describe("DLR pushes after a delay (http_status.rst)", () => {
  async function dlrSetup(sim: SimOptions, maxTries: number, handOn: (s: Status) => { ok: boolean; reason?: string } = () => ({ ok: true })) {
    const store = new MemoryStore();
    const statuses: Status[] = [];
    const unknown: DlrPush[] = [];
    const receiver = new DlrReceiver({ maxTries, allowed: ANY }, store, {
      status: async (s) => {
        const r = handOn(s);
        if (r.ok) statuses.push(s);
        return r;
      },
      unknown: (d) => unknown.push(d),
    });
    const url = await endpoint((r) => receiver.handle(r));
    const s = await startRapportoSim({ dlrRetryMs: 100, dlrDelayMs: 100, ...sim, dlrUrl: url });
    const client = new RapportoClient({ url: s.mtUrl, serviceId: "login", pass: "123", profile: { kind: "v5", method: "GET", output: "text" } });
    cleanups.push(() => s.close(), () => client.close(), () => store.close());
    return { sim: s, client, store, statuses, unknown };
  }

  test("status 5 with unifiedExtStatus: failed with the reason, for the RapidPro id in the store", async () => {
    const { sim, client, store, statuses } = await dlrSetup({ dlrFor: () => ({ status: "5", unifiedExtStatus: "8" }) }, 3);
    const out = await client.sendAndRecord({ id: "rp-1", to: "79161234567", from: "", text: "x" }, store);
    assert.ok(await sim.dlrsSettled());
    assert.deepEqual(statuses, [{ id: "rp-1", status: "failed", smscId: out.result.smscIds[0], reason: "bad or long-inactive number (unifiedExtStatus 8)" }]);
  });

  test("early DLR (overtakes the MT reply): answered 400, retried by Rapporto, then reported once", async () => {
    const { sim, client, store, statuses } = await dlrSetup({ dlrBeforeReply: true }, 20);
    const out = await client.sendAndRecord({ id: "rp-2", to: "79161234567", from: "", text: "x" }, store);
    assert.ok(await sim.dlrsSettled());
    const answers = sim.dlrAttempts.map((a) => a.answer);
    assert.equal(answers[0], 400, "the first push came before the store knew the id");
    assert.equal(answers.at(-1), 200);
    assert.deepEqual(statuses, [{ id: "rp-2", status: "delivered", smscId: out.result.smscIds[0] }]);
  });

  test("unknown after every try, with ptag: reported from ptag", async () => {
    const { sim, client, statuses, unknown } = await dlrSetup({}, 2);
    // Sent without recording the correlation: the store never learns the id.
    await client.send({ id: "rp-3", to: "79161234567", from: "", text: "x" });
    assert.ok(await sim.dlrsSettled());
    assert.deepEqual(sim.dlrAttempts.map((a) => a.answer), [400, 200]);
    assert.equal(statuses[0].id, "rp-3");
    assert.equal(unknown.length, 0);
  });

  test("unknown after every try, without ptag: second output, answered 200", async () => {
    const { sim, client, statuses, unknown } = await dlrSetup({}, 3);
    // An id that does not fit ptag's [0-9a-zA-Z-] is not sent as ptag.
    await client.send({ id: "rp_4", to: "79161234567", from: "", text: "x" });
    assert.ok(await sim.dlrsSettled());
    assert.deepEqual(sim.dlrAttempts.map((a) => a.answer), [400, 400, 200]);
    assert.equal(statuses.length, 0);
    assert.equal(unknown.length, 1);
  });

  test("hand-on failure: 500, Rapporto retries, and the status is reported when it succeeds", async () => {
    let failures = 2;
    const { sim, client, store, statuses } = await dlrSetup({}, 3, () => (failures-- > 0 ? { ok: false, reason: "RapidPro down" } : { ok: true }));
    await client.sendAndRecord({ id: "rp-5", to: "79161234567", from: "", text: "x" }, store);
    assert.ok(await sim.dlrsSettled());
    assert.deepEqual(sim.dlrAttempts.map((a) => a.answer), [500, 500, 200]);
    assert.equal(statuses.length, 1);
  });

  test("refused source: 403 and nothing emitted", async () => {
    const store = new MemoryStore();
    const statuses: Status[] = [];
    const receiver = new DlrReceiver({ maxTries: 1, allowed: new AllowList("10.0.0.0/8") }, store, { status: async (s) => (statuses.push(s), { ok: true }), unknown: () => undefined });
    cleanups.push(() => store.close());
    const h = await receiver.handle({ peer: "127.0.0.1", params: { transactionId: "1", status: "2", ptag: "x" } });
    assert.deepEqual([h.answer.status, h.kind, statuses.length], [403, "refused", 0]);
    assert.match(h.note ?? "", /127\.0\.0\.1 is not allowed/);
  });
});
