/**
 * The two bridges as users deploy them: the packed package installed into a fresh Node-RED
 * user directory, examples/rapidpro-smpp-bridge.json and examples/rapidpro-rapporto-bridge.json
 * deployed unchanged through the Admin API, configured only by environment variables (STORE_URL
 * unset: the embedded store), against the courier, SMSC and Rapporto simulators.
 * Every MT gets its reply, receipt and status; every MO arrives; long and Unicode texts round-trip.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, installTarball, packPackage, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim } from "../../sim/courier";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { RapportoSim } from "../../sim/rapporto";
import { Reassembler } from "../../lib/sms/reassembly";
import { readDeliverSm } from "../../lib/smpp/deliver";
import { CHANNEL, smppBridgeEnv } from "../helpers/bridge-ledger";
import { waitFor } from "../helpers/wait";

const AUTH = "Token bridge-e2e";
const LONG_CYRILLIC = "Длинное сообщение на русском языке, которое не помещается в одно SMS: мост делит его на части с UDH, а телефон снова собирает их в одно сообщение. ☺";
const LONG_GSM = "A long message in the GSM alphabet with extension characters {like these} and [these] and the euro sign €, long enough for two parts at 153 septets each, so the UDH matters.";

let work: string;
let tarball: string;

before(() => {
  work = fs.mkdtempSync(path.join(os.tmpdir(), "bridges-e2e-"));
  tarball = packPackage(work);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

function example(name: string): unknown[] {
  return JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "examples", name), "utf8"));
}

function calls(courier: CourierSim, action: string): Array<Record<string, string>> {
  return courier.accepted.filter((c) => c.action === action).map((c) => c.params);
}

function uuid(i: number): string {
  return `0191e180-7d60-7000-a000-${String(i).padStart(12, "0")}`;
}

async function sendAll(red: NodeRed, texts: string[]): Promise<number[][]> {
  return Promise.all(
    texts.map((text, i) =>
      sendMt({ sendUrl: `${red.url}/rapidpro/send`, body: DEFAULT_SEND_BODY, authorization: AUTH, maxLength: 640 }, { uuid: uuid(i), to: "+250788383383", text }).then((parts) =>
        parts.map((p) => p.status),
      ),
    ),
  );
}

describe("RapidPro ⇄ SMPP bridge", () => {
  let courier: CourierSim;
  let smsc: SmscSim;
  let red: NodeRed;

  before(async () => {
    courier = await startCourier({ channelUuid: CHANNEL });
    smsc = await startSmsc({ port: 0, receiptDelayMs: 200, redeliverMs: 500 });
    const userDir = path.join(work, "smpp-user");
    installTarball(userDir, tarball);
    red = await startNodeRed({
      userDir,
      port: await freePort(),
      flows: example("rapidpro-smpp-bridge.json"),
      env: smppBridgeEnv({ courierUrl: courier.url, smscPort: smsc.port, auth: AUTH }),
    });
  });
  after(async () => {
    await red?.stop();
    await smsc?.close();
    await courier?.close();
  });

  test("every MT gets its reply, its receipt and one delivered status; long and Unicode texts reach the SMSC whole", async () => {
    const texts = [...Array.from({ length: 40 }, (_, i) => `Message ${i} from RapidPro`), "Привет ☺", LONG_CYRILLIC, LONG_GSM];
    const replies = await sendAll(red, texts);
    assert.deepEqual(replies, texts.map(() => [200]));

    await waitFor(() => new Set(calls(courier, "delivered").map((p) => p.uuid)).size >= texts.length, "a delivered status per MT", 20_000);
    await new Promise((r) => setTimeout(r, 500)); // time for a duplicate to show, if there were one
    const delivered = calls(courier, "delivered").map((p) => p.uuid);
    assert.deepEqual([...delivered].sort(), texts.map((_, i) => uuid(i)).sort(), "one delivered status per MT");
    assert.deepEqual(courier.refused, []);

    // What reached the SMSC, reassembled from the submitted parts, is what RapidPro sent.
    // A submit_sm carries the same content fields as an MO deliver_sm, so the MO reader
    // (UDH or SAR, GSM or UCS-2) puts the parts back together.
    const reassembler = new Reassembler<undefined>({ onFlush: () => assert.fail("a submitted part never found its siblings") });
    const whole: string[] = [];
    for (const { pdu } of smsc.submitted) {
      const content = readDeliverSm(pdu as never, { reassembler });
      if (content.kind === "mo") whole.push(content.mo.text);
      else assert.equal(content.kind, "pending", JSON.stringify(content));
    }
    assert.deepEqual([...whole].sort(), [...texts].sort());
  });

  test("every MO arrives at courier, long and Unicode ones reassembled, acknowledged only after RapidPro took it", async () => {
    const mos = ["Hello", "Ответ ☺", LONG_CYRILLIC, "STOP me not"];
    const statuses = await Promise.all(mos.map((text) => smsc.sendMo({ from: "+250788123123", to: "2020", text })));
    assert.ok(statuses.flat().every((s) => s === 0), `deliver_sm_resp ${JSON.stringify(statuses)}`);
    await waitFor(() => calls(courier, "receive").length >= mos.length, "every MO at courier", 15_000);
    const received = courier.accepted.filter((c) => c.action === "receive");
    assert.deepEqual(received.map((c) => c.params.text).sort(), [...mos].sort());
    assert.ok(received.every((c) => c.params.from === "+250788123123" && /T.*(Z|[+-]\d\d:\d\d)$/.test(c.params.date)));
  });
});

describe("RapidPro ⇄ Rapporto bridge", () => {
  let courier: CourierSim;
  let rapporto: RapportoSim;
  let red: NodeRed;

  before(async () => {
    courier = await startCourier({ channelUuid: CHANNEL });
    rapporto = await new RapportoSim({ serviceId: "bridge-svc", pass: "bridge-pass", dlrDelayMs: 200 }).start();
    const userDir = path.join(work, "rapporto-user");
    installTarball(userDir, tarball);
    const port = await freePort();
    rapporto.setMoUrl(`http://127.0.0.1:${port}/rapporto/mo`);
    rapporto.setDlrUrl(`http://127.0.0.1:${port}/rapporto/dlr`);
    red = await startNodeRed({
      userDir,
      port,
      flows: example("rapidpro-rapporto-bridge.json"),
      env: {
        RAPIDPRO_URL: courier.url,
        RAPIDPRO_CHANNEL_UUID: CHANNEL,
        RAPIDPRO_AUTH: AUTH,
        RAPPORTO_MT_URL: rapporto.mtUrl,
        RAPPORTO_SERVICE_ID: "bridge-svc",
        RAPPORTO_PASS: "bridge-pass",
        RAPPORTO_SOURCE: "Bridge",
        RAPPORTO_ALLOWED_IPS: "127.0.0.1, ::1",
      },
    });
  });
  after(async () => {
    await red?.stop();
    await rapporto?.close();
    await courier?.close();
  });

  test("every MT gets its reply, its DLR and one delivered status; Unicode is sent as UTF-8", async () => {
    const texts = [...Array.from({ length: 15 }, (_, i) => `Сообщение ${i} ☺ +1`), LONG_CYRILLIC];
    const replies = await sendAll(red, texts);
    assert.deepEqual(replies, texts.map(() => [200]));
    assert.deepEqual(rapporto.sent.map((m) => m.message).sort(), [...texts].sort(), "each MT sent once, text intact");
    assert.deepEqual(rapporto.sent.map((m) => m.ptag).sort(), texts.map((_, i) => uuid(i)).sort());
    await waitFor(() => new Set(calls(courier, "delivered").map((p) => p.uuid)).size >= texts.length, "a delivered status per MT", 20_000);
    await new Promise((r) => setTimeout(r, 500));
    const delivered = calls(courier, "delivered").map((p) => p.uuid);
    assert.deepEqual([...delivered].sort(), texts.map((_, i) => uuid(i)).sort());
    assert.deepEqual(courier.refused, []);
  });

  test("an MO pushed by Rapporto arrives at courier and is answered 204 once RapidPro has it", async () => {
    const answer = await rapporto.pushMo({
      clientId: "79161234567",
      message: "Привет +1 😀",
      serviceId: "bridge-svc",
      receivedDate: "2026-05-01 13:00:00",
      shortNumber: "0000",
      messageId: "e2e-mo-1",
      sum_sms: "1",
    });
    assert.equal(answer.status, 204);
    await waitFor(() => calls(courier, "receive").length >= 1, "the MO at courier", 10_000);
    const mo = courier.accepted.filter((c) => c.action === "receive").pop();
    assert.equal(mo?.params.text, "Привет +1 😀");
    assert.match(mo?.params.from ?? "", /79161234567$/);
  });
});
