/**
 * cimd2-bind (config): one CIMD2 login to an SMSC, owning its Cimd2Session and the correlation
 * store that cimd2-out writes and cimd2-in reads. The session starts when the first cimd2-in or
 * cimd2-out node registers and logs out when this node closes (MQTT broker node style,
 * nodes/shared/bind.ts).
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { CIMD2_BIND_DEFAULTS } from "../../lib/cimd2/defaults";
import type { Delivery, DeliveryAnswer } from "../../lib/cimd2/deliver";
import { Cimd2Session, type Cimd2SessionOptions, type SessionStatus } from "../../lib/cimd2/session";
import { ownSession, routeDeliveries, sessionFrom, sessionStatusView, type BindCore } from "../shared/bind";
import { countUpTo, positive, seconds } from "../shared/settings";
import { resolveEnvReference } from "../shared/env";
import { smscAddress } from "../shared/smsc-address";

export interface Cimd2BindDef extends NodeDef {
  host: string;
  port: string | number;
  tls: boolean;
  tlsVerify: boolean;
  caFile: string;
  window: string | number;
  responseTimeout: string | number;
  aliveInterval: string | number;
  inactivityTimeout: string | number;
  throughput: string | number;
  reconnectMax: string | number;
  /** Kannel's `no-dlr`: send no `056` for SMSCs that refuse it (no reports then). */
  omitStatusReportRequest: boolean;
  storeUrl: string;
}

export interface Cimd2BindCredentials {
  username?: string;
  password?: string;
}

/** What cimd2-in registers to answer the SMSC's op 20 / op 23 with. */
export type Cimd2DeliverHandler = (delivery: Delivery) => Promise<DeliveryAnswer>;

/** The correlation store, the user nodes and the one cimd2-in node that answers: nodes/shared/bind.ts. */
export interface Cimd2BindNode extends Node<Cimd2BindCredentials>, BindCore<Cimd2DeliverHandler> {
  /** Why this bind cannot be used, if it cannot. */
  configError?: string;
  session?: Cimd2Session;
  omitStatusReportRequest: boolean;
  /** The store URL as configured (may be a `${VAR}` reference); empty for the embedded store. */
  storeUrl: string;
}

export default function (RED: NodeAPI) {
  function Cimd2Bind(this: Cimd2BindNode, config: Cimd2BindDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.omitStatusReportRequest = config.omitStatusReportRequest === true;
    node.storeUrl = config.storeUrl ?? "";
    const built = cimd2SessionOptions(config, { username: resolveEnvReference(node.credentials?.username), password: resolveEnvReference(node.credentials?.password) });
    node.session = sessionFrom(node, built, (options) => new Cimd2Session(options));
    const core = ownSession<SessionStatus, Cimd2DeliverHandler>(RED, node, {
      session: node.session,
      configError: node.configError,
      storeUrl: node.storeUrl,
      view: (s) => statusView(RED, s),
      // The health endpoint counts a bind as up when "bound": CIMD2's word for it is logged in.
      state: (s) => (s.state === "loggedIn" ? "bound" : s.state),
      label: "CIMD2 bind",
    });
    // Without a cimd2-in, or when it fails: error 710, deliver again (decision 23).
    routeDeliveries<Delivery, DeliveryAnswer>(node.session, core, (text) => ({ ok: false, text }));
    Object.assign(node, core);
  }

  RED.nodes.registerType<Cimd2BindNode, Cimd2BindDef, object, Cimd2BindCredentials>("cimd2-bind", Cimd2Bind, {
    credentials: { username: { type: "text" }, password: { type: "password" } },
  });
}

/** Node config to session options, or the first reason it cannot work (the session checks the rest). */
export function cimd2SessionOptions(config: Partial<Cimd2BindDef>, credentials: { username: string; password: string }): { options: Cimd2SessionOptions } | { error: string } {
  const where = smscAddress(config);
  if ("error" in where) return where;
  if (!credentials.username) return { error: "user identity is empty" };
  const window = countUpTo("window", config.window, CIMD2_BIND_DEFAULTS.window, 127);
  if (typeof window !== "number") return window;
  return {
    options: {
      ...where.address,
      username: credentials.username,
      password: credentials.password,
      window,
      responseTimeoutMs: seconds(config.responseTimeout, CIMD2_BIND_DEFAULTS.responseTimeoutSeconds),
      aliveIntervalMs: seconds(config.aliveInterval, CIMD2_BIND_DEFAULTS.aliveIntervalSeconds, true),
      inactivityTimeoutMs: seconds(config.inactivityTimeout, CIMD2_BIND_DEFAULTS.inactivityTimeoutSeconds, true),
      throughput: positive(config.throughput, CIMD2_BIND_DEFAULTS.throughput),
      reconnectMaxMs: seconds(config.reconnectMax, CIMD2_BIND_DEFAULTS.reconnectMaxSeconds),
    },
  };
}

/** The session's state as a Node-RED status (shown on every node of this bind); logged in shows as bound. */
export function statusView(RED: NodeAPI, s: SessionStatus): NodeStatus {
  return sessionStatusView(RED, "cimd2-bind", { ...s, state: s.state === "loggedIn" ? "bound" : s.state });
}
