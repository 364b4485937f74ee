/**
 * The trace beside the embedded store: its own LMDB environment in `trace/` inside the store's
 * directory, so it outlives a restart (docs/design.md decision 33).
 *
 * Written for the MT path's sake: each write is one batch (the events of one event-loop turn,
 * lib/trace/log.ts) as one JSON value, one `put`, committed by lmdb's writer thread without an
 * fsync (`noSync`): a trace is no delivery guarantee, and its own environment means neither its
 * commits nor a damaged file after a power cut can touch the correlation store. An index by id
 * would cost a `put` per id per event; instead a query scans the batches of the last 72 h, looking
 * for the id's bytes before parsing a batch (Buffer.indexOf), in steps that yield to the event
 * loop. The log is bounded, so the scan is too.
 *
 * Key of a batch: [writtenAt, seq, events, bytes]: by age, so pruning takes the oldest first
 * with a range read, and the counts in the key give the log's size on open without reading a value.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import path from "node:path";
import type { RootDatabase } from "lmdb";
import { describeError } from "../store/checks";
import { lmdbMapSize, sweepInBatches } from "../store/embedded";
import { boundedEvent, boundedQuery, inOrder, MAX_IDS_PER_PHONE, MAX_IDS_PER_SMSC_ID, messageKey, TRACE_MAX_AGE_MS, type TraceEvent, type TraceQuery } from "./event";
import { digitsOf } from "./mask";

type BatchKey = [writtenAt: number, seq: number, events: number, bytes: number];

/** Directory of the trace's environment inside the embedded store's directory. */
export const TRACE_DIRNAME = "trace";
/** Events kept at most: about 35 MB on disk as the nodes record them (about 140 bytes each, measured). */
export const EMBEDDED_TRACE_MAX_EVENTS = 250_000;
/** Bytes of event text kept at most, whatever the events hold. */
export const EMBEDDED_TRACE_MAX_BYTES = 64 * 1024 * 1024;
/** Batches read between two yields to the event loop while a query scans. */
const SCAN_STEP = 200;
/** How often the age bound is applied when no write does it. */
const PRUNE_EVERY_MS = 60_000;
/** A phone number as the nodes record it: the bytes of its digits are in the stored text as one run. */
const PLAIN_NUMBER = /^\+?\d*$/;

export interface EmbeddedTraceLogOptions {
  /** The embedded store's directory; the trace lives in its `trace/` folder. */
  storeDir: string;
  maxEvents?: number;
  maxBytes?: number;
  maxAgeMs?: number;
  now?: () => number;
  /** Told when the trace's files were made again, and why. */
  onBackgroundError?: (err: Error) => void;
  /** The machine's boot id (tests); read from /proc/sys/kernel/random/boot_id by default. */
  bootId?: string;
}

/** What `opened.json` says: the boot the log was opened in, and whether it was closed since. */
interface Marker {
  bootId: string | undefined;
  closed: boolean;
}

const MARKER_FILE = "opened.json";

function readMarker(file: string): Marker | undefined {
  try {
    const m = JSON.parse(readFileSync(file, "utf8")) as Partial<Marker>;
    return { bootId: typeof m.bootId === "string" ? m.bootId : undefined, closed: m.closed === true };
  } catch {
    return undefined; // none yet (a new log), or unreadable: the LMDB files decide
  }
}

/** Written and fsynced: the note must be on disk before the writes it vouches for. */
function writeMarker(file: string, marker: Marker): void {
  const fd = openSync(file, "w");
  try {
    writeSync(fd, JSON.stringify(marker));
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function readBootId(): string | undefined {
  try {
    return readFileSync("/proc/sys/kernel/random/boot_id", "utf8").trim() || undefined;
  } catch {
    return undefined;
  }
}

export class EmbeddedTraceLog {
  readonly backend = "embedded";
  private events = 0;
  private bytes = 0;
  private nextSeq = 0;
  private readonly maxEvents: number;
  private readonly maxBytes: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly pruner: NodeJS.Timeout;
  private pruning: Promise<void> | undefined;
  private closed = false;

  private constructor(
    private readonly db: RootDatabase<Buffer, BatchKey>,
    private readonly marker: string,
    private readonly bootId: string | undefined,
    options: EmbeddedTraceLogOptions,
  ) {
    this.maxEvents = Math.max(1, options.maxEvents ?? EMBEDDED_TRACE_MAX_EVENTS);
    this.maxBytes = Math.max(1, options.maxBytes ?? EMBEDDED_TRACE_MAX_BYTES);
    this.maxAgeMs = options.maxAgeMs ?? TRACE_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
    for (const key of db.getKeys({})) {
      this.events += key[2];
      this.bytes += key[3];
      this.nextSeq = Math.max(this.nextSeq, key[1] + 1);
    }
    this.pruner = setInterval(() => this.startPrune(), PRUNE_EVERY_MS);
    this.pruner.unref();
  }

  /**
   * Opens (or makes) the trace's environment. Without fsync, a commit may reach the disk only in
   * part when the machine (not the process) stops, and LMDB trusts its file: reading a torn one
   * can crash the process. So the log notes when it is open and when it was closed, with the
   * machine's boot id (`opened.json`, fsynced, as is the log when closed); left open by an earlier
   * boot, by a process on a system without a boot id, or without a note, it is removed and made
   * again: the trace is lost, nothing else. A file that cannot be opened is made again too.
   */
  static async open(options: EmbeddedTraceLogOptions): Promise<EmbeddedTraceLog> {
    const dir = path.join(path.resolve(options.storeDir), TRACE_DIRNAME);
    const marker = path.join(dir, MARKER_FILE);
    const bootId = options.bootId ?? readBootId();
    const startAgain = (why: string) => {
      options.onBackgroundError?.(new Error(`trace log in ${dir}: ${why}; it starts again empty`));
      rmSync(dir, { recursive: true, force: true });
    };
    const left = readMarker(marker);
    if (existsSync(path.join(dir, "data.mdb")) && (!left || (!left.closed && (bootId === undefined || left.bootId !== bootId)))) {
      startAgain(left ? "the machine stopped while it was open, so its last writes may be torn" : "it has no note of being closed");
    }
    const lmdb = await import("lmdb");
    const mapSize = lmdbMapSize();
    const openIn = () => {
      mkdirSync(dir, { recursive: true });
      const db = lmdb.open<Buffer, BatchKey>({ path: dir, encoding: "binary", noSync: true, ...(mapSize ? { mapSize } : {}) });
      writeMarker(marker, { bootId, closed: false });
      return new EmbeddedTraceLog(db, marker, bootId, options);
    };
    try {
      return openIn();
    } catch (err) {
      startAgain(`it could not be opened (${describeError(err)})`);
      return openIn();
    }
  }

  /** Events held now. */
  get size(): number {
    return this.events;
  }

  /** Writes one batch: one value, one put; resolves when lmdb committed it (not fsynced). */
  async append(recorded: readonly TraceEvent[]): Promise<void> {
    if (this.closed || recorded.length === 0) return;
    const batch = recorded.map(boundedEvent);
    // A formatted number ("+44 7911 …") would not be found by its digits: those few carry them.
    const stored = batch.some((e) => e.phone && !PLAIN_NUMBER.test(e.phone)) ? batch.map((e) => (e.phone && !PLAIN_NUMBER.test(e.phone) ? { ...e, digits: digitsOf(e.phone) } : e)) : batch;
    const value = Buffer.from(JSON.stringify(stored));
    const key: BatchKey = [this.now(), this.nextSeq++, batch.length, value.length];
    this.events += batch.length;
    this.bytes += value.length;
    try {
      await this.db.put(key, value);
    } catch (err) {
      this.events -= batch.length;
      this.bytes -= value.length;
      throw new Error(`trace log: write failed: ${describeError(err)}`);
    }
    if (this.events > this.maxEvents || this.bytes > this.maxBytes) this.startPrune();
  }

  /** Every event of the messages the query names, oldest first (event-ordering rules in event.ts). */
  async find(asked: TraceQuery): Promise<TraceEvent[]> {
    if (this.closed) return [];
    const query = boundedQuery(asked);
    const keys = new Set<string>();
    if (query.id) keys.add(query.id);
    if (query.smscId) {
      const smscId = query.smscId;
      for (const key of await this.messagesWhere(smscId, (e) => e.smscIds?.includes(smscId) === true, MAX_IDS_PER_SMSC_ID)) keys.add(key);
    }
    if (query.phone) {
      const digits = digitsOf(query.phone);
      if (digits) for (const key of await this.messagesWhere(digits, (e) => e.phone !== undefined && digitsOf(e.phone) === digits, MAX_IDS_PER_PHONE)) keys.add(key);
    }
    if (keys.size === 0) return [];
    // The bytes each message's events hold: its id, or the SMSC id / digits its key names.
    const needles = [...keys].map((key) => (key.startsWith("#smsc:") ? key.slice(6) : key.startsWith("#phone:") ? key.slice(7) : key));
    const found: TraceEvent[] = [];
    await this.scan(needles, (e) => {
      const key = messageKey(e);
      if (key !== undefined && keys.has(key)) found.push(e);
    });
    return inOrder(found);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.pruner);
    await this.pruning;
    // One fsync when closing, so "closed" in the note is true of the disk too.
    await this.db.committed;
    await new Promise<void>((resolve) => (this.db as unknown as { sync(done: (err?: Error) => void): void }).sync(() => resolve()));
    await this.db.close();
    try {
      writeMarker(this.marker, { bootId: this.bootId, closed: true });
    } catch {
      // Not noted as closed: the next open on another boot starts again, which is safe.
    }
  }

  /** Applies the bounds now (age, count, bytes); the timer and the writes also start it. */
  async prune(): Promise<void> {
    while (this.pruning) await this.pruning;
    this.startPrune();
    await this.pruning;
  }

  /** One prune at a time: two would count the same removed batches twice. */
  private startPrune(): void {
    if (this.pruning || this.closed) return;
    this.pruning = this.removeOldest()
      .then(() => undefined, () => undefined)
      .finally(() => {
        this.pruning = undefined;
      });
  }

  /** The oldest batches while the log is over a bound, in steps (sweepInBatches) that yield to the event loop. */
  private removeOldest(): Promise<number> {
    return sweepInBatches(
      (limit) => {
        if (this.closed) return [];
        const cutoff = this.now() - this.maxAgeMs;
        let events = this.events;
        let bytes = this.bytes;
        const oldest: BatchKey[] = [];
        for (const key of this.db.getKeys({ limit })) {
          if (events <= this.maxEvents && bytes <= this.maxBytes && key[0] >= cutoff) break;
          oldest.push(key);
          events -= key[2];
          bytes -= key[3];
        }
        return oldest;
      },
      async (oldest) => {
        const removed = await Promise.all(oldest.map((key) => this.db.remove(key)));
        oldest.forEach((key, i) => {
          if (!removed[i]) return;
          this.events -= key[2];
          this.bytes -= key[3];
        });
      },
    );
  }

  /** The latest `max` messages with an event that has `needle` in its text and passes `match`. */
  private async messagesWhere(needle: string, match: (e: TraceEvent) => boolean, max: number): Promise<string[]> {
    const latest: string[] = [];
    await this.scan([needle], (e) => {
      const key = messageKey(e);
      if (key === undefined || !match(e)) return;
      const at = latest.indexOf(key);
      if (at >= 0) latest.splice(at, 1);
      latest.push(key);
      if (latest.length > max) latest.shift();
    });
    return latest;
  }

  /**
   * Calls `each` for every event of the last maxAgeMs in a batch whose text holds one of the
   * needles (as JSON writes them), oldest first; SCAN_STEP batches at a time, yielding between.
   */
  private async scan(needles: readonly string[], each: (e: TraceEvent) => void): Promise<void> {
    const cutoff = this.now() - this.maxAgeMs;
    const bytes = needles.map((n) => Buffer.from(JSON.stringify(n).slice(1, -1)));
    let last: BatchKey | undefined;
    while (!this.closed) {
      // From the last batch read (a range starts at its key, inclusive), or from the cutoff.
      const range = Array.from(this.db.getKeys({ start: last ?? [cutoff], limit: SCAN_STEP + 1 }));
      for (const key of range) {
        if (last && key[1] === last[1] && key[0] === last[0]) continue;
        last = key;
        // Read in place (lmdb's reused buffer, valid until the next read): no copy of the log per query.
        const fast = this.db.getBinaryFast(key);
        if (!fast) continue;
        const value = fast.subarray(0, fast.length);
        if (!bytes.some((b) => value.indexOf(b) >= 0)) continue;
        let events: unknown;
        try {
          events = JSON.parse(value.toString("utf8"));
        } catch {
          continue; // a damaged batch: the trace is no guarantee; the rest still answers
        }
        if (!Array.isArray(events)) continue;
        for (const e of events as TraceEvent[]) {
          if (e && typeof e === "object" && typeof e.at === "number" && e.at >= cutoff) {
            delete (e as { digits?: string }).digits;
            each(e);
          }
        }
      }
      if (range.length <= SCAN_STEP) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  }
}
