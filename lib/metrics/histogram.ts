/**
 * A latency histogram kept as plain numbers, so that an observation on the hot path is a
 * short loop over a dozen bucket bounds and no label lookup; lib/metrics/registry.ts turns it
 * into Prometheus text (cumulative `_bucket{le}`, `_sum`, `_count`) only when scraped.
 */

/** Seconds: 1 ms to 30 s, covering a local SMSC's answer up to a courier call near its timeout. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class LatencyHistogram {
  /** counts[i]: observations ≤ bounds[i] and > bounds[i-1]; the last slot is +Inf. */
  readonly counts: number[];
  sum = 0;
  count = 0;

  constructor(readonly bounds: readonly number[] = LATENCY_BUCKETS) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(seconds: number): void {
    if (!(seconds >= 0)) return;
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && seconds > bounds[i]) i++;
    this.counts[i]++;
    this.sum += seconds;
    this.count++;
  }

  /** Cumulative counts per bound, +Inf last, as Prometheus writes them. */
  cumulative(): number[] {
    let running = 0;
    return this.counts.map((n) => (running += n));
  }
}
