/**
 * Receipt to status, for every aggregator: a receipt of one SMS becomes at most one status per
 * step of its RapidPro message (lib/delivery/aggregate.ts), handed over once, and recorded as
 * reported only after the hand-over was taken.
 *
 * - The status is worked out on a copy of the message's entry, handed over, and the store is
 *   written after the hand-over was taken. A hand-over that failed, or that a crash cut short,
 *   is reported again when the aggregator delivers the receipt again; a repeated receipt after a
 *   taken hand-over reports nothing. Receipts of one message are taken one at a time: in this
 *   process, and across the instances sharing a Redis store through the store's `exclusive`
 *   (lib/store/redis-lock.ts). The entry is read again whenever either wait may have let
 *   another receipt of the message change it.
 * - A receipt whose id is not in the store may have overtaken its submit's correlation write. It
 *   waits for that write: it watches its ids (lib/store/part-watch.ts) and looks again as soon as a
 *   put naming one of them ended in this process, or at timed lookups (writes by another instance
 *   sharing a Redis store). An id still unknown when the wait is over (counted from its first
 *   delivery) or after the given number of deliveries is given up on: the protocol may name the
 *   message another way (Rapporto's ptag), otherwise the receipt goes to the unmatched output,
 *   once however often the aggregator delivers it again, and is answered as taken.
 */
import type { Status } from "../contract";
import { OneAtATime } from "../one-at-a-time";
import type { PartWatch } from "../store/part-watch";
import type { Correlation, CorrelationStore, PartState } from "../store/types";
import { applyPartState, copyRecord } from "./aggregate";
import { HAND_OVER_ANSWER, type Answer, type HandOver } from "./answers";

/**
 * A receipt can overtake the store write of its submit (Jasmin: "A DLR that arrives before
 * its id mapping is looked up again after 10 s, up to 2 times"); ours waits for the write
 * (lib/store/part-watch.ts) and looks up twice more, spread over the wait. The SMSC's answer
 * waits meanwhile; an SMSC that gives up sooner sends the receipt again, which is the same retry.
 */
export const UNMATCHED_LOOKUPS = 2;

export interface PartReceipt {
  /** The aggregator's id of the SMS, as the receipt gives it. */
  messageId: string;
  /** The keys to look it up under, best first (several where the SMSC writes ids another way). */
  keys: string[];
  state: PartState;
  reason?: string;
}

/**
 * A store whose puts in this process can be watched (lib/store/index.ts gives one); plain stores
 * are polled. `exclusive`, where the store is shared by several instances, runs `fn` while no
 * other instance runs one for the same message; `waited` true means "read the entry again".
 */
export type ReceiptStore = CorrelationStore & {
  watchParts?(partIds: readonly string[]): PartWatch;
  exclusive?<T>(rapidproId: string, fn: (waited: boolean) => Promise<T>): Promise<T>;
};

export interface ReceiptOptions {
  /** Longest one delivery waits for an unknown id's correlation. */
  waitMs: number;
  /** Timed lookups spread over `waitMs`, besides the write watch. */
  lookups: number;
  /** An unknown id is given up this long after its first delivery. */
  giveUpAfterMs: number;
  /** ... or at this many deliveries of it, whichever comes first. */
  giveUpAfterDeliveries?: number;
  /** Unknown ids remembered at most; the oldest are forgotten first. */
  remembered?: number;
}

export interface ReceiptHandlers<R extends PartReceipt> {
  /** Emits the status (on the status output) and resolves with how its hand-over ended. */
  handOver(status: Status, receipt: R): Promise<HandOver>;
  /** Given up on: a status found another way (Rapporto's ptag), to hand over without the store. */
  fallback?(receipt: R): Status | undefined;
  /** Given up on and no fallback: emit on the unmatched output. Called once per id. */
  unmatched(receipt: R): void;
}

export type ReceiptHandling =
  | { kind: "reported"; answer: Answer; status: Status; handOver: HandOver; early?: boolean }
  | { kind: "no-change"; answer: Answer; early?: boolean }
  | { kind: "not-yet"; answer: Answer; deliveries: number }
  | { kind: "unmatched"; answer: Answer; emitted: boolean }
  | { kind: "stopping"; answer: Answer }
  | { kind: "store-error"; answer: Answer; reason: string };

interface Unknown {
  since: number;
  deliveries: number;
  emitted: boolean;
}

export class ReceiptDesk<R extends PartReceipt = PartReceipt> {
  private readonly ofOneMessage = new OneAtATime();
  private readonly unknown = new Map<string, Unknown>();
  private readonly watches = new Set<PartWatch>();
  private closed = false;

  constructor(
    private readonly store: () => Promise<ReceiptStore>,
    private readonly options: ReceiptOptions,
    private readonly handlers: ReceiptHandlers<R>,
    private readonly now: () => number = Date.now,
  ) {}

  /** Never rejects: a store failure is answered `again`, so the aggregator delivers it again. */
  async handle(receipt: R): Promise<ReceiptHandling> {
    try {
      return await this.lookUp(receipt, await this.store());
    } catch (err) {
      return { kind: "store-error", answer: "again", reason: `correlation store: ${(err as Error).message}` };
    }
  }

  /** Ends every wait; receipts still waiting are answered `again`. */
  close(): void {
    this.closed = true;
    for (const watch of this.watches) watch.cancel();
    this.watches.clear();
  }

  private async lookUp(receipt: R, store: ReceiptStore): Promise<ReceiptHandling> {
    const { waitMs, lookups, giveUpAfterMs } = this.options;
    const start = this.now();
    const step = waitMs / Math.max(1, lookups);
    let unknown = this.unknown.get(receipt.messageId);
    // The wait counts from the first delivery of this receipt, not from this one; the first one
    // counts from its arrival, not from after its first lookup (a lookup slowed by load must not
    // leave the delivery short of its wait, answered "not yet" instead of given up).
    const since = unknown?.since ?? start;
    const deadline = Math.min(start + waitMs, since + giveUpAfterMs);
    let now = start;
    let watch: PartWatch | undefined;
    try {
      for (let lookup = 0; !this.closed; lookup++) {
        // Taken before the lookup, so a write that commits while the lookup runs still counts.
        if (watch) this.forget(watch);
        watch = store.watchParts ? this.track(store.watchParts(receipt.keys)) : undefined;
        for (const key of receipt.keys) {
          const found = await store.findByPart(key);
          if (!found) continue;
          // Early: it overtook its correlation write and was found only after waiting (metrics).
          const early = lookup > 0 || unknown !== undefined;
          this.unknown.delete(receipt.messageId);
          const id = found.rapidproId;
          // One at a time here, then across instances; after either wait the entry is read again.
          const handling = await this.ofOneMessage.run(id, (waitedHere) =>
            store.exclusive
              ? store.exclusive(id, (waitedElsewhere) => this.report(store, receipt, key, waitedHere || waitedElsewhere ? undefined : found))
              : this.report(store, receipt, key, waitedHere ? undefined : found),
          );
          return early && (handling.kind === "reported" || handling.kind === "no-change") ? { ...handling, early } : handling;
        }
        unknown ??= this.firstSeen(receipt.messageId, since);
        now = this.now();
        // Until the time is really over, never at a count of lookups: a timer can end a few ms
        // early by Date.now() (Node arms it from the loop's cached clock), and a delivery that
        // stopped then would be answered "not yet" with no later delivery to give it up.
        const left = deadline - now;
        if (left <= 0) break;
        if (watch) await watch.ended(Math.min(step, left));
        else await new Promise((resolve) => setTimeout(resolve, Math.min(step, left)));
      }
    } finally {
      if (watch) this.forget(watch);
    }
    if (this.closed) return { kind: "stopping", answer: "again" };
    unknown ??= this.firstSeen(receipt.messageId, since);
    unknown.deliveries++;
    const givenUp = now - unknown.since >= giveUpAfterMs || unknown.deliveries >= (this.options.giveUpAfterDeliveries ?? Infinity);
    if (!givenUp) return { kind: "not-yet", answer: "not-yet", deliveries: unknown.deliveries };
    const status = this.handlers.fallback?.(receipt);
    if (status) {
      this.unknown.delete(receipt.messageId);
      const handOver = await this.handlers.handOver(status, receipt);
      return { kind: "reported", answer: HAND_OVER_ANSWER[handOver.kind], status, handOver };
    }
    const emitted = !unknown.emitted;
    if (emitted) this.handlers.unmatched(receipt);
    unknown.emitted = true;
    return { kind: "unmatched", answer: "taken", emitted };
  }

  /** One receipt of a known message, the only one of its message at this moment. */
  private async report(store: ReceiptStore, receipt: R, key: string, found: Correlation | undefined): Promise<ReceiptHandling> {
    // Another receipt of this message may have changed the entry while this one waited: read it again.
    const record = found ?? (await store.findByPart(key));
    if (!record) return { kind: "no-change", answer: "taken" };
    const preview = applyPartState(copyRecord(record), key, receipt.state, receipt.reason);
    if (!preview.report) {
      await store.markPart(key, receipt.state, receipt.reason);
      return { kind: "no-change", answer: "taken" };
    }
    const status: Status = { id: record.rapidproId, status: preview.report.status, smscId: preview.report.smscId };
    if (preview.report.reason !== undefined) status.reason = preview.report.reason;
    const handOver = await this.handlers.handOver(status, receipt);
    const answer = HAND_OVER_ANSWER[handOver.kind];
    if (answer === "taken") await store.markPart(key, receipt.state, receipt.reason);
    return { kind: "reported", answer, status, handOver };
  }

  private firstSeen(messageId: string, since: number): Unknown {
    let entry = this.unknown.get(messageId);
    if (!entry) {
      entry = { since, deliveries: 0, emitted: false };
      this.unknown.set(messageId, entry);
      if (this.unknown.size > (this.options.remembered ?? 10_000)) this.unknown.delete(this.unknown.keys().next().value as string);
    }
    return entry;
  }

  private track(watch: PartWatch): PartWatch {
    this.watches.add(watch);
    return watch;
  }

  private forget(watch: PartWatch): void {
    watch.cancel();
    this.watches.delete(watch);
  }
}
