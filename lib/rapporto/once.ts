/**
 * At-most-once handling of pushes that the provider may deliver again (an MO whose answer
 * got lost is pushed again with the same messageId). The first push does the work; a repeat
 * within the window gets the first one's answer without doing the work again. A push that
 * failed is forgotten, so its retry does the work. A repeat that arrives while the first is
 * still running waits for it.
 */

interface Entry<T> {
  result: Promise<T>;
  /** Epoch ms after which a finished entry is forgotten; undefined while running. */
  expires?: number;
}

export interface OnceResult<T> {
  value: T;
  /** True when this call did not run the work but got an earlier call's answer. */
  repeat: boolean;
}

export class OnceWindow<T> {
  private readonly entries = new Map<string, Entry<T>>();

  /**
   * @param windowMs how long a finished answer is remembered
   * @param maxEntries bound on memory; the oldest finished answers go first
   * @param keep whether an answer counts as done (a failure should be retried, so not kept)
   */
  constructor(
    private readonly windowMs: number,
    private readonly maxEntries: number,
    private readonly keep: (value: T) => boolean,
    private readonly now: () => number = Date.now,
  ) {}

  async run(key: string | undefined, work: () => Promise<T>): Promise<OnceResult<T>> {
    if (key === undefined) return { value: await work(), repeat: false };
    this.sweep();
    const known = this.entries.get(key);
    if (known) return { value: await known.result, repeat: true };
    const entry: Entry<T> = { result: work() };
    this.entries.set(key, entry);
    try {
      const value = await entry.result;
      if (this.keep(value)) entry.expires = this.now() + this.windowMs;
      else this.entries.delete(key);
      return { value, repeat: false };
    } catch (err) {
      this.entries.delete(key);
      throw err;
    }
  }

  get size(): number {
    return this.entries.size;
  }

  private sweep(): void {
    const now = this.now();
    for (const [key, entry] of this.entries) {
      if (entry.expires !== undefined && entry.expires <= now) this.entries.delete(key);
    }
    // Map order is insertion order: drop the oldest finished entries beyond the bound.
    for (const [key, entry] of this.entries) {
      if (this.entries.size < this.maxEntries) break;
      if (entry.expires !== undefined) this.entries.delete(key);
    }
  }
}
