/**
 * Durable queue in Redis, for several Node-RED instances behind one load balancer.
 *
 * Keys under `<prefix>q:<name>:`:
 * - `seq`          INCR counter: ids in push order across all instances;
 * - `order`        sorted set of waiting ids, scored by id;
 * - `item:<id>`    JSON `{ key, value, enqueuedAt }`;
 * - `lease:<key>`  which instance is delivering that key's head, expiring after `leaseMs`;
 * - `damaged`      ids of items that could not be read back (their `item:` stays for a person);
 * - `once:<onceId>` a once-id pushed within `rememberMs` (Redis expiry forgets it);
 * - `acked:<id>`   the SHA-1 of an item acked in the last `ACKED_MEMORY_MS`, so a push looking
 *                  for its item after a failover tells "delivered already" from "lost".
 *
 * Order per key across instances comes from the lease: `peek` takes a key's head only when
 * no other instance holds that key's lease, and takes the lease in the same script. `ack`
 * gives it back. While an item is out (being delivered, or waiting to retry), its lease is
 * renewed every third of `leaseMs`, so a slow courier or a long back-off never hands it to a
 * second instance; an instance that dies stops renewing, and another delivers the item again
 * once the lease runs out (`leaseMs`, 20 s): a duplicate, never a loss.
 *
 * The scripts name keys they compute themselves, so this does not run on Redis Cluster
 * (connectRedis refuses a Cluster node). A push, and a peek that took leases, resolve once the
 * replicas the URL asks for have them, confirmed over the connection that wrote them
 * (`durably` in redis-connection.ts: after a failover they are looked for on the new master and
 * written again if missing). An `ack` is confirmed the same way but never fails for its
 * replicas: it reports them through `onBackgroundError`, since an ack lost in a failover only
 * makes the item come again (a repeat, never a loss).
 */
import { createHash, randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { checkLimit, checkOnceId, checkPush, checkQueueName, checkRememberMs, DEFAULT_REMEMBER_MS, serialiseEntry, type DurableQueue, type QueueItem } from "./queue";
import { closeRedis, connectRedis, type RedisConnection } from "./redis-connection";
import { RenewedHolds } from "./redis-holds";

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

/** How long a dead instance's items wait for another: long against a renewal every third of it. */
const DEFAULT_LEASE_MS = 20_000;

/**
 * How long an acked item is remembered: longer than a push can spend looking for its item after
 * a failover (FAILOVER_PATIENCE_MS, 15 s), short enough to cost little (one small key per ack).
 */
const ACKED_MEMORY_MS = 30_000;

/**
 * KEYS: order. ARGV: base, token, id, ACKED_MEMORY_MS. Removes the item, remembers it was acked,
 * and gives back its key's lease if ours.
 */
const ACK = `
local base, token, id = ARGV[1], ARGV[2], ARGV[3]
local raw = redis.call('GET', base .. 'item:' .. id)
redis.call('ZREM', KEYS[1], id)
redis.call('DEL', base .. 'item:' .. id)
if raw then
  redis.call('SET', base .. 'acked:' .. id, redis.sha1hex(raw), 'PX', ARGV[4])
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

/**
 * KEYS: seq, order, item. ARGV: id (from INCR seq), entry JSON. Stores the item under an id this
 * push took; answers 0 when another push holds that id. The id came from a separate INCR, which a
 * failover between the two can lose: the new master's seq is then behind, so this moves it on
 * (or the next INCR there would hand out our id again), and another instance may already have
 * taken the id there, which this must not overwrite (the push takes a new id). Run twice (a
 * reply lost to a reconnect), it finds its own entry and answers 1 again.
 */
const PUT_ITEM = `
local current = redis.call('GET', KEYS[3])
if current and current ~= ARGV[2] then return 0 end
if (tonumber(redis.call('GET', KEYS[1])) or 0) < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], ARGV[1]) end
redis.call('SET', KEYS[3], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[1], ARGV[1])
return 1
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
  ackItem(order: string, base: string, token: string, id: string, ackedMemoryMs: number): Promise<number>;
  pushOnce(seq: string, order: string, once: string, base: string, json: string, rememberMs: number): Promise<number>;
  putItem(seq: string, order: string, item: string, id: string, json: string): Promise<number>;
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
  /** A write confirmed on the URL's replicas (redis-url.ts) over its own connection. */
  private readonly durably: RedisConnection["durably"];
  private readonly durablyRemoved: RedisConnection["durablyRemoved"];
  /** Items handed out by `peek` and not yet acked, id -> key: their leases are renewed. */
  private readonly out = new Map<string, string>();
  private readonly leases: RenewedHolds;
  private closed = false;

  constructor(private readonly options: RedisQueueOptions) {
    checkQueueName(options.name);
    checkRememberMs(options.rememberMs);
    const connection = connectRedis(options.url, {
      prefix: options.prefix,
      maxRetriesPerRequest: options.maxRetriesPerRequest,
      onError: (message) => options.onBackgroundError?.(new Error(`redis queue ${options.name} (${connection.location}): connection failed: ${message}`)),
    });
    this.client = connection.client as RedisWithScripts;
    this.location = connection.location;
    this.scrub = connection.scrub;
    this.durably = connection.durably;
    this.durablyRemoved = connection.durablyRemoved;
    this.base = `${options.prefix ?? "rapidpro-sms:"}q:${options.name}:`;
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    this.rememberMs = options.rememberMs ?? DEFAULT_REMEMBER_MS;
    this.now = options.now ?? Date.now;
    this.client.defineCommand("claimHeads", { numberOfKeys: 1, lua: CLAIM_HEADS });
    this.client.defineCommand("ackItem", { numberOfKeys: 1, lua: ACK });
    this.client.defineCommand("pushOnce", { numberOfKeys: 3, lua: PUSH_ONCE });
    this.client.defineCommand("putItem", { numberOfKeys: 3, lua: PUT_ITEM });
    // A lease found taken: another instance may now deliver that item as well.
    this.leases = new RenewedHolds(this.client, this.leaseMs, (lost) => {
      for (const [id, key] of this.out) if (lost.includes(this.leaseKey(key))) this.out.delete(id);
      this.options.onBackgroundError?.(new Error(`redis queue ${options.name}: the lease of ${lost.length} item(s) ran out while this instance had them out; another instance may deliver them too`));
    });
  }

  async push(key: string, value: T): Promise<QueueItem<T>> {
    this.checkOpen();
    checkPush(key, value);
    const enqueuedAt = this.now();
    const json = serialiseEntry({ key, value, enqueuedAt });
    try {
      // Written again under a new id when a failover lost it: the id returned is the one in Redis.
      const id = await this.durably(
        async () => {
          for (;;) {
            const id = String(await this.client.incr(`${this.base}seq`));
            if ((await this.client.putItem(`${this.base}seq`, `${this.base}order`, `${this.base}item:${id}`, id, json)) === 1) return id;
          }
        },
        // Not there may mean delivered already: another instance can take it from the new master
        // and ack it before this looks. Pushing it again would post it twice.
        async (id) => (await this.client.get(`${this.base}item:${id}`)) === json || (await this.client.get(`${this.base}acked:${id}`)) === sha1(json),
      );
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
    const once = `${this.base}once:${onceId}`;
    try {
      // A repeat waits too: the first push may be the one still on its way to the replicas. The
      // once-id outlives the item (an instance may have delivered it already), so it is what
      // says the push is there.
      const id = await this.durably(
        () => this.client.pushOnce(`${this.base}seq`, `${this.base}order`, once, this.base, json, Math.ceil(this.rememberMs)),
        async () => (await this.client.exists(once)) === 1,
      );
      return id !== 0;
    } catch (err) {
      throw this.error("push", err);
    }
  }

  async peek(limit: number, skipKeys?: ReadonlySet<string>): Promise<QueueItem<T>[]> {
    this.checkOpen();
    checkLimit(limit);
    const damaged = new Set<string>();
    let split: number;
    let reply: string[];
    try {
      // The leases are waited for like a write: lost in a failover, another instance would post
      // the same items at once. Claiming again is idempotent for our own leases, and its answer
      // is the one handed out. An empty claim wrote no lease and waits for nothing.
      reply = await this.durably(
        async () => {
          const reply = await this.client.claimHeads(`${this.base}order`, this.base, this.token, this.leaseMs, limit, PEEK_MAX_SCAN, ...(skipKeys ?? []));
          for (const id of reply.slice(reply.indexOf("damaged") + 1)) damaged.add(id);
          return reply;
        },
        async () => false,
        (reply) => reply.indexOf("damaged") > 0,
      );
      split = reply.indexOf("damaged");
    } catch (err) {
      throw this.error("peek", err);
    } finally {
      if (damaged.size > 0) {
        this.options.onBackgroundError?.(new Error(`redis queue ${this.options.name}: set aside ${damaged.size} damaged item(s) (${[...damaged].join(", ")}) in ${this.base}damaged`));
      }
    }
    const items: QueueItem<T>[] = [];
    for (let i = 0; i < split; i += 2) {
      const entry = JSON.parse(reply[i + 1]) as { key: string; value: T; enqueuedAt: number };
      items.push({ id: reply[i], key: entry.key, value: entry.value, enqueuedAt: entry.enqueuedAt });
      this.out.set(reply[i], entry.key);
      this.leases.hold(this.leaseKey(entry.key), this.token);
    }
    return items;
  }

  async ack(id: string): Promise<void> {
    this.checkOpen();
    // Its first write gives the lease back, so it is not renewed from here on (an ack that then
    // fails leaves the item to come again after the lease: a repeat, never a loss).
    const key = this.out.get(id);
    if (key !== undefined) this.leases.release(this.leaseKey(key));
    this.out.delete(id);
    try {
      // Refused during a failover, or lost in one, an ack would make the item go to courier
      // again: it is done again on the new master until a replica has it. The item is there to be
      // acked while it is in `order` or has its `item:`. Past the patience the delivery still
      // succeeded, so the caller goes on and the shortfall is reported.
      await this.durablyRemoved(
        () => this.client.ackItem(`${this.base}order`, this.base, this.token, id, ACKED_MEMORY_MS),
        async () => (await this.client.zscore(`${this.base}order`, id)) === null && (await this.client.exists(`${this.base}item:${id}`)) === 0,
        (err) => this.options.onBackgroundError?.(this.error(`replicating the ack of item ${id}`, err)),
      );
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
    this.leases.close();
    await closeRedis(this.client);
  }

  private leaseKey(key: string): string {
    return `${this.base}lease:${key}`;
  }

  private error(what: string, err: unknown): Error {
    return new Error(`redis queue ${this.options.name} (${this.location}): ${what} failed: ${this.scrub(err)}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error(`redis queue ${this.options.name} is closed`);
  }
}

/** As Redis's `redis.sha1hex` gives it for the stored entry. */
function sha1(json: string): string {
  return createHash("sha1").update(json, "utf8").digest("hex");
}
