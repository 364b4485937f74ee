/**
 * The trace in memory: the fallback of lib/trace/log.ts while no store is open (a flow without
 * one, a `memory:` store, the moments before the store opens) or when a write to the store's
 * log failed. At most `maxEvents` events and `maxAgeMs`, oldest first out; lookups by RapidPro
 * id, SMSC id or phone number through maps, so a query costs no scan.
 */
import { boundedEvent, boundedQuery, inOrder, MAX_IDS_PER_PHONE, messageKey, TRACE_MAX_AGE_MS, type TraceEvent, type TraceQuery } from "./event";
import { digitsOf } from "./mask";

export interface TraceLogOptions {
  maxEvents?: number;
  maxAgeMs?: number;
  /** Ids a phone number query follows at most. */
  maxIdsPerQuery?: number;
  now?: () => number;
}

/** About 30 MB at ~300 bytes an event; kept only while no store holds the trace (docs/design.md decision 33). */
export const TRACE_MAX_EVENTS = 100_000;

export class TraceLog {
  private readonly events: Array<TraceEvent | undefined> = [];
  private head = 0;
  /**
   * Events per message (messageKey). Lists stay short (one message's steps), so dropping the
   * oldest from the front is cheap.
   */
  private readonly byMessage = new Map<string, TraceEvent[]>();
  /** SMSC id to the message it belongs to. */
  private readonly bySmsc = new Map<string, string>();
  /**
   * Per message, the SMSC ids and phone digits its events put in bySmsc and byPhone, so that they
   * go with its last event, which may name neither (courier's answer to a status call).
   */
  private readonly waysTo = new Map<string, { smscIds: string[]; phones: string[] }>();
  /** Phone digits to the messages it was seen in, the latest `maxIdsPerQuery` only. */
  private readonly byPhone = new Map<string, string[]>();
  private maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly maxIds: number;
  private readonly now: () => number;

  constructor(options: TraceLogOptions = {}) {
    this.maxEvents = Math.max(1, options.maxEvents ?? TRACE_MAX_EVENTS);
    this.maxAgeMs = options.maxAgeMs ?? TRACE_MAX_AGE_MS;
    this.maxIds = options.maxIdsPerQuery ?? MAX_IDS_PER_PHONE;
    this.now = options.now ?? Date.now;
  }

  /** Off (`rapidproSms.trace: false`): nothing is recorded. */
  enabled = true;

  get size(): number {
    return this.events.length - this.head;
  }

  get limit(): number {
    return this.maxEvents;
  }

  /** A new bound; the oldest events go at once when it is lower than the log's size. */
  set limit(maxEvents: number) {
    this.maxEvents = Math.max(1, maxEvents);
    while (this.size > this.maxEvents) this.evictOldest();
    this.compact();
  }

  record(recorded: TraceEvent): void {
    if (!this.enabled) return;
    const event = boundedEvent(recorded);
    const key = messageKey(event);
    if (key === undefined) return;
    this.events.push(event);
    const list = this.byMessage.get(key);
    if (list) list.push(event);
    else this.byMessage.set(key, [event]);
    if (event.smscIds) {
      for (const smscId of event.smscIds) {
        if (!smscId) continue;
        this.bySmsc.set(smscId, key);
        const ways = this.waysOf(key);
        if (!ways.smscIds.includes(smscId)) ways.smscIds.push(smscId);
      }
    }
    if (event.phone) {
      const digits = digitsOf(event.phone);
      const ways = this.waysOf(key);
      if (!ways.phones.includes(digits)) ways.phones.push(digits);
      const keys = this.byPhone.get(digits);
      if (!keys) this.byPhone.set(digits, [key]);
      else if (keys[keys.length - 1] !== key && !keys.includes(key)) {
        keys.push(key);
        if (keys.length > this.maxIds) keys.shift();
      }
    }
    if (this.size > this.maxEvents) this.evictOldest();
    this.compact();
  }

  /** Every event of the messages the query names, oldest first; drops what is past maxAgeMs. */
  find(asked: TraceQuery): TraceEvent[] {
    this.expire();
    const query = boundedQuery(asked);
    const keys = new Set<string>();
    if (query.id) keys.add(query.id);
    if (query.smscId) {
      const key = this.bySmsc.get(query.smscId);
      if (key !== undefined) keys.add(key);
    }
    if (query.phone) for (const key of this.byPhone.get(digitsOf(query.phone)) ?? []) keys.add(key);
    const found: TraceEvent[] = [];
    for (const key of keys) found.push(...(this.byMessage.get(key) ?? []));
    return inOrder(found);
  }

  private expire(): void {
    const limit = this.now() - this.maxAgeMs;
    while (this.size > 0 && (this.events[this.head] as TraceEvent).at < limit) this.evictOldest();
  }

  /** Drops the evicted head once it is large; amortised O(1). */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
  }

  private evictOldest(): void {
    const oldest = this.events[this.head] as TraceEvent;
    this.events[this.head] = undefined;
    this.head++;
    const key = messageKey(oldest) as string;
    const list = this.byMessage.get(key);
    if (!list) return;
    // A message's events are recorded in order, so its oldest is its first.
    if (list[0] === oldest) list.shift();
    else list.splice(list.indexOf(oldest), 1);
    if (list.length > 0) return;
    // The message is gone: so are the ways to it, every event's, not only this last one's.
    this.byMessage.delete(key);
    const ways = this.waysTo.get(key);
    if (!ways) return;
    this.waysTo.delete(key);
    for (const smscId of ways.smscIds) if (this.bySmsc.get(smscId) === key) this.bySmsc.delete(smscId);
    for (const digits of ways.phones) this.forgetPhone(digits, key);
  }

  /** SMSC ids and phone numbers that lead to a message still held (for tests: one left behind would leak). */
  get ways(): number {
    return this.bySmsc.size + this.byPhone.size;
  }

  private waysOf(key: string): { smscIds: string[]; phones: string[] } {
    let ways = this.waysTo.get(key);
    if (!ways) {
      ways = { smscIds: [], phones: [] };
      this.waysTo.set(key, ways);
    }
    return ways;
  }

  private forgetPhone(digits: string, key: string): void {
    const keys = this.byPhone.get(digits);
    if (!keys) return;
    const at = keys.indexOf(key);
    if (at >= 0) keys.splice(at, 1);
    if (keys.length === 0) this.byPhone.delete(digits);
  }
}
