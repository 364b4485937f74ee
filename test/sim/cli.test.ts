/** The simulators' command-line tool, run as users run it (node dist/sim/cli.js …). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import path from "node:path";
import { startCourier } from "../../sim/courier";

const CLI = path.resolve(__dirname, "..", "..", "sim", "cli.js");
const CHANNEL = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";

/** Runs the CLI until `until` matches its output (or it exits); returns the output. */
function run(args: string[], until: RegExp, timeoutMs = 10_000): Promise<{ out: string; stop: () => void }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`no ${until} within ${timeoutMs} ms:\n${out}`));
    }, timeoutMs);
    const check = () => {
      if (!until.test(out)) return;
      clearTimeout(timer);
      resolve({ out, stop: () => child.kill("SIGTERM") });
    };
    child.stdout.on("data", (d: Buffer) => ((out += d.toString()), check()));
    child.stderr.on("data", (d: Buffer) => ((out += d.toString()), check()));
    child.on("exit", () => {
      clearTimeout(timer);
      if (until.test(out)) resolve({ out, stop: () => undefined });
      else reject(new Error(`exited without ${until}:\n${out}`));
    });
  });
}

test("courier: prints the receive URL and each accepted call", async () => {
  const started = await run(["courier", "--port", "0", "--channel", CHANNEL], /courier simulator: (http:\/\/[\d.:]+)/);
  const base = /courier simulator: (http:\/\/[\d.:]+)/.exec(started.out)![1];
  const res = await fetch(`${base}/c/ex/${CHANNEL}/receive`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: "from=%2B250788123123&text=hi",
  });
  assert.equal(res.status, 200);
  started.stop();
});

test("send: sends an MT the way courier does and prints each part's answer", async () => {
  // a courier sim stands in for the flow's rapidpro-in: it answers 404 to an unknown path,
  // which is enough to see the request go out and the answer come back
  const target = await startCourier({ channelUuid: CHANNEL });
  try {
    const { out } = await run(["send", "--url", `${target.url}/rapidpro/send`, "--to", "+250788383383", "--text", "Hello"], /part 1: HTTP \d+/);
    assert.match(out, /part 1: HTTP 404/);
  } finally {
    await target.close();
  }
});

test("an unknown command prints the usage and exits 2", async () => {
  const { out } = await run(["frobnicate"], /usage: rapidpro-sms-sim/);
  assert.match(out, /courier\|send\|smsc\|rapporto/);
});
