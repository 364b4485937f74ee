/**
 * Measurement helpers shared by the load generators and the report: a clock that agrees
 * across worker threads, latency samples, percentiles and steady-state rates.
 */
import { performance } from "node:perf_hooks";

/**
 * Epoch milliseconds with sub-millisecond resolution. `performance.timeOrigin` is per thread,
 * so adding it makes times taken in the peers worker comparable with the main thread's.
 */
export function now(): number {
  return performance.timeOrigin + performance.now();
}

/** One message's latency and the moment it completed, kept in preallocated arrays. */
export class Samples {
  private latencies: Float64Array;
  private completions: Float64Array;
  private size = 0;

  constructor(capacity = 1024) {
    this.latencies = new Float64Array(Math.max(16, capacity));
    this.completions = new Float64Array(Math.max(16, capacity));
  }

  get count(): number {
    return this.size;
  }

  add(latencyMs: number, completedAt: number): void {
    if (this.size === this.latencies.length) {
      this.latencies = grow(this.latencies);
      this.completions = grow(this.completions);
    }
    this.latencies[this.size] = latencyMs;
    this.completions[this.size] = completedAt;
    this.size++;
  }

  /** Adds samples measured elsewhere (the peers worker sends them as arrays). */
  addAll(latencies: ArrayLike<number>, completions: ArrayLike<number>): void {
    for (let i = 0; i < latencies.length; i++) this.add(latencies[i], completions[i]);
  }

  latencySummary(): LatencySummary {
    return summarize(this.latencies.subarray(0, this.size));
  }

  /** Completion times, sorted. */
  completionTimes(): Float64Array {
    return this.completions.slice(0, this.size).sort();
  }
}

function grow(a: Float64Array): Float64Array {
  const b = new Float64Array(a.length * 2);
  b.set(a);
  return b;
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Nearest-rank percentiles in milliseconds, rounded to 0.01 ms; zeros for no samples. */
export function summarize(latencies: Float64Array): LatencySummary {
  if (latencies.length === 0) return { p50: 0, p90: 0, p99: 0, max: 0 };
  const sorted = latencies.slice().sort();
  const rank = (p: number) => sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
  const round = (x: number) => Math.round(x * 100) / 100;
  return { p50: round(rank(50)), p90: round(rank(90)), p99: round(rank(99)), max: round(sorted[sorted.length - 1]) };
}

export interface Rates {
  /** Messages/s between the 10th and the 90th percentile of completions: ramp-up and drain left out. */
  steady: number;
  /** Messages/s from the first send to the last completion. */
  overall: number;
}

/** Rates from sorted completion times and the moment the first message was sent. */
export function rates(completions: Float64Array, startedAt: number): Rates {
  const n = completions.length;
  if (n === 0) return { steady: 0, overall: 0 };
  const overallSpan = (completions[n - 1] - startedAt) / 1000;
  const overall = overallSpan > 0 ? n / overallSpan : 0;
  const lo = Math.floor(n * 0.1);
  const hi = Math.ceil(n * 0.9) - 1;
  const span = (completions[hi] - completions[lo]) / 1000;
  // Too few samples for a window (or all at once): the overall figure is the honest one.
  const steady = hi > lo && span > 0 ? (hi - lo) / span : overall;
  return { steady: Math.round(steady), overall: Math.round(overall) };
}

/** Counts of errors by kind ("http 503", "timeout", ...). */
export type ErrorCounts = Record<string, number>;

export function countError(errors: ErrorCounts, kind: string, n = 1): void {
  errors[kind] = (errors[kind] ?? 0) + n;
}

export function totalErrors(errors: ErrorCounts): number {
  return Object.values(errors).reduce((a, b) => a + b, 0);
}
