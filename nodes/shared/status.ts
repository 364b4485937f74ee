import { shown } from "../../lib/text/peer-value";

/**
 * Longest status text shown under a node. The editor draws it on one line beside the node, so a
 * longer one runs over its neighbours ("reconnecting in 48 s: connection error: connect
 * ECONNREFUSED 127.0.0.1:2776" did); the details belong in the log, where each node writes them.
 */
export const MAX_STATUS_CHARS = 32;

/**
 * A status text cut to fit: the part before the first ": " when that leaves a sentence
 * ("reconnecting in 48 s: connection error: …" shows "reconnecting in 48 s"), else the first
 * MAX_STATUS_CHARS characters and "…". Control characters from a peer are made visible.
 */
export function shortStatusText(text: string, maxChars = MAX_STATUS_CHARS): string {
  const head = text.split(": ")[0];
  const chosen = head.length >= 4 && head.length <= maxChars ? head : text;
  const escaped = shown(chosen, chosen.length);
  return escaped.length <= maxChars ? escaped : `${escaped.slice(0, maxChars - 1)}…`;
}

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
