/**
 * The trace: a bounded log of what happened to each message (courier's request, each part's
 * submit and answer, each receipt, each status handed to courier and courier's answer, MO),
 * found by RapidPro id, SMSC message id or phone number. Kept in memory per Node-RED process,
 * at most `maxEvents` events and `maxAgeMs` (72 h, as long as the correlation store keeps a
 * message), oldest first out; docs/design.md decision 33 says why it is not written to disk.
 */
import { digitsOf } from "./mask";

export type TraceStep =
  /** courier sent an MT (rapidpro-in). */
  | "courier-request"
  /** One part submitted and the aggregator's answer (`sentAt` .. `at`). */
  | "submit"
  /** courier's held request answered (rapidpro-out), or answered 503 on timeout. */
  | "courier-answer"
  /** A delivery receipt, matched (`id`) or not. */
  | "receipt"
  /** A status handed to courier (queued in the outbox or sent at once). */
  | "status"
  /** courier's answer to a call (status, MO, stopped). */
  | "courier-call"
  /** An MO received from the aggregator. */
  | "mo"
  /** An MO taken by RapidPro (or its outbox), or refused. */
  | "mo-handed-over";

export interface TraceEvent {
  at: number;
  step: TraceStep;
  /** RapidPro message id. */
  id?: string;
  /** Aggregator / SMSC ids this event concerns. */
  smscIds?: string[];
  /** The subscriber's number (MT destination, MO sender), unmasked; masked on the way out. */
  phone?: string;
  /** The config node (connection or channel) it happened on. */
  via?: string;
  part?: number;
  parts?: number;
  ok?: boolean;
  /** When the step began, for steps that take time (a submit). */
  sentAt?: number;
  /** Status word or code (SMPP command_status, HTTP status, delivered/failed…). */
  status?: string | number;
  detail?: string;
}

export interface TraceQuery {
  id?: string;
  smscId?: string;
  phone?: string;
}

export interface TraceLogOptions {
  maxEvents?: number;
  maxAgeMs?: number;
  /** Ids a phone number query follows at most. */
  maxIdsPerQuery?: number;
  now?: () => number;
}

export const TRACE_MAX_AGE_MS = 72 * 60 * 60 * 1000;
/** About 30 MB at ~300 bytes an event; a busy bridge keeps fewer than 72 h (see decision 33). */
export const TRACE_MAX_EVENTS = 100_000;

export class TraceLog {
  private readonly events: Array<TraceEvent | undefined> = [];
  private head = 0;
  /**
   * Events per message: keyed by RapidPro id, or for an event without one (an unmatched
   * receipt, an MO) by `#smsc:<id>` or `#phone:<digits>`. Lists stay short (one message's
   * steps), so dropping the oldest from the front is cheap.
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
  private readonly maxEvents: number;
  private readonly maxAgeMs: number;
  private readonly maxIds: number;
  private readonly now: () => number;

  constructor(options: TraceLogOptions = {}) {
    this.maxEvents = Math.max(1, options.maxEvents ?? TRACE_MAX_EVENTS);
    this.maxAgeMs = options.maxAgeMs ?? TRACE_MAX_AGE_MS;
    this.maxIds = options.maxIdsPerQuery ?? 50;
    this.now = options.now ?? Date.now;
  }

  /** Off (`rapidproSms.trace: false`): nothing is recorded. */
  enabled = true;

  get size(): number {
    return this.events.length - this.head;
  }

  record(event: TraceEvent): void {
    if (!this.enabled) return;
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
    // Compact the array once the evicted head is large; amortised O(1).
    if (this.head > 1024 && this.head * 2 > this.events.length) {
      this.events.splice(0, this.head);
      this.head = 0;
    }
  }

  /** Every event of the messages the query names, oldest first; drops what is past maxAgeMs. */
  find(query: TraceQuery): TraceEvent[] {
    this.expire();
    const keys = new Set<string>();
    if (query.id) keys.add(query.id);
    if (query.smscId) {
      const key = this.bySmsc.get(query.smscId);
      if (key !== undefined) keys.add(key);
    }
    if (query.phone) for (const key of this.byPhone.get(digitsOf(query.phone)) ?? []) keys.add(key);
    const found: TraceEvent[] = [];
    for (const key of keys) found.push(...(this.byMessage.get(key) ?? []));
    return found.sort((a, b) => a.at - b.at);
  }

  private expire(): void {
    const limit = this.now() - this.maxAgeMs;
    while (this.size > 0 && (this.events[this.head] as TraceEvent).at < limit) this.evictOldest();
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

/** The message an event belongs to; undefined for an event that names none. */
function messageKey(e: TraceEvent): string | undefined {
  if (e.id) return e.id;
  if (e.smscIds?.[0]) return `#smsc:${e.smscIds[0]}`;
  if (e.phone) return `#phone:${digitsOf(e.phone)}`;
  return undefined;
}

/** The one trace of this Node-RED process (module state outlives a redeploy). */
export const traceLog = new TraceLog();
