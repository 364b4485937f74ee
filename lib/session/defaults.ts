/**
 * Defaults every SMSC session (lib/smpp/session.ts, lib/ucp/session.ts,
 * lib/cimd2/session-options.ts) shares, so one number is changed in one place. Kannel's
 * values where it has one: reconnect after 1 s doubling to 60 s, 300 s of silence ends a
 * connection, a throttling pause of 1 s.
 */
import type { TlsOptions } from "./socket";

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

/** The options every SMSC session takes besides its protocol's own; SESSION_DEFAULTS fills them. */
export interface SessionOptions {
  host: string;
  port: number;
  /** `true` or TLS options: certificates are verified unless `rejectUnauthorized: false`. */
  tls?: boolean | TlsOptions;
  connectTimeoutMs?: number;
  /** Reconnect when nothing at all arrives for this long; 0 turns it off (Kannel: 300 s). */
  inactivityTimeoutMs?: number;
  /** Messages per second, a float; 0 means no cap. */
  throughput?: number;
  burst?: number;
  /** Bounds of the reconnect back-off (lib/backoff.ts's reconnectDelay). */
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  /** How many times one submit may be sent before a lost connection fails it. */
  maxAttempts?: number;
  /** Default deadline for a submit, counted from `submit()`. */
  queueTimeoutMs?: number;
  maxQueue?: number;
  /** A delivery its handler has not answered by then is answered so the SMSC delivers it again. */
  deliverTimeoutMs?: number;
  /** On close, how long to wait for submits in flight and deliveries being handled. */
  drainTimeoutMs?: number;
  /** Source of randomness for the reconnect jitter (tests). */
  random?: () => number;
}

/** For sessions whose SMSC can refuse with a throttling code (SMPP, CIMD2). */
export interface ThrottlePauseOptions {
  /** First pause after a throttling refusal (Kannel: 1 s); doubles while they repeat. */
  throttlePauseMs?: number;
  throttlePauseMaxMs?: number;
}
