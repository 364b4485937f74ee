/**
 * What the trace records: one step in the life of a message, and how a message is named. Every
 * log of events (memory-log.ts, embedded-log.ts, redis-log.ts) files an event under the same
 * message key and answers the same queries.
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

/** 72 h: as long as the correlation store keeps a message (lib/store/types.ts DEFAULT_TTL_MS). */
export const TRACE_MAX_AGE_MS = 72 * 60 * 60 * 1000;
/** Messages a phone number query follows at most (the latest ones). */
export const MAX_IDS_PER_PHONE = 50;
/** Messages an SMSC id query follows at most (an id an SMSC reused, or an unmatched receipt beside its message). */
export const MAX_IDS_PER_SMSC_ID = 10;
/** Events one query answers at most: the latest ones. */
export const MAX_EVENTS_PER_ANSWER = 1_000;

/**
 * The message an event belongs to: its RapidPro id, or for an event without one (an unmatched
 * receipt, an MO) `#smsc:<id>` or `#phone:<digits>`; undefined for an event that names none.
 */
export function messageKey(e: TraceEvent): string | undefined {
  if (e.id) return e.id;
  if (e.smscIds?.[0]) return `#smsc:${e.smscIds[0]}`;
  if (e.phone) return `#phone:${digitsOf(e.phone)}`;
  return undefined;
}

/** Longest text kept in one field of a stored event; `detail` may be longer. */
const MAX_FIELD_CHARS = 200;
const MAX_DETAIL_CHARS = 500;
const MAX_SMSC_IDS = 16;

/**
 * The event as a log keeps it: every text field cut to a bounded length and at most
 * MAX_SMSC_IDS SMSC ids, so that a count of events bounds the log's size too (about 5 KB an
 * event at worst, a few hundred bytes as events come). The same object when nothing is too long,
 * which is every event the bridge's own nodes record.
 */
export function boundedEvent(e: TraceEvent): TraceEvent {
  const long = (s: unknown, max: number) => typeof s === "string" && s.length > max;
  const ids = e.smscIds;
  if (
    !long(e.id, MAX_FIELD_CHARS) &&
    !long(e.phone, MAX_FIELD_CHARS) &&
    !long(e.via, MAX_FIELD_CHARS) &&
    !long(e.status, MAX_FIELD_CHARS) &&
    !long(e.detail, MAX_DETAIL_CHARS) &&
    (!ids || (ids.length <= MAX_SMSC_IDS && !ids.some((id) => long(id, MAX_FIELD_CHARS))))
  ) {
    return e;
  }
  return {
    ...e,
    id: cut(e.id, MAX_FIELD_CHARS),
    phone: cut(e.phone, MAX_FIELD_CHARS),
    via: cut(e.via, MAX_FIELD_CHARS),
    status: cut(e.status, MAX_FIELD_CHARS),
    detail: cut(e.detail, MAX_DETAIL_CHARS),
    smscIds: ids?.slice(0, MAX_SMSC_IDS).map((id) => cut(id, MAX_FIELD_CHARS)),
  };
}

/** A query's ids cut as boundedEvent cuts them, so that a very long id still finds its events. */
export function boundedQuery(query: TraceQuery): TraceQuery {
  return { id: cut(query.id, MAX_FIELD_CHARS), smscId: cut(query.smscId, MAX_FIELD_CHARS), phone: query.phone };
}

function cut<T>(s: T, max: number): T {
  return typeof s === "string" && s.length > max ? (`${s.slice(0, max)}…` as T) : s;
}

/** Events oldest first (stable: events of one instant stay in the order recorded), the latest MAX_EVENTS_PER_ANSWER. */
export function inOrder(events: TraceEvent[]): TraceEvent[] {
  events.sort((a, b) => a.at - b.at);
  return events.length > MAX_EVENTS_PER_ANSWER ? events.slice(-MAX_EVENTS_PER_ANSWER) : events;
}
