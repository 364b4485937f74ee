/**
 * Starts a throwaway redis-server for tests: loopback only, a free port, its own temp dir,
 * stopped (and its dir removed) by `stop()`. Tests that need it skip with `redisSkipReason`
 * when the machine has no redis-server (Debian: `apt-get install -y redis-server`).
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

function findRedisServer(): string | undefined {
  const found = spawnSync("redis-server", ["--version"], { encoding: "utf8" });
  return found.status === 0 ? "redis-server" : undefined;
}

const binary = findRedisServer();

/** Why Redis tests cannot run here, or false when they can. */
export const redisSkipReason: string | false = binary
  ? false
  : "redis-server not installed: install it with `apt-get install -y redis-server` to run the Redis store tests";

export interface RedisServerOptions {
  /** Keep writes in an append-only file, so they survive a restart. */
  appendonly?: boolean;
  /** Require this password (`requirepass`). */
  password?: string;
}

export interface RedisServer {
  port: number;
  /** `redis://127.0.0.1:<port>` (with the password when one is set). */
  url: string;
  /** Stops the server gracefully (it writes its append-only file) and starts it again on the same port and dir. */
  restart(): Promise<void>;
  /** Stops it without removing its data, to test "Redis down". */
  pause(): Promise<void>;
  /** Starts it again after `pause`. */
  resume(): Promise<void>;
  stop(): Promise<void>;
}

export async function startRedis(options: RedisServerOptions = {}): Promise<RedisServer> {
  if (!binary) throw new Error(redisSkipReason || "redis-server missing");
  const dir = mkdtempSync(path.join(os.tmpdir(), "rapidpro-sms-redis-"));
  const port = await freePort();
  const args = [
    "--port", String(port),
    "--bind", "127.0.0.1",
    "--dir", dir,
    "--save", "",
    "--appendonly", options.appendonly ? "yes" : "no",
    "--daemonize", "no",
    "--loglevel", "warning",
  ];
  if (options.password) args.push("--requirepass", options.password);

  let child: ChildProcess | undefined;
  const launch = async () => {
    child = spawn(binary, args, { stdio: "ignore" });
    child.on("error", () => undefined);
    await waitUntilReady(port, child);
  };
  const halt = async () => {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null || running.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => running.once("exit", () => resolve()));
    running.kill("SIGTERM");
    const timer = setTimeout(() => running.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  };

  await launch();
  const auth = options.password ? `:${encodeURIComponent(options.password)}@` : "";
  return {
    port,
    url: `redis://${auth}127.0.0.1:${port}`,
    async restart() {
      await halt();
      await launch();
    },
    pause: halt,
    resume: launch,
    async stop() {
      await halt();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A port nobody listens on right now, found by letting the OS pick one. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Waits (at most about 10 s) until the server answers PING, or says it wants a password. */
export async function waitUntilReady(port: number, child: ChildProcess): Promise<void> {
  for (let attempt = 0; attempt < 200; attempt++) {
    if (child.exitCode !== null) throw new Error(`redis-server exited with code ${child.exitCode} before it was ready`);
    if (await answersPing(port)) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill("SIGKILL");
  throw new Error(`redis-server on port ${port} did not become ready`);
}

function answersPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ port, host: "127.0.0.1" });
    let reply = "";
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(1_000, () => done(false));
    socket.on("error", () => done(false));
    socket.on("connect", () => socket.write("PING\r\n"));
    socket.on("data", (chunk) => {
      reply += chunk.toString("utf8");
      // -LOADING means the append-only file is still being read.
      if (reply.includes("\r\n")) done(reply.startsWith("+PONG") || reply.startsWith("-NOAUTH"));
    });
  });
}
