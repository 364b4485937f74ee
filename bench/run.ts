/**
 * `npm run bench`: the bridge's throughput and latency, measured through a real Node-RED.
 *
 * Packs this package and installs the tarball into a fresh Node-RED user directory (as the
 * palette manager would), deploys an example flow (the SMPP bridge by default), starts the
 * SMSC simulator and a fake courier in a worker thread, then runs each scenario from a load
 * generator that sends MT the way courier does. Everything listens on 127.0.0.1; every loop
 * is bounded by count and time; Node-RED and the worker are stopped on exit, error or signal.
 *
 *   node dist/bench/run.js [--scenarios mt,dlr] [--messages N] [--connections N] [--window N]
 *                          [--json FILE] [--short | --soak] [--flow FILE] ...   (--help lists all)
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { parseArgs } from "node:util";
import { freePort, installTarball, packPackage, startNodeRed, type NodeRed } from "../sim/node-red";
import { AllocProfiler, DIR_VARIABLE, PRELOAD } from "./alloc-profile";
import { BRIDGE_FLOWS, loadFlow, withBindSettings, type FlowNode, type Protocol } from "./flow";
import { runMtLoad } from "./load";
import { Peers } from "./peers";
import { vmMb } from "./proc";
import { addRatios, formatReport, machine, targets, type Report } from "./report";
import {
  DEFAULT_SCENARIOS,
  runScenario,
  SCENARIOS,
  SkipScenario,
  type BenchContext,
  type BenchOptions,
  type Row,
  type ScenarioName,
} from "./scenarios";

const CHANNEL_UUID = "8eb23e93-5ecb-45ba-b726-3b064e0c56ab";
const AUTHORIZATION = "Token bench-secret-0123456789";
const SYSTEM_ID = "bench";
const PASSWORD = "benchpw"; // SMPP 3.4 passwords are at most 8 octets

const HELP = `Usage: node dist/bench/run.js [options]

  --scenarios LIST     comma-separated, from: ${SCENARIOS.join(", ")}
                       (default: ${DEFAULT_SCENARIOS.join(",")})
  --messages N         messages per scenario (default 20000; --short 1000; --soak 500000)
  --connections N      concurrent MT requests, like courier's senders (default 50)
  --window N           window: the bind's (any protocol), the ceiling client's and MO in flight (default 10)
  --json FILE          also write the report as JSON
  --short              a quick run for CI: 1000 messages, cap measured over 3 s
  --soak               500,000 messages of dlr (unless --scenarios), RSS printed every 10 s
  --flow FILE          the flow to deploy (default examples/rapidpro-smpp-bridge.json)
  --protocol P         smpp (default), ucp or cimd2: the protocol's bridge example
                       (examples/rapidpro-<P>-bridge.json) against its simulator (sim/smsc, sim/ucp,
                       sim/cimd2); ceiling and session are SMPP round trips, skipped for the others
  --latency-rate N     offered MT/s of the latency scenario (default 1000)
  --cap-rate N         the bind's throughput cap in the cap scenario (default 100)
  --cap-seconds N      how long the cap is measured (default 30)
  --tarball FILE       install this package tarball instead of packing the working tree
  --receipt-delay MS   SMSC simulator's delay from submit_sm_resp to receipt (default 100)
  --store URL          STORE_URL for the flow (default: the embedded store in the user directory)
  --cpu-prof DIR       write a V8 CPU profile of Node-RED into DIR (open in Chrome DevTools)
  --alloc-prof DIR     sample Node-RED's heap allocations during each scenario into DIR/<scenario>.heapprofile
                       (summary: node dist/bench/profile.js DIR/<scenario>.heapprofile)
  --node-options=STR   NODE_OPTIONS for Node-RED only, e.g. --node-options=--max-old-space-size=96
  --node-flags=STR     flags on Node-RED's node command line, for V8 flags NODE_OPTIONS refuses,
                       e.g. --node-flags=--no-turbo-inlining (with --alloc-prof: each function charged alone)
  --max-minutes N      abort the whole run after this long (default 10; --soak 40)
  --echo               print Node-RED's log
  --metrics off        run Node-RED with rapidproSms.metrics false: no counters, no trace (the
                       cost of the metrics is the difference to a run without it)
  --keep               keep the temporary user directory
`;

interface Cli extends BenchOptions {
  scenarios: ScenarioName[];
  json?: string;
  flowFile: string;
  store: string;
  tarball?: string;
  cpuProf?: string;
  allocProf?: string;
  /** NODE_OPTIONS of the Node-RED process (V8 heap limits, say); the harness keeps its own. */
  nodeOptions: string;
  /** More flags on Node-RED's node command line (the wrapper's), split at spaces. */
  nodeFlags: string[];
  maxMinutes: number;
  echo: boolean;
  keep: boolean;
  /** Counters and trace on (the default) or off (settings.js rapidproSms.metrics false). */
  metrics: boolean;
  mode: "default" | "short" | "soak";
}

export function parseCli(argv: string[]): Cli {
  const { values } = parseArgs({
    args: argv,
    options: {
      scenarios: { type: "string" },
      messages: { type: "string" },
      connections: { type: "string" },
      window: { type: "string" },
      json: { type: "string" },
      short: { type: "boolean" },
      soak: { type: "boolean" },
      flow: { type: "string" },
      protocol: { type: "string" },
      "latency-rate": { type: "string" },
      "cap-rate": { type: "string" },
      "cap-seconds": { type: "string" },
      store: { type: "string" },
      "receipt-delay": { type: "string" },
      tarball: { type: "string" },
      "cpu-prof": { type: "string" },
      "alloc-prof": { type: "string" },
      "node-options": { type: "string" },
      "node-flags": { type: "string" },
      "max-minutes": { type: "string" },
      echo: { type: "boolean" },
      keep: { type: "boolean" },
      metrics: { type: "string" },
      help: { type: "boolean" },
    },
  });
  if (values.help) {
    process.stdout.write(HELP);
    process.exit(0);
  }
  if (values.short && values.soak) throw new Error("--short and --soak exclude each other");
  if (values.metrics !== undefined && values.metrics !== "on" && values.metrics !== "off") throw new Error("--metrics must be on or off");
  if (values.protocol !== undefined && !Object.hasOwn(BRIDGE_FLOWS, values.protocol)) throw new Error(`--protocol must be smpp, ucp or cimd2, not "${values.protocol}"`);
  const mode = values.short ? "short" : values.soak ? "soak" : "default";
  const int = (name: string, value: string | undefined, fallback: number, min = 1) => {
    if (value === undefined) return fallback;
    const n = Number(value);
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be an integer >= ${min}`);
    return n;
  };
  const scenarios = values.scenarios
    ? values.scenarios.split(",").map((s) => s.trim())
    : mode === "soak"
      ? ["dlr"]
      : DEFAULT_SCENARIOS;
  for (const s of scenarios) if (!(SCENARIOS as readonly string[]).includes(s)) throw new Error(`unknown scenario "${s}"`);
  return {
    // Run in a fixed order whatever the order given: ceiling first (every ratio needs it), cap last (it redeploys).
    scenarios: SCENARIOS.filter((s) => scenarios.includes(s)),
    messages: int("messages", values.messages, mode === "short" ? 1000 : mode === "soak" ? 500_000 : 20_000),
    connections: int("connections", values.connections, 50),
    window: int("window", values.window, 10),
    latencyRate: int("latency-rate", values["latency-rate"], 1000),
    capRate: int("cap-rate", values["cap-rate"], 100),
    capSeconds: int("cap-seconds", values["cap-seconds"], mode === "short" ? 3 : 30),
    receiptDelayMs: int("receipt-delay", values["receipt-delay"], 100, 0),
    rssEveryMs: mode === "soak" ? 10_000 : 1_000,
    printRss: mode === "soak",
    json: values.json,
    flowFile: path.resolve(values.flow ?? BRIDGE_FLOWS[(values.protocol ?? "smpp") as Protocol]),
    store: values.store ?? "",
    tarball: values.tarball ? path.resolve(values.tarball) : undefined,
    cpuProf: values["cpu-prof"] ? path.resolve(values["cpu-prof"]) : undefined,
    allocProf: values["alloc-prof"] ? path.resolve(values["alloc-prof"]) : undefined,
    nodeOptions: values["node-options"]?.trim() ?? "",
    nodeFlags: values["node-flags"]?.trim().split(/\s+/).filter(Boolean) ?? [],
    maxMinutes: int("max-minutes", values["max-minutes"], mode === "soak" ? 40 : 10),
    echo: values.echo ?? false,
    keep: values.keep ?? false,
    metrics: values.metrics !== "off",
    mode,
  };
}

const log = (line: string) => process.stdout.write(`${line}\n`);

export async function main(argv: string[]): Promise<number> {
  const cli = parseCli(argv);
  if (!fs.existsSync(cli.flowFile)) {
    throw new Error(`${cli.flowFile} does not exist (a bridge example); --flow examples/rapidpro-external-channel.json runs the RapidPro side alone`);
  }
  const flow = loadFlow(cli.flowFile);
  const loadAtStart = Math.round(os.loadavg()[0] * 100) / 100;
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "rp-bench-"));
  let red: NodeRed | undefined;
  let peers: Peers | undefined;
  let cleaning: Promise<void> | undefined;
  const cleanup = () =>
    (cleaning ??= (async () => {
      await red?.stop().catch(() => undefined);
      await peers?.close().catch(() => undefined);
      if (!cli.keep) fs.rmSync(work, { recursive: true, force: true });
    })());
  // Last resort: whatever happens, the Node-RED child does not outlive us.
  const killChild = () => red?.process.kill("SIGKILL");
  process.once("exit", killChild);
  const onSignal = (signal: NodeJS.Signals) => {
    log(`\n${signal}: stopping`);
    void cleanup().then(() => process.exit(130));
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const watchdog = setTimeout(() => {
    log(`the run took more than ${cli.maxMinutes} min: aborting`);
    void cleanup().then(() => process.exit(2));
  }, cli.maxMinutes * 60_000);
  watchdog.unref();

  try {
    const userDir = path.join(work, "user");
    log(`${cli.tarball ? "installing" : "packing the package and installing"} it into ${userDir} ...`);
    installTarball(userDir, cli.tarball ?? packPackage(work));

    peers = new Peers({ channelUuid: CHANNEL_UUID, systemId: SYSTEM_ID, password: PASSWORD, receiptDelayMs: cli.receiptDelayMs, protocol: flow.protocol });
    await peers.start();
    const { nodes, notes } = withBindSettings(flow, { window: cli.window });
    const deployed: FlowNode[] = nodes;
    const env: Record<string, string> = {
      RAPIDPRO_URL: peers.courierUrl,
      RAPIDPRO_CHANNEL_UUID: CHANNEL_UUID,
      RAPIDPRO_AUTH: AUTHORIZATION,
      SMPP_HOST: "127.0.0.1",
      SMPP_PORT: String(peers.smscPort),
      SMPP_SYSTEM_ID: SYSTEM_ID,
      SMPP_PASSWORD: PASSWORD,
      UCP_HOST: "127.0.0.1",
      UCP_PORT: String(peers.smscPort),
      UCP_USERNAME: SYSTEM_ID,
      UCP_PASSWORD: PASSWORD,
      CIMD2_HOST: "127.0.0.1",
      CIMD2_PORT: String(peers.smscPort),
      CIMD2_USERNAME: SYSTEM_ID,
      CIMD2_PASSWORD: PASSWORD,
      STORE_URL: cli.store,
    };
    // Set for Node-RED only, always: a NODE_OPTIONS the harness was started with must not leak in unannounced.
    env.NODE_OPTIONS = cli.nodeOptions;
    // --cpu-prof and --trace-gc-nvp are refused in NODE_OPTIONS; a wrapper that execs node keeps Node-RED's pid.
    // --trace-gc-nvp prints one line per collection (a few a second under load) with the bytes allocated since
    // the one before, which gives each scenario its KB allocated per message.
    const nodeFlags = ["--trace-gc-nvp", ...cli.nodeFlags.map((flag) => JSON.stringify(flag))];
    if (cli.cpuProf) {
      fs.mkdirSync(cli.cpuProf, { recursive: true });
      nodeFlags.push("--cpu-prof", `--cpu-prof-dir=${JSON.stringify(cli.cpuProf)}`);
    }
    if (cli.allocProf) {
      fs.mkdirSync(cli.allocProf, { recursive: true });
      env[DIR_VARIABLE] = cli.allocProf;
      nodeFlags.push("--require", JSON.stringify(PRELOAD));
    }
    const nodeBinary = path.join(work, "node-red-node.sh");
    fs.writeFileSync(nodeBinary, `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${nodeFlags.join(" ")} "$@"\n`, { mode: 0o755 });
    log(`starting Node-RED with ${path.relative(process.cwd(), cli.flowFile)}, metrics ${cli.metrics ? "on" : "off"} ...`);
    const settings = cli.metrics ? undefined : { rapidproSms: { metrics: false } };
    red = await startNodeRed({ userDir, port: await freePort(), env, echo: cli.echo, nodeBinary, settings });
    const nodeRed = red;
    const deploy = async (flowNodes: FlowNode[]) => {
      const before = await peers!.counters();
      await nodeRed.deploy(flowNodes);
      const missing = /Waiting for missing types[^\n]*(\n[^\n]*- [\w-]+)*/.exec(nodeRed.log());
      if (missing) throw new Error(`Node-RED cannot start the flow: ${missing[0].replace(/\s+/g, " ")}`);
      if (flow.smppOut || flow.smppIn) await waitForBind(peers!, bindsOf(before.smsc.binds));
    };
    await deploy(deployed);
    const idleRss = vmMb(red.process.pid!, "VmRSS");
    const runtime = await red.admin<{ version?: string }>("/settings").catch(() => ({ version: undefined }));

    const ctx: BenchContext = {
      options: cli,
      flow: { ...flow, nodes: deployed },
      peers,
      pid: red.process.pid!,
      sendUrl: `${red.url}${flow.sendPath}`,
      authorization: AUTHORIZATION,
      channelUuid: CHANNEL_UUID,
      systemId: SYSTEM_ID,
      password: PASSWORD,
      deploy,
      log,
      nodeRedLog: () => nodeRed.log(),
      allocProfiler: cli.allocProf ? new AllocProfiler(cli.allocProf, red.process.pid!, () => nodeRed.log()) : undefined,
    };
    const warm = await warmUp(ctx);
    const rows: Row[] = [];
    const skipped: Report["skipped"] = [];
    let failed = false;
    for (const scenario of cli.scenarios) {
      log(`scenario ${scenario} ...`);
      try {
        const result = await runScenario(scenario, ctx);
        rows.push(...result);
        for (const r of result) log(`  ${r.scenario}: ${r.counted}/${r.sent} in ${r.durationS} s, ${r.rate.steady}/s steady, p99 ${r.latencyMs.p99} ms`);
      } catch (error) {
        if (!(error instanceof SkipScenario)) failed = true;
        const reason = error instanceof SkipScenario ? error.message : `failed: ${(error as Error).stack ?? error}`;
        skipped.push({ scenario, reason });
        log(`  ${reason}`);
      }
      await new Promise((r) => setTimeout(r, 500)); // let timers and GC of the last scenario settle
    }
    addRatios(rows);
    const report: Report = {
      date: new Date().toISOString(),
      machine: machine(loadAtStart, runtime.version),
      flow: path.relative(process.cwd(), cli.flowFile) || cli.flowFile,
      options: {
        mode: cli.mode,
        messages: cli.messages,
        connections: cli.connections,
        window: cli.window,
        latencyRate: cli.latencyRate,
        capRate: cli.capRate,
        capSeconds: cli.capSeconds,
        receiptDelayMs: cli.receiptDelayMs,
        store: cli.store || "embedded",
        ...(cli.nodeOptions ? { nodeOptions: cli.nodeOptions } : {}),
        ...(cli.nodeFlags.length ? { nodeFlags: cli.nodeFlags.join(" ") } : {}),
        ...(cli.allocProf ? { allocProf: "on" } : {}),
      },
      scenarios: rows,
      skipped,
      targets: targets(rows),
      notes: [
        `Node-RED RSS with the flow deployed, before any message: ${idleRss === undefined ? "n/a" : `${Math.round(idleRss)} MB`}`,
        warm,
        ...notes, ...nodeRedErrors(red.log())],
    };
    log(formatReport(report));
    if (cli.json) {
      fs.mkdirSync(path.dirname(path.resolve(cli.json)), { recursive: true });
      fs.writeFileSync(cli.json, JSON.stringify(report, null, 2) + "\n");
      log(`\nJSON report: ${cli.json}`);
    }
    if (cli.allocProf) log(`allocation profiles of Node-RED, one per scenario: ${cli.allocProf}/<scenario>.heapprofile`);
    if (cli.cpuProf) log(`CPU profile of Node-RED: ${cli.cpuProf} (written when Node-RED stops)`);
    return failed ? 1 : 0;
  } finally {
    clearTimeout(watchdog);
    await cleanup();
    process.removeListener("exit", killChild);
    process.removeListener("SIGINT", onSignal);
    process.removeListener("SIGTERM", onSignal);
  }
}

/**
 * A fresh Node-RED runs its code cold (interpreted, then optimised by V8 as it gets hot), so
 * the first scenario would pay for everyone's compilation. A few MT (and MO) beforehand,
 * not counted anywhere, leave every scenario to measure the same warm process.
 */
async function warmUp(ctx: BenchContext): Promise<string> {
  const count = Math.min(2_000, Math.ceil(ctx.options.messages / 10));
  await ctx.peers.setReceipts("DELIVRD");
  let delivered = 0;
  const unlisten = ctx.peers.listen((batch) => {
    for (const action of batch.actions) if (action === "delivered") delivered++;
  });
  const deadline = Date.now() + 60_000;
  const [mt, mo] = await Promise.all([
    runMtLoad({ url: ctx.sendUrl, authorization: ctx.authorization, channelUuid: ctx.channelUuid, count, connections: ctx.options.connections, deadline }),
    ctx.flow.smppIn ? ctx.peers.generateMo(count, ctx.options.window, deadline) : undefined,
  ]);
  // The warm-up's receipts must land before anything is measured (bounded: 30 s).
  const until = Date.now() + 30_000;
  while (delivered < mt.ok.count && Date.now() < until) await new Promise((r) => setTimeout(r, 50));
  unlisten();
  const moText = mo ? ` and ${mo.latencies.length}/${count} MO` : "";
  return `warm-up before the first scenario, not counted: ${mt.ok.count}/${count} MT${moText}`;
}

function bindsOf(b: { transceiver: number; transmitter: number; receiver: number }): number {
  return b.transceiver + b.transmitter + b.receiver;
}

/** Waits (20 s at most) until the bridge has bound to the SMSC after a deploy. */
async function waitForBind(peers: Peers, bindsBefore: number): Promise<void> {
  const until = Date.now() + 20_000;
  while (Date.now() < until) {
    const { smsc } = await peers.counters();
    if (bindsOf(smsc.binds) > bindsBefore && smsc.openConnections > 0) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the flow did not bind to the SMSC simulator within 20 s");
}

/** Node-RED's error lines, a few of them, so a run with a broken flow says so. */
function nodeRedErrors(text: string): string[] {
  const lines = text.split("\n").filter((l) => /\[error\]|uncaught|Unhandled/i.test(l));
  if (lines.length === 0) return [];
  return [`Node-RED logged ${lines.length} error lines, e.g.: ${lines.slice(0, 3).join(" | ")}`];
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (error: Error) => {
      console.error(`bench: ${error.message}`);
      process.exit(1);
    },
  );
}
