/**
 * Options, defaults, status and outcome shapes of the CIMD2 session (session.ts), kept apart
 * so the session file holds only behaviour. They mirror lib/smpp/session.ts's names.
 */
import { SESSION_DEFAULTS, THROTTLE_PAUSE_DEFAULTS, type SessionOptions, type ThrottlePauseOptions } from "../session/defaults";
import type { SessionStatusFields } from "../session/base";
import type { WindowOutcome } from "../session/window";

export type { TlsOptions } from "./link";

export interface Cimd2SessionOptions extends SessionOptions, ThrottlePauseOptions {
  /** `010` user identity. */
  username: string;
  /** `011` password: sent in the login only; never logged or put in an error. */
  password: string;
  /** Submits in flight; 1 to 127 (packet numbers must stay unique). Default 1. */
  window?: number;
  /** Per-request response timeout (Kannel: 60 s). */
  responseTimeoutMs?: number;
  loginTimeoutMs?: number;
  /** Op 40 alive period; 0 turns it off. */
  aliveIntervalMs?: number;
  logoutTimeoutMs?: number;
  /** Send checksums (default true; received packets are read with or without). */
  checksum?: boolean;
}

export type Resolved = Required<Omit<Cimd2SessionOptions, "tls" | "burst">> & Pick<Cimd2SessionOptions, "tls" | "burst">;

export const DEFAULTS = {
  ...SESSION_DEFAULTS,
  ...THROTTLE_PAUSE_DEFAULTS,
  window: 1,
  responseTimeoutMs: 60_000,
  loginTimeoutMs: 10_000,
  aliveIntervalMs: 60_000,
  throughput: 0,
  logoutTimeoutMs: 3_000,
  checksum: true,
};

export type SessionState = "idle" | "connecting" | "loggedIn" | "reconnecting" | "closing" | "closed";

export interface SessionStatus extends SessionStatusFields<SessionState> {
  /** Protocol faults seen from the SMSC since start (broken packets, unexpected requests). */
  faults: number;
}

export const STATUS_KEYS = ["state", "throttled", "windowFull", "retryInMs", "lastError"] as const;

/** What an accepted submit gives: the `060` timestamp, the `021` and the key they make. */
export interface Accepted {
  timestamp: string;
  destination: string;
  key: string;
}

/** `code` on a refusal is the SMSC's `900` error code. */
export type SubmitOutcome = WindowOutcome<Accepted>;

export interface SubmitOptions {
  /** Epoch ms after which the submit is no longer sent (it fails as temporary). */
  deadline?: number;
}

