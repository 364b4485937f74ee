/**
 * The reconnect loop every SMSC session runs (SMPP, UCP, CIMD2): connect, serve until the
 * connection ends, wait by lib/backoff.ts's `reconnectDelay` (the count of failures in a row
 * since the last connection that came up), and again, until the session closes. The session
 * supplies one connection's life and shows the states; the waits are `Sleeps`, so a close
 * cuts the current one short.
 */
import { reconnectDelay, type ReconnectOptions, type Sleeps } from "../backoff";

/** How one connection went: whether it came up (bound, logged in), and why it ended. */
export interface ConnectionEnd {
  up: boolean;
  reason: string;
}

/** The status patches the loop shows; every session's status has these fields. */
export type ReconnectStatus =
  | { state: "connecting"; retryInMs: undefined }
  | { state: "reconnecting"; retryInMs: number; lastError: string; throttled: false; windowFull: false };

export interface ReconnectHooks {
  /** One connection from opening to its end; a throw counts as a connection that never came up. */
  connectOnce(): Promise<ConnectionEnd>;
  closing(): boolean;
  setStatus(patch: ReconnectStatus): void;
  log(level: "warn", text: string): void;
  /** Starts the log line of an ended connection, e.g. "SMPP session ended". */
  ended: string;
}

export async function reconnectLoop(o: ReconnectOptions, sleeps: Sleeps, hooks: ReconnectHooks): Promise<void> {
  let failures = 0;
  while (!hooks.closing()) {
    hooks.setStatus({ state: "connecting", retryInMs: undefined });
    // Nothing may escape this loop as an unhandled rejection (a bad CA throws in tls.connect).
    const { up, reason } = await hooks.connectOnce().catch((error: Error) => ({ up: false, reason: `could not connect: ${error.message}` }));
    if (hooks.closing()) break;
    failures = up ? 0 : failures + 1;
    const delay = reconnectDelay(failures, o);
    hooks.log("warn", `${hooks.ended}: ${reason}; reconnecting in ${delay} ms`);
    // The window's throttled / full are about the connection that ended.
    hooks.setStatus({ state: "reconnecting", retryInMs: delay, lastError: reason, throttled: false, windowFull: false });
    await sleeps.sleep(delay);
  }
}
