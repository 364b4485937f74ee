/** Polls `check` (or awaits it, when it asks a server) every 10 ms until it holds; fails naming `what` after `timeoutMs`. */
export async function waitFor(check: () => boolean | Promise<boolean>, what: string, timeoutMs = 5_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/**
 * `promise`, or a failure naming `what` (and `state()`, to see where it stood) after `ms`: a
 * fault test's every wait goes through this, so a hang fails with its reason instead of
 * running into the suite's timeout.
 */
export async function within<T>(promise: Promise<T>, ms: number, what: string, state?: () => unknown): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${Math.round(ms)} ms${state ? `; ${JSON.stringify(state())}` : ""}`)), Math.max(0, ms));
  });
  try {
    return await Promise.race([promise, expired]);
  } finally {
    clearTimeout(timer);
  }
}
