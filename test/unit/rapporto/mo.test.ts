import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { createHmac } from "node:crypto";
import { formatMoReply, moAnswer, moSignature, parseMoPush, readPushParams, verifyMoSignature, type MoOutcome, type PushParams } from "../../../lib/rapporto/mo";

const NOW = () => new Date("2024-05-01T10:00:00.000Z");

describe("MO push parameters (http_mo.rst)", () => {
  const cases: { name: string; input: PushParams; expected: object }[] = [
    {
      name: "the docs' example: clientId, message, connectorId, serviceId, receivedDate, shortNumber",
      input: { clientId: "79161234567", message: "testText", connectorId: "50", serviceId: "login", receivedDate: "2009-10-02 12:00:00", shortNumber: "0000" },
      expected: {
        mo: { from: "+79161234567", to: "0000", text: "testText", date: "2009-10-02T12:00:00+04:00" },
        serviceId: "login",
        warnings: [],
        params: { clientId: "79161234567", message: "testText", connectorId: "50", serviceId: "login", receivedDate: "2009-10-02 12:00:00", shortNumber: "0000" },
      },
    },
    {
      name: "messageId (\"unique id\") and sum_sms (number of parts); mtSent and clientPhone kept",
      input: { clientId: "79161234567", message: "привет 😀", serviceId: "login", receivedDate: "2024-05-01 13:00:00", shortNumber: "7001", messageId: "555", sum_sms: "2", mtSent: "0", clientPhone: "7916***4567" },
      expected: {
        mo: { from: "+79161234567", to: "7001", text: "привет 😀", date: "2024-05-01T13:00:00+03:00" },
        messageId: "555",
        serviceId: "login",
        parts: 2,
        warnings: [],
        params: { clientId: "79161234567", message: "привет 😀", serviceId: "login", receivedDate: "2024-05-01 13:00:00", shortNumber: "7001", messageId: "555", sum_sms: "2", mtSent: "0", clientPhone: "7916***4567" },
      },
    },
    {
      name: "an empty message is kept: \"the service prefix/keyword may have been stripped\"",
      input: { clientId: "7916", message: "", shortNumber: "1", receivedDate: "2024-05-01 13:00:00" },
      expected: { mo: { from: "+7916", to: "1", text: "", date: "2024-05-01T13:00:00+03:00" }, warnings: [], params: { clientId: "7916", message: "", shortNumber: "1", receivedDate: "2024-05-01 13:00:00" } },
    },
    {
      name: "no receivedDate: time of arrival, with a warning (a refused MO would be retried and lost)",
      input: { clientId: "7916", message: "x", shortNumber: "1" },
      expected: { mo: { from: "+7916", to: "1", text: "x", date: "2024-05-01T10:00:00.000Z" }, warnings: ["no receivedDate; using the time of arrival"], params: { clientId: "7916", message: "x", shortNumber: "1" } },
    },
    {
      name: "bad receivedDate: time of arrival, with the reason",
      input: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "yesterday" },
      expected: {
        mo: { from: "+7916", to: "1", text: "x", date: "2024-05-01T10:00:00.000Z" },
        warnings: ['date is not YYYY-MM-DD HH:MM:SS: "yesterday"; using the time of arrival'],
        params: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "yesterday" },
      },
    },
    {
      name: "no shortNumber: serviceId as destination",
      input: { clientId: "7916", message: "x", serviceId: "svc", receivedDate: "2024-05-01 13:00:00" },
      expected: {
        mo: { from: "+7916", to: "svc", text: "x", date: "2024-05-01T13:00:00+03:00" },
        serviceId: "svc",
        warnings: ["no shortNumber; using serviceId as the destination"],
        params: { clientId: "7916", message: "x", serviceId: "svc", receivedDate: "2024-05-01 13:00:00" },
      },
    },
    {
      name: "sum_sms not a number",
      input: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "2024-05-01 13:00:00", sum_sms: "two" },
      expected: {
        mo: { from: "+7916", to: "1", text: "x", date: "2024-05-01T13:00:00+03:00" },
        warnings: ['sum_sms is not a positive number: "two"'],
        params: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "2024-05-01 13:00:00", sum_sms: "two" },
      },
    },
    {
      // The receiver cuts a whole reason at 200 characters; each value is cut to 64 so the reason's tail survives.
      name: "a 300-character receivedDate: the value is cut and quoted, the reason's tail kept",
      input: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "9".repeat(300) },
      expected: {
        mo: { from: "+7916", to: "1", text: "x", date: "2024-05-01T10:00:00.000Z" },
        warnings: [`date is not YYYY-MM-DD HH:MM:SS: "${"9".repeat(64)}…(+236 chars)"; using the time of arrival`],
        params: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "9".repeat(300) },
      },
    },
    {
      name: "sum_sms with a line break and a quote: escaped inside its quotes",
      input: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "2024-05-01 13:00:00", sum_sms: '2\r\n"x' },
      expected: {
        mo: { from: "+7916", to: "1", text: "x", date: "2024-05-01T13:00:00+03:00" },
        warnings: ['sum_sms is not a positive number: "2\\r\\n\\"x"'],
        params: { clientId: "7916", message: "x", shortNumber: "1", receivedDate: "2024-05-01 13:00:00", sum_sms: '2\r\n"x' },
      },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const parsed = parseMoPush(c.input, { timeZone: "Europe/Moscow", now: NOW });
      assert.ok(parsed.ok);
      assert.deepEqual(JSON.parse(JSON.stringify(parsed.value)), c.expected);
    });
  }

  const bad: { name: string; input: PushParams; reason: string }[] = [
    { name: "no clientId", input: { message: "x" }, reason: "missing clientId" },
    { name: "empty clientId", input: { clientId: "", message: "x" }, reason: "missing clientId" },
    { name: "no message", input: { clientId: "7916" }, reason: "missing message" },
    { name: "message given twice", input: { clientId: "7916", message: ["a", "b"] }, reason: "parameter message is given 2 times" },
    { name: "a parameter name with CR LF given twice", input: { clientId: "7916", message: "x", "a\r\nb": ["1", "2"] }, reason: "parameter a\\r\\nb is given 2 times" },
  ];
  for (const c of bad) test(`refuses ${c.name}`, () => assert.deepEqual(parseMoPush(c.input, { timeZone: "UTC" }), { ok: false, reason: c.reason }));
});

describe("MO signature: \"`hash` (Base64 of HMAC-SHA256 over `clientId`+`message`+`messageId`, raw values, UTF-8, key issued by provider)\"", () => {
  const key = "k3y-secret";
  const expected = createHmac("sha256", key).update("79161234567привет 😀555", "utf8").digest("base64");

  test("computed over the raw concatenation in UTF-8", () => {
    assert.equal(moSignature("79161234567", "привет 😀", "555", key), expected);
  });

  const base = { clientId: "79161234567", message: "привет 😀", messageId: "555" };
  const cases: { name: string; params: Record<string, string>; ok: boolean; reason?: string }[] = [
    { name: "right hash", params: { ...base, hash: expected }, ok: true },
    { name: "`+` of Base64 arriving as a space (unencoded query) still matches", params: { ...base, hash: expected.replace(/\+/g, " ") }, ok: true },
    { name: "no hash", params: { ...base }, ok: false, reason: "no hash parameter" },
    { name: "hash of other text", params: { ...base, message: "привет", hash: expected }, ok: false, reason: "hash does not match" },
    { name: "hash with another key", params: { ...base, hash: moSignature(base.clientId, base.message, base.messageId, "other") }, ok: false, reason: "hash does not match" },
    { name: "truncated hash", params: { ...base, hash: expected.slice(0, 10) }, ok: false, reason: "hash does not match" },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const result = verifyMoSignature(c.params, key);
      assert.deepEqual(result, c.ok ? { ok: true, value: true } : { ok: false, reason: c.reason });
      // The reason never gives away the key or the expected hash.
      if (!result.ok) assert.ok(!result.reason.includes(key) && !result.reason.includes(expected));
    });
  }
});

describe("MO answer: \"200 = body is sent to the subscriber as reply … 204 = processed, no reply (body must be empty)\"", () => {
  const replies = [
    { name: "one reply", input: "Thanks!", expected: "Thanks!" },
    { name: "\"several replies = several lines separated by CR LF\"", input: ["One", "Two"], expected: "One\r\nTwo" },
    { name: "\"CR alone = newline inside a reply\"", input: "line 1\nline 2", expected: "line 1\rline 2" },
    { name: "CRLF inside one reply is also one newline", input: ["a\r\nb", "c"], expected: "a\rb\r\nc" },
  ];
  for (const c of replies) test(c.name, () => assert.equal(formatMoReply(c.input), c.expected));

  const answers: { name: string; outcome: MoOutcome; expected: object }[] = [
    { name: "handed on: 204, empty body", outcome: { kind: "handed-on" }, expected: { status: 204, body: "" } },
    { name: "reply text: 200 text/plain UTF-8", outcome: { kind: "reply", text: "Привет" }, expected: { status: 200, body: "Привет", contentType: "text/plain; charset=utf-8" } },
    { name: "empty reply text is no reply: 204", outcome: { kind: "reply", text: "" }, expected: { status: 204, body: "" } },
    { name: "not handed on: 5xx so it is delivered again", outcome: { kind: "not-handed-on", reason: "RapidPro down" }, expected: { status: 503, body: "RapidPro down", contentType: "text/plain; charset=utf-8" } },
    { name: "refused source or signature: 403", outcome: { kind: "refused", reason: "hash does not match" }, expected: { status: 403, body: "hash does not match", contentType: "text/plain; charset=utf-8" } },
    { name: "unreadable request: 400", outcome: { kind: "malformed", reason: "missing clientId" }, expected: { status: 400, body: "missing clientId", contentType: "text/plain; charset=utf-8" } },
  ];
  for (const c of answers) test(c.name, () => assert.deepEqual(moAnswer(c.outcome), c.expected));
});

describe("push parameters from query and form (\"POST must be application/x-www-form-urlencoded\", UTF-8)", () => {
  const cases: { name: string; query: string; body: string; expected: PushParams }[] = [
    { name: "query only", query: "clientId=7916&message=%D1%82%D0%B5%D1%81%D1%82", body: "", expected: { clientId: "7916", message: "тест" } },
    { name: "form only, + is a space in form encoding", query: "", body: "clientId=7916&message=a+b%2B", expected: { clientId: "7916", message: "a b+" } },
    { name: "the docs' receivedDate with %20", query: "receivedDate=2009-10-02%2012:00:00", body: "", expected: { receivedDate: "2009-10-02 12:00:00" } },
    { name: "a name in both query and body is given twice", query: "message=a", body: "message=b", expected: { message: ["a", "b"] } },
    { name: "nothing", query: "", body: "", expected: {} },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(readPushParams(c.query, c.body), c.expected));
});
