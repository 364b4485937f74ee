/**
 * Fault tests of the CIMD2 bridge (issue #16): examples/rapidpro-cimd2-bridge.json in a real
 * Node-RED from the packed package (test/helpers/cimd2-bridge.ts), courier and the SMSC
 * simulated; the MT sender and courier-call keys are test/helpers/bridge-ledger.ts's. Each test
 * counts both ends while a fault happens: every MT answered 200 (after courier-style retries),
 * submitted once, exactly one `delivered` per uuid and nothing after it, every MO at courier,
 * nothing refused by courier, no call accepted twice (after a kill -9 only what the outbox or
 * the SMSC had in flight, as faults.test.ts explains).
 *
 * sim/cimd2 runs store and forward (`redeliverMs`): a report or MO not answered with a plain
 * 70 / 73 is sent again, so "nothing lost" is the bridge's doing.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { installedTemplate, mtUuid, outboxCalls, repeatedCalls, repeatsOfKill, sendAllMt, tempWork, type MtOutcome } from "../helpers/bridge-ledger";
import { startCimd2Bridge, type Cimd2Bridge } from "../helpers/cimd2-bridge";

interface Counts {
  not200: string[];
  missingDelivered: string[];
  statusAfterDelivered: string[];
  submittedTwice: string[];
  missingMo: string[];
  repeated: Array<[string, { times: number; first: number }]>;
  refused: number;
  /** Reports and MO the SMSC still holds, not acknowledged with a plain 70 / 73. */
  held: number;
}

function count(bridge: Cimd2Bridge, outcomes: MtOutcome[], moTexts: string[]): Counts {
  const actions = new Map<string, string[]>();
  for (const call of bridge.courier.accepted) {
    if (call.action === "receive" || call.action === "stopped") continue;
    const uuid = call.params.uuid ?? call.params.id;
    actions.set(uuid, [...(actions.get(uuid) ?? []), call.action]);
  }
  const submits = new Map<string, number>();
  for (const s of bridge.smsc.submitted) submits.set(s.text ?? "", (submits.get(s.text ?? "") ?? 0) + 1);
  const received = new Set(bridge.courier.accepted.filter((c) => c.action === "receive").map((c) => c.params.text));
  return {
    not200: outcomes.filter((o) => o.status !== 200).map((o) => `${o.uuid} ${o.history.join(",")}`),
    missingDelivered: outcomes.filter((o) => !(actions.get(o.uuid) ?? []).includes("delivered")).map((o) => o.uuid),
    statusAfterDelivered: outcomes.filter((o) => {
      const list = actions.get(o.uuid) ?? [];
      return list.indexOf("delivered") >= 0 && list.slice(list.indexOf("delivered") + 1).some((a) => a !== "delivered");
    }).map((o) => o.uuid),
    submittedTwice: [...submits].filter(([, n]) => n > 1).map(([text]) => text),
    missingMo: moTexts.filter((t) => !received.has(t)),
    repeated: [...repeatedCalls(bridge)],
    refused: bridge.courier.refused.length,
    held: bridge.smsc.held,
  };
}

/**
 * Waits (bounded) until every uuid is delivered, every MO arrived and the SMSC holds nothing
 * unacknowledged (a report of an MT submitted twice waits out the bridge's unmatched wait,
 * 20 s, before it is answered), then 3 s more for a late duplicate.
 */
async function settle(bridge: Cimd2Bridge, outcomes: MtOutcome[], moTexts: string[], timeoutMs: number): Promise<Counts> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    const c = count(bridge, outcomes, moTexts);
    if (c.missingDelivered.length === 0 && c.missingMo.length === 0 && c.held === 0) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  await new Promise((r) => setTimeout(r, 3000));
  const counts = count(bridge, outcomes, moTexts);
  console.log(`[cimd2 faults] ${JSON.stringify({ ...counts, missingDelivered: counts.missingDelivered.slice(0, 10), not200: counts.not200.slice(0, 5) })}`);
  return counts;
}

function assertNothingLost(c: Counts, options: { submittedTwice?: number; mayRepeat?: (key: string, repeat: { times: number; first: number }) => boolean } = {}): void {
  assert.deepEqual(c.not200, [], "every MT answered 200 after courier-style retries");
  assert.equal(c.refused, 0, "courier refused no call");
  assert.deepEqual(c.missingDelivered, [], "every MT reported delivered");
  assert.deepEqual(c.statusAfterDelivered, [], "no status after delivered");
  assert.deepEqual(c.missingMo, [], "every MO reached courier");
  assert.equal(c.held, 0, "the SMSC holds no unacknowledged report or MO");
  assert.ok(c.submittedTwice.length <= (options.submittedTwice ?? 0), `submitted twice: ${JSON.stringify(c.submittedTwice)}`);
  assert.deepEqual(c.repeated.filter(([key, repeat]) => !options.mayRepeat?.(key, repeat)), [], "no status or MO accepted by courier twice");
}

/** `promise`, or a failure saying what did not happen (and `state()`) once `until` (a Date.now()) passes. */
async function byDeadline<T>(until: number, promise: Promise<T>, what: string, state: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen in time; ${JSON.stringify(state())}`)), Math.max(0, until - Date.now()));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}

describe("CIMD2 bridge under faults: every message counted at both ends", { timeout: 300_000 }, () => {
  let work: string;
  let template: string;
  const bridges: Cimd2Bridge[] = [];
  before(() => {
    work = tempWork("cimd2-faults-");
    template = installedTemplate(work);
  });
  after(async () => {
    for (const bridge of bridges) {
      if (/uncaught|TypeError|ReferenceError/i.test(bridge.log())) console.log(bridge.log().slice(-5000));
      await bridge.close();
    }
    fs.rmSync(work, { recursive: true, force: true });
  });
  async function bridgeFor(name: string, reportDelayMs: number): Promise<Cimd2Bridge> {
    const bridge = await startCimd2Bridge({ template, userDir: path.join(work, name), sim: { reportDelayMs, redeliverMs: 1000 } });
    bridges.push(bridge);
    return bridge;
  }

  test("500 MT while the SMSC drops the connection twice", async () => {
    const bridge = await bridgeFor("drops", 300);
    let drops = 0;
    const outcomes = await sendAllMt({
      sendUrl: bridge.sendUrl,
      uuids: Array.from({ length: 500 }, (_, i) => mtUuid(11, i)),
      textOf: (i) => `drops MT ${i}`,
      concurrency: 20,
      deadlineMs: 150_000,
      onAnswered: (n) => {
        if (n === 160 || n === 330) {
          bridge.smsc.dropConnections();
          drops += 1;
        }
      },
    });
    const counts = await settle(bridge, outcomes, [], 60_000);
    assert.equal(drops, 2);
    assert.ok(bridge.smsc.counters.logins >= 3, `logged in again after each drop: ${bridge.smsc.counters.logins}`);
    // A submit in flight when the connection dropped may have been accepted with its 53 lost:
    // it goes again (at-least-once, decision 24), so the phone may get that one twice.
    assertNothingLost(counts, { submittedTwice: 2 * 1 });
  });

  // It once hung here: after the restart the simulator sent the ~150 reports it held at once, the 129th under the
  // packet number of the unanswered MO of the kill, which was then never answered (sim/cimd2.ts now keeps a window
  // and never reuses a number awaiting its response; test/sim/cimd2.test.ts "more deliveries than packet numbers").
  // Every wait below is bounded, so a hang fails with what was still missing.
  test("kill -9 of Node-RED between submits and their reports, then restart", async () => {
    const bridge = await bridgeFor("kill", 3000);
    const moTexts = Array.from({ length: 30 }, (_, i) => `kill MO ${i}`);
    // The MT and the MO share one deadline (a normal run is done in under 40 s); with an MT request still open
    // at it, 20 s more; then settle()'s 63 s: a hang fails with its reason within the suite's 300 s.
    const deadline = Date.now() + 120_000;
    let killed: Promise<void> | undefined;
    let moAwaiting: string | undefined;
    let moAtKill: string | undefined;
    const state = () => ({ smsc: bridge.smsc.counters, courierAccepted: bridge.courier.accepted.length, moAwaiting });
    const sending = sendAllMt({
      sendUrl: bridge.sendUrl,
      uuids: Array.from({ length: 300 }, (_, i) => mtUuid(12, i)),
      textOf: (i) => `kill MT ${i}`,
      concurrency: 20,
      deadlineMs: deadline - Date.now(),
      onAnswered: (n) => {
        if (n !== 150) return;
        moAtKill = moAwaiting;
        killed = bridge.kill();
      },
    });
    const mos = (async () => {
      for (const text of moTexts) {
        moAwaiting = text;
        await byDeadline(deadline, bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text }), `"${text}" answered 70 by the bridge`, state);
        moAwaiting = undefined;
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    // A failing MO loop must not go unobserved while the kill is awaited.
    mos.catch(() => undefined);
    const until = Date.now() + 60_000;
    while (!killed && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
    assert.ok(killed, `the kill happened (150 MT answered within 60 s): ${JSON.stringify(state())}`);
    await killed;
    const outbox = new Set(outboxCalls(bridge.userDir));
    await new Promise((r) => setTimeout(r, 2000));
    const courierAccepted = bridge.courier.accepted.length;
    await bridge.restart();
    const outcomes = await byDeadline(deadline + 20_000, sending, "every MT answered (courier-style sender)", state);
    await mos;
    const counts = await settle(bridge, outcomes, moTexts, 60_000);
    const inFlightAtKill = repeatsOfKill({ moAtKill, courierAccepted, outbox });
    // An MT the SMSC accepted whose store write the kill cut off is submitted again (docs/design.md, "What a kill -9 can still repeat").
    assertNothingLost(counts, { submittedTwice: 20, mayRepeat: inFlightAtKill });
  });

  test("RapidPro down for 30 s while MOs and reports arrive", async () => {
    const bridge = await bridgeFor("rapidpro-down", 500);
    const uuids = Array.from({ length: 200 }, (_, i) => mtUuid(13, i));
    const moTexts = Array.from({ length: 40 }, (_, i) => `down MO ${i}`);
    const first = await sendAllMt({ sendUrl: bridge.sendUrl, uuids: uuids.slice(0, 100), textOf: (i) => `down MT ${i}`, concurrency: 20, deadlineMs: 60_000 });
    bridge.courier.setMode("down");
    const downAt = bridge.courier.accepted.length;
    const during = sendAllMt({ sendUrl: bridge.sendUrl, uuids: uuids.slice(100), textOf: (i) => `down MT ${100 + i}`, concurrency: 20, deadlineMs: 60_000 });
    const mos = Promise.all(moTexts.map((text, i) => new Promise((r) => setTimeout(r, i * 500)).then(() => bridge.smsc.sendMo({ from: "+250788123123", to: "2020", text }))));
    await new Promise((r) => setTimeout(r, 30_000));
    const acceptedWhileDown = bridge.courier.accepted.length - downAt;
    bridge.courier.setMode("ok");
    const outcomes = [...first, ...(await during)];
    await mos;
    const counts = await settle(bridge, outcomes, moTexts, 60_000);
    assert.equal(acceptedWhileDown, 0, "courier took nothing while down");
    assertNothingLost(counts);
  });
});
