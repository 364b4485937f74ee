/**
 * Reassembly of concatenated incoming messages. Parts are grouped by sender, recipient,
 * reference and total, held until every part is in, and given back joined. Memory is
 * bounded: a group waits at most `timeoutMs`, and at most `maxGroups` groups are held (the
 * oldest is flushed to make room). A flushed group comes back as a partial message with
 * the parts that did arrive, so its text and its parts' contexts are never silently lost.
 */
import { decodeText, type Alphabet } from "./alphabet";
import { checkConcat, type ConcatInfo } from "./udh";

export interface Fragment<C> {
  from: string;
  to: string;
  concat: ConcatInfo;
  /** The part's text octets (UDH removed), in `alphabet`. */
  octets: Buffer;
  alphabet: Alphabet;
  /** Whatever the caller needs back with the message, e.g. the PDU to acknowledge. */
  context: C;
  /**
   * When the part arrived, if not now: a part restored after a restart keeps its time, so
   * its group still gives up `timeoutMs` after its first part came.
   */
  receivedAt?: number;
}

export interface Reassembled<C> {
  from: string;
  to: string;
  text: string;
  parts: number;
  /** The contexts of every part, in part order. */
  contexts: C[];
  /** When the first part arrived (milliseconds, from the reassembler's clock). */
  firstAt: number;
}

export type FlushReason = "timeout" | "evicted" | "flushed";

export interface PartialMessage<C> extends Reassembled<C> {
  total: number;
  /** Part numbers that never arrived. */
  missing: number[];
  reason: FlushReason;
}

export type AddResult<C> =
  | { status: "complete"; message: Reassembled<C> }
  | { status: "pending"; received: number; total: number }
  /** The same part number arrived again (a redelivery); it is not stored twice. */
  | { status: "duplicate" }
  | { status: "invalid"; reason: string };

export interface ReassemblerOptions<C> {
  /**
   * Receives every group given up before it was complete (timed out, evicted to make room,
   * or flushed on close), with the parts that did arrive. A throw from it is not caught.
   */
  onFlush: (partial: PartialMessage<C>) => void;
  /** How long the first part of a group waits for the rest (Kannel: 1800 s, Jasmin: 300 s). */
  timeoutMs?: number;
  maxGroups?: number;
  now?: () => number;
}

interface Group<C> {
  from: string;
  to: string;
  total: number;
  firstAt: number;
  parts: Map<number, Fragment<C>>;
}

const DEFAULT_TIMEOUT_MS = 300_000;
const DEFAULT_MAX_GROUPS = 1000;

function joinParts<C>(parts: Fragment<C>[]): string {
  // Joining octets before decoding mends a sender that cut an escape or surrogate pair
  // across parts; mixed alphabets can only be decoded part by part.
  const alphabet = parts[0]?.alphabet;
  if (alphabet && parts.every((p) => p.alphabet === alphabet)) {
    return decodeText(Buffer.concat(parts.map((p) => p.octets)), alphabet);
  }
  return parts.map((p) => decodeText(p.octets, p.alphabet)).join("");
}

/** Parts belong together when sender, recipient, reference (and its size) and total agree. */
function groupKey(fragment: Fragment<unknown>): string {
  const { reference, referenceBits, total } = fragment.concat;
  return JSON.stringify([fragment.from, fragment.to, referenceBits, reference, total]);
}

export class Reassembler<C> {
  private readonly groups = new Map<string, Group<C>>();
  private readonly timeoutMs: number;
  private readonly maxGroups: number;
  private readonly now: () => number;
  private readonly onFlush: (partial: PartialMessage<C>) => void;

  constructor(options: ReassemblerOptions<C>) {
    this.onFlush = options.onFlush;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxGroups = Math.max(1, options.maxGroups ?? DEFAULT_MAX_GROUPS);
    this.now = options.now ?? Date.now;
  }

  /** Groups currently waiting for parts. */
  get size(): number {
    return this.groups.size;
  }

  add(fragment: Fragment<C>): AddResult<C> {
    this.sweep();
    const checked = checkConcat(fragment.concat);
    if (!checked.ok) return { status: "invalid", reason: checked.reason };
    const { total, seq } = fragment.concat;
    const key = groupKey(fragment);
    let group = this.groups.get(key);
    const receivedAt = fragment.receivedAt ?? this.now();
    if (!group) {
      if (this.groups.size >= this.maxGroups) this.flushOldest();
      group = { from: fragment.from, to: fragment.to, total, firstAt: receivedAt, parts: new Map() };
      this.groups.set(key, group);
    }
    if (group.parts.has(seq)) return { status: "duplicate" };
    group.parts.set(seq, fragment);
    group.firstAt = Math.min(group.firstAt, receivedAt);
    if (group.parts.size < total) return { status: "pending", received: group.parts.size, total };
    this.groups.delete(key);
    const parts = [...group.parts.values()].sort((a, b) => a.concat.seq - b.concat.seq);
    return {
      status: "complete",
      message: { from: group.from, to: group.to, text: joinParts(parts), parts: total, contexts: parts.map((p) => p.context), firstAt: group.firstAt },
    };
  }

  /**
   * Takes back a part that is held (say, it could not be kept durably, so the sender will
   * deliver it again); true when it was held. A group left without parts is forgotten.
   */
  remove(fragment: Fragment<C>): boolean {
    const key = groupKey(fragment);
    const group = this.groups.get(key);
    if (!group || group.parts.get(fragment.concat.seq) !== fragment) return false;
    group.parts.delete(fragment.concat.seq);
    if (group.parts.size === 0) this.groups.delete(key);
    return true;
  }

  /**
   * Flushes every group that has waited `timeoutMs` or longer; returns how many. `add`
   * calls it too; call it from a timer so a lone part does not wait for the next one.
   */
  sweep(): number {
    const deadline = this.now() - this.timeoutMs;
    let flushed = 0;
    // Every group is looked at (at most maxGroups): restored parts can make an older group
    // start later in the Map than a newer one.
    for (const [key, group] of this.groups) {
      if (group.firstAt > deadline) continue;
      this.flush(key, group, "timeout");
      flushed++;
    }
    return flushed;
  }

  /** Flushes every group, e.g. on close, so held parts can still be delivered. */
  flushAll(): number {
    const count = this.groups.size;
    for (const [key, group] of this.groups) this.flush(key, group, "flushed");
    return count;
  }

  private flushOldest(): void {
    const first = this.groups.entries().next();
    if (!first.done) this.flush(first.value[0], first.value[1], "evicted");
  }

  private flush(key: string, group: Group<C>, reason: FlushReason): void {
    this.groups.delete(key);
    this.onFlush(this.partial(group, reason));
  }

  private partial(group: Group<C>, reason: FlushReason): PartialMessage<C> {
    const parts = [...group.parts.values()].sort((a, b) => a.concat.seq - b.concat.seq);
    const missing: number[] = [];
    for (let seq = 1; seq <= group.total; seq++) if (!group.parts.has(seq)) missing.push(seq);
    return {
      from: group.from,
      to: group.to,
      text: joinParts(parts),
      parts: parts.length,
      total: group.total,
      missing,
      contexts: parts.map((p) => p.context),
      firstAt: group.firstAt,
      reason,
    };
  }
}
