/**
 * A promise with a deadline: rejects with `message` when `promise` has not settled within
 * `ms`. Used to ask a store or queue one question (at start, and in the health probe of
 * lib/health/readiness.ts), so that one that cannot be reached is reported at once instead
 * of holding every call behind its reconnects.
 */
export function withinMs<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    // Not unref'd: the deadline is cleared as soon as `promise` settles, and until then it is
    // what ends the wait for a peer that never answers.
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
