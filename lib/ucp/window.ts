/**
 * The window of operations in flight on one UCP connection, by TRN (aggregator-protocols.md
 * §2.6: "TRN space 00–99 ⇒ at most 100 outstanding operations; the window size is agreed
 * with the operator"). Named after Cloudhopper's window: `offer` takes a slot and gives the
 * TRN to send with, `complete` frees it when the result with that TRN comes back. TRNs go
 * round 00..99 and skip any still in flight, as Kannel's `emi2_next_trn` does.
 */
export const MAX_TRN = 100;

export class TrnWindow<T> {
  private readonly slots = new Map<number, T>();
  private next = 0;

  constructor(readonly size: number) {
    if (!Number.isInteger(size) || size < 1 || size > MAX_TRN) throw new RangeError(`window must be 1..${MAX_TRN}, got ${String(size)}`);
  }

  get inFlight(): number {
    return this.slots.size;
  }

  get full(): boolean {
    return this.slots.size >= this.size;
  }

  /** Takes a slot: the TRN to send the operation with, or undefined when the window is full. */
  offer(item: T): number | undefined {
    if (this.full) return undefined;
    while (this.slots.has(this.next)) this.next = (this.next + 1) % MAX_TRN;
    const trn = this.next;
    this.next = (trn + 1) % MAX_TRN;
    this.slots.set(trn, item);
    return trn;
  }

  /** Frees the slot of a result's TRN; undefined when nothing was in flight with it. */
  complete(trn: number): T | undefined {
    const item = this.slots.get(trn);
    if (item !== undefined) this.slots.delete(trn);
    return item;
  }

  /** Empties the window, giving back everything that was in flight. */
  drain(): T[] {
    const items = [...this.slots.values()];
    this.slots.clear();
    return items;
  }
}
