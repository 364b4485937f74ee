/**
 * ucp-bind (config): one UCP/EMI login to an SMSC, owning its UcpSession and the correlation
 * store that ucp-out writes and ucp-in reads, with the optional receive port on which the SMSC
 * connects in to deliver. The session starts when the first ucp-in or ucp-out node registers
 * and is closed when this node closes (MQTT broker node style, nodes/shared/bind.ts).
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { UCP_BIND_DEFAULTS } from "../../lib/ucp/defaults";
import type { DeliveryAnswer, UcpDelivery } from "../../lib/ucp/incoming";
import { UcpSession, type SessionStatus, type UcpSessionOptions } from "../../lib/ucp/session";
import type { TextAlphabet } from "../../lib/ucp/submit";
import { ownSession, routeDeliveries, sessionFrom, sessionStatusView, type BindCore } from "../shared/bind";
import { countUpTo, positive, seconds } from "../shared/settings";
import { smscAddress } from "../shared/smsc-address";
import { resolveEnvReference } from "../shared/env";

export interface UcpBindDef extends NodeDef {
  host: string;
  port: string | number;
  tls: boolean;
  tlsVerify: boolean;
  caFile: string;
  myNumber: string;
  window: string | number;
  responseTimeout: string | number;
  keepAlive: string | number;
  inactivityTimeout: string | number;
  throughput: string | number;
  reconnectMax: string | number;
  alphabet: TextAlphabet;
  /** Empty: no receive port. */
  receivePort: string | number;
  /** Addresses or CIDR ranges the SMSC connects in from, separated by commas or spaces. */
  receiveAllow: string;
  storeUrl: string;
}

export interface UcpBindCredentials {
  username?: string;
  password?: string;
}

/** What ucp-in registers to answer the SMSC's operations with. */
export type UcpDeliverHandler = (delivery: UcpDelivery) => Promise<DeliveryAnswer>;

/** The correlation store, the user nodes and the one ucp-in node that answers OT 01/52/53: nodes/shared/bind.ts. */
export interface UcpBindNode extends Node<UcpBindCredentials>, BindCore<UcpDeliverHandler> {
  /** Why this bind cannot be used, if it cannot. */
  configError?: string;
  session?: UcpSession;
  alphabet: TextAlphabet;
  /** The store URL as configured (may be a `${VAR}` reference); empty for the embedded store. */
  storeUrl: string;
}

export default function (RED: NodeAPI) {
  function UcpBind(this: UcpBindNode, config: UcpBindDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.alphabet = config.alphabet === "ira" ? "ira" : "gsm";
    node.storeUrl = config.storeUrl ?? "";
    const built = ucpSessionOptions(config, { username: resolveEnvReference(node.credentials?.username), password: resolveEnvReference(node.credentials?.password) });
    node.session = sessionFrom(node, built, (options) => new UcpSession(options));
    const core = ownSession<SessionStatus, UcpDeliverHandler>(RED, node, {
      session: node.session,
      configError: node.configError,
      storeUrl: node.storeUrl,
      view: (s) => statusView(RED, s),
      state: (s) => s.state,
      label: "UCP bind",
    });
    // Without a ucp-in, or when it fails: a negative result, deliver again (decision 22).
    routeDeliveries<UcpDelivery, DeliveryAnswer>(node.session, core, (text) => ({ ok: false, text }));
    Object.assign(node, core);
  }

  RED.nodes.registerType<UcpBindNode, UcpBindDef, object, UcpBindCredentials>("ucp-bind", UcpBind, {
    credentials: { username: { type: "text" }, password: { type: "password" } },
  });
}

/** Node config to session options, or the first reason it cannot work (the session checks the rest). */
export function ucpSessionOptions(config: Partial<UcpBindDef>, credentials: { username: string; password: string }): { options: UcpSessionOptions } | { error: string } {
  const where = smscAddress(config);
  if ("error" in where) return where;
  if (!credentials.username) return { error: "username is empty" };
  const window = countUpTo("window", config.window, UCP_BIND_DEFAULTS.window, 100);
  if (typeof window !== "number") return window;
  let receiver: UcpSessionOptions["receiver"];
  const receivePort = String(config.receivePort ?? "").trim();
  if (receivePort !== "") {
    const p = Number(receivePort);
    if (!Number.isInteger(p) || p < 0 || p > 65535) return { error: `receive port "${receivePort}" is not a TCP port` };
    const allow = (config.receiveAllow ?? "").split(/[\s,]+/).filter(Boolean);
    // Listening beyond this machine only when an allow-list says who may connect.
    receiver = { port: p, host: allow.length > 0 ? "0.0.0.0" : "127.0.0.1", allow };
  }
  return {
    options: {
      ...where.address,
      username: credentials.username,
      password: credentials.password,
      myNumber: config.myNumber?.trim() || undefined,
      window,
      responseTimeoutMs: seconds(config.responseTimeout, UCP_BIND_DEFAULTS.responseTimeoutSeconds),
      keepAliveMs: seconds(config.keepAlive, UCP_BIND_DEFAULTS.keepAliveSeconds),
      inactivityTimeoutMs: seconds(config.inactivityTimeout, UCP_BIND_DEFAULTS.inactivityTimeoutSeconds),
      throughput: positive(config.throughput, UCP_BIND_DEFAULTS.throughput),
      reconnectMaxMs: seconds(config.reconnectMax, UCP_BIND_DEFAULTS.reconnectMaxSeconds),
      alphabet: config.alphabet === "ira" ? "ira" : "gsm",
      receiver,
    },
  };
}

/** The session's state as a Node-RED status (shown on every node of this bind). */
export function statusView(RED: NodeAPI, s: SessionStatus): NodeStatus {
  return sessionStatusView(RED, "ucp-bind", s);
}
