/**
 * smpp-bind (config): one SMPP bind to an SMSC, owning its SmppSession and the correlation
 * store that smpp-out writes and smpp-in reads. The session starts when the first smpp-in or
 * smpp-out node registers and is unbound when this node closes (MQTT broker node style,
 * nodes/shared/bind.ts).
 */
import type { Node, NodeAPI, NodeDef, NodeStatus } from "node-red";
import { ESME_RX_T_APPN, parseStatusList } from "../../lib/smpp/command-status";
import { SMPP_BIND_DEFAULTS } from "../../lib/smpp/defaults";
import type { MessageIdMode } from "../../lib/smpp/receipt";
import { SmppSession, type BindMode, type DeliverHandler, type SessionStatus, type SmppSessionOptions } from "../../lib/smpp/session";
import { ownSession, sessionFrom, sessionStatusView, type BindCore } from "../shared/bind";
import { resolveEnvReference } from "../shared/env";
import { smscAddress } from "../shared/smsc-address";
import { observeSmppBind } from "../shared/observe";
import { positive, seconds } from "../shared/settings";

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

/** The correlation store, the user nodes and the one smpp-in node that answers deliver_sm: nodes/shared/bind.ts. */
export interface SmppBindNode extends Node<SmppBindCredentials>, BindCore<DeliverHandler> {
  /** Why this bind cannot be used, if it cannot. */
  configError?: string;
  session?: SmppSession;
  idMode: MessageIdMode;
  /** The store URL as configured (may be a `${VAR}` reference); empty for the embedded store. */
  storeUrl: string;
}

const MODES: readonly BindMode[] = ["transceiver", "transmitter", "receiver", "transmitter+receiver"];
const ID_MODES: readonly MessageIdMode[] = ["asis", "hex", "decimal", "auto"];

export default function (RED: NodeAPI) {
  function SmppBind(this: SmppBindNode, config: SmppBindDef) {
    RED.nodes.createNode(this, config);
    const node = this;
    node.idMode = ID_MODES.includes(config.idMode) ? config.idMode : "auto";
    node.storeUrl = config.storeUrl ?? "";
    const built = sessionOptions(config, {
      systemId: resolveEnvReference(node.credentials?.systemId),
      password: resolveEnvReference(node.credentials?.password),
    });
    node.session = sessionFrom(node, built, (options) => new SmppSession(options));
    const core = ownSession<SessionStatus, DeliverHandler>(RED, node, {
      session: node.session,
      configError: node.configError,
      storeUrl: node.storeUrl,
      view: (s) => statusView(RED, s),
      state: (s) => s.state,
      label: "SMPP bind",
    });
    // Without a receiver, answer "try later": acknowledging would lose the message.
    node.session?.setDeliverHandler((pdu) => core.receiver()?.(pdu) ?? Promise.resolve(ESME_RX_T_APPN));
    Object.assign(node, core);
    observeSmppBind(RED, node);
  }

  RED.nodes.registerType<SmppBindNode, SmppBindDef, object, SmppBindCredentials>("smpp-bind", SmppBind, {
    credentials: { systemId: { type: "text" }, password: { type: "password" } },
  });
}

/** Node config to session options, or the first reason it cannot work. */
export function sessionOptions(
  config: Partial<SmppBindDef>,
  credentials: { systemId: string; password: string },
): { options: SmppSessionOptions } | { error: string } {
  const where = smscAddress(config);
  if ("error" in where) return where;
  if (!credentials.systemId) return { error: "system_id is empty" };
  const mode = config.mode && MODES.includes(config.mode) ? config.mode : "transceiver";
  let temporaryStatuses: number[] | undefined;
  try {
    temporaryStatuses = config.temporaryStatuses?.trim() ? parseStatusList(config.temporaryStatuses) : undefined;
  } catch (err) {
    return { error: `temporary statuses: ${(err as Error).message}` };
  }
  return {
    options: {
      ...where.address,
      systemId: credentials.systemId,
      password: credentials.password,
      systemType: config.systemType ?? "",
      mode,
      addressRange: config.addressRange ?? "",
      interfaceVersion: Number(config.interfaceVersion) || 0x34,
      enquireLinkMs: seconds(config.enquireLink, SMPP_BIND_DEFAULTS.enquireLinkSeconds),
      responseTimeoutMs: seconds(config.responseTimeout, SMPP_BIND_DEFAULTS.responseTimeoutSeconds),
      window: Math.floor(positive(config.window, SMPP_BIND_DEFAULTS.window)),
      throughput: positive(config.throughput, SMPP_BIND_DEFAULTS.throughput),
      temporaryStatuses,
    },
  };
}

/** The session's state as a Node-RED status (shown on every node of this bind). */
export function statusView(RED: NodeAPI, s: SessionStatus): NodeStatus {
  return sessionStatusView(RED, "smpp-bind", s, { mode: s.mode });
}
