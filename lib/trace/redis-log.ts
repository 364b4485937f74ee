/**
 * The trace beside a Redis store, shared by every Node-RED instance on that Redis, so each sees
 * every instance's events and a restart keeps them (docs/design.md decision 33).
 *
 * Keys (under `<prefix>trace:`):
 * - `m:<message>`  a list of the message's events (JSON), the latest EVENTS_PER_MESSAGE;
 * - `s:<smscId>`   a sorted set of the messages that SMSC id appeared in, by time, the latest 10;
 * - `p:<digits>`   the same for a phone number, the latest 50;
 * - `messages`     every message held, by the time of its latest event: what pruning reads.
 * Each key expires maxAgeMs after its latest write, and `messages` is cut to maxMessages.
 *
 * One batch (one event-loop turn's events, lib/trace/log.ts) is one script call: the script
 * files the events and applies the bounds, removing at most PRUNE_PER_WRITE messages per call,
 * so pruning comes in steps as small as the writes. Like the store's scripts, it names keys it
 * did not declare: one Redis master (with Sentinel), never Redis Cluster (lib/store/redis.ts).
 */
import type Redis from "ioredis";
import { closeRedis, connectRedis } from "../store/redis-connection";
import { boundedEvent, boundedQuery, inOrder, MAX_IDS_PER_PHONE, MAX_IDS_PER_SMSC_ID, messageKey, TRACE_MAX_AGE_MS, type TraceEvent, type TraceQuery } from "./event";
import { digitsOf } from "./mask";

/** Messages kept at most (about 3 KB each in Redis as events come). */
export const REDIS_TRACE_MAX_MESSAGES = 100_000;
/** Events kept per message: a message's own steps are far fewer; an MO sender's key gathers many. */
export const EVENTS_PER_MESSAGE = 200;
/** Messages a write's script removes at most, over the count or the age. */
const PRUNE_PER_WRITE = 100;

/**
 * ARGV: prefix, maxAgeMs, now, maxMessages, eventsPerMessage, prunePerWrite, then per message:
 * its key, the time of its latest event, its SMSC ids and phone digits ("\n" between), the
 * number of its events, and the events' JSON.
 */
const APPEND = `
local p, ttl, now, maxMessages, perMessage, budget = ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5]), tonumber(ARGV[6])
local messages = p .. 'messages'
-- ZADD GT (Redis 6.2) by hand: a member's score only moves forward.
local function latest(key, at, member)
  local score = redis.call('ZSCORE', key, member)
  if not score or tonumber(score) < tonumber(at) then redis.call('ZADD', key, at, member) end
end
local i = 7
while i <= #ARGV do
  local key, at, smsc, phones, n = ARGV[i], ARGV[i + 1], ARGV[i + 2], ARGV[i + 3], tonumber(ARGV[i + 4])
  local list = p .. 'm:' .. key
  redis.call('RPUSH', list, unpack(ARGV, i + 5, i + 4 + n))
  redis.call('LTRIM', list, -perMessage, -1)
  redis.call('PEXPIRE', list, ttl)
  latest(messages, at, key)
  for id in string.gmatch(smsc, '[^\\n]+') do
    local s = p .. 's:' .. id
    latest(s, at, key)
    redis.call('ZREMRANGEBYRANK', s, 0, -${MAX_IDS_PER_SMSC_ID + 1})
    redis.call('PEXPIRE', s, ttl)
  end
  for digits in string.gmatch(phones, '[^\\n]+') do
    local ph = p .. 'p:' .. digits
    latest(ph, at, key)
    redis.call('ZREMRANGEBYRANK', ph, 0, -${MAX_IDS_PER_PHONE + 1})
    redis.call('PEXPIRE', ph, ttl)
  end
  i = i + 5 + n
end
local removed = 0
local over = redis.call('ZCARD', messages) - maxMessages
if over > 0 then
  local gone = redis.call('ZPOPMIN', messages, math.min(over, budget))
  for j = 1, #gone, 2 do redis.call('DEL', p .. 'm:' .. gone[j]) end
  removed = #gone / 2
end
if removed < budget then
  local old = redis.call('ZRANGEBYSCORE', messages, '-inf', '(' .. (now - ttl), 'LIMIT', 0, budget - removed)
  for j = 1, #old do
    redis.call('ZREM', messages, old[j])
    redis.call('DEL', p .. 'm:' .. old[j])
  end
  removed = removed + #old
end
return removed
`;

export interface RedisTraceLogOptions {
  url: string;
  /** Key prefix, as the store's (lib/store/redis.ts); the trace's keys go under `<prefix>trace:`. */
  prefix?: string;
  maxMessages?: number;
  maxAgeMs?: number;
  now?: () => number;
  /** Told about connection errors; messages carry no password. */
  onBackgroundError?: (err: Error) => void;
}

type RedisWithAppend = Redis & { appendTrace(numberOfKeys: number, ...args: string[]): Promise<number> };

export class RedisTraceLog {
  readonly backend = "redis";
  private readonly client: RedisWithAppend;
  private readonly prefix: string;
  private readonly maxMessages: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly scrub: (err: unknown) => string;
  readonly location: string;
  private closed = false;

  constructor(options: RedisTraceLogOptions) {
    this.prefix = `${options.prefix ?? "rapidpro-sms:"}trace:`;
    this.maxMessages = Math.max(1, options.maxMessages ?? REDIS_TRACE_MAX_MESSAGES);
    this.maxAgeMs = options.maxAgeMs ?? TRACE_MAX_AGE_MS;
    this.now = options.now ?? Date.now;
    // One reconnect's wait at most: a trace write never queues behind a long outage. The store's
    // own connection reports every failed reconnect already; this one says so once a minute.
    let reported = -Infinity;
    const connection = connectRedis(options.url, {
      maxRetriesPerRequest: 1,
      onError: (message) => {
        if (Date.now() - reported < 60_000) return;
        reported = Date.now();
        options.onBackgroundError?.(new Error(`trace log (${connection.location}): ${message}`));
      },
    });
    this.client = connection.client as RedisWithAppend;
    this.client.defineCommand("appendTrace", { lua: APPEND });
    this.scrub = connection.scrub;
    this.location = connection.location;
  }

  /** Writes one batch with one script call; resolves with how many messages the bounds removed. */
  async append(batch: readonly TraceEvent[]): Promise<number> {
    if (this.closed || batch.length === 0) return 0;
    const byMessage = new Map<string, { at: number; smsc: Set<string>; phones: Set<string>; events: string[] }>();
    for (const recorded of batch) {
      const e = boundedEvent(recorded);
      const key = messageKey(e);
      if (key === undefined) continue;
      let m = byMessage.get(key);
      if (!m) byMessage.set(key, (m = { at: e.at, smsc: new Set(), phones: new Set(), events: [] }));
      m.at = Math.max(m.at, e.at);
      if (e.smscIds) for (const id of e.smscIds) if (id) m.smsc.add(id);
      if (e.phone) m.phones.add(digitsOf(e.phone));
      m.events.push(JSON.stringify(e));
    }
    const args = [this.prefix, String(this.maxAgeMs), String(this.now()), String(this.maxMessages), String(EVENTS_PER_MESSAGE), String(PRUNE_PER_WRITE)];
    for (const [key, m] of byMessage) args.push(key, String(m.at), [...m.smsc].join("\n"), [...m.phones].join("\n"), String(m.events.length), ...m.events);
    try {
      return await this.client.appendTrace(0, ...args);
    } catch (err) {
      throw new Error(`trace log (${this.location}): write failed: ${this.scrub(err)}`);
    }
  }

  /** Every event of the messages the query names, from every instance, oldest first. */
  async find(asked: TraceQuery): Promise<TraceEvent[]> {
    if (this.closed) return [];
    const query = boundedQuery(asked);
    try {
      const keys = new Set<string>();
      if (query.id) keys.add(query.id);
      if (query.smscId) for (const key of await this.client.zrevrange(`${this.prefix}s:${query.smscId}`, 0, MAX_IDS_PER_SMSC_ID - 1)) keys.add(key);
      const digits = query.phone ? digitsOf(query.phone) : "";
      if (digits) for (const key of await this.client.zrevrange(`${this.prefix}p:${digits}`, 0, MAX_IDS_PER_PHONE - 1)) keys.add(key);
      if (keys.size === 0) return [];
      const pipeline = this.client.pipeline();
      for (const key of keys) pipeline.lrange(`${this.prefix}m:${key}`, 0, -1);
      const lists = (await pipeline.exec()) ?? [];
      const cutoff = this.now() - this.maxAgeMs;
      const found: TraceEvent[] = [];
      for (const [err, list] of lists) {
        if (err) throw err;
        for (const text of list as string[]) {
          const e = parseEvent(text);
          if (e && e.at >= cutoff) found.push(e);
        }
      }
      return inOrder(found);
    } catch (err) {
      throw new Error(`trace log (${this.location}): query failed: ${this.scrub(err)}`);
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await closeRedis(this.client);
  }
}

/** One stored event, or undefined for text that is not one (a damaged or foreign value). */
function parseEvent(text: string): TraceEvent | undefined {
  try {
    const e = JSON.parse(text) as TraceEvent;
    return e && typeof e === "object" && typeof e.at === "number" && typeof e.step === "string" ? e : undefined;
  } catch {
    return undefined;
  }
}
