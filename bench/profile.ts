/**
 * Summarises a V8 CPU profile (from `--cpu-prof DIR`): self time by function and by package,
 * so the hot spots of the bridge can be read without opening DevTools; or a sampling heap
 * profile (from `--alloc-prof DIR`, bench/alloc-preload.ts): bytes allocated, the same ways.
 *
 *   node dist/bench/profile.js DIR/CPU....cpuprofile [top N]
 *   node dist/bench/profile.js DIR/<scenario>.heapprofile [top N] [--messages N]
 */
import fs from "node:fs";
import { parseArgs } from "node:util";

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

/** Where a script comes from: a package name, "node:<internal>", or the file name. */
export function origin(url: string): string {
  if (!url) return "(native / V8)";
  if (url.startsWith("node:")) return url;
  const modules = url.lastIndexOf("node_modules/");
  if (modules >= 0) {
    const rest = url.slice(modules + "node_modules/".length).split("/");
    const name = rest[0].startsWith("@") ? `${rest[0]}/${rest[1]}` : rest[0];
    if (name === "node-red-contrib-rapidpro-sms") return `ours: ${rest.slice(rest.indexOf("dist") + 1).join("/")}`;
    return name;
  }
  return url.replace(/^file:\/\//, "");
}

/** Self cost (µs or bytes) attributed by function, by package / file, and to our innermost function on the stack. */
interface Attribution {
  byFunction: Map<string, number>;
  byOrigin: Map<string, number>;
  byOurs: Map<string, number>;
}

function frameKey(f: CallFrame): string {
  return `${f.functionName || "(anonymous)"}  ${origin(f.url)}${f.url ? `:${f.lineNumber + 1}` : ""}`;
}

function add(m: Map<string, number>, key: string, n: number): void {
  m.set(key, (m.get(key) ?? 0) + n);
}

function attribute(nodes: ProfileNode[], self: Map<number, number>): Attribution {
  const out: Attribution = { byFunction: new Map(), byOrigin: new Map(), byOurs: new Map() };
  const parent = new Map<number, number>();
  for (const node of nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nodesById = new Map(nodes.map((n) => [n.id, n]));
  for (const [id, n] of self) {
    if (!n) continue;
    const f = nodesById.get(id)!.callFrame;
    add(out.byFunction, frameKey(f), n);
    add(out.byOrigin, origin(f.url), n);
    // The innermost frame of this package on the stack: who calls the expensive library code.
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const g = nodesById.get(at)!.callFrame;
      if (!origin(g.url).startsWith("ours: ")) continue;
      add(out.byOurs, frameKey(g), n);
      break;
    }
  }
  return out;
}

function top(m: Map<string, number>, n: number): Array<[string, number]> {
  return [...m.entries()].sort((a, b) => b[1] - a[1]).slice(0, n);
}

const pct = (part: number, whole: number) => `${((part / whole) * 100).toFixed(1).padStart(5)} %`;

export function summarise(profile: CpuProfile, n = 25): string {
  // Self time per node: the time deltas of the samples that landed in it.
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  // Shares are of busy time: idle samples (waiting in the event loop) are left out.
  let idle = 0;
  for (const node of profile.nodes) {
    if (node.callFrame.functionName !== "(idle)") continue;
    idle += self.get(node.id) ?? 0;
    self.delete(node.id);
  }
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const { byFunction, byOrigin, byOurs } = attribute(profile.nodes, self);
  const list = (m: Map<string, number>) => top(m, n).map(([k, us]) => `  ${pct(us, total)}  ${k}`);
  return [
    `profile: ${(total / 1e6).toFixed(1)} s busy, ${(idle / 1e6).toFixed(1)} s idle; shares below are of busy time`,
    "self time by package / file:",
    ...list(byOrigin),
    "self time by function:",
    ...list(byFunction),
    "time under our innermost function on the stack (includes the libraries it calls):",
    ...list(byOurs),
  ].join("\n");
}

/** V8's sampling heap profile (`HeapProfiler.stopSampling`, a `.heapprofile`): a call tree with bytes. */
export interface HeapProfile {
  head: HeapNode;
  samples?: Array<{ size: number; nodeId: number; ordinal: number }>;
}

interface HeapNode {
  id: number;
  callFrame: CallFrame;
  /** Bytes allocated in this frame itself, as V8 estimates them from the samples. */
  selfSize: number;
  children: HeapNode[];
}

export interface HeapFacts {
  /** Messages the profiled window moved: the summary then gives KB per message. */
  messages?: number;
  /** KB/msg that --trace-gc-nvp counted in the same window, printed beside the profile's own total. */
  traceGcKbPerMessage?: number;
  samplingIntervalBytes?: number;
}

/** Self allocated bytes by package / file and by function, per message when the count is known. */
export function summariseHeap(profile: HeapProfile, facts: HeapFacts = {}, n = 25): string {
  const nodes: ProfileNode[] = [];
  const self = new Map<number, number>();
  const walk = (node: HeapNode) => {
    nodes.push({ id: node.id, callFrame: node.callFrame, children: node.children.map((c) => c.id) });
    self.set(node.id, node.selfSize);
    node.children.forEach(walk);
  };
  walk(profile.head);
  const total = [...self.values()].reduce((a, b) => a + b, 0);
  const { byFunction, byOrigin, byOurs } = attribute(nodes, self);
  const { messages } = facts;
  const perMessage = (bytes: number) => (messages ? (bytes / messages / 1024).toFixed(2).padStart(8) : `${(bytes / 2 ** 20).toFixed(1).padStart(8)}`);
  const list = (m: Map<string, number>) => top(m, n).map(([k, bytes]) => `  ${perMessage(bytes)}  ${pct(bytes, total)}  ${k}`);
  const unit = messages ? "  KB/msg    share" : "      MB    share";
  const header = [
    `profile: ${(total / 2 ** 20).toFixed(1)} MB allocated` +
      (facts.samplingIntervalBytes ? ` (sampled every ${facts.samplingIntervalBytes / 1024} KB on average)` : "") +
      (messages ? ` over ${messages} messages: ${(total / messages / 1024).toFixed(1)} KB/msg` : "; give --messages N for KB per message"),
  ];
  if (facts.traceGcKbPerMessage !== undefined) header.push(`--trace-gc-nvp counted ${facts.traceGcKbPerMessage} KB/msg in the same window`);
  return [
    ...header,
    `self allocation by package / file:\n${unit}`,
    ...list(byOrigin),
    `self allocation by function:\n${unit}`,
    ...list(byFunction),
    `allocation under our innermost function on the stack (includes the libraries it calls):\n${unit}`,
    ...list(byOurs),
  ].join("\n");
}

/** A profile's facts from the `<scenario>.json` the bench writes beside it, if there is one. */
function factsBeside(file: string): HeapFacts {
  const beside = file.replace(/\.heapprofile$/, ".json");
  if (beside === file || !fs.existsSync(beside)) return {};
  return JSON.parse(fs.readFileSync(beside, "utf8")) as HeapFacts;
}

if (require.main === module) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { messages: { type: "string" } } });
  const [file, n] = positionals;
  if (!file) {
    console.error("usage: node dist/bench/profile.js FILE.cpuprofile [top N]\n       node dist/bench/profile.js FILE.heapprofile [top N] [--messages N]");
    process.exit(1);
  }
  const profile = JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile | HeapProfile;
  if ("head" in profile) {
    const facts = factsBeside(file);
    if (values.messages !== undefined) facts.messages = Number(values.messages);
    console.log(summariseHeap(profile, facts, Number(n) || 25));
  } else {
    console.log(summarise(profile, Number(n) || 25));
  }
}
