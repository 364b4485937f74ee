/**
 * The scenarios. Each one drives the running bridge (or, for `ceiling` and `session`, the
 * simulator directly), waits until every message it sent is accounted for or its deadline
 * passes, and returns rows for the report. Node-RED's CPU and memory are watched around it.
 *
 *   ceiling  submit_sm round trips, smpp package client -> SMSC simulator (no bridge)
 *   session  the same through lib/smpp/session.ts (no Node-RED)
 *   mt       courier request -> rapidpro-in -> submit_sm -> submit_sm_resp -> reply (receipts off)
 *   latency  mt, open loop at a fixed offered rate (1,000/s): the p99 target
 *   dlr      mt with a receipt for each; counted when courier gets the "delivered" call
 *   mo       deliver_sm -> smpp-in -> courier /receive -> deliver_sm_resp
 *   mixed    dlr and mo at once
 *   cap      mt against a bind capped at `capRate`/s, submits counted at the SMSC over 30 s
 */
import type { AllocProfiler } from "./alloc-profile";
import { runCeiling, runSessionCeiling, type SubmitLoadResult } from "./ceiling";
import type { Flow, FlowNode } from "./flow";
import { withBindSettings } from "./flow";
import { runMtLoad, type MtLoadResult } from "./load";
import type { CallBatch, Peers, PeersCounters } from "./peers";
import { ProcessWatch, syscalls, type ProcessUsage, type RssPoint } from "./proc";
import { countError, now, rates, Samples, totalErrors, type ErrorCounts, type LatencySummary, type Rates } from "./stats";

export const SCENARIOS = ["ceiling", "session", "mt", "latency", "dlr", "mo", "mixed", "cap"] as const;
export type ScenarioName = (typeof SCENARIOS)[number];
/** What runs without --scenarios: the five and the two that measure its other targets. */
export const DEFAULT_SCENARIOS: ScenarioName[] = ["ceiling", "mt", "latency", "dlr", "mo", "mixed", "cap"];

export interface BenchOptions {
  messages: number;
  connections: number;
  window: number;
  /** Offered rate of the `latency` scenario. */
  latencyRate: number;
  /** Throughput cap set on the bind in the `cap` scenario, and how long it is measured. */
  capRate: number;
  capSeconds: number;
  /** Delay between submit_sm_resp and receipt at the SMSC simulator. */
  receiptDelayMs: number;
  /** How often a scenario keeps an RSS point (the soak report prints them). */
  rssEveryMs: number;
  printRss: boolean;
}

export interface Row {
  scenario: string;
  /** What one counted message is. */
  counts: string;
  /** Messages the scenario meant to move, sent, and counted at the far end. */
  messages: number;
  sent: number;
  counted: number;
  /** sent - counted - errors: messages neither counted nor failed by the deadline. */
  missing: number;
  errors: ErrorCounts;
  durationS: number;
  rate: Rates;
  latencyMs: LatencySummary;
  /** Node-RED's user+system CPU seconds per 1,000 messages of the scenario (n/a for ceiling/session). */
  cpuSecondsPer1k?: number;
  peakRssMb?: number;
  /** The benchmark process's own CPU per 1,000 messages, so a saturated harness shows. */
  harnessCpuPer1k?: number;
  /** KB Node-RED's JavaScript heap allocated per message (V8's --trace-gc-nvp 'allocated', summed). */
  allocatedKbPerMessage?: number;
  /** Node-RED's read and write system calls per message (/proc/<pid>/io), e.g. socket writes batched or not. */
  syscallsPerMessage?: { reads: number; writes: number };
  ratioToCeiling?: number;
  notes: string[];
  rssTimeline?: RssPoint[];
  /** Scenario-specific figures (cap: the rate measured at the SMSC). */
  extra?: Record<string, number | string>;
}

export interface BenchContext {
  options: BenchOptions;
  flow: Flow;
  peers: Peers;
  /** Node-RED's pid; undefined for scenarios that do not use it. */
  pid: number;
  sendUrl: string;
  authorization: string;
  channelUuid: string;
  systemId: string;
  password: string;
  /** Deploys these nodes and waits until the bridge is bound to the SMSC again. */
  deploy(nodes: FlowNode[]): Promise<void>;
  log(line: string): void;
  /** Everything Node-RED printed so far (its GC lines included); the scenarios read the allocation from it. */
  nodeRedLog(): string;
  /** With --alloc-prof: samples Node-RED's allocations during each watched scenario. */
  allocProfiler?: AllocProfiler;
}

/** Generous (the bridge may be slow), but bounded: a scenario that has not finished by then reports what it has. */
function deadlineFor(messages: number, ratePerS = 250): number {
  return Date.now() + 60_000 + (messages / ratePerS) * 1000;
}

export async function runScenario(name: ScenarioName, ctx: BenchContext): Promise<Row[]> {
  // The SMPP client of `ceiling` and `session` cannot talk to the UCP or CIMD2 simulator.
  if ((name === "ceiling" || name === "session") && ctx.flow.protocol !== "smpp") throw new SkipScenario(`${name}: an SMPP round trip, not measured for ${ctx.flow.protocol === "ucp" ? "UCP/EMI" : "CIMD2"}`);
  switch (name) {
    case "ceiling":
      return [submitRow("ceiling", await runCeiling(submitOptions(ctx)), ctx, "submit_sm round trip (no bridge)")];
    case "session":
      return [submitRow("session", await runSessionCeiling(submitOptions(ctx)), ctx, "submit_sm via lib/smpp session (no Node-RED)")];
    case "mt":
      return watched(ctx, name, (progress) => mt(ctx, progress, "mt"));
    case "latency":
      return watched(ctx, name, (progress) => mt(ctx, progress, "latency", ctx.options.latencyRate));
    case "dlr":
      return watched(ctx, name, (progress) => dlr(ctx, progress));
    case "mo":
      return watched(ctx, name, (progress) => mo(ctx, progress));
    case "mixed":
      return watched(ctx, name, (progress) => mixed(ctx, progress));
    case "cap":
      return watched(ctx, name, (progress) => cap(ctx, progress));
  }
}

function submitOptions(ctx: BenchContext) {
  const count = ctx.options.messages;
  return {
    port: ctx.peers.smscPort,
    systemId: ctx.systemId,
    password: ctx.password,
    count,
    window: ctx.options.window,
    deadline: deadlineFor(count),
  };
}

function submitRow(scenario: string, result: SubmitLoadResult, ctx: BenchContext, counts: string): Row {
  return row(scenario, counts, ctx.options.messages, result.sent, result.ok, result.startedAt, result.errors);
}

function row(scenario: string, counts: string, messages: number, sent: number, ok: Samples, startedAt: number, errors: ErrorCounts): Row {
  const completions = ok.completionTimes();
  const end = completions.length ? completions[completions.length - 1] : now();
  return {
    scenario,
    counts,
    messages,
    sent,
    counted: ok.count,
    missing: Math.max(0, sent - ok.count - totalErrors(errors)),
    errors,
    durationS: Math.round((end - startedAt) / 100) / 10,
    rate: rates(completions, startedAt),
    latencyMs: ok.latencySummary(),
    notes: sent < messages ? [`the deadline stopped it after ${sent} of ${messages} messages`] : [],
  };
}

/** Runs a scenario with Node-RED watched; the rows get its CPU and peak RSS. */
async function watched(ctx: BenchContext, name: ScenarioName, body: (progress: Progress) => Promise<{ rows: Row[]; moved: number }>): Promise<Row[]> {
  const progress: Progress = { count: () => 0 };
  const before = await ctx.peers.counters();
  const harnessBefore = process.cpuUsage();
  const logFrom = ctx.nodeRedLog().length;
  const syscallsBefore = syscalls(ctx.pid);
  await ctx.allocProfiler?.start();
  const watch = new ProcessWatch(ctx.pid, ctx.options.rssEveryMs, () => progress.count(), (point) => {
    if (ctx.options.printRss) {
      ctx.log(`  RSS ${point.rssMb} MB (anon ${point.anonMb ?? "?"}, file ${point.fileMb ?? "?"}) at ${point.atS} s, ${point.messages} messages`);
    }
  });
  let result: { rows: Row[]; moved: number };
  let usage: ProcessUsage;
  let logTo = 0;
  let harness: NodeJS.CpuUsage;
  let syscallsAfter: ReturnType<typeof syscalls>;
  try {
    result = await body(progress);
  } finally {
    usage = watch.stop();
    // The window closes here: the profile's serialisation and file write (a few MB) come after
    // it, and neither its allocation nor its write calls nor the wait for it are counted.
    logTo = ctx.nodeRedLog().length;
    harness = process.cpuUsage(harnessBefore);
    syscallsAfter = syscalls(ctx.pid);
    await ctx.allocProfiler?.stop(name);
  }
  const allocatedBytes = allocatedIn(ctx.nodeRedLog().slice(logFrom, logTo));
  const after = await ctx.peers.counters();
  const refused = after.courierRefused - before.courierRefused;
  const per1k = (seconds: number | undefined) =>
    seconds !== undefined && result.moved > 0 ? Math.round((seconds / (result.moved / 1000)) * 1000) / 1000 : undefined;
  for (const r of result.rows) {
    r.cpuSecondsPer1k = per1k(usage.cpuSeconds);
    r.peakRssMb = usage.peakRssMb;
    r.harnessCpuPer1k = per1k((harness.user + harness.system) / 1e6);
    if (allocatedBytes !== undefined && result.moved > 0) r.allocatedKbPerMessage = Math.round(allocatedBytes / result.moved / 102.4) / 10;
    if (syscallsBefore && syscallsAfter && result.moved > 0) {
      const per = (n: number) => Math.round((n / result.moved) * 100) / 100;
      r.syscallsPerMessage = { reads: per(syscallsAfter.reads - syscallsBefore.reads), writes: per(syscallsAfter.writes - syscallsBefore.writes) };
    }
    r.rssTimeline = usage.timeline;
    if (refused > 0) {
      countError(r.errors, "courier refused a call", refused);
      r.notes.push(`courier refused: ${JSON.stringify(after.courierRefusedSample)}`);
    }
  }
  noteSmsc(result.rows, before, after);
  ctx.allocProfiler?.describe({ scenario: name, messages: result.moved, traceGcKbPerMessage: result.rows[0]?.allocatedKbPerMessage });
  return result.rows;
}

/**
 * Bytes V8 allocated in the collections Node-RED logged with --trace-gc-nvp (each line's 'allocated' is what was
 * allocated since the collection before); undefined when no line was logged. What was allocated since the last
 * collection of a scenario is counted in the next one, a few MB of the GBs a scenario allocates.
 */
export function allocatedIn(log: string): number | undefined {
  let total: number | undefined;
  // Only V8's own lines ("[pid:isolate]   N ms: pause=… allocated=N …"), not a log line that happens to say it.
  for (const m of log.matchAll(/^\[\d+:0x[0-9a-f]+\] +[\d.]+ ms: pause=.* allocated=(\d+) /gm)) total = (total ?? 0) + Number(m[1]);
  return total;
}

/** Messages counted so far, for the RSS timeline; each scenario points it at its live count. */
interface Progress {
  count: () => number;
}

/** Adds what the SMSC saw, so a count that does not match the bridge's replies shows. */
function noteSmsc(rows: Row[], before: PeersCounters, after: PeersCounters): void {
  const accepted = after.smsc.accepted - before.smsc.accepted;
  const receipts = after.smsc.receiptsSent - before.smsc.receiptsSent;
  const mos = after.smsc.mosSent - before.smsc.mosSent;
  for (const r of rows) r.extra = { ...r.extra, smscAccepted: accepted, smscReceiptsSent: receipts, smscMoSent: mos };
}

/** Only scenarios whose path exists in the flow: e.g. the RapidPro-only example has no smpp-in. */
function requireFlow(ctx: BenchContext, what: "smppOut" | "smppIn", scenario: string): void {
  if (!ctx.flow[what]) throw new SkipScenario(`${scenario}: the flow has no ${what === "smppIn" ? "smpp-in" : "smpp-out"}`);
}

export class SkipScenario extends Error {
  override name = "SkipScenario";
}

async function mt(ctx: BenchContext, progress: Progress, scenario: string, rate?: number) {
  await ctx.peers.setReceipts(null);
  const count = rate ? Math.min(ctx.options.messages, rate * 10) : ctx.options.messages;
  const result = await mtLoad(ctx, count, progress, rate);
  const r = mtRow(scenario, count, result);
  if (rate) r.extra = { offeredPerS: rate };
  return { rows: [r], moved: result.ok.count };
}

function mtLoad(ctx: BenchContext, count: number, progress: Progress, rate?: number, onSend?: (uuid: string, t: number) => void) {
  const ok = new Samples(count);
  progress.count = () => ok.count;
  return runMtLoad({
    url: ctx.sendUrl,
    authorization: ctx.authorization,
    channelUuid: ctx.channelUuid,
    count,
    connections: ctx.options.connections,
    rate,
    deadline: deadlineFor(count),
    onSend,
    ok,
  });
}

function mtRow(scenario: string, count: number, result: MtLoadResult): Row {
  return row(scenario, "MT answered 200 by the bridge", count, result.sent, result.ok, result.startedAt, result.errors);
}

/**
 * Matches courier's status calls to the MT that caused them: latency from the MT request to
 * the "delivered" call. Other statuses (sent, failed) are counted by action.
 */
class StatusTracker {
  readonly delivered = new Samples(1024);
  readonly byAction: Record<string, number> = {};
  readonly errors: ErrorCounts = {};
  /** Send time of each MT of this scenario; NaN once its final status came. */
  private readonly sentAt = new Map<string, number>();
  private unmatched = 0;
  private duplicates = 0;

  onSend = (uuid: string, t: number) => {
    this.sentAt.set(uuid, t);
  };

  onCalls = (batch: CallBatch) => {
    for (let i = 0; i < batch.actions.length; i++) {
      const action = batch.actions[i];
      if (action === "receive" || action === "stopped") continue;
      this.byAction[action] = (this.byAction[action] ?? 0) + 1;
      if (action !== "delivered" && action !== "failed") continue;
      const sentAt = this.sentAt.get(batch.ids[i]);
      if (sentAt === undefined) {
        this.unmatched++;
        continue;
      }
      if (Number.isNaN(sentAt)) {
        this.duplicates++; // at-least-once: a receipt re-delivered, or a status re-sent
        continue;
      }
      this.sentAt.set(batch.ids[i], NaN);
      if (action === "failed") countError(this.errors, "status failed");
      else this.delivered.add(batch.times[i] - sentAt, batch.times[i]);
    }
  };

  /** Waits until `expected` final statuses arrived, or the deadline. */
  async settle(expected: () => number, deadline: number): Promise<void> {
    while (this.delivered.count + (this.errors["status failed"] ?? 0) < expected() && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  notes(): string[] {
    const notes = [`status calls by action: ${JSON.stringify(this.byAction)}`];
    if (this.unmatched) notes.push(`${this.unmatched} final status calls for no MT of this scenario (late ones of an earlier scenario)`);
    if (this.duplicates) notes.push(`${this.duplicates} final status calls repeated for an MT already counted`);
    return notes;
  }
}

async function dlrLoad(ctx: BenchContext, count: number, progress: Progress) {
  const tracker = new StatusTracker();
  const unlisten = ctx.peers.listen(tracker.onCalls);
  try {
    const running = mtLoad(ctx, count, progress, undefined, tracker.onSend);
    progress.count = () => tracker.delivered.count; // what this scenario counts is the status call
    const load = await running;
    // Receipts follow their submit_sm_resp at once; give the status calls a bounded moment to land.
    await tracker.settle(() => load.ok.count, Date.now() + 30_000);
    const mtR = mtRow("mt", count, load);
    // An MT refused never gets its receipt: its error belongs to this row too.
    const errors = { ...tracker.errors };
    for (const [kind, n] of Object.entries(load.errors)) countError(errors, `mt ${kind}`, n);
    const dlrR = row("dlr", "'delivered' call at courier for an MT", count, load.sent, tracker.delivered, load.startedAt, errors);
    dlrR.notes.push(...tracker.notes());
    return { mtR, dlrR };
  } finally {
    unlisten();
  }
}

async function dlr(ctx: BenchContext, progress: Progress) {
  await ctx.peers.setReceipts("DELIVRD");
  const count = ctx.options.messages;
  const { mtR, dlrR } = await dlrLoad(ctx, count, progress);
  dlrR.extra = { mtSteadyPerS: mtR.rate.steady, mtP99Ms: mtR.latencyMs.p99 };
  return { rows: [dlrR], moved: dlrR.counted };
}

async function moLoad(ctx: BenchContext, count: number) {
  const receives = { n: 0 };
  const unlisten = ctx.peers.listen((batch) => {
    for (const action of batch.actions) if (action === "receive") receives.n++;
  });
  try {
    const result = await ctx.peers.generateMo(count, ctx.options.window, deadlineFor(count));
    const ok = new Samples(count);
    ok.addAll(result.latencies, result.completions);
    // deliver_sm_resp comes after courier's answer, but its batch of calls may still be on its way.
    const until = Date.now() + 2_000;
    while (receives.n < ok.count && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    const r = row("mo", "deliver_sm answered 0 after courier's /receive", count, result.sent, ok, result.startedAt, result.errors);
    if (receives.n !== ok.count) r.notes.push(`courier received ${receives.n} MO for ${ok.count} deliver_sm answered 0`);
    r.extra = { courierReceived: receives.n };
    return r;
  } finally {
    unlisten();
  }
}

async function mo(ctx: BenchContext, _progress: Progress) {
  requireFlow(ctx, "smppIn", "mo");
  await ctx.peers.setReceipts(null);
  const r = await moLoad(ctx, ctx.options.messages);
  return { rows: [r], moved: r.counted };
}

async function mixed(ctx: BenchContext, progress: Progress) {
  await ctx.peers.setReceipts("DELIVRD");
  const count = ctx.options.messages;
  const moRun = ctx.flow.smppIn ? moLoad(ctx, count) : Promise.resolve(undefined);
  const [{ mtR, dlrR }, moR] = await Promise.all([dlrLoad(ctx, count, progress), moRun]);
  const rows = [mtR, dlrR, ...(moR ? [moR] : [])];
  for (const r of rows) r.scenario = `mixed:${r.scenario}`;
  if (!moR) mtR.notes.push("no mo part: the flow has no smpp-in");
  // One message moved is an MT (its receipt belongs to it) or an MO.
  return { rows, moved: mtR.counted + (moR?.counted ?? 0) };
}

/**
 * A bind capped at `capRate`/s: closed-loop MT (at most 50 waiting in the bind's queue),
 * submits timed at the SMSC. The rate is counted over `capSeconds` after the first second,
 * which leaves out the token bucket's initial burst.
 */
async function cap(ctx: BenchContext, progress: Progress) {
  requireFlow(ctx, "smppOut", "cap");
  const { capRate, capSeconds } = ctx.options;
  const { nodes, notes } = withBindSettings(ctx.flow, { throughput: capRate, window: ctx.options.window });
  if (notes.some((n) => n.includes("throughput"))) throw new SkipScenario(`cap: ${notes.join("; ")}`);
  await ctx.peers.setReceipts(null);
  await ctx.deploy(nodes);
  try {
    await ctx.peers.startSubmitLog();
    const seconds = capSeconds + 2;
    const count = Math.ceil(capRate * seconds * 1.5); // more than the cap lets through: the deadline ends it
    const ok = new Samples(count);
    progress.count = () => ok.count;
    const load = await runMtLoad({
      ok,
      url: ctx.sendUrl,
      authorization: ctx.authorization,
      channelUuid: ctx.channelUuid,
      count,
      connections: Math.min(ctx.options.connections, 50),
      deadline: Date.now() + seconds * 1000,
    });
    const submits = await ctx.peers.takeSubmitLog();
    const r = mtRow("cap", load.sent, load);
    r.messages = load.sent;
    const from = submits.length ? submits[0] + 1000 : 0;
    const inWindow = submits.filter((t) => t >= from && t < from + capSeconds * 1000).length;
    const measured = inWindow / capSeconds;
    r.extra = {
      capPerS: capRate,
      windowS: capSeconds,
      submitsInWindow: inWindow,
      measuredPerS: Math.round(measured * 100) / 100,
      deviationPct: Math.round((measured / capRate - 1) * 10_000) / 100,
    };
    if (submits.length && submits[submits.length - 1] < from + capSeconds * 1000 - 500) {
      r.notes.push("submits stopped before the end of the window: the rate is a lower bound");
    }
    return { rows: [r], moved: load.ok.count };
  } finally {
    await ctx.deploy(ctx.flow.nodes);
  }
}
