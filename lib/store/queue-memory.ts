/**
 * In-memory queue: same ordering rules as the embedded one, lost on restart. For tests and
 * for flows that accept losing queued items when Node-RED stops.
 */
import { checkLimit, checkPush, headsPerKey, type DurableQueue, type QueueItem } from "./queue";

export class MemoryQueue<T> implements DurableQueue<T> {
  /** Insertion order of a Map is queue order. */
  private readonly items = new Map<string, QueueItem<T>>();
  private nextSeq = 1;
  private closed = false;

  constructor(private readonly now: () => number = Date.now) {}

  async push(key: string, value: T): Promise<QueueItem<T>> {
    this.checkOpen();
    checkPush(key, value);
    // A copy through JSON, so memory behaves like the stores that serialise.
    const item: QueueItem<T> = { id: String(this.nextSeq++), key, value: JSON.parse(JSON.stringify(value)) as T, enqueuedAt: this.now() };
    this.items.set(item.id, item);
    return { ...item };
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
