/**
 * Kannel 1.4.5's CIMD2 peers for the tests (aggregator-protocols.md §3.8): `test_cimd2`
 * (Debian `kannel-extras`) as an SMSC, and `bearerbox` (Debian `kannel`) as a client.
 *
 * test_cimd2 listens on every interface and has no bind option, so it runs in a network
 * namespace of its own (`unshare -n`) where nothing but that namespace's loopback reaches
 * it. A small relay inside the namespace connects to it and serves a Unix socket (a path
 * on the shared file system crosses namespaces); the test process relays 127.0.0.1:<port>
 * to that socket. The relay starts test_cimd2 again whenever it exits (it serves one client
 * and exits when that client goes), so a client that reconnects finds it again.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as net from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export const TEST_CIMD2 = "/usr/lib/kannel/test/test_cimd2";
export const BEARERBOX = "/usr/sbin/bearerbox";

/** Why the Kannel CIMD2 peers cannot run here, or undefined when they can. */
export function kannelCimd2Unavailable(binary: string): string | undefined {
  if (!existsSync(binary)) return `${binary} is not installed (Debian kannel / kannel-extras; .ci/run installs them)`;
  return undefined;
}

/** Why a private network namespace cannot be made here, or undefined when it can. */
export function namespaceUnavailable(): string | undefined {
  const probe = spawnSync("unshare", ["-n", "sh", "-c", "ip link set lo up"], { encoding: "utf8", timeout: 5000 });
  if (probe.error) return `unshare is not available: ${probe.error.message}`;
  if (probe.status !== 0) return `cannot create a network namespace (needs root or CAP_SYS_ADMIN): ${probe.stderr.trim()}`;
  return undefined;
}

/** Runs inside the namespace: argv = socket path, port, test_cimd2 and its arguments. */
const RELAY = `
const net = require("net");
const { spawn } = require("child_process");
const [sock, port, bin, ...args] = process.argv.slice(2);
let child;
function run() {
  // stdbuf: test_cimd2 prints its packet log with stdio, which a pipe would hold until exit.
  child = spawn("stdbuf", ["-oL", "-eL", bin, "--port", port, ...args], { stdio: ["ignore", "inherit", "inherit"] });
  child.on("exit", (code, signal) => { console.error("test_cimd2 exited " + (signal || code)); if (!stopping) setTimeout(run, 100); });
}
let stopping = false;
process.on("SIGTERM", () => { stopping = true; if (child) child.kill("SIGKILL"); process.exit(0); });
run();
net.createServer((client) => {
  let current;
  client.on("close", () => current && current.destroy());
  client.on("error", () => current && current.destroy());
  const connect = (tries) => {
    const peer = net.connect(Number(port), "127.0.0.1");
    current = peer;
    let connected = false;
    peer.on("connect", () => { connected = true; client.pipe(peer); peer.pipe(client); });
    peer.on("error", () => { if (!connected && tries > 0 && !client.destroyed) setTimeout(() => connect(tries - 1), 100); else client.destroy(); });
    peer.on("close", () => { if (connected) client.destroy(); });
  };
  connect(50);
}).listen(sock, () => console.error("relay ready"));
`;

export interface TestCimd2 {
  /** 127.0.0.1 port that reaches test_cimd2. */
  port: number;
  /** Everything test_cimd2 and the relay printed. */
  output(): string;
  stop(): Promise<void>;
}

/** Starts test_cimd2 with `args` (e.g. ["--activity", "1", "--logging", "2"]) in its own namespace. */
export async function startTestCimd2(args: string[]): Promise<TestCimd2> {
  const dir = mkdtempSync(join(tmpdir(), "cimd2-kannel-"));
  const sock = join(dir, "relay.sock");
  const script = join(dir, "relay.js");
  writeFileSync(script, RELAY);
  let output = "";
  const child: ChildProcess = spawn("unshare", ["-n", "sh", "-c", 'ip link set lo up && exec "$0" "$@"', process.execPath, script, sock, "16789", TEST_CIMD2, ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    detached: true,
  });
  child.stdout?.on("data", (d: Buffer) => (output += d.toString("latin1")));
  child.stderr?.on("data", (d: Buffer) => (output += d.toString("latin1")));
  const ready = Date.now() + 10_000;
  while (!output.includes("relay ready")) {
    if (child.exitCode !== null || Date.now() > ready) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`test_cimd2 relay did not start: ${output}`);
    }
    await new Promise((r) => setTimeout(r, 20));
  }
  const connections = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const inner = net.connect(sock);
    connections.add(client);
    connections.add(inner);
    client.pipe(inner);
    inner.pipe(client);
    const end = () => {
      client.destroy();
      inner.destroy();
      connections.delete(client);
      connections.delete(inner);
    };
    client.on("close", end);
    inner.on("close", end);
    client.on("error", end);
    inner.on("error", end);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    output: () => output,
    async stop() {
      for (const c of connections) c.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      if (child.exitCode === null && child.pid !== undefined) {
        const exited = new Promise((resolve) => child.once("exit", resolve));
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          // already gone
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 3000))]);
        if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export const SMSBOX = "/usr/sbin/smsbox";

/** A free TCP port on 127.0.0.1 (closed again at once; Kannel needs port numbers up front). */
export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export interface KannelBoxes {
  sendsmsPort: number;
  dir: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * bearerbox with `smsc = cimd2` pointed at 127.0.0.1:`smscPort`, and smsbox with a sendsms
 * user `tester`/`pw` and a catch-all service that GETs each MO from `moUrl`. Everything
 * Kannel opens listens on 127.0.0.1.
 */
export async function startKannelCimd2Client(options: { smscPort: number; username: string; password: string; moUrl: string }): Promise<KannelBoxes> {
  const dir = mkdtempSync(join(tmpdir(), "cimd2-bearerbox-"));
  const [adminPort, boxPort, sendsmsPort] = [await freePort(), await freePort(), await freePort()];
  const conf = `group = core
admin-port = ${adminPort}
admin-interface = 127.0.0.1
admin-password = admin-pw
admin-allow-ip = "127.0.0.1"
smsbox-port = ${boxPort}
smsbox-interface = 127.0.0.1
box-deny-ip = "*.*.*.*"
box-allow-ip = "127.0.0.1"
log-file = "${join(dir, "bearerbox.log")}"
log-level = 0
dlr-storage = internal

group = smsc
smsc = cimd2
smsc-id = sim
host = 127.0.0.1
port = ${options.smscPort}
smsc-username = "${options.username}"
smsc-password = "${options.password}"
keepalive = 5
reconnect-delay = 1

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${boxPort}
sendsms-port = ${sendsmsPort}
sendsms-interface = 127.0.0.1
log-file = "${join(dir, "smsbox.log")}"
log-level = 0

group = sendsms-user
username = tester
password = pw
user-allow-ip = "127.0.0.1"

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "${options.moUrl}"
`;
  const confFile = join(dir, "kannel.conf");
  writeFileSync(confFile, conf);
  const children: ChildProcess[] = [];
  let output = "";
  const start = (binary: string) => {
    const child = spawn(binary, [confFile], { cwd: dir, stdio: ["ignore", "pipe", "pipe"], detached: true });
    child.stdout?.on("data", (d: Buffer) => (output += d.toString("latin1")));
    child.stderr?.on("data", (d: Buffer) => (output += d.toString("latin1")));
    children.push(child);
  };
  start(BEARERBOX);
  // smsbox connects to bearerbox's box port; give bearerbox a moment to open it.
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(boxPort))) {
    if (Date.now() > deadline) throw new Error(`bearerbox did not open its box port:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  start(SMSBOX);
  while (!(await canConnect(sendsmsPort))) {
    if (Date.now() > deadline + 10_000) throw new Error(`smsbox did not open sendsms:\n${output}`);
    await new Promise((r) => setTimeout(r, 100));
  }
  return {
    sendsmsPort,
    dir,
    logs: () => {
      const read = (f: string) => (existsSync(join(dir, f)) ? readFileSync(join(dir, f), "latin1") : "");
      return `${output}\n${read("bearerbox.log")}\n${read("smsbox.log")}`;
    },
    async stop() {
      for (const child of children.reverse()) {
        if (child.exitCode !== null || child.pid === undefined) continue;
        const exited = new Promise((resolve) => child.once("exit", resolve));
        try {
          process.kill(-child.pid, "SIGTERM");
        } catch {
          continue;
        }
        await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
        if (child.exitCode === null) process.kill(-child.pid, "SIGKILL");
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}
