/**
 * The UCP/EMI bridge as users deploy it: the packed package installed into a fresh Node-RED
 * user directory, examples/rapidpro-ucp-bridge.json deployed unchanged, configured only by
 * environment variables (STORE_URL unset: the embedded store), against the courier and UCP
 * simulators. Every courier send configuration (courier-split parts included) reaches the
 * phone once per part and gets one `delivered`; MO in GSM, in UCS-2 with an emoji and in 3
 * parts out of order reach courier; bad input is refused with a reason.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { freePort, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { DEFAULT_SEND_BODY, sendMt, splitText, startCourier, type CourierSim } from "../../sim/courier";
import { startUcpSmsc, type UcpSim } from "../../sim/ucp";
import { decodeMo } from "../../lib/ucp/deliver";
import { AUTH, bridgeEnv, CHANNEL, COURIER_CONFIGS, installedTemplate, tempWork } from "../helpers/bridge-ledger";
import { waitFor } from "../helpers/wait";

/** The simulated SMSC fails every MT to this number. */
const FAILING = "+250788383384";
const uuidOf = (n: number) => `0191e180-7d60-7015-a000-${String(n).padStart(12, "0")}`;

/** The texts that reached the phone: each submitted OT 51 read back, parts joined by their UDH. */
function phone(sim: UcpSim): string[] {
  const texts: string[] = [];
  const open = new Map<number, string[]>();
  for (const { fields } of sim.submitted) {
    const part = decodeMo(52, { ...fields, OADC: fields.OADC || "0" });
    assert.ok(part.ok, part.ok ? "" : part.reason);
    const { concat, text = "" } = part.value;
    if (!concat) {
      texts.push(text);
      continue;
    }
    const parts = open.get(concat.reference) ?? [];
    parts[concat.seq - 1] = text;
    open.set(concat.reference, parts);
    if (parts.filter((p) => p !== undefined).length === concat.total) {
      texts.push(parts.join(""));
      open.delete(concat.reference);
    }
  }
  return texts;
}

/** The statuses courier accepted for one uuid, in order. */
function statusesOf(courier: CourierSim, uuid: string): string[] {
  return courier.accepted.filter((c) => c.action !== "receive" && c.action !== "stopped" && (c.params.uuid ?? c.params.id) === uuid).map((c) => c.action);
}

describe("RapidPro ⇄ UCP/EMI bridge (examples/rapidpro-ucp-bridge.json)", () => {
  const work = tempWork("ucp-bridge-");
  let courier: CourierSim;
  let sim: UcpSim;
  let red: NodeRed;

  before(async () => {
    const template = installedTemplate(work);
    const userDir = path.join(work, "user");
    fs.cpSync(template, userDir, { recursive: true });
    courier = await startCourier({ channelUuid: CHANNEL });
    sim = await startUcpSmsc({ port: 0, credentials: { username: "4470", password: "secret" }, notifyDelayMs: 300, notifyOutcome: (fields) => (fields.ADC === FAILING.slice(1) ? "failed" : "delivered") });
    const flows = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "examples", "rapidpro-ucp-bridge.json"), "utf8")) as unknown[];
    red = await startNodeRed({ userDir, port: await freePort(), flows, env: bridgeEnv("ucp", { courierUrl: courier.url, smscPort: sim.port, auth: AUTH }) });
    await waitFor(() => sim.counters.logins >= 1, "the bridge's login", 20_000);
  });
  after(async () => {
    await red?.stop().catch(() => undefined);
    await sim?.close();
    await courier?.close();
    fs.rmSync(work, { recursive: true, force: true });
  });

  COURIER_CONFIGS.forEach((channel, n) => {
    test(`MT, ${channel.name}: each courier part on the phone once, one 'delivered'`, async () => {
      const uuid = uuidOf(n + 1);
      const before = phone(sim).length;
      const results = await sendMt({ ...channel.config(`${red.url}/rapidpro/send`), authorization: AUTH, channelUuid: CHANNEL }, { uuid, to: "+250788383383", text: channel.text });
      assert.ok(results.length > 1, "courier split it");
      assert.deepEqual(results.map((r) => r.status), results.map(() => 200));
      assert.deepEqual(phone(sim).slice(before), splitText(channel.text, channel.config("").maxLength ?? 160));
      await waitFor(() => statusesOf(courier, uuid).includes("delivered"), `'delivered' for ${uuid}`, 15_000);
      // 'sent' when the first part's notification came before the last's, never twice, never after 'delivered'.
      assert.deepEqual(statusesOf(courier, uuid).filter((s) => s !== "sent"), ["delivered"]);
      assert.ok(statusesOf(courier, uuid).filter((s) => s === "sent").length <= 1);
      assert.equal(statusesOf(courier, uuid).at(-1), "delivered");
    });
  });

  test("§2.2 'DST 2 not delivered' with 'RSN 3-digit reason': 'failed' with the reason", async () => {
    const uuid = uuidOf(50);
    const [result] = await sendMt({ sendUrl: `${red.url}/rapidpro/send`, body: DEFAULT_SEND_BODY, authorization: AUTH, channelUuid: CHANNEL }, { uuid, to: FAILING, text: "will fail" });
    assert.equal(result.status, 200);
    await waitFor(() => statusesOf(courier, uuid).includes("failed"), "'failed'", 15_000);
    assert.deepEqual(statusesOf(courier, uuid), ["failed"]);
  });

  const MOS: { name: string; text: string }[] = [
    { name: "GSM", text: "Hello from a phone {with} [GSM] extension characters €" },
    { name: "UCS-2 with an emoji", text: "Привет из телефона 👋🏽" },
    { name: "3 parts out of order", text: "A long reply from a phone: ".padEnd(400, "abcdefghij ") },
  ];
  for (const mo of MOS) {
    test(`MO, ${mo.name}: reaches courier once, answered A`, async () => {
      const answers = await sim.sendMo({ from: "+250788123123", to: "2020", text: mo.text, reverse: true });
      assert.ok(answers.every((a) => a === "A"), `answers ${answers.join(",")}`);
      await waitFor(() => courier.accepted.some((c) => c.action === "receive" && c.params.text === mo.text), "the MO at courier", 15_000);
      const received = courier.accepted.filter((c) => c.action === "receive" && c.params.text === mo.text);
      assert.equal(received.length, 1);
      assert.equal(received[0].params.from, "+250788123123");
    });
  }

  test("bad input: wrong authorization, a malformed body, an unreadable recipient: refused with a reason, nothing submitted", async () => {
    const submitted = sim.submitted.length;
    const url = `${red.url}/rapidpro/send`;
    const wrongAuth = await fetch(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Token wrong" }, body: "id=1&text=x&to=%2B250788383383" });
    assert.equal(wrongAuth.status, 401);
    const malformed = await fetch(url, { method: "POST", headers: { "content-type": "application/json", authorization: AUTH }, body: "{not json" });
    assert.equal(malformed.status, 400);
    const [badTo] = await sendMt({ sendUrl: url, body: DEFAULT_SEND_BODY, authorization: AUTH, channelUuid: CHANNEL }, { uuid: uuidOf(60), to: "tel:not-a-number", text: "x" });
    assert.ok(badTo.status >= 400 && badTo.status < 500, `status ${badTo.status}`);
    assert.equal(sim.submitted.length, submitted);
    // A hostile OT 52 with 3 fields ends the connection; the bridge logs in again.
    const logins = sim.counters.logins;
    sim.sendHostile("fields");
    await waitFor(() => sim.counters.logins > logins, "a fresh login after the hostile frame", 20_000);
    assert.doesNotMatch(red.log(), /secret/);
  });
});
