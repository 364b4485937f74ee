/**
 * Durable queue in Redis, for several Node-RED instances behind one load balancer.
 *
 * Keys under `<prefix>q:<name>:`:
 * - `seq`          INCR counter: ids in push order across all instances;
 * - `order`        sorted set of waiting ids, scored by id;
 * - `item:<id>`    JSON `{ key, value, enqueuedAt }`;
 * - `lease:<key>`  which instance is delivering that key's head, expiring after `leaseMs`;
 * - `damaged`      ids of items that could not be read back (their `item:` stays for a person);
 * - `once:<onceId>` a once-id pushed within `rememberMs` (Redis expiry forgets it).
 *
 * Order per key across instances comes from the lease: `peek` takes a key's head only when
 * no other instance holds that key's lease, and takes the lease in the same script. `ack`
 * gives it back. An instance that dies mid-delivery loses its leases after `leaseMs`, and
 * another instance delivers the item again: a duplicate, never a loss.
 *
 * The scripts name keys they compute themselves, so this does not run on Redis Cluster
 * (connectRedis refuses a Cluster node). A push resolves once the replicas the URL asks for
 * have it (`WAIT`); an `ack` waits for them too but never fails for them: lost in a failover,
 * it makes the item come again (a repeat, never a loss).
 */
import { randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { checkLimit, checkOnceId, checkPush, checkQueueName, checkRememberMs, DEFAULT_REMEMBER_MS, serialiseEntry, type DurableQueue, type QueueItem } from "./queue";
import { closeRedis, connectRedis } from "./redis-connection";

/** Waiting items one `peek` looks at: bounds the time the script holds Redis. */
const PEEK_MAX_SCAN = 1_000;

/**
 * KEYS: order. ARGV: base (key prefix), token, leaseMs, limit, maxScan, skipped keys...
 * Returns a flat list id1, json1, id2, json2, ... then "damaged" and the damaged ids.
 */
const CLAIM_HEADS = `
local base, token, leaseMs, limit, maxScan = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local seen = {}
for i = 6, #ARGV do seen[ARGV[i]] = true end
local out, damaged, taken = {}, {}, 0
local ids = redis.call('ZRANGE', KEYS[1], 0, maxScan - 1)
for _, id in ipairs(ids) do
  if taken >= limit then break end
  local raw = redis.call('GET', base .. 'item:' .. id)
  local ok, entry = pcall(cjson.decode, raw or '')
  if not ok or type(entry) ~= 'table' or type(entry.key) ~= 'string' then
    redis.call('ZREM', KEYS[1], id)
    redis.call('ZADD', base .. 'damaged', tonumber(id), id)
    table.insert(damaged, id)
  elseif not seen[entry.key] then
    seen[entry.key] = true
    local lease = base .. 'lease:' .. entry.key
    local holder = redis.call('GET', lease)
    if holder == false or holder == token then
      redis.call('SET', lease, token, 'PX', leaseMs)
      table.insert(out, id)
      table.insert(out, raw)
      taken = taken + 1
    end
  end
end
table.insert(out, 'damaged')
for _, id in ipairs(damaged) do table.insert(out, id) end
return out
`;

/** KEYS: order. ARGV: base, token, id. Removes the item and gives back its key's lease if ours. */
const ACK = `
local base, token, id = ARGV[1], ARGV[2], ARGV[3]
local raw = redis.call('GET', base .. 'item:' .. id)
redis.call('ZREM', KEYS[1], id)
redis.call('DEL', base .. 'item:' .. id)
if raw then
  local ok, entry = pcall(cjson.decode, raw)
  if ok and type(entry) == 'table' and type(entry.key) == 'string' then
    local lease = base .. 'lease:' .. entry.key
    if redis.call('GET', lease) == token then redis.call('DEL', lease) end
  end
end
return 1
`;

/**
 * KEYS: seq, order, once. ARGV: base, entry JSON, rememberMs. The push only if the once-id is
 * new, in one script. Run twice (ioredis resends it when a reconnect lost the reply), the
 * second run finds the once-id and adds nothing: the item is queued once either way.
 */
const PUSH_ONCE = `
if not redis.call('SET', KEYS[3], '1', 'NX', 'PX', ARGV[3]) then return 0 end
local id = redis.call('INCR', KEYS[1])
redis.call('SET', ARGV[1] .. 'item:' .. id, ARGV[2])
redis.call('ZADD', KEYS[2], id, id)
return id
`;

export interface RedisQueueOptions {
  url: string;
  name: string;
  prefix?: string;
  /** How long a key stays with the instance delivering it if that instance goes silent. */
  leaseMs?: number;
  /** How long once-ids are remembered; default 72 h. */
  rememberMs?: number;
  maxRetriesPerRequest?: number;
  now?: () => number;
  onBackgroundError?: (err: Error) => void;
}

type RedisWithScripts = Redis & {
  claimHeads(order: string, ...args: (string | number)[]): Promise<string[]>;
  ackItem(order: string, base: string, token: string, id: string): Promise<number>;
  pushOnce(seq: string, order: string, once: string, base: string, json: string, rememberMs: number): Promise<number>;
};

export class RedisQueue<T> implements DurableQueue<T> {
  private readonly client: RedisWithScripts;
  private readonly base: string;
  /** This instance, as lease holder. */
  private readonly token = randomUUID();
  private readonly leaseMs: number;
  private readonly rememberMs: number;
  private readonly now: () => number;
  private readonly location: string;
  private readonly scrub: (err: unknown) => string;
  /** WAIT for the URL's replicas before a push resolves (redis-url.ts). */
  private readonly replicated: () => Promise<void>;
  private readonly retryRefused: <R>(write: () => Promise<R>) => Promise<R>;
  private closed = false;

  constructor(private readonly options: RedisQueueOptions) {
    checkQueueName(options.name);
    checkRememberMs(options.rememberMs);
    const connection = connectRedis(options.url, {
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      onError: (message) => options.onBackgroundError?.(new Error(`redis queue ${options.name} (${connection.location}): connection failed: ${message}`)),
    });
    this.client = connection.client as RedisWithScripts;
    this.location = connection.location;
    this.scrub = connection.scrub;
    this.replicated = connection.replicated;
    this.retryRefused = connection.retryRefused;
    this.base = `${options.prefix ?? "rapidpro-sms:"}q:${options.name}:`;
    this.leaseMs = options.leaseMs ?? 60_000;
    this.rememberMs = options.rememberMs ?? DEFAULT_REMEMBER_MS;
    this.now = options.now ?? Date.now;
    this.client.defineCommand("claimHeads", { numberOfKeys: 1, lua: CLAIM_HEADS });
    this.client.defineCommand("ackItem", { numberOfKeys: 1, lua: ACK });
    this.client.defineCommand("pushOnce", { numberOfKeys: 3, lua: PUSH_ONCE });
  }

  async push(key: string, value: T): Promise<QueueItem<T>> {
    this.checkOpen();
    checkPush(key, value);
    const enqueuedAt = this.now();
    const json = serialiseEntry({ key, value, enqueuedAt });
    try {
      const id = String(await this.retryRefused(() => this.client.incr(`${this.base}seq`)));
      const replies = await this.retryRefused(() => this.client.multi().set(`${this.base}item:${id}`, json).zadd(`${this.base}order`, id, id).exec());
      const failed = replies?.find(([err]) => err);
      if (!replies || failed) throw failed?.[0] ?? new Error("transaction aborted");
      await this.replicated();
      return { id, key, value: JSON.parse(json).value as T, enqueuedAt };
    } catch (err) {
      throw this.error("push", err);
    }
  }

  async pushOnce(key: string, value: T, onceId: string): Promise<boolean> {
    this.checkOpen();
    checkPush(key, value);
    checkOnceId(onceId);
    const json = serialiseEntry({ key, value, enqueuedAt: this.now() });
    try {
      const id = await this.retryRefused(() => this.client.pushOnce(`${this.base}seq`, `${this.base}order`, `${this.base}once:${onceId}`, this.base, json, Math.ceil(this.rememberMs)));
      // A repeat waits too: the first push may be the one still on its way to the replicas.
      await this.replicated();
      return id !== 0;
    } catch (err) {
      throw this.error("push", err);
    }
  }

  async peek(limit: number, skipKeys?: ReadonlySet<string>): Promise<QueueItem<T>[]> {
    this.checkOpen();
    checkLimit(limit);
    let reply: string[];
    try {
      reply = await this.client.claimHeads(`${this.base}order`, this.base, this.token, this.leaseMs, limit, PEEK_MAX_SCAN, ...(skipKeys ?? []));
    } catch (err) {
      throw this.error("peek", err);
    }
    const split = reply.indexOf("damaged");
    const damaged = reply.slice(split + 1);
    if (damaged.length > 0) {
      this.options.onBackgroundError?.(new Error(`redis queue ${this.options.name}: set aside ${damaged.length} damaged item(s) (${damaged.join(", ")}) in ${this.base}damaged`));
    }
    const items: QueueItem<T>[] = [];
    for (let i = 0; i < split; i += 2) {
      const entry = JSON.parse(reply[i + 1]) as { key: string; value: T; enqueuedAt: number };
      items.push({ id: reply[i], key: entry.key, value: entry.value, enqueuedAt: entry.enqueuedAt });
    }
    return items;
  }

  async ack(id: string): Promise<void> {
    this.checkOpen();
    try {
      // Refused during a failover, an ack that failed would make the item go to courier again.
      await this.retryRefused(() => this.client.ackItem(`${this.base}order`, this.base, this.token, id));
      // Lost in a failover, an ack makes the item come again; waiting here keeps that to the
      // acks of the last instant. A slow replica delays no one's acknowledgement, so no error.
      await this.replicated().catch(() => undefined);
    } catch (err) {
      throw this.error("ack", err);
    }
  }

  async size(): Promise<number> {
    this.checkOpen();
    try {
      return await this.client.zcard(`${this.base}order`);
    } catch (err) {
      throw this.error("size", err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeRedis(this.client);
  }

  private error(what: string, err: unknown): Error {
    return new Error(`redis queue ${this.options.name} (${this.location}): ${what} failed: ${this.scrub(err)}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`redis queue ${this.options.name} is closed`);
  }
}
