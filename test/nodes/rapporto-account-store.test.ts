/**
 * rapporto-account's correlation store at start (issue #14, "No silent loss of a promise"): a
 * store URL that cannot be used is reported at once with an error and `storeError`, and
 * store() rejects, so no message is sent without its correlation. rapporto-mt and rapporto-dlr
 * turn red with a short reason, and the DLR push is answered 500: "Partner answers 200 (final) —
 * 400 (unknown transactionId/ptag) or 500 make the provider retry" (http_status.rst); 503 is not
 * one of the answers that make Rapporto push again.
 */
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { helper, httpNodeApp, nodeModules, startHelper, stopHelper } from "../helpers/red";

const PASS = "rapporto-pass";
const modules = () => nodeModules("rapporto-account", "rapporto-mt", "rapporto-dlr");

const account = (storeUrl: string) => [
  { id: "t1", type: "tab" },
  { id: "acc", type: "rapporto-account", url: "http://127.0.0.1:9/send", serviceId: "login", profile: "v5", method: "GET", output: "text", rate: 10, allowedIps: "*", storeUrl },
  { id: "mt", z: "t1", type: "rapporto-mt", account: "acc", wires: [[]] },
  { id: "dlr", z: "t1", type: "rapporto-dlr", account: "acc", path: "/rapporto/dlr", maxTries: 1, ackMode: "emit", wires: [[], []] },
];

function lastStatus(id: string): { fill: string; text: string } | undefined {
  const node = helper.getNode(id);
  const calls = (node.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: [{ fill: string; text: string }] }> }).getCalls().filter((call) => call.thisValue === node);
  return calls.at(-1)?.args[0];
}

before(() => startHelper());
after(() => stopHelper());
afterEach(() => helper.unload());

const cases = [
  { name: "memory: works", storeUrl: "memory:", error: undefined },
  { name: "an unknown scheme", storeUrl: "ftp://127.0.0.1/store", error: /^correlation store unusable: store url must be empty \(embedded\), memory: or redis:\/\/\.\.\. \(redis\+sentinel:\/\/\.\.\. behind Sentinel\), got a "ftp:" URL$/ },
  // Port 1 on loopback: nothing listens; the check gives up after 10 s.
  { name: "a Redis that cannot be reached", storeUrl: "redis://127.0.0.1:1/0", error: /^correlation store unusable: no answer within 10 s$/ },
];
for (const c of cases) {
  test(`store at start: ${c.name}`, { timeout: 30_000 }, async () => {
    await helper.load(modules(), account(c.storeUrl) as never, { acc: { pass: PASS } });
    const node = helper.getNode("acc") as unknown as { store(): Promise<unknown>; storeError?: string; error: unknown };
    if (c.error === undefined) {
      await node.store();
      assert.equal(node.storeError, undefined);
      return;
    }
    await assert.rejects(node.store());
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(node.storeError ?? "", c.error);
    const errors = (node.error as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> }).getCalls().filter((call) => call.thisValue === node);
    assert.ok(errors.some((call) => String(call.args[0]).includes(node.storeError!)), "logged as an error");
    assert.ok(!errors.some((call) => String(call.args[0]).includes(PASS)), "the pass is never logged");
    // The nodes' statuses are throttled (500 ms); wait for the last one.
    await new Promise((resolve) => setTimeout(resolve, 700));
    for (const id of ["mt", "dlr"]) {
      const status = lastStatus(id);
      assert.equal(status?.fill, "red", `${id} is red`);
      assert.equal(status?.text, "correlation store unusable", `${id} says why, briefly`);
    }
    const res = await request(httpNodeApp()).get("/rapporto/dlr?transactionId=7986985&status=2");
    assert.equal(res.status, 500, "Rapporto pushes the DLR again");
    assert.match(res.text, /correlation store unusable/);
  });
}
