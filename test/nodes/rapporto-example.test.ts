/**
 * examples/rapidpro-rapporto-bridge.json loads as shipped, configured from environment variables
 * (Node-RED substitutes a property whose whole value is `${VAR}`), sends an MT to the Rapporto
 * simulator and answers courier. debug and comment nodes are not in the test helper, so they
 * stand in as helper nodes.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { readFileSync } from "node:fs";
import request from "supertest";
import type { RapportoAccountNode } from "../../nodes/rapporto-account/rapporto-account";
import { startRapportoSim } from "../../sim/rapporto";
import { helper, httpNodeApp, nodeModules, startHelper, stopHelper, setEnv } from "../helpers/red";

type FlowNode = { id: string; type: string; z?: string; credentials?: Record<string, string>; [k: string]: unknown };

/**
 * Loads a shipped example into the test helper as it is, with the node types the helper does
 * not have (`standIns`) standing in as helper nodes, and checks that every node started.
 */
async function loadExample(name: string, standIns: string[], types: string[]): Promise<FlowNode[]> {
  const shipped = JSON.parse(readFileSync(path.resolve(__dirname, "..", "..", "..", "examples", name), "utf8")) as FlowNode[];
  const flow = shipped.map((n) => (standIns.includes(n.type) ? { id: n.id, z: n.z, type: "helper" } : n));
  const credentials = Object.fromEntries(flow.filter((n) => "credentials" in n && n.credentials).map((n) => [n.id, (n as FlowNode).credentials]));
  await startHelper();
  await helper.load(nodeModules(...types), flow, credentials);
  for (const n of flow) if (n.type !== "tab") assert.ok(helper.getNode(n.id), `node ${n.id} (${n.type}) did not start`);
  return shipped;
}

test("the Rapporto example flow loads from environment variables and sends through the simulator", async () => {
  const sim = await startRapportoSim({ serviceId: "example-svc", pass: "example-pass" });
  const env: Record<string, string> = {
    RAPPORTO_MT_URL: sim.mtUrl,
    RAPPORTO_SERVICE_ID: "example-svc",
    RAPPORTO_PASS: "example-pass",
    RAPPORTO_SOURCE: "Example",
    RAPPORTO_ALLOWED_IPS: "127.0.0.1, ::1",
    STORE_URL: "memory:",
    RAPIDPRO_URL: "http://127.0.0.1:9",
    RAPIDPRO_CHANNEL_UUID: "8eb23e93-5ecb-45ba-b726-3b064e0c56ab",
    RAPIDPRO_AUTH: "Token example",
  };
  const restoreEnv = setEnv(env);
  try {
    await loadExample("rapidpro-rapporto-bridge.json", ["debug", "comment", "catch", "status", "inject"], ["rapidpro-channel", "rapidpro-in", "rapidpro-out", "rapporto-account", "rapporto-mt", "rapporto-mo", "rapporto-dlr"]);

    const res = await request(httpNodeApp())
      .post("/rapidpro/send")
      .set({ "content-type": "application/x-www-form-urlencoded", authorization: env.RAPIDPRO_AUTH })
      .send("uuid=0191e180-7d60-7000-aded-7d8b151cbd5b&text=%D0%9F%D1%80%D0%B8%D0%B2%D0%B5%D1%82&to=%2B79161234567&from=Example");
    assert.equal(res.status, 200);
    assert.deepEqual(
      sim.sent.map((m) => [m.clientId, m.message, m.source, m.ptag]),
      [["+79161234567", "Привет", "Example", "0191e180-7d60-7000-aded-7d8b151cbd5b"]],
    );
    // RAPPORTO_ALLOWED_IPS reached the account's allow-list.
    const account = helper.getNode("rap-account") as unknown as RapportoAccountNode;
    assert.equal(account.sources.allowed?.toString(), "127.0.0.1, ::1");
  } finally {
    await stopHelper();
    await sim.close();
    restoreEnv();
  }
});

test("rapporto-send-receive.json loads from environment variables; its MT reaches the simulator", async () => {
  const sim = await startRapportoSim({ serviceId: "example-svc", pass: "example-pass" });
  const env: Record<string, string> = {
    RAPPORTO_MT_URL: sim.mtUrl,
    RAPPORTO_SERVICE_ID: "example-svc",
    RAPPORTO_PASS: "example-pass",
    RAPPORTO_SOURCE: "Example",
    RAPPORTO_ALLOWED_IPS: "127.0.0.1",
    STORE_URL: "memory:",
  };
  const restoreEnv = setEnv(env);
  try {
    const shipped = await loadExample("rapporto-send-receive.json", ["debug", "comment", "inject"], ["rapporto-account", "rapporto-mt", "rapporto-mo", "rapporto-dlr"]);
    const inject = shipped.find((n) => n.id === "rsr-inject")!;
    const result = new Promise<{ submit: { accepted: boolean } }>((resolve) => helper.getNode("rsr-debug-submit").once("input", resolve));
    helper.getNode("rsr-mt").receive({ payload: JSON.parse(String(inject.payload)) } as never);
    assert.equal((await result).submit.accepted, true);
    assert.deepEqual(sim.sent.map((m) => [m.clientId, m.message]), [["+79161234567", "Привет из Node-RED"]]);
  } finally {
    await stopHelper();
    await sim.close();
    restoreEnv();
  }
});
