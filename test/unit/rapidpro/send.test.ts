/**
 * Reading courier's send requests. Each case is a request exactly as courier sends it,
 * taken from rapidpro-external-channel.md §3 (quoted in the case name or beside it).
 */
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { DEFAULT_FIELDS, parseSendRequest, type BodyFormat, type SendRequest } from "../../../lib/rapidpro/send";
import type { MT } from "../../../lib/contract";

const UUID = "0191e180-7d60-7000-aded-7d8b151cbd5b";
const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";

interface Case {
  name: string;
  request: SendRequest;
  format?: BodyFormat;
  expected: MT | { status: number; reason: RegExp };
}

const cases: Case[] = [
  {
    // §3.5 "GET with send_url = http://example.com/send?to={{to}}&text={{text}}&from={{from}}{{quick_replies}}"
    name: "GET: variables in the URL are always query-escaped (+ as %2B, space as +)",
    request: { method: "GET", contentType: "application/x-www-form-urlencoded", query: "to=%2B250788383383&text=Simple+Message&from=2020", body: "" },
    expected: { id: "", to: "+250788383383", from: "2020", text: "Simple Message" },
  },
  {
    // §3.5 "POST urlencoded with RapidPro's default body"
    name: "POST urlencoded with RapidPro's default body template",
    request: {
      method: "POST",
      contentType: "application/x-www-form-urlencoded",
      query: "",
      body: `uuid=${UUID}&text=Simple+Message&to=%2B250788383383&to_no_plus=250788383383&from=2020&from_no_plus=2020&channel=${CHANNEL}`,
    },
    expected: { id: UUID, to: "+250788383383", from: "2020", text: "Simple Message", channel: CHANNEL },
  },
  {
    // §3.5 "POST JSON ... { "to":{{to}}, "text":{{text}}, "from":{{from}}, "quick_replies":{{quick_replies}} }"
    name: "POST json with quick replies as a JSON array",
    request: {
      method: "POST",
      contentType: "application/json",
      query: "",
      body: '{ "to":"+250788383383", "text":"Some message", "from":"2020", "quick_replies":["One","Two","Three"] }',
    },
    expected: { id: "", to: "+250788383383", from: "2020", text: "Some message", quickReplies: ["One", "Two", "Three"] },
  },
  {
    // §3.5 'Unicode test: text ☺ "hi!" → "text":"☺ \"hi!\""'
    name: "json: unicode text and escaped quotes",
    request: { method: "POST", contentType: "application/json", query: "", body: '{"to":"+250788383383","text":"☺ \\"hi!\\"","from":"2020"}' },
    expected: { id: "", to: "+250788383383", from: "2020", text: '☺ "hi!"' },
  },
  {
    // §3.5 "All variables, JSON": HTML escaping on (\u003c \u0026 \u003e), every variable
    name: "json: all variables, Go's HTML escaping of < & >",
    request: {
      method: "POST",
      contentType: "application/json",
      query: "",
      body: `{"id":"${UUID}","uuid":"${UUID}","text":"a \\u003c b \\u0026 c \\u003e d","to":"+250788383383","to_no_plus":"250788383383","from":"2020","from_no_plus":"2020","channel":"${CHANNEL}","session_status":"W","quick_replies":["Yes & No"]}`,
    },
    expected: { id: UUID, to: "+250788383383", from: "2020", text: "a < b & c > d", channel: CHANNEL, quickReplies: ["Yes & No"], sessionStatus: "W" },
  },
  {
    // §3.5 "PUT XML ... <msg><to>{{to}}</to>...<quick_replies>{{quick_replies}}</quick_replies></msg>"
    name: "PUT xml with quick replies as <item> elements",
    request: {
      method: "PUT",
      contentType: "text/xml; charset=utf-8",
      query: "",
      body: "<msg><to>+250788383383</to><text>Some message</text><from>2020</from><quick_replies><item>One</item><item>Two</item><item>Three</item></quick_replies></msg>",
    },
    expected: { id: "", to: "+250788383383", from: "2020", text: "Some message", quickReplies: ["One", "Two", "Three"] },
  },
  {
    // §3.3 xml: "Go xml.EscapeText: &→&amp; ... \n→&#xA;" ; example "My pic!&#xA;https://foo.bar/image.jpg"
    name: "xml: Go's xml.EscapeText entities, numeric ones included",
    request: {
      method: "POST",
      contentType: "text/xml; charset=utf-8",
      query: "",
      body: "<msg><to>+250788383383</to><text>My pic!&#xA;https://foo.bar/image.jpg &amp; &#34;x&#34; &lt;y&gt; &#39;z&#39;</text><from>2020</from><quick_replies></quick_replies></msg>",
    },
    expected: { id: "", to: "+250788383383", from: "2020", text: "My pic!\nhttps://foo.bar/image.jpg & \"x\" <y> 'z'" },
  },
  {
    // §3.3 "anything else (custom header string): no encoding at all; raw values"
    name: "custom content type: raw values, nothing decoded",
    request: {
      method: "POST",
      contentType: "application/x-www-form-urlencoded; charset=utf-8",
      query: "",
      body: "to=250788383383&text=Simple Message&from=2020",
    },
    expected: { id: "", to: "250788383383", from: "2020", text: "Simple Message" },
  },
  {
    name: "custom content type keeps a literal + (courier does not encode it)",
    request: { method: "POST", contentType: "text/plain", query: "", body: "to=+250788383383&text=1+1=2&from=2020" },
    expected: { id: "", to: "+250788383383", from: "2020", text: "1+1=2" },
  },
  {
    // §4.2 "GET (any content type), urlencoded ...: &quick_reply=One&quick_reply=Two (leading &)"
    name: "urlencoded quick replies as repeated quick_reply fields",
    request: {
      method: "POST",
      contentType: "application/x-www-form-urlencoded",
      query: "",
      body: "to=%2B250788383383&text=Pick&from=2020&quick_reply=One&quick_reply=Two+%26+Three",
    },
    expected: { id: "", to: "+250788383383", from: "2020", text: "Pick", quickReplies: ["One", "Two & Three"] },
  },
  {
    // §3.2 "{{id}}: the same message UUID ... Integer id before courier v10.3.21"
    name: "legacy integer id in {{id}}",
    request: { method: "GET", query: "id=12345&to=%2B250788383383&text=Hi&from=2020", body: "" },
    expected: { id: "12345", to: "+250788383383", from: "2020", text: "Hi" },
  },
  {
    name: "to_no_plus used when the template has no {{to}}",
    request: { method: "GET", query: "to_no_plus=250788383383&text=Hi&from_no_plus=2020", body: "" },
    expected: { id: "", to: "250788383383", from: "2020", text: "Hi" },
  },
  {
    // §3.3 "so +250… → %2B250…, ☺ → %E2%98%BA, \n → %0A"
    name: "url: UTF-8 percent-encoding and newlines",
    request: { method: "GET", query: "to=%2B250788383383&text=%E2%98%BA%0Aline+two&from=2020", body: "" },
    expected: { id: "", to: "+250788383383", from: "2020", text: "☺\nline two" },
  },
  {
    name: "body values win over the same names in the query",
    request: { method: "POST", contentType: "application/x-www-form-urlencoded", query: "to=%2B1&text=query", body: "to=%2B250788383383&text=body&from=2020" },
    expected: { id: "", to: "+250788383383", from: "2020", text: "body" },
  },
  {
    // §3.2 "{{session_status}}: ... e.g. W = waiting"
    name: "session status passed on",
    request: { method: "GET", query: `uuid=${UUID}&to=%2B250788383383&text=Menu&from=2020&session_status=W`, body: "" },
    expected: { id: UUID, to: "+250788383383", from: "2020", text: "Menu", sessionStatus: "W" },
  },
  {
    name: "format forced to json whatever the header says",
    format: "json",
    request: { method: "POST", contentType: "text/plain", query: "", body: '{"to":"+250788383383","text":"Hi","from":"2020"}' },
    expected: { id: "", to: "+250788383383", from: "2020", text: "Hi" },
  },
  // refusals
  {
    name: "missing to",
    request: { method: "GET", query: "text=Hi&from=2020", body: "" },
    expected: { status: 400, reason: /missing destination/ },
  },
  {
    name: "missing text",
    request: { method: "GET", query: "to=%2B250788383383", body: "" },
    expected: { status: 400, reason: /missing text/ },
  },
  {
    name: "empty text",
    request: { method: "POST", contentType: "application/json", query: "", body: '{"to":"+250788383383","text":""}' },
    expected: { status: 400, reason: /missing text/ },
  },
  {
    name: "unparseable JSON",
    request: { method: "POST", contentType: "application/json", query: "", body: '{"to": "+2507' },
    expected: { status: 400, reason: /unparseable JSON/ },
  },
  {
    name: "JSON that is not an object",
    request: { method: "POST", contentType: "application/json", query: "", body: '["+250788383383"]' },
    expected: { status: 400, reason: /must be an object/ },
  },
  {
    name: "unparseable XML",
    request: { method: "POST", contentType: "text/xml", query: "", body: "<msg><to>+250</from></msg>" },
    expected: { status: 400, reason: /unparseable XML/ },
  },
  {
    // §3.1 "method: POST / GET / PUT"
    name: "DELETE is not a method courier uses",
    request: { method: "DELETE", query: "to=%2B1&text=x", body: "" },
    expected: { status: 405, reason: /not allowed/ },
  },
];

const form = (fields: Record<string, string>): SendRequest => ({
  method: "POST",
  contentType: "application/x-www-form-urlencoded",
  query: "",
  body: new URLSearchParams({ text: "Hi", to: "+250788383383", from: "2020", ...fields }).toString(),
});

/**
 * Ids and numbers as courier sends them (issue #14). §3.2: "`{{uuid}}` the message UUID (v7
 * since courier v10.1.20)"; "`{{id}}` the same message UUID ... Integer id before courier
 * v10.3.21". §2.4: "Valid means gocommon uuids.Is: ^[0-9a-f]{8}-[0-9a-f]{4}-[1-7][0-9a-f]{3}-
 * [89ab][0-9a-f]{3}-[0-9a-f]{12}$, lowercase only": courier refuses statuses for anything else.
 */
const idCases: Case[] = [
  { name: "id: a v7 message UUID", request: form({ uuid: UUID }), expected: { id: UUID, to: "+250788383383", from: "2020", text: "Hi" } },
  { name: "id: a v4 message UUID (older RapidPro)", request: form({ uuid: "a2f3c4d5-1b2c-4d3e-9f40-0123456789ab" }), expected: { id: "a2f3c4d5-1b2c-4d3e-9f40-0123456789ab", to: "+250788383383", from: "2020", text: "Hi" } },
  { name: "id: a positive integer (courier before v10.3.21)", request: form({ id: "9223372036854775807" }), expected: { id: "9223372036854775807", to: "+250788383383", from: "2020", text: "Hi" } },
  { name: "id: absent stays accepted (decision 3: GET templates carry no {{uuid}})", request: form({}), expected: { id: "", to: "+250788383383", from: "2020", text: "Hi" } },
  { name: "id: empty stays accepted", request: form({ uuid: "" }), expected: { id: "", to: "+250788383383", from: "2020", text: "Hi" } },
  { name: "id: upper-case UUID is not courier's", request: form({ uuid: UUID.toUpperCase() }), expected: { status: 400, reason: /^id "0191E180-7D60-7000-ADED-7D8B151CBD5B" is neither a message UUID/ } },
  { name: "id: UUID version 8 is not uuids.Is", request: form({ uuid: "0191e180-7d60-8000-aded-7d8b151cbd5b" }), expected: { status: 400, reason: /neither a message UUID/ } },
  { name: "id: a word", request: form({ uuid: "abc" }), expected: { status: 400, reason: /id "abc" is neither/ } },
  { name: "id: zero", request: form({ id: "0" }), expected: { status: 400, reason: /neither/ } },
  { name: "id: negative", request: form({ id: "-5" }), expected: { status: 400, reason: /neither/ } },
  { name: "id: leading zero", request: form({ id: "0012" }), expected: { status: 400, reason: /neither/ } },
  { name: "id: over int64", request: form({ id: "9223372036854775808" }), expected: { status: 400, reason: /neither/ } },
  { name: "id: a UUID with spaces around", request: form({ uuid: ` ${UUID}` }), expected: { status: 400, reason: /neither/ } },
  { name: "control: CR LF in to", request: form({ to: "+25078\r\nforged" }), expected: { status: 400, reason: /^to "\+25078\\r\\nforged" holds the control character \\r at character 6/ } },
  { name: "control: NUL in id", request: form({ uuid: `${UUID}\0` }), expected: { status: 400, reason: /^id ".*\\x00" holds the control character \\x00/ } },
  { name: "control: C1 (U+0085) in from", request: form({ from: "20\u008520" }), expected: { status: 400, reason: /^from "20\\x8520" holds the control character \\x85/ } },
  { name: "control: ESC in channel", request: form({ channel: "\u001b[2J" }), expected: { status: 400, reason: /^channel "\\x1b\[2J"/ } },
  { name: "control: tab in session_status", request: form({ session_status: "W\t" }), expected: { status: 400, reason: /^session_status "W\\t"/ } },
  { name: "control: a text keeps its line breaks and tabs", request: form({ text: "line 1\r\nline 2\tend" }), expected: { id: "", to: "+250788383383", from: "2020", text: "line 1\r\nline 2\tend" } },
  { name: "control: in json too", request: { method: "POST", contentType: "application/json", query: "", body: '{"to":"+2507\\u0000","text":"Hi"}' }, expected: { status: 400, reason: /^to "\+2507\\x00"/ } },
  { name: "control: in the query of a GET", request: { method: "GET", query: "to=%2B250%0D%0A&text=Hi", body: "" }, expected: { status: 400, reason: /^to "\+250\\r\\n"/ } },
  {
    name: "oversized: a 10,000-character to is refused, and only 64 characters of it echoed",
    request: form({ to: "9".repeat(10_000) }),
    expected: { status: 400, reason: new RegExp(`^to is 10000 characters long, over the 64 allowed: "${"9".repeat(64)}…\\(\\+9936 chars\\)"$`) },
  },
  { name: "oversized: 64 characters is still accepted", request: form({ to: "1".repeat(64) }), expected: { id: "", to: "1".repeat(64), from: "2020", text: "Hi" } },
  { name: "oversized: from", request: form({ from: "2".repeat(65) }), expected: { status: 400, reason: /^from is 65 characters long/ } },
];

const xmlBody = (body: string): SendRequest => ({ method: "PUT", contentType: "text/xml; charset=utf-8", query: "", body });

/** XML without DTDs (issue #14): courier's xml bodies are a template with xml.EscapeText'd values (§3.3), never a DOCTYPE. */
const xmlCases: Case[] = [
  {
    name: "xml: an internal entity is not expanded: the DOCTYPE is refused",
    request: xmlBody('<?xml version="1.0"?><!DOCTYPE msg [<!ENTITY x "expanded">]><msg><to>+250788383383</to><text>&x;</text></msg>'),
    expected: { status: 400, reason: /^XML body has a DOCTYPE: refused/ },
  },
  {
    name: "xml: an external entity (file) is refused",
    request: xmlBody('<!DOCTYPE msg [<!ENTITY x SYSTEM "file:///etc/passwd">]><msg><to>+250788383383</to><text>&x;</text></msg>'),
    expected: { status: 400, reason: /DOCTYPE/ },
  },
  {
    name: "xml: billion laughs is refused before any expansion",
    request: xmlBody(`<!DOCTYPE lolz [<!ENTITY lol "lol">${Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i || ""};`.repeat(10)}">`).join("")}]><msg><to>+1</to><text>&lol9;</text></msg>`),
    expected: { status: 400, reason: /DOCTYPE/ },
  },
  { name: "xml: a DOCTYPE without entities is refused too", request: xmlBody("<!DOCTYPE msg><msg><to>+250788383383</to><text>Hi</text></msg>"), expected: { status: 400, reason: /DOCTYPE/ } },
  { name: "xml: lower-case doctype", request: xmlBody("<!doctype msg><msg><to>+250788383383</to><text>Hi</text></msg>"), expected: { status: 400, reason: /DOCTYPE/ } },
  { name: "xml: an undeclared entity is refused, not passed on", request: xmlBody("<msg><to>+250788383383</to><text>a&x;b</text></msg>"), expected: { status: 400, reason: /^XML text has the entity "&x;", which is not one of XML's five/ } },
  { name: "xml: an HTML entity is not XML's", request: xmlBody("<msg><to>+250788383383</to><text>a&nbsp;b</text></msg>"), expected: { status: 400, reason: /entity "&nbsp;"/ } },
  { name: "xml: a reference to NUL is no character", request: xmlBody("<msg><to>+250788383383</to><text>a&#0;b</text></msg>"), expected: { status: 400, reason: /reference to no character: "&#0;"/ } },
  { name: "xml: a reference to a surrogate is no character", request: xmlBody("<msg><to>+250788383383</to><text>&#xD800;</text></msg>"), expected: { status: 400, reason: /reference to no character/ } },
  { name: "xml: a reference past U+10FFFF", request: xmlBody("<msg><to>+250788383383</to><text>&#x110000;</text></msg>"), expected: { status: 400, reason: /reference to no character/ } },
  {
    name: "xml: decoded once: &amp;lt; is the text &lt;",
    request: xmlBody("<msg><to>+250788383383</to><text>&amp;lt; &#x263A; &#9786; &apos;</text></msg>"),
    expected: { id: "", to: "+250788383383", from: "", text: "&lt; ☺ ☺ '" },
  },
  { name: "xml: a CR reference in to is a control character", request: xmlBody("<msg><to>+250&#xD;</to><text>Hi</text></msg>"), expected: { status: 400, reason: /^to "\+250\\r"/ } },
];

describe("parseSendRequest", () => {
  for (const c of [...cases, ...idCases, ...xmlCases]) {
    test(c.name, () => {
      const result = parseSendRequest(c.request, DEFAULT_FIELDS, c.format ?? "auto");
      if ("status" in c.expected) {
        assert.equal(result.ok, false, "expected a refusal");
        if (!result.ok) {
          assert.equal(result.status, c.expected.status);
          assert.match(result.reason, c.expected.reason);
          assert.ok(result.reason.length < 300, `a reason stays short, got ${result.reason.length} characters`);
        }
      } else {
        assert.ok(result.ok, result.ok ? "" : result.reason);
        if (result.ok) assert.deepEqual(result.mt, c.expected);
      }
    });
  }

  test("a custom field mapping reads other names, alternatives in order", () => {
    const result = parseSendRequest(
      { method: "POST", contentType: "application/json", query: "", body: '{"msisdn":"+250788383383","message":"Hi","ref":"77"}' },
      { ...DEFAULT_FIELDS, to: "destination,msisdn", text: "message", id: "ref" },
    );
    assert.ok(result.ok);
    if (result.ok) assert.deepEqual(result.mt, { id: "77", to: "+250788383383", from: "", text: "Hi" });
  });
});
