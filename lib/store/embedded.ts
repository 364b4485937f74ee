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
 * - `messages`: RapidPro id -> record key of its latest submission.
 * A record has its own id rather than the RapidPro id, because courier may send one message
 * twice and each submission gets its own parts.
 */
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Database, RootDatabase } from "lmdb";
import { applyPartState, newRecord } from "./aggregate";
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

  async put(rapidproId: string, partIds: string[]): Promise<void> {
    this.checkOpen();
    checkPut(rapidproId, partIds);
    const record = newRecord(rapidproId, partIds, this.now());
    const key: RecordKey = [record.createdAt, randomUUID()];
    try {
      await this.records.transaction(() => {
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
        const update = applyPartState(found.record, found.record.parts.indexOf(partId), state, reason);
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
            const parts = isStringList((value as Partial<Correlation> | undefined)?.parts) ? (value as Correlation).parts : [];
            for (const id of parts) {
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
    if (found && !found.record.parts.includes(partId)) {
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

function isStringList(value: unknown): value is string[] {
  return Array.isArray(value) && value.every((v) => typeof v === "string");
}

// ---- Checks shared by the persistent stores (embedded, Redis) ----
// They live here rather than in a file of their own because this task owns only the store
// files; both persistent stores import them, so bad input fails the same way in each.

const PART_STATES: ReadonlySet<string> = new Set<PartState>(["pending", "sent", "delivered", "failed"]);
const STATUSES: ReadonlySet<string> = new Set(["sent", "delivered", "failed"]);

/** The value as a Correlation, or an Error that says what is wrong and where. */
export function checkRecord(value: unknown, where: string): Correlation {
  const problem = recordProblem(value);
  if (problem) throw new Error(`corrupt correlation record (${where}): ${problem}`);
  return value as Correlation;
}

function recordProblem(value: unknown): string | undefined {
  if (typeof value !== "object" || value === null || Array.isArray(value)) return "not an object";
  const r = value as Record<string, unknown>;
  if (typeof r.rapidproId !== "string" || r.rapidproId === "") return "rapidproId is not a non-empty string";
  if (!Array.isArray(r.parts) || r.parts.length === 0 || !isStringList(r.parts)) return "parts is not a non-empty list of strings";
  if (!Array.isArray(r.states) || r.states.length !== r.parts.length) return "states does not match parts";
  if (!r.states.every((s) => typeof s === "string" && PART_STATES.has(s))) return "states holds an unknown state";
  if (r.reason !== undefined && typeof r.reason !== "string") return "reason is not a string";
  if (r.reported !== undefined && !(typeof r.reported === "string" && STATUSES.has(r.reported))) return "reported is not a status";
  if (typeof r.createdAt !== "number" || !Number.isFinite(r.createdAt)) return "createdAt is not a number";
  return undefined;
}

/**
 * Longest id a store takes, in UTF-8 bytes. Ids are LMDB keys, limited to 1,978 bytes, and
 * lmdb refuses a longer one only when it is written, after the other entries of the same
 * transaction went in; checked first, a put is whole or nothing in every store. Real ids are far
 * shorter (an SMPP message_id is at most 65 octets, a RapidPro uuid 36).
 */
export const MAX_ID_BYTES = 1024;

export function checkPut(rapidproId: string, partIds: string[]): void {
  if (typeof rapidproId !== "string" || rapidproId === "") throw new Error("put: rapidproId must be a non-empty string");
  if (!Array.isArray(partIds) || partIds.length === 0) throw new Error("put: partIds must be a non-empty list");
  if (!partIds.every((id) => typeof id === "string" && id !== "")) throw new Error("put: every part id must be a non-empty string");
  if ([rapidproId, ...partIds].some((id) => Buffer.byteLength(id) > MAX_ID_BYTES)) throw new Error(`put: an id is longer than ${MAX_ID_BYTES} bytes`);
  if (new Set(partIds).size !== partIds.length) throw new Error("put: part ids must be distinct");
}

export function checkPartState(state: PartState): void {
  if (!PART_STATES.has(state)) throw new Error(`markPart: unknown part state ${JSON.stringify(state)}`);
}

export function checkTtl(ttlMs: number | undefined): void {
  if (ttlMs !== undefined && !(Number.isFinite(ttlMs) && ttlMs > 0)) throw new Error(`ttlMs must be a positive number of milliseconds, got ${ttlMs}`);
}

/** An error's message only: driver errors can carry connection details in their other fields. */
export function describeError(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
