/**
 * Lookups waiting for part ids that are not in the correlation store yet.
 *
 * A receipt can reach smpp-in before the correlation write of its message has committed: the
 * SMSC may send it right after submit_sm_resp, while the write still waits for its fsync (or
 * its Redis round trip). Looking again only after a fixed wait made such a receipt wait
 * seconds (Jasmin waits 10 s). Instead the receipt watches its part ids and looks again as soon
 * as a put naming one of them has ended in this process.
 *
 * A watch is taken before the lookup that misses, so a put that ends in between is not missed.
 * Puts by other instances that share a Redis store end watches here too: lib/store/index.ts
 * feeds their notices (redis-notify.ts) to `putEnded`. A notice lost while the subscription
 * reconnects leaves the caller's time limit as the retry.
 */

export interface PartWatch {
  /**
   * Resolves true once a put naming one of the watched parts has ended (committed or failed)
   * since the watch began; false when `ms` passed first or the watch was cancelled.
   */
  ended(ms: number): Promise<boolean>;
  /** Stops watching; a pending `ended` resolves false. Call it when done, found or not. */
  cancel(): void;
}

export class PartWatches {
  private readonly watching = new Map<string, Set<Watch>>();

  /** Starts watching `partIds`; cancel the watch when done with it. */
  watch(partIds: readonly string[]): PartWatch {
    const watch = new Watch(partIds, (w) => this.forget(w));
    for (const id of new Set(partIds)) {
      let set = this.watching.get(id);
      if (!set) {
        set = new Set();
        this.watching.set(id, set);
      }
      set.add(watch);
    }
    return watch;
  }

  /** A put of these parts has ended, either way: every watch on one of them ends now. */
  putEnded(partIds: readonly string[]): void {
    if (this.watching.size === 0) return;
    for (const id of partIds) {
      const set = this.watching.get(id);
      if (!set) continue;
      for (const watch of [...set]) watch.fire();
    }
  }

  /** Part ids watched now (for tests: a watch that is never cancelled would leak). */
  get size(): number {
    return this.watching.size;
  }

  private forget(watch: Watch): void {
    for (const id of watch.partIds) {
      const set = this.watching.get(id);
      if (!set) continue;
      set.delete(watch);
      if (set.size === 0) this.watching.delete(id);
    }
  }
}

class Watch implements PartWatch {
  private state: "watching" | "fired" | "cancelled" = "watching";
  private resolve: ((fired: boolean) => void) | undefined;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly partIds: readonly string[],
    private readonly forget: (watch: Watch) => void,
  ) {}

  ended(ms: number): Promise<boolean> {
    if (this.state !== "watching") return Promise.resolve(this.state === "fired");
    // One wait at a time: a second call ends the first one's wait as "not fired".
    this.settle(false);
    return new Promise<boolean>((resolve) => {
      this.resolve = resolve;
      this.timer = setTimeout(() => this.settle(false), Math.max(0, ms));
    });
  }

  cancel(): void {
    this.end("cancelled");
  }

  fire(): void {
    this.end("fired");
  }

  private end(state: "fired" | "cancelled"): void {
    if (this.state !== "watching") return;
    this.state = state;
    this.forget(this);
    this.settle(state === "fired");
  }

  private settle(fired: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const resolve = this.resolve;
    this.resolve = undefined;
    resolve?.(fired);
  }
}
