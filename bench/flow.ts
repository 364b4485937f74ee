/**
 * The example flow the benchmark deploys, what it can do, and the few settings the
 * benchmark's options change in it (the bind's window and throughput cap). Everything
 * else is the shipped example as a user would import it.
 */
import fs from "node:fs";
import path from "node:path";
import { PACKAGE_ROOT } from "../sim/node-red";

/** The SMPP bridge example (rapidpro-in -> smpp-out -> rapidpro-out; smpp-in -> rapidpro-out). */
export const BRIDGE_FLOW = path.join(PACKAGE_ROOT, "examples", "rapidpro-smpp-bridge.json");
/** The UCP/EMI bridge example, the same with ucp-bind, ucp-out and ucp-in (`--protocol ucp`). */
export const UCP_BRIDGE_FLOW = path.join(PACKAGE_ROOT, "examples", "rapidpro-ucp-bridge.json");
/** The CIMD2 bridge example, with cimd2-bind, cimd2-out and cimd2-in (`--protocol cimd2`). */
export const CIMD2_BRIDGE_FLOW = path.join(PACKAGE_ROOT, "examples", "rapidpro-cimd2-bridge.json");

/** The SMSC protocols a bridge example may speak. */
export type Protocol = "smpp" | "ucp" | "cimd2";
const PROTOCOLS: readonly Protocol[] = ["smpp", "ucp", "cimd2"];

/** The example flow of each protocol (`--protocol`). */
export const BRIDGE_FLOWS: Record<Protocol, string> = { smpp: BRIDGE_FLOW, ucp: UCP_BRIDGE_FLOW, cimd2: CIMD2_BRIDGE_FLOW };
export const RAPIDPRO_FLOW = path.join(PACKAGE_ROOT, "examples", "rapidpro-external-channel.json");

export type FlowNode = Record<string, unknown> & { id: string; type: string };

export interface Flow {
  file: string;
  nodes: FlowNode[];
  /** The flow submits to the SMSC (`<protocol>-bind` and `<protocol>-out`): MT reaches the SMSC simulator. */
  smppOut: boolean;
  /** The flow takes what the SMSC delivers (`<protocol>-in`): MO and receipts come from the simulator. */
  smppIn: boolean;
  /** The SMSC protocol of its bind. */
  protocol: Protocol;
  /** The path of its rapidpro-in node: courier's Send URL. */
  sendPath: string;
}

export function loadFlow(file: string): Flow {
  const nodes = JSON.parse(fs.readFileSync(file, "utf8")) as FlowNode[];
  if (!Array.isArray(nodes)) throw new Error(`${file}: not a flow export (expected a JSON array of nodes)`);
  const has = (type: string) => nodes.some((n) => n.type === type);
  const rapidproIn = nodes.find((n) => n.type === "rapidpro-in");
  if (!rapidproIn) throw new Error(`${file}: no rapidpro-in node, so nothing to send MT to`);
  const sendPath = typeof rapidproIn.path === "string" && rapidproIn.path ? rapidproIn.path : "/rapidpro/send";
  return {
    file,
    nodes,
    smppOut: PROTOCOLS.some((p) => has(`${p}-bind`) && has(`${p}-out`)),
    smppIn: PROTOCOLS.some((p) => has(`${p}-bind`) && has(`${p}-in`)),
    protocol: PROTOCOLS.find((p) => has(`${p}-bind`)) ?? "smpp",
    sendPath: sendPath.startsWith("/") ? sendPath : `/${sendPath}`,
  };
}

/** Property names a bind's settings may go by; the first one the node has is set. */
const BIND_SETTINGS = {
  window: ["window", "maxPendingSubmits"],
  throughput: ["throughput", "rate", "tps", "maxRate"],
} as const;

/**
 * A copy of the flow's nodes with every bind (`smpp-bind`, `ucp-bind`, `cimd2-bind`) changed. Returns notes for settings the
 * bind does not have, so the report says what was not applied rather than pretending.
 */
export function withBindSettings(
  flow: Flow,
  settings: Partial<Record<keyof typeof BIND_SETTINGS, number>>,
): { nodes: FlowNode[]; notes: string[] } {
  const notes: string[] = [];
  const nodes = flow.nodes.map((node) => {
    if (!PROTOCOLS.some((p) => node.type === `${p}-bind`)) return node;
    const copy: FlowNode = { ...node };
    for (const [setting, value] of Object.entries(settings) as Array<[keyof typeof BIND_SETTINGS, number | undefined]>) {
      if (value === undefined) continue;
      const key = BIND_SETTINGS[setting].find((k) => k in node);
      if (key) copy[key] = typeof node[key] === "string" ? String(value) : value;
      else notes.push(`${node.type} ${node.id} has no ${setting} property (${BIND_SETTINGS[setting].join("/")}); not applied`);
    }
    return copy;
  });
  return { nodes, notes };
}
