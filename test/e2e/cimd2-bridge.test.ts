/**
 * The CIMD2 bridge as users deploy it: the packed package in a fresh Node-RED user directory,
 * examples/rapidpro-cimd2-bridge.json deployed unchanged, configured only by environment
 * variables, against the courier simulator and sim/cimd2 (test/helpers/cimd2-bridge.ts).
 * MTs of every courier send configuration get their reply and statuses; status reports become
 * statuses (061 4 delivered, 3 failed with 062); MOs arrive (GSM with escapes, UCS-2 with emoji,
 * 3 parts out of order); bad requests get a clear answer and submit nothing.
 * Courier's split parts through this bridge: test/e2e/split-parts.test.ts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { DEFAULT_SEND_BODY, sendMt, type CourierSim, type ExChannelConfig } from "../../sim/courier";
import { AUTH, CHANNEL, installedTemplate, tempWork } from "../helpers/bridge-ledger";
import { startCimd2Bridge, type Cimd2Bridge } from "../helpers/cimd2-bridge";
import { waitFor } from "../helpers/wait";

const uuid = (i: number) => `0191e180-7d60-7000-a000-${String(i).padStart(12, "0")}`;
const LONG_CYRILLIC = "Длинное сообщение на русском языке, которое не помещается в одно SMS: мост делит его на части с UDH, а телефон снова собирает их. ☺";

/** Courier's send configurations (reference rapidpro-external-channel.md §4). */
const CONFIGS: { name: string; config: (url: string) => ExChannelConfig }[] = [
  { name: "urlencoded, the default body", config: (url) => ({ sendUrl: url, method: "POST", contentType: "urlencoded", body: DEFAULT_SEND_BODY, maxLength: 640 }) },
  { name: "JSON", config: (url) => ({ sendUrl: url, method: "POST", contentType: "json", body: '{"id":{{id}},"text":{{text}},"to":{{to}},"from":{{from}}}', maxLength: 640 }) },
  { name: "XML", config: (url) => ({ sendUrl: url, method: "POST", contentType: "xml", body: "<msg><id>{{id}}</id><text>{{text}}</text><to>{{to}}</to><from>{{from}}</from></msg>", maxLength: 640 }) },
  { name: "GET", config: (url) => ({ sendUrl: `${url}?id={{id}}&text={{text}}&to={{to}}&from={{from}}`, method: "GET", maxLength: 640 }) },
];

function actionsOf(courier: CourierSim, id: string): string[] {
  return courier.accepted.filter((c) => c.action !== "receive" && c.action !== "stopped" && (c.params.uuid ?? c.params.id) === id).map((c) => c.action);
}

let work: string;
let bridge: Cimd2Bridge;
before(async () => {
  work = tempWork("cimd2-e2e-");
  bridge = await startCimd2Bridge({
    template: installedTemplate(work),
    userDir: path.join(work, "user"),
    // Texts beginning "fail" are reported 061:3 with 062:14, the rest 061:4.
    sim: { reportDelayMs: 200, redeliverMs: 500, reportErrorCode: 14, reportStatus: (s) => (/^fail/i.test(s.text ?? "") ? 3 : 4) },
  });
});
after(async () => {
  await bridge?.close();
  fs.rmSync(work, { recursive: true, force: true });
});

describe("RapidPro ⇄ CIMD2 bridge", () => {
  CONFIGS.forEach((c, n) => {
    test(`${c.name}: each MT answered 200, submitted once, one 'delivered' (long and Unicode texts whole)`, async () => {
      const texts = [`Hello over CIMD2 ${n} {braces} €`, "Привет 👋", LONG_CYRILLIC];
      const replies = await Promise.all(
        texts.map((text, i) => sendMt({ ...c.config(bridge.sendUrl), authorization: AUTH, channelUuid: CHANNEL }, { uuid: uuid(n * 10 + i), to: "+250788383383", text })),
      );
      assert.deepEqual(replies.map((r) => r.map((p) => p.status)), texts.map(() => [200]));
      const ids = texts.map((_, i) => uuid(n * 10 + i));
      await waitFor(() => ids.every((id) => actionsOf(bridge.courier, id).includes("delivered")), "a delivered status per MT", 20_000);
      await new Promise((r) => setTimeout(r, 500)); // time for a duplicate to show
      for (const id of ids) assert.deepEqual(actionsOf(bridge.courier, id).filter((a) => a === "delivered"), ["delivered"], id);
      // What reached the SMSC, parts joined by their UDH reference, is what RapidPro sent.
      const byRef = new Map<string, string>();
      const whole: string[] = [];
      for (const s of bridge.smsc.submitted.filter((r) => r.destination.endsWith("250788383383"))) {
        if (!s.udh) whole.push(s.text ?? "");
        else byRef.set(s.udh.slice(6, 8), (byRef.get(s.udh.slice(6, 8)) ?? "") + (s.text ?? ""));
      }
      for (const text of texts) assert.ok(whole.includes(text) || [...byRef.values()].includes(text), `"${text}" reached the SMSC whole`);
    });
  });

  test("061:3 with 062 becomes a failed status with the reason; a resend of an accepted MT is answered from the store", async () => {
    const config = { ...CONFIGS[0].config(bridge.sendUrl), authorization: AUTH, channelUuid: CHANNEL };
    const before = bridge.smsc.counters.submits;
    const [first] = await sendMt(config, { uuid: uuid(900), to: "+250788383383", text: "fail this one" });
    const [again] = await sendMt(config, { uuid: uuid(900), to: "+250788383383", text: "fail this one" });
    assert.deepEqual([first.status, again.status], [200, 200]);
    assert.equal(bridge.smsc.counters.submits - before, 1, "the resend was not submitted");
    await waitFor(() => actionsOf(bridge.courier, uuid(900)).includes("failed"), "the failed status", 20_000);
    const failed = bridge.courier.accepted.find((c) => c.action === "failed" && (c.params.uuid ?? c.params.id) === uuid(900));
    assert.ok(failed);
  });

  test("MOs: GSM with escapes, UCS-2 with an emoji, 3 parts out of order: each at courier once, answered 70 only after RapidPro took it", async () => {
    const long = "A long MO in three parts with {braces}, [brackets], ~tilde~ and € " + "abcdefghij".repeat(30);
    const answers = await Promise.all([
      bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text: "Hei {ä} [ö] € ~" }),
      bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text: "Ответ 😀", encoding: "ucs2" }),
      bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text: long, order: [2, 0, 1] }),
    ]);
    assert.ok(answers.flat().every((a) => a === "70"), JSON.stringify(answers));
    await waitFor(() => bridge.courier.accepted.filter((c) => c.action === "receive").length >= 3, "every MO at courier", 15_000);
    const received = bridge.courier.accepted.filter((c) => c.action === "receive");
    assert.deepEqual(received.map((c) => c.params.text).sort(), ["Hei {ä} [ö] € ~", "Ответ 😀", long].sort());
    assert.ok(received.every((c) => c.params.from === "+250788123123"));
  });

  test("bad input: a request without text or with a wrong token is refused with a reason and nothing is submitted", async () => {
    const before = bridge.smsc.counters.submits;
    const noText = await fetch(bridge.sendUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: AUTH }, body: "id=1&to=%2B250788383383&from=2020" });
    assert.ok(noText.status >= 400 && noText.status < 500, `no text: ${noText.status}`);
    assert.ok((await noText.text()).length > 0);
    const wrongToken = await fetch(bridge.sendUrl, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", authorization: "Token wrong" }, body: "id=2&to=%2B250788383383&from=2020&text=hi" });
    assert.equal(wrongToken.status, 401);
    const badNumber = await sendMt({ ...CONFIGS[0].config(bridge.sendUrl), authorization: AUTH, channelUuid: CHANNEL }, { uuid: uuid(950), to: "not-a-number", text: "hi" });
    assert.ok(badNumber[0].status >= 400 && badNumber[0].status < 500, `bad number: ${badNumber[0].status}`);
    assert.equal(bridge.smsc.counters.submits, before);
    assert.ok(!bridge.log().includes("cimd2-bridge-secret"), "the password is in no log");
  });
});
