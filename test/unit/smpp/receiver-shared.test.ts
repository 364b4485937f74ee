/**
 * lib/smpp/receiver.ts with long MO parts shared by two instances (docs/design.md decision 36):
 * two SmppReceivers on one Redis play two Node-RED instances whose binds each got some parts of
 * one long MO. The message goes to RapidPro once, from the instance that got its last part; a
 * hand-over that failed there is answered 0x64 and completed by whichever instance gets the
 * SMSC's redelivery. The rules of the store itself are in test/unit/sms/held-parts-shared.test.ts.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { HandOver } from "../../../lib/delivery/answers";
import { ESME_ROK, ESME_RX_T_APPN } from "../../../lib/smpp/command-status";
import type { DeliverSmFields } from "../../../lib/smpp/deliver";
import { SmppReceiver } from "../../../lib/smpp/receiver";
import type { StoredPart } from "../../../lib/sms/held-parts";
import { MemoryStore } from "../../../lib/store/memory";
import { RedisPartGroups } from "../../../lib/store/parts-redis";
import { MemoryQueue } from "../../../lib/store/queue-memory";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# SmppReceiver shared long MO part tests skipped: ${skip}`);

/** Part `seq` of `total` of a long GSM MO with reference `ref` (UDH IEI 0x00). */
const part = (ref: number, total: number, seq: number, text: string): DeliverSmFields => ({
  source_addr: "4790000002",
  source_addr_ton: 1,
  destination_addr: "2020",
  esm_class: 0x40,
  data_coding: 0,
  short_message: Buffer.concat([Buffer.from([0x05, 0x00, 0x03, ref, total, seq]), Buffer.from(text)]),
});

describe("SmppReceiver: long MO parts shared by two instances", { skip }, () => {
  let redis: RedisServer;
  const opened: { r: SmppReceiver; groups: RedisPartGroups }[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const { r, groups } of opened) {
      await r.close(false);
      await groups.close();
    }
    await redis?.stop();
  });

  /** One instance: its own correlation store and parts queue, the bind's parts in the shared Redis. */
  function instance(take: () => HandOver = () => ({ kind: "rapidpro" })) {
    const groups = new RedisPartGroups({ url: redis.url, bind: "bind-shared" });
    const queue = new MemoryQueue<StoredPart>();
    const texts: string[] = [];
    const r = new SmppReceiver(
      async () => new MemoryStore(),
      Promise.resolve({ queue, durable: true }),
      { idMode: "auto", unmatchedWaitMs: 0, reassemblyTimeoutMs: 60_000 },
      { mo: async (msg) => (texts.push(msg.payload.text), take()), status: async () => take(), unmatched: () => undefined, warn: () => undefined },
      groups,
    );
    opened.push({ r, groups });
    return { r, queue, texts };
  }

  test("parts on both instances: one MO, from the instance that got the last part; nothing kept in either local queue", async () => {
    const a = instance();
    const b = instance();
    assert.equal(await a.r.deliver(part(11, 3, 1, "one ")), ESME_ROK);
    assert.equal(await b.r.deliver(part(11, 3, 2, "two ")), ESME_ROK);
    assert.deepEqual([a.texts, b.texts], [[], []], "no MO before its last part");
    assert.equal(await a.r.deliver(part(11, 3, 3, "three")), ESME_ROK);
    assert.deepEqual([a.texts, b.texts], [["one two three"], []]);
    assert.deepEqual([await a.queue.size(), await b.queue.size()], [0, 0], "shared parts are kept in Redis, not on this machine");
    // The parts were let go after the hand-over: a repeat of a part begins a new message, it does not complete the old one.
    assert.equal(await b.r.deliver(part(11, 3, 1, "one ")), ESME_ROK);
    assert.deepEqual([a.texts, b.texts], [["one two three"], []]);
  });

  test("the completing instance could not hand over: answered 0x64, and the SMSC's redelivery to the other instance completes it there", async () => {
    let down = true;
    const a = instance(() => (down ? { kind: "temporary", reason: "down" } : { kind: "rapidpro" }));
    const b = instance();
    assert.equal(await b.r.deliver(part(12, 2, 1, "first ")), ESME_ROK);
    assert.equal(await a.r.deliver(part(12, 2, 2, "second")), ESME_RX_T_APPN);
    down = false;
    // A's claim is given back after its answer; until then B answers "busy" with 0x64, and the SMSC delivers again.
    let answer = ESME_RX_T_APPN;
    for (let delivery = 0; delivery < 50 && answer === ESME_RX_T_APPN; delivery++) answer = await b.r.deliver(part(12, 2, 2, "second"));
    assert.equal(answer, ESME_ROK);
    assert.deepEqual([a.texts, b.texts], [["first second"], ["first second"]]);
  });
});
