/**
 * Courier's split parts end to end: the SMPP, CIMD2 and Rapporto bridge examples in a real Node-RED with the packed
 * package, against the courier, SMSC and Rapporto simulators. Courier sends a text longer than
 * the channel's `max_length` (UTF-8 bytes) as one request per part, every part with the same id
 * (reference rapidpro-external-channel.md §4.1); each part must reach the phone exactly once and
 * RapidPro get one `delivered` for the id, also across a kill -9 between the parts and courier's
 * resends ("Parts already accepted are re-sent when a retry (E) happens").
 *
 * The simulated aggregators send their receipts 1 s after accepting a part, as real ones do
 * (seconds later): courier's next part is submitted by then (see docs/design.md, the delivery
 * core, on a receipt that comes before courier's next part). While Node-RED is down, Rapporto
 * pushes a DLR again and again (the simulator up to 200 times, as Rapporto retries an MO).
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { freePort, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { sendMt, splitText, startCourier, type CourierSim, type ExChannelConfig } from "../../sim/courier";
import { RapportoSim } from "../../sim/rapporto";
import { AUTH, CHANNEL, COURIER_CONFIGS, installedTemplate, startBridge, tempWork, type Bridge } from "../helpers/bridge-ledger";
import { startCimd2Bridge, type Cimd2Bridge } from "../helpers/cimd2-bridge";
import { waitFor } from "../helpers/wait";

const RECEIPT_DELAY_MS = 1000;

/** Courier's channel settings as courier's own tests have them (test/helpers/bridge-ledger.ts). */
const CHANNELS = COURIER_CONFIGS;

const uuidOf = (run: number, n: number) => `0191e180-7d60-7${String(run).padStart(3, "0")}-a000-${String(n).padStart(12, "0")}`;

/** One part as courier sends it: the part's text in one request (it needs no more splitting). */
async function sendPart(config: ExChannelConfig, uuid: string, text: string): Promise<number> {
  const [result] = await sendMt({ ...config, maxLength: 6400, authorization: AUTH, channelUuid: CHANNEL }, { uuid, to: "+250788383383", text });
  return result.status;
}

/** The statuses courier accepted for one uuid, in order. */
function statusesOf(courier: CourierSim, uuid: string): string[] {
  return courier.accepted.filter((c) => c.action !== "receive" && c.action !== "stopped" && (c.params.uuid ?? c.params.id) === uuid).map((c) => c.action);
}

interface Under {
  courier: CourierSim;
  red(): NodeRed;
  /** The texts that reached the phone, one entry per SMS. */
  phone(): string[];
  kill(): Promise<void>;
  restart(): Promise<void>;
  log(): string;
}

/** Runs the table against one bridge. */
function splitCases(name: string, open: () => Promise<Under>, close: () => Promise<void>): void {
  describe(`courier's split parts through the ${name} bridge`, () => {
    let under: Under;
    before(async () => {
      under = await open();
    });
    after(close);

    CHANNELS.forEach((channel, n) => {
      test(`${channel.name}: 3 requests, each text on the phone once, one 'delivered' when all are`, async () => {
        const parts = splitText(channel.text, channel.config("").maxLength ?? 160);
        assert.equal(parts.length, 3, `courier splits it into 3 parts: ${JSON.stringify(parts)}`);
        const uuid = uuidOf(1, n);
        const before = under.phone().length;
        const replies = await sendMt({ ...channel.config(`${under.red().url}/rapidpro/send`), authorization: AUTH, channelUuid: CHANNEL }, { uuid, to: "+250788383383", text: channel.text });
        assert.deepEqual(replies.map((r) => r.status), [200, 200, 200]);
        await waitFor(() => statusesOf(under.courier, uuid).includes("delivered"), "the delivered status", 20_000);
        await new Promise((r) => setTimeout(r, RECEIPT_DELAY_MS + 500)); // time for a duplicate to show
        assert.deepEqual(under.phone().slice(before), parts);
        assert.deepEqual(statusesOf(under.courier, uuid).filter((s) => s === "delivered"), ["delivered"]);
        assert.ok(statusesOf(under.courier, uuid).filter((s) => s === "sent").length <= 1);
      });
    });

    test("kill -9 between the parts, restart, courier's resends of all parts: each text once, one 'delivered'", async () => {
      const channel = CHANNELS[0];
      const parts = splitText("Resent after a crash: this long message will be longer than 30....... characters", 30);
      assert.equal(parts.length, 3);
      const uuid = uuidOf(2, 1);
      const before = under.phone().length;
      const config = () => channel.config(`${under.red().url}/rapidpro/send`);
      assert.deepEqual([await sendPart(config(), uuid, parts[0]), await sendPart(config(), uuid, parts[1])], [200, 200]);
      await under.kill();
      await under.restart();
      // Courier marks the message errored (the third request failed) and retries it: every part again.
      const replies = [];
      for (const part of parts) replies.push(await sendPart(config(), uuid, part));
      assert.deepEqual(replies, [200, 200, 200]);
      await waitFor(() => statusesOf(under.courier, uuid).includes("delivered"), "the delivered status", 30_000);
      await new Promise((r) => setTimeout(r, RECEIPT_DELAY_MS + 500));
      assert.deepEqual(under.phone().slice(before), parts, under.log().slice(-3000));
      assert.deepEqual(statusesOf(under.courier, uuid).filter((s) => s === "delivered"), ["delivered"]);
    });
  });
}

let work: string;
let template: string;
before(() => {
  work = tempWork("split-e2e-");
  template = installedTemplate(work);
});
after(() => fs.rmSync(work, { recursive: true, force: true }));

let smpp: Bridge | undefined;
splitCases(
  "SMPP",
  async () => {
    smpp = await startBridge({ template, userDir: path.join(work, "smpp"), smsc: { receiptDelayMs: RECEIPT_DELAY_MS, redeliverMs: 500 } });
    const bridge = smpp;
    return {
      courier: bridge.courier,
      red: () => bridge.red,
      phone: () => bridge.smsc.submitted.map((r) => String((r.pdu.short_message as { message?: unknown } | undefined)?.message ?? "")),
      kill: () => bridge.kill(),
      restart: () => bridge.restart(),
      log: () => bridge.log(),
    };
  },
  async () => {
    await smpp?.close();
  },
);

let rapporto: { courier: CourierSim; sim: RapportoSim; red: NodeRed } | undefined;
splitCases(
  "Rapporto",
  async () => {
    const courier = await startCourier({ channelUuid: CHANNEL });
    const sim = await new RapportoSim({ serviceId: "bridge-svc", pass: "bridge-pass", dlrDelayMs: RECEIPT_DELAY_MS, dlrRetryMs: 300, dlrMaxTries: 200 }).start();
    const userDir = path.join(work, "rapporto");
    fs.cpSync(template, userDir, { recursive: true });
    const port = await freePort();
    sim.setMoUrl(`http://127.0.0.1:${port}/rapporto/mo`);
    sim.setDlrUrl(`http://127.0.0.1:${port}/rapporto/dlr`);
    const env = {
      RAPIDPRO_URL: courier.url,
      RAPIDPRO_CHANNEL_UUID: CHANNEL,
      RAPIDPRO_AUTH: AUTH,
      RAPPORTO_MT_URL: sim.mtUrl,
      RAPPORTO_SERVICE_ID: "bridge-svc",
      RAPPORTO_PASS: "bridge-pass",
      RAPPORTO_SOURCE: "Bridge",
      RAPPORTO_ALLOWED_IPS: "127.0.0.1, ::1",
    };
    const flows = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "examples", "rapidpro-rapporto-bridge.json"), "utf8")) as unknown[];
    rapporto = { courier, sim, red: await startNodeRed({ userDir, port, flows, env }) };
    const state = rapporto;
    let earlier = "";
    return {
      courier,
      red: () => state.red,
      phone: () => sim.sent.map((m) => m.message),
      kill: () => state.red.stop("SIGKILL"),
      restart: async () => {
        earlier += state.red.log();
        state.red = await startNodeRed({ userDir, port, env });
      },
      log: () => earlier + state.red.log(),
    };
  },
  async () => {
    await rapporto?.red.stop().catch(() => undefined);
    await rapporto?.sim.close();
    await rapporto?.courier.close();
  },
);

let cimd2: Cimd2Bridge | undefined;
splitCases(
  "CIMD2",
  async () => {
    cimd2 = await startCimd2Bridge({ template, userDir: path.join(work, "cimd2"), sim: { reportDelayMs: RECEIPT_DELAY_MS, redeliverMs: 500 } });
    const bridge = cimd2;
    return { courier: bridge.courier, red: () => bridge.red, phone: () => bridge.smsc.submitted.map((r) => r.text ?? ""), kill: bridge.kill, restart: bridge.restart, log: bridge.log };
  },
  async () => {
    await cimd2?.close();
  },
);
