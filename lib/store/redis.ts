/**
 * Correlation store in Redis, shared by several Node-RED instances behind one load balancer.
 *
 * Keys (all under `prefix`, all with the store's TTL as Redis expiry):
 * - `rec:<uuid>`    one message's entry, every submission of it: JSON `{ rev, record }`;
 * - `part:<partId>` the `rec:` key that holds this part;
 * - `msg:<rapidproId>` the `rec:` key of that message's entry.
 * 0.1.0 wrote one `rec:` per submission; such a record is read as an entry of one submission
 * (lib/store/checks.ts) and grows in place when the message is submitted again.
 *
 * `put` and `markPart` are compare-and-sets: read the entry, change it with the shared rules
 * in lib/delivery/aggregate.ts, then a Lua script writes the result only if the entry is still
 * the one read (its `rev` is unchanged); otherwise it reads again. Instances never overwrite
 * each other's submissions or receipts, and the rules live in one place instead of in Lua.
 *
 * Writes resolve only when Redis replied. While Redis is unreachable, ioredis holds commands
 * in its offline queue and sends them after reconnecting, up to `maxRetriesPerRequest`
 * reconnect attempts; after that the call rejects, so nothing is acknowledged unwritten.
 * How durable a reply is depends on the server: use `appendonly yes` (with the default
 * `appendfsync everysec`, a server crash can lose about the last second), and with replicas
 * a put also waits until the URL's `replicas` have it (`WAIT` over the connection that wrote
 * it: `durably` in redis-connection.ts), so a Sentinel failover keeps it (docs/deploy.md lists
 * the settings).
 *
 * Redis Cluster is refused when the connection is ready (connectRedis): `put` writes several
 * keys in one MULTI. The server must not evict keys on its own (`maxmemory-policy
 * noeviction`, the default), or entries vanish early.
 */
import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { addSubmission, applyPartState, copyRecord, newRecord } from "../delivery/aggregate";
import { checkPartState, checkPut, checkRecord, checkTtl, describeError } from "./checks";
import { closeRedis, connectRedis, type RedisConnection } from "./redis-connection";
import { DEFAULT_TTL_MS, type Correlation, type CorrelationStore, type PartState, type PartUpdate } from "./types";

/** Tries of one `markPart` when other instances keep changing the same message. */
const MAX_CAS_ATTEMPTS = 50;

/**
 * Writes ARGV[2] over KEYS[1] (keeping its expiry) when KEYS[1] still holds ARGV[1]. Also
 * answers 1 when KEYS[1] already holds ARGV[2]: ARGV[2] carries a fresh rev, so that can only
 * be this very write, sent again by ioredis after a reconnect lost the first reply.
 */
const COMPARE_AND_SET = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[1] then
  redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
  return 1
end
if current == ARGV[2] then return 1 end
return 0
`;

/**
 * A message's first entry: KEYS = msg key, rec key, part keys; ARGV = the msg key's expected
 * value ("" for none), the entry, the TTL. Answers 1 when written (or already written by this
 * very call, resent after a reconnect), 0 when another put got there first.
 */
const CREATE_ENTRY = `
local current = redis.call('GET', KEYS[1]) or ''
if current == KEYS[2] then return 1 end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], KEYS[2], 'PX', ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
for i = 3, #KEYS do redis.call('SET', KEYS[i], KEYS[2], 'PX', ARGV[3]) end
return 1
`;

/**
 * One more submission in an entry: KEYS = rec key, part keys; ARGV = the entry as read, the
 * entry to write, the TTL. The compare-and-set of COMPARE_AND_SET, plus the part keys.
 */
const APPEND_SUBMISSION = `
local current = redis.call('GET', KEYS[1])
if current == ARGV[2] then return 1 end
if current ~= ARGV[1] then return 0 end
redis.call('SET', KEYS[1], ARGV[2], 'KEEPTTL')
for i = 2, #KEYS do redis.call('SET', KEYS[i], KEYS[1], 'PX', ARGV[3]) end
return 1
`;

export interface RedisStoreOptions {
  /** `redis://[user:password@]host:port[/db]` or `rediss://...`. */
  url: string;
  ttlMs?: number;
  /** Key prefix, so one Redis can serve several bridges. */
  prefix?: string;
  /** Reconnect attempts a command waits through before it rejects. */
  maxRetriesPerRequest?: number;
  /** Told about connection errors, which have no caller to reject. Messages carry no password. */
  onBackgroundError?: (err: Error) => void;
}

/** An error that already says which store and what failed: passed on as it is. */
class DescribedError extends Error {}

interface Stored {
  rev: string;
  record: Correlation;
}

type RedisWithCas = Redis & {
  compareAndSet(key: string, expected: string, next: string): Promise<number>;
  createEntry(numberOfKeys: number, ...args: string[]): Promise<number>;
  appendSubmission(numberOfKeys: number, ...args: string[]): Promise<number>;
};

export class RedisStore implements CorrelationStore {
  private readonly client: RedisWithCas;
  private readonly ttlMs: number;
  private readonly prefix: string;
  /** Where we talk to, without the password, for messages. */
  readonly location: string;
  private readonly scrub: (err: unknown) => string;
  /** A write confirmed on the URL's replicas (redis-url.ts) over its own connection; a put resolves only after it. */
  private readonly durably: RedisConnection["durably"];
  private readonly retryRefused: <T>(write: () => Promise<T>) => Promise<T>;
  private closed = false;

  constructor(private readonly options: RedisStoreOptions) {
    checkTtl(options.ttlMs);
    this.ttlMs = options.ttlMs ?? DEFAULT_TTL_MS;
    this.prefix = options.prefix ?? "rapidpro-sms:";
    const connection = connectRedis(options.url, {
      prefix: this.prefix,
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      onError: (message) => options.onBackgroundError?.(new Error(`redis store (${connection.location}): connection failed: ${message}`)),
    });
    this.client = connection.client as RedisWithCas;
    this.location = connection.location;
    this.scrub = connection.scrub;
    this.durably = connection.durably;
    this.retryRefused = connection.retryRefused;
    this.client.defineCommand("compareAndSet", { numberOfKeys: 1, lua: COMPARE_AND_SET });
    this.client.defineCommand("createEntry", { lua: CREATE_ENTRY });
    this.client.defineCommand("appendSubmission", { lua: APPEND_SUBMISSION });
  }

  async put(rapidproId: string, partIds: string[], text?: string): Promise<void> {
    this.checkOpen();
    checkPut(rapidproId, partIds, text);
    const what = `put for message ${JSON.stringify(rapidproId)}`;
    const partKeys = partIds.map((id) => this.partKey(id));
    const ttl = String(this.ttlMs);
    const newKey = `${this.prefix}rec:${randomUUID()}`;
    /** One compare-and-set loop; answers when the submission it added was written. */
    const write = async (): Promise<number> => {
      for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
        const recordKey = await this.client.get(this.messageKey(rapidproId));
        const found = recordKey === null ? undefined : await this.readRecord(recordKey, `message ${JSON.stringify(rapidproId)}`);
        const at = Date.now();
        let written: number;
        if (!found) {
          const entry = JSON.stringify({ rev: randomUUID(), record: newRecord(rapidproId, partIds, text, at) } satisfies Stored);
          written = await this.client.createEntry(2 + partKeys.length, this.messageKey(rapidproId), newKey, ...partKeys, recordKey ?? "", entry, ttl);
        } else {
          const record = copyRecord(found.stored.record);
          addSubmission(record, partIds, text, at);
          const entry = JSON.stringify({ rev: randomUUID(), record } satisfies Stored);
          written = await this.client.appendSubmission(1 + partKeys.length, found.recordKey, ...partKeys, found.raw, entry, ttl);
        }
        if (written === 1) return at;
      }
      throw new DescribedError(`redis store (${this.location}): ${what} gave up after ${MAX_CAS_ATTEMPTS} conflicting updates`);
    };
    try {
      // Acknowledged only once a replica has it (Sentinel set-ups; lib/store/redis-url.ts). After a
      // failover the submission is looked for in the new master's entry (other instances may have
      // added theirs since, so not by rev) and added again when it is missing.
      await this.durably(write, async (at) => {
        const entry = await this.findByMessage(rapidproId);
        return entry?.submissions.some((s) => s.at === at && s.parts.length === partIds.length && s.parts.every((p, i) => p === partIds[i])) ?? false;
      });
    } catch (err) {
      throw err instanceof DescribedError ? err : this.error(what, err);
    }
  }

  async findByPart(partId: string): Promise<Correlation | undefined> {
    this.checkOpen();
    return (await this.read(partId))?.stored.record;
  }

  async findByMessage(rapidproId: string): Promise<Correlation | undefined> {
    this.checkOpen();
    const where = `message ${JSON.stringify(rapidproId)}`;
    let recordKey: string | null;
    try {
      recordKey = await this.client.get(this.messageKey(rapidproId));
    } catch (err) {
      throw this.error(`lookup of ${where}`, err);
    }
    if (recordKey === null) return undefined;
    return (await this.readRecord(recordKey, where))?.stored.record;
  }

  async markPart(partId: string, state: PartState, reason?: string): Promise<PartUpdate | undefined> {
    this.checkOpen();
    checkPartState(state);
    for (let attempt = 0; attempt < MAX_CAS_ATTEMPTS; attempt++) {
      const found = await this.read(partId);
      if (!found) return undefined;
      const { recordKey, raw, stored } = found;
      const before = JSON.stringify(stored.record);
      const update = applyPartState(stored.record, partId, state, reason);
      // A repeated or late receipt changes nothing: no write, and nothing to report.
      if (JSON.stringify(stored.record) === before) return update;
      const next = JSON.stringify({ rev: randomUUID(), record: stored.record } satisfies Stored);
      let written: number;
      try {
        // Refused during a failover, a lost mark would let an earlier step be reported after this one.
        written = await this.retryRefused(() => this.client.compareAndSet(recordKey, raw, next));
      } catch (err) {
        throw this.error(`markPart for part ${JSON.stringify(partId)}`, err);
      }
      if (written === 1) return update;
    }
    throw new Error(`redis store (${this.location}): markPart for part ${JSON.stringify(partId)} gave up after ${MAX_CAS_ATTEMPTS} conflicting updates`);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeRedis(this.client);
  }

  private async read(partId: string): Promise<{ recordKey: string; raw: string; stored: Stored } | undefined> {
    const where = `part ${JSON.stringify(partId)}`;
    let recordKey: string | null;
    try {
      recordKey = await this.client.get(this.partKey(partId));
    } catch (err) {
      throw this.error(`lookup of ${where}`, err);
    }
    if (recordKey === null) return undefined;
    const found = await this.readRecord(recordKey, where);
    if (found && !found.stored.record.submissions.some((s) => s.parts.includes(partId))) {
      throw new DescribedError(`redis store (${this.location}): corrupt correlation record (${where}): the record does not list this part`);
    }
    return found;
  }

  private async readRecord(recordKey: string, where: string): Promise<{ recordKey: string; raw: string; stored: Stored } | undefined> {
    let raw: string | null;
    try {
      raw = await this.client.get(recordKey);
    } catch (err) {
      throw this.error(`lookup of ${where}`, err);
    }
    // The record may expire between the two reads: then the part is simply unknown.
    if (raw === null) return undefined;
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch (err) {
      throw new DescribedError(`redis store (${this.location}): corrupt correlation record (${where}): ${describeError(err)}`);
    }
    const p = parsed as Partial<Stored> | null;
    if (typeof p !== "object" || p === null || typeof p.rev !== "string") {
      throw new DescribedError(`redis store (${this.location}): corrupt correlation record (${where}): no rev`);
    }
    try {
      const record = checkRecord(p.record, where);
      return { recordKey, raw, stored: { rev: p.rev, record } };
    } catch (err) {
      throw new DescribedError(`redis store (${this.location}): ${describeError(err)}`);
    }
  }

  private partKey(partId: string): string {
    return `${this.prefix}part:${partId}`;
  }

  private messageKey(rapidproId: string): string {
    return `${this.prefix}msg:${rapidproId}`;
  }

  /** A described error that never carries the password, nor the driver's error object. */
  private error(what: string, err: unknown): Error {
    return new DescribedError(`redis store (${this.location}): ${what} failed: ${this.scrub(err)}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`redis store (${this.location}) is closed`);
  }
}
