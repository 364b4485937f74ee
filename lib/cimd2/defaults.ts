/**
 * Window, timer and rate defaults of a CIMD2 connection as the cimd2-bind node and its editor
 * show them, defined once: the node uses them for empty fields and the editor shows them (the
 * build's copy step, scripts/copy-assets.js, writes each value into
 * dist/nodes/cimd2-bind/cimd2-bind.html in place of its `__DEFAULT_<name>__` token, decision 21).
 * They are the session's own defaults (session-options.ts) in the editor's seconds.
 */
import { DEFAULTS } from "./session-options";

export const CIMD2_BIND_DEFAULTS = {
  /** Submits in flight; 1 since many SMSCs refuse windowing (errors 104/105). */
  window: DEFAULTS.window,
  /** Per-request response timeout (Kannel: 60 s). */
  responseTimeoutSeconds: DEFAULTS.responseTimeoutMs / 1000,
  /** Op 40 alive period; 0 turns it off. */
  aliveIntervalSeconds: DEFAULTS.aliveIntervalMs / 1000,
  /** Reconnect when nothing at all arrives for this long; 0 turns it off. */
  inactivityTimeoutSeconds: DEFAULTS.inactivityTimeoutMs / 1000,
  /** Messages per second; 0 means no cap. */
  throughput: DEFAULTS.throughput,
  /** Longest wait between two connection attempts (back-off with jitter doubles up to it). */
  reconnectMaxSeconds: DEFAULTS.reconnectMaxMs / 1000,
} as const;
