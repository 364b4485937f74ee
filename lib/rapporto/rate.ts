/**
 * A send-rate limit shared by everything that sends through one account. Requests are given
 * evenly spaced start slots (1/rate apart), which keeps any one-second window at or under the
 * rate however the provider counts. A throttling reply pauses every sender, not only the one
 * that got it, since the provider counts the account as a whole.
 */

export class RateLimitError extends Error {}

const SLACK = 1.01;

interface Waiter {
  deadline: number;
  resolve: () => void;
  reject: (err: Error) => void;
}

export class RateLimiter {
  private readonly intervalMs: number;
  private nextSlot = 0;
  private pausedUntil = 0;
  private readonly queue: Waiter[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    ratePerSecond: number,
    private readonly maxWaiting = 10_000,
    private readonly now: () => number = Date.now,
  ) {
    if (!(ratePerSecond > 0) || !Number.isFinite(ratePerSecond)) throw new Error(`rate must be a positive number of messages per second, not ${ratePerSecond}`);
    // 1 % slack: starts exactly 1/rate apart reach the provider with some jitter, and two
    // arriving a millisecond closer already make eleven in its one-second window.
    this.intervalMs = (1000 / ratePerSecond) * SLACK;
  }

  /** Messages waiting for a slot. */
  get queued(): number {
    return this.queue.length;
  }

  /**
   * Resolves at this caller's slot, first come first served. Rejects, without taking a slot,
   * when the slot cannot come before `deadline` (epoch ms) or too many are already waiting,
   * so a caller can still report "throttled" in time.
   */
  acquire(deadline = Infinity): Promise<void> {
    if (this.closed) return Promise.reject(new RateLimitError("rate limiter is closed"));
    if (this.queue.length >= this.maxWaiting) return Promise.reject(new RateLimitError(`more than ${this.maxWaiting} messages waiting for the rate limit`));
    // Earliest possible slot if everyone ahead goes at the current pace.
    const earliest = Math.max(this.now(), this.nextSlot, this.pausedUntil) + this.queue.length * this.intervalMs;
    if (earliest > deadline) return Promise.reject(new RateLimitError(`no send slot within the time left (${this.queue.length} waiting)`));
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ deadline, resolve, reject });
      this.pump();
    });
  }

  /** Time between two starts. */
  get interval(): number {
    return this.intervalMs;
  }

  /** A throttling reply: nobody starts before `ms` from now, including those already waiting. */
  pause(ms: number = this.intervalMs): void {
    this.pausedUntil = Math.max(this.pausedUntil, this.now() + ms);
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    this.pump();
  }

  /** Rejects everyone still waiting. */
  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    for (const waiter of this.queue.splice(0)) waiter.reject(new RateLimitError("rate limiter is closed"));
  }

  private pump(): void {
    if (this.timer || this.closed) return;
    for (;;) {
      const waiter = this.queue[0];
      if (!waiter) return;
      const now = this.now();
      const slot = Math.max(now, this.nextSlot, this.pausedUntil);
      if (slot > waiter.deadline) {
        this.queue.shift();
        waiter.reject(new RateLimitError("no send slot within the time left"));
        continue;
      }
      if (slot > now) {
        this.timer = setTimeout(() => {
          this.timer = undefined;
          this.pump();
        }, slot - now);
        return;
      }
      this.queue.shift();
      // Slots follow a fixed grid, so a timer that fires late does not slow every later
      // message down; after an idle spell the grid starts again from now.
      const planned = Math.max(this.nextSlot, this.pausedUntil);
      this.nextSlot = (now - planned < this.intervalMs ? planned : now) + this.intervalMs;
      waiter.resolve();
    }
  }
}
