/**
 * What every SMSC session (lib/smpp/session.ts, lib/ucp/session.ts, lib/cimd2/session.ts)
 * shows and how: a status with the same fields, a 'status' event only when something the
 * editor shows changed (not on every submit), 'log' events, and emits that a listener's bug
 * cannot turn into a broken state machine or an exception escaping a socket event; and the
 * reconnect loop (reconnect.ts) around the one connection each protocol knows how to serve.
 */
import { logLine } from "../text/peer-value";
import { EventEmitter } from "node:events";
import { Sleeps, type ReconnectOptions } from "../backoff";
import { reconnectLoop, type ConnectionEnd } from "./reconnect";

/** The status fields every session has; each adds its own (SMPP's bind mode, CIMD2's fault count). */
export interface SessionStatusFields<S extends string> {
  state: S;
  /** Submits are held back: a throttling pause (UCP: waiting on the throughput cap). */
  throttled: boolean;
  /** Every window slot is taken and submits are waiting. */
  windowFull: boolean;
  inFlight: number;
  queued: number;
  /** While reconnecting: the delay before the next attempt. */
  retryInMs?: number;
  /** Why the last connection ended, a bind or login failed, or submits paused. */
  lastError?: string;
}

export type LogLevel = "debug" | "info" | "warn" | "error";

export abstract class SessionBase<T extends SessionStatusFields<string>> extends EventEmitter {
  protected current: T;
  /** The reconnect loop, once started. */
  protected loop?: Promise<void>;
  /** Set by close(): the shutdown under way. */
  protected closing?: Promise<void>;
  /** The loop's waits; shutdown cancels them. */
  protected readonly sleeps = new Sleeps();

  constructor(
    initial: T,
    /** The fields whose change is worth a 'status' event. */
    private readonly statusKeys: ReadonlyArray<keyof T>,
  ) {
    super();
    this.current = initial;
    // 'error' is never emitted; problems go to 'log' and the status. This listener keeps a
    // stray emit from becoming an uncaught exception all the same.
    this.on("error", () => undefined);
  }

  /** The status with the live counts. */
  abstract get status(): T;

  /** One connection from opening to its end: whether it came up, and why it ended. */
  protected abstract connectOnce(): Promise<ConnectionEnd>;

  /** Runs connectOnce again and again, backing off, until close(); `ended` starts its log line. */
  protected reconnect(o: ReconnectOptions, ended: string): Promise<void> {
    return reconnectLoop(o, this.sleeps, {
      connectOnce: () => this.connectOnce(),
      closing: () => this.closing !== undefined,
      setStatus: (patch) => this.setStatus(patch as Partial<T>),
      log: (level, text) => this.log(level, text),
      ended,
    });
  }

  /** Emits 'status' when something the editor shows changed. */
  protected setStatus(patch: Partial<T>): void {
    const next = { ...this.current, ...patch };
    if (this.statusKeys.every((k) => next[k] === this.current[k])) return;
    this.current = next;
    this.emitSafely("status", this.status);
  }

  protected log(level: LogLevel, text: string): void {
    // Link and session texts carry what the SMSC sent (reasons, ids, addresses): escaped once, here.
    this.emitSafely("log", { level, text: logLine(text) });
  }

  /** A listener's bug must not break the session's state machine (or escape from a socket event). */
  protected emitSafely(event: string, value: unknown): void {
    try {
      this.emit(event, value);
    } catch {
      // nothing sensible to do: the listener that threw is the one that would be told
    }
  }
}
