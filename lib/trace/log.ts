/**
 * The trace: a bounded log of what happened to each message (courier's request, each part's
 * submit and answer, each receipt, each status handed to courier and courier's answer, MO),
 * found by RapidPro id, SMSC message id or phone number. Kept in memory per Node-RED process,
 * at most `maxEvents` events and `maxAgeMs` (72 h, as long as the correlation store keeps a
 * message), oldest first out; docs/design.md decision 20 says why it is not written to disk.
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
/** About 30 MB at ~300 bytes an event; a busy bridge keeps fewer than 72 h (see decision 20). */
export const TRACE_MAX_EVENTS = 100_000;

export class TraceLog {
  private readonly events: Array<TraceEvent | undefined> = [];
  private head = 0;
  private readonly byKey = new Map<string, TraceEvent[]>();
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

  get size(): number {
    return this.events.length - this.head;
  }

  record(event: TraceEvent): void {
    this.events.push(event);
    for (const key of keysOf(event)) {
      const list = this.byKey.get(key);
      if (list) list.push(event);
      else this.byKey.set(key, [event]);
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
    const found = new Set<TraceEvent>();
    const ids = new Set<string>();
    const add = (list: TraceEvent[] | undefined) => {
      for (const e of list ?? []) {
        found.add(e);
        if (e.id !== undefined && ids.size < this.maxIds) ids.add(e.id);
      }
    };
    if (query.id) add(this.byKey.get(`id:${query.id}`));
    if (query.smscId) add(this.byKey.get(`smsc:${query.smscId}`));
    if (query.phone) {
      const digits = digitsOf(query.phone);
      if (digits) add(this.byKey.get(`phone:${digits}`));
    }
    // An SMSC id or a number leads to messages; show each message's whole life.
    for (const id of ids) for (const e of this.byKey.get(`id:${id}`) ?? []) found.add(e);
    return [...found].sort((a, b) => a.at - b.at);
  }

  private expire(): void {
    const limit = this.now() - this.maxAgeMs;
    while (this.size > 0 && (this.events[this.head] as TraceEvent).at < limit) this.evictOldest();
  }

  private evictOldest(): void {
    const oldest = this.events[this.head] as TraceEvent;
    this.events[this.head] = undefined;
    this.head++;
    for (const key of keysOf(oldest)) {
      const list = this.byKey.get(key);
      if (!list) continue;
      // Lists are in record order, so the oldest event of a list is its first.
      if (list[0] === oldest) list.shift();
      else list.splice(list.indexOf(oldest), 1);
      if (list.length === 0) this.byKey.delete(key);
    }
  }
}

function keysOf(e: TraceEvent): string[] {
  const keys: string[] = [];
  if (e.id !== undefined && e.id !== "") keys.push(`id:${e.id}`);
  if (e.smscIds) for (const s of e.smscIds) if (s) keys.push(`smsc:${s}`);
  if (e.phone) {
    const digits = digitsOf(e.phone);
    if (digits) keys.push(`phone:${digits}`);
  }
  return keys;
}

/** The one trace of this Node-RED process (module state outlives a redeploy). */
export const traceLog = new TraceLog();
