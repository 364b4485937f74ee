/**
 * A rapporto-account's metrics and trace, counted in Node-RED's runtime (node-red-node-test-
 * helper) against sim/rapporto: an MT accepted, its DLR pushed by the simulator, a DLR that
 * came before any correlation (early, then unknown), an MO; then the exposition text.
 */
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import type { AddressInfo } from "node:net";
import request from "supertest";
import type { MT, Status, SubmitResult } from "../../lib/contract";
import { bridgeMetrics } from "../../lib/metrics/registry";
import { traceLog } from "../../lib/trace/log";
import { pendingAcks } from "../../nodes/shared/pending";
import { helper, httpNodeApp, nextMessage, nodeModules, startHelper, stopHelper } from "../helpers/red";
import { startRapportoSim, type RapportoSim } from "../../sim/rapporto";

const PASS = "s3cret-pass";
const ACC = 'kind="rapporto",connection="acc",name="Rapporto"';
const MO_QUERY = "clientId=79161234567&message=hello&serviceId=login&receivedDate=2024-05-01%2013:00:00&shortNumber=0000&messageId=m-9";

function valueOf(text: string, series: string): number | undefined {
  const line = text.split("\n").find((l) => l.startsWith(series + " "));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe("rapporto-account metrics", () => {
  let sim: RapportoSim;
  before(async () => {
    sim = await startRapportoSim({ pass: PASS });
    await startHelper();
  });
  after(async () => {
    await stopHelper();
    await sim.close();
  });

  test("MT, DLR matched, early and unknown, MO: counted per account, and the MT traced", async () => {
    await helper.load(
      nodeModules("rapporto-account", "rapporto-mt", "rapporto-mo", "rapporto-dlr"),
      [
        { id: "t1", type: "tab" },
        { id: "acc", type: "rapporto-account", name: "Rapporto", url: sim.mtUrl, serviceId: "login", profile: "v5", method: "GET", output: "text", rate: 10, allowedIps: "*", storeUrl: "memory:" },
        { id: "mt", z: "t1", type: "rapporto-mt", account: "acc", partnerMsgId: true, budget: 5, wires: [["h-mt"]] },
        { id: "h-mt", z: "t1", type: "helper" },
        { id: "mo", z: "t1", type: "rapporto-mo", account: "acc", path: "/rapporto/mo", ackMode: "emit", replyTimeout: 0, wires: [[]] },
        { id: "dlr", z: "t1", type: "rapporto-dlr", account: "acc", path: "/rapporto/dlr", maxTries: 2, ackMode: "rapidpro", wires: [["h-status"], []] },
        { id: "h-status", z: "t1", type: "helper" },
      ] as never,
      { acc: { pass: PASS } },
    );
    const server = http.createServer(httpNodeApp());
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    sim.setDlrUrl(`http://127.0.0.1:${(server.address() as AddressInfo).port}/rapporto/dlr`);
    try {
      const mtOut = nextMessage<{ payload: MT; submit: SubmitResult }>("h-mt");
      const statusOut = nextMessage<{ payload: Status; ack: string }>("h-status");
      helper.getNode("mt").receive({ payload: { id: "rp-500", to: "+79161234567", from: "", text: "x" } } as never);
      const submitted = await mtOut;
      const status = await statusOut;
      pendingAcks.settle(status.ack, { ok: true });
      assert.ok(await sim.dlrsSettled(5000));
      // Before any correlation: answered 400 (early), then unknown after the second try.
      assert.equal((await request(httpNodeApp()).get("/rapporto/dlr?msgType=SMS&transactionId=999&status=2")).status, 400);
      assert.equal((await request(httpNodeApp()).get("/rapporto/dlr?msgType=SMS&transactionId=999&status=2")).status, 200);
      assert.equal((await request(httpNodeApp()).get(`/rapporto/mo?${MO_QUERY}`)).status, 204);

      const text = await bridgeMetrics.exposition();
      assert.equal(valueOf(text, `rapidpro_sms_mt_received_total{${ACC}}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_mt_accepted_total{${ACC}}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_submit_duration_seconds_count{${ACC}}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_receipts_total{${ACC},outcome="matched"}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_receipts_total{${ACC},outcome="early"}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_receipts_total{${ACC},outcome="unmatched"}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_mo_received_total{${ACC}}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_mo_handed_over_total{${ACC}}`), 1);
      assert.equal(valueOf(text, `rapidpro_sms_connection_state{${ACC},state="up"}`), 1);

      const steps = (await traceLog.find({ id: "rp-500" })).map((e) => e.step);
      assert.deepEqual(steps, ["submit", "receipt"]);
      assert.deepEqual((await traceLog.find({ smscId: submitted.submit.smscIds[0] })).length, 2);
    } finally {
      sim.setDlrUrl(undefined);
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});
