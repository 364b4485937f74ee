/**
 * Kannel 1.4.5 (Debian `kannel`) as an independent UCP/EMI peer (aggregator-protocols.md
 * §2.8): `decode_emimsg` as a frame validator, and a `bearerbox` + `smsbox` pair as a UCP
 * client pointed at our simulator, with MT injected through smsbox's sendsms and MO and
 * delivery reports caught on a local HTTP server. Every Kannel listener is bound to
 * 127.0.0.1 (`admin-interface`, `smsbox-interface`, `sendsms-interface`) and allows only
 * 127.0.0.1. Tests skip with `kannelSkipReason` when the binaries are missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const BEARERBOX = "/usr/sbin/bearerbox";
const SMSBOX = "/usr/sbin/smsbox";
const DECODE = "decode_emimsg";

const decoderFound = spawnSync(DECODE, [""], { encoding: "utf8" }).error === undefined;

/** Why the Kannel tests cannot run here, or false when they can. */
export const kannelSkipReason: string | false =
  existsSync(BEARERBOX) && existsSync(SMSBOX) && decoderFound
    ? false
    : "Kannel is not installed (bearerbox, smsbox, decode_emimsg): `apt-get install -y kannel` (.ci/run does) to run the UCP/EMI checks against Kannel";

/** Kannel's own parser on one frame (text between STX and ETX): its printout, or why it refused it. */
export function decodeEmimsg(body: string): { ok: boolean; out: string } {
  const run = spawnSync(DECODE, [body], { encoding: "utf8", timeout: 10_000 });
  const invalid = /Invalid EMI packet|Unsupported EMI operation/.test(run.stderr ?? "");
  return { ok: run.status === 0 && !invalid, out: `${run.stdout ?? ""}${run.stderr ?? ""}` };
}

/** Local addresses the given processes listen on (TCP), from `ss`; undefined when `ss` is missing. */
export function listeningAddresses(pids: readonly number[]): string[] | undefined {
  const run = spawnSync("ss", ["-Hltnp"], { encoding: "utf8" });
  if (run.status !== 0) return undefined;
  return run.stdout
    .split("\n")
    .filter((line) => pids.some((pid) => line.includes(`pid=${pid},`)))
    .map((line) => line.trim().split(/\s+/)[3]);
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

export interface Catcher {
  url: string;
  /** Query strings of every request, by path ("/mo", "/dlr"). */
  calls: Array<{ path: string; query: URLSearchParams }>;
  close(): Promise<void>;
}

/** A local HTTP server that answers 200 to everything and records what Kannel calls. */
export async function startCatcher(): Promise<Catcher> {
  const calls: Catcher["calls"] = [];
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    calls.push({ path: url.pathname, query: url.searchParams });
    res.writeHead(200, { "content-type": "text/plain" }).end("");
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    calls,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

export interface KannelOptions {
  smscPort: number;
  username: string;
  password: string;
  /** Where smsbox sends MO: the catcher's URL. */
  moUrl: string;
  keepaliveSeconds?: number;
}

export interface Kannel {
  sendsmsUrl: string;
  sendsmsUser: string;
  sendsmsPassword: string;
  /** Both boxes' logs so far. */
  logs(): string;
  /** Process ids of bearerbox and smsbox. */
  pids(): number[];
  stop(): Promise<void>;
}

/** Starts bearerbox (smsc = emi, to the simulator) and smsbox, loopback only. */
export async function startKannel(options: KannelOptions): Promise<Kannel> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "kannel-emi-"));
  const [adminPort, smsboxPort, sendsmsPort] = [await freePort(), await freePort(), await freePort()];
  const sendsmsUser = "tester";
  const sendsmsPassword = "sendsms-pass";
  const conf = `
group = core
admin-port = ${adminPort}
admin-interface = 127.0.0.1
admin-password = admin-pass
admin-allow-ip = "127.0.0.1"
smsbox-port = ${smsboxPort}
smsbox-interface = 127.0.0.1
box-allow-ip = "127.0.0.1"
log-file = "${dir}/bearerbox.log"
log-level = 0
dlr-storage = internal

group = smsc
smsc = emi
smsc-id = ucpsim
host = 127.0.0.1
port = ${options.smscPort}
smsc-username = "${options.username}"
smsc-password = "${options.password}"
keepalive = ${options.keepaliveSeconds ?? 2}
flow-control = 0
window = 10

group = smsbox
bearerbox-host = 127.0.0.1
bearerbox-port = ${smsboxPort}
sendsms-port = ${sendsmsPort}
sendsms-interface = 127.0.0.1
mo-recode = true
log-file = "${dir}/smsbox.log"
log-level = 0

group = sendsms-user
username = ${sendsmsUser}
password = ${sendsmsPassword}
user-allow-ip = "127.0.0.1"
concatenation = true
max-messages = 10

group = sms-service
keyword = default
catch-all = true
max-messages = 0
get-url = "${options.moUrl}?from=%p&to=%P&text=%a&coding=%c"
`;
  const confPath = path.join(dir, "kannel.conf");
  writeFileSync(confPath, conf);
  const children: ChildProcess[] = [];
  const start = (binary: string) => {
    const child = spawn(binary, [confPath], { stdio: "ignore" });
    child.on("error", () => undefined);
    children.push(child);
  };
  start(BEARERBOX);
  // smsbox gives up when bearerbox is not listening yet.
  await waitForPort(smsboxPort, 10_000);
  start(SMSBOX);
  await waitForPort(sendsmsPort, 10_000);
  const read = (name: string) => (existsSync(path.join(dir, name)) ? readFileSync(path.join(dir, name), "utf8") : "");
  return {
    sendsmsUrl: `http://127.0.0.1:${sendsmsPort}/cgi-bin/sendsms`,
    sendsmsUser,
    sendsmsPassword,
    logs: () => `${read("bearerbox.log")}\n${read("smsbox.log")}`,
    pids: () => children.map((c) => c.pid).filter((pid): pid is number => pid !== undefined),
    async stop() {
      for (const child of children.reverse()) await stopChild(child);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const open = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ host: "127.0.0.1", port });
      socket.once("connect", () => (socket.destroy(), resolve(true)));
      socket.once("error", () => resolve(false));
    });
    if (open) return;
    if (Date.now() > end) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** SIGTERM, then SIGKILL after 5 s: only the process this helper started. */
function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
    child.once("exit", () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill("SIGTERM");
  });
}
