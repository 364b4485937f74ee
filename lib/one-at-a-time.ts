/**
 * Runs async work one at a time per key, in call order; different keys run side by side.
 * Used where two events about one message must not interleave: two receipts of one message
 * (each reads and then writes its record), or courier's resend of an MT that is still being
 * submitted (the second must see the first one's stored result).
 */
export class OneAtATime {
  private readonly tails = new Map<string, Promise<unknown>>();

  /** Runs `work` once every earlier work of `key` has settled; `waited` says whether there was any. */
  run<T>(key: string, work: (waited: boolean) => Promise<T>): Promise<T> {
    const previous = this.tails.get(key);
    // A rejected tail is handled here (both handlers), so the map can hold the caller's own
    // promise: one promise per run besides it, not two (this runs for every MT).
    const mine = previous ? previous.then(() => work(true), () => work(true)) : work(false);
    this.tails.set(key, mine);
    // The last one out removes the key, so the map holds only keys with work under way.
    const clear = () => {
      if (this.tails.get(key) === mine) this.tails.delete(key);
    };
    mine.then(clear, clear);
    return mine;
  }

  /** Keys with work under way or waiting. */
  get size(): number {
    return this.tails.size;
  }
}
