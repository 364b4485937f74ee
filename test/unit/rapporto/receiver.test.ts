/**
 * The push receivers at their edge (issue #14): an empty allow-list refuses, control
 * characters in ids, numbers and codes are refused 400 (the MO text keeps its own), and
 * every note and answer shows peer values escaped and cut.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { AllowList } from "../../../lib/net/allowlist";
import type { PushParams } from "../../../lib/rapporto/mo";
import { DlrReceiver, MoReceiver, pushParamRefusal } from "../../../lib/rapporto/receiver";
import { MemoryStore } from "../../../lib/store/memory";
import { controlCharacterAt } from "../../../lib/text/peer-value";

// http_mo.rst: "clientId ... message ... messageId ... serviceId ... shortNumber ... receivedDate".
const MO: PushParams = { clientId: "79161234567", message: "Привет", messageId: "m-1", serviceId: "login", shortNumber: "2020", receivedDate: "2024-05-01 13:00:00" };

function mo(allowed?: AllowList) {
  const emitted: unknown[] = [];
  const receiver = new MoReceiver({ timeZone: "Europe/Moscow", allowed }, async (push) => (emitted.push(push), { kind: "handed-on" }));
  return { receiver, emitted };
}

describe("MoReceiver at the edge", () => {
  const cases: Array<{ name: string; allowed?: string; params: PushParams; status: number; body?: RegExp; emitted: number }> = [
    { name: "no allow-list: refused", params: MO, status: 403, emitted: 0 },
    { name: "empty allow-list: refused", allowed: "", params: MO, status: 403, emitted: 0 },
    { name: "* : handed on", allowed: "*", params: MO, status: 204, emitted: 1 },
    { name: "CR LF in clientId", allowed: "*", params: { ...MO, clientId: "7916\r\n[error] forged" }, status: 400, body: /^parameter clientId "7916\\r\\n\[error\] forged" holds the control character \\r/, emitted: 0 },
    { name: "NUL in messageId", allowed: "*", params: { ...MO, messageId: "m\0" }, status: 400, body: /messageId "m\\x00"/, emitted: 0 },
    { name: "C1 in receivedDate", allowed: "*", params: { ...MO, receivedDate: "2024\u009b" }, status: 400, body: /receivedDate/, emitted: 0 },
    { name: "control character in a parameter name", allowed: "*", params: { ...MO, "x\ny": "1" }, status: 400, body: /^a parameter name "x\\ny"/, emitted: 0 },
    { name: "in a repeated value", allowed: "*", params: { ...MO, connectorId: ["1", "2\r"] }, status: 400, body: /connectorId "2\\r"/, emitted: 0 },
    { name: "the message keeps its line breaks", allowed: "*", params: { ...MO, message: "line 1\r\nline 2" }, status: 204, emitted: 1 },
    { name: "a 10,000-character parameter name", allowed: "*", params: { ...MO, ["n".repeat(10_000)]: "1" }, status: 400, body: /^a parameter name is 10000 characters long, over the 256 allowed: "n{64}…\(\+9936 chars\)"$/, emitted: 0 },
    { name: "a 10,000-character clientId", allowed: "*", params: { ...MO, clientId: "7".repeat(10_000) }, status: 400, body: /^parameter clientId is 10000 characters long, over the 256 allowed: "7{64}…/, emitted: 0 },
    { name: "a long message is a text, not refused", allowed: "*", params: { ...MO, message: "x".repeat(2000) }, status: 204, emitted: 1 },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const { receiver, emitted } = mo(c.allowed === undefined ? undefined : new AllowList(c.allowed));
      const handling = await receiver.handle({ peer: "127.0.0.1", params: c.params });
      assert.equal(handling.answer.status, c.status);
      if (c.body) assert.match(handling.answer.body, c.body);
      assert.ok(handling.answer.body.length <= 300, `answer of ${handling.answer.body.length} characters`);
      assert.equal(controlCharacterAt(handling.note ?? ""), -1, "the note holds no control character");
      assert.equal(emitted.length, c.emitted);
    });
  }
});

describe("DlrReceiver at the edge", () => {
  // http_status.rst: "transactionId ... status ... ptag".
  const cases: Array<{ name: string; allowed?: string; params: PushParams; status: number; body?: RegExp }> = [
    { name: "no allow-list: refused", params: { transactionId: "1", status: "2" }, status: 403 },
    { name: "CR LF in transactionId", allowed: "*", params: { transactionId: "1\r\n2", status: "2" }, status: 400, body: /transactionId "1\\r\\n2"/ },
    { name: "NUL in status", allowed: "*", params: { transactionId: "1", status: "2\0" }, status: 400, body: /status "2\\x00"/ },
    { name: "an oversized status", allowed: "*", params: { transactionId: "1", status: "x".repeat(10_000) }, status: 400, body: /^parameter status is 10000 characters long/ },
    { name: "an unknown status is echoed escaped", allowed: "*", params: { transactionId: "1", status: "x\\y" }, status: 400, body: /unknown status/ },
  ];
  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      const statuses: unknown[] = [];
      const receiver = new DlrReceiver({ maxTries: 1, allowed: c.allowed === undefined ? undefined : new AllowList(c.allowed) }, new MemoryStore(), {
        status: async (s) => (statuses.push(s), { ok: true }),
        unknown: () => undefined,
      });
      const handling = await receiver.handle({ peer: "127.0.0.1", params: c.params });
      assert.equal(handling.answer.status, c.status);
      if (c.body) assert.match(handling.answer.body, c.body);
      assert.ok(handling.answer.body.length <= 300, `answer of ${handling.answer.body.length} characters`);
      assert.equal(controlCharacterAt(handling.note ?? ""), -1);
      assert.equal(statuses.length, 0);
    });
  }
});

test("pushParamRefusal: texts are exempt by name only", () => {
  assert.equal(pushParamRefusal({ message: "a\nb" }, new Set(["message"])), undefined);
  assert.match(pushParamRefusal({ message: "a\nb" }, new Set()) ?? "", /parameter message/);
});
