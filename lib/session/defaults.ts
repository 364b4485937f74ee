/**
 * Defaults every SMSC session (lib/smpp/session.ts, lib/ucp/session.ts,
 * lib/cimd2/session-options.ts) shares, so one number is changed in one place. Kannel's
 * values where it has one: reconnect after 1 s doubling to 60 s, 300 s of silence ends a
 * connection, a throttling pause of 1 s.
 */
export const SESSION_DEFAULTS = {
  connectTimeoutMs: 10_000,
  inactivityTimeoutMs: 300_000,
  reconnectMinMs: 1_000,
  reconnectMaxMs: 60_000,
  maxAttempts: 3,
  queueTimeoutMs: 30_000,
  maxQueue: 10_000,
  deliverTimeoutMs: 30_000,
  drainTimeoutMs: 5_000,
  random: Math.random,
};

/** First pause after a throttling refusal, and the most it doubles to (lib/session/window.ts). */
export const THROTTLE_PAUSE_DEFAULTS = {
  throttlePauseMs: 1_000,
  throttlePauseMaxMs: 30_000,
};
