/**
 * Exponential back-off with "full jitter": each wait is a random share of a ceiling that
 * doubles per attempt, so many clients retrying after one outage do not retry in step.
 */
export interface BackoffOptions {
  /** Ceiling of the first wait, ms. */
  initialMs: number;
  /** Largest ceiling, ms. */
  maxMs: number;
  /** Share of the ceiling always waited (0..1); the rest is random. Default 0.5. */
  floor?: number;
}

/** The wait before retry number `attempt` (0 = first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  const floor = options.floor ?? 0.5;
  return Math.round(ceiling * (floor + (1 - floor) * random()));
}
