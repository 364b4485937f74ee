/**
 * Window, timeout and rate defaults of an SMPP bind, defined once: the session
 * (session.ts) uses them for options left out, the smpp-bind node for empty fields, and
 * the editor shows them (the build's copy step, scripts/copy-assets.js, writes each value
 * into dist/nodes/smpp-bind/smpp-bind.html in place of its `__DEFAULT_<name>__` token).
 * The editor works in seconds, so these are too.
 */
export const SMPP_BIND_DEFAULTS = {
  /** enquire_link period (Kannel and Jasmin: 30 s). */
  enquireLinkSeconds: 30,
  /** Per-request response timeout (Kannel `wait-ack`, Jasmin `res_to`: 60 s). */
  responseTimeoutSeconds: 60,
  /** Submits in flight at most (Kannel `max-pending-submits`: 10). */
  window: 10,
  /** Messages per second; 0 means no cap (Kannel's `throughput` default: unlimited). */
  throughput: 0,
} as const;
