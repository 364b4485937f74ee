/**
 * End to end: the packed package installed into a fresh Node-RED user directory (as the palette
 * manager does), the RapidPro example flow deployed through the Admin API, and courier played
 * by sim/courier: MT requests in, replies out, statuses and an MO back to courier.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort, installTarball, packPackage, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { DEFAULT_SEND_BODY, sendMt, startCourier, type CourierSim } from "../../sim/courier";

const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const AUTH = "Token e2e-secret";
const NODE_TYPES = ["rapidpro-channel", "rapidpro-in", "rapidpro-out"];

describe("RapidPro example flow in a real Node-RED", () => {
  let courier: CourierSim;
  let red: NodeRed;
  let work: string;

  before(async () => {
    work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-e2e-"));
    const tarball = packPackage(work);
    const userDir = path.join(work, "user");
    installTarball(userDir, tarball);
    courier = await startCourier({ channelUuid: CHANNEL });
    const flows = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "examples", "rapidpro-external-channel.json"), "utf8"));
    red = await startNodeRed({
      userDir,
      port: await freePort(),
      flows,
      env: { RAPIDPRO_URL: courier.url, RAPIDPRO_CHANNEL_UUID: CHANNEL, RAPIDPRO_AUTH: AUTH },
    });
  });

  after(async () => {
    await red?.stop();
    await courier?.close();
    if (red && /uncaught|TypeError|ReferenceError/i.test(red.log())) console.log(red.log());
    fs.rmSync(work, { recursive: true, force: true });
  });

  test("the installed module registers every node type without error", async () => {
    const nodes = await red.admin<Array<{ module: string; types: string[]; err?: string | null }>>("/nodes");
    const ours = nodes.filter((n) => n.module === "node-red-contrib-rapidpro-sms");
    const types = ours.flatMap((n) => n.types);
    for (const type of NODE_TYPES) assert.ok(types.includes(type), `${type} registered`);
    assert.deepEqual(ours.filter((n) => n.err).map((n) => n.err), []);
  });

  test("courier's MT requests are answered 200 and each message is reported delivered", async () => {
    const uuids = Array.from({ length: 20 }, (_, i) => `0191e180-7d60-7000-aded-${String(i).padStart(12, "0")}`);
    const sendUrl = `${red.url}/rapidpro/send`;
    const results = await Promise.all(
      uuids.map((uuid, i) =>
        sendMt(
          i % 2 === 0
            ? { sendUrl, body: DEFAULT_SEND_BODY, authorization: AUTH }
            : { sendUrl, contentType: "json", body: '{"uuid":{{uuid}},"to":{{to}},"text":{{text}},"from":{{from}}}', authorization: AUTH },
          { uuid, to: "+250788383383", text: `Message ${i} ☺ & +` },
        ),
      ),
    );
    assert.deepEqual(results.map((r) => r.map((p) => p.status)), uuids.map(() => [200]));
    await courier.waitForAccepted(20, 15_000);
    const delivered = courier.accepted.filter((c) => c.action === "delivered").map((c) => c.params.uuid);
    assert.deepEqual(delivered.sort(), [...uuids].sort());
    assert.deepEqual(courier.refused, []);
  });

  test("a request without the channel's Authorization is refused 401", async () => {
    const [result] = await sendMt({ sendUrl: `${red.url}/rapidpro/send`, authorization: "Token wrong" }, { uuid: "0191e180-7d60-7000-aded-7d8b151cbd5b", to: "+1", text: "x" });
    assert.equal(result.status, 401);
  });

  test("an MO injected in the flow reaches courier's receive route", async () => {
    const before = courier.accepted.length;
    const res = await fetch(`${red.url}/inject/rp-mo`, { method: "POST" });
    assert.equal(res.status, 200);
    await courier.waitForAccepted(before + 1, 10_000);
    const mo = courier.accepted.find((c) => c.action === "receive");
    assert.deepEqual(mo?.params, { from: "+250788123123", text: "Hello from a phone", date: "2026-01-01T12:00:00Z" });
  });

  test("the secret is not in the deployed flow or the log", async () => {
    const flows = await red.admin<{ flows: unknown[] }>("/flows");
    assert.ok(!JSON.stringify(flows).includes("e2e-secret"));
    assert.ok(!red.log().includes("e2e-secret"));
  });
});
