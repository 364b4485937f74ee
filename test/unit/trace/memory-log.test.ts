/** The trace log: a message's life in order, found by any of its ids; bounded; numbers masked. */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { TraceEvent } from "../../../lib/trace/event";
import { TraceLog } from "../../../lib/trace/memory-log";
import { maskPhone, presentEvents } from "../../../lib/trace/mask";
import { traceQuery } from "../../../nodes/rapidpro-sms-monitor/rapidpro-sms-monitor";

const ID = "0191f7a3-5e2b-7c4d-9a10-3b2c1d0e9f8a";
const PHONE = "+447911123456";

/** A three-part MT: courier's request, three submits, its answer, three receipts, two statuses, courier's answers. */
function splitLongReceiptedMessage(log: TraceLog, t0: number): TraceEvent[] {
  const events: TraceEvent[] = [
    { at: t0, step: "courier-request", id: ID, phone: PHONE, via: "ch" },
    { at: t0 + 12, sentAt: t0 + 2, step: "submit", id: ID, phone: PHONE, via: "b1", part: 1, parts: 3, ok: true, status: 0, smscIds: ["A1"] },
    { at: t0 + 13, sentAt: t0 + 2, step: "submit", id: ID, phone: PHONE, via: "b1", part: 2, parts: 3, ok: true, status: 0, smscIds: ["A2"] },
    { at: t0 + 14, sentAt: t0 + 2, step: "submit", id: ID, phone: PHONE, via: "b1", part: 3, parts: 3, ok: true, status: 0, smscIds: ["A3"] },
    { at: t0 + 15, step: "courier-answer", id: ID, phone: PHONE, via: "ch", ok: true, status: 200 },
    { at: t0 + 900, step: "receipt", id: ID, smscIds: ["A2"], via: "b1", ok: true, status: "DELIVRD" },
    { at: t0 + 901, step: "status", id: ID, smscIds: ["A1"], via: "ch", ok: true, status: "delivered" },
    { at: t0 + 950, step: "receipt", id: ID, smscIds: ["A1"], via: "b1", ok: true, status: "DELIVRD" },
    { at: t0 + 960, step: "receipt", id: ID, smscIds: ["A3"], via: "b1", ok: true, status: "DELIVRD" },
    { at: t0 + 990, step: "courier-call", id: ID, via: "ch", ok: true, status: 200, detail: "delivered" },
  ];
  for (const e of events) log.record(e);
  return events;
}

test("a split, long, receipted message: every step in order, by RapidPro id", () => {
  const log = new TraceLog({ now: () => 10_000 });
  // Another message around it must not show up.
  log.record({ at: 1, step: "courier-request", id: "other", phone: "+15550001111" });
  const events = splitLongReceiptedMessage(log, 2);
  log.record({ at: 2_000, step: "receipt", id: "other", smscIds: ["B1"] });
  const found = log.find({ id: ID });
  assert.deepEqual(found, events);
  assert.deepEqual(
    found.map((e) => `${e.step}${e.part ? ` ${e.part}/${e.parts}` : ""}`),
    ["courier-request", "submit 1/3", "submit 2/3", "submit 3/3", "courier-answer", "receipt", "status", "receipt", "receipt", "courier-call"],
  );
});

test("an SMSC id of any part, or the phone number, finds the whole message", () => {
  const log = new TraceLog({ now: () => 10_000 });
  const events = splitLongReceiptedMessage(log, 0);
  assert.deepEqual(log.find({ smscId: "A3" }), events);
  assert.deepEqual(log.find({ phone: "+44 7911 123456" }), events, "digits only are compared");
  assert.deepEqual(log.find({ smscId: "nope" }), []);
});

test("an unmatched receipt is found by its SMSC id alone", () => {
  const log = new TraceLog();
  log.record({ at: Date.now(), step: "receipt", smscIds: ["Z9"], ok: true, status: "DELIVRD", detail: "unmatched" });
  assert.equal(log.find({ smscId: "Z9" }).length, 1);
});

test("bounded: the oldest events go first, and their index entries with them", () => {
  const log = new TraceLog({ maxEvents: 3, now: () => 100 });
  for (let i = 0; i < 5; i++) log.record({ at: i, step: "courier-request", id: `m${i}`, phone: `+1555000000${i}` });
  assert.equal(log.size, 3);
  assert.deepEqual(log.find({ id: "m0" }), []);
  assert.deepEqual(log.find({ phone: "+15550000001" }), []);
  assert.equal(log.find({ id: "m4" }).length, 1);
});

test("bounded over many events: the size never passes the limit", () => {
  const log = new TraceLog({ maxEvents: 1000 });
  for (let i = 0; i < 5000; i++) log.record({ at: Date.now(), step: "submit", id: `m${i}`, smscIds: [`s${i}`], phone: "+15550001111" });
  assert.equal(log.size, 1000);
  assert.equal(log.find({ smscId: "s3999" }).length, 0);
  assert.equal(log.find({ id: "m3999" }).length, 0);
  assert.equal(log.find({ smscId: "s4999" }).length, 1);
  // A number followed through many messages: the latest 50 of them.
  assert.equal(log.find({ phone: "+15550001111" }).length, 50);
});

test("bounded: a message's SMSC ids and number go with its last event, which names neither", () => {
  // An MT with a receipt as smpp-out, smpp-in and rapidpro-out record it: the last event, courier's
  // answer to the status call, has no SMSC id and no number. The soak benchmark's RSS grew until this held.
  const log = new TraceLog({ maxEvents: 60, now: () => 100 });
  const message = (i: number): TraceEvent[] => [
    { at: i, step: "courier-request", id: `m${i}`, phone: `+1555${String(i).padStart(7, "0")}` },
    { at: i, step: "submit", id: `m${i}`, phone: `+1555${String(i).padStart(7, "0")}`, smscIds: [`s${i}`], ok: true },
    { at: i, step: "receipt", id: `m${i}`, smscIds: [`s${i}`], ok: true, status: "DELIVRD" },
    { at: i, step: "courier-call", id: `m${i}`, ok: true, status: 200 },
  ];
  for (let i = 0; i < 1000; i++) for (const e of message(i)) log.record(e);
  assert.equal(log.size, 60);
  // 15 messages held, each reachable by one SMSC id and one number; nothing of the 985 gone.
  assert.equal(log.ways, 30);
  assert.deepEqual(log.find({ smscId: "s984" }), []);
  assert.deepEqual(log.find({ phone: "+15550000984" }), []);
  assert.equal(log.find({ smscId: "s999" }).length, 4);
  assert.equal(log.find({ phone: "+15550000999" }).length, 4);
});

test("events older than 72 h are not shown and are let go", () => {
  let now = 0;
  const log = new TraceLog({ now: () => now });
  log.record({ at: 0, step: "courier-request", id: "old" });
  log.record({ at: 71 * 3600_000, step: "courier-request", id: "new" });
  now = 72 * 3600_000 + 1;
  assert.deepEqual(log.find({ id: "old" }), []);
  assert.equal(log.find({ id: "new" }).length, 1);
  assert.equal(log.size, 1);
});

test("phone numbers are masked unless asked for", () => {
  const cases: Array<[string, string]> = [
    ["+447911123456", "+447•••••••56"],
    ["5511987654321", "551••••••••21"],
    ["12345", "••••5"],
    ["", ""],
  ];
  for (const [phone, masked] of cases) assert.equal(maskPhone(phone), masked, phone);
  const events: TraceEvent[] = [{ at: 1, step: "courier-request", id: ID, phone: PHONE }];
  assert.equal(presentEvents(events, false)[0].phone, "+447•••••••56");
  assert.equal(presentEvents(events, true)[0].phone, PHONE);
  assert.equal(events[0].phone, PHONE, "the log itself is not changed");
});

test("trace queries: exactly one of id, smscId, phone", () => {
  assert.deepEqual(traceQuery({ id: " abc " }), { query: { id: "abc" } });
  assert.deepEqual(traceQuery({ smscId: "A1" }), { query: { smscId: "A1" } });
  assert.ok("error" in traceQuery({}));
  assert.ok("error" in traceQuery({ id: "a", phone: "1" }));
  assert.ok("error" in traceQuery({ id: ["a", "b"] }));
  assert.ok("error" in traceQuery({ id: "x".repeat(2000) }));
});

test("a trace turned off records nothing", () => {
  const log = new TraceLog();
  log.enabled = false;
  log.record({ at: Date.now(), step: "courier-request", id: ID });
  assert.equal(log.size, 0);
  assert.deepEqual(log.find({ id: ID }), []);
});
