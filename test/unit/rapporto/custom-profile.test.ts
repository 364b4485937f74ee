/**
 * The partner-specific interface (reference §1.4): "parameter names such as `msisdn`,
 * `message`, `sn` (service number), `send_time`, and a `;`-separated text reply", e.g. the
 * public Ruby client: `GET http://lk.rapporto.ru:9002/revoup?msisdn=<digits>&sn=<sender>&message=<urlencoded>&send_time=…`,
 * "body split on `;`, success when field 0 is `ok`, message id = field 2".
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { buildMtRequest, parseMtReply } from "../../../lib/rapporto/mt";
import { compileProfile, type CustomProfile } from "../../../lib/rapporto/profile";

const LEGACY: CustomProfile = {
  kind: "custom",
  method: "GET",
  params: { destination: "msisdn", text: "message", sender: "sn", schedule: "send_time" },
  idPattern: "^ok;[^;]*;(?<id>[^;\\s]+)",
  successPattern: "^ok;",
};

describe("custom profile: request", () => {
  const cases: { name: string; profile: CustomProfile; options?: { sendingTime?: string; partnerMsgId?: string }; expected: { url: string; body?: string } }[] = [
    {
      name: "legacy names msisdn/sn/message, login and password not sent when not named",
      profile: LEGACY,
      expected: { url: "http://lk.example:9002/revoup?msisdn=%2B79161234567&message=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%F0%9F%98%80&sn=Brand" },
    },
    {
      name: "schedule parameter carries the sending window",
      profile: LEGACY,
      options: { sendingTime: "10_20" },
      expected: { url: "http://lk.example:9002/revoup?msisdn=%2B79161234567&message=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%F0%9F%98%80&sn=Brand&send_time=10_20" },
    },
    {
      name: "schedule in the partner's own format (the public client sends a timestamp), not v5's hh_hh",
      profile: LEGACY,
      options: { sendingTime: "20240105093000" },
      expected: { url: "http://lk.example:9002/revoup?msisdn=%2B79161234567&message=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%F0%9F%98%80&sn=Brand&send_time=20240105093000" },
    },
    {
      name: "login, password and partner message id under the partner's names, as a POST form",
      profile: { ...LEGACY, method: "POST", params: { destination: "to", text: "txt", login: "user", password: "pwd", partnerMsgId: "ext_id" } },
      options: { partnerMsgId: "m-1" },
      expected: { url: "http://lk.example:9002/revoup", body: "to=%2B79161234567&txt=%D0%BF%D1%80%D0%B8%D0%B2%D0%B5%D1%82%20%F0%9F%98%80&user=svc&pwd=s3cret&ext_id=m-1" },
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const account = { url: "http://lk.example:9002/revoup", serviceId: "svc", pass: "s3cret", source: "Brand", profile: compileProfile(c.profile) };
      const req = buildMtRequest(account, { id: "m-1", to: "+79161234567", from: "", text: "привет 😀" }, c.options);
      assert.equal(req.url, c.expected.url);
      assert.equal(req.body, c.expected.body);
    });
  }
});

describe("custom profile: reply parser (pattern with a named id group and a success test)", () => {
  const profile = compileProfile(LEGACY);
  const cases: { name: string; status: number; body: string; expected: object }[] = [
    { name: "\"success when field 0 is `ok`, message id = field 2\"", status: 200, body: "ok;1;987654321", expected: { accepted: true, id: "987654321" } },
    { name: "trailing new line", status: 200, body: "ok;1;987654321\n", expected: { accepted: true, id: "987654321" } },
    { name: "not ok: permanent, reply text as reason", status: 200, body: "error;bad number", expected: { accepted: false, code: 200, text: "error;bad number", temporary: false } },
    { name: "ok without id: unreadable, not retried", status: 200, body: "ok;1", expected: { accepted: false, code: "reply", text: "unreadable reply: ok;1", temporary: false, ambiguous: true } },
    { name: "HTTP errors use the documented table (408 throttled)", status: 408, body: "slow down", expected: { accepted: false, code: 408, text: "slow down", temporary: true, throttled: true } },
    { name: "HTTP 401 permanent", status: 401, body: "denied", expected: { accepted: false, code: 401, text: "denied", temporary: false } },
  ];
  for (const c of cases) test(c.name, () => assert.deepEqual(JSON.parse(JSON.stringify(parseMtReply(profile, c.status, c.body))), c.expected));
});

describe("custom profile: configuration errors say what is wrong", () => {
  const cases: { name: string; profile: CustomProfile; reason: RegExp }[] = [
    { name: "no destination name", profile: { ...LEGACY, params: { ...LEGACY.params, destination: "" } }, reason: /parameter name for destination/ },
    { name: "no text name", profile: { ...LEGACY, params: { ...LEGACY.params, text: "" } }, reason: /parameter name for text/ },
    { name: "a name used twice", profile: { ...LEGACY, params: { ...LEGACY.params, sender: "msisdn" } }, reason: /"msisdn" is used twice/ },
    { name: "a name with a space", profile: { ...LEGACY, params: { ...LEGACY.params, sender: "s n" } }, reason: /not usable/ },
    { name: "id pattern without a named group", profile: { ...LEGACY, idPattern: "ok;(\\d+)" }, reason: /named group \(\?<id>/ },
    { name: "id pattern that is not a regular expression", profile: { ...LEGACY, idPattern: "(?<id>[" }, reason: /reply id pattern is not a valid regular expression/ },
    { name: "success pattern that is not a regular expression", profile: { ...LEGACY, successPattern: "(" }, reason: /success pattern is not a valid/ },
    { name: "method other than GET/POST", profile: { ...LEGACY, method: "PUT" as "GET" }, reason: /method must be GET or POST/ },
  ];
  for (const c of cases) test(c.name, () => assert.throws(() => compileProfile(c.profile), c.reason));
});
