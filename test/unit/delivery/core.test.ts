/**
 * The delivery core's rules (lib/delivery/), one table run against the SMPP, CIMD2, UCP/EMI and
 * Rapporto adapters alike (adapters.ts), without Node-RED.
 *
 * Courier's splitting, reference rapidpro-external-channel.md §4.1: "Each part is a separate
 * HTTP request, sent sequentially. Every part carries the same {{id}}/{{uuid}}. No part number,
 * part count or UDH is provided." and "Parts already accepted are re-sent when a retry (E)
 * happens."
 */
import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MT, Status } from "../../../lib/contract";
import { HAND_OVER_ANSWER, type HandOver } from "../../../lib/delivery/answers";
import { splitText } from "../../../sim/courier";
import { CIMD2, RAPPORTO, SMPP, UCP, type Adapter, type Bridge } from "./adapters";

const ID = "0191e180-7d60-7000-a000-0000000000c1";
const mt = (text: string, from = "2020"): MT => ({ id: ID, to: "+4790000001", from, text });

/** Courier's own case, max_length 30 (handler_test.go): three GSM parts. */
const GSM_3 = splitText("This is a long message that will be longer than 30....... characters", 30);
/** Two GSM parts, max_length 160 (the README's advice). */
const GSM_2 = splitText("word ".repeat(50).trim(), 160);
/** Numbered Cyrillic words, so that no two parts are alike. */
const cyrillic = (words: number) => Array.from({ length: words }, (_, i) => `слово${i}`).join(" ");
/** Two UCS-2 parts of about 100 characters (160 bytes each): each part needs 2 SMS in UCS-2. */
const UCS2_2 = splitText(cyrillic(24), 160);
/** Three UCS-2 parts. */
const UCS2_3 = splitText(cyrillic(36), 160);

for (const adapter of [SMPP, CIMD2, UCP, RAPPORTO] as Adapter[]) {
  describe(`delivery core through ${adapter.name}`, () => {
    const open: Bridge[] = [];
    after(async () => {
      for (const b of open) await b.close();
    });
    const bridge = async (options?: { defaultSender?: string; waitMs?: number }) => {
      const b = await adapter.open(options);
      open.push(b);
      return b;
    };
    /** Every SMS id of every accepted part, in order. */
    const sendAll = async (b: Bridge, texts: readonly string[]) => {
      const results = [];
      for (const text of texts) results.push(await b.send(mt(text)));
      return results;
    };

    const splits: { name: string; texts: readonly string[]; smsPerPart: (text: string) => number }[] = [
      { name: "2 GSM parts", texts: GSM_2, smsPerPart: () => 1 },
      { name: "3 GSM parts (courier's max_length 30 case)", texts: GSM_3, smsPerPart: () => 1 },
      { name: "2 UCS-2 parts, each a concatenated SMS itself", texts: UCS2_2, smsPerPart: (t) => adapter.smsPerUcs2Part([...t].length) },
      { name: "3 UCS-2 parts", texts: UCS2_3, smsPerPart: (t) => adapter.smsPerUcs2Part([...t].length) },
    ];
    for (const split of splits) {
      test(`split into ${split.name}: each part submitted once; resend of all answered from the store; one 'delivered' when every SMS is`, async () => {
        assert.equal(new Set(split.texts).size, split.texts.length, "the parts differ");
        assert.equal(split.texts.length, Number(/^\d/.exec(split.name)?.[0]), "courier splits it so");
        const b = await bridge();
        const first = await sendAll(b, split.texts);
        assert.deepEqual(first.map((r) => [r.accepted, r.repeat, r.parts]), split.texts.map((t) => [true, undefined, split.smsPerPart(t)]));
        assert.deepEqual(b.phone, split.texts);
        const sms = b.sms();
        const again = await sendAll(b, split.texts);
        assert.deepEqual(again, first.map((r) => ({ ...r, repeat: true })));
        assert.equal(b.sms(), sms, "no SMS for a resend");
        const ids = first.flatMap((r) => r.smscIds);
        for (const id of ids) assert.equal(await b.receipt(id, "delivered"), b.answers.taken);
        assert.deepEqual(b.statuses.map((s) => s.status), ["sent", "delivered"]);
        assert.ok(b.statuses.every((s) => s.id === ID && s.smscId === ids[0]));
      });
    }

    test("resend of one part (courier did not hear one answer): nothing submitted, the others unaffected", async () => {
      const b = await bridge();
      const [p1, p2] = await sendAll(b, GSM_3.slice(0, 2));
      assert.deepEqual(await b.send(mt(GSM_3[1])), { ...p2, repeat: true });
      const p3 = await b.send(mt(GSM_3[2]));
      assert.deepEqual([p1.repeat, p3.repeat], [undefined, undefined]);
      assert.deepEqual(b.phone, GSM_3);
    });

    test("two copies of one part at once: one submission, both answered alike", async () => {
      const b = await bridge();
      const [x, y] = await Promise.all([b.send(mt(GSM_3[0])), b.send(mt(GSM_3[0]))]);
      assert.deepEqual(y, { ...x, repeat: true });
      assert.deepEqual(b.phone, [GSM_3[0]]);
    });

    test("different parts of one id at once: both submitted, both in the id's entry", async () => {
      const b = await bridge();
      const [x, y] = await Promise.all([b.send(mt(GSM_3[0])), b.send(mt(GSM_3[1]))]);
      assert.deepEqual([x.repeat, y.repeat], [undefined, undefined]);
      assert.equal((await b.store.findByMessage(ID))?.submissions.length, 2);
    });

    test("resend after a refused submission: submitted anew", async () => {
      const b = await bridge();
      b.refuseNext();
      const refused = await b.send(mt(GSM_3[0]));
      assert.deepEqual([refused.accepted, refused.error?.temporary], [false, false]);
      const again = await b.send(mt(GSM_3[0]));
      assert.deepEqual([again.accepted, again.repeat], [true, undefined]);
      assert.deepEqual(b.phone, [GSM_3[0]]);
    });

    test("RapidPro's resend after a failed part: the delivered part is answered from the store, the failed one submitted anew, and the new round is reported", async () => {
      const b = await bridge();
      const [a, c] = await sendAll(b, GSM_3.slice(0, 2));
      await b.receipt(a.smscIds[0], "delivered");
      await b.receipt(c.smscIds[0], "failed");
      assert.deepEqual(b.statuses.map((s) => s.status), ["sent", "failed"]);
      const [a2, c2] = await sendAll(b, GSM_3.slice(0, 2));
      assert.deepEqual([a2.repeat, c2.repeat], [true, undefined]);
      assert.deepEqual(b.phone, [GSM_3[0], GSM_3[1], GSM_3[1]]);
      await b.receipt(c2.smscIds[0], "delivered");
      assert.deepEqual(b.statuses.slice(2), [{ id: ID, status: "delivered", smscId: c2.smscIds[0] }]);
    });

    const orders: { name: string; order: number[] }[] = [
      { name: "in order", order: [0, 1, 2] },
      { name: "last first", order: [2, 1, 0] },
      { name: "middle first", order: [1, 2, 0] },
      { name: "each twice", order: [1, 1, 0, 2, 2, 0] },
    ];
    for (const o of orders) {
      test(`receipts of 3 parts ${o.name}: 'sent' once, 'delivered' once, after the last`, async () => {
        const b = await bridge();
        const ids = (await sendAll(b, GSM_3)).map((r) => r.smscIds[0]);
        const reported: (Status["status"] | undefined)[] = [];
        for (const i of o.order) {
          const before = b.statuses.length;
          assert.equal(await b.receipt(ids[i], "delivered"), b.answers.taken);
          reported.push(b.statuses.length > before ? b.statuses[b.statuses.length - 1].status : undefined);
        }
        // The receipt that completes the set of parts is the one that reports 'delivered'.
        const completesAt = o.order.findIndex((_, k) => new Set(o.order.slice(0, k + 1)).size === 3);
        assert.deepEqual(b.statuses.map((s) => s.status), ["sent", "delivered"]);
        assert.equal(reported[0], "sent");
        assert.equal(reported.indexOf("delivered"), completesAt);
      });
    }

    test("receipts at once for every part: one 'sent', one 'delivered'", async () => {
      const b = await bridge();
      const ids = (await sendAll(b, GSM_3)).map((r) => r.smscIds[0]);
      await Promise.all(ids.map((id) => b.receipt(id, "delivered")));
      assert.deepEqual(b.statuses.map((s) => s.status), ["sent", "delivered"]);
    });

    test("a failed part fails the message once, with a reason; later receipts report nothing", async () => {
      const b = await bridge();
      const ids = (await sendAll(b, GSM_3)).map((r) => r.smscIds[0]);
      await b.receipt(ids[1], "failed");
      await b.receipt(ids[0], "delivered");
      await b.receipt(ids[2], "delivered");
      assert.deepEqual(b.statuses.map((s) => s.status), ["failed"]);
      assert.ok(b.statuses[0].reason);
    });

    test("a receipt before its correlation write waits for the write and is reported", async () => {
      const b = await bridge({ waitMs: 2000 });
      // The aggregator's id of the next submission is known in advance from the first one.
      const first = await b.send(mt(GSM_3[0]));
      const early = b.receipt((adapter.nextSmsId ?? nextId)(first.smscIds[0]), "delivered");
      await new Promise((r) => setTimeout(r, 50));
      await b.send(mt(GSM_3[1]));
      assert.equal(await early, b.answers.taken);
      await b.receipt(first.smscIds[0], "delivered");
      assert.deepEqual(b.statuses.map((s) => s.status), ["sent", "delivered"]);
    });

    test("an id never written: after the wait it goes to the unmatched output once, however often it comes", async () => {
      const b = await bridge({ waitMs: 0 });
      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await b.receipt("no-such-id-1", "delivered"));
      assert.deepEqual(b.unmatched, ["no-such-id-1"]);
      assert.equal(answers[answers.length - 1], b.answers.taken);
    });

    const outcomes: HandOver[] = [
      { kind: "rapidpro" },
      { kind: "outbox" },
      { kind: "temporary", reason: "courier down" },
      { kind: "permanent", reason: "courier said 400" },
      { kind: "stopping" },
      { kind: "expired" },
    ];
    for (const outcome of outcomes) {
      const answer = HAND_OVER_ANSWER[outcome.kind];
      test(`acknowledgement: hand-over '${outcome.kind}' → ${answer}; the store is written only when taken`, async () => {
        const b = await bridge();
        const { smscIds } = await b.send(mt(GSM_3[0]));
        b.handOvers(outcome);
        assert.equal(await b.receipt(smscIds[0], "delivered"), b.answers[answer]);
        b.handOvers({ kind: "rapidpro" });
        await b.receipt(smscIds[0], "delivered");
        // Taken: the repeat reports nothing; not taken: reported again when delivered again.
        assert.equal(b.statuses.length, answer === "taken" ? 1 : 2);
      });
    }

    test("MT without from and no default sender: the protocol's empty originator, the aggregator decides", async () => {
      const b = await bridge();
      const result = await b.send(mt("no sender", ""));
      assert.equal(result.accepted, true);
      assert.equal(b.senderOf(0), "");
    });

    test("MT without from: the configured default sender", async () => {
      const b = await bridge({ defaultSender: "Brand" });
      await b.send(mt("with default", ""));
      assert.equal(b.senderOf(0), "Brand");
    });
  });
}

/** The simulated aggregators number their ids: the next one after `id`. */
function nextId(id: string): string {
  const match = /^(.*?)(\d+)$/.exec(id);
  if (!match) throw new Error(`cannot guess the id after ${id}`);
  return `${match[1]}${BigInt(match[2]) + 1n}`;
}

const MO_SENDERS: { name: string; number: string; international: boolean; smpp: string; rapporto: string }[] = [
  { name: "international digits", number: "4790000002", international: true, smpp: "+4790000002", rapporto: "+4790000002" },
  { name: "Rapporto's documented example", number: "79161234567", international: true, smpp: "+79161234567", rapporto: "+79161234567" },
  { name: "already with +", number: "+79161234567", international: true, smpp: "+79161234567", rapporto: "+79161234567" },
  { name: "not said international (SMPP TON 0): as given, courier reads it by the channel's country", number: "90000002", international: false, smpp: "90000002", rapporto: "+90000002" },
  { name: "a masked number stays as it is", number: "7916***4567", international: true, smpp: "7916***4567", rapporto: "7916***4567" },
];

describe("MO sender to RapidPro in E.164 where the aggregator says or implies international", () => {
  for (const adapter of [SMPP, CIMD2, UCP, RAPPORTO]) {
    for (const row of MO_SENDERS) {
      test(`${adapter.name}: ${row.name}`, async () => {
        const b = await adapter.open();
        try {
          assert.equal(await b.moSender(row.number, row.international), adapter === RAPPORTO ? row.rapporto : row.smpp);
        } finally {
          await b.close();
        }
      });
    }
  }
});
