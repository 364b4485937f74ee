/**
 * HAProxy in front of several Node-RED instances for tests: one frontend on a free loopback
 * port, round robin over the instances' `/rapidpro/send`, each checked on the health endpoint
 * (docs/deploy.md shows the same configuration for production). Tests skip with
 * `haproxySkipReason` where haproxy is missing.
 */
import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { freePort } from "./redis-server";

export const haproxySkipReason: string | false =
  spawnSync("haproxy", ["-v"], { encoding: "utf8" }).status === 0 ? false : "haproxy not installed: install it with `apt-get install -y haproxy` to run the load-balancer tests";

export interface LoadBalancer {
  url: string;
  /** Everything haproxy printed (its health check changes). */
  log(): string;
  stop(): Promise<void>;
}

/** The configuration, for the test and as the example docs/deploy.md follows. */
export function haproxyConfig(options: { port: number; backends: number[]; healthPath: string }): string {
  return [
    "global",
    "  log stderr format raw local0 info",
    "defaults",
    "  mode http",
    "  log global",
    "  option httplog",
    "  timeout connect 1s",
    "  timeout client 60s",
    "  timeout server 60s",
    // A request that could not be sent to one instance is tried on another.
    "  retries 2",
    "  option redispatch",
    "frontend courier",
    `  bind 127.0.0.1:${options.port}`,
    "  default_backend bridges",
    "backend bridges",
    "  balance roundrobin",
    `  option httpchk GET ${options.healthPath}`,
    "  http-check expect status 200",
    // Down after 2 failed checks 300 ms apart, up again after 2 good ones.
    "  default-server inter 300ms fall 2 rise 2 on-marked-down shutdown-sessions",
    ...options.backends.map((port, i) => `  server bridge${i + 1} 127.0.0.1:${port} check`),
    "",
  ].join("\n");
}

export async function startHaproxy(options: { backends: number[]; healthPath?: string }): Promise<LoadBalancer> {
  if (haproxySkipReason) throw new Error(haproxySkipReason);
  const dir = mkdtempSync(path.join(os.tmpdir(), "rapidpro-sms-haproxy-"));
  const port = await freePort();
  const config = path.join(dir, "haproxy.cfg");
  writeFileSync(config, haproxyConfig({ port, backends: options.backends, healthPath: options.healthPath ?? "/rapidpro/health" }));
  const check = spawnSync("haproxy", ["-c", "-f", config], { encoding: "utf8" });
  if (check.status !== 0) throw new Error(`haproxy refused its configuration:\n${check.stdout}${check.stderr}`);
  let output = "";
  const child: ChildProcess = spawn("haproxy", ["-db", "-f", config], { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout!.on("data", (c: Buffer) => (output += c.toString()));
  child.stderr!.on("data", (c: Buffer) => (output += c.toString()));
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  // Listening once a TCP connect succeeds.
  const net = await import("node:net");
  const until = Date.now() + 10_000;
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = net.connect({ port, host: "127.0.0.1" }, () => {
        socket.destroy();
        resolve(true);
      });
      socket.on("error", () => resolve(false));
    });
    if (ok) break;
    if (child.exitCode !== null || Date.now() > until) throw new Error(`haproxy did not start:\n${output}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url: `http://127.0.0.1:${port}`,
    log: () => output,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill("SIGTERM");
        const timer = setTimeout(() => child.kill("SIGKILL"), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
