/**
 * Parts of long MOs kept in Redis, where every instance sharing the store can complete the
 * message (docs/design.md decision 36; the rules around it are in lib/sms/held-parts.ts).
 *
 * Keys under `<prefix>mo-parts:<bind>:`:
 * - `g:<group>`  hash of one message's parts: `p:<seq>` the stored part, `n` how many,
 *                `claim` until when (epoch ms) one instance is handing the message over,
 *                `claimer` the token of the add that claimed it;
 * - `groups`     sorted set of groups by their first part's arrival, for the timeout sweep;
 * - `released:<group>` for `RELEASED_MEMORY_MS` after a release, `p:<seq>` the SHA-1 of each part
 *                that went, so an add looking for its part after a failover tells "handed over
 *                already by another instance" from "lost".
 *
 * One script per step, so two instances never both complete a message: the part that
 * completes a group is not stored, it claims the group and gets the others back; the claim
 * ends with `release` (handed over: the group goes) or `unclaim` (it was not: the SMSC will
 * deliver that part again). A claim whose holder died runs out after `claimMs`. An add sent
 * again by ioredis (its reply lost to a reconnect) finds its own claim by its token and
 * completes again instead of answering "busy" until the claim runs out.
 */
import { createHash, randomUUID } from "node:crypto";
import type Redis from "ioredis";
import { closeRedis, connectRedis, type RedisConnection } from "./redis-connection";

/** KEYS: group, index. ARGV: member, seq, total, part JSON, now, claimMs, ttlMs, claim token. */
const ADD = `
local member, seq, total, json = ARGV[1], ARGV[2], tonumber(ARGV[3]), ARGV[4]
local now, claimMs, ttl = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
if redis.call('HEXISTS', KEYS[1], 'p:' .. seq) == 1 then return {'duplicate'} end
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
if n + 1 < total then
  redis.call('HSET', KEYS[1], 'p:' .. seq, json, 'n', n + 1)
  if n == 0 then redis.call('ZADD', KEYS[2], now, member) end
  redis.call('PEXPIRE', KEYS[1], ttl)
  return {'kept'}
end
local claim = tonumber(redis.call('HGET', KEYS[1], 'claim') or '0')
if claim > now and redis.call('HGET', KEYS[1], 'claimer') ~= ARGV[8] then return {'busy'} end
redis.call('HSET', KEYS[1], 'claim', now + claimMs, 'claimer', ARGV[8])
local out = {'complete'}
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'p:' then table.insert(out, all[i + 1]) end
end
return out
`;

/** KEYS: index. ARGV: group key base, cutoff, now, claimMs, limit. Claims groups older than cutoff. */
const CLAIM_EXPIRED = `
local base, cutoff, now, claimMs = ARGV[1], ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local members = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', cutoff, 'LIMIT', 0, tonumber(ARGV[5]))
local out = {}
for _, m in ipairs(members) do
  local key = base .. m
  if redis.call('EXISTS', key) == 0 then
    redis.call('ZREM', KEYS[1], m)
  elseif tonumber(redis.call('HGET', key, 'claim') or '0') <= now then
    redis.call('HSET', key, 'claim', now + claimMs)
    redis.call('HDEL', key, 'claimer')
    local parts = {}
    local all = redis.call('HGETALL', key)
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'p:' then table.insert(parts, all[i + 1]) end
    end
    table.insert(out, m)
    table.insert(out, #parts)
    for _, p in ipairs(parts) do table.insert(out, p) end
  end
end
return out
`;

/**
 * How long a released group's parts are remembered: longer than an add can spend looking for its
 * part after a failover (FAILOVER_PATIENCE_MS, 15 s).
 */
const RELEASED_MEMORY_MS = 30_000;

/** KEYS: group, index, released. ARGV: member, RELEASED_MEMORY_MS. */
const RELEASE = `
local all = redis.call('HGETALL', KEYS[1])
for i = 1, #all, 2 do
  if string.sub(all[i], 1, 2) == 'p:' then redis.call('HSET', KEYS[3], all[i], redis.sha1hex(all[i + 1])) end
end
if #all > 0 then redis.call('PEXPIRE', KEYS[3], ARGV[2]) end
redis.call('DEL', KEYS[1])
redis.call('ZREM', KEYS[2], ARGV[1])
return 1
`;

export type AddOutcome = { status: "kept" | "duplicate" | "busy" } | { status: "complete"; parts: string[] };

type RedisWithScripts = Redis & {
  addPart(group: string, index: string, ...args: (string | number)[]): Promise<string[]>;
  claimExpired(index: string, ...args: (string | number)[]): Promise<Array<string | number>>;
  releaseGroup(group: string, index: string, released: string, member: string, releasedMemoryMs: number): Promise<number>;
};

export class RedisPartGroups {
  private readonly client: RedisWithScripts;
  private readonly base: string;
  private readonly location: string;
  private readonly scrub: (err: unknown) => string;
  private readonly durably: RedisConnection["durably"];
  private readonly durablyRemoved: RedisConnection["durablyRemoved"];
  private readonly onBackgroundError?: (err: Error) => void;
  private readonly retryRefused: <R>(write: () => Promise<R>) => Promise<R>;
  private closed = false;

  constructor(options: { url: string; bind: string; prefix?: string; onBackgroundError?: (err: Error) => void }) {
    const connection = connectRedis(options.url, {
      prefix: options.prefix,
      onError: (message) => options.onBackgroundError?.(new Error(`redis long MO parts (${connection.location}): connection failed: ${message}`)),
    });
    this.client = connection.client as RedisWithScripts;
    this.location = connection.location;
    this.scrub = connection.scrub;
    this.durably = connection.durably;
    this.durablyRemoved = connection.durablyRemoved;
    this.onBackgroundError = options.onBackgroundError;
    this.retryRefused = connection.retryRefused;
    this.base = `${options.prefix ?? "rapidpro-sms:"}mo-parts:${options.bind}:`;
    this.client.defineCommand("addPart", { numberOfKeys: 2, lua: ADD });
    this.client.defineCommand("claimExpired", { numberOfKeys: 1, lua: CLAIM_EXPIRED });
    this.client.defineCommand("releaseGroup", { numberOfKeys: 3, lua: RELEASE });
  }

  /** Adds a part; resolves once it is durable (replicated) when kept. */
  async add(group: string, seq: number, total: number, part: string, options: { now: number; claimMs: number; ttlMs: number }): Promise<AddOutcome> {
    this.checkOpen();
    const claimer = randomUUID();
    try {
      // A kept part is confirmed on the replicas over the connection that wrote it; after a
      // failover it is looked for on the new master and added again if missing (that add may now
      // complete the message, and its answer is the one returned). Not there may also mean handed
      // over already, by an instance that completed the message on the new master: added again,
      // it would go on as a partial MO.
      const reply = await this.durably(
        () => this.client.addPart(this.groupKey(group), this.indexKey(), group, seq, total, part, options.now, options.claimMs, Math.ceil(options.ttlMs), claimer),
        async () => (await this.client.hexists(this.groupKey(group), `p:${seq}`)) === 1 || (await this.client.hget(this.releasedKey(group), `p:${seq}`)) === sha1(part),
        ([status]) => status === "kept",
      );
      const [status, ...parts] = reply;
      if (status === "complete") return { status, parts };
      if (status === "kept" || status === "duplicate" || status === "busy") return { status };
      throw new Error(`unexpected reply ${JSON.stringify(status)}`);
    } catch (err) {
      throw this.error("keeping a part", err);
    }
  }

  /** Claims up to `limit` groups whose first part came before `cutoff`, with their parts. */
  async claimExpired(cutoff: number, options: { now: number; claimMs: number; limit: number }): Promise<Array<{ group: string; parts: string[] }>> {
    this.checkOpen();
    let reply: Array<string | number>;
    try {
      reply = await this.client.claimExpired(this.indexKey(), `${this.base}g:`, cutoff, options.now, options.claimMs, options.limit);
    } catch (err) {
      throw this.error("sweeping", err);
    }
    const out: Array<{ group: string; parts: string[] }> = [];
    for (let i = 0; i < reply.length; ) {
      const group = String(reply[i]);
      const count = Number(reply[i + 1]);
      out.push({ group, parts: reply.slice(i + 2, i + 2 + count).map(String) });
      i += 2 + count;
    }
    return out;
  }

  /** The message was handed over: its parts go. */
  async release(group: string): Promise<void> {
    this.checkOpen();
    try {
      // Lost in a failover, the parts would come back and go on as a partial MO after the claim:
      // removed again on the new master until a replica has it; past the patience, reported.
      await this.durablyRemoved(
        () => this.client.releaseGroup(this.groupKey(group), this.indexKey(), this.releasedKey(group), group, RELEASED_MEMORY_MS),
        async () => (await this.client.exists(this.groupKey(group))) === 0,
        (err) => this.onBackgroundError?.(this.error("replicating the release of parts", err)),
      );
    } catch (err) {
      throw this.error("letting parts go", err);
    }
  }

  /** The hand-over failed: the group waits again for its completing part. */
  async unclaim(group: string): Promise<void> {
    this.checkOpen();
    try {
      // Refused during a failover, the claim would hold the message for claimMs.
      await this.retryRefused(() => this.client.hdel(this.groupKey(group), "claim", "claimer"));
    } catch (err) {
      throw this.error("giving a claim back", err);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeRedis(this.client);
  }

  private groupKey(group: string): string {
    return `${this.base}g:${group}`;
  }

  private releasedKey(group: string): string {
    return `${this.base}released:${group}`;
  }

  private indexKey(): string {
    return `${this.base}groups`;
  }

  private error(what: string, err: unknown): Error {
    return new Error(`redis long MO parts (${this.location}): ${what} failed: ${this.scrub(err)}`);
  }

  private checkOpen(): void {
    if (this.closed) throw new Error("redis long MO parts: closed");
  }
}

/** As Redis's `redis.sha1hex` gives it for the stored part. */
function sha1(text: string): string {
  return createHash("sha1").update(text, "utf8").digest("hex");
}
