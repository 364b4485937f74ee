/**
 * Fault tests of the SMPP bridge (issue 5): the shipped example flow in a real Node-RED, the
 * package installed from its tarball, courier and the SMSC simulated. Each test counts every
 * message at both ends while a fault happens, then checks: every MT answered 200 (after
 * courier's retries), every receipt turned into exactly one `delivered` for its uuid and
 * nothing after it, every MO at courier's `receive`, nothing refused by courier, and nothing
 * left unacknowledged at the SMSC.
 *
 * The SMSC simulator runs store and forward (`redeliverMs`), as a real SMSC does: a receipt
 * or MO not acknowledged ESME_ROK is sent again, so "nothing lost" is the bridge's doing.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  assertNothingLost,
  installedTemplate,
  mtUuid,
  printReport,
  repeatedCalls,
  repeatsOfKill,
  sendAllMt,
  settle,
  startBridge,
  tempWork,
  type Bridge,
} from "../helpers/bridge-ledger";
import { runWithKill } from "../helpers/kill-run";
import { redisSkipReason, startRedis, type RedisServer } from "../helpers/redis-server";
import { waitFor } from "../helpers/wait";

describe("SMPP bridge under faults: every message counted at both ends", { timeout: 300_000 }, () => {
  let work: string;
  let template: string;
  const bridges: Bridge[] = [];
  const redises: RedisServer[] = [];

  before(() => {
    work = tempWork("rp-faults-");
    template = installedTemplate(work);
  });

  after(async () => {
    for (const bridge of bridges) {
      if (/uncaught|TypeError|ReferenceError/i.test(bridge.log())) console.log(bridge.log().slice(-5000));
      await bridge.close();
    }
    for (const redis of redises) await redis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  });

  async function bridgeFor(name: string, smsc: Parameters<typeof startBridge>[0]["smsc"], storeUrl?: string): Promise<Bridge> {
    // Every test has ENROUTE then DELIVRD receipts, so the order of `sent` and `delivered` is tested under each fault.
    const bridge = await startBridge({ template, userDir: path.join(work, name), smsc: { redeliverMs: 1000, ...smsc }, storeUrl, enroute: true });
    bridges.push(bridge);
    return bridge;
  }

  test("1,000 MT while the SMSC drops the connection twice", async () => {
    const bridge = await bridgeFor("drops", { receiptDelayMs: 300 });
    const uuids = Array.from({ length: 1000 }, (_, i) => mtUuid(1, i));
    const drops: number[] = [];
    const outcomes = await sendAllMt({
      sendUrl: bridge.sendUrl,
      uuids,
      textOf: (i) => `drops MT ${i}`,
      concurrency: 30,
      deadlineMs: 120_000,
      // Drop at a third and at two thirds, with submits and receipts in flight both times.
      onAnswered: (n) => {
        if (n === 330 || n === 660) drops.push(bridge.smsc.drop());
      },
    });
    const report = await settle(bridge, outcomes, [], 45_000);
    printReport("smsc drops", report);
    console.log(`[smsc drops] connections dropped: ${drops.join(", ")}; binds ${JSON.stringify(bridge.smsc.counters.binds)}`);
    assert.equal(drops.length, 2, "the connection was dropped twice");
    assert.ok(bridge.smsc.counters.binds.transceiver >= 3, "the bridge bound again after each drop");
    assertNothingLost(report, bridge);
  });

  test("kill -9 of Node-RED between submits and their receipts, then restart", async () => {
    // Receipts come 3 s after each submit, so the kill falls between many submits and their
    // receipts; MT keep coming (courier retries through the outage) and MOs arrive meanwhile.
    const bridge = await bridgeFor("kill", { receiptDelayMs: 3000 });
    const moTexts = Array.from({ length: 40 }, (_, i) => `kill MO ${i}`);
    // Receipts and MOs the SMSC had sent and not yet seen acknowledged: only these can come again after the kill.
    let smscAtKill = { submitted: 0, receipts: 0, unacknowledged: 0 };
    const { outcomes, killedAt } = await runWithKill(bridge, {
      uuids: Array.from({ length: 400 }, (_, i) => mtUuid(2, i)),
      textOf: (i) => `kill MT ${i}`,
      moTexts,
      killAtAnswer: 200,
      deadlineMs: 120_000,
      atKill: () => {
        const c = bridge.smsc.counters;
        smscAtKill = { submitted: c.accepted, receipts: c.receiptsSent, unacknowledged: c.receiptsSent + c.mosSent - (c.deliverResps[0] ?? 0) };
      },
      smscState: () => bridge.smsc.counters,
    });
    const report = await settle(bridge, outcomes, moTexts, 45_000);
    printReport("kill -9", report);
    const repeats = [...repeatedCalls(bridge)];
    console.log(
      `[kill -9] at the kill the SMSC had accepted ${smscAtKill.submitted} submits, sent ${smscAtKill.receipts} receipts, ` +
        `${smscAtKill.unacknowledged} receipts or MOs were not yet acknowledged, courier had accepted ${killedAt.courierAccepted} calls ` +
        `and the outbox held ${killedAt.outbox.size}; the MO awaiting its answer was ${JSON.stringify(killedAt.moAtKill)}; calls accepted twice: ${JSON.stringify(repeats)}`,
    );
    // What a kill -9 may repeat, and nothing else (test/helpers/bridge-ledger.ts, repeatsOfKill).
    const inFlightAtKill = repeatsOfKill(killedAt);
    assert.ok(repeats.length <= 32, `${repeats.length} calls repeated, more than the outbox delivers at once`);
    // 404s: Node-RED answers them on restart until the flow's route exists; courier retries.
    assertNothingLost(report, bridge, { notFound: Number.POSITIVE_INFINITY, mayRepeat: inFlightAtKill });
  });

  test("kill -9 while parts of a long MO are held, then restart: the rest completes it", async () => {
    const bridge = await bridgeFor("kill-parts", { receiptDelayMs: 500 });
    const text = "Parts of a long MO are acknowledged while held, so they must outlive a kill -9. ".repeat(4).trim();
    const mo = { from: "+250788123123", to: "2020", text, reference: 77 };
    // Parts 1 and 2 arrive and are acknowledged: from now on only the bridge has them.
    assert.deepEqual(await bridge.smsc.sendMo({ ...mo, only: [1, 2] }), [0, 0]);
    await bridge.kill();
    await bridge.restart();
    await waitFor(() => bridge.smsc.counters.binds.transceiver >= 2, "the bind after the restart", 30_000);
    assert.deepEqual(await bridge.smsc.sendMo({ ...mo, only: [3] }), [0]);
    await waitFor(() => bridge.courier.accepted.some((c) => c.action === "receive"), "the MO at courier", 15_000);
    const received = bridge.courier.accepted.filter((c) => c.action === "receive").map((c) => c.params.text);
    assert.deepEqual(received, [text]);
  });

  test("RapidPro down for 30 s while MO and receipts arrive", async () => {
    const bridge = await bridgeFor("rapidpro-down", { receiptDelayMs: 500 });
    const uuids = Array.from({ length: 300 }, (_, i) => mtUuid(3, i));
    const moTexts = Array.from({ length: 60 }, (_, i) => `down MO ${i}`);
    // Half the MT before the outage, so their receipts arrive during it.
    const first = await sendAllMt({ sendUrl: bridge.sendUrl, uuids: uuids.slice(0, 150), textOf: (i) => `down MT ${i}`, concurrency: 25, deadlineMs: 60_000 });
    bridge.courier.setMode("down");
    const downAt = bridge.courier.accepted.length;
    const during = sendAllMt({ sendUrl: bridge.sendUrl, uuids: uuids.slice(150), textOf: (i) => `down MT ${150 + i}`, concurrency: 25, deadlineMs: 60_000 });
    const mos = Promise.all(moTexts.map((text, i) => new Promise((r) => setTimeout(r, i * 300)).then(() => bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text }))));
    await new Promise((r) => setTimeout(r, 30_000));
    const acceptedWhileDown = bridge.courier.accepted.length - downAt;
    bridge.courier.setMode("ok");
    const outcomes = [...first, ...(await during)];
    await mos;
    const report = await settle(bridge, outcomes, moTexts, 45_000);
    printReport("rapidpro down", report);
    console.log(`[rapidpro down] courier requests in total ${bridge.courier.requests}, accepted while down ${acceptedWhileDown}`);
    assert.equal(acceptedWhileDown, 0, "courier took nothing while down");
    assertNothingLost(report, bridge);
  });

  test("Redis restarted mid-run (STORE_URL=redis)", { skip: redisSkipReason || undefined }, async () => {
    const redis = await startRedis({ appendonly: true });
    redises.push(redis);
    const bridge = await bridgeFor("redis", { receiptDelayMs: 500 }, redis.url);
    const uuids = Array.from({ length: 500 }, (_, i) => mtUuid(4, i));
    const moTexts = Array.from({ length: 40 }, (_, i) => `redis MO ${i}`);
    let restarted: Promise<void> | undefined;
    const sending = sendAllMt({
      sendUrl: bridge.sendUrl,
      uuids,
      textOf: (i) => `redis MT ${i}`,
      concurrency: 25,
      deadlineMs: 120_000,
      onAnswered: (n) => {
        if (n === 250) {
          const started = Date.now();
          restarted = redis.restart().then(() => console.log(`[redis restart] Redis was down ${Date.now() - started} ms, restarted after ${n} MT answered`));
        }
      },
    });
    const mos = Promise.all(moTexts.map((text, i) => new Promise((r) => setTimeout(r, i * 100)).then(() => bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text }))));
    const outcomes = await sending;
    await mos;
    assert.ok(restarted, "Redis was restarted");
    await restarted;
    const report = await settle(bridge, outcomes, moTexts, 45_000);
    printReport("redis restart", report);
    assertNothingLost(report, bridge);
  });
});
