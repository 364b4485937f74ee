/**
 * The correlation store: for each RapidPro message, every submission of every part of it
 * (courier sends a long text as several requests with one id, reference
 * rapidpro-external-channel.md §4.1), each with its aggregator ids and their states, so that
 * receipts add up to one RapidPro status (the rule is in lib/delivery/aggregate.ts).
 *
 * Every implementation keeps the same semantics:
 * - `put` resolves only once the submission is as durable as that implementation can make it;
 * - a message's entry expires `ttlMs` after its first submission was written;
 * - ids are compared exactly (callers normalise them first);
 * - `put` and `markPart` are atomic per message, so two parts submitted at once, or two
 *   receipts of one message, never overwrite each other.
 */
import type { StatusName } from "../contract";

export type PartState = "pending" | "sent" | "delivered" | "failed";

/** One accepted submission of one courier request: a part's text, sent as one or more SMS. */
export interface Submission {
  /**
   * Digest of the request's text (`textDigest` in lib/delivery/submissions.ts), never the text itself. Absent in
   * submissions written by 0.1.0, which stored no text: such a submission matches no resend.
   */
  text?: string;
  /** Every SMS's aggregator id, in order. */
  parts: string[];
  /** State of each SMS, in the same order as `parts`. */
  states: PartState[];
  /** Epoch ms when written. */
  at: number;
}

export interface Correlation {
  /** RapidPro message id. */
  rapidproId: string;
  /** Every submission of every part of the message, oldest first. */
  submissions: Submission[];
  /**
   * Index of the submission that began the current round: a submission added after the
   * message was reported failed begins a new one (RapidPro resent it). 0 when absent.
   */
  round?: number;
  /** Reason of the round's first failed SMS, if any. */
  reason?: string;
  /** The last status reported in this round. */
  reported?: StatusName;
  /** Epoch ms when the first submission was written. */
  createdAt: number;
}

/** What a receipt changed: the message it belongs to, and the status to report, if any. */
export interface PartUpdate {
  rapidproId: string;
  /** Set when the message's overall status moved forward and must reach RapidPro. */
  report?: { status: StatusName; reason?: string; smscId: string };
}

export interface CorrelationStore {
  /**
   * Adds an accepted submission (its SMS ids, and the digest of the request's text) to the
   * RapidPro message's entry, creating the entry if needed; resolves when durable.
   */
  put(rapidproId: string, partIds: string[], text?: string): Promise<void>;
  /** The entry that holds this aggregator id, if any. */
  findByPart(partId: string): Promise<Correlation | undefined>;
  /** The entry of this RapidPro message, if still held: how a resent request is recognised. */
  findByMessage(rapidproId: string): Promise<Correlation | undefined>;
  /** Applies one SMS's receipt; undefined when no entry has that id. */
  markPart(partId: string, state: PartState, reason?: string): Promise<PartUpdate | undefined>;
  /** Releases files, connections and timers. */
  close(): Promise<void>;
}

/** 72 hours: some SMSCs deliver receipts days late. */
export const DEFAULT_TTL_MS = 72 * 60 * 60 * 1000;
