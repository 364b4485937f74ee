/**
 * The classifications lib/metrics/counters.ts applies before counting: what became of an MT,
 * which connection state a session is in, and how a receipt (SMSC or Rapporto DLR) met its
 * message. Tables of cases, one row per input the nodes give.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { SubmitResult } from "../../../lib/contract";
import type { ReceiptHandling } from "../../../lib/delivery/receipts";
import type { DlrHandling } from "../../../lib/rapporto/receiver";
import { connectionState, dlrOutcome, mtOutcome, receiptOutcome } from "../../../lib/metrics/counters";

test("mtOutcome: a repeat first, then accepted, then the refusal's class", () => {
  const cases: Array<[string, SubmitResult, ReturnType<typeof mtOutcome>]> = [
    ["accepted", { accepted: true, parts: 1, smscIds: ["a"] }, "accepted"],
    ["repeat answered from the store", { accepted: true, parts: 1, smscIds: ["a"], repeat: true }, "repeat"],
    ["temporary", { accepted: false, parts: 0, smscIds: [], error: { code: "x", text: "", temporary: true } }, "temporary"],
    ["throttled", { accepted: false, parts: 0, smscIds: [], error: { code: "x", text: "", temporary: true, throttled: true } }, "throttled"],
    ["permanent", { accepted: false, parts: 0, smscIds: [], error: { code: "x", text: "", temporary: false } }, "permanent"],
    ["refused without an error", { accepted: false, parts: 0, smscIds: [] }, "permanent"],
  ];
  for (const [name, result, expected] of cases) assert.equal(mtOutcome(result), expected, name);
});

test("connectionState: the session's state names as the fixed connection states", () => {
  const cases: Array<[string, boolean, ReturnType<typeof connectionState>]> = [
    ["bound", false, "up"],
    ["bound", true, "throttled"],
    ["reconnecting", false, "reconnecting"],
    ["closing", false, "down"],
    ["closed", false, "down"],
    ["idle", false, "connecting"],
    ["binding", false, "connecting"],
  ];
  for (const [state, throttled, expected] of cases) assert.equal(connectionState({ state, throttled }), expected, `${state}${throttled ? " throttled" : ""}`);
});

test("receiptOutcome: matched, early (after waiting for its correlation) or unmatched; not counted when not looked up to the end", () => {
  const status = { id: "m1", status: "delivered" as const };
  const cases: Array<[ReceiptHandling, ReturnType<typeof receiptOutcome>]> = [
    [{ kind: "reported", answer: "taken", status, handOver: { kind: "rapidpro" } }, "matched"],
    [{ kind: "reported", answer: "taken", status, handOver: { kind: "rapidpro" }, early: true }, "early"],
    [{ kind: "no-change", answer: "taken" }, "matched"],
    [{ kind: "no-change", answer: "taken", early: true }, "early"],
    [{ kind: "not-yet", answer: "not-yet", deliveries: 1 }, "early"],
    [{ kind: "unmatched", answer: "taken", emitted: true }, "unmatched"],
    [{ kind: "stopping", answer: "again" }, undefined],
    [{ kind: "store-error", answer: "again", reason: "down" }, undefined],
  ];
  for (const [handling, expected] of cases) assert.equal(receiptOutcome(handling), expected, `${handling.kind}${"early" in handling && handling.early ? " early" : ""}`);
});

test("dlrOutcome: a Rapporto DLR push counted as its receipt outcome", () => {
  const cases: Array<[DlrHandling["kind"], ReturnType<typeof dlrOutcome>]> = [
    ["report", "matched"],
    ["no-change", "matched"],
    ["retry-later", "early"],
    ["unknown", "unmatched"],
    ["malformed", undefined],
    ["store-error", undefined],
    ["refused", undefined],
    ["not-handed-on", undefined],
  ];
  for (const [kind, expected] of cases) assert.equal(dlrOutcome(kind), expected, kind);
});
