/**
 * A Redis master, two replicas and three sentinels on 127.0.0.1 for tests, each in its own
 * temp dir and on a free port, configured as docs/deploy.md asks: `appendonly yes`,
 * `min-replicas-to-write 1`, so an acknowledged write is on a replica before the bridge
 * answers (the URL's WAIT). Two replicas, not one: after a failover the new master needs a
 * replica to take writes, and Sentinel makes the killed master a replica again only some
 * 16 s after it came back (measured with redis 7.0), so with one replica writes wait that long.
 * Tests skip with `sentinelSkipReason` where redis-server or redis-sentinel is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { freePort, waitUntilReady } from "./redis-server";

function installed(binary: string): boolean {
  return spawnSync(binary, ["--version"], { encoding: "utf8" }).status === 0;
}

/** Why Sentinel tests cannot run here, or false when they can. */
export const sentinelSkipReason: string | false = !installed("redis-server")
  ? "redis-server not installed: install it with `apt-get install -y redis-server redis-sentinel` to run the Sentinel tests"
  : !installed("redis-sentinel")
    ? "redis-sentinel not installed: install it with `apt-get install -y redis-sentinel` to run the Sentinel tests"
    : false;

export const MASTER_NAME = "bridge";

export interface RedisNode {
  port: number;
  running(): boolean;
  /** kill -9. */
  kill(): Promise<void>;
  /** Starts it again on the same port and dir (Sentinel then makes it a replica of whoever is master). */
  start(): Promise<void>;
}

export interface SentinelSet {
  /** `redis+sentinel://127.0.0.1:p1,127.0.0.1:p2,127.0.0.1:p3/bridge` */
  url: string;
  nodes: RedisNode[];
  sentinelPorts: number[];
  /** The data node Sentinel names as master now. */
  masterPort(): Promise<number>;
  /** Waits until the sentinels name another master than `oldPort`; resolves with the new one. */
  waitForFailover(oldPort: number, timeoutMs: number): Promise<number>;
  stop(): Promise<void>;
}

interface Proc {
  child?: ChildProcess;
}

function launch(binary: string, args: string[], proc: Proc): ChildProcess {
  const child = spawn(binary, args, { stdio: "ignore" });
  child.on("error", () => undefined);
  proc.child = child;
  return child;
}

async function halt(proc: Proc, signal: NodeJS.Signals): Promise<void> {
  const running = proc.child;
  proc.child = undefined;
  if (!running || running.exitCode !== null || running.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
  running.kill(signal);
  const timer = setTimeout(() => running.kill("SIGKILL"), 5_000);
  await exited;
  clearTimeout(timer);
}

export async function startSentinelSet(options: { replicas?: number } = {}): Promise<SentinelSet> {
  if (sentinelSkipReason) throw new Error(sentinelSkipReason);
  const replicaCount = options.replicas ?? 2;
  const root = mkdtempSync(path.join(os.tmpdir(), "rapidpro-sms-sentinel-"));
  const masterPort = await freePort();
  const procs: Proc[] = [];

  const dataNode = async (port: number, replicaOf?: number): Promise<RedisNode> => {
    const dir = path.join(root, `redis-${port}`);
    const conf = path.join(dir, "redis.conf");
    rmSync(dir, { recursive: true, force: true });
    spawnSync("mkdir", ["-p", dir]);
    writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        'save ""',
        "appendonly yes",
        "appendfsync everysec",
        "min-replicas-to-write 1",
        "min-replicas-max-lag 10",
        "replica-announce-ip 127.0.0.1",
        "loglevel warning",
        ...(replicaOf ? [`replicaof 127.0.0.1 ${replicaOf}`] : []),
        "",
      ].join("\n"),
    );
    const proc: Proc = {};
    procs.push(proc);
    const start = async () => {
      const child = launch("redis-server", [conf], proc);
      await waitUntilReady(port, child);
    };
    await start();
    return {
      port,
      running: () => !!proc.child && proc.child.exitCode === null && proc.child.signalCode === null,
      kill: () => halt(proc, "SIGKILL"),
      start,
    };
  };

  const master = await dataNode(masterPort);
  const replicas: RedisNode[] = [];
  for (let i = 0; i < replicaCount; i++) replicas.push(await dataNode(await freePort(), masterPort));
  await waitFor(async () => (await command(masterPort, "INFO replication")).includes(`connected_slaves:${replicaCount}`), 10_000, "the replicas did not connect");

  const sentinelPorts: number[] = [];
  for (let i = 0; i < 3; i++) {
    const port = await freePort();
    const dir = path.join(root, `sentinel-${port}`);
    spawnSync("mkdir", ["-p", dir]);
    const conf = path.join(dir, "sentinel.conf");
    writeFileSync(
      conf,
      [
        `port ${port}`,
        "bind 127.0.0.1",
        `dir ${dir}`,
        "sentinel announce-ip 127.0.0.1",
        `sentinel monitor ${MASTER_NAME} 127.0.0.1 ${masterPort} 2`,
        `sentinel down-after-milliseconds ${MASTER_NAME} 1000`,
        `sentinel failover-timeout ${MASTER_NAME} 4000`,
        `sentinel parallel-syncs ${MASTER_NAME} 1`,
        "loglevel warning",
        "",
      ].join("\n"),
    );
    const proc: Proc = {};
    procs.push(proc);
    const child = launch("redis-sentinel", [conf], proc);
    await waitUntilReady(port, child);
    sentinelPorts.push(port);
  }

  const masterPortNow = async () => {
    for (const port of sentinelPorts) {
      const reply = await command(port, `SENTINEL get-master-addr-by-name ${MASTER_NAME}`).catch(() => "");
      const found = /\r\n(\d+)\r\n$/.exec(reply);
      if (found) return Number(found[1]);
    }
    throw new Error("no sentinel answers");
  };
  // Every sentinel must know the replica and the others before a failover can succeed.
  await waitFor(
    async () => {
      for (const port of sentinelPorts) {
        const fields = respValues(await command(port, `SENTINEL master ${MASTER_NAME}`).catch(() => ""));
        const field = (name: string) => fields[fields.indexOf(name) + 1];
        if (field("num-slaves") !== String(replicaCount) || field("num-other-sentinels") !== "2") return false;
      }
      return true;
    },
    20_000,
    "the sentinels did not find each other and the replica",
  );

  return {
    url: `redis+sentinel://${sentinelPorts.map((p) => `127.0.0.1:${p}`).join(",")}/${MASTER_NAME}`,
    nodes: [master, ...replicas],
    sentinelPorts,
    masterPort: masterPortNow,
    async waitForFailover(oldPort, timeoutMs) {
      let now = oldPort;
      await waitFor(
        async () => {
          now = await masterPortNow().catch(() => oldPort);
          return now !== oldPort;
        },
        timeoutMs,
        "Sentinel did not fail over",
      );
      return now;
    },
    async stop() {
      await Promise.all(procs.map((p) => halt(p, "SIGKILL")));
      rmSync(root, { recursive: true, force: true });
    },
  };
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} within ${timeoutMs} ms`);
}

/** One inline command, the raw reply (for tests; enough for INFO and SENTINEL queries). */
export function command(port: number, line: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let reply = "";
    let timer: NodeJS.Timeout | undefined;
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(2_000, () => {
      socket.destroy();
      reject(new Error("no reply"));
    });
    socket.on("error", reject);
    socket.on("connect", () => socket.write(`${line}\r\n`));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      clearTimeout(timer);
      timer = setTimeout(finish, 30);
    });
  });
}

/** The values of a RESP reply, flattened (array and length lines left out). */
function respValues(reply: string): string[] {
  return reply.split("\r\n").filter((line) => line !== "" && !/^[*$]-?\d+$/.test(line)).map((line) => line.replace(/^[+:]/, ""));
}
