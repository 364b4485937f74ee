/**
 * Durable queue on LMDB, one environment per queue: `push` resolves after the commit is
 * fsynced, so an acknowledged item survives `kill -9`. Items are keyed by an increasing
 * sequence number, which is queue order; the next number is found again on open.
 *
 * One process owns a queue directory: the sequence lives in memory, so two processes pushing
 * to one directory could hand out the same number.
 *
 * Once-ids (`pushOnce`) live in the same environment, in `once` (id -> when pushed) and
 * `onceByAge` ([when pushed, id], so expiry is a range scan); an item and its once-id are
 * written in one transaction.
 */
import path from "node:path";
import type { Database, RootDatabase } from "lmdb";
import { describeError } from "./checks";
import { openLmdb, sweepInBatches } from "./embedded";
import {
  checkLimit,
  checkOnceId,
  checkPush,
  checkQueueName,
  checkRememberMs,
  DEFAULT_REMEMBER_MS,
  headsPerKey,
  serialiseEntry,
  type DurableQueue,
  type QueueItem,
} from "./queue";

/** Entries looked at by one `peek`: bounds the work when a few keys hold a long backlog. */
const PEEK_MAX_SCAN = 10_000;
/** Ordering keys remembered by sequence number (see `keyOf`); more would not fit in one peek's scan. */
const KEYS_REMEMBERED = PEEK_MAX_SCAN;

interface Entry {
  key: string;
  value: unknown;
  enqueuedAt: number;
}

export interface EmbeddedQueueOptions {
  /** Parent directory (the Node-RED user directory); the queue gets a folder inside it. */
  dir: string;
  name: string;
  /** How long once-ids are remembered; default 72 h. */
  rememberMs?: number;
  now?: () => number;
  /** Told when a damaged entry is set aside, since no caller is waiting for it. */
  onBackgroundError?: (err: Error) => void;
}

export function embeddedQueueDir(dir: string, name: string): string {
  checkQueueName(name);
  return path.join(path.resolve(dir), `rapidpro-sms-queue-${name}`);
}

export class EmbeddedQueue<T> implements DurableQueue<T> {
  private readonly items: Database<Buffer, number>;
  /** Entries that could not be read back; kept, not dropped, so someone can look at them. */
  private readonly damaged: Database<Buffer, number>;
  private readonly onceIds: Database<number, string>;
  private readonly onceByAge: Database<boolean, [number, string]>;
  private readonly now: () => number;
  private readonly rememberMs: number;
  private readonly sweeper: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;
  private nextSeq: number;
  private closed = false;
  /**
   * The ordering key of items pushed or read by this process and not yet acked. A consumer
   * peeks after every delivery, and the items it is delivering sit at the head of the queue:
   * knowing their keys, a peek passes over them without reading and parsing each one again.
   */
  private readonly keyOf = new Map<number, string>();

  private constructor(private readonly root: RootDatabase, private readonly options: EmbeddedQueueOptions) {
    this.now = options.now ?? Date.now;
    // Raw bytes, parsed here, so one damaged entry is set aside instead of breaking every read.
    this.items = root.openDB<Buffer, number>({ name: "items", encoding: "binary" });
    this.damaged = root.openDB<Buffer, number>({ name: "damaged", encoding: "binary" });
    this.onceIds = root.openDB<number, string>({ name: "once", encoding: "json" });
    this.onceByAge = root.openDB<boolean, [number, string]>({ name: "onceByAge", encoding: "json" });
    this.rememberMs = options.rememberMs ?? DEFAULT_REMEMBER_MS;
    this.sweeper = setInterval(() => this.startSweep(), Math.min(this.rememberMs, 60_000));
    this.sweeper.unref();
    // Past every number still held, set-aside items included, so no two held items share one.
    const last = [this.items, this.damaged].map((db) => Array.from(db.getKeys({ reverse: true, limit: 1 }))[0] ?? 0);
    this.nextSeq = Math.max(...last) + 1;
  }

  static async open<T>(options: EmbeddedQueueOptions): Promise<EmbeddedQueue<T>> {
    checkRememberMs(options.rememberMs);
    const root = await openLmdb(embeddedQueueDir(options.dir, options.name), `embedded queue ${options.name}`);
    return new EmbeddedQueue<T>(root, options);
  }

  async push(key: string, value: T): Promise<QueueItem<T>> {
    this.checkOpen();
    checkPush(key, value);
    const seq = this.nextSeq++;
    const entry: Entry = { key, value, enqueuedAt: this.now() };
    const bytes = Buffer.from(serialiseEntry(entry));
    try {
      await this.items.put(seq, bytes);
    } catch (err) {
      throw new Error(`embedded queue ${this.options.name}: push failed: ${describeError(err)}`);
    }
    this.rememberKey(seq, key);
    return { id: String(seq), key, value: entry.value as T, enqueuedAt: entry.enqueuedAt };
  }

  async pushOnce(key: string, value: T, onceId: string): Promise<boolean> {
    this.checkOpen();
    checkPush(key, value);
    checkOnceId(onceId);
    const now = this.now();
    const bytes = Buffer.from(serialiseEntry({ key, value, enqueuedAt: now } satisfies Entry));
    let seq: number | undefined;
    try {
      // Inside the transaction nothing interleaves: the check and the write are one step.
      await this.items.transaction(() => {
        const seen = this.onceIds.get(onceId);
        if (typeof seen === "number" && now - seen < this.rememberMs) return;
        if (typeof seen === "number") this.onceByAge.remove([seen, onceId]);
        seq = this.nextSeq++;
        this.items.put(seq, bytes);
        this.onceIds.put(onceId, now);
        this.onceByAge.put([now, onceId], true);
      });
    } catch (err) {
      throw new Error(`embedded queue ${this.options.name}: push failed: ${describeError(err)}`);
    }
    if (seq === undefined) return false;
    this.rememberKey(seq, key);
    return true;
  }

  /** Forgets once-ids older than `rememberMs` now; a timer also does this every minute. */
  async sweep(): Promise<number> {
    this.checkOpen();
    return sweepInBatches(
      (limit) => (this.closed ? [] : Array.from(this.onceByAge.getKeys({ end: [this.now() - this.rememberMs], limit }))),
      (batch) =>
        this.onceByAge.transaction(() => {
          for (const [at, onceId] of batch) {
            this.onceByAge.remove([at, onceId]);
            if (this.onceIds.get(onceId) === at) this.onceIds.remove(onceId);
          }
        }),
    );
  }

  private startSweep(): void {
    if (this.sweeping || this.closed) return;
    this.sweeping = this.sweep()
      .then(() => undefined)
      .catch((err: unknown) => this.options.onBackgroundError?.(new Error(`embedded queue ${this.options.name}: once-id sweep failed: ${describeError(err)}`)))
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  async peek(limit: number, skipKeys?: ReadonlySet<string>): Promise<QueueItem<T>[]> {
    this.checkOpen();
    checkLimit(limit);
    const unreadable: { seq: number; bytes: Buffer }[] = [];
    const items = this.items;
    const read = (seq: number): Entry | undefined => {
      const bytes = items.getBinary(seq);
      if (bytes === undefined) return undefined; // acked since the keys were listed
      const entry = parseEntry(bytes);
      if (entry) this.rememberKey(seq, entry.key);
      // Copied: lmdb may reuse the buffer it handed out once the next read happens.
      else unreadable.push({ seq, bytes: Buffer.from(bytes) });
      return entry;
    };
    const keyOf = this.keyOf;
    // Read one by one as headsPerKey asks, so a peek stops as soon as it has enough heads;
    // an item whose key is known is read only if it becomes a head.
    function* keyed(): Generator<{ seq: number; key: string; entry?: Entry }> {
      for (const seq of items.getKeys({ limit: PEEK_MAX_SCAN })) {
        const key = keyOf.get(seq);
        if (key !== undefined) {
          yield { seq, key };
          continue;
        }
        const entry = read(seq);
        if (entry) yield { seq, key: entry.key, entry };
      }
    }
    const heads: QueueItem<T>[] = [];
    for (const head of headsPerKey(keyed(), limit, skipKeys)) {
      const entry = head.entry ?? read(head.seq);
      if (entry) heads.push({ id: String(head.seq), key: entry.key, value: entry.value as T, enqueuedAt: entry.enqueuedAt });
    }
    if (unreadable.length > 0) await this.setAside(unreadable);
    return heads;
  }

  async ack(id: string): Promise<void> {
    this.checkOpen();
    const seq = Number(id);
    if (!Number.isSafeInteger(seq)) throw new Error(`embedded queue ${this.options.name}: ack of an id this queue never gave: ${JSON.stringify(id)}`);
    try {
      await this.items.remove(seq);
    } catch (err) {
      throw new Error(`embedded queue ${this.options.name}: ack failed: ${describeError(err)}`);
    }
    this.keyOf.delete(seq);
  }

  async size(): Promise<number> {
    this.checkOpen();
    return this.items.getCount();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    await this.sweeping;
    await this.root.close();
  }

  private rememberKey(seq: number, key: string): void {
    if (this.keyOf.size < KEYS_REMEMBERED) this.keyOf.set(seq, key);
  }

  private async setAside(entries: { seq: number; bytes: Buffer }[]): Promise<void> {
    await this.items.transaction(() => {
      for (const { seq, bytes } of entries) {
        this.damaged.put(seq, bytes);
        this.items.remove(seq);
      }
    });
    for (const { seq } of entries) this.keyOf.delete(seq);
    const ids = entries.map((e) => String(e.seq)).join(", ");
    this.options.onBackgroundError?.(new Error(`embedded queue ${this.options.name}: set aside ${entries.length} damaged item(s) (${ids}) in its "damaged" table`));
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`embedded queue ${this.options.name} is closed`);
  }
}

function parseEntry(bytes: Buffer): Entry | undefined {
  let value: unknown;
  try {
    value = JSON.parse(bytes.toString("utf8"));
  } catch {
    return undefined;
  }
  if (typeof value !== "object" || value === null) return undefined;
  const e = value as Record<string, unknown>;
  const ok = typeof e.key === "string" && e.key !== "" && "value" in e && typeof e.enqueuedAt === "number";
  return ok ? (e as unknown as Entry) : undefined;
}
