/**
 * --alloc-prof: bench/alloc-preload.ts in a child process that allocates (as Node-RED would),
 * toggled by bench/alloc-profile.ts's AllocProfiler, the way bench/scenarios.ts brackets a scenario.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { AllocProfiler, DIR_VARIABLE, PRELOAD } from "../../../bench/alloc-profile";
import { summariseHeap, type HeapProfile } from "../../../bench/profile";

// Short-lived objects only: without includeObjectsCollectedBy*GC the profile would be nearly empty.
const CHILD = `
process.on("SIGTERM", () => setTimeout(() => process.exit(0), 50)); // as red.js does: stop the flows, then exit
function churn() { const kept = []; for (let i = 0; i < 2000; i++) kept.push({ a: i, b: [i, i, i] }); return kept.length; }
setInterval(churn, 1);
process.stdout.write("ready\\n");
`;

function startChild(dir: string) {
  const child = spawn(process.execPath, ["--require", PRELOAD, "-e", CHILD], { env: { ...process.env, [DIR_VARIABLE]: dir }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (b: Buffer) => (output += b.toString()));
  child.stderr.on("data", (b: Buffer) => (output += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  const ready = (async () => {
    const until = Date.now() + 10_000;
    while (!output.includes("ready") && Date.now() < until) await new Promise((r) => setTimeout(r, 10));
  })();
  return { child, log: () => output, exited, ready };
}

const bytes = (node: HeapProfile["head"]): number => node.selfSize + node.children.reduce((a, c) => a + bytes(c), 0);

test("two toggles write <scenario>.heapprofile with the dead objects of the window in it, and the facts beside it", { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "alloc-prof-"));
  const { child, log, ready } = startChild(dir);
  try {
    await ready;
    const profiler = new AllocProfiler(dir, child.pid!, log);
    await profiler.start();
    await new Promise((r) => setTimeout(r, 300));
    const file = await profiler.stop("mt");
    profiler.describe({ scenario: "mt", messages: 10, traceGcKbPerMessage: 1.5 });
    assert.equal(file, path.join(dir, "mt.heapprofile"));
    const profile = JSON.parse(fs.readFileSync(file, "utf8")) as HeapProfile;
    // 300 ms of churn at 2,000 objects a call allocates several MB; alive at the end is almost nothing.
    assert.ok(bytes(profile.head) > 1e6, `only ${bytes(profile.head)} bytes sampled`);
    assert.match(summariseHeap(profile, { messages: 10 }), / churn /);
    assert.deepEqual(JSON.parse(fs.readFileSync(path.join(dir, "mt.json"), "utf8")), { scenario: "mt", messages: 10, traceGcKbPerMessage: 1.5, samplingIntervalBytes: 32768 });
    assert.deepEqual(fs.readdirSync(dir).sort(), ["mt.heapprofile", "mt.json"]);
  } finally {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("stopped while sampling (SIGTERM): what was sampled is written before the process exits", { timeout: 30_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "alloc-prof-"));
  const { child, log, exited, ready } = startChild(dir);
  try {
    await ready;
    await new AllocProfiler(dir, child.pid!, log).start();
    await new Promise((r) => setTimeout(r, 100));
    child.kill("SIGTERM");
    assert.equal(await exited, 0);
    const files = fs.readdirSync(dir);
    assert.equal(files.length, 1, log());
    assert.match(log(), /alloc-prof: wrote .*\.heapprofile \(SIGTERM\)/);
    assert.ok(bytes((JSON.parse(fs.readFileSync(path.join(dir, files[0]), "utf8")) as HeapProfile).head) > 0);
  } finally {
    child.kill("SIGKILL");
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("no directory given: the preload refuses to load, saying which variable is missing", () => {
  const env = { ...process.env };
  delete env[DIR_VARIABLE];
  const child = spawn(process.execPath, ["--require", PRELOAD, "-e", "0"], { env, stdio: ["ignore", "ignore", "pipe"] });
  let err = "";
  child.stderr.on("data", (b: Buffer) => (err += b.toString()));
  return new Promise<void>((resolve) =>
    child.once("exit", (code) => {
      assert.notEqual(code, 0);
      assert.match(err, new RegExp(`${DIR_VARIABLE} is not set`));
      resolve();
    }),
  );
});
