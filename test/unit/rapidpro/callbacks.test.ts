/** Building courier's incoming calls: rapidpro-external-channel.md §2, quoted per case. */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { courierUrl, receiveCall, statusCall, statusOnceId, stoppedCall, toRfc3339, type BuildResult } from "../../../lib/rapidpro/callbacks";

const UUID = "0191e180-7d60-7000-aded-7d8b151cbd5b";

interface Case {
  name: string;
  build: () => BuildResult;
  expected: { action: string; body: string } | { reason: RegExp };
}

const cases: Case[] = [
  {
    // §2.2 "Always percent-encode + as %2B, e.g. from=%2B2349067554729"; §2.3 example body
    name: "receive: + as %2B, spaces as +, RFC 3339 date kept as given",
    build: () => receiveCall({ from: "+250788123123", to: "2020", text: "Love is patient. Love is kind.", date: "2012-04-23T18:25:43.511Z" }),
    expected: { action: "receive", body: "from=%2B250788123123&text=Love+is+patient.+Love+is+kind.&date=2012-04-23T18%3A25%3A43.511Z" },
  },
  {
    // §2.3 "2017-06-23T14:30:00+02:00" is accepted: keep the offset
    name: "receive: a ±hh:mm offset is kept",
    build: () => receiveCall({ from: "+250788123123", to: "2020", text: "hi", date: "2017-06-23T14:30:00+02:00" }),
    expected: { action: "receive", body: "from=%2B250788123123&text=hi&date=2017-06-23T14%3A30%3A00%2B02%3A00" },
  },
  {
    // §2.3 rejected by courier: "2017-06-23T12:30:00+0200" → rewritten in UTC
    name: "receive: +0200 (not RFC 3339) is rewritten in UTC",
    build: () => receiveCall({ from: "+250788123123", to: "2020", text: "hi", date: "2017-06-23T12:30:00+0200" }),
    expected: { action: "receive", body: "from=%2B250788123123&text=hi&date=2017-06-23T10%3A30%3A00.000Z" },
  },
  {
    // §2.3 rejected by courier: "2017-06-23T12:30:00 (no zone)"
    name: "receive: a date without a zone is refused rather than guessed",
    build: () => receiveCall({ from: "+250788123123", to: "2020", text: "hi", date: "2017-06-23T12:30:00" }),
    expected: { reason: /not a date/ },
  },
  {
    name: "receive: no sender",
    build: () => receiveCall({ from: "", to: "2020", text: "hi", date: "" }),
    expected: { reason: /no sender/ },
  },
  {
    name: "receive: unicode text is percent-encoded UTF-8",
    build: () => receiveCall({ from: "+79161234567", to: "2020", text: "Привет ☺", date: "" }),
    expected: { action: "receive", body: "from=%2B79161234567&text=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82+%E2%98%BA" },
  },
  {
    // §2.4 "uuid: the message UUID. RapidPro's config page tells integrators to send this."
    name: "status: a message UUID goes back as uuid",
    build: () => statusCall({ id: UUID, status: "delivered" }),
    expected: { action: "delivered", body: `uuid=${UUID}` },
  },
  {
    // §2.4 "lowercase only"
    name: "status: an upper-case UUID is lowered (courier accepts lowercase only)",
    build: () => statusCall({ id: UUID.toUpperCase(), status: "sent" }),
    expected: { action: "sent", body: `uuid=${UUID}` },
  },
  {
    // §8 "If the only thing we hold is {{id}} from an older server, send it back as id"
    name: "status: a legacy integer id goes back as id",
    build: () => statusCall({ id: "12345", status: "failed", reason: "UNDELIV" }),
    expected: { action: "failed", body: "id=12345" },
  },
  {
    // §2.4 "There is no read (R) or errored (E) endpoint."
    name: "status: only sent, delivered and failed exist",
    build: () => statusCall({ id: UUID, status: "read" as never }),
    expected: { reason: /unknown status/ },
  },
  {
    name: "status: no id",
    build: () => statusCall({ id: "", status: "sent" }),
    expected: { reason: /no message id/ },
  },
  {
    // §2.5 "Parameter: from (required ...). There is no sender alias"
    name: "stopped: from, + as %2B",
    build: () => stoppedCall("+2349067554729"),
    expected: { action: "stopped", body: "from=%2B2349067554729" },
  },
  {
    name: "stopped: no from",
    build: () => stoppedCall(""),
    expected: { reason: /no sender/ },
  },
];

describe("courier calls", () => {
  for (const c of cases) {
    test(c.name, () => {
      const result = c.build();
      if ("reason" in c.expected) {
        assert.equal(result.ok, false);
        if (!result.ok) assert.match(result.reason, c.expected.reason);
      } else {
        assert.ok(result.ok, result.ok ? "" : result.reason);
        if (result.ok) assert.deepEqual(result.call, c.expected);
      }
    });
  }

  test("URL: /c/ex/<uuid>/<action>, a trailing slash on the base removed", () => {
    assert.equal(courierUrl("https://app.rapidpro.io/", "8eb23e93-5ecb-45ba-b726-3b064e0c56ab", "receive"), "https://app.rapidpro.io/c/ex/8eb23e93-5ecb-45ba-b726-3b064e0c56ab/receive");
  });

  const dates: Array<[string, string | undefined]> = [
    ["2017-06-23T12:30:00Z", "2017-06-23T12:30:00Z"],
    ["2017-06-23T12:30:00.500Z", "2017-06-23T12:30:00.500Z"],
    ["2017-06-23 12:30:00Z", "2017-06-23T12:30:00.000Z"],
    ["20170623T123000Z", undefined],
    ["yesterday", undefined],
  ];
  for (const [input, expected] of dates) {
    test(`toRfc3339(${input})`, () => assert.equal(toRfc3339(input), expected));
  }

  // Which statuses the outbox takes as the same one (queued once) and which as different.
  const onceIds: { name: string; a: Parameters<typeof statusOnceId>[0]; b: Parameters<typeof statusOnceId>[0]; same: boolean }[] = [
    { name: "one status handed over twice", a: { id: "7", status: "sent", smscId: "A1" }, b: { id: "7", status: "sent", smscId: "A1" }, same: true },
    { name: "a reason does not make it another status", a: { id: "7", status: "failed", smscId: "A1", reason: "x" }, b: { id: "7", status: "failed", smscId: "A1" }, same: true },
    { name: "another step of the message", a: { id: "7", status: "sent", smscId: "A1" }, b: { id: "7", status: "delivered", smscId: "A1" }, same: false },
    { name: "another message", a: { id: "7", status: "sent", smscId: "A1" }, b: { id: "8", status: "sent", smscId: "A1" }, same: false },
    { name: "a new submission after a failure (new aggregator id)", a: { id: "7", status: "sent", smscId: "A1" }, b: { id: "7", status: "sent", smscId: "B2" }, same: false },
    { name: "ids that would collide if simply joined", a: { id: "7 sent", status: "sent" }, b: { id: "7", status: "sent", smscId: "sent" }, same: false },
  ];
  for (const row of onceIds) {
    test(`statusOnceId: ${row.name}`, () => assert.equal(statusOnceId(row.a) === statusOnceId(row.b), row.same));
  }
});
