/**
 * The health endpoint (nodes/shared/health.ts) in Node-RED's runtime: smpp-bind with the
 * SMSC simulator. 503 before the bind is up, 200 once bound, 503 when the SMSC is gone; a
 * path from settings; no credentials in the answer.
 */
import { afterEach, beforeEach, describe, test } from "node:test";
import assert from "node:assert/strict";
import request from "supertest";
import { startSmsc, type SmscSim } from "../../sim/smsc";
import { redisSkipReason, startRedis } from "../helpers/redis-server";
import { helper, httpNodeApp, nodeModules, startHelper, stopHelper } from "../helpers/red";

/** Asks until the answer has `status`, at most `timeoutMs`. */
async function healthBecomes(status: number, timeoutMs: number): Promise<request.Response> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const answer = await request(httpNodeApp()).get("/rapidpro/health");
    if (answer.status === status) return answer;
    if (Date.now() > until) throw new Error(`the health endpoint still answers ${answer.status} ${JSON.stringify(answer.body)} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

const SYSTEM_ID = "esme-health";
const PASSWORD = "pw-Health-Secret-1";

function flow(port: number, storeUrl = "memory:") {
  return [
    { id: "t1", type: "tab" },
    { id: "b1", type: "smpp-bind", name: "smsc-a", host: "127.0.0.1", port, mode: "transceiver", storeUrl, window: 10, idMode: "auto" },
    { id: "in1", z: "t1", type: "smpp-in", bind: "b1", ackMode: "receipt", wires: [[], [], []] },
  ];
}

describe("health endpoint", () => {
  let sim: SmscSim;
  beforeEach(async () => {
    sim = await startSmsc({ credentials: { systemId: SYSTEM_ID, password: PASSWORD } });
    await startHelper();
  });
  afterEach(async () => {
    await stopHelper();
    await sim.close();
  });

  test("503 until the bind is up, 200 while it is, 503 once the SMSC is gone", async () => {
    sim.setFault({ refuseBind: 0x0d });
    await helper.load(nodeModules("smpp-bind", "smpp-in"), flow(sim.port), { b1: { systemId: SYSTEM_ID, password: PASSWORD } });
    const first = await request(httpNodeApp()).get("/rapidpro/health");
    assert.equal(first.status, 503);
    assert.equal(first.body.ready, false);
    assert.match(first.body.reasons.join(";"), /bind smsc-a not bound yet since the start|no SMPP bind is up/);

    sim.clearFaults();
    const up = await healthBecomes(200, 20_000);
    assert.deepEqual(up.body.binds, [{ name: "smsc-a", state: "up" }]);
    assert.equal(up.headers["cache-control"], "no-store");
    assert.deepEqual(up.body.reasons, []);
    const text = JSON.stringify(up.body);
    for (const secret of [SYSTEM_ID, PASSWORD, String(sim.port)]) assert.ok(!text.includes(secret), `the answer holds no ${secret}`);

    sim.setFault({ refuseBind: 0x0d });
    sim.drop();
    const down = await healthBecomes(503, 10_000);
    assert.match(down.body.reasons.join(";"), /no SMPP bind is up/);
  });

  test("503 while the Redis store is unreachable, 200 again once it is back", { skip: redisSkipReason || undefined }, async () => {
    const redis = await startRedis();
    try {
      await helper.load(nodeModules("smpp-bind", "smpp-in"), flow(sim.port, redis.url), { b1: { systemId: SYSTEM_ID, password: PASSWORD } });
      const up = await healthBecomes(200, 20_000);
      assert.ok(up.body.stores.some((s: { kind: string; backend: string; reachable: boolean }) => s.kind === "store" && s.backend === "redis" && s.reachable));
      await redis.pause();
      const down = await healthBecomes(503, 10_000);
      assert.match(down.body.reasons.join(";"), /store correlation \(redis\) unreachable/);
      await redis.resume();
      await healthBecomes(200, 20_000);
    } finally {
      await stopHelper().catch(() => undefined);
      await startHelper();
      await redis.stop();
    }
  });
});
