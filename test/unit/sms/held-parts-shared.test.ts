/**
 * Long MO parts kept in a store shared by several instances (lib/sms/held-parts.ts with
 * lib/store/parts-redis.ts, docs/design.md decision 36): two HeldParts on one Redis play two
 * Node-RED instances whose binds each got some parts of one message. Exactly one of them
 * completes it; a failed hand-over waits for the SMSC's redelivery; the timeout sweep of any
 * instance gives up on parts another instance kept.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { HeldParts, type PartHandle, type StoredPart } from "../../../lib/sms/held-parts";
import type { Fragment, PartialMessage, Reassembled } from "../../../lib/sms/reassembly";
import { RedisPartGroups } from "../../../lib/store/parts-redis";
import { MemoryQueue } from "../../../lib/store/queue-memory";
import { redisSkipReason, startRedis, type RedisServer } from "../../helpers/redis-server";

const skip = redisSkipReason || undefined;
if (skip) console.log(`# shared long MO part tests skipped: ${skip}`);

const TEXTS = ["Long messages ", "come in parts, ", "and all must arrive."];

function part(seq: number, reference: number, handle: PartHandle = {}): Fragment<PartHandle> {
  return {
    from: "+250788123123",
    to: "2020",
    concat: { reference, referenceBits: 8, total: 3, seq },
    octets: Buffer.from(TEXTS[seq - 1], "latin1"),
    alphabet: "gsm7",
    context: handle,
  };
}

describe("long MO parts shared by two instances", { skip }, () => {
  let redis: RedisServer;
  const groups: RedisPartGroups[] = [];
  before(async () => {
    redis = await startRedis();
  });
  after(async () => {
    for (const g of groups) await g.close();
    await redis?.stop();
  });

  let clock = 1_000_000;
  function instance(bind = "bind-1") {
    const store = new RedisPartGroups({ url: redis.url, bind });
    groups.push(store);
    const flushed: PartialMessage<PartHandle>[] = [];
    const held = new HeldParts(new MemoryQueue<StoredPart>(), { timeoutMs: 60_000, now: () => clock, onFlush: (p) => flushed.push(p) }, store);
    /** What smpp-in does with a deliver_sm part: the reassembler, then keep. */
    const deliver = async (fragment: Fragment<PartHandle>): Promise<Reassembled<PartHandle> | undefined | "refused"> => {
      const added = held.reassembler.add(fragment);
      assert.equal(added.status, "pending", "with a shared store every part is pending here");
      return held.keep(fragment.context).catch(() => "refused" as const);
    };
    return { held, flushed, deliver };
  }

  test("parts split over two instances complete once, on the instance that got the last part", async () => {
    const a = instance();
    const b = instance();
    assert.equal(await a.deliver(part(1, 1)), undefined, "kept");
    assert.equal(await b.deliver(part(3, 1)), undefined, "kept");
    const done = await a.deliver(part(2, 1));
    assert.ok(done && done !== "refused");
    assert.equal(done.text, TEXTS.join(""));
    assert.equal(done.parts, 3);
    assert.equal(done.contexts.length, 3);
    await a.held.release(done.contexts);
    // The SMSC delivers the completing part again (its answer was lost): a new group, not a second message.
    assert.equal(await b.deliver(part(2, 1)), undefined);
  });

  test("a repeated part is not kept twice", async () => {
    const a = instance();
    const b = instance();
    await a.deliver(part(1, 2));
    assert.equal(await b.deliver(part(1, 2)), undefined);
    await b.deliver(part(2, 2));
    const done = await a.deliver(part(3, 2));
    assert.ok(done && done !== "refused");
    assert.equal(done.text, TEXTS.join(""));
    await a.held.release(done.contexts);
  });

  test("while one instance hands a message over, the same last part on the other is refused; after a failed hand-over it completes again", async () => {
    const a = instance();
    const b = instance();
    await a.deliver(part(1, 3));
    await b.deliver(part(2, 3));
    const first = await a.deliver(part(3, 3));
    assert.ok(first && first !== "refused");
    assert.equal(await b.deliver(part(3, 3)), "refused", "claimed by the other instance: try later");
    a.held.putBack(first.contexts); // RapidPro did not take it
    await new Promise((r) => setTimeout(r, 50));
    const again = await b.deliver(part(3, 3));
    assert.ok(again && again !== "refused", "the redelivered last part completes it again");
    assert.equal(again.text, TEXTS.join(""));
    await b.held.release(again.contexts);
  });

  test("the sweep of either instance gives up on parts the other kept, once", async () => {
    const a = instance("bind-sweep");
    const b = instance("bind-sweep");
    await a.deliver(part(1, 4));
    await a.deliver(part(3, 4));
    clock += 61_000;
    b.held.reassembler.sweep();
    a.held.reassembler.sweep();
    const until = Date.now() + 3_000;
    while (a.flushed.length + b.flushed.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 100));
    const flushed = [...a.flushed, ...b.flushed];
    assert.equal(flushed.length, 1, "one instance gives it up");
    assert.deepEqual(flushed[0].missing, [2]);
    assert.equal(flushed[0].text, TEXTS[0] + TEXTS[2]);
    assert.equal(flushed[0].reason, "timeout");
    await a.held.release(flushed[0].contexts);
  });
});
