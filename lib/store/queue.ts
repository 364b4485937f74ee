/**
 * A durable FIFO queue for MO messages and statuses bound for RapidPro.
 *
 * The bridge acknowledges the aggregator once an item is pushed (DESIGN.md, "Delivery
 * guarantees"), and an item leaves the queue only when `ack` says RapidPro accepted it. So:
 * - `push` resolves only once the item is as durable as the implementation can make it;
 * - items come back oldest first and survive a restart (embedded);
 * - items that share a key (the statuses of one message) are handed out one at a time, in
 *   push order: `peek` shows only the oldest item of each key, so a consumer working on
 *   several keys at once still cannot reorder one key's items.
 */

export interface QueueItem<T> {
  /** Unique within its queue; pass it to `ack`. */
  id: string;
  /** Ordering key: items of one key are delivered in push order. */
  key: string;
  value: T;
  /** Epoch ms when pushed. */
  enqueuedAt: number;
}

export interface DurableQueue<T> {
  /** Appends an item; resolves when it is durable. `value` must survive JSON. */
  push(key: string, value: T): Promise<QueueItem<T>>;
  /**
   * Appends an item unless one with the same `onceId` was pushed within the queue's memory
   * of once-ids (by default `DEFAULT_REMEMBER_MS`); resolves true when it appended, false when
   * the item was already pushed once. The check and the append are one atomic, durable write,
   * so the same event handed over again (a receipt the SMSC delivers again after a crash cut
   * off its acknowledgement) is queued once however often it comes back.
   */
  pushOnce(key: string, value: T, onceId: string): Promise<boolean>;
  /**
   * Up to `limit` items, oldest first, at most one per key (that key's oldest), leaving out
   * keys in `skipKeys` (keys whose head is already being delivered or is waiting to retry).
   */
  peek(limit: number, skipKeys?: ReadonlySet<string>): Promise<QueueItem<T>[]>;
  /** Removes an item once RapidPro accepted it; acking an unknown id is a no-op. */
  ack(id: string): Promise<void>;
  /** Items still waiting. */
  size(): Promise<number>;
  close(): Promise<void>;
}

/** How long a queue remembers the once-ids it saw: as long as the correlation store keeps a message. */
export const DEFAULT_REMEMBER_MS = 72 * 60 * 60 * 1000;

/** Once-ids are compared exactly; an empty or huge one is a caller's mistake. */
export function checkOnceId(onceId: string): void {
  if (typeof onceId !== "string" || onceId === "" || onceId.length > 512) {
    throw new Error("queue pushOnce: onceId must be a non-empty string of at most 512 characters");
  }
}

export function checkRememberMs(rememberMs: number | undefined): void {
  if (rememberMs !== undefined && !(Number.isFinite(rememberMs) && rememberMs > 0)) {
    throw new Error(`queue rememberMs must be a positive number of milliseconds, got ${rememberMs}`);
  }
}

/** Queue names become file and key names, so they are kept plain. */
export function checkQueueName(name: string): void {
  if (typeof name !== "string" || !/^[A-Za-z0-9_-]{1,64}$/.test(name)) {
    throw new Error(`queue name must be 1 to 64 letters, digits, '-' or '_', got ${JSON.stringify(name)}`);
  }
}

/** Checks a push: the key must be a string and the value must come back from JSON unchanged in kind. */
export function checkPush(key: string, value: unknown): void {
  if (typeof key !== "string" || key === "") throw new Error("queue push: key must be a non-empty string");
  if (value === undefined || typeof value === "function" || typeof value === "symbol" || typeof value === "bigint") {
    throw new Error(`queue push: value of type ${typeof value} cannot be stored`);
  }
}

/** The stored form of a queue entry; a value JSON cannot hold (a cycle, say) is refused with the reason. */
export function serialiseEntry(entry: { key: string; value: unknown; enqueuedAt: number }): string {
  try {
    return JSON.stringify(entry);
  } catch (err) {
    throw new Error(`queue push: value cannot be stored as JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}

export function checkLimit(limit: number): void {
  if (!Number.isInteger(limit) || limit < 1) throw new Error(`queue peek: limit must be a positive integer, got ${limit}`);
}

/** What `peek` hands out, given the waiting items (or anything with their keys) in queue order. */
export function headsPerKey<I extends { key: string }>(items: Iterable<I>, limit: number, skipKeys: ReadonlySet<string> | undefined): I[] {
  const seen = new Set<string>(skipKeys);
  const heads: I[] = [];
  if (limit < 1) return heads;
  for (const item of items) {
    if (seen.has(item.key)) continue;
    seen.add(item.key);
    heads.push(item);
    if (heads.length >= limit) break;
  }
  return heads;
}
