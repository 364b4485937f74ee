/**
 * The demo as a newcomer runs it (issue #14): `npm start` is `npm run build` and then
 * `node dist/sim/demo.js`; the build step is left out here, since it would rebuild dist/ under
 * the running tests. Two runs on one user directory: the second run's MTs are new messages
 * (fresh v7 UUIDs), so their receipts show, rather than being answered from the first run's store.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import fs from "node:fs";
import net, { type AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";

const DEMO = path.resolve(__dirname, "..", "..", "sim", "demo.js");

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Runs the demo until a receipt for one of this run's MTs comes back; then stops it with Ctrl-C. */
async function runDemo(userDir: string, port: number, timeoutMs = 90_000): Promise<{ out: string; sent: string[]; delivered: string[]; code: number | null }> {
  const child = spawn(process.execPath, [DEMO], { env: { ...process.env, PORT: String(port), DEMO_USER_DIR: userDir, DEMO_QUIET: "1" }, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  const sent = () => [...out.matchAll(/RapidPro -> bridge: MT (\S+) .* -> HTTP 200/g)].map((m) => m[1]);
  const delivered = () => [...out.matchAll(/bridge -> RapidPro: delivered uuid=(\S+)/g)].map((m) => m[1]);
  const exited = new Promise<number | null>((resolve) => child.once("exit", (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no receipt within ${timeoutMs} ms:\n${out}`)), timeoutMs);
    const check = () => {
      if (!delivered().some((uuid) => sent().includes(uuid))) return;
      clearTimeout(timer);
      resolve();
    };
    child.stdout.on("data", (d: Buffer) => ((out += d.toString()), check()));
    child.stderr.on("data", (d: Buffer) => (out += d.toString()));
    void exited.then(() => reject(new Error(`the demo exited:\n${out}`)));
  }).finally(() => child.kill("SIGINT"));
  const code = await exited;
  return { out, sent: sent(), delivered: delivered(), code };
}

test("npm start twice on one user directory: receipts show in the second run too", { timeout: 240_000 }, async () => {
  const userDir = fs.mkdtempSync(path.join(os.tmpdir(), "demo-user-"));
  try {
    const port = await freePort();
    const first = await runDemo(userDir, port);
    assert.equal(first.code, 0, "Ctrl-C stops the demo cleanly");
    const second = await runDemo(userDir, port);
    assert.equal(second.code, 0);
    assert.ok(second.sent.every((uuid) => !first.sent.includes(uuid)), "the second run sends new message ids");
    assert.ok(second.delivered.some((uuid) => second.sent.includes(uuid)), "a receipt for a second-run MT reached courier");
    for (const run of [first, second]) {
      // Printed once: the courier URL, the Authorization it uses and a command to paste.
      assert.equal(run.out.match(/\[demo\] courier URL: http:\/\/127\.0\.0\.1:\d+/g)?.length, 1);
      assert.equal(run.out.match(/\[demo\] Authorization: Token demo-secret/g)?.length, 1);
      assert.equal(run.out.match(new RegExp(`send one yourself: npx rapidpro-sms-sim send --url http://127\\.0\\.0\\.1:${port}/rapidpro/send --auth "Token demo-secret" --to \\+250788383383 --text "Hello from the command line"`, "g"))?.length, 1);
      assert.ok(run.sent.every((uuid) => /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(uuid)), "v7 message UUIDs");
      assert.doesNotMatch(run.out, /%2B|%20/, "calls are printed decoded, not form-encoded");
    }
  } finally {
    fs.rmSync(userDir, { recursive: true, force: true });
  }
});

test("npm start on a busy PORT: one line naming the port and PORT, exit 1, no stack trace", async () => {
  const busy = net.createServer();
  await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
  const port = (busy.address() as AddressInfo).port;
  try {
    const child = spawn(process.execPath, [DEMO], { env: { ...process.env, PORT: String(port), DEMO_USER_DIR: os.tmpdir() }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
    child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
    const code = await new Promise<number | null>((resolve) => child.once("exit", resolve));
    assert.equal(code, 1);
    assert.equal(stderr, `[demo] port ${port} is in use: set PORT to another port, e.g. PORT=${port + 1} npm start\n`);
    assert.equal(stdout, "");
  } finally {
    busy.close();
  }
});
