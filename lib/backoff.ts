/**
 * The one back-off for every retry loop: a wait that doubles per attempt up to a cap, with
 * jitter so many clients retrying after one outage do not retry in step, and sleeps that a
 * close can cut short.
 */
export interface BackoffOptions {
  /** Ceiling of the first wait, ms. */
  initialMs: number;
  /** Largest ceiling, ms. */
  maxMs: number;
  /** Share of the ceiling always waited (0..1); the rest is random. Default 0.5; 1 means no jitter. */
  floor?: number;
}

/** The wait before retry number `attempt` (0 = first retry). */
export function backoffDelay(attempt: number, options: BackoffOptions, random: () => number = Math.random): number {
  const ceiling = Math.min(options.maxMs, options.initialMs * 2 ** Math.min(attempt, 30));
  const floor = options.floor ?? 0.5;
  return Math.round(ceiling * (floor + (1 - floor) * random()));
}

/** backoffDelay with its attempt counter: `next()` after each failure, `reset()` after a success. */
export class Backoff {
  private attempt = 0;

  constructor(
    private readonly options: BackoffOptions,
    private readonly random: () => number = Math.random,
  ) {}

  /** Failures since the last reset. */
  get failures(): number {
    return this.attempt;
  }

  next(): number {
    return backoffDelay(this.attempt++, this.options, this.random);
  }

  reset(): void {
    this.attempt = 0;
  }
}

/**
 * Sleeps that `cancel()` ends at once, for a retry loop that must stop when its owner
 * closes: after cancel every sleep, current or later, resolves immediately.
 */
export class Sleeps {
  private readonly waking = new Set<() => void>();
  private cancelled = false;

  /** Resolves after `ms`, or at cancel; true when it slept the whole time. */
  sleep(ms: number): Promise<boolean> {
    if (this.cancelled) return Promise.resolve(false);
    return new Promise<boolean>((resolve) => {
      const end = (full: boolean) => {
        clearTimeout(timer);
        this.waking.delete(wake);
        resolve(full);
      };
      const wake = () => end(false);
      const timer = setTimeout(() => end(true), ms);
      this.waking.add(wake);
    });
  }

  cancel(): void {
    this.cancelled = true;
    for (const wake of [...this.waking]) wake();
  }
}

/** What a session's reconnect back-off is configured with. */
export interface ReconnectOptions {
  reconnectMinMs: number;
  reconnectMaxMs: number;
  random: () => number;
}

/**
 * Reconnect back-off between `reconnectMinMs` and `reconnectMaxMs` (1 s to 60 s by default):
 * the first wait after a session that was up is drawn from [min, 2·min], and each
 * consecutive failure doubles it, up to [max/2, max]. Jitter keeps many sessions that lost
 * one SMSC from retrying in step. Every SMSC session (SMPP, UCP, CIMD2) waits by this rule.
 */
export function reconnectDelay(failures: number, o: ReconnectOptions): number {
  const delay = backoffDelay(Math.max(0, failures - 1), { initialMs: 2 * o.reconnectMinMs, maxMs: o.reconnectMaxMs, floor: 0.5 }, o.random);
  return Math.min(o.reconnectMaxMs, Math.max(o.reconnectMinMs, delay));
}
