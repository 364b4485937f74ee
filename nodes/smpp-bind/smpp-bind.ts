/**
 * smpp-bind (config): one SMPP bind to an SMSC, owning its SmppSession and the correlation
 * store that smpp-out writes and smpp-in reads. The session starts when the first smpp-in or
 * smpp-out node registers and the store has answered its check, and is unbound when this node
 * closes (MQTT broker node style). A store that fails its check never binds: every node of the
 * bind is red with `storeError`, and MTs are refused as temporary.
 */
import { readFileSync } from "node:fs";
import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { ESME_RX_T_APPN, parseStatusList } from "../../lib/smpp/command-status";
import { SMPP_BIND_DEFAULTS } from "../../lib/smpp/defaults";
import type { MessageIdMode } from "../../lib/smpp/receipt";
import { SmppSession, type BindMode, type DeliverHandler, type SessionStatus, type SmppSessionOptions } from "../../lib/smpp/session";
import type { SharedCorrelationStore } from "../../lib/store";
import { SessionReadiness } from "../../lib/health/readiness";
import { resolveEnvReference } from "../shared/env";
import { registerHealth } from "../shared/health";
import { shortStatusText, throttledStatus, type ThrottledStatus } from "../shared/status";
import { openCheckedStore } from "../shared/store";
import { logLine } from "../../lib/text/peer-value";
import { observeSmppBind } from "../shared/observe";

export interface SmppBindDef extends NodeDef {
  host: string;
  port: string | number;
  tls: boolean;
  tlsVerify: boolean;
  caFile: string;
  mode: BindMode;
  systemType: string;
  addressRange: string;
  interfaceVersion: string;
  enquireLink: string | number;
  responseTimeout: string | number;
  window: string | number;
  throughput: string | number;
  temporaryStatuses: string;
  idMode: MessageIdMode;
  storeUrl: string;
}

export interface SmppBindCredentials {
  systemId?: string;
  password?: string;
}

export interface SmppBindNode extends Node<SmppBindCredentials> {
  /** Why this bind cannot be used, if it cannot. */
  configError?: string;
  session?: SmppSession;
  idMode: MessageIdMode;
  /** The store URL as configured (may be a `${VAR}` reference); empty for the embedded store. */
  storeUrl: string;
  /** The correlation store (opened and checked at start, shared by this bind's nodes); rejects when it cannot be used. */
  store(): Promise<SharedCorrelationStore>;
  /** Why the correlation store cannot be used, once its check at start failed. */
  storeError?: string;
  /** A user node joins: the session starts; `onStatus` hears every change. Returns the leave function. */
  register(user: Node, onStatus: (status: NodeStatus) => void): () => void;
  /** The one smpp-in node that answers deliver_sm; false if another already does. */
  setReceiver(user: Node, handler: DeliverHandler): boolean;
  clearReceiver(user: Node): void;
}

const MODES: readonly BindMode[] = ["transceiver", "transmitter", "receiver", "transmitter+receiver"];
const ID_MODES: readonly MessageIdMode[] = ["asis", "hex", "decimal", "auto"];
/** Node-RED gives close 15 s; the session's drain (5 s) and unbind (3 s) fit well inside. */
const CLOSE_LIMIT_MS = 14_000;
/** Shortest time between two status fan-outs (see the session's "status" listener). */
const STATUS_INTERVAL_MS = 250;

export default function (RED: NodeAPI) {
  function SmppBind(this: SmppBindNode, config: SmppBindDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    const users = new Map<string, (status: NodeStatus) => void>();
    let receiver: { id: string; handler: DeliverHandler } | undefined;
    let storeChecked = false;
    let fanOut: ThrottledStatus | undefined;
    // Counted by the health endpoint once a node uses this bind (nodes/shared/health.ts).
    const readiness = new SessionReadiness(node.name || node.id, () => node.session?.status.state);
    let leaveHealth: (() => void) | undefined;

    node.idMode = ID_MODES.includes(config.idMode) ? config.idMode : "auto";
    node.storeUrl = config.storeUrl ?? "";
    const built = sessionOptions(config, {
      systemId: resolveEnvReference(node.credentials?.systemId),
      password: resolveEnvReference(node.credentials?.password),
    });
    if ("error" in built) {
      node.configError = built.error;
      node.error(built.error);
    } else {
      node.session = new SmppSession(built.options);
      // Under load "window full" comes and goes with nearly every submit; building,
      // translating and sending a status to every node (and to any Status node) each time
      // cost more than 5 % of the bridge's CPU. The first change shows at once, later ones
      // within the interval fold into the latest.
      let latest: SessionStatus | undefined;
      fanOut = throttledStatus(() => {
        if (!latest) return;
        const view = statusView(RED, latest);
        for (const listener of users.values()) listener(view);
      }, STATUS_INTERVAL_MS);
      node.session.on("status", (status: SessionStatus) => {
        latest = status;
        readiness.observe(status.state);
        fanOut?.();
      });
      node.session.on("log", (entry: { level: string; text: string }) => {
        if (entry.level === "warn" || entry.level === "error") node.warn(entry.text);
        else if (entry.level === "info") node.log(entry.text);
        else node.debug(entry.text);
      });
      node.session.setDeliverHandler((pdu) => {
        // Without a receiver, answer "try later": acknowledging would lose the message.
        if (!receiver) return Promise.resolve(ESME_RX_T_APPN);
        return receiver.handler(pdu);
      });
    }

    observeSmppBind(RED, node);

    // Binding without a store would take MTs whose receipts could never be matched: the session
    // starts only once the store answered its question at start.
    const storePromise = openCheckedStore(RED, config.storeUrl, "smpp-bind", (err) => node.warn(logLine(`correlation store: ${err.message}`)));
    const storeFailedView = (): NodeStatus => ({ fill: "red", shape: "ring", text: shortStatusText(node.storeError ?? "correlation store unusable") });
    storePromise.then(
      () => {
        storeChecked = true;
        if (users.size > 0) node.session?.start();
      },
      (err: Error) => {
        node.storeError = `correlation store unusable: ${logLine(err.message, 200)}`;
        node.error(`SMPP bind: ${node.storeError}; not bound, and no message is sent or matched until it is fixed and the flow deployed again`);
        for (const listener of users.values()) listener(storeFailedView());
      },
    );
    node.store = () => storePromise;

    node.register = (user, onStatus) => {
      users.set(user.id, onStatus);
      if (!leaveHealth) leaveHealth = registerHealth(RED, readiness, (text) => node.warn(text));
      if (!node.session) {
        onStatus({ fill: "red", shape: "ring", text: shortStatusText(node.configError ?? "misconfigured") });
      } else if (node.storeError) {
        onStatus(storeFailedView());
      } else {
        onStatus(statusView(RED, node.session.status));
        if (storeChecked) node.session.start();
      }
      return () => {
        users.delete(user.id);
        if (receiver?.id === user.id) receiver = undefined;
      };
    };
    node.setReceiver = (user, handler) => {
      if (receiver && receiver.id !== user.id) return false;
      receiver = { id: user.id, handler };
      return true;
    };
    node.clearReceiver = (user) => {
      if (receiver?.id === user.id) receiver = undefined;
    };

    node.on("close", (_removed: boolean, done: () => void) => {
      leaveHealth?.();
      fanOut?.cancel();
      const limit = setTimeout(done, CLOSE_LIMIT_MS);
      const closing = [node.session?.close(), storePromise.then((s) => s.close())];
      Promise.allSettled(closing).then(() => {
        clearTimeout(limit);
        done();
      });
    });
  }

  RED.nodes.registerType<SmppBindNode, SmppBindDef, object, SmppBindCredentials>("smpp-bind", SmppBind, {
    credentials: { systemId: { type: "text" }, password: { type: "password" } },
  });
}

function positive(value: unknown, fallback: number): number {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** Node config to session options, or the first reason it cannot work. */
export function sessionOptions(
  config: Partial<SmppBindDef>,
  credentials: { systemId: string; password: string },
): { options: SmppSessionOptions } | { error: string } {
  const host = String(config.host ?? "").trim();
  if (!host) return { error: "SMSC host is empty" };
  const port = Number(config.port);
  if (!Number.isInteger(port) || port < 1 || port > 65535) return { error: `SMSC port "${String(config.port)}" is not a TCP port` };
  if (!credentials.systemId) return { error: "system_id is empty" };
  const mode = config.mode && MODES.includes(config.mode) ? config.mode : "transceiver";
  let temporaryStatuses: number[] | undefined;
  try {
    temporaryStatuses = config.temporaryStatuses?.trim() ? parseStatusList(config.temporaryStatuses) : undefined;
  } catch (err) {
    return { error: `temporary statuses: ${(err as Error).message}` };
  }
  let tls: SmppSessionOptions["tls"];
  if (config.tls) {
    tls = { rejectUnauthorized: config.tlsVerify !== false };
    if (config.caFile?.trim()) {
      try {
        tls.ca = readFileSync(config.caFile.trim());
      } catch (err) {
        return { error: `cannot read the CA file: ${(err as Error).message}` };
      }
    }
  }
  const throughput = Number(config.throughput);
  return {
    options: {
      host,
      port,
      tls,
      systemId: credentials.systemId,
      password: credentials.password,
      systemType: config.systemType ?? "",
      mode,
      addressRange: config.addressRange ?? "",
      interfaceVersion: Number(config.interfaceVersion) || 0x34,
      enquireLinkMs: positive(config.enquireLink, SMPP_BIND_DEFAULTS.enquireLinkSeconds) * 1000,
      responseTimeoutMs: positive(config.responseTimeout, SMPP_BIND_DEFAULTS.responseTimeoutSeconds) * 1000,
      window: Math.floor(positive(config.window, SMPP_BIND_DEFAULTS.window)),
      throughput: Number.isFinite(throughput) && throughput > 0 ? throughput : SMPP_BIND_DEFAULTS.throughput,
      temporaryStatuses,
    },
  };
}

/** The session's state as a Node-RED status (shown on every node of this bind). */
export function statusView(RED: NodeAPI, s: SessionStatus): NodeStatus {
  switch (s.state) {
    case "bound":
      if (s.throttled) return { fill: "yellow", shape: "dot", text: RED._("smpp-bind.status.throttled") };
      if (s.windowFull) return { fill: "yellow", shape: "dot", text: RED._("smpp-bind.status.window-full") };
      return { fill: "green", shape: "dot", text: RED._("smpp-bind.status.bound", { mode: s.mode }) };
    case "reconnecting":
      return {
        fill: "red",
        shape: "ring",
        // The reason is in the log (the session's warning); the status stays short (issue #14).
        text: shortStatusText(RED._("smpp-bind.status.reconnecting", { seconds: Math.ceil((s.retryInMs ?? 0) / 1000) })),
      };
    case "closing":
    case "closed":
      return { fill: "grey", shape: "ring", text: RED._("smpp-bind.status.closed") };
    default:
      return { fill: "yellow", shape: "ring", text: RED._("smpp-bind.status.connecting") };
  }
}
