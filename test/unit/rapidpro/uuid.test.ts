/**
 * Message ids as courier sends them (rapidpro-external-channel.md §3.2 and §2.4): "the message
 * UUID (v7 since courier v10.1.20)", checked as gocommon uuids.Is does, or the integer id of
 * courier before v10.3.21.
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { isChannelUuid, isMessageId, isMessageUuid, newMessageUuid } from "../../../lib/rapidpro/uuid";

describe("isMessageId", () => {
  const cases: Array<[string, boolean]> = [
    ["0191e180-7d60-7000-aded-7d8b151cbd5b", true],
    ["a2f3c4d5-1b2c-4d3e-9f40-0123456789ab", true],
    ["1", true],
    ["12345", true],
    ["9223372036854775807", true],
    ["9223372036854775808", false],
    ["0", false],
    ["007", false],
    ["-1", false],
    ["1.5", false],
    ["0191E180-7D60-7000-ADED-7D8B151CBD5B", false],
    ["0191e180-7d60-8000-aded-7d8b151cbd5b", false],
    ["0191e180-7d60-7000-cded-7d8b151cbd5b", false],
    ["", false],
    ["msg-1", false],
  ];
  for (const [value, expected] of cases) test(JSON.stringify(value), () => assert.equal(isMessageId(value), expected));
});

describe("newMessageUuid", () => {
  test("is a v7 message UUID courier accepts, carrying the time", () => {
    const at = Date.UTC(2026, 11, 5, 21, 0, 0);
    const uuid = newMessageUuid(at);
    assert.ok(isMessageUuid(uuid), uuid);
    assert.equal(uuid[14], "7");
    assert.equal(parseInt(uuid.slice(0, 8) + uuid.slice(9, 13), 16), at);
  });
  test("fresh on every call and ordered by time", () => {
    const ids = Array.from({ length: 1000 }, (_, i) => newMessageUuid(1_700_000_000_000 + i));
    assert.equal(new Set(ids).size, ids.length);
    assert.deepEqual([...ids].sort(), ids);
  });
  test("a channel UUID check accepts it too", () => assert.ok(isChannelUuid(newMessageUuid())));
});
