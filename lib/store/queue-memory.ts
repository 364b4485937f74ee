/**
 * In-memory queue: same ordering rules as the embedded one, lost on restart. For tests and
 * for flows that accept losing queued items when Node-RED stops.
 */
import { checkLimit, checkOnceId, checkPush, checkRememberMs, DEFAULT_REMEMBER_MS, headsPerKey, serialiseEntry, type DurableQueue, type QueueItem } from "./queue";

export class MemoryQueue<T> implements DurableQueue<T> {
  /** Insertion order of a Map is queue order. */
  private readonly items = new Map<string, QueueItem<T>>();
  /** Once-id -> when pushed; insertion order is age order, so expiry trims from the front. */
  private readonly onceIds = new Map<string, number>();
  private nextSeq = 1;
  private closed = false;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly rememberMs = DEFAULT_REMEMBER_MS,
  ) {
    checkRememberMs(rememberMs);
  }

  async push(key: string, value: T): Promise<QueueItem<T>> {
    this.checkOpen();
    checkPush(key, value);
    // A copy through JSON, so memory behaves like the stores that serialise.
    const stored = JSON.parse(serialiseEntry({ key, value, enqueuedAt: this.now() })) as Omit<QueueItem<T>, "id">;
    const item: QueueItem<T> = { id: String(this.nextSeq++), ...stored };
    this.items.set(item.id, item);
    return { ...item };
  }

  async pushOnce(key: string, value: T, onceId: string): Promise<boolean> {
    this.checkOpen();
    checkOnceId(onceId);
    const now = this.now();
    for (const [id, at] of this.onceIds) {
      if (now - at < this.rememberMs) break;
      this.onceIds.delete(id);
    }
    if (this.onceIds.has(onceId)) return false;
    // Taken before the push so that a second call with the same id, while this one awaits, sees it.
    this.onceIds.set(onceId, now);
    try {
      await this.push(key, value);
    } catch (err) {
      this.onceIds.delete(onceId);
      throw err;
    }
    return true;
  }

  async peek(limit: number, skipKeys?: ReadonlySet<string>): Promise<QueueItem<T>[]> {
    this.checkOpen();
    checkLimit(limit);
    return headsPerKey(this.items.values(), limit, skipKeys).map((item) => ({ ...item }));
  }

  async ack(id: string): Promise<void> {
    this.checkOpen();
    this.items.delete(id);
  }

  async size(): Promise<number> {
    this.checkOpen();
    return this.items.size;
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("memory queue is closed");
  }
}
