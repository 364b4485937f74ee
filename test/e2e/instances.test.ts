/**
 * Several instances, one bridge (issue 17): two real Node-RED instances with the packed
 * package and examples/rapidpro-smpp-bridge.json, their store and outbox in Redis behind
 * Sentinel (a master, a replica, three sentinels), HAProxy in front of `/rapidpro/send`
 * checking `/rapidpro/health`, one SMSC simulator that both instances bind to and that sends
 * two receipts in three (and every other part of a long MO) to the *other* instance's bind.
 *
 * 1,000 MT (each with an ENROUTE and a DELIVRD receipt) and 300 MO (one in three in two parts)
 * while one Node-RED is killed with SIGKILL and started again, and the Redis master is killed
 * and Sentinel fails over; the second test also restarts the SMSC once. Counted at both ends:
 * every MT answered 2xx is on the SMSC once per text (a second copy only for an MT whose
 * answer the kill cut off), one `sent` and one `delivered` per message in that order, every MO
 * at courier (a repeat only for an MO the SMSC had to deliver again, or whose removal from the
 * outbox the kill cut off, reported), nothing left
 * unacknowledged at the SMSC. The p99 time from a DELIVRD receipt leaving the SMSC to its
 * status at courier is printed, with the slowest receipts and when the faults came: the
 * statuses whose outbox key the killed instance had leased wait for the lease (20 s, decision 46).
 *
 * Both variants take about 1.5 to 3 minutes on two loaded cores; they need redis-server,
 * redis-sentinel and haproxy (.ci/run installs them) and are skipped, saying so, without.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Redis from "ioredis";
import { parseRedisUrl } from "../../lib/store/redis-url";
import { startCourier } from "../../sim/courier";
import { freePort, PACKAGE_ROOT, startNodeRed, type NodeRed } from "../../sim/node-red";
import { startSmsc, type SubmitRecord } from "../../sim/smsc";
import { AUTH, callKey, CHANNEL, installedTemplate, mtUuid, printReport, sendAllMt, settle, smppBridgeEnv, smppLedger, tempWork, type Bridge, type MtOutcome } from "../helpers/bridge-ledger";
import { haproxySkipReason, startHaproxy, type LoadBalancer } from "../helpers/haproxy";
import { sentinelSkipReason, startSentinelSet } from "../helpers/redis-sentinel";

const skip = sentinelSkipReason || haproxySkipReason;
if (skip) console.log(`# several-instance tests skipped: ${skip}`);

const EXAMPLE = path.join(PACKAGE_ROOT, "examples", "rapidpro-smpp-bridge.json");
const MT_COUNT = 1_000;
const MO_COUNT = 300;
/** How long after the kill courier may still answer a call the killed instance made: far below the outbox lease (lib/store/queue-redis.ts). */
const KILL_GRACE_MS = 5_000;

interface Instance {
  name: string;
  port: number;
  userDir: string;
  red?: NodeRed;
  logs: string;
}

describe("several instances, one bridge", { skip, timeout: 900_000 }, () => {
  let work: string;
  let template: string;
  before(() => {
    work = tempWork("rapidpro-sms-instances-");
    template = installedTemplate(work);
  });
  after(() => {
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  for (const variant of [{ name: "kill -9 of an instance and a Redis failover", restartSmsc: false, run: 71 }, { name: "the same, and the SMSC restarts once", restartSmsc: true, run: 72 }]) {
    test(variant.name, async (t) => {
      const redis = await startSentinelSet();
      const courier = await startCourier({ channelUuid: CHANNEL });
      let receiptTurn = 0;
      let moTurn = 0;
      const smsc = await startSmsc({
        port: 0,
        receiptDelayMs: 600,
        redeliverMs: 1_000,
        chooseReceiver: ({ kind, receivers, submittedOn }) => {
          if (kind === "mo") return receivers[moTurn++ % receivers.length];
          const others = receivers.filter((id) => id !== submittedOn);
          // Two receipts in three go to the other instance's bind.
          if (receiptTurn++ % 3 === 0 && submittedOn !== undefined && receivers.includes(submittedOn)) return submittedOn;
          return others[receiptTurn % others.length] ?? receivers[0];
        },
      });
      const enrouteTimers = new Set<NodeJS.Timeout>();
      smsc.on("submit", (record: SubmitRecord) => {
        const timer = setTimeout(() => {
          enrouteTimers.delete(timer);
          void smsc.sendReceipt(record.messageId, "ENROUTE");
        }, 50);
        enrouteTimers.add(timer);
      });
      const receiptSentAt = new Map<string, number>();
      smsc.on("receipt", (r: { messageId: string; stat: string; at: number }) => {
        if (r.stat === "DELIVRD" && !receiptSentAt.has(r.messageId)) receiptSentAt.set(r.messageId, r.at);
      });

      const env = smppBridgeEnv({ courierUrl: courier.url, smscPort: smsc.port, auth: AUTH, storeUrl: redis.url });
      const flows = JSON.parse(fs.readFileSync(EXAMPLE, "utf8")) as unknown[];
      const instances: Instance[] = [];
      let lb: LoadBalancer | undefined;
      try {
        for (const name of ["a", "b"]) {
          const userDir = path.join(work, `${variant.run}-${name}`);
          fs.cpSync(template, userDir, { recursive: true });
          const instance: Instance = { name, port: await freePort(), userDir, logs: "" };
          instance.red = await startNodeRed({ userDir, port: instance.port, flows, env });
          instances.push(instance);
        }
        lb = await startHaproxy({ backends: instances.map((i) => i.port) });
        for (const instance of instances) await healthy(instance, 30_000);

        const uuids = Array.from({ length: MT_COUNT }, (_, i) => mtUuid(variant.run, i));
        const textOf = (i: number) => `multi ${variant.run} message ${i}`;
        const moTexts = Array.from({ length: MO_COUNT }, (_, i) =>
          i % 3 === 0 ? `mo ${variant.run} ${i} long ` + "x".repeat(170) : `mo ${variant.run} ${i}`,
        );

        // The faults, each at a point of the MT run.
        const faults: Promise<void>[] = [];
        const notes: string[] = [];
        /**
         * Per MO, per part, the tries the bridge may have taken: answered ESME_ROK, or not answered at all (a fault
         * cut the answer off, or it came after the SMSC's timeout). Each can have queued the MO once; a refusal cannot.
         */
        const moTakenTries = new Map<string, number[]>();
        const tookTry = (text: string) => (part: number, status: number) => {
          if (status !== 0 && status !== -1) return;
          const tries = moTakenTries.get(text) ?? [];
          tries[part - 1] = (tries[part - 1] ?? 0) + 1;
          moTakenTries.set(text, tries);
        };
        /** Calls in the shared outbox at the kill, and when: the killed instance was in the middle of some of them. */
        const queuedAtKill = new Set<string>();
        let killedAt = Infinity;
        const killAndRestart = async (instance: Instance) => {
          await instance.red!.stop("SIGKILL");
          killedAt = Date.now();
          for (const call of await outboxCalls(redis.url)) queuedAtKill.add(call);
          instance.logs += instance.red!.log() + "\n----- kill -9 -----\n";
          const started = Date.now();
          instance.red = await startNodeRed({ userDir: instance.userDir, port: instance.port, env });
          notes.push(`instance ${instance.name} killed and restarted in ${Date.now() - started} ms`);
        };
        /** Calls in the outbox on the new master right after the failover, for the report only: a failover may repeat nothing. */
        const queuedAtFailover = new Set<string>();
        const failover = async () => {
          const oldMaster = await redis.masterPort();
          const started = Date.now();
          await redis.nodes.find((n) => n.port === oldMaster)!.kill();
          const newMaster = await redis.waitForFailover(oldMaster, 30_000);
          for (const call of await outboxCalls(redis.url)) queuedAtFailover.add(call);
          notes.push(`Redis master ${oldMaster} killed, Sentinel promoted ${newMaster} after ${Date.now() - started} ms`);
          await redis.nodes.find((n) => n.port === oldMaster)!.start();
        };
        const faultTimes: string[] = [];
        const onAnswered = (answered: number) => {
          if (answered === 250 || answered === 550 || (answered === 800 && variant.restartSmsc)) faultTimes.push(`${answered === 250 ? "kill" : answered === 550 ? "failover" : "SMSC restart"} ${Date.now() - started}`);
          if (answered === 250) faults.push(killAndRestart(instances[0]));
          if (answered === 550) faults.push(failover());
          if (answered === 800 && variant.restartSmsc) {
            faults.push(smsc.restart(2_000).then(() => void notes.push("SMSC restarted after 2 s down")));
          }
        };

        const started = Date.now();
        const moRun = (async () => {
          let next = 0;
          const worker = async () => {
            while (next < moTexts.length) {
              const text = moTexts[next++];
              await smsc.sendMo({ from: `+2547000${String(next).padStart(5, "0")}`, to: "2020", text, onTry: tookTry(text) });
              await new Promise((r) => setTimeout(r, 150));
            }
          };
          await Promise.all(Array.from({ length: 4 }, worker));
        })();
        const outcomes: MtOutcome[] = await sendAllMt({ sendUrl: `${lb.url}/rapidpro/send`, uuids, textOf, concurrency: 24, deadlineMs: 150_000, onAnswered });
        await Promise.all(faults);
        await moRun;
        const fakeBridge = { courier, smsc, counts: smppLedger(smsc) } as unknown as Bridge;
        const report = await settle(fakeBridge, outcomes, moTexts, 60_000);
        const elapsed = Date.now() - started;
        for (const instance of instances) instance.logs += instance.red!.log();

        // Receipt to status: DELIVRD leaving the SMSC to `delivered` accepted by courier.
        const uuidOfText = new Map(outcomes.map((o) => [o.text, o.uuid]));
        const deliveredAt = new Map<string, number>();
        for (const call of courier.accepted) if (call.action === "delivered" && !deliveredAt.has(call.params.uuid ?? call.params.id)) deliveredAt.set(call.params.uuid ?? call.params.id, call.at);
        const latencies: number[] = [];
        const slowest: Array<{ uuid: string; ms: number; sentAt: number }> = [];
        for (const record of smsc.submitted) {
          const uuid = uuidOfText.get(String((record.pdu.short_message as { message?: unknown }).message ?? ""));
          const sentAt = receiptSentAt.get(record.messageId);
          const at = uuid ? deliveredAt.get(uuid) : undefined;
          if (uuid && sentAt !== undefined && at !== undefined && at >= sentAt) {
            latencies.push(at - sentAt);
            slowest.push({ uuid, ms: at - sentAt, sentAt: sentAt - started });
          }
        }
        latencies.sort((x, y) => x - y);
        slowest.sort((x, y) => y.ms - x.ms);
        const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((latencies.length * p) / 100))] ?? NaN;

        // Order per message: `sent` (ENROUTE) before `delivered`, each once.
        const actions = new Map<string, string[]>();
        for (const call of courier.accepted) {
          if (call.action !== "sent" && call.action !== "delivered") continue;
          const id = call.params.uuid ?? call.params.id;
          actions.set(id, [...(actions.get(id) ?? []), call.action]);
        }
        const outOfOrder = [...actions].filter(([, list]) => list.indexOf("sent") > list.indexOf("delivered") && list.includes("sent"));
        // A second copy of a text on the SMSC is allowed only for an MT whose answer a fault cut off.
        const cutOff = new Set(outcomes.filter((o) => o.history.some((s) => s === 0 || s >= 500)).map((o) => o.text));
        const submitsOfText = new Map<string, number>();
        for (const record of smsc.submitted) {
          const text = String((record.pdu.short_message as { message?: unknown }).message ?? "");
          submitsOfText.set(text, (submitsOfText.get(text) ?? 0) + 1);
        }
        const twice = [...submitsOfText].filter(([, n]) => n > 1);
        const twiceUnexplained = twice.filter(([text]) => !cutOff.has(text));
        // A call the killed instance had made when it died, but not yet taken off the shared outbox, is made again
        // by a survivor once the lease runs out: it was in the outbox at the kill, and courier first had it by
        // KILL_GRACE_MS after the kill (a request the dead instance had written may be answered a little later by
        // this busy process), long before a survivor could have taken it.
        const firstAcceptedAt = new Map<string, number>();
        for (const call of courier.accepted) {
          const key = callKey(call.action, call.params);
          if (!firstAcceptedAt.has(key)) firstAcceptedAt.set(key, call.at);
        }
        const cutByKill = (key: string) => queuedAtKill.has(key) && (firstAcceptedAt.get(key) ?? Infinity) <= killedAt + KILL_GRACE_MS;
        const duplicateMo = Object.keys(report.duplicateMo);
        // An MO reaches courier once per try the bridge may have taken (the SMSC delivers it again when a fault cut
        // off the answer, or it came too late; MOs carry no id to know a repeat by), and once more when the kill cut
        // off its removal from the outbox (a survivor calls courier again).
        const moAllowed = (text: string) => Math.max(1, ...Array.from(moTakenTries.get(text) ?? [], (n) => n ?? 0)) + (cutByKill(callKey("receive", { text })) ? 1 : 0);
        const duplicateMoUnexplained = duplicateMo.filter((text) => report.duplicateMo[text] > moAllowed(text)).map((text) => `${text} ×${report.duplicateMo[text]}`);
        const submittedTwice = (uuid: string) => cutOff.has(outcomes.find((o) => o.uuid === uuid)?.text ?? "") && (submitsOfText.get(outcomes.find((o) => o.uuid === uuid)?.text ?? "") ?? 0) > 1;
        // A message on the SMSC twice has two submissions, each with its own receipts and statuses.
        const sentTwiceUnexplained = report.duplicateSent.filter((uuid) => !cutByKill(`sent ${uuid}`) && !submittedTwice(uuid));
        const afterDeliveredUnexplained = report.statusAfterDelivered.filter(({ uuid }) => !submittedTwice(uuid));
        const deliveredTwiceUnexplained = Object.keys(report.duplicateDelivered).filter((uuid) => !cutByKill(`delivered ${uuid}`) && !submittedTwice(uuid));
        // For a failure: when courier had each unexplained repeat, next to the faults' times.
        const acceptedTimes = (key: string) =>
          courier.accepted
            .filter((c) => callKey(c.action, c.params) === key)
            .map((c) => c.at - started)
            .join("/");
        const repeatsUnexplained = [
          ...sentTwiceUnexplained.map((uuid) => `sent ${uuid}`),
          ...deliveredTwiceUnexplained.map((uuid) => `delivered ${uuid}`),
          ...duplicateMoUnexplained.map((text) => `receive ${text.replace(/ ×\d+$/, "")}`),
        ].map((key) => `${key} at ${acceptedTimes(key)} ms${queuedAtKill.has(key) ? ", queued at the kill" : ""}${queuedAtFailover.has(key) ? ", queued at the failover" : ""}`);
        printReport(`instances ${variant.run}`, report);
        t.diagnostic(`${variant.name}: ${elapsed} ms; ${notes.join("; ")}`);
        t.diagnostic(
          `MT ${report.mtAnswered200}/${MT_COUNT} answered 2xx (${report.mtRetried} retried), ${report.smscAccepted} submits, ${twice.length} texts submitted twice (all after a cut-off answer: ${twiceUnexplained.length === 0}); ` +
            `MO ${report.moReceived}/${MO_COUNT} at courier, ${duplicateMo.length} repeated (explained by the faults: ${duplicateMo.length - duplicateMoUnexplained.length}); ` +
            `statuses repeated: sent ${report.duplicateSent.length}, delivered ${Object.keys(report.duplicateDelivered).length} (calls in the outbox at the kill: ${queuedAtKill.size}, at the failover: ${queuedAtFailover.size}); ` +
            `receipt to status p50 ${pct(50)} ms, p99 ${pct(99)} ms, max ${latencies[latencies.length - 1]} ms over ${latencies.length} receipts`,
        );
        // Where the slow ones came from: compare their times with the faults' (ms since the start).
        if (repeatsUnexplained.length > 0) t.diagnostic(`repeats no fault explains (courier's times since the start): ${repeatsUnexplained.slice(0, 20).join("; ")}`);
        t.diagnostic(`faults at ${faultTimes.join(", ")}; receipts slower than 10 s: ${slowest.filter((s) => s.ms > 10_000).length}, slowest: ${slowest.slice(0, 5).map((s) => `${s.uuid} ${s.ms} ms (DELIVRD at ${s.sentAt})`).join(", ")}`);

        assert.deepEqual(report.mtNot200.slice(0, 5), [], "every MT answered 2xx after courier-style retries");
        assert.equal(report.courierRefused, 0, "courier refused no call");
        assert.equal(report.strangerStatuses, 0, "no status for a uuid never sent");
        assert.deepEqual(report.missingDelivered.slice(0, 10), [], "every MT reported delivered");
        assert.deepEqual(twiceUnexplained.slice(0, 10), [], "no MT on the SMSC twice unless a fault cut off its answer");
        assert.deepEqual(sentTwiceUnexplained, [], "one sent per message, a second only when the kill cut off its removal from the outbox");
        assert.deepEqual(deliveredTwiceUnexplained, [], "one delivered per message (a second only after the kill cut off its removal from the outbox, or for a message on the SMSC twice)");
        assert.deepEqual(afterDeliveredUnexplained.slice(0, 5), [], "nothing after delivered (but the statuses of a second submission)");
        assert.deepEqual(outOfOrder.filter(([uuid]) => !submittedTwice(uuid)).slice(0, 5), [], "sent before delivered");
        assert.deepEqual(report.missingMo.slice(0, 10), [], "every MO reached courier");
        assert.deepEqual(duplicateMoUnexplained, [], "an MO repeated only once per fault that cut off its acknowledgement or its removal from the outbox");
        assert.equal(report.smscUndelivered, 0, "the SMSC holds no unacknowledged receipt or MO");
      } catch (err) {
        for (const instance of instances) {
          const log = instance.logs + (instance.red?.log() ?? "");
          const file = path.join(os.tmpdir(), `rapidpro-sms-instance-${variant.run}-${instance.name}.log`);
          fs.writeFileSync(file, log);
          console.log(`----- instance ${instance.name}: whole log in ${file}; its last warnings -----\n${log.split("\n").filter((l) => /warn|error/i.test(l)).slice(-15).join("\n")}`);
        }
        if (lb) console.log(`----- haproxy -----\n${lb.log().split("\n").slice(-20).join("\n")}`);
        throw err;
      } finally {
        for (const timer of enrouteTimers) clearTimeout(timer);
        await lb?.stop();
        await Promise.all(instances.map((i) => i.red?.stop().catch(() => undefined)));
        await smsc.close();
        await courier.close();
        await redis.stop();
      }
    });
  }

  /** Waits until the instance's own health endpoint says 200. */
  async function healthy(instance: Instance, timeoutMs: number): Promise<void> {
    const until = Date.now() + timeoutMs;
    let last = "";
    while (Date.now() < until) {
      const res = await fetch(`http://127.0.0.1:${instance.port}/rapidpro/health`).catch(() => undefined);
      if (res?.status === 200) return;
      last = res ? `${res.status} ${await res.text()}` : "no answer";
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new Error(`instance ${instance.name} not healthy within ${timeoutMs} ms: ${last}`);
  }
});

/** The calls waiting in the channel's outbox in Redis, each as callKey names courier's calls. */
async function outboxCalls(url: string): Promise<string[]> {
  const client = new Redis({ ...parseRedisUrl(url).connection, maxRetriesPerRequest: 20 });
  try {
    const base = `rapidpro-sms:q:courier-${CHANNEL}:`;
    const ids = await client.zrange(`${base}order`, "0", "-1");
    const calls: string[] = [];
    for (const id of ids) {
      const raw = await client.get(`${base}item:${id}`);
      if (!raw) continue;
      const entry = JSON.parse(raw) as { value: { action: "receive" | "sent" | "delivered"; body: string } };
      calls.push(callKey(entry.value.action, Object.fromEntries(new URLSearchParams(entry.value.body))));
    }
    return calls;
  } finally {
    client.disconnect();
  }
}
