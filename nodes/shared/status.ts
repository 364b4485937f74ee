/**
 * Node status at most every `intervalMs`. A node that shows counters would otherwise build,
 * translate and send a status for every message, which at thousands of messages a second
 * costs more than the message itself (the benchmark's profile put it at 18 % of busy time).
 * The first change shows at once; later ones within the interval are folded into one.
 */
export interface ThrottledStatus {
  (): void;
  /** Drops a pending update (call in `close`). */
  cancel(): void;
}

export function throttledStatus(show: () => void, intervalMs = 500): ThrottledStatus {
  let last = 0;
  let timer: NodeJS.Timeout | undefined;
  const run = () => {
    timer = undefined;
    last = Date.now();
    show();
  };
  const update = (() => {
    if (timer) return;
    const wait = last + intervalMs - Date.now();
    if (wait <= 0) return run();
    timer = setTimeout(run, wait);
    timer.unref();
  }) as ThrottledStatus;
  update.cancel = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
  };
  return update;
}
