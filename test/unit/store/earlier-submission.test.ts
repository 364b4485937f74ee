import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { earlierSubmission } from "../../../lib/store/earlier-submission";
import { MemoryStore } from "../../../lib/store/memory";
import type { PartState } from "../../../lib/store/types";

/** What courier's resend of message "rp" gets, after an earlier submission with parts a, b went this far. */
const cases: { name: string; parts?: string[]; receipts?: [string, PartState][]; repeat: boolean }[] = [
  { name: "never submitted: submit", repeat: false },
  { name: "accepted, no receipt yet: answer from the earlier submission", parts: ["a", "b"], repeat: true },
  { name: "sent: answer from the earlier submission", parts: ["a", "b"], receipts: [["a", "sent"]], repeat: true },
  { name: "delivered: answer from the earlier submission", parts: ["a", "b"], receipts: [["a", "delivered"], ["b", "delivered"]], repeat: true },
  { name: "one part failed: RapidPro resends it on purpose, submit anew", parts: ["a", "b"], receipts: [["a", "delivered"], ["b", "failed"]], repeat: false },
];

describe("earlier submission of a resent MT", () => {
  for (const row of cases) {
    test(row.name, async () => {
      const store = new MemoryStore();
      try {
        if (row.parts) await store.put("rp", row.parts);
        for (const [part, state] of row.receipts ?? []) await store.markPart(part, state);
        const earlier = await earlierSubmission(store, "rp");
        if (!row.repeat) assert.equal(earlier, undefined);
        else assert.deepEqual(earlier, { accepted: true, parts: row.parts?.length, smscIds: row.parts, repeat: true });
      } finally {
        await store.close();
      }
    });
  }

  test("the latest submission counts: a failed one followed by an accepted resend is a repeat", async () => {
    const store = new MemoryStore();
    await store.put("rp", ["a"]);
    await store.markPart("a", "failed");
    await store.put("rp", ["c"]);
    assert.deepEqual(await earlierSubmission(store, "rp"), { accepted: true, parts: 1, smscIds: ["c"], repeat: true });
    await store.close();
  });
});
