/**
 * The benchmark end to end in --short mode: packs the package, runs a real Node-RED with the
 * SMPP bridge example against the simulators, and checks the JSON report's shape and that
 * every message sent was counted at the far end. No timing is asserted: CI machines differ,
 * and the figures are for reading, not for failing a build.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { PACKAGE_ROOT } from "../../sim/node-red";
import { BRIDGE_FLOW } from "../../bench/flow";
import type { Report } from "../../bench/report";

const RUN = path.join(PACKAGE_ROOT, "dist", "bench", "run.js");

test("npm run bench --short: every scenario reports, and every message is counted", { timeout: 180_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "bench-e2e-"));
  const json = path.join(dir, "report.json");
  // Until the SMPP bridge example exists, the RapidPro example still exercises the harness.
  const bridge = fs.existsSync(BRIDGE_FLOW);
  const args = [RUN, "--short", "--json", json, ...(bridge ? [] : ["--flow", path.join(PACKAGE_ROOT, "examples", "rapidpro-external-channel.json")])];
  try {
    const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
      execFile(process.execPath, args, { timeout: 170_000, maxBuffer: 10 * 2 ** 20 }, (error, stdout, stderr) =>
        resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, output: stdout + stderr }),
      );
    });
    assert.equal(code, 0, output);
    const report = JSON.parse(fs.readFileSync(json, "utf8")) as Report;

    assert.equal(report.options.mode, "short");
    assert.equal(report.options.messages, 1000);
    assert.ok(report.machine.cpus > 0 && report.machine.node.startsWith("v"));
    const names = report.scenarios.map((r) => r.scenario);
    const expected = bridge
      ? ["ceiling", "mt", "latency", "dlr", "mo", "mixed:mt", "mixed:dlr", "mixed:mo", "cap"]
      : ["ceiling", "mt", "latency", "dlr", "mixed:mt", "mixed:dlr"];
    assert.deepEqual(names, expected, output);
    assert.deepEqual(report.skipped.map((s) => s.scenario), bridge ? [] : ["mo", "cap"]);

    for (const row of report.scenarios) {
      const where = `${row.scenario}: ${JSON.stringify(row)}`;
      // Every message sent was counted where the scenario counts it, and nothing failed.
      assert.ok(row.sent > 0, where);
      assert.equal(row.counted, row.sent, where);
      assert.equal(row.missing, 0, where);
      assert.deepEqual(row.errors, {}, where);
      if (row.scenario !== "cap") assert.equal(row.sent, row.messages, where); // cap runs for a time, not a count
      // The figures are there and are numbers (their values are not judged here).
      for (const x of [row.rate.steady, row.rate.overall, row.latencyMs.p50, row.latencyMs.p90, row.latencyMs.p99, row.latencyMs.max]) {
        assert.ok(Number.isFinite(x) && x >= 0, where);
      }
      assert.ok(row.latencyMs.p50 <= row.latencyMs.p90 && row.latencyMs.p90 <= row.latencyMs.p99 && row.latencyMs.p99 <= row.latencyMs.max, where);
      assert.ok(typeof row.ratioToCeiling === "number", where);
      if (row.scenario !== "ceiling") {
        assert.ok(typeof row.cpuSecondsPer1k === "number" && row.cpuSecondsPer1k > 0, where);
        assert.ok(typeof row.peakRssMb === "number" && row.peakRssMb > 0, where);
      }
    }
    // Each MT of the dlr scenario got its 'delivered' call at the fake courier.
    const dlr = report.scenarios.find((r) => r.scenario === "dlr")!;
    assert.equal(dlr.counted, 1000);
    if (bridge) {
      assert.equal(report.scenarios.find((r) => r.scenario === "mt")!.extra?.smscAccepted, 1000);
      assert.equal(report.scenarios.find((r) => r.scenario === "mo")!.extra?.courierReceived, 1000);
      const cap = report.scenarios.find((r) => r.scenario === "cap")!;
      assert.ok(Number(cap.extra?.submitsInWindow) > 0);
    }
    for (const t of report.targets) assert.ok(t.name && t.target && t.measured && (t.met === null || typeof t.met === "boolean"));
    assert.match(output, /steady\/s/); // the console table was printed
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A smoke run per SMSC protocol besides SMPP: its bridge example against its simulator through
 * mt, dlr and mo, with a hundred messages each. Only that every message was counted is checked.
 */
for (const protocol of ["ucp", "cimd2"] as const) {
  test(`npm run bench --protocol ${protocol}: mt, dlr and mo count every message`, { timeout: 240_000 }, async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `bench-${protocol}-`));
    const json = path.join(dir, "report.json");
    const args = [RUN, "--protocol", protocol, "--scenarios", "mt,dlr,mo", "--messages", "100", "--max-minutes", "3", "--json", json];
    try {
      const { code, output } = await new Promise<{ code: number | null; output: string }>((resolve) => {
        execFile(process.execPath, args, { timeout: 230_000, maxBuffer: 10 * 2 ** 20 }, (error, stdout, stderr) =>
          resolve({ code: error ? ((error as { code?: number }).code ?? null) : 0, output: stdout + stderr }),
        );
      });
      assert.equal(code, 0, output);
      const report = JSON.parse(fs.readFileSync(json, "utf8")) as Report;
      assert.ok(report.flow.endsWith(`rapidpro-${protocol}-bridge.json`), report.flow);
      assert.deepEqual(report.scenarios.map((r) => r.scenario), ["mt", "dlr", "mo"], output);
      for (const row of report.scenarios) {
        const where = `${row.scenario}: ${JSON.stringify(row)}`;
        assert.equal(row.sent, 100, where);
        assert.equal(row.counted, 100, where);
        assert.deepEqual(row.errors, {}, where);
      }
      assert.equal(report.scenarios[0].extra?.smscAccepted, 100);
      assert.equal(report.scenarios[2].extra?.courierReceived, 100);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
}
