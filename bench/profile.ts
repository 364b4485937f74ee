/**
 * Summarises a V8 CPU profile (from `--cpu-prof DIR`): self time by function and by package,
 * so the hot spots of the bridge can be read without opening DevTools.
 *
 *   node dist/bench/profile.js DIR/CPU....cpuprofile [top N]
 */
import fs from "node:fs";

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
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

export function summarise(profile: CpuProfile, top = 25): string {
  // Self time per node: the time deltas of the samples that landed in it.
  const self = new Map<number, number>();
  for (let i = 0; i < profile.samples.length; i++) {
    self.set(profile.samples[i], (self.get(profile.samples[i]) ?? 0) + (profile.timeDeltas[i] ?? 0));
  }
  // Shares are of busy time: idle samples (waiting in the event loop) are left out.
  const idle = profile.nodes.filter((n) => n.callFrame.functionName === "(idle)").reduce((a, n) => a + (self.get(n.id) ?? 0), 0);
  const all = [...self.values()].reduce((a, b) => a + b, 0);
  const total = all - idle;
  const byFunction = new Map<string, number>();
  const byOrigin = new Map<string, number>();
  for (const node of profile.nodes) {
    const us = self.get(node.id) ?? 0;
    if (!us || node.callFrame.functionName === "(idle)") continue;
    const f = node.callFrame;
    const where = origin(f.url);
    const key = `${f.functionName || "(anonymous)"}  ${where}${f.url ? `:${f.lineNumber + 1}` : ""}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
    byOrigin.set(where, (byOrigin.get(where) ?? 0) + us);
  }
  // Inclusive time of our own functions: each sample goes to the innermost frame of this
  // package on its stack, which shows who calls the expensive library code.
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const nodesById = new Map(profile.nodes.map((n) => [n.id, n]));
  const byOurs = new Map<string, number>();
  for (const [id, us] of self) {
    if (nodesById.get(id)!.callFrame.functionName === "(idle)") continue;
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const f = nodesById.get(at)!.callFrame;
      const where = origin(f.url);
      if (!where.startsWith("ours: ")) continue;
      const key = `${f.functionName || "(anonymous)"}  ${where}:${f.lineNumber + 1}`;
      byOurs.set(key, (byOurs.get(key) ?? 0) + us);
      break;
    }
  }
  const pct = (us: number) => `${((us / total) * 100).toFixed(1).padStart(5)} %`;
  const list = (m: Map<string, number>) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([k, us]) => `  ${pct(us)}  ${k}`);
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

if (require.main === module) {
  const [file, n] = process.argv.slice(2);
  if (!file) {
    console.error("usage: node dist/bench/profile.js FILE.cpuprofile [top N]");
    process.exit(1);
  }
  console.log(summarise(JSON.parse(fs.readFileSync(file, "utf8")) as CpuProfile, Number(n) || 25));
}
