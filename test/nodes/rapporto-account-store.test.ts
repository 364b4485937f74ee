/**
 * rapporto-account's correlation store at start (issue #14, "No silent loss of a promise"): a
 * store URL that cannot be used is reported at once with an error and `storeError`, and
 * store() rejects, so no message is sent without its correlation.
 */
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { helper, nodeModules, startHelper, stopHelper } from "../helpers/red";

const PASS = "rapporto-pass";
const modules = () => nodeModules("rapporto-account");

const account = (storeUrl: string) => [{ id: "acc", type: "rapporto-account", url: "http://127.0.0.1:9/send", serviceId: "login", profile: "v5", method: "GET", output: "text", rate: 10, allowedIps: "*", storeUrl }];

before(() => startHelper());
after(() => stopHelper());
afterEach(() => helper.unload());

const cases = [
  { name: "memory: works", storeUrl: "memory:", error: undefined },
  { name: "an unknown scheme", storeUrl: "ftp://127.0.0.1/store", error: /^correlation store unusable: store url must be empty \(embedded\), memory: or redis:\/\/\.\.\., got a "ftp:" URL$/ },
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
  });
}
