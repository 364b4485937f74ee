/**
 * What an SMSC link does the same for every protocol (lib/smpp/link.ts, lib/cimd2/link.ts,
 * lib/ucp/connection.ts): wire the socket's listeners, open the socket and wait for the login
 * (or adopt one the SMSC opened to our receive port, UCP §2.6), keep each request with its
 * response timer, and end once, handing every request still in flight back with a
 * LinkDownError. The protocols add their framing, login, keep-alive and in-flight store.
 */
import type * as net from "node:net";
import { connectSocket, endSocket, readyEvent, type SocketOptions } from "./socket";

/** The link went down before this request got its response. */
export class LinkDownError extends Error {
  override name = "LinkDownError";
}

/** A request in flight: its response timer and whom to tell. */
export interface InFlight {
  timer: NodeJS.Timeout;
  callback: (error: Error | undefined) => void;
}

/**
 * Where a link keeps its requests in flight until their responses: an InFlightMap by sequence
 * or packet number (SMPP, CIMD2), or UCP's TrnWindow by TRN (lib/ucp/window.ts).
 */
export interface InFlightStore<P> {
  readonly inFlight: number;
  /** Empties the store, giving back everything that was in flight. */
  drain(): P[];
}

/** Requests in flight by number, for links whose numbers need no window of their own. */
export class InFlightMap<P> extends Map<number, P> implements InFlightStore<P> {
  get inFlight(): number {
    return this.size;
  }

  drain(): P[] {
    const items = [...this.values()];
    this.clear();
    return items;
  }
}

/** What the socket's listeners do, whether the link dialled the socket or adopted it. */
export interface SocketHooks {
  /** The link's end reason for a socket error. */
  errorReason(error: Error & { code?: string; syscall?: string }): string;
  /** The link's end reason when the peer closes the socket. */
  closeReason: string;
  data(chunk: Buffer): void;
}

export interface ConnectHooks extends SocketHooks {
  /** Send the host name as SNI when TLS has no `servername` (lib/session/socket.ts). */
  sniFromHost: boolean;
  /** Set up what the protocol writes through, once the socket exists. */
  opened?(socket: net.Socket): void;
  /** The socket is ready: log in and call `loggedIn` once that succeeded (a refusal ends the link). */
  ready(loggedIn: () => void): void;
}

export abstract class LinkBase<P extends InFlight, S extends InFlightStore<P> = InFlightMap<P>> {
  /** Called once, with the reason, when the link ends for any reason. */
  onDown?: (reason: string) => void;

  protected socket?: net.Socket;
  protected downReason?: string;
  private openFail?: (reason: string) => void;
  private connectTimer?: NodeJS.Timeout;

  constructor(protected readonly pending: S) {}

  get inFlight(): number {
    return this.pending.inFlight;
  }

  /** Ends the link once (`end`), after the protocol's own clean-up. */
  abstract destroy(reason: string, graceful?: boolean): void;

  /** Connects and logs in; rejects with the reason (never containing the password). */
  protected connect(o: SocketOptions & { connectTimeoutMs: number }, hooks: ConnectHooks): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let settled = false;
      this.openFail = (reason) => {
        if (settled) return;
        settled = true;
        reject(new Error(reason));
      };
      try {
        const socket = connectSocket(o, hooks.sniFromHost);
        this.adopt(socket, hooks);
        hooks.opened?.(socket);
        socket.once(readyEvent(o), () =>
          this.guard(() => {
            clearTimeout(this.connectTimer);
            hooks.ready(() => {
              settled = true;
              resolve();
            });
          }),
        );
        this.connectTimer = setTimeout(() => this.destroy(`could not connect to ${o.host}:${o.port} within ${o.connectTimeoutMs} ms`), o.connectTimeoutMs);
      } catch (error) {
        this.destroy(`could not connect: ${(error as Error).message}`);
      }
    });
  }

  /**
   * Makes `socket` this link's: the one connect() dialled, or one the SMSC opened to us (UCP's
   * receive port, lib/ucp/incoming.ts), already connected and with no login of ours to wait for.
   */
  protected adopt(socket: net.Socket, hooks: SocketHooks): void {
    this.socket = socket;
    // Without this, Nagle holds back every request after the first until an ACK comes
    // back, so a window of N behaves like a window of 1 or 2 on a quiet link.
    socket.setNoDelay(true);
    // Kept for the life of the object: a late socket error must never be unhandled.
    socket.on("error", (error) => this.destroy(hooks.errorReason(error)));
    socket.on("close", () => this.destroy(hooks.closeReason));
    socket.on("data", (chunk: Buffer) => this.guard(() => hooks.data(chunk)));
  }

  /**
   * Ends the link once: false when it had ended already. `cleanUp` runs first (the protocol's
   * timers and writes); then every request in flight gets a LinkDownError, the socket ends, an
   * open() still waiting rejects and `onDown` hears the reason.
   */
  protected end(reason: string, graceful: boolean, cleanUp: () => void): boolean {
    if (this.downReason !== undefined) return false;
    this.downReason = reason;
    cleanUp();
    clearTimeout(this.connectTimer);
    for (const p of this.pending.drain()) {
      clearTimeout(p.timer);
      this.guard(() => p.callback(new LinkDownError(reason)));
    }
    if (this.socket) endSocket(this.socket, graceful);
    this.openFail?.(reason);
    const onDown = this.onDown;
    this.onDown = undefined;
    if (onDown) this.guard(() => onDown(reason));
    return true;
  }

  /** Runs socket and timer work; a throw ends the link instead of escaping into Node's event loop. */
  protected guard(fn: () => void): void {
    try {
      fn();
    } catch (error) {
      this.destroy(`internal error: ${(error as Error).message}`);
    }
  }
}
