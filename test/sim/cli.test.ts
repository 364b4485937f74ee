/** The simulators' command-line tool, run as users run it (node dist/sim/cli.js …). */
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import http from "node:http";
import net, { type AddressInfo } from "node:net";
import path from "node:path";

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

/** Runs the CLI to its end; returns its exit code and what it printed on each stream. */
function runToExit(args: string[], timeoutMs = 10_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [CLI, ...args], { stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`still running after ${timeoutMs} ms:\n${stdout}${stderr}`));
    }, timeoutMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

/** A small HTTP server answering every request with `status`, as the bridge's endpoint would. */
async function answering(status: number): Promise<{ url: string; close: () => Promise<void> }> {
  const server = http.createServer((_req, res) => {
    res.writeHead(status, { "content-type": "application/json" });
    res.end(JSON.stringify({ message: status < 300 ? "Accepted" : "Error" }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/rapidpro/send`, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

for (const status of [200, 401, 400, 503]) {
  test(`send: the bridge answers ${status}: prints each part's answer, exits ${status < 400 ? 0 : 1}`, async () => {
    const bridge = await answering(status);
    try {
      const result = await runToExit(["send", "--url", bridge.url, "--to", "+250788383383", "--text", "Hello", "--auth", "Token x"]);
      assert.match(result.stdout, new RegExp(`part 1: HTTP ${status}`));
      assert.match(result.stdout, /^message [0-9a-f]{8}-[0-9a-f]{4}-7/m, "a fresh v7 message UUID");
      assert.equal(result.code, status < 400 ? 0 : 1);
    } finally {
      await bridge.close();
    }
  });
}

test("send: a bridge that cannot be reached is one line and exit 1", async () => {
  const bridge = await answering(200);
  await bridge.close();
  const result = await runToExit(["send", "--url", bridge.url, "--to", "+250788383383", "--text", "Hello"]);
  assert.equal(result.code, 1);
  assert.match(result.stderr, /^cannot reach http:\/\/127\.0\.0\.1:\d+\/rapidpro\/send: ECONNREFUSED\n$/);
});

const helps: Array<{ args: string[]; expected: RegExp }> = [
  { args: ["--help"], expected: /^usage: rapidpro-sms-sim <command> \[options\]\n\ncommands:\n {2}courier/ },
  { args: ["-h"], expected: /^usage: rapidpro-sms-sim <command>/ },
  { args: ["courier", "--help"], expected: /^usage: rapidpro-sms-sim courier .*\n[\s\S]*--legacy-ids/ },
  { args: ["send", "--help"], expected: /^usage: rapidpro-sms-sim send --url[\s\S]*Exits 1 when the bridge answers/ },
  { args: ["smsc", "-h"], expected: /^usage: rapidpro-sms-sim smsc[\s\S]*--mo-every/ },
  { args: ["rapporto", "--help"], expected: /^usage: rapidpro-sms-sim rapporto[\s\S]*--service-id/ },
  // --help wins over anything else on the line, even an option that would be refused
  { args: ["send", "--bogus", "--help"], expected: /^usage: rapidpro-sms-sim send/ },
];
for (const h of helps) {
  test(`${h.args.join(" ")}: prints the usage and exits 0`, async () => {
    const result = await runToExit(h.args);
    assert.equal(result.code, 0);
    assert.match(result.stdout, h.expected);
    assert.equal(result.stderr, "");
  });
}

const misuses: Array<{ args: string[]; expected: RegExp }> = [
  { args: [], expected: /^usage: rapidpro-sms-sim <command>/ },
  { args: ["frobnicate"], expected: /^usage: rapidpro-sms-sim <command>/ },
  { args: ["send", "--bogus"], expected: /^rapidpro-sms-sim send: Unknown option '--bogus'/ },
  { args: ["send", "--url", "http://127.0.0.1:9/x"], expected: /^rapidpro-sms-sim send needs --url, --to and --text/ },
  { args: ["courier", "--port", "eighty"], expected: /^rapidpro-sms-sim courier: --port must be a port number, not "eighty"\n$/ },
];
for (const m of misuses) {
  test(`${m.args.join(" ") || "(no command)"}: says what is wrong and exits 2`, async () => {
    const result = await runToExit(m.args);
    assert.equal(result.code, 2);
    assert.match(result.stderr, m.expected);
    assert.doesNotMatch(result.stderr, /\n\s+at /, "no stack trace");
  });
}

for (const command of ["courier", "smsc", "rapporto"]) {
  test(`${command} on a busy port: one line naming the port and --port, exit 1, no stack trace`, async () => {
    const busy = net.createServer();
    await new Promise<void>((resolve) => busy.listen(0, "127.0.0.1", resolve));
    const port = (busy.address() as AddressInfo).port;
    try {
      const result = await runToExit([command, "--port", String(port)]);
      assert.equal(result.code, 1);
      assert.equal(result.stderr, `port ${port} is in use: choose another with --port (0 picks a free one)\n`);
      assert.equal(result.stdout, "");
    } finally {
      busy.close();
    }
  });
}

test("rapporto: prints its MT URL, serviceId and pass", async () => {
  const started = await run(["rapporto", "--port", "0", "--service-id", "acme", "--pass", "s3"], /pass s3/);
  assert.match(started.out, /^Rapporto simulator: MT URL http:\/\/127\.0\.0\.1:\d+\/login {2}serviceId acme {2}pass s3\n/);
  started.stop();
});
