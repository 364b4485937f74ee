/**
 * smpp-bind's correlation store at start (issue #14: "No silent loss of a promise: a store or
 * outbox URL that cannot be used (an unknown scheme, a Redis that cannot be reached at start)
 * stops the node with a red status and an error"). The bind never binds without a store: its
 * smpp-in and smpp-out are red and say why, and an MT is refused as temporary (courier tries it
 * again later) without a submit_sm reaching the SMSC.
 */
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import type { SubmitResult } from "../../lib/contract";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { helper, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { waitFor } from "../helpers/wait";

const SYSTEM_ID = "esme01";
const PASSWORD = "pw-Node-RED-1";
const modules = () => nodeModules("smpp-bind", "smpp-out", "smpp-in");

function flow(port: number, storeUrl: string) {
  return [
    { id: "t1", type: "tab" },
    { id: "b1", type: "smpp-bind", host: "127.0.0.1", port, mode: "transceiver", storeUrl, window: 10, idMode: "auto" },
    { id: "out1", z: "t1", type: "smpp-out", bind: "b1", encoding: "auto", smart: true, split: "udh8", maxParts: 10, registeredDelivery: "1", wires: [["h1"]] },
    { id: "h1", z: "t1", type: "helper" },
    { id: "in1", z: "t1", type: "smpp-in", bind: "b1", ackMode: "rapidpro", ackTimeout: 2, unmatchedWait: 0.2, wires: [[], [], []] },
  ];
}

function lastStatus(id: string): { fill: string; text: string } | undefined {
  const node = helper.getNode(id);
  const calls = (node.status as unknown as { getCalls(): Array<{ thisValue: unknown; args: [{ fill: string; text: string }] }> }).getCalls().filter((call) => call.thisValue === node);
  return calls.at(-1)?.args[0];
}

let sim: SmscSim;
before(async () => {
  sim = await startSmsc({ credentials: { systemId: SYSTEM_ID, password: PASSWORD } });
  await startHelper();
});
after(async () => {
  await stopHelper();
  await sim.close();
});
afterEach(() => helper.unload());

const cases = [
  { name: "an unknown scheme", storeUrl: "ftp://x", error: /^correlation store unusable: store url must be empty \(embedded\), memory: or redis:\/\/\.\.\. \(redis\+sentinel:\/\/\.\.\. behind Sentinel\), got a "ftp:" URL$/ },
  // Port 1 on loopback: nothing listens; the check gives up after 10 s.
  { name: "a Redis that cannot be reached", storeUrl: "redis://127.0.0.1:1", error: /^correlation store unusable: no answer within 10 s$/ },
];
for (const c of cases) {
  test(`bind store at start: ${c.name} → not bound, red, MTs refused as temporary`, { timeout: 30_000 }, async () => {
    await helper.load(modules(), flow(sim.port, c.storeUrl) as never, { b1: { systemId: SYSTEM_ID, password: PASSWORD } });
    const bind = helper.getNode("b1") as unknown as { store(): Promise<unknown>; storeError(): string | undefined; error: unknown };
    await assert.rejects(bind.store());
    await new Promise((resolve) => setImmediate(resolve));
    assert.match(bind.storeError() ?? "", c.error);
    const errors = (bind.error as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> }).getCalls().filter((call) => call.thisValue === bind);
    assert.ok(errors.some((call) => String(call.args[0]).includes(bind.storeError()!)), "logged as an error");
    assert.ok(!errors.some((call) => String(call.args[0]).includes(PASSWORD)), "the password is never logged");
    for (const id of ["in1", "out1"]) assert.deepEqual(lastStatus(id), { fill: "red", shape: "ring", text: "correlation store unusable" }, `${id} is red and says why`);

    const submitted = nextMessage<{ submit: SubmitResult }>("h1");
    helper.getNode("out1").receive({ payload: { id: "0199a1f2-3c4d-7e5f-8a9b-0c1d2e3f4a5b", to: "+4790000001", from: "2020", text: "hello" } } as never);
    const out = await submitted;
    assert.equal(out.submit.accepted, false);
    assert.equal(out.submit.error?.code, "STORE_UNAVAILABLE");
    assert.equal(out.submit.error?.temporary, true, "courier is told to try again later");
    assert.equal(sim.submitted.length, 0, "no submit_sm without a store");
    assert.equal(sim.counters.binds.transceiver, 0, "never bound");
  });
}

test("bind store at start: memory: binds", { timeout: 30_000 }, async () => {
  await helper.load(modules(), flow(sim.port, "memory:") as never, { b1: { systemId: SYSTEM_ID, password: PASSWORD } });
  const bind = helper.getNode("b1") as unknown as { store(): Promise<unknown>; storeError(): string | undefined };
  await bind.store();
  await waitFor(() => sim.counters.binds.transceiver === 1, "bound once the store answered");
  assert.equal(bind.storeError(), undefined);
});
