/**
 * What every SMSC bind config node (smpp-bind, ucp-bind) does around its session, in the
 * Node-RED core MQTT broker node's shape: the session starts when the first user node
 * registers, every user mirrors its status, one user node answers what the SMSC delivers, the
 * correlation store is opened once and shared, and `close` ends the session and the store.
 */
import type { EventEmitter } from "node:events";
import type { Node, NodeAPI, NodeStatus } from "node-red";
import { SessionReadiness } from "../../lib/health/readiness";
import type { SharedCorrelationStore } from "../../lib/store";
import { logLine } from "../../lib/text/peer-value";
import { registerHealth } from "./health";
import { shortStatusText, throttledStatus } from "./status";
import { openCheckedStore } from "./store";

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
  /** The correlation store (opened and checked at start, shared by the bind's nodes); rejects when it cannot be used. */
  store(): Promise<SharedCorrelationStore>;
  /** Why the correlation store cannot be used, once its check at start failed. */
  storeError(): string | undefined;
  /** A user node joins: the session starts; `onStatus` hears every change. Returns the leave function. */
  register(user: Node, onStatus: (status: NodeStatus) => void): () => void;
  /** The one receiving node; false if another already is. */
  setReceiver(user: Node, handler: H): boolean;
  clearReceiver(user: Node): void;
  /** The receiving node's handler, if one registered. */
  receiver(): H | undefined;
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

/**
 * The bind's session from its checked options, or undefined with `configError` set and logged:
 * options that cannot work, or a session constructor that refuses them.
 */
export function sessionFrom<O, T>(node: Node & { configError?: string }, built: { options: O } | { error: string }, make: (options: O) => T): T | undefined {
  try {
    if ("error" in built) throw new Error(built.error);
    return make(built.options);
  } catch (err) {
    node.configError = (err as Error).message;
    node.error(node.configError);
    return undefined;
  }
}

/** A delivery (MO or report) from an SMSC that is answered once, after its hand-over (ucp-bind, cimd2-bind). */
interface Answerable<A> {
  respond(answer: A): void;
}

/**
 * Hands each "delivery" the session emits to the receiving node, and answers it with what that
 * node resolved; without a receiving node, or when it fails, with a refusal so the SMSC delivers
 * it again later (acknowledging would lose it).
 */
export function routeDeliveries<D extends Answerable<A>, A>(session: EventEmitter | undefined, core: BindCore<(delivery: D) => Promise<A>>, refusal: (text: string) => A): void {
  session?.on("delivery", (delivery: D) => {
    const handler = core.receiver();
    if (!handler) return delivery.respond(refusal("no receiver, deliver again later"));
    handler(delivery).then(
      (answer) => delivery.respond(answer),
      (err: Error) => delivery.respond(refusal(err.message)),
    );
  });
}

export function ownSession<S, H>(
  RED: NodeAPI,
  node: Node,
  setup: { session?: BindSession<S>; configError?: string; storeUrl: string; view: (status: S) => NodeStatus; state: (status: S) => string; label: string },
): BindCore<H> {
  const users = new Map<string, (status: NodeStatus) => void>();
  let receiver: { id: string; handler: H } | undefined;
  const { session } = setup;
  // Counted by the health endpoint once a node uses this bind (nodes/shared/health.ts).
  const readiness = new SessionReadiness(node.name || node.id, () => (session ? setup.state(session.status) : undefined));
  let leaveHealth: (() => void) | undefined;
  let storeChecked = false;
  let storeError: string | undefined;
  const storeFailedView = (): NodeStatus => ({ fill: "red", shape: "ring", text: shortStatusText(storeError ?? "correlation store unusable") });
  // Binding without a store would take MTs whose receipts could never be matched: the session
  // starts only once the store answered its question at start (issue #14).
  const storePromise = openCheckedStore(RED, setup.storeUrl, node.type, (err) => node.warn(logLine(`correlation store: ${err.message}`)));
  storePromise.then(
    () => {
      storeChecked = true;
      if (users.size > 0) startSession();
    },
    (err: Error) => {
      storeError = `correlation store unusable: ${logLine(err.message, 200)}`;
      node.error(`${setup.label}: ${storeError}; not connected, and no message is sent or matched until it is fixed and the flow deployed again`);
      for (const listener of users.values()) listener(storeFailedView());
    },
  );
  function startSession(): void {
    // UCP's start opens the receive port, which may fail (port taken): say so, never crash.
    Promise.resolve(session?.start()).catch((err: Error) => node.error(logLine(`cannot start: ${err.message}`)));
  }
  let latest: S | undefined;
  // The first change shows at once, later ones within the interval fold into the latest.
  const fanOut = throttledStatus(() => {
    if (latest === undefined) return;
    const view = setup.view(latest);
    for (const listener of users.values()) listener(view);
  }, STATUS_INTERVAL_MS);
  session?.on("status", (status: S) => {
    latest = status;
    readiness.observe(setup.state(status));
    fanOut();
  });
  session?.on("log", (entry: { level: string; text: string }) => {
    if (entry.level === "warn" || entry.level === "error") node.warn(entry.text);
    else if (entry.level === "info") node.log(entry.text);
    else node.debug(entry.text);
  });

  node.on("close", (_removed: boolean, done: () => void) => {
    leaveHealth?.();
    fanOut.cancel();
    const limit = setTimeout(done, CLOSE_LIMIT_MS);
    Promise.allSettled([session?.close(), storePromise.then((s) => s.close())]).then(() => {
      clearTimeout(limit);
      done();
    });
  });

  return {
    store: () => storePromise,
    storeError: () => storeError,
    register(user, onStatus) {
      users.set(user.id, onStatus);
      leaveHealth ??= registerHealth(RED, readiness, (text) => node.warn(text));
      if (!session) {
        onStatus({ fill: "red", shape: "ring", text: shortStatusText(setup.configError ?? "misconfigured") });
      } else if (storeError) {
        onStatus(storeFailedView());
      } else {
        onStatus(setup.view(session.status));
        if (storeChecked) startSession();
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
