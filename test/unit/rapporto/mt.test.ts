import { describe, test } from "node:test";
import assert from "node:assert/strict";
import type { MT } from "../../../lib/contract";
import { buildMtRequest, encodeValue, mtParameters, parseMtReply, ptagFor, type MtOptions } from "../../../lib/rapporto/mt";
import { compileProfile, type Account, type CompiledProfile, type Profile } from "../../../lib/rapporto/profile";

const V5_TEXT: Profile = { kind: "v5", method: "GET", output: "text" };
const V5_XML: Profile = { kind: "v5", method: "GET", output: "xml" };

function account(profile: Profile, extra: Partial<Account> = {}): Account & { profile: CompiledProfile } {
  return { url: "http://partner.ru/login", serviceId: "login", pass: "123", ...extra, profile: compileProfile(profile) };
}

const mt = (extra: Partial<MT> = {}): MT => ({ id: "msg-1", to: "79161234567", from: "7001", text: "тест", ...extra });

describe("MT parameters (HTTP API v5.0, http_sms.rst)", () => {
  const cases: { name: string; mt?: Partial<MT>; options?: MtOptions; account?: Partial<Account>; profile?: Profile; expected: Record<string, string> }[] = [
    {
      name: "required: clientId, message, serviceId, pass",
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123" },
    },
    {
      name: "`source`: sender name from the account",
      account: { source: "MyBrand" },
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", source: "MyBrand" },
    },
    {
      name: "`source` from the message overrides the account",
      account: { source: "MyBrand" },
      options: { source: "Other" },
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", source: "Other" },
    },
    {
      name: "`ptag`: partner's tag, 1–50 chars [0-9a-zA-Z-], echoed in DLR",
      options: { ptag: "0b6e1f3c-2d4a-4c1e-9a55-5a8c2f0d9e11" },
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", ptag: "0b6e1f3c-2d4a-4c1e-9a55-5a8c2f0d9e11" },
    },
    {
      name: "`partnerMsgId`: 1–50 chars, idempotency key",
      options: { partnerMsgId: "12345" },
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", partnerMsgId: "12345" },
    },
    {
      name: "`sending_time` `hh_hh` window, e.g. `10_20`, with `time_zone` `±hh:mm`",
      options: { sendingTime: "10_20", timeZone: "+03:00" },
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", sending_time: "10_20", time_zone: "+03:00" },
    },
    {
      name: "`sending_time` alone: time zone from the number",
      options: { sendingTime: "9_21" },
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", sending_time: "9_21" },
    },
    {
      name: "`flash`: `1` = flash SMS",
      options: { flash: true },
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", flash: "1" },
    },
    {
      name: "`output`: `xml` → XML response",
      profile: V5_XML,
      expected: { clientId: "79161234567", message: "тест", serviceId: "login", pass: "123", output: "xml" },
    },
    {
      name: "`clientId` with + accepted as given (`+79036550550` … all accepted)",
      mt: { to: "+79036550550" },
      expected: { clientId: "+79036550550", message: "тест", serviceId: "login", pass: "123" },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const params = Object.fromEntries(mtParameters(account(c.profile ?? V5_TEXT, c.account), mt(c.mt), c.options).filter((p) => p[1] !== undefined && p[1] !== ""));
      assert.deepEqual(params, c.expected);
    });
  }

  const bad: { name: string; mt?: Partial<MT>; options?: MtOptions; reason: RegExp }[] = [
    { name: "no destination", mt: { to: "" }, reason: /no destination/ },
    { name: "`clientId` ≤25 chars", mt: { to: "7".repeat(26) }, reason: /25 characters/ },
    { name: "no text", mt: { text: "" }, reason: /no text/ },
    { name: "ptag with a character outside [0-9a-zA-Z-]", options: { ptag: "a_b" }, reason: /ptag must be 1-50/ },
    { name: "ptag longer than 50", options: { ptag: "a".repeat(51) }, reason: /ptag must be 1-50/ },
    { name: "partnerMsgId longer than 50", options: { partnerMsgId: "a".repeat(51) }, reason: /partnerMsgId must be 1-50/ },
    { name: "sending_time not hh_hh", options: { sendingTime: "10-20" }, reason: /sending_time must be a window hh_hh/ },
    { name: "sending_time hour 25", options: { sendingTime: "10_25" }, reason: /sending_time/ },
    { name: "time_zone without sign", options: { sendingTime: "10_20", timeZone: "03:00" }, reason: /time_zone must be ±hh:mm/ },
  ];
  for (const c of bad) {
    test(`refuses ${c.name}`, () => assert.throws(() => mtParameters(account(V5_TEXT), mt(c.mt), c.options), c.reason));
  }
});

describe("ptag from the RapidPro id", () => {
  const cases = [
    { name: "UUID fits", input: "0b6e1f3c-2d4a-4c1e-9a55-5a8c2f0d9e11", expected: "0b6e1f3c-2d4a-4c1e-9a55-5a8c2f0d9e11" },
    { name: "numeric id fits", input: "123456", expected: "123456" },
    { name: "underscore does not fit [0-9a-zA-Z-]", input: "a_1", expected: undefined },
    { name: "51 characters do not fit 1–50", input: "1".repeat(51), expected: undefined },
  ];
  for (const c of cases) test(c.name, () => assert.equal(ptagFor(c.input), c.expected));
});

describe("encoding: \"Inadmissible symbols in URL have to be coded (URLEncoded) according to the UTF-8 coding\"", () => {
  const cases = [
    { name: "Cyrillic (the docs' example: тест = %D1%82%D0%B5%D1%81%D1%82)", input: "тест", expected: "%D1%82%D0%B5%D1%81%D1%82" },
    { name: "emoji as 4-byte UTF-8", input: "hi 😀", expected: "hi%20%F0%9F%98%80" },
    { name: "`+` must be sent as %2B", input: "+03:00", expected: "%2B03%3A00" },
    { name: "ampersand and equals cannot break the query", input: "a&b=c", expected: "a%26b%3Dc" },
    { name: "new line", input: "a\nb", expected: "a%0Ab" },
    { name: "lone surrogate becomes U+FFFD instead of throwing", input: "x\uD83D", expected: "x%EF%BF%BD" },
    { name: "ASCII letters and digits unchanged", input: "Abc-123_.~", expected: "Abc-123_.~" },
  ];
  for (const c of cases) test(c.name, () => assert.equal(encodeValue(c.input), c.expected));
});

describe("MT request", () => {
  test("GET: the docs' example URL", () => {
    const req = buildMtRequest(account(V5_TEXT), mt());
    assert.equal(req.method, "GET");
    assert.equal(req.url, "http://partner.ru/login?clientId=79161234567&message=%D1%82%D0%B5%D1%81%D1%82&serviceId=login&pass=123");
    assert.equal(req.body, undefined);
  });

  test("GET to a URL that already has a query appends with &", () => {
    const req = buildMtRequest(account(V5_TEXT, { url: "http://h/x?a=1" }), mt({ text: "a" }));
    assert.match(req.url, /^http:\/\/h\/x\?a=1&clientId=/);
  });

  test("POST \"must be application/x-www-form-urlencoded\", UTF-8", () => {
    const req = buildMtRequest(account({ kind: "v5", method: "POST", output: "text" }), mt({ text: "1+1 😀", to: "+79161234567" }), { timeZone: "+03:00", sendingTime: "10_20" });
    assert.equal(req.method, "POST");
    assert.equal(req.url, "http://partner.ru/login");
    assert.equal(req.headers["content-type"], "application/x-www-form-urlencoded; charset=utf-8");
    assert.equal(req.body, "clientId=%2B79161234567&message=1%2B1%20%F0%9F%98%80&serviceId=login&pass=123&sending_time=10_20&time_zone=%2B03%3A00");
    assert.equal(req.headers["content-length"], String(Buffer.byteLength(req.body ?? "")));
    // What the receiving side decodes must be exactly what was sent.
    const decoded = new URLSearchParams(req.body);
    assert.equal(decoded.get("message"), "1+1 😀");
    assert.equal(decoded.get("clientId"), "+79161234567");
  });
});

describe("MT reply (text form): success \"HTTP 200, body `OK\\n<id>`\", errors by HTTP code", () => {
  const profile = compileProfile(V5_TEXT);
  const cases: { name: string; status: number; body: string; expected: object }[] = [
    { name: "200 OK\\n<id>", status: 200, body: "OK\n4095284974", expected: { accepted: true, id: "4095284974" } },
    { name: "id is a positive 64-bit integer: no digit lost", status: 200, body: "OK\n18446744073709551615", expected: { accepted: true, id: "18446744073709551615" } },
    { name: "CRLF and trailing new line tolerated", status: 200, body: "OK\r\n4095284974\r\n", expected: { accepted: true, id: "4095284974" } },
    { name: "200 without id is unreadable: not retried (it may be on its way)", status: 200, body: "OK", expected: { accepted: false, code: "reply", text: "unreadable reply: OK", temporary: false, ambiguous: true } },
    { name: "200 with an empty body", status: 200, body: "", expected: { accepted: false, code: "reply", text: "unreadable reply: (empty)", temporary: false, ambiguous: true } },
    { name: "400 missing/bad parameters: permanent", status: 400, body: "Missing parameter clientId", expected: { accepted: false, code: 400, text: "Missing parameter clientId", temporary: false } },
    { name: "401 bad serviceId/pass: permanent", status: 401, body: "Invalid password", expected: { accepted: false, code: 401, text: "Invalid password", temporary: false } },
    { name: "402 prepaid balance exhausted: do not retry", status: 402, body: "No money", expected: { accepted: false, code: 402, text: "No money", temporary: false } },
    { name: "403 service unknown/inactive: do not retry", status: 403, body: "Service inactive", expected: { accepted: false, code: 403, text: "Service inactive", temporary: false } },
    { name: "406 cannot send to this clientId: do not retry", status: 406, body: "Bad clientId", expected: { accepted: false, code: 406, text: "Bad clientId", temporary: false } },
    { name: "408 rate exceeded: retry within the rate", status: 408, body: "Too many requests", expected: { accepted: false, code: 408, text: "Too many requests", temporary: true, throttled: true } },
    { name: "409 duplicate blocked: do not retry", status: 409, body: "Duplicate", expected: { accepted: false, code: 409, text: "Duplicate", temporary: false } },
    { name: "414 message too long: permanent", status: 414, body: "Too long", expected: { accepted: false, code: 414, text: "Too long", temporary: false } },
    { name: "500 internal error: retry (only idempotently)", status: 500, body: "Internal error", expected: { accepted: false, code: 500, text: "Internal error", temporary: true, ambiguous: true } },
    { name: "503 same partnerMsgId in progress: wait for the first answer", status: 503, body: "In progress", expected: { accepted: false, code: 503, text: "In progress", temporary: true } },
    { name: "an empty error body takes the documented meaning", status: 402, body: "", expected: { accepted: false, code: 402, text: "prepaid balance exhausted", temporary: false } },
    { name: "undocumented 502: temporary like any 5xx", status: 502, body: "", expected: { accepted: false, code: 502, text: "HTTP 502", temporary: true, ambiguous: true } },
    { name: "undocumented 404: permanent like any 4xx", status: 404, body: "Not found", expected: { accepted: false, code: 404, text: "Not found", temporary: false } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const reply = parseMtReply(profile, c.status, c.body);
      assert.deepEqual(JSON.parse(JSON.stringify(reply)), c.expected);
    });
  }

  test("a long error body is cut to a readable reason", () => {
    const reply = parseMtReply(profile, 400, "x".repeat(5000));
    assert.equal(reply.accepted, false);
    if (!reply.accepted) assert.ok(reply.text.length <= 201);
  });
});

describe("MT reply (XML form, `output=xml`): \"HTTP code is then 200 or 500 only\"", () => {
  const profile = compileProfile(V5_XML);
  const cases: { name: string; status: number; body: string; expected: object }[] = [
    {
      name: "the docs' success example",
      status: 200,
      body: '<?xml version="1.0" encoding="utf-8"?><response><code>200</code><text>OK</text><payload><id>4095284976</id></payload></response>',
      expected: { accepted: true, id: "4095284976" },
    },
    {
      name: "64-bit id kept as text",
      status: 200,
      body: "<response><code>200</code><text>OK</text><payload><id>9223372036854775807</id></payload></response>",
      expected: { accepted: true, id: "9223372036854775807" },
    },
    {
      name: "the docs' error example: code inside, HTTP 200",
      status: 200,
      body: "<response><code>401</code><text>Invalid password</text></response>",
      expected: { accepted: false, code: 401, text: "Invalid password", temporary: false },
    },
    {
      name: "408 inside XML is throttling",
      status: 200,
      body: "<response><code>408</code><text>Rate exceeded</text></response>",
      expected: { accepted: false, code: 408, text: "Rate exceeded", temporary: true, throttled: true },
    },
    {
      name: "500 over HTTP 500",
      status: 500,
      body: "<response><code>500</code><text>Internal error</text></response>",
      expected: { accepted: false, code: 500, text: "Internal error", temporary: true, ambiguous: true },
    },
    {
      name: "200 without payload id is unreadable",
      status: 200,
      body: "<response><code>200</code><text>OK</text></response>",
      expected: { accepted: false, code: "reply", text: "unreadable reply: <response><code>200</code><text>OK</text></response>", temporary: false, ambiguous: true },
    },
    {
      name: "a plain-text error (proxy in between) falls back to the HTTP code",
      status: 503,
      body: "Service Unavailable",
      expected: { accepted: false, code: 503, text: "Service Unavailable", temporary: true },
    },
    {
      name: "broken XML with HTTP 200 is unreadable",
      status: 200,
      body: "<response><code>",
      expected: { accepted: false, code: "reply", text: "unreadable reply: <response><code>", temporary: false, ambiguous: true },
    },
  ];
  for (const c of cases) {
    test(c.name, () => assert.deepEqual(JSON.parse(JSON.stringify(parseMtReply(profile, c.status, c.body))), c.expected));
  }
});
