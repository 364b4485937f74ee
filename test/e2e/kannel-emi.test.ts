/**
 * UCP/EMI against an independent implementation: Kannel 1.4.5 (aggregator-protocols.md §2.8).
 * 1. Every frame our session sends (login, keep-alive, OT 51 in each encoding, results to
 *    OT 52/53) parses with Kannel's own decoder, `decode_emimsg`.
 * 2. Kannel's `bearerbox` (smsc = emi) logs in to our simulator, sends keep-alives, submits
 *    MT injected through smsbox, matches our OT 53 notifications to its submits (its
 *    delivery-report callback fires), and takes our OT 52/01 MO (its MO callback fires).
 * Skipped, with the reason printed, when Kannel is not installed (.ci/run installs it).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MT } from "../../lib/contract";
import { readOadc } from "../../lib/ucp/address";
import type { UcpDelivery } from "../../lib/ucp/incoming";
import { UcpSession } from "../../lib/ucp/session";
import { buildSubmit, type UcpSubmitOptions } from "../../lib/ucp/submit";
import { startUcpSmsc, type UcpSim, type UcpSubmitRecord } from "../../sim/ucp";
import { decodeEmimsg, kannelSkipReason, listeningAddresses, startCatcher, startKannel, type Catcher, type Kannel } from "../helpers/kannel";
import { waitFor } from "../helpers/wait";

if (kannelSkipReason) console.log(`# kannel-emi: skipped: ${kannelSkipReason}`);
const skip = kannelSkipReason;

const USERNAME = "12345";
const PASSWORD = "secret";

describe("Kannel decode_emimsg parses every frame our session sends", { skip }, () => {
  const mts: Array<{ name: string; mt: Partial<MT>; options?: UcpSubmitOptions }> = [
    { name: "GSM text, MT 3 in GSM codes", mt: { text: "Hi @ home {ok} €5" } },
    { name: "MT 3 in IRA", mt: { text: "Hi @ home {ok}" }, options: { alphabet: "ira" } },
    { name: "UCS-2 with an emoji, MT 4 + XSer DCS", mt: { text: "Привет 😀" } },
    { name: "3 GSM parts, XSer UDH 8-bit reference", mt: { text: "long ".repeat(80) } },
    { name: "2 UCS-2 parts, 16-bit reference", mt: { text: "ж".repeat(100) }, options: { referenceBits: 16 } },
    { name: "alphanumeric sender (OTOA 5039)", mt: { from: "RapidPro", text: "from a name" } },
    { name: "international sender (OTOA 1139)", mt: { from: "+250788000001", text: "from a number" } },
    { name: "validity, deferred delivery, buffered notifications", mt: { text: "later" }, options: { validityMinutes: 60, deferMinutes: 5, notifyBuffered: true } },
  ];

  test("the validator can fail: a wrong checksum and a wrong LEN are refused (§2.8 'rejects frames with a wrong LEN or checksum')", () => {
    assert.equal(decodeEmimsg("02/00059/O/60/07656765/2/1/1/50617373776F7264//0100//////61").ok, true);
    assert.equal(decodeEmimsg("02/00059/O/60/07656765/2/1/1/50617373776F7264//0100//////62").ok, false);
    assert.equal(decodeEmimsg("02/00058/O/60/07656765/2/1/1/50617373776F7264//0100//////61").ok, false);
  });

  test("login, keep-alive, every OT 51 variant and our results to OT 52/53", async () => {
    const sim = await startUcpSmsc({ credentials: { username: USERNAME, password: PASSWORD }, notifyDelayMs: 10 });
    const frames: string[] = [];
    sim.on("frame", (body: string) => frames.push(body));
    const session = new UcpSession({ host: "127.0.0.1", port: sim.port, username: USERNAME, password: PASSWORD, keepAliveMs: 50, myNumber: "2020" });
    let refuse = true;
    session.on("delivery", (d: UcpDelivery) => {
      // One refusal, so our negative result is checked too.
      if (refuse && d.kind === "mo") {
        refuse = false;
        return d.respond({ ok: false, text: "not now" });
      }
      d.respond({ ok: true });
    });
    try {
      await session.start();
      await waitFor(() => session.status.state === "bound", "login");
      for (const c of mts) {
        const built = buildSubmit({ id: "1", to: "+250788123123", from: "2020", text: "", ...c.mt }, c.options);
        assert.ok(built.ok, c.name);
        if (!built.ok) continue;
        for (const fields of built.operations) assert.equal((await session.submit(fields)).ok, true, c.name);
      }
      assert.deepEqual(await sim.sendMo({ from: "+250788000001", to: "2020", text: "MO" }), ["N/04"]);
      assert.deepEqual(await sim.sendMo({ from: "+250788000001", to: "2020", text: "MO" }), ["A"]);
      assert.deepEqual(await sim.sendMo({ from: "+250788000001", to: "2020", text: "MO 01", ot: 1 }), ["A"]);
      await waitFor(() => sim.counters.answers.positive >= sim.counters.notificationsSent + 2 && sim.counters.alerts >= 1, "notification answers and a keep-alive");
    } finally {
      await session.close();
      await sim.close();
    }
    const kinds = new Set(frames.map((f) => f.slice(9, 13)));
    for (const kind of ["O/60", "O/31", "O/51", "R/52", "R/53", "R/01"]) assert.ok(kinds.has(kind), `a ${kind} frame was sent`);
    let checked = 0;
    for (const body of frames) {
      // §2.8: decode_emimsg "crashes on `R/01` results (prints null fields) — a tool bug, not a frame error".
      if (body.slice(9, 13) === "R/01") continue;
      const decoded = decodeEmimsg(body);
      assert.ok(decoded.ok, `Kannel refused ${body}:\n${decoded.out}`);
      if (body.slice(9, 13) === "O/51") assert.match(decoded.out, /E50_ADC\s+250788123123/);
      checked++;
    }
    assert.ok(checked >= mts.length + 4, `checked ${checked} frames`);
  });
});

describe("Kannel bearerbox (smsc = emi) as a UCP client of our simulator", { skip }, () => {
  let sim: UcpSim;
  let catcher: Catcher;
  let kannel: Kannel;

  before(async () => {
    sim = await startUcpSmsc({
      credentials: { username: USERNAME, password: PASSWORD },
      notifyDelayMs: 100,
      // Submits to 250788123124 fail; all others are delivered.
      notifyOutcome: (fields) => (fields.ADC === "250788123124" ? "failed" : "delivered"),
    });
    catcher = await startCatcher();
    kannel = await startKannel({ smscPort: sim.port, username: USERNAME, password: PASSWORD, moUrl: `${catcher.url}/mo`, keepaliveSeconds: 1 });
  });

  after(async () => {
    await kannel?.stop();
    await catcher?.close();
    await sim?.close();
  });

  async function sendsms(params: Record<string, string>): Promise<UcpSubmitRecord> {
    const before = sim.submitted.length;
    const query = new URLSearchParams({ username: kannel.sendsmsUser, password: kannel.sendsmsPassword, ...params });
    const res = await fetch(`${kannel.sendsmsUrl}?${query}`);
    assert.equal(res.status, 202, await res.text());
    await waitFor(() => sim.submitted.length > before, "Kannel's OT 51", 20_000);
    return sim.submitted[before];
  }

  test("Kannel logs in with OT 60 (our login check accepts it) and keeps the session alive with OT 31", async () => {
    await waitFor(() => sim.counters.logins >= 1, "Kannel's login", 20_000);
    await waitFor(() => sim.counters.alerts >= 1, "Kannel's keep-alive", 20_000);
    assert.equal(sim.counters.loginsRefused, 0);
    const addresses = listeningAddresses(kannel.pids());
    if (addresses) {
      assert.ok(addresses.length >= 3, `bearerbox and smsbox listen: ${addresses.join(", ")}`);
      assert.ok(addresses.every((a) => a.startsWith("127.0.0.1:")), `Kannel listens only on 127.0.0.1: ${addresses.join(", ")}`);
    }
  });

  test("MT: alphanumeric sender, GSM text; our OT 53 'delivered' is matched by Kannel (delivery report 1)", async () => {
    const dlrUrl = `${catcher.url}/dlr?status=%d&to=%p&id=gsm`;
    const record = await sendsms({ from: "RapidPro", to: "250788123123", text: "Hi @ home", "dlr-mask": "3", "dlr-url": dlrUrl });
    assert.equal(record.fields.OTOA, "5039");
    assert.equal(record.fields.OADC, "0ED2303C4D86CADF", "§2.3: 'RapidPro → 0ED2303C4D86CADF (Kannel output captured here)'");
    assert.deepEqual(readOadc(record.fields.OADC, record.fields.OTOA), { ok: true, value: "RapidPro" });
    assert.equal(record.fields.MT, "3");
    assert.equal(record.fields.MSG, "4869200020686F6D65", "§2.4: Kannel sends GSM codes: '@' is 00");
    assert.equal(record.fields.NRQ, "1");
    assert.equal(record.fields.NT, "3");
    await waitFor(() => catcher.calls.some((c) => c.path === "/dlr" && c.query.get("id") === "gsm"), "Kannel's delivery report", 20_000);
    const dlr = catcher.calls.find((c) => c.path === "/dlr" && c.query.get("id") === "gsm")!;
    assert.equal(dlr.query.get("status"), "1");
    assert.equal(sim.counters.answers.negative, 0);
  });

  test("MT: UCS-2 as MT 4 with XSer DCS 08 and NB in bits; 'failed' OT 53 gives Kannel's report 2", async () => {
    const dlrUrl = `${catcher.url}/dlr?status=%d&id=ucs2`;
    // This recipient's notifications say "failed"; the Cyrillic makes the text UCS-2.
    const record = await sendsms({ from: "2020", to: "250788123124", text: "fail Привет", coding: "2", charset: "UTF-8", "dlr-mask": "3", "dlr-url": dlrUrl });
    assert.equal(record.fields.MT, "4");
    assert.match(record.fields.XSER, /020108/);
    assert.equal(Number(record.fields.NB), (record.fields.MSG.length / 2) * 8);
    assert.equal(Buffer.from(record.fields.MSG, "hex").swap16().toString("utf16le"), "fail Привет");
    await waitFor(() => catcher.calls.some((c) => c.path === "/dlr" && c.query.get("id") === "ucs2"), "the failure report", 20_000);
    assert.equal(catcher.calls.find((c) => c.path === "/dlr" && c.query.get("id") === "ucs2")!.query.get("status"), "2");
  });

  test("MO: OT 52 in GSM codes and OT 01 are taken by Kannel (answered A, passed to its MO URL)", async () => {
    assert.deepEqual(await sim.sendMo({ from: "+250788000001", to: "2020", text: "Hello from the sim" }), ["A"]);
    assert.deepEqual(await sim.sendMo({ from: "250788000002", to: "2020", text: "Legacy call input", ot: 1 }), ["A"]);
    await waitFor(() => catcher.calls.filter((c) => c.path === "/mo").length >= 2, "two MO callbacks", 20_000);
    const texts = catcher.calls.filter((c) => c.path === "/mo").map((c) => `${c.query.get("from")}|${c.query.get("text")}`);
    assert.ok(texts.includes("250788000001|Hello from the sim"), texts.join("\n"));
    assert.ok(texts.includes("250788000002|Legacy call input"), texts.join("\n"));
  });

  test("MO: three UCS-2 parts with an emoji, sent last-first, are answered A and joined by Kannel", async () => {
    // 179 UTF-16 units: three parts of at most 67. No trailing space: smsbox trims %a.
    const text = Array(18).fill("Привет 😀").join(" ");
    const answers = await sim.sendMo({ from: "+250788000003", to: "2020", text, reverse: true });
    assert.equal(answers.length, 3);
    assert.deepEqual(answers, ["A", "A", "A"]);
    await waitFor(() => catcher.calls.some((c) => c.path === "/mo" && c.query.get("from") === "250788000003"), "the joined MO", 20_000);
    const mo = catcher.calls.filter((c) => c.path === "/mo" && c.query.get("from") === "250788000003");
    assert.equal(mo.length, 1, "one message, not three parts");
    assert.equal(mo[0].query.get("text"), text);
  });
});
