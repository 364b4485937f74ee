/**
 * Drains a DurableQueue into RapidPro: hands each item to `deliver`, acks it only when
 * `deliver` says it was accepted, and retries the rest with a growing delay.
 *
 * Order per key holds because a key's next item is not looked at while its head is being
 * delivered or waiting to retry; other keys go on meanwhile, so one broken message does not
 * hold up the rest.
 */
import { backoffDelay } from "../backoff";
import { describeError } from "./checks";
import type { DurableQueue, QueueItem } from "./queue";

/** What became of one delivery attempt. */
export type DeliveryOutcome =
  /** RapidPro accepted it (2xx): ack. */
  | "done"
  /** Worth another try later (network error, 5xx, 429). */
  | "retry"
  /** RapidPro will never take it (4xx): ack, and tell `onError`. */
  | "drop";

export interface ConsumerOptions {
  /** Items (of different keys) delivered at once. */
  concurrency?: number;
  /** First retry delay; doubles per failed attempt of the same item up to `maxRetryDelayMs`. */
  retryDelayMs?: number;
  maxRetryDelayMs?: number;
  /** Fallback look at the queue when nobody called `notify`. */
  pollMs?: number;
  /** Told about dropped items and failures nobody else would hear of. Must not throw. */
  onError?: (err: Error, item?: QueueItem<unknown>) => void;
}

export class QueueConsumer<T> {
  private readonly concurrency: number;
  private readonly retryDelayMs: number;
  private readonly maxRetryDelayMs: number;
  private readonly pollMs: number;
  private readonly onError: (err: Error, item?: QueueItem<unknown>) => void;
  /** Keys whose head is being delivered. */
  private readonly busy = new Set<string>();
  /** Keys waiting to retry: key -> { item id, failed attempts, due time }. */
  private readonly backoff = new Map<string, { id: string; attempts: number; due: number }>();
  private readonly running = new Set<Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<void> | undefined;
  private pumpAgain = false;
  private stopped = true;

  constructor(
    private readonly queue: DurableQueue<T>,
    private readonly deliver: (item: QueueItem<T>) => Promise<DeliveryOutcome>,
    options: ConsumerOptions = {},
  ) {
    this.concurrency = options.concurrency ?? 4;
    this.retryDelayMs = options.retryDelayMs ?? 1_000;
    this.maxRetryDelayMs = options.maxRetryDelayMs ?? 60_000;
    this.pollMs = options.pollMs ?? 1_000;
    const report = options.onError;
    // A throwing listener must not turn into an unhandled rejection of a delivery.
    this.onError = (err, item) => {
      try {
        report?.(err, item);
      } catch {
        // nothing sensible left to tell
      }
    };
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1) throw new Error("queue consumer: concurrency must be a positive integer");
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.notify();
  }

  /** Looks at the queue now; call it after a push so the item goes out without waiting for the poll. */
  notify(): void {
    if (this.stopped) return;
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = this.pump().finally(() => {
      this.pumping = undefined;
      this.schedule();
    });
  }

  /** Stops taking items and waits for deliveries under way; what is not acked stays queued. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.pumping;
    while (this.running.size > 0) await Promise.allSettled([...this.running]);
  }

  private async pump(): Promise<void> {
    try {
      do {
        this.pumpAgain = false;
        await this.fill();
      } while (this.pumpAgain && !this.stopped);
    } catch (err) {
      if (!this.stopped) this.onError(new Error(`queue consumer: reading the queue failed, will look again: ${describeError(err)}`));
    }
  }

  private async fill(): Promise<void> {
    const free = this.concurrency - this.busy.size;
    if (free <= 0 || this.stopped) return;
    const now = Date.now();
    const skip = new Set(this.busy);
    for (const [key, wait] of this.backoff) if (wait.due > now) skip.add(key);
    const items = await this.queue.peek(free, skip);
    for (const item of items) {
      if (this.stopped) return;
      this.busy.add(item.key);
      const run = this.attempt(item).finally(() => {
        this.busy.delete(item.key);
        this.running.delete(run);
        this.notify();
      });
      this.running.add(run);
    }
  }

  private async attempt(item: QueueItem<T>): Promise<void> {
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.deliver(item);
    } catch (err) {
      this.onError(new Error(`queue consumer: delivery of item ${item.id} failed, will retry: ${describeError(err)}`), item);
      outcome = "retry";
    }
    if (outcome === "retry") {
      this.retryLater(item);
      return;
    }
    if (outcome === "drop") this.onError(new Error(`queue consumer: item ${item.id} (key ${item.key}) was refused for good and is dropped`), item);
    try {
      await this.queue.ack(item.id);
      this.backoff.delete(item.key);
    } catch (err) {
      // Not acked means delivered again later: a duplicate, never a loss.
      this.onError(new Error(`queue consumer: ack of item ${item.id} failed: ${describeError(err)}`), item);
      this.retryLater(item);
    }
  }

  private retryLater(item: QueueItem<T>): void {
    const previous = this.backoff.get(item.key);
    const attempts = previous && previous.id === item.id ? previous.attempts + 1 : 1;
    // Doubling without jitter: one consumer per queue, nobody to fall into step with.
    const delay = backoffDelay(attempts - 1, { initialMs: this.retryDelayMs, maxMs: this.maxRetryDelayMs, floor: 1 });
    this.backoff.set(item.key, { id: item.id, attempts, due: Date.now() + delay });
  }

  private schedule(): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    const now = Date.now();
    // Retries already due wait for a free slot (a finishing delivery calls notify), so only
    // future ones shorten the wait; that keeps a full consumer from spinning.
    let wait = this.pollMs;
    for (const { due } of this.backoff.values()) if (due > now) wait = Math.min(wait, due - now);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.notify();
    }, wait);
    this.timer.unref();
  }
}
