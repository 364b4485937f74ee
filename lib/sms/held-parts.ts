/**
 * Parts of long MOs that survive a restart.
 *
 * An SMSC may wait for each deliver_sm_resp before it sends the next part, so the parts of a
 * long MO are acknowledged while their siblings are still on the way; from then on the bridge
 * alone holds them. HeldParts keeps each such part in a DurableQueue before it is
 * acknowledged, gives the kept parts back to the reassembler after a restart, and lets them go
 * once their message is handed over (to RapidPro or its durable outbox).
 *
 * The part that completes a message is not kept: its deliver_sm is answered only after the
 * hand-over, so if that fails the SMSC delivers it again, and `putBack` returns the kept
 * parts to the reassembler to wait for it.
 *
 * With a store shared by several instances (Redis; docs/design.md decision 36) the parts may
 * arrive on different instances' binds, so they are kept in the shared store instead
 * (`SharedPartGroups`, lib/store/parts-redis.ts) and the reassembler here holds nothing: each
 * part goes to the store, and the instance whose part completes a message gets the others
 * back and hands it over, exactly one instance per message. The timeout sweep runs on the
 * store too, so a partial MO goes on even when the instance that kept its parts is gone.
 */
import { createHash, randomUUID } from "node:crypto";
import type { DurableQueue } from "../store/queue";
import type { Alphabet } from "./alphabet";
import { Reassembler, type AddResult, type Fragment, type PartialMessage, type Reassembled, type ReassemblerOptions } from "./reassembly";
import { checkConcat, type ConcatInfo } from "./udh";

/** A part as the queue keeps it (JSON, so the octets as base64). */
export interface StoredPart {
  from: string;
  to: string;
  concat: ConcatInfo;
  octets: string;
  alphabet: Alphabet;
  receivedAt: number;
}

/**
 * The reassembler's context for one part. The reassembler fills in `fragment` when it takes
 * the part; `kept` is set once `keep` started, and resolves to the part's queue item id.
 */
export interface PartHandle {
  fragment?: Fragment<PartHandle>;
  kept?: Promise<string>;
  /** With a shared store: the group in it this part belongs to. */
  group?: string;
}

/** Parts kept where every instance can complete the message (lib/store/parts-redis.ts). */
export interface SharedPartGroups {
  add(group: string, seq: number, total: number, part: string, options: { now: number; claimMs: number; ttlMs: number }): Promise<{ status: "kept" | "duplicate" | "busy" } | { status: "complete"; parts: string[] }>;
  claimExpired(cutoff: number, options: { now: number; claimMs: number; limit: number }): Promise<Array<{ group: string; parts: string[] }>>;
  release(group: string): Promise<void>;
  unclaim(group: string): Promise<void>;
}

/**
 * How long one instance holds a message it is handing over before another may: longer than
 * a hand-over waits for RapidPro (smpp-in's ack timeout, at most a minute).
 */
const SHARED_CLAIM_MS = 90_000;
/** Groups one sweep gives up on, at most. */
const SHARED_SWEEP_LIMIT = 100;
const DEFAULT_TIMEOUT_MS = 300_000;

/** Parts given back by one `restore`, at most: one peek of the embedded queue. */
const RESTORE_LIMIT = 10_000;

/**
 * A Reassembler that tells each part's handle which fragment it became, and stamps the part
 * with its arrival, which it keeps when it is stored or put back.
 */
class HandleReassembler extends Reassembler<PartHandle> {
  constructor(options: ReassemblerOptions<PartHandle>, private readonly clock: () => number) {
    super(options);
  }

  override add(fragment: Fragment<PartHandle>): AddResult<PartHandle> {
    fragment.receivedAt ??= this.clock();
    fragment.context.fragment = fragment;
    return super.add(fragment);
  }
}

/**
 * The reassembler with a shared store: it holds nothing here. Each part becomes "pending",
 * and `HeldParts.keep` puts it in the store, which says whether it completed a message;
 * `sweep` gives up on groups in the store, whoever kept their parts.
 */
class SharedReassembler extends Reassembler<PartHandle> {
  constructor(
    options: ReassemblerOptions<PartHandle>,
    private readonly clock: () => number,
    private readonly sweepShared: () => void,
  ) {
    super(options);
  }

  override add(fragment: Fragment<PartHandle>): AddResult<PartHandle> {
    const checked = checkConcat(fragment.concat);
    if (!checked.ok) return { status: "invalid", reason: checked.reason };
    fragment.receivedAt ??= this.clock();
    fragment.context.fragment = fragment;
    return { status: "pending", received: 0, total: fragment.concat.total };
  }

  override remove(): boolean {
    return false;
  }

  override sweep(): number {
    this.sweepShared();
    return 0;
  }

  /** Kept parts stay in the shared store: another instance, or this one after a restart, completes them. */
  override flushAll(): number {
    return 0;
  }
}

export class HeldParts {
  readonly reassembler: Reassembler<PartHandle>;
  private readonly clock: () => number;
  private readonly timeoutMs: number;
  private sweeping = false;

  constructor(
    private readonly queue: DurableQueue<StoredPart>,
    private readonly options: ReassemblerOptions<PartHandle>,
    /** Set when the bind's store is shared by several instances (Redis). */
    private readonly shared?: SharedPartGroups,
  ) {
    this.clock = options.now ?? Date.now;
    this.timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.reassembler = shared ? new SharedReassembler(options, this.clock, () => void this.sweepShared()) : new HandleReassembler(options, this.clock);
  }

  /**
   * Gives the reassembler every part kept before a restart. Returns the messages they
   * complete (none, normally: the completing part is never kept) and the number of parts.
   * Kept parts that cannot be used again are let go, with the reasons.
   */
  async restore(): Promise<{ parts: number; complete: Reassembled<PartHandle>[]; dropped: string[] }> {
    // Shared parts never left the store: the next part or the sweep completes them.
    if (this.shared) return { parts: 0, complete: [], dropped: [] };
    const items = await this.queue.peek(RESTORE_LIMIT);
    const complete: Reassembled<PartHandle>[] = [];
    const dropped: string[] = [];
    for (const item of items) {
      const handle: PartHandle = { kept: Promise.resolve(item.id) };
      const fragment = toFragment(item.value, handle);
      const added = fragment ? this.reassembler.add(fragment) : { status: "invalid" as const, reason: "stored part is damaged" };
      if (added.status === "complete") complete.push(added.message);
      if (added.status === "duplicate" || added.status === "invalid") {
        dropped.push(`item ${item.id}: ${added.status === "invalid" ? added.reason : "the same part is kept twice"}`);
        await this.queue.ack(item.id);
      }
    }
    return { parts: items.length, complete, dropped };
  }

  /**
   * Keeps a part the reassembler holds for its siblings; resolves once it is durable. If it
   * cannot be kept, the part is taken back from the reassembler (so the SMSC's redelivery is
   * not taken for a duplicate) and this rejects: answer the SMSC with a temporary error.
   * With a shared store, resolves with the message when this part completed it (hand it over,
   * then `release`, or `putBack` if that failed), and rejects while another instance is
   * handing the same message over.
   */
  async keep(handle: PartHandle): Promise<Reassembled<PartHandle> | undefined> {
    const fragment = handle.fragment;
    if (!fragment) throw new Error("held parts: this part was never given to the reassembler");
    if (this.shared) return this.keepShared(this.shared, handle, fragment);
    handle.kept = this.queue.push(`part:${randomUUID()}`, toStored(fragment)).then((item) => item.id);
    try {
      await handle.kept;
    } catch (err) {
      // Its group may already be complete and handed on: then nothing is left to take back,
      // and the redelivered part will start a group of its own.
      this.reassembler.remove(fragment);
      throw err;
    }
    return undefined;
  }

  private async keepShared(shared: SharedPartGroups, handle: PartHandle, fragment: Fragment<PartHandle>): Promise<Reassembled<PartHandle> | undefined> {
    handle.group = sharedGroupId(fragment);
    const outcome = await shared.add(handle.group, fragment.concat.seq, fragment.concat.total, JSON.stringify(toStored(fragment)), {
      now: this.clock(),
      claimMs: SHARED_CLAIM_MS,
      ttlMs: this.timeoutMs * 2 + 3_600_000,
    });
    if (outcome.status === "busy") throw new Error("another instance is handing this message over now");
    if (outcome.status !== "complete") return undefined;
    const { complete, partial } = this.join(handle.group, outcome.parts, fragment);
    // Some kept part was damaged: the message goes on with what could be read.
    return complete ?? partial;
  }

  /** Gives up on shared groups older than the timeout, whoever kept their parts. */
  private async sweepShared(): Promise<void> {
    if (!this.shared || this.sweeping) return;
    this.sweeping = true;
    try {
      const now = this.clock();
      const expired = await this.shared.claimExpired(now - this.timeoutMs, { now, claimMs: SHARED_CLAIM_MS, limit: SHARED_SWEEP_LIMIT });
      for (const { group, parts } of expired) {
        const { complete, partial } = this.join(group, parts);
        if (complete) this.options.onFlush({ ...complete, total: complete.parts, missing: [], reason: "timeout" });
        else if (partial) this.options.onFlush({ ...partial, reason: "timeout" });
        else await this.shared.release(group); // nothing readable is left
      }
    } catch {
      // The store is unreachable now; the next sweep tries again.
    } finally {
      this.sweeping = false;
    }
  }

  /** The stored parts of a group (and the part that completed it) as one message, or as a partial one. */
  private join(group: string, stored: string[], last?: Fragment<PartHandle>): { complete?: Reassembled<PartHandle>; partial?: PartialMessage<PartHandle> } {
    let partial: PartialMessage<PartHandle> | undefined;
    const joiner = new Reassembler<PartHandle>({ onFlush: (p) => (partial = p), timeoutMs: Number.MAX_SAFE_INTEGER });
    const fragments: Fragment<PartHandle>[] = [];
    for (const json of stored) {
      const fragment = parseStored(json, { group });
      if (fragment) fragments.push(fragment);
    }
    if (last) fragments.push(last);
    for (const fragment of fragments) {
      fragment.context.fragment = fragment;
      const added = joiner.add(fragment);
      if (added.status === "complete") return { complete: added.message };
    }
    joiner.flushAll();
    return { partial };
  }

  /**
   * Lets the kept parts of a message go once it was handed over. Only handles that were kept
   * (or, shared, grouped) hold anything: see `holdsParts`.
   */
  async release(handles: readonly PartHandle[]): Promise<void> {
    if (this.shared) {
      for (const group of groupsOf(handles)) await this.shared.release(group);
      return;
    }
    for (const handle of handles) {
      if (!handle.kept) continue;
      const id = await handle.kept.catch(() => undefined);
      if (id !== undefined) await this.queue.ack(id);
    }
  }

  /** Gives the kept parts of a message whose hand-over failed back to the reassembler. */
  putBack(handles: readonly PartHandle[]): void {
    if (this.shared) {
      // Unclaimed, the group waits for the part the SMSC delivers again; should this fail, the claim runs out.
      for (const group of groupsOf(handles)) this.shared.unclaim(group).catch(() => undefined);
      return;
    }
    for (const handle of handles) if (handle.kept && handle.fragment) this.reassembler.add(handle.fragment);
  }
}

function toStored(fragment: Fragment<PartHandle>): StoredPart {
  const { from, to, concat, octets, alphabet, receivedAt } = fragment;
  return { from, to, concat, octets: octets.toString("base64"), alphabet, receivedAt: receivedAt ?? Date.now() };
}

function toFragment(stored: StoredPart, handle: PartHandle): Fragment<PartHandle> | undefined {
  if (!stored || typeof stored !== "object" || typeof stored.octets !== "string" || !stored.concat) return undefined;
  const { from, to, concat, alphabet, receivedAt } = stored;
  return { from, to, concat, alphabet, octets: Buffer.from(stored.octets, "base64"), receivedAt, context: handle };
}

function parseStored(json: string, handle: PartHandle): Fragment<PartHandle> | undefined {
  try {
    return toFragment(JSON.parse(json) as StoredPart, handle);
  } catch {
    return undefined;
  }
}

/** Whether `release` or `putBack` has anything to do for these handles: a whole SMS never kept has not. */
export function holdsParts(handles: readonly PartHandle[]): boolean {
  return handles.some((h) => h.kept !== undefined || h.group !== undefined);
}

function groupsOf(handles: readonly PartHandle[]): Set<string> {
  return new Set(handles.map((h) => h.group).filter((g): g is string => g !== undefined));
}

/** The same grouping as the reassembler's (sender, recipient, reference and its size, total), hashed to a key. */
export function sharedGroupId(fragment: Fragment<unknown>): string {
  const { reference, referenceBits, total } = fragment.concat;
  return createHash("sha1").update(JSON.stringify([fragment.from, fragment.to, referenceBits, reference, total])).digest("hex");
}
