/**
 * The TCP / TLS socket of an SMSC connection, opened and ended the same way for every
 * protocol (lib/session/link-base.ts, under the SMPP, CIMD2 and UCP links):
 * certificates are verified unless `rejectUnauthorized` is explicitly false, and a graceful
 * end gives written frames a second to reach the peer before the socket is destroyed.
 */
import * as net from "node:net";
import * as tls from "node:tls";

export interface TlsOptions {
  /** PEM CA certificate(s) to trust besides the system store. */
  ca?: string | Buffer;
  /** Certificate verification is on unless explicitly turned off. */
  rejectUnauthorized?: boolean;
  servername?: string;
}

export interface SocketOptions {
  host: string;
  port: number;
  /** `true` or TLS options; absent or false is plain TCP. */
  tls?: boolean | TlsOptions;
}

/**
 * Connects (TLS when asked). `sniFromHost`: without a `servername`, send the host name (not an
 * IP) as SNI; the SMPP link has always sent SNI only when `servername` is given.
 */
export function connectSocket(o: SocketOptions, sniFromHost = true): net.Socket {
  if (o.tls === undefined || o.tls === false) return net.connect({ host: o.host, port: o.port });
  const t = typeof o.tls === "object" ? o.tls : {};
  const servername = t.servername ?? (sniFromHost && !net.isIP(o.host) ? o.host : undefined);
  return tls.connect({ host: o.host, port: o.port, ca: t.ca, rejectUnauthorized: t.rejectUnauthorized !== false, servername });
}

/** Ends a socket: at once, or after what was written has had a second to leave. */
export function endSocket(socket: net.Socket, graceful: boolean): void {
  if (!graceful) {
    socket.destroy();
    return;
  }
  socket.end();
  setTimeout(() => socket.destroy(), 1000).unref();
}

/** The event that says a socket from connectSocket is ready to carry frames. */
export function readyEvent(o: SocketOptions): "connect" | "secureConnect" {
  return o.tls === undefined || o.tls === false ? "connect" : "secureConnect";
}
