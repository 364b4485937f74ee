/**
 * Kannel 1.4.5's bearerbox (`smsc = cimd2`) as an independent client of our CIMD2 simulator
 * (aggregator-protocols.md §3.8: "validate it with Kannel `bearerbox` (`smsc = cimd2`,
 * `host = 127.0.0.1`, `smsc-username`, `smsc-password`, `keepalive`)"): login, an MT
 * through smsbox's sendsms, the status report matched to it by (060, 021), and an MO.
 */
import { test, describe, after } from "node:test";
import assert from "node:assert/strict";
import * as http from "node:http";
import type { AddressInfo } from "node:net";
import { BEARERBOX, kannelCimd2Unavailable, SMSBOX, startKannelCimd2Client, type KannelBoxes } from "../helpers/kannel-cimd2";
import { startCimd2Sim, type Cimd2Sim } from "../../sim/cimd2";
import { waitFor } from "../helpers/wait";

const unavailable = kannelCimd2Unavailable(BEARERBOX) ?? kannelCimd2Unavailable(SMSBOX);
if (unavailable) console.log(`skipping the bearerbox CIMD2 tests: ${unavailable}`);

describe("bearerbox (Kannel 1.4.5) as a CIMD2 client of the simulator", { skip: unavailable ?? false }, () => {
  let sim: Cimd2Sim;
  let kannel: KannelBoxes | undefined;
  let sink: http.Server;
  const hits: URL[] = [];
  let sinkUrl = "";

  after(async () => {
    await kannel?.stop();
    await sim?.close();
    await new Promise<void>((r) => (sink ? sink.close(() => r()) : r()));
  });

  test("logs in, submits an MT with 056:14, takes delivered and failed status reports and an MO", async () => {
    sink = http.createServer((req, res) => {
      hits.push(new URL(req.url ?? "/", "http://127.0.0.1"));
      res.end("");
    });
    await new Promise<void>((r) => sink.listen(0, "127.0.0.1", () => r()));
    sinkUrl = `http://127.0.0.1:${(sink.address() as AddressInfo).port}`;
    sim = await startCimd2Sim({ credentials: { username: "kannel", password: "kannel-pw" }, reportDelayMs: 300, reportStatus: (r) => (r.text?.includes("fail") ? 3 : 4), reportErrorCode: 17 });
    const logins: boolean[] = [];
    sim.on("login", (l: { accepted: boolean }) => logins.push(l.accepted));
    kannel = await startKannelCimd2Client({ smscPort: sim.port, username: "kannel", password: "kannel-pw", moUrl: `${sinkUrl}/mo?from=%p&to=%P&text=%a` });
    await waitFor(() => logins.includes(true), "bearerbox's login", 20_000);

    const query = new URLSearchParams({
      username: "tester",
      password: "pw",
      to: "46701234567",
      from: "12345",
      text: "Hello @ {world}",
      "dlr-mask": "3",
      "dlr-url": `${sinkUrl}/dlr?type=%d&to=%p`,
    });
    const res = await fetch(`http://127.0.0.1:${kannel.sendsmsPort}/cgi-bin/sendsms?${query}`);
    assert.equal(res.status, 202, await res.text());
    await waitFor(() => sim.submitted.length === 1, "the submit", 20_000);
    const submit = sim.submitted[0];
    assert.equal(submit.destination, "46701234567");
    assert.equal(submit.text, "Hello @ {world}");
    assert.equal(submit.statusReportRequest, 14, "\"Kannel sends `056:14` when a DLR is wanted\" (§3.5)");

    // Kannel matches the op 23 by (060, 021) and calls the dlr-url with type 1 (delivered).
    await waitFor(() => hits.some((u) => u.pathname === "/dlr"), "the delivery report at the dlr-url", 20_000);
    const dlr = hits.find((u) => u.pathname === "/dlr") as URL;
    assert.equal(dlr.searchParams.get("type"), "1");
    assert.equal(sim.counters.answered, 1, "bearerbox answered the op 23 with 73");

    // 061:3 "delivery failed" is DLR_FAIL to Kannel: the dlr-url gets type 2.
    query.set("text", "please fail");
    const failing = await fetch(`http://127.0.0.1:${kannel.sendsmsPort}/cgi-bin/sendsms?${query}`);
    assert.equal(failing.status, 202, await failing.text());
    await waitFor(() => hits.filter((u) => u.pathname === "/dlr").length === 2, "the failure report at the dlr-url", 20_000);
    assert.equal(hits.filter((u) => u.pathname === "/dlr")[1].searchParams.get("type"), "2");

    const answers = await sim.sendMo({ from: "46709876543", to: "12345", text: "Reply @ {ok}" });
    assert.deepEqual(answers, ["70"]);
    await waitFor(() => hits.some((u) => u.pathname === "/mo"), "the MO at the service URL", 20_000);
    const mo = hits.find((u) => u.pathname === "/mo") as URL;
    assert.equal(mo.searchParams.get("from"), "46709876543");
    assert.equal(mo.searchParams.get("text"), "Reply @ {ok}");
  });
});
