/**
 * What the Node-RED process costs, read from Linux's /proc: CPU time (utime + stime) and
 * resident memory (VmRSS now, VmHWM the peak). Elsewhere the readers return undefined and
 * the report says "n/a" rather than inventing a figure.
 */
import { execFileSync } from "node:child_process";
import fs from "node:fs";

let ticksPerSecond: number | undefined;

/** USER_HZ: the unit of utime and stime in /proc/<pid>/stat (almost always 100). */
function clockTicks(): number {
  if (ticksPerSecond === undefined) {
    try {
      ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      ticksPerSecond = 100;
    }
  }
  return ticksPerSecond;
}

/** CPU seconds the process has used so far (user + system), or undefined. */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    // The command name (field 2) may contain spaces and parentheses: count from the last ')'.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const utime = Number(fields[11]); // field 14 of the whole line
    const stime = Number(fields[12]); // field 15
    return (utime + stime) / clockTicks();
  } catch {
    return undefined;
  }
}

/** A `Vm*` line of /proc/<pid>/status in MB, or undefined. */
/** Read and write system calls the process made so far (/proc/<pid>/io: syscr, syscw; every thread counted). */
export function syscalls(pid: number): { reads: number; writes: number } | undefined {
  try {
    const io = fs.readFileSync(`/proc/${pid}/io`, "utf8");
    const field = (name: string) => Number(new RegExp(`^${name}: (\\d+)$`, "m").exec(io)?.[1]);
    const reads = field("syscr");
    const writes = field("syscw");
    return Number.isFinite(reads) && Number.isFinite(writes) ? { reads, writes } : undefined;
  } catch {
    return undefined;
  }
}

export function vmMb(pid: number, field: "VmRSS" | "VmHWM" | "RssAnon" | "RssFile"): number | undefined {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status);
    return match ? Number(match[1]) / 1024 : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Resets VmHWM to the current RSS (writing 5 to clear_refs, Linux 4.0+), so that each
 * scenario gets its own peak. Returns false where that is not allowed; sampling still works.
 */
export function resetPeakRss(pid: number): boolean {
  try {
    fs.writeFileSync(`/proc/${pid}/clear_refs`, "5");
    return true;
  } catch {
    return false;
  }
}

/**
 * One RSS sample. Anonymous memory is the JavaScript heap and native allocations (where a leak
 * shows); file-backed memory is mostly the embedded store's memory-mapped LMDB pages.
 */
export interface RssPoint {
  atS: number;
  rssMb: number;
  anonMb?: number;
  fileMb?: number;
  messages: number;
}

export interface ProcessUsage {
  cpuSeconds?: number;
  peakRssMb?: number;
  timeline: RssPoint[];
}

/**
 * Watches a process during one scenario: CPU used between start and stop, and the peak RSS
 * (the larger of VmHWM after a reset and VmRSS sampled every 100 ms, in case the reset is
 * not allowed).
 */
export class ProcessWatch {
  private readonly cpuAtStart?: number;
  private readonly startedAt = Date.now();
  private readonly hwmReset: boolean;
  private peakSampled = 0;
  private readonly timeline: RssPoint[] = [];
  private lastTimeline = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly pid: number,
    /** How often to keep an RSS point for the timeline (the soak report prints them). */
    private readonly timelineEveryMs: number,
    private readonly progress: () => number,
    private readonly onPoint?: (point: RssPoint) => void,
  ) {
    this.hwmReset = resetPeakRss(pid);
    this.cpuAtStart = cpuSeconds(pid);
    this.timer = setInterval(() => this.sample(), 100);
    this.timer.unref();
  }

  private sample(): void {
    const rss = vmMb(this.pid, "VmRSS");
    if (rss === undefined) return;
    this.peakSampled = Math.max(this.peakSampled, rss);
    const t = Date.now();
    if (t - this.lastTimeline >= this.timelineEveryMs) {
      this.lastTimeline = t;
      const mb = (x: number | undefined) => (x === undefined ? undefined : Math.round(x));
      const point: RssPoint = {
        atS: Math.round((t - this.startedAt) / 100) / 10,
        rssMb: Math.round(rss),
        anonMb: mb(vmMb(this.pid, "RssAnon")),
        fileMb: mb(vmMb(this.pid, "RssFile")),
        messages: this.progress(),
      };
      this.timeline.push(point);
      this.onPoint?.(point);
    }
  }

  stop(): ProcessUsage {
    clearInterval(this.timer);
    this.sample();
    const cpuNow = cpuSeconds(this.pid);
    const hwm = this.hwmReset ? vmMb(this.pid, "VmHWM") : undefined;
    const peak = Math.max(hwm ?? 0, this.peakSampled);
    return {
      cpuSeconds: cpuNow !== undefined && this.cpuAtStart !== undefined ? cpuNow - this.cpuAtStart : undefined,
      peakRssMb: peak > 0 ? Math.round(peak * 10) / 10 : undefined,
      timeline: this.timeline,
    };
  }
}
