/**
 * Window, timer and rate defaults of a UCP/EMI bind, defined once: the session (session.ts)
 * uses them for options left out, the ucp-bind node for empty fields, and the editor shows
 * them (the build's copy step, scripts/copy-assets.js, writes each value into
 * dist/nodes/ucp-bind/ucp-bind.html in place of its `__DEFAULT_<name>__` token, decision 21).
 * The editor works in seconds, so these are too.
 */
export const UCP_BIND_DEFAULTS = {
  /** Operations in flight by TRN, 1..100 (§2.6; Kannel's `flow-control` window: 100, we start lower). */
  window: 10,
  /** Per-operation result timeout (Kannel `wait-ack`: 60 s). */
  responseTimeoutSeconds: 60,
  /** OT 31 keep-alive period (Kannel `keepalive`: often 55-60 s). */
  keepAliveSeconds: 60,
  /** The connection is closed after this long without any frame (Kannel `idle-timeout`). */
  inactivityTimeoutSeconds: 300,
  /** Messages per second; 0 means no cap. */
  throughput: 0,
  /** Longest wait between two connection attempts (back-off with jitter doubles up to it). */
  reconnectMaxSeconds: 60,
} as const;
