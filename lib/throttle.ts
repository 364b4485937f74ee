/**
 * Token bucket for the per-bind throughput cap (Kannel's `throughput`, a float in msg/s;
 * smpp-and-gateways.md §3.1). Tokens refill continuously at `rate` per second up to
 * `burst`; each submit takes one.
 *
 * Why a burst above 1 by default: the pump wakes up on a timer, and on a busy machine timers
 * fire late. With a bucket of 1 every late wake-up would lose throughput for good; a small
 * bucket (a tenth of a second's worth) absorbs that lateness while still bounding any
 * one-second window to at most `rate + burst` submits.
 */
export interface TokenBucketOptions {
  /** Messages per second; 0 or Infinity means no cap. */
  rate: number;
  /** Bucket size; defaults to max(1, ceil(rate / 10)). */
  burst?: number;
  /** Clock in ms, for tests. */
  now?: () => number;
}

export class TokenBucket {
  readonly rate: number;
  readonly burst: number;
  private tokens: number;
  private last: number;
  private readonly now: () => number;

  constructor(options: TokenBucketOptions) {
    const rate = options.rate;
    if (!(rate >= 0)) throw new RangeError(`throughput must be a number >= 0, got ${String(rate)}`);
    this.rate = rate;
    this.burst = Math.max(1, options.burst ?? Math.ceil(rate / 10));
    this.now = options.now ?? Date.now;
    this.tokens = this.burst;
    this.last = this.now();
  }

  get unlimited(): boolean {
    return this.rate === 0 || this.rate === Infinity;
  }

  private refill(): void {
    const now = this.now();
    const elapsed = Math.max(0, now - this.last);
    this.last = now;
    this.tokens = Math.min(this.burst, this.tokens + (elapsed * this.rate) / 1000);
  }

  /** Takes one token if there is one. */
  tryTake(): boolean {
    if (this.unlimited) return true;
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds until the next token is available (0 if one is available now). */
  waitMs(): number {
    if (this.unlimited) return 0;
    this.refill();
    if (this.tokens >= 1) return 0;
    return Math.ceil(((1 - this.tokens) * 1000) / this.rate);
  }
}
