/**
 * The correlation store: aggregator message id to RapidPro message id, plus the per-part
 * state of multi-part messages, so that a receipt can become one RapidPro status.
 *
 * Every implementation keeps the same semantics:
 * - `put` resolves only once the entry is as durable as that implementation can make it;
 * - entries expire `ttlMs` after they were written;
 * - ids are compared exactly (callers normalise them first);
 * - `markPart` is atomic per message, so two receipts for parts of one message never
 *   overwrite each other, and a status is reported at most once and never goes backwards.
 */
import type { StatusName } from "../contract";

export type PartState = "pending" | "sent" | "delivered" | "failed";

export interface Correlation {
  /** RapidPro message id. */
  rapidproId: string;
  /** Every part's aggregator id, in part order. */
  parts: string[];
  /** State of each part, in the same order as `parts`. */
  states: PartState[];
  /** Reason of the first failed part, if any. */
  reason?: string;
  /** The last status reported for the whole message. */
  reported?: StatusName;
  /** Epoch ms when written. */
  createdAt: number;
}

/** What a receipt changed: the message it belongs to, and the status to report, if any. */
export interface PartUpdate {
  rapidproId: string;
  /** Set when the message's overall status moved forward and must reach RapidPro. */
  report?: { status: StatusName; reason?: string };
}

export interface CorrelationStore {
  /** Records a message submitted as one or more parts; resolves when durable. */
  put(rapidproId: string, partIds: string[]): Promise<void>;
  /** The record that holds this aggregator part id, if any. */
  findByPart(partId: string): Promise<Correlation | undefined>;
  /**
   * The latest submission of this RapidPro message, if any is still held: how a resent MT is
   * recognised as one the aggregator already accepted (see lib/store/earlier-submission.ts).
   */
  findByMessage(rapidproId: string): Promise<Correlation | undefined>;
  /** Applies one part's receipt; undefined when no message has that part id. */
  markPart(partId: string, state: PartState, reason?: string): Promise<PartUpdate | undefined>;
  /** Releases files, connections and timers. */
  close(): Promise<void>;
}

/** 72 hours: some SMSCs deliver receipts days late. */
export const DEFAULT_TTL_MS = 72 * 60 * 60 * 1000;
