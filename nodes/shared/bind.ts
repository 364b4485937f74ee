/**
 * What every SMSC bind config node (smpp-bind, ucp-bind) does around its session, in the
 * Node-RED core MQTT broker node's shape: the session starts when the first user node
 * registers, every user mirrors its status, one user node answers what the SMSC delivers, the
 * correlation store is opened once and shared, and `close` ends the session and the store.
 */
import type { EventEmitter } from "node:events";
import { readFileSync } from "node:fs";
import type { Node, NodeAPI, NodeStatus } from "node-red";
import type { SharedCorrelationStore } from "../../lib/store";
import { throttledStatus } from "./status";
import { openNodeStore } from "./store";

/** The shape lib/smpp/session.ts and lib/ucp/session.ts share. */
export interface BindSession<S> extends EventEmitter {
  readonly status: S;
  start(): unknown;
  close(): Promise<void>;
}

/** A session's state as the nodes show it ("bound" = bound or logged in). */
export interface ShownState {
  state: string;
  throttled: boolean;
  windowFull: boolean;
  retryInMs?: number;
  lastError?: string;
}

export interface BindCore<H> {
  store(): Promise<SharedCorrelationStore>;
  /** A user node joins: the session starts; `onStatus` hears every change. Returns the leave function. */
  register(user: Node, onStatus: (status: NodeStatus) => void): () => void;
  /** The one receiving node; false if another already is. */
  setReceiver(user: Node, handler: H): boolean;
  clearReceiver(user: Node): void;
  /** The receiving node's handler, if one registered. */
  receiver(): H | undefined;
}

/** The config every bind shares: where the SMSC is and how TLS is checked. */
export interface ConnectionConfig {
  host?: string;
  port?: string | number;
  tls?: boolean;
  tlsVerify?: boolean;
  caFile?: string;
}

/** Host, port and TLS options from a bind's config, or the first reason they cannot work. */
export function connectionOptions(config: ConnectionConfig): { host: string; port: number; tls?: { rejectUnauthorized: boolean; ca?: Buffer } } | { error: string } {
  const host = String(config.host ?? "").trim();
  if (!host) return { error: "SMSC host is empty" };
  const port = Number(config.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: `SMSC port "${String(config.port)}" is not a TCP port` };
  if (!config.tls) return { host, port };
  const tls: { rejectUnauthorized: boolean; ca?: Buffer } = { rejectUnauthorized: config.tlsVerify !== false };
  if (config.caFile?.trim()) {
    try {
      tls.ca = readFileSync(config.caFile.trim());
    } catch (err) {
      return { error: `cannot read the CA file: ${(err as Error).message}` };
    }
  }
  return { host, port, tls };
}

/** Node-RED gives close 15 s; the sessions' drain (5 s) and logout fit well inside. */
const CLOSE_LIMIT_MS = 14_000;
/**
 * Shortest time between two status fan-outs: under load "window full" comes and goes with
 * nearly every submit, and a status to every node each time cost more than 5 % of the bridge's CPU.
 */
const STATUS_INTERVAL_MS = 250;

/** The session's state as a Node-RED status; `type` names the locale keys (`<type>.status.*`). */
export function sessionStatusView(RED: NodeAPI, type: string, s: ShownState, boundText: Record<string, string> = {}): NodeStatus {
  switch (s.state) {
    case "bound":
      if (s.throttled) return { fill: "yellow", shape: "dot", text: RED._(`${type}.status.throttled`) };
      if (s.windowFull) return { fill: "yellow", shape: "dot", text: RED._(`${type}.status.window-full`) };
      return { fill: "green", shape: "dot", text: RED._(`${type}.status.bound`, boundText) };
    case "reconnecting":
      return {
        fill: "red",
        shape: "ring",
        text: RED._(`${type}.status.reconnecting`, { seconds: Math.ceil((s.retryInMs ?? 0) / 1000), error: (s.lastError ?? "").slice(0, 80) }),
      };
    case "closing":
    case "closed":
      return { fill: "grey", shape: "ring", text: RED._(`${type}.status.closed`) };
    default:
      return { fill: "yellow", shape: "ring", text: RED._(`${type}.status.connecting`) };
  }
}

export function ownSession<S, H>(
  RED: NodeAPI,
  node: Node,
  setup: { session?: BindSession<S>; configError?: string; storeUrl: string; view: (status: S) => NodeStatus },
): BindCore<H> {
  const users = new Map<string, (status: NodeStatus) => void>();
  let receiver: { id: string; handler: H } | undefined;
  let storePromise: Promise<SharedCorrelationStore> | undefined;
  const { session } = setup;
  let latest: S | undefined;
  // The first change shows at once, later ones within the interval fold into the latest.
  const fanOut = throttledStatus(() => {
    if (latest === undefined) return;
    const view = setup.view(latest);
    for (const listener of users.values()) listener(view);
  }, STATUS_INTERVAL_MS);
  session?.on("status", (status: S) => {
    latest = status;
    fanOut();
  });
  session?.on("log", (entry: { level: string; text: string }) => {
    if (entry.level === "warn" || entry.level === "error") node.warn(entry.text);
    else if (entry.level === "info") node.log(entry.text);
    else node.debug(entry.text);
  });

  node.on("close", (_removed: boolean, done: () => void) => {
    fanOut.cancel();
    const limit = setTimeout(done, CLOSE_LIMIT_MS);
    Promise.allSettled([session?.close(), storePromise?.then((s) => s.close())]).then(() => {
      clearTimeout(limit);
      done();
    });
  });

  return {
    store: () => (storePromise ??= openNodeStore(RED, setup.storeUrl, undefined, (err) => node.warn(`correlation store: ${err.message}`))),
    register(user, onStatus) {
      users.set(user.id, onStatus);
      if (session) {
        onStatus(setup.view(session.status));
        // UCP's start opens the receive port, which may fail (port taken): say so, never crash.
        Promise.resolve(session.start()).catch((err: Error) => node.error(`cannot start: ${err.message}`));
      } else {
        onStatus({ fill: "red", shape: "ring", text: setup.configError ?? "misconfigured" });
      }
      return () => {
        users.delete(user.id);
        if (receiver?.id === user.id) receiver = undefined;
      };
    },
    setReceiver(user, handler) {
      if (receiver && receiver.id !== user.id) return false;
      receiver = { id: user.id, handler };
      return true;
    },
    clearReceiver(user) {
      if (receiver?.id === user.id) receiver = undefined;
    },
    receiver: () => receiver?.handler,
  };
}
