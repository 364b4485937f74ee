/**
 * The SMPP examples (smpp-send-receive.json and rapidpro-smpp-bridge.json) load as shipped,
 * configured from environment variables, and bind to the SMSC simulator. Core nodes other than
 * catch and status are not in the test helper, so they stand in as helper nodes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { readFileSync } from "node:fs";
import { startSmsc } from "../../sim/smsc";
import { helper, nodeModules, startHelper, stopHelper, setEnv } from "../helpers/red";

type FlowNode = { id: string; type: string; z?: string; credentials?: Record<string, string>; [k: string]: unknown };

const ENV: Record<string, string> = {
  SMPP_HOST: "127.0.0.1",
  SMPP_SYSTEM_ID: "example",
  SMPP_PASSWORD: "example-pw",
  STORE_URL: "memory:",
  RAPIDPRO_URL: "http://127.0.0.1:9",
  RAPIDPRO_CHANNEL_UUID: "8eb23e93-5ecb-45ba-b726-3b064e0c56ab",
  RAPIDPRO_AUTH: "Token example",
};

for (const example of ["smpp-send-receive.json", "rapidpro-smpp-bridge.json"]) test(`${example} loads from environment variables and binds`, async () => {
  const sim = await startSmsc({ credentials: { systemId: ENV.SMPP_SYSTEM_ID, password: ENV.SMPP_PASSWORD } });
  const restoreEnv = setEnv(ENV);
  try {
    const file = path.resolve(__dirname, "..", "..", "..", "examples", example);
    const shipped = JSON.parse(readFileSync(file, "utf8")) as FlowNode[];
    const flow = shipped.map((n) => {
      if (n.type === "smpp-bind") return { ...n, port: sim.port };
      if (n.type === "debug" || n.type === "comment" || n.type === "inject") return { id: n.id, z: n.z, type: "helper" };
      return n;
    });
    const credentials = Object.fromEntries(flow.filter((n) => "credentials" in n && n.credentials).map((n) => [n.id, (n as FlowNode).credentials]));
    await startHelper();
    await helper.load(
      nodeModules("rapidpro-channel", "rapidpro-in", "rapidpro-out", "smpp-bind", "smpp-out", "smpp-in"),
      flow,
      credentials,
    );
    for (const n of flow) if (n.type !== "tab") assert.ok(helper.getNode(n.id), `node ${n.id} (${n.type}) did not start`);
    const end = Date.now() + 5_000;
    while (sim.counters.binds.transceiver < 1 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.equal(sim.counters.binds.transceiver, 1);
    assert.equal(sim.counters.bindsRefused, 0);
  } finally {
    await stopHelper();
    await sim.close();
    restoreEnv();
  }
});
