/**
 * The MT client (lib/rapporto/client.ts) against the Rapporto simulator on 127.0.0.1.
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MT } from "../../lib/contract";
import { RapportoClient, type ClientOptions } from "../../lib/rapporto/client";
import { partnerMsgIdFor } from "../../lib/rapporto/mt";
import type { Profile } from "../../lib/rapporto/profile";
import { MemoryStore } from "../../lib/store/memory";
import { startRapportoSim, type SimOptions } from "../../sim/rapporto";

const cleanups: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const c of cleanups.reverse()) await c();
});

async function setup(sim: SimOptions = {}, client: ClientOptions = {}, profile: Profile = { kind: "v5", method: "GET", output: "text" }) {
  const s = await startRapportoSim({ serviceId: "login", pass: "s3cret-pass", ...sim });
  const c = new RapportoClient({ url: profile.kind === "custom" ? s.legacyUrl : s.mtUrl, serviceId: "login", pass: "s3cret-pass", source: "Brand", profile }, client);
  cleanups.push(() => s.close(), () => c.close());
  return { sim: s, client: c };
}

const mt = (id: string, extra: Partial<MT> = {}): MT => ({ id, to: "+79161234567", from: "", text: "hello", ...extra });

function noSecret(value: unknown): void {
  assert.ok(!JSON.stringify(value).includes("s3cret"), "the password must not appear");
}

describe("MT text reaches the provider exactly (\"URLEncoded according to the UTF-8 coding\")", () => {
  const texts = [
    { name: "Cyrillic", text: "Привет, мир" },
    { name: "emoji", text: "ok 👍🏽 🇷🇺" },
    { name: "plus sign and time zone style text", text: "1+1=2 +03:00" },
    { name: "query characters", text: "a&b=c?d#e%f" },
    { name: "new lines", text: "line 1\nline 2\r\nline 3" },
  ];
  for (const profile of [
    { kind: "v5", method: "GET", output: "text" },
    { kind: "v5", method: "POST", output: "text" },
    { kind: "v5", method: "GET", output: "xml" },
  ] as Profile[]) {
    for (const t of texts) {
      test(`${profile.method} ${profile.kind === "v5" ? profile.output : ""}: ${t.name}`, async () => {
        const { sim, client } = await setup({}, {}, profile);
        const out = await client.send(mt("m-1", { text: t.text }));
        assert.equal(out.result.accepted, true);
        assert.deepEqual(sim.sent.map((m) => [m.message, m.clientId]), [[t.text, "+79161234567"]]);
        assert.deepEqual(out.result.smscIds, [sim.sent[0].id]);
      });
    }
  }

  test("custom profile against the legacy interface: msisdn/message/sn, reply ok;1;<id>", async () => {
    const { sim, client } = await setup({}, {}, {
      kind: "custom",
      method: "GET",
      params: { destination: "msisdn", text: "message", sender: "sn" },
      idPattern: "^ok;[^;]*;(?<id>\\d+)",
      successPattern: "^ok;",
    });
    const out = await client.send(mt("m-1", { text: "тест +" }));
    assert.deepEqual(out.result, { accepted: true, parts: 1, smscIds: [sim.sent[0].id] });
    assert.deepEqual([sim.sent[0].message, sim.sent[0].source], ["тест +", "Brand"]);
  });

  test("ptag carries the RapidPro id; scheduled delivery window and zone are sent", async () => {
    const { sim, client } = await setup();
    await client.send(mt("0b6e1f3c-2d4a-4c1e-9a55-5a8c2f0d9e11"), { sendingTime: "10_20", timeZone: "+03:00" });
    assert.deepEqual([sim.sent[0].ptag, sim.sent[0].sendingTime, sim.sent[0].timeZone], ["0b6e1f3c-2d4a-4c1e-9a55-5a8c2f0d9e11", "10_20", "+03:00"]);
  });
});

describe("MT reply codes from the provider", () => {
  const permanent = [
    { code: 400, body: "Missing parameter" },
    { code: 401, body: "Invalid password" },
    { code: 402, body: "Balance exhausted" },
    { code: 403, body: "Service inactive" },
    { code: 406, body: "Cannot send to this clientId" },
    { code: 409, body: "Duplicate blocked" },
    { code: 414, body: "Message too long" },
  ];
  for (const p of permanent) {
    test(`${p.code} is permanent: one request, reply text as reason`, async () => {
      const { sim, client } = await setup({}, { partnerMsgId: true });
      sim.failNext(p.code, p.body);
      const out = await client.send(mt("m-1"));
      assert.deepEqual(out.result, { accepted: false, parts: 0, smscIds: [], error: { code: p.code, text: p.body, temporary: false } });
      assert.equal(sim.requests.length, 1);
    });
  }

  test("wrong password: 401 from the simulator's own check, password not in the result", async () => {
    const s = await startRapportoSim({ pass: "right" });
    const c = new RapportoClient({ url: s.mtUrl, serviceId: "login", pass: "s3cret-wrong", profile: { kind: "v5", method: "GET", output: "text" } });
    cleanups.push(() => s.close(), () => c.close());
    const out = await c.send(mt("m-1"));
    assert.deepEqual(out.result.error, { code: 401, text: "Invalid password", temporary: false });
    noSecret(out);
  });

  test("a password made of digits does not corrupt the id; an error echoing it is redacted", async () => {
    const s = await startRapportoSim({ pass: "4095" });
    const c = new RapportoClient({ url: s.mtUrl, serviceId: "login", pass: "4095", profile: { kind: "v5", method: "GET", output: "text" } });
    cleanups.push(() => s.close(), () => c.close());
    const ok = await c.send(mt("m-1"));
    assert.deepEqual(ok.result.smscIds, [s.sent[0].id]);
    assert.match(s.sent[0].id, /^4095/, "the simulator's ids start with the password's digits");
    s.failNext(400, "Bad request: pass=4095 is not allowed here");
    const bad = await c.send(mt("m-2"));
    assert.equal(bad.result.error?.text, "Bad request: pass=*** is not allowed here");
  });

  const temporary = [
    { name: "408 \"retry within the rate\"", code: 408, partnerMsgId: false },
    { name: "500 with partnerMsgId (resend is idempotent)", code: 500, partnerMsgId: true },
    { name: "503 \"wait for the first answer\"", code: 503, partnerMsgId: true },
  ];
  for (const t of temporary) {
    test(`${t.name}: retried and accepted once`, async () => {
      const { sim, client } = await setup({}, { partnerMsgId: t.partnerMsgId, backoffMs: 50 });
      sim.failNext(t.code, "try later");
      const out = await client.send(mt("m-1"));
      assert.equal(out.result.accepted, true);
      assert.equal(out.attempts, 2);
      assert.equal(sim.sent.length, 1);
    });
  }

  test("500 without partnerMsgId is not resent (it might have gone out): temporary error", async () => {
    const { sim, client } = await setup({}, { backoffMs: 50 });
    sim.failNext(500, "Internal error");
    const out = await client.send(mt("m-1"));
    assert.deepEqual(out.result.error, { code: 500, text: "Internal error", temporary: true });
    assert.equal(sim.requests.length, 1);
  });

  test("temporary failures go on only inside the budget, then the last error is reported", async () => {
    const { sim, client } = await setup({}, { partnerMsgId: true, backoffMs: 100, budgetMs: 1500 });
    for (let i = 0; i < 20; i++) sim.failNext(500, "Internal error");
    const t0 = Date.now();
    const out = await client.send(mt("m-1"));
    assert.ok(Date.now() - t0 < 2500, `took ${Date.now() - t0} ms`);
    assert.equal(out.result.error?.code, 500);
    assert.equal(out.result.error?.temporary, true);
    assert.equal(sim.sent.length, 0);
  });
});

describe("no MT sent twice on retry", () => {
  test("timeout with partnerMsgId: the resend returns the same id and the message goes out once", async () => {
    const { sim, client } = await setup({}, { partnerMsgId: true, requestTimeoutMs: 300, backoffMs: 100 });
    sim.stallNext(700);
    const out = await client.send(mt("m-1"));
    assert.equal(out.result.accepted, true);
    assert.ok(out.attempts >= 2, `attempts ${out.attempts}`);
    assert.equal(sim.sent.length, 1);
    assert.deepEqual(out.result.smscIds, [sim.sent[0].id]);
    assert.equal(sim.sent[0].partnerMsgId, partnerMsgIdFor("m-1", "hello"));
    // While the first was stalled the provider said "still in progress" (503), never a new id.
    assert.ok(sim.requests.every((r) => r.status === 200 || r.status === 503 || r.status === 0));
  });

  test("timeout without partnerMsgId: not resent, reported temporary", async () => {
    const { sim, client } = await setup({}, { requestTimeoutMs: 300 });
    sim.stallNext(600);
    const out = await client.send(mt("m-1"));
    assert.equal(out.result.accepted, false);
    assert.deepEqual(out.result.error, { code: "timeout", text: "no reply within 300 ms", temporary: true });
    assert.equal(sim.requests.length, 1);
    assert.equal(sim.sent.length, 1);
  });

  test("a provider that vanishes mid-request (connection dropped): resent only with partnerMsgId, sent once either way", async () => {
    for (const partnerMsgId of [false, true]) {
      const { sim, client } = await setup({}, { partnerMsgId, backoffMs: 50 });
      sim.dropNext();
      const out = await client.send(mt("m-1"));
      assert.equal(sim.sent.length, 1, `partnerMsgId ${partnerMsgId}`);
      if (partnerMsgId) {
        assert.deepEqual(out.result.smscIds, [sim.sent[0].id]);
      } else {
        assert.equal(out.result.accepted, false);
        assert.equal(out.result.error?.temporary, true);
        assert.match(out.result.error?.text ?? "", /request failed: ECONNRESET/);
        assert.equal(sim.requests.length, 1);
      }
    }
  });

  test("connection refused is safe to resend; gives up inside the budget", async () => {
    const s = await startRapportoSim();
    const url = s.mtUrl;
    await s.close();
    const c = new RapportoClient({ url, serviceId: "login", pass: "s3cret-pass", profile: { kind: "v5", method: "GET", output: "text" } }, { backoffMs: 100, budgetMs: 1500 });
    cleanups.push(() => c.close());
    const out = await c.send(mt("m-1"));
    assert.equal(out.result.error?.code, "ECONNREFUSED");
    assert.equal(out.result.error?.temporary, true);
    assert.ok(out.attempts >= 2);
    noSecret(out);
  });
});

describe("rate limit: \"recommended … when a peak traffic doesn't exceed 10 messages per second\"", () => {
  test("10/s held within ±5 % over a 6 s window; a 408 is retried and every message goes out once", async () => {
    const { sim, client } = await setup({}, { budgetMs: 60_000 });
    const sends = Array.from({ length: 75 }, (_, i) => client.send(mt(`m-${i}`), {}, Date.now() + 60_000));
    await Promise.all(sends);
    // Counted as the provider sees the client's rate: every request that arrived, a 408'd one
    // too, since each attempt (a retry as well) takes a slot of the limiter. Counting only the
    // accepted ones measured the simulator's own window instead: under load, requests that
    // waited for a core arrive in a bunch, some get 408, and the accepted count fell to 57.
    const start = sim.requests[0].at;
    const inWindow = sim.requests.filter((r) => r.at >= start && r.at < start + 6000).length;
    assert.ok(inWindow >= 57 && inWindow <= 63, `${inWindow} requests in 6 s`);
    assert.equal(sim.sent.length, 75);
    assert.equal(new Set(sim.sent.map((m) => m.ptag)).size, 75, "a message went out twice");
    // A 408 is "retry within the rate": every message above went out once all the same. How many
    // 408s there were is not asserted: client and simulator share this process, so on a loaded
    // machine a request that waited for a core reaches the simulator's one-second window in a
    // bunch. The spacing the limiter keeps is asserted on a mocked clock in rate.test.ts.
    console.log(`[rapporto rate] ${inWindow} requests in the first 6 s, ${sim.requests.filter((r) => r.status === 408).length} answered 408`);
  });

  test("a 408 (client set above the provider's limit) backs off, and every message goes out once", async () => {
    const { sim, client } = await setup({ ratePerSecond: 10 }, { ratePerSecond: 20, budgetMs: 60_000, throttlePauseMs: 200 });
    const results = await Promise.all(Array.from({ length: 40 }, (_, i) => client.send(mt(`m-${i}`), {}, Date.now() + 60_000)));
    assert.ok(results.every((r) => r.result.accepted));
    assert.equal(sim.sent.length, 40);
    assert.equal(new Set(sim.sent.map((m) => m.ptag)).size, 40);
    assert.ok(sim.requests.some((r) => r.status === 408), "the simulator did throttle");
    // Backing off keeps the 408s a small share rather than one per attempt.
    assert.ok(sim.requests.filter((r) => r.status === 408).length < 40, `${sim.requests.filter((r) => r.status === 408).length} 408s`);
  });

  test("a message that cannot get a slot before its deadline is refused as throttled, not sent", async () => {
    const { sim, client } = await setup({}, { ratePerSecond: 1 });
    const first = client.send(mt("a"), {}, Date.now() + 5000);
    const second = await client.send(mt("b"), {}, Date.now() + 1200);
    await first;
    assert.equal(second.result.error?.code, "throttled");
    assert.equal(second.result.error?.throttled, true);
    assert.equal(sim.sent.length, 1);
  });
});

describe("sendAndRecord: correlation stored before the result is returned", () => {
  test("Rapporto id → RapidPro id is in the store when send resolves", async () => {
    const { client } = await setup();
    const store = new MemoryStore();
    cleanups.push(() => store.close());
    const out = await client.sendAndRecord(mt("rp-7"), store);
    assert.equal((await store.findByPart(out.result.smscIds[0]))?.rapidproId, "rp-7");
  });

  test("a store failure keeps the message accepted and says why", async () => {
    const { client } = await setup();
    const out = await client.sendAndRecord(mt("rp-8"), {
      put: async () => {
        throw new Error("disk full");
      },
      findByPart: async () => undefined,
      findByMessage: async () => undefined,
      markPart: async () => undefined,
      close: async () => undefined,
    });
    assert.equal(out.result.accepted, true);
    assert.match(out.storeError ?? "", /disk full/);
  });

  test("bad input is refused before anything is sent", async () => {
    const { sim, client } = await setup();
    const out = await client.send(mt("rp-9", { to: "" }));
    assert.deepEqual(out.result.error, { code: "input", text: "no destination (payload.to)", temporary: false });
    assert.equal(sim.requests.length, 0);
  });
});

describe("the simulator itself follows the docs", () => {
  async function get(url: string): Promise<{ status: number; body: string }> {
    const res = await fetch(url);
    return { status: res.status, body: await res.text() };
  }

  test("\"limit 10 req/s, 12 sent → last 2 get 408\"", async () => {
    const s = await startRapportoSim();
    cleanups.push(() => s.close());
    const q = (i: number) => `${s.mtUrl}?clientId=7916&message=m${i}&serviceId=login&pass=123`;
    const replies = [];
    for (let i = 0; i < 12; i++) replies.push(await get(q(i)));
    assert.deepEqual(replies.map((r) => r.status), [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 408, 408]);
    assert.match(replies[0].body, /^OK\n\d+$/);
  });

  test("partnerMsgId: \"resends with the same id are sent once and return the same provider id\"", async () => {
    const s = await startRapportoSim();
    cleanups.push(() => s.close());
    const url = `${s.mtUrl}?clientId=7916&message=x&serviceId=login&pass=123&partnerMsgId=p1`;
    const [a, b] = [await get(url), await get(url)];
    assert.equal(a.body, b.body);
    assert.equal(s.sent.length, 1);
  });

  test("output=xml: the documented XML, errors with HTTP 200", async () => {
    const s = await startRapportoSim();
    cleanups.push(() => s.close());
    const ok = await get(`${s.mtUrl}?clientId=7916&message=x&serviceId=login&pass=123&output=xml`);
    const bad = await get(`${s.mtUrl}?clientId=7916&message=x&serviceId=login&pass=wrong&output=xml`);
    assert.match(ok.body, /<response><code>200<\/code><text>OK<\/text><payload><id>\d+<\/id><\/payload><\/response>/);
    assert.deepEqual([bad.status, bad.body.includes("<code>401</code><text>Invalid password</text>")], [200, true]);
  });
});
