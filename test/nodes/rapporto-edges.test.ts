/**
 * Rapporto's push endpoints (rapporto-mo, rapporto-dlr) at their edge (issue #14): the source
 * allow-list fails closed, control characters, oversized values and invalid UTF-8 are refused
 * 400, and nothing is emitted for a refused push. Pushes as http_mo.rst and http_status.rst
 * describe them: GET with clientId, message, serviceId, receivedDate, shortNumber, messageId;
 * GET with transactionId and status.
 */
import { after, afterEach, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { helper, httpNodeApp, nodeModules, startHelper, stopHelper } from "../helpers/red";

const modules = () => nodeModules("rapporto-account", "rapporto-mo", "rapporto-dlr");

function flow(allowedIps: string) {
  return [
    { id: "t1", type: "tab" },
    { id: "acc", type: "rapporto-account", url: "http://127.0.0.1:9/login", serviceId: "login", profile: "v5", method: "GET", output: "text", rate: 10, allowedIps, storeUrl: "memory:" },
    { id: "mo", z: "t1", type: "rapporto-mo", account: "acc", path: "/rapporto/mo", timeZone: "Europe/Moscow", ackMode: "emit", replyTimeout: 0, wires: [["h-mo"]] },
    { id: "h-mo", z: "t1", type: "helper" },
    { id: "dlr", z: "t1", type: "rapporto-dlr", account: "acc", path: "/rapporto/dlr", maxTries: 1, ackMode: "emit", wires: [["h-status"], ["h-unknown"]] },
    { id: "h-status", z: "t1", type: "helper" },
    { id: "h-unknown", z: "t1", type: "helper" },
  ];
}

const MO = "clientId=79161234567&message=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82&serviceId=login&receivedDate=2024-05-01%2013:00:00&shortNumber=0000&messageId=m-1";

interface PushCase {
  name: string;
  allowedIps?: string;
  path: "/rapporto/mo" | "/rapporto/dlr";
  query: string;
  status: number;
  body: RegExp;
}

const cases: PushCase[] = [
  { name: "MO, allow-list *", path: "/rapporto/mo", query: MO, status: 204, body: /^$/ },
  { name: "MO, empty allow-list", allowedIps: "", path: "/rapporto/mo", query: MO, status: 403, body: /forbidden/ },
  { name: "DLR, empty allow-list", allowedIps: "", path: "/rapporto/dlr", query: "transactionId=1&status=2", status: 403, body: /forbidden/ },
  { name: "MO, CR LF in clientId", path: "/rapporto/mo", query: MO.replace("clientId=79161234567", "clientId=7916%0D%0A[error]"), status: 400, body: /^parameter clientId "7916\\r\\n\[error\]" holds the control character \\r/ },
  { name: "MO, NUL in messageId", path: "/rapporto/mo", query: MO.replace("messageId=m-1", "messageId=m%00"), status: 400, body: /messageId "m\\x00"/ },
  { name: "MO, a line break in the message is kept", path: "/rapporto/mo", query: MO.replace(/message=[^&]*/, "message=line%0D%0Aline"), status: 204, body: /^$/ },
  { name: "MO, a 10,000-character clientId", path: "/rapporto/mo", query: MO.replace("clientId=79161234567", `clientId=${"7".repeat(10_000)}`), status: 400, body: /^parameter clientId is 10000 characters long, over the 256 allowed: "7{64}…\(\+9936 chars\)"$/ },
  { name: "MO, windows-1251 message", path: "/rapporto/mo", query: MO.replace(/message=[^&]*/, "message=%CF%F0%E8"), status: 400, body: /^query: parameter message is not valid UTF-8 at byte 0 of its value/ },
  { name: "DLR, CR in transactionId", path: "/rapporto/dlr", query: "transactionId=1%0D&status=2", status: 400, body: /transactionId "1\\r"/ },
  { name: "DLR, invalid UTF-8 in status", path: "/rapporto/dlr", query: "transactionId=1&status=%FF", status: 400, body: /not valid UTF-8/ },
];

describe("Rapporto push endpoints fail closed", () => {
  before(() => startHelper());
  after(() => stopHelper());
  afterEach(() => helper.unload());

  for (const c of cases) {
    test(`${c.name} → ${c.status}`, async () => {
      await helper.load(modules(), flow(c.allowedIps ?? "*") as never, { acc: { pass: "p" } });
      let emitted = 0;
      for (const id of ["h-mo", "h-status", "h-unknown"]) helper.getNode(id).on("input", () => emitted++);
      const res = await request(httpNodeApp()).get(`${c.path}?${c.query}`);
      assert.equal(res.status, c.status, res.text);
      const text = /json/.test(res.headers["content-type"] ?? "") ? (JSON.parse(res.text) as { error: string }).error : res.text;
      assert.match(text, c.body);
      assert.ok(res.text.length < 400, `answer of ${res.text.length} characters`);
      assert.equal(emitted, c.status === 204 ? 1 : 0, "emitted only when accepted");
      if (c.allowedIps === "") {
        for (const id of ["mo", "dlr"]) {
          const node = helper.getNode(id);
          const calls = (node.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: [{ fill: string; text: string }] }> }).getCalls().filter((call) => call.thisValue === node);
          const status = calls.at(-1)?.args[0];
          assert.equal(status?.fill, "red", `${id} says why in red`);
          // The test helper loads no message catalogues, so RED._ gives the key back, cut to 32 characters.
          assert.match(status?.text ?? "", /^(allow-list empty|rapporto-account\.status\.no-sour…)$/);
        }
      }
    });
  }
});

/** The last status a node showed. */
function lastStatus(id: string): { fill: string; text: string } | undefined {
  const node = helper.getNode(id);
  const calls = (node.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: [{ fill: string; text: string }] }> }).getCalls().filter((call) => call.thisValue === node);
  return calls.at(-1)?.args[0];
}

/** Every text a node logged with `method` (warn, error). */
function logged(id: string, method: "warn" | "error"): string[] {
  const node = helper.getNode(id);
  const calls = (node[method] as unknown as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> }).getCalls().filter((call) => call.thisValue === node);
  return calls.map((call) => String(call.args[0]));
}

describe("Rapporto push endpoints: short statuses, escaped logs", () => {
  before(() => startHelper());
  after(() => stopHelper());
  afterEach(() => helper.unload());

  test("a bad allow-list entry: the MO node is red with a short text (the full reason is the account's error)", async () => {
    const entry = `not-an-address-${"x".repeat(80)}`;
    await helper.load(modules(), flow(entry) as never, { acc: { pass: "p" } });
    const status = lastStatus("mo");
    assert.equal(status?.fill, "red");
    assert.ok((status?.text.length ?? 99) <= 32, `status "${status?.text}" fits beside the node`);
    assert.ok(logged("acc", "error").some((line) => line.includes("allowed addresses")), "the account logs the whole reason");
  });

  test("an MO warning holding a peer value is logged escaped, on one line", async () => {
    await helper.load(modules(), flow("*") as never, { acc: { pass: "p" } });
    // Control characters are refused at the edge; a backslash passes and must not read as an escape.
    const res = await request(httpNodeApp()).get(`/rapporto/mo?${MO.replace(/receivedDate=[^&]*/, "receivedDate=yesterday%5Cr%5Cn[error]")}`);
    assert.equal(res.status, 204, res.text);
    const warnings = logged("mo", "warn").filter((line) => line.startsWith("MO from +79161234567: "));
    assert.equal(warnings.length, 1, warnings.join(" | "));
    assert.ok(!/[\r\n]/.test(warnings[0]), warnings[0]);
    assert.ok(!warnings[0].includes("yesterday\\r\\n"), `a backslash from the peer stays visible as one: ${warnings[0]}`);
  });
});
