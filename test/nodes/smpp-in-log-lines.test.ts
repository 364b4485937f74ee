/**
 * Values from the SMSC cannot forge a log line (issue #14: "Every value from a peer that
 * reaches a log line, a node status or an error is escaped (control characters visible as
 * `\r`, `\n`, `\x00`)"). A deliver_sm whose receipt id or source address holds CR LF reaches
 * smpp-in's and smpp-bind's logs with `\r\n` escaped, on one line (a source address holding one
 * is refused by lib/smpp/frame.ts, docs/design.md decision 40).
 */
import { after, afterEach, before, test } from "node:test";
import assert from "node:assert/strict";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { helper, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { waitFor } from "../helpers/wait";

const SYSTEM_ID = "esme01";
const PASSWORD = "pw-Node-RED-1";
const FORGED = "\r\n[error] forged line";

function flow(port: number) {
  return [
    { id: "t1", type: "tab" },
    { id: "b1", type: "smpp-bind", host: "127.0.0.1", port, mode: "transceiver", storeUrl: "memory:", window: 10, idMode: "auto" },
    // Long MO parts are given up after 50 ms (checked when the next part arrives).
    { id: "in1", z: "t1", type: "smpp-in", bind: "b1", ackMode: "receipt", ackTimeout: 2, unmatchedWait: 0.1, reassemblyTimeout: 0.05, wires: [[], [], []] },
  ];
}

/** Every warning and error smpp-in and smpp-bind logged. */
function logged(): string[] {
  const lines: string[] = [];
  for (const id of ["in1", "b1"]) {
    const node = helper.getNode(id);
    for (const method of ["warn", "error", "log"] as const) {
      const calls = (node[method] as unknown as { getCalls(): Array<{ thisValue: unknown; args: unknown[] }> }).getCalls().filter((call) => call.thisValue === node);
      lines.push(...calls.map((call) => String(call.args[0])));
    }
  }
  return lines;
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

const load = async () => {
  const bindsBefore = sim.counters.binds.transceiver;
  await helper.load(nodeModulesFor(), flow(sim.port) as never, { b1: { systemId: SYSTEM_ID, password: PASSWORD } });
  await waitFor(() => sim.counters.binds.transceiver === bindsBefore + 1, "the bind");
};
const nodeModulesFor = () => nodeModules("smpp-bind", "smpp-in");

/** `expected`: the value as it must appear (escaped). */
function assertEscaped(expected: string): void {
  const lines = logged();
  const hits = lines.filter((line) => line.includes(expected));
  assert.ok(hits.length > 0, `the value is logged, escaped: ${JSON.stringify(lines)}`);
  for (const line of lines) assert.ok(!/[\r\n]/.test(line), `no raw CR or LF in a log line: ${JSON.stringify(line)}`);
}

test("a receipt whose receipted_message_id holds CR LF (and no state): refused, logged on one line", { timeout: 20_000 }, async () => {
  await load();
  const resp = await sim.request("deliver_sm", {
    source_addr: "4790000001",
    destination_addr: "2020",
    esm_class: 0x04,
    data_coding: 0,
    short_message: Buffer.alloc(0),
    receipted_message_id: `rid-1${FORGED}`,
  });
  assert.ok(resp, "answered");
  assert.notEqual(resp.command_status, 0, "a receipt without a state is not acknowledged");
  await waitFor(() => logged().some((line) => line.includes("rid-1")), "the warning");
  assertEscaped("rid-1\\r\\n[error] forged line");
});

test("an MO whose source_addr holds CR LF: refused ESME_RINVSRCADR by lib/smpp/frame.ts, its sender logged on one line", { timeout: 20_000 }, async () => {
  await load();
  // source_addr holds at most 20 characters (the decoder refuses more), so a shorter forgery.
  assert.deepEqual(await sim.sendMo({ from: "47\r\n[error] x", to: "2020", text: "x", encoding: "gsm" }), [0x0a]);
  await waitFor(() => logged().some((line) => line.includes("refused deliver_sm")), "the refusal");
  assertEscaped("47\\r\\n[error] x");
});
