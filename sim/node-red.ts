/**
 * Runs a real Node-RED in a child process: for the demo (`npm start`), the end-to-end tests
 * and the benchmark. The package is either loaded from the working tree (`nodesDir`) or
 * installed from an `npm pack` tarball, the way the palette manager installs it.
 */
import { spawn, execFileSync, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const PACKAGE_ROOT = path.resolve(__dirname, "..", "..");

export interface NodeRedOptions {
  /** User directory; a new temporary one when unset. */
  userDir?: string;
  port: number;
  /**
   * Flows to deploy once Node-RED runs. They go through the Admin API, not flows.json, so
   * inline `credentials` are stored (encrypted) as an editor import would store them.
   */
  flows?: unknown[];
  env?: Record<string, string>;
  /** Node binary; the current one when unset. */
  nodeBinary?: string;
  /** Node-RED's red.js; this package's dev dependency when unset. */
  redJs?: string;
  /** Load this package from the working tree instead of an installed copy. */
  loadFromWorkingTree?: boolean;
  /** Print Node-RED's log lines as they come. */
  echo?: boolean;
  /** Extra settings.js properties (JSON-serialisable). */
  settings?: Record<string, unknown>;
}

export interface NodeRed {
  url: string;
  userDir: string;
  process: ChildProcess;
  /** Everything Node-RED printed so far. */
  log(): string;
  /** Deploys flows through the Admin API ("full" deployment). */
  deploy(flows: unknown[]): Promise<void>;
  /** GET on the admin API, parsed as JSON. */
  admin<T = unknown>(pathname: string): Promise<T>;
  stop(signal?: NodeJS.Signals): Promise<void>;
}

/** `npm pack` of the working tree (build first); returns the tarball's path. */
export function packPackage(into: string): string {
  fs.mkdirSync(into, { recursive: true });
  const out = execFileSync("npm", ["pack", "--silent", "--pack-destination", into], { cwd: PACKAGE_ROOT, encoding: "utf8" });
  return path.join(into, out.trim().split("\n").pop()!.trim());
}

/** Installs a tarball into a user directory the way the palette manager does. */
export function installTarball(userDir: string, tarball: string): void {
  fs.mkdirSync(userDir, { recursive: true });
  const pkg = path.join(userDir, "package.json");
  if (!fs.existsSync(pkg)) fs.writeFileSync(pkg, JSON.stringify({ name: "node-red-project", private: true, version: "0.0.1" }));
  execFileSync("npm", ["install", "--no-audit", "--no-fund", "--omit=dev", "--prefer-offline", tarball], { cwd: userDir, stdio: "pipe" });
}

export async function startNodeRed(options: NodeRedOptions): Promise<NodeRed> {
  const userDir = options.userDir ?? fs.mkdtempSync(path.join(os.tmpdir(), "nr-user-"));
  fs.mkdirSync(userDir, { recursive: true });
  const settings = {
    uiHost: "127.0.0.1",
    uiPort: options.port,
    flowFile: "flows.json",
    credentialSecret: "rapidpro-sms-local-secret",
    telemetry: { enabled: false, updateNotification: false },
    diagnostics: { enabled: false, ui: false },
    editorTheme: { tours: false, projects: { enabled: false } },
    logging: { console: { level: "info", metrics: false, audit: false } },
    externalModules: { autoInstall: false, palette: { allowInstall: false } },
    ...(options.loadFromWorkingTree ? { nodesDir: [PACKAGE_ROOT] } : {}),
    ...options.settings,
  };
  fs.writeFileSync(path.join(userDir, "settings.js"), `module.exports = ${JSON.stringify(settings, null, 2)};\n`);

  const redJs = options.redJs ?? require.resolve("node-red/red.js", { paths: [PACKAGE_ROOT] });
  const child = spawn(options.nodeBinary ?? process.execPath, [redJs, "-u", userDir, "-s", path.join(userDir, "settings.js")], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  const collect = (chunk: Buffer) => {
    const text = chunk.toString();
    output += text;
    if (options.echo) process.stdout.write(text);
  };
  child.stdout!.on("data", collect);
  child.stderr!.on("data", collect);
  const url = `http://127.0.0.1:${options.port}`;

  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const ready = await waitFor(async () => {
    if (child.exitCode !== null) throw new Error(`Node-RED exited with ${child.exitCode}:\n${output.slice(-3000)}`);
    const res = await fetch(`${url}/settings`).catch(() => undefined);
    return res?.ok === true && /Started flows|Starting flows/.test(output);
  }, 60_000);
  if (!ready) {
    child.kill("SIGKILL");
    throw new Error(`Node-RED did not start within 60 s:\n${output.slice(-3000)}`);
  }

  const red: NodeRed = {
    url,
    userDir,
    process: child,
    log: () => output,
    async deploy(flows) {
      const res = await fetch(`${url}/flows`, {
        method: "POST",
        headers: { "content-type": "application/json", "node-red-api-version": "v2", "node-red-deployment-type": "full" },
        body: JSON.stringify({ flows }),
      });
      if (!res.ok) throw new Error(`deploy failed: ${res.status} ${await res.text()}`);
      // "Started flows" is logged once per deploy; wait for the new one.
      const starts = (output.match(/Started flows/g) ?? []).length;
      await waitFor(async () => (output.match(/Started flows/g) ?? []).length > starts, 20_000);
    },
    async admin(pathname) {
      const res = await fetch(`${url}${pathname}`, { headers: { accept: "application/json", "node-red-api-version": "v2" } });
      if (!res.ok) throw new Error(`GET ${pathname}: ${res.status}`);
      return (await res.json()) as never;
    },
    async stop(signal = "SIGTERM") {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill(signal);
      const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
      await exited;
      clearTimeout(timer);
    },
  };
  if (options.flows) await red.deploy(options.flows);
  return red;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

/** A free TCP port on 127.0.0.1. */
export async function freePort(): Promise<number> {
  const net = await import("node:net");
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const port = (server.address() as import("node:net").AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}
