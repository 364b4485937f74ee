/**
 * A promise with a deadline: rejects with `message` when `promise` has not settled within
 * `ms`. Used to ask a store or queue one question at start, so that one that cannot be
 * reached is reported at once instead of holding every call behind its reconnects.
 */
export function withinMs<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const limit = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
    timer.unref();
  });
  return Promise.race([promise, limit]).finally(() => clearTimeout(timer));
}
