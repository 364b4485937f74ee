/**
 * Embedded correlation store on LMDB (the `lmdb` package): no server, one directory.
 *
 * Why LMDB: a write resolves only after its transaction is committed and fsynced
 * (`overlappingSync: false`), so an acknowledged `put` survives `kill -9` and power loss;
 * transactions give `markPart` an atomic read-modify-write; the native part ships prebuilt in
 * npm packages, so installing needs no compiler.
 *
 * Layout (one LMDB environment per directory):
 * - `records`: [createdAt, recordId] -> Correlation. Keys sort by age, so expiry is a range scan.
 * - `parts`:   aggregator part id -> record key.
 * - `messages`: RapidPro id -> record key of the message's entry.
 * An entry holds every submission of the message; 0.1.0 wrote one entry per submission and
 * pointed `messages` at the latest, and such entries are read as entries of one submission
 * (lib/store/checks.ts) and grow in place when the message is submitted again.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Database, RootDatabase } from "lmdb";
import { addSubmission, applyPartState, newRecord } from "../delivery/aggregate";
import { checkPartState, checkPut, checkRecord, checkTtl, describeError, storedPartIds } from "./checks";
import { DEFAULT_TTL_MS, type Correlation, type CorrelationStore, type PartState, type PartUpdate } from "./types";

/** Directory, inside the Node-RED user directory, that holds the store's LMDB files. */
export const EMBEDDED_STORE_DIRNAME = "rapidpro-sms-store";

const ADDRESS_SPACE_LINE = "Max address space";

/** What lmdbMapSize looks at: /proc/self/limits (undefined where there is none), the platform and the CPU architecture. */
export interface MapSizeSystem {
  limits: string | undefined;
  platform: string;
  arch: string;
}

/**
 * Address space reserved for an environment's memory map when it opens. lmdb starts with a
 * 128 KB map and maps the file again each time it outgrows it, keeping the earlier maps: their
 * pages counted once per map, so the process's RSS grew at twice the data's size (seen in the
 * soak benchmark). Reserving 4 GiB up front, as lmdb itself did on 64-bit before, maps the file
 * once; on Linux it costs address space only, and the file still grows as data comes.
 *
 * Only there, and only without an address-space limit: under `ulimit -v` of a few GB lmdb
 * crashes the process (SIGSEGV) when it cannot reserve the map, where its own growing map
 * works; on Windows LMDB makes the file as large as the map.
 */
export function lmdbMapSize(system: MapSizeSystem = { limits: readProcLimits(), platform: process.platform, arch: process.arch }): number | undefined {
  const { limits: limitsText, platform, arch } = system;
  if (platform !== "linux" || !arch.endsWith("64") || limitsText === undefined) return undefined;
  // "Max address space   <soft>   <hard>   bytes": the soft limit is the one enforced.
  const addressSpace = limitsText.split("\n").find((line) => line.startsWith(ADDRESS_SPACE_LINE));
  const soft = addressSpace?.slice(ADDRESS_SPACE_LINE.length).trim().split(/\s+/)[0];
  return soft === "unlimited" ? 4 * 1024 ** 3 : undefined;
}

function readProcLimits(): string | undefined {
  try {
    return readFileSync("/proc/self/limits", "utf8");
  } catch {
    return undefined;
  }
}

/** Expired entries removed per sweep step, so a sweep never blocks the event loop for long. */
const SWEEP_BATCH = 500;
/** Sweep steps per sweep: bounds one sweep; what is left waits for the next one. */
const SWEEP_MAX_STEPS = 200;

type RecordKey = [number, string];

export interface EmbeddedStoreOptions {
  /** Directory for the LMDB files; created if missing. */
  dir: string;
  ttlMs?: number;
  /** Clock, for tests of expiry. */
  now?: () => number;
  /** Told about failures that have no caller to reject, such as a failed expiry sweep. */
  onBackgroundError?: (err: Error) => void;
}

/**
 * Opens an LMDB environment at `dir` with the settings every embedded store here relies on:
 * commits are fsynced before a write resolves, values are JSON so records stay readable by any
 * version of this package, and the file is mapped once where that is safe (lmdbMapSize).
 */
export async function openLmdb(dir: string, what: string): Promise<RootDatabase> {
  let lmdb: typeof import("lmdb");
  try {
    // Loaded on first use, so a platform without an lmdb build can still use Redis or memory.
    lmdb = await import("lmdb");
  } catch (err) {
    throw new Error(`${what}: the lmdb package could not be loaded: ${describeError(err)}`);
  }
  try {
    mkdirSync(dir, { recursive: true });
    const mapSize = lmdbMapSize();
    return lmdb.open({ path: dir, maxDbs: 8, encoding: "json", overlappingSync: false, noSync: false, ...(mapSize ? { mapSize } : {}) });
  } catch (err) {
    throw new Error(`${what}: cannot open the database in ${dir}: ${describeError(err)}`);
  }
}

/**
 * Removes expired entries batch by batch (`next` gives the next batch, empty when done,
 * `remove` deletes one in a transaction), yielding between batches so receipts and writes
 * get their turn; at most SWEEP_MAX_STEPS batches, the rest waits for the next sweep.
 * Returns how many entries went.
 */
export async function sweepInBatches<T>(next: (limit: number) => T[], remove: (batch: T[]) => Promise<unknown>): Promise<number> {
  let removed = 0;
  for (let step = 0; step < SWEEP_MAX_STEPS; step++) {
    const batch = next(SWEEP_BATCH);
    if (batch.length === 0) break;
    await remove(batch);
    removed += batch.length;
    await new Promise((resolve) => setImmediate(resolve));
  }
  return removed;
}

export class EmbeddedStore implements CorrelationStore {
  private readonly records: Database<unknown, RecordKey>;
  private readonly parts: Database<unknown, string>;
  private readonly messages: Database<unknown, string>;
  private readonly ttlMs: number;
  private readonly now: () => number;
  private readonly sweeper: NodeJS.Timeout;
  private sweeping: Promise<void> | undefined;
  private closed = false;

  private constructor(private readonly root: RootDatabase, private readonly options: EmbeddedStoreOptions) {
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.now = options.now ?? Date.now;
    this.records = root.openDB<unknown, RecordKey>({ name: "records", encoding: "json" });
    this.parts = root.openDB<unknown, string>({ name: "parts", encoding: "json" });
    this.messages = root.openDB<unknown, string>({ name: "messages", encoding: "json" });
    this.sweeper = setInterval(() => this.startSweep(), Math.min(this.ttlMs, 60_000));
    this.sweeper.unref();
  }

  static async open(options: EmbeddedStoreOptions): Promise<EmbeddedStore> {
    checkTtl(options.ttlMs);
    const root = await openLmdb(path.resolve(options.dir), "embedded store");
    return new EmbeddedStore(root, options);
  }

  async put(rapidproId: string, partIds: string[], text?: string): Promise<void> {
    this.checkOpen();
    checkPut(rapidproId, partIds, text);
    try {
      // In one transaction, so two parts of one message submitted at once both land in its entry.
      await this.records.transaction(() => {
        const now = this.now();
        const found = this.readVia(this.messages, rapidproId, "message");
        let key: RecordKey;
        let record: Correlation;
        if (found) {
          ({ key, record } = found);
          addSubmission(record, partIds, text, now);
        } else {
          record = newRecord(rapidproId, partIds, text, now);
          key = [record.createdAt, randomUUID()];
        }
        this.records.put(key, record);
        for (const id of partIds) this.parts.put(id, key);
        this.messages.put(rapidproId, key);
      });
    } catch (err) {
      throw new Error(`embedded store: put for message ${JSON.stringify(rapidproId)} failed: ${describeError(err)}`);
    }
  }

  async findByPart(partId: string): Promise<Correlation | undefined> {
    this.checkOpen();
    return this.read(partId)?.record;
  }

  async findByMessage(rapidproId: string): Promise<Correlation | undefined> {
    this.checkOpen();
    return this.readVia(this.messages, rapidproId, "message")?.record;
  }

  async markPart(partId: string, state: PartState, reason?: string): Promise<PartUpdate | undefined> {
    this.checkOpen();
    checkPartState(state);
    try {
      // Inside the transaction no other write can interleave, so two receipts for parts of
      // one message never overwrite each other; the answer comes after the commit is on disk.
      return await this.records.transaction(() => {
        const found = this.read(partId);
        if (!found) return undefined;
        const update = applyPartState(found.record, partId, state, reason);
        this.records.put(found.key, found.record);
        return update;
      });
    } catch (err) {
      throw new Error(`embedded store: markPart for part ${JSON.stringify(partId)} failed: ${describeError(err)}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweeper);
    await this.sweeping;
    await this.root.close();
  }

  /** Removes expired records now; the timer also does this every minute (or every TTL if shorter). */
  async sweep(): Promise<number> {
    this.checkOpen();
    return sweepInBatches(
      (limit) => (this.closed ? [] : Array.from(this.records.getRange({ end: [this.now() - this.ttlMs], limit }))),
      (batch) =>
        this.records.transaction(() => {
          for (const { key, value } of batch) {
            for (const id of storedPartIds(value)) {
              // A later submission may have reused the part id: leave its mapping alone.
              if (sameKey(this.parts.get(id), key)) this.parts.remove(id);
            }
            const rapidproId = (value as Partial<Correlation> | undefined)?.rapidproId;
            if (typeof rapidproId === "string" && sameKey(this.messages.get(rapidproId), key)) this.messages.remove(rapidproId);
            this.records.remove(key);
          }
        }),
    );
  }

  private startSweep(): void {
    if (this.sweeping || this.closed) return;
    this.sweeping = this.sweep()
      .then(() => undefined)
      .catch((err: unknown) => this.options.onBackgroundError?.(new Error(`embedded store: expiry sweep failed: ${describeError(err)}`)))
      .finally(() => {
        this.sweeping = undefined;
      });
  }

  /** The live record that holds a part id; throws a described error when the stored bytes are damaged. */
  private read(partId: string): { key: RecordKey; record: Correlation } | undefined {
    const found = this.readVia(this.parts, partId, "part");
    if (found && !found.record.submissions.some((s) => s.parts.includes(partId))) {
      throw new Error(`corrupt correlation record (part ${JSON.stringify(partId)}): the record does not list this part`);
    }
    return found;
  }

  /** The live record an index (parts or messages) points to for `id`; damaged bytes give a described error. */
  private readVia(index: Database<unknown, string>, id: string, kind: "part" | "message"): { key: RecordKey; record: Correlation } | undefined {
    const where = `${kind} ${JSON.stringify(id)}`;
    let key: unknown;
    let value: unknown;
    try {
      key = index.get(id);
      if (key === undefined) return undefined;
      if (!isRecordKey(key)) throw new Error(`the ${kind} index entry is not a record key`);
      value = this.records.get(key);
    } catch (err) {
      throw new Error(`corrupt correlation record (${where}): ${describeError(err)}`);
    }
    // The record may have been swept after the index was read; that is simply "not found".
    if (value === undefined) return undefined;
    const record = checkRecord(value, where);
    if (this.now() - record.createdAt > this.ttlMs) return undefined;
    return { key, record };
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("embedded store is closed");
  }
}

function isRecordKey(value: unknown): value is RecordKey {
  return Array.isArray(value) && value.length === 2 && typeof value[0] === "number" && typeof value[1] === "string";
}

function sameKey(a: unknown, b: unknown): boolean {
  return isRecordKey(a) && isRecordKey(b) && a[0] === b[0] && a[1] === b[1];
}


