/**
 * The trace of this Node-RED process: what happened to each message (courier's request, each
 * part's submit and answer, each receipt, each status handed to courier and courier's answer,
 * MO), found by RapidPro id, SMSC message id or phone number (docs/design.md decision 33).
 *
 * It is kept beside the correlation store: lib/store opens a log with every store it opens
 * (`besideEveryStore`) and closes it with the store: an LMDB environment next to the embedded
 * store (embedded-log.ts), keys in the Redis store's Redis (redis-log.ts). So a restart keeps
 * the trace, and with a shared Redis every instance sees every instance's events. Until a store
 * is open (a flow without one, a `memory:` store) events go to a log in memory (memory-log.ts),
 * which shrinks to MEMORY_BESIDE_STORE events while a store's log is there.
 *
 * `record` costs the MT path an array push: the events of one event-loop turn are written
 * together, one write per turn, one write at a time; a write that fails leaves its events in
 * memory. Queries answer from the store's log and the memory log together.
 */
import { besideEveryStore, type StoreLocation } from "../store";
import { describeError } from "../store/checks";
import { EmbeddedTraceLog } from "./embedded-log";
import { inOrder, messageKey, type TraceEvent, type TraceQuery } from "./event";
import { TRACE_MAX_EVENTS, TraceLog } from "./memory-log";
import { RedisTraceLog } from "./redis-log";

export type { TraceEvent, TraceQuery, TraceStep } from "./event";
export { TRACE_MAX_AGE_MS } from "./event";

/** A log kept with a store: embedded-log.ts or redis-log.ts. */
export interface StoredTraceLog {
  readonly backend: "embedded" | "redis";
  append(batch: readonly TraceEvent[]): Promise<unknown>;
  find(query: TraceQuery): Promise<TraceEvent[]>;
  close(): Promise<void>;
}

/** The memory log's bound while a store's log holds the trace: the events of a start, or of a failed write. */
export const MEMORY_BESIDE_STORE = 2_000;
/** Events one write takes at most. */
const MAX_BATCH = 500;
/** Events waiting for a write at most (a slow or unreachable Redis); more go to the memory log. */
const MAX_WAITING = 20_000;
/**
 * How long events gather before a write, unless MAX_BATCH are waiting. Each write is a commit of
 * its own (lmdb) or a script call (Redis): one per event-loop turn cost more CPU per MT than the
 * trace's events themselves. A query and a close write what waits at once.
 */
const WRITE_EVERY_MS = 100;
/** How long a query waits for the events recorded before it to be written, and for a log being opened. */
const QUERY_WAIT_MS = 2_000;
/** A failing log is reported at most this often. */
const REPORT_EVERY_MS = 60_000;

interface Attached {
  log: StoredTraceLog;
  report: (err: Error) => void;
}

export class ProcessTrace {
  /** Where events go while no store's log is attached, or when a write failed. */
  readonly memory = new TraceLog();
  private readonly attached: Attached[] = [];
  /** Logs being opened: a query waits for them (a restart's first query comes early). */
  private readonly opening = new Set<Promise<unknown>>();
  private waiting: TraceEvent[] = [];
  private scheduled: NodeJS.Timeout | undefined;
  private writing: Promise<void> | undefined;
  private lastReport = -Infinity;

  /** Off (`rapidproSms.trace: false`): nothing is recorded, and no store's log is opened. */
  get enabled(): boolean {
    return this.memory.enabled;
  }

  set enabled(on: boolean) {
    this.memory.enabled = on;
  }

  record(event: TraceEvent): void {
    if (!this.memory.enabled || messageKey(event) === undefined) return;
    if (this.attached.length === 0 || this.waiting.length >= MAX_WAITING) {
      this.memory.record(event);
      return;
    }
    this.waiting.push(event);
    if (this.waiting.length >= MAX_BATCH) this.startWriting();
    else this.schedule();
  }

  /** Every event of the messages the query names, oldest first: from the store's log and from memory. */
  async find(query: TraceQuery): Promise<TraceEvent[]> {
    await this.settled();
    const stored = this.target();
    const found = this.memory.find(query);
    if (!stored) return found;
    return inOrder([...(await stored.log.find(query)), ...found]);
  }

  /** Resolves once the events recorded so far are written (or QUERY_WAIT_MS passed). */
  async settled(): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const limit = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, QUERY_WAIT_MS);
    });
    const done = (async () => {
      await Promise.all([...this.opening].map((p) => p.catch(() => undefined)));
      while (this.waiting.length > 0 || this.writing) {
        this.startWriting();
        await this.writing;
      }
    })();
    await Promise.race([done, limit]);
    clearTimeout(timer);
  }

  /**
   * Opens the log kept with the store at `location` (lib/store calls this for every store it
   * opens); closing the handle writes what waits for it and closes the log.
   */
  openBeside(location: StoreLocation, report: (err: Error) => void = () => undefined): { close(): Promise<void> } | undefined {
    if (!this.memory.enabled || location.backend === "memory") return undefined;
    let closed = false;
    const opening = (async (): Promise<StoredTraceLog> =>
      location.backend === "redis" ? new RedisTraceLog({ url: location.url, onBackgroundError: report }) : EmbeddedTraceLog.open({ storeDir: location.dir, onBackgroundError: report }))();
    this.opening.add(opening);
    const ready = opening.then(
      (log) => {
        if (closed) return log.close().then(() => undefined);
        this.attach({ log, report });
        return log;
      },
      (err: unknown) => report(new Error(`trace log beside the ${location.backend} store could not be opened (${describeError(err)}); the trace stays in memory`)),
    );
    void ready.finally(() => this.opening.delete(opening));
    return {
      close: async () => {
        closed = true;
        const log = await ready;
        if (log) await this.detach(log);
      },
    };
  }

  private attach(attached: Attached): void {
    // A shared Redis first (every instance's events in one place), else the first opened.
    const firstEmbedded = this.attached.findIndex((a) => a.log.backend !== "redis");
    if (attached.log.backend === "redis" && firstEmbedded >= 0) this.attached.splice(firstEmbedded, 0, attached);
    else this.attached.push(attached);
    this.memory.limit = MEMORY_BESIDE_STORE;
  }

  private async detach(log: StoredTraceLog): Promise<void> {
    // Its own events first (what waits goes to it while it is the target), and never a close under a write.
    while (this.writing || (this.waiting.length > 0 && this.target()?.log === log)) {
      this.startWriting();
      await this.writing;
    }
    const at = this.attached.findIndex((a) => a.log === log);
    if (at >= 0) this.attached.splice(at, 1);
    if (this.attached.length === 0) this.memory.limit = TRACE_MAX_EVENTS;
    await log.close();
  }

  private target(): Attached | undefined {
    return this.attached[0];
  }

  private schedule(): void {
    if (this.scheduled || this.writing || this.waiting.length === 0) return;
    this.scheduled = setTimeout(() => {
      this.scheduled = undefined;
      this.startWriting();
    }, WRITE_EVERY_MS);
    this.scheduled.unref();
  }

  /** One write at a time; the events that came meanwhile make the next one. */
  private startWriting(): void {
    if (this.writing || this.waiting.length === 0) return;
    clearTimeout(this.scheduled);
    this.scheduled = undefined;
    const target = this.target();
    const batch = this.waiting.length <= MAX_BATCH ? this.waiting : this.waiting.slice(0, MAX_BATCH);
    this.waiting = batch === this.waiting ? [] : this.waiting.slice(MAX_BATCH);
    if (!target) {
      for (const e of batch) this.memory.record(e);
      this.startWriting();
      return;
    }
    this.writing = target.log
      .append(batch)
      .then(
        () => undefined,
        (err: unknown) => {
          for (const e of batch) this.memory.record(e);
          const now = Date.now();
          if (now - this.lastReport >= REPORT_EVERY_MS) {
            this.lastReport = now;
            target.report(new Error(`${describeError(err)}; these events stay in memory`));
          }
        },
      )
      .then(() => {
        this.writing = undefined;
        if (this.waiting.length >= MAX_BATCH) this.startWriting();
        else this.schedule();
      });
  }
}

/** The one trace of this process (module state outlives a redeploy). */
export const traceLog = new ProcessTrace();

besideEveryStore((location, report) => traceLog.openBeside(location, report));

